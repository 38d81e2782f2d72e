// The recorder: one session's live capture into resumable uploads (tus.js).
//
// Sessions and segments. The first Start opens a session on the server. A MediaRecorder
// writes one WebM stream that no other recorder can continue, so every Start, and every
// reload, opens new uploads: new segments of the same channels (the server numbers them).
// The open session's id lives in sessionStorage: a reload in the same tab continues the same
// session ("Continue recording") instead of leaving it open and starting another, after the
// audio the old page had not sent (kept, encrypted, in IndexedDB by recorder-store.js) has
// been sent; recorder-resume.js does that, and sends what a tab that is gone left too. The key
// that audio is sealed under comes from the server, for each session, before any upload opens.
//
// A session records for at most the practice's limit (SOTTO_MAX_RECORDING_HOURS) from its start.
// Each upload's creation says how long is left; the page stops a few seconds before, as Stop
// would, so that its last chunk still arrives in time. Audio that comes later anyway is refused
// and the server ends the session itself: the page then says so, keeping nothing more.
//
// Consent comes first. When the server refuses audio (403: consent withdrawn or expired, the
// session destroyed), or the therapist notes a verbal withdrawal, capture stops at once and
// the audio still on this device is deleted, not merely left unsent.

import { LevelMeters, ScreenAwake, captureCall, captureMicrophone, recordingType } from "./recorder-capture.js";
import { recover } from "./recorder-resume.js";
import { Store } from "./recorder-store.js";
import { RecorderView } from "./recorder-view.js";
import { WebmCuts } from "./recorder-webm.js";
import { Upload, claim, create, messageOf, postUntilAnswered, request } from "./tus.js";

var TIMESLICE_MS = 3000;
var STOP_WAIT_MS = 10000;
var LIMIT_MARGIN_MS = 5000;  // stop this long before the time limit: the last chunk must get there in time

// Start's answer to a withdrawal, a refusal or a halt that came while it waited ("Client
// withdrew consent" works while starting): the microphone goes off again at once.
var superseded = new Error("superseded");

function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
function stopTracks(stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }

export function Recorder(root) {
  this.view = new RecorderView(root);
  this.ui = this.view.ui;
  this.csrf = root.dataset.csrf;
  this.client = root.dataset.client;
  this.savedKey = "sotto.recorder." + this.client;
  this.phase = "idle";   // idle | starting | recording | paused | stopping | ended | refused | withdrawing | withdrawn | halted
  this.session = null;   // the open session's id
  this.baseMs = 0;       // recording time of this session's earlier segments
  this.segmentStart = null;
  this.deadline = null;   // performance.now() at which the server stops taking this session's audio
  this.limitTimer = null;
  this.limitMessage = root.dataset.limitMessage || "This recording reached the longest Sotto records and was stopped.";
  this.channels = [];    // live capture: {source, stream, recorder, upload, stopped, discard}
  this.uploads = [];     // every upload this page drives for the open session (live and leftover)
  this.streams = [];
  this.store = null;
  this.taking = Promise.resolve();  // the open session's leftovers being taken up (recorder-resume.js)
  this.meters = null;
  this.timers = [];
  this.awake = new ScreenAwake();
}

Recorder.prototype.elapsedMs = function () {
  return this.baseMs + (this.segmentStart === null ? 0 : performance.now() - this.segmentStart);
};

Recorder.prototype.setPhase = function (phase) {
  this.phase = phase;
  this.view.showPhase(phase, this.session !== null);
  this.showElapsed();
  this.showUploadState();
};
Recorder.prototype.showElapsed = function () { this.view.showElapsed(this.elapsedMs()); };
Recorder.prototype.showUploadState = function () { this.view.showUploadState(this.phase, this.uploads); };

// ---- the open session, kept across reloads of this tab

Recorder.prototype.remember = function (extra) {
  if (!this.session) return;
  var value = { session: this.session, elapsedMs: Math.round(this.elapsedMs()) };
  var previous = this.saved() || {};
  ["stopping", "withdrawing"].forEach(function (k) { if (previous[k]) value[k] = previous[k]; });
  Object.assign(value, extra || {});
  try { sessionStorage.setItem(this.savedKey, JSON.stringify(value)); } catch (e) { /* storage off: no resume */ }
};
Recorder.prototype.saved = function () {
  try { return JSON.parse(sessionStorage.getItem(this.savedKey) || "null"); } catch (e) { return null; }
};
Recorder.prototype.forget = function () {
  try { sessionStorage.removeItem(this.savedKey); } catch (e) { /* nothing kept */ }
};

// ---- starting

Recorder.prototype.start = async function () {
  if (this.phase !== "idle" && this.phase !== "paused") return;
  var continuing = this.session !== null;
  this.view.error("");
  this.setPhase("starting");
  var streams = [];
  try {
    // The screen picker first: it needs the click's user activation, which a slow
    // microphone prompt could use up.
    var call = this.ui.telehealth.checked ? await captureCall() : null;
    if (call) streams.push(call);
    var mic = await captureMicrophone();
    streams.push(mic);
    if (this.phase !== "starting") throw superseded;
    var sources = [{ source: "microphone", stream: mic }];
    if (call) sources.push({ source: "call", stream: new MediaStream(call.getAudioTracks()) });
    if (!this.session) await this.openSession();
    var channels;
    try {
      await this.holdKey();
      channels = await this.openChannels(sources);
    } catch (e) {
      if (!(continuing && e.status === 403) || e.limit || this.phase !== "starting") throw e;
      // The session left open by the reload has ended meanwhile (Stop in another tab): a new one.
      this.session = null;
      this.forget();
      await this.openSession();
      await this.holdKey();
      channels = await this.openChannels(sources);
    }
    if (this.phase !== "starting") {
      channels.forEach(function (ch) { ch.upload.stop(true); });
      throw superseded;
    }
    this.streams = streams;
    this.channels = channels;
    this.record();
  } catch (e) {
    streams.forEach(stopTracks);
    // Withdrawn, refused or halted while the browser or the server was answering: that state
    // stands, and nothing is captured after it.
    if (this.phase !== "starting") return;
    if (e.limit) return this.stoppedAtLimit(e.message, e.page);
    if (e.status === 403) return this.refused(e.message);
    this.setPhase(this.session ? "paused" : "idle");
    this.view.error(e.message);
  }
};

Recorder.prototype.openSession = async function () {
  var response = await request("POST", "/clients/" + this.client + "/sessions", this.csrf, {}, null);
  if (!response) throw new Error("The server could not be reached. Check the connection and press Start again.");
  if (response.status !== 201) {
    var error = new Error((await messageOf(response)).text);
    error.status = response.status;
    throw error;
  }
  this.session = (await response.json()).session;
  await claim("sotto-session:" + this.session, 0);
  this.remember();
};

// The open session's key, held in this page's memory before any chunk is made: without it
// nothing could be stored on this device. Throws as openSession does (status 403: the session
// has ended or was destroyed, its key with it).
Recorder.prototype.holdKey = async function () {
  if (!this.store) return;
  var answer = await this.store.askForKey(this.session, this.csrf);
  if (answer.held) return;
  var gone = answer.gone === "destroyed" ? "been destroyed" : answer.gone;
  var error = new Error(answer.gone ? "This session has " + gone + "; start a new one to record again." : answer.message);
  error.status = answer.gone ? 403 : 0;
  throw error;
};

// One upload per source, all made before any recorder starts: no chunk is ever produced
// without an upload to take it.
Recorder.prototype.openChannels = async function (sources) {
  var self = this, type = recordingType(), made = [];
  function secondsLeft(seconds) { self.deadline = performance.now() + seconds * 1000; }
  for (var i = 0; i < sources.length; i++) {
    var source = sources[i].source;
    var url = await create("/sessions/" + this.session + "/recordings",
                           { csrf: this.csrf, metadata: { source: source, filetype: type }, onSecondsLeft: secondsLeft });
    var record = { url: url, client: this.client, session: this.session, source: source, filetype: type, produced: 0 };
    var recorder = new MediaRecorder(sources[i].stream, type ? { mimeType: type } : undefined);
    made.push({
      source: source,
      stream: sources[i].stream,
      recorder: recorder,
      cuts: /webm/.test(recorder.mimeType || type) ? new WebmCuts() : null,
      handed: Promise.resolve(),  // chunks reach the upload in order, after their cut is known
      upload: this.drive(new Upload(url, { csrf: this.csrf, store: this.store, record: record }))
    });
  }
  return made;
};

// Follows an upload: its progress on the page, and a refusal stops everything.
Recorder.prototype.drive = function (upload) {
  var self = this;
  this.uploads.push(upload);
  upload.onChange(function () {
    if (upload.state === "failed" && upload.failure) {
      if (upload.failure.limit) self.stoppedAtLimit(upload.failure.message, upload.failure.page);
      else if (upload.failure.keep) self.halt(upload.failure.message);
      else self.refused(upload.failure.message);
      return;
    }
    self.showUploadState();
  });
  return upload;
};

Recorder.prototype.record = function () {
  var self = this;
  this.channels.forEach(function (ch) {
    ch.recorder.addEventListener("dataavailable", function (e) {
      if (ch.discard || !e.data.size) return;
      var blob = e.data, time = Math.round(self.elapsedMs());
      ch.handed = ch.handed.then(function () {
        return ch.cuts ? blob.arrayBuffer().then(function (bytes) { return ch.cuts.feed(new Uint8Array(bytes)); }) : null;
      }).then(function (cut) {
        if (ch.discard) return;
        ch.upload.append(blob, time, cut);
        self.remember();
      }).catch(function (err) { console.error("a chunk could not be handed over", err); });
    });
    ch.stopped = new Promise(function (resolve) { ch.recorder.addEventListener("stop", resolve); });
    ch.recorder.addEventListener("error", function (e) {
      ch.broken = true;  // its stream may end mid-element: close it at the last whole one
      self.view.error("Recording " + (ch.source === "call" ? "the call" : "the microphone") + " failed (" +
                      (e.error ? e.error.name : "error") + "). Press Stop to save what was recorded.");
    });
    ch.stream.getAudioTracks().forEach(function (track) {
      track.addEventListener("ended", function () { self.trackEnded(ch); });
    });
  });
  this.segmentStart = performance.now();
  this.channels.forEach(function (ch) { ch.recorder.start(TIMESLICE_MS); });
  this.meters = new LevelMeters(this.channels, { room: this.ui.level, call: this.ui.levelCall });
  this.ui.callLevels.hidden = !this.channels.some(function (ch) { return ch.source === "call"; });
  this.awake.request();
  this.timers.push(setInterval(this.showElapsed.bind(this), 250));
  if (this.deadline !== null) {
    this.limitTimer = setTimeout(function () { self.stop({ atLimit: true }); },
                                 Math.max(0, this.deadline - LIMIT_MARGIN_MS - performance.now()));
  }
  this.setPhase("recording");
};

Recorder.prototype.trackEnded = function (ch) {
  if (this.phase !== "recording" || ch.discard) return;
  this.view.error(ch.source === "call"
    ? "The call's audio has ended (sharing stopped). The room microphone is still recording."
    : "The microphone stopped (disconnected?). Press Stop to save what was recorded.");
};

// ---- stopping

// Stops capture; the recorders' last chunks arrive before this resolves, unless discarded.
Recorder.prototype.stopCapture = async function (discard) {
  var channels = this.channels;
  channels.forEach(function (ch) {
    ch.discard = ch.discard || !!discard;
    if (ch.recorder.state !== "inactive") {
      try { ch.recorder.stop(); } catch (e) { /* already stopped */ }
    }
  });
  // A recorder that failed may never say it stopped: do not let Stop hang on it.
  if (!discard) {
    var stopped = await Promise.race([Promise.all(channels.map(function (ch) { return ch.stopped; })), wait(STOP_WAIT_MS)]);
    if (!stopped) channels.forEach(function (ch) { ch.broken = true; });
    await Promise.all(channels.map(function (ch) { return ch.handed; }));
  }
  this.baseMs = this.elapsedMs();
  this.segmentStart = null;
  this.channels = [];
  this.streams.forEach(stopTracks);
  this.streams = [];
  this.timers.forEach(clearInterval);
  this.timers = [];
  clearTimeout(this.limitTimer);
  this.limitTimer = null;
  if (this.meters) { this.meters.stop(); this.meters = null; }
  this.awake.release();
};

// Stop: every chunk to the server, every upload closed, then the session ended. Offline,
// this waits (and says so); a reload meanwhile picks up where it left off. `atLimit`: the
// session's time is up; the page stays, to say why the recording stopped.
Recorder.prototype.stop = async function (options) {
  var atLimit = !!(options && options.atLimit);
  if (this.phase !== "recording" && this.phase !== "paused") return;
  var self = this, session = this.session;
  this.remember({ stopping: true });
  this.setPhase("stopping");
  var channels = this.channels;
  await this.stopCapture(false);
  await this.taking;  // the interrupted recording's audio is sent before the session ends
  var broken = channels.filter(function (ch) { return ch.broken; }).map(function (ch) { return ch.upload; });
  this.showElapsed();
  this.remember({ stopping: true });
  try {
    await Promise.all(this.uploads.map(function (u) { return u.finish(broken.indexOf(u) >= 0); }));
  } catch (e) {
    return;  // refused or halted: drive() has already stopped everything and said why
  }
  // The server holds it all: the stored chunks are deleted before the page goes.
  await Promise.all(this.uploads.map(function (u) { return u.persisting; }));
  var answer = await postUntilAnswered("/sessions/" + session + "/end", this.csrf, function () { self.showUploadState(); });
  if (this.phase !== "stopping") return;
  if (answer.status !== 200 || !answer.body) return this.halt("The session could not be ended (the server answered " + answer.status + ").");
  this.forget();
  if (atLimit) {
    this.session = null;
    this.setPhase("ended");
    this.view.showStopped(this.limitMessage, { href: answer.body.page, text: "Open the session" });
    this.view.say("Stopped at the time limit. Saved.", "ok");
    return;
  }
  this.phase = "ended";
  this.view.say("Saved. Opening the session…", "ok");
  location.assign(answer.body.page);
};

// The server refused audio past the session's time limit and has ended the session, keeping
// what arrived in time. What this page still holds can never be sent (the session's key is
// gone with its end): capture stops, and that audio is deleted.
Recorder.prototype.stoppedAtLimit = function (message, page) {
  if (["refused", "withdrawing", "withdrawn", "halted", "ended"].indexOf(this.phase) >= 0) return;
  var session = this.session;
  this.discardAll(session);
  this.setPhase("ended");
  this.view.showStopped(message, { href: page || "/sessions/" + session, text: "Open the session" });
  this.view.say("Stopped at the time limit.", "bad");
};

// Consent no longer covers recording: stop at once, and delete what is still on this device.
Recorder.prototype.refused = function (message) {
  if (["refused", "withdrawing", "withdrawn"].indexOf(this.phase) >= 0) return;
  var session = this.session;
  this.discardAll(session);
  this.setPhase("refused");
  this.view.showStopped("Recording stopped. " + message, { href: "/clients/" + this.client, text: "Back to the client" });
  this.view.say("Stopped: " + message, "bad");
};

// A problem retrying cannot fix, where the audio must be kept (a stale page): stop capture
// and ask for a reload, which sends what is stored. Nothing more is sent, but the recorders'
// last chunks, made as capture stops, are stored with the rest (unlike a withdrawal's).
Recorder.prototype.halt = function (message) {
  if (["refused", "withdrawing", "withdrawn", "halted"].indexOf(this.phase) >= 0) return;
  this.uploads.forEach(function (u) { u.stop(false); });
  this.stopCapture(false);
  this.setPhase("halted");
  this.view.showStopped("Recording stopped. " + message);
  this.view.say("Stopped: " + message, "bad");
};

Recorder.prototype.discardAll = function (session) {
  var store = this.store;
  this.stopCapture(true);
  this.uploads.forEach(function (u) { u.stop(true); });
  this.uploads = [];
  this.forget();
  this.session = null;
  if (store && session) store.dropKey(session);
  if (store && session) store.discard(function (r) { return r.session === session; }).catch(function () {});
};

// The therapist notes a verbal withdrawal: capture stops and the session is destroyed.
Recorder.prototype.clientWithdrew = async function (confirmed) {
  if (!this.session) return;
  if (!confirmed && !window.confirm("The client withdrew consent?\n\nRecording stops now and everything recorded " +
                                    "in this session is destroyed. This cannot be undone.")) return;
  var session = this.session, view = this.view;
  this.discardAll(session);  // capture stops, and the audio on this device goes, at once
  this.session = session;
  this.remember({ withdrawing: true });  // a reload before the server hears it tries again
  this.setPhase("withdrawing");
  view.showStopped("Recording stopped. Destroying this session…");
  view.say("Stopped: the client withdrew consent", "bad");
  var answer = await postUntilAnswered("/sessions/" + session + "/client-withdrew", this.csrf, function (offline) {
    view.showStopped("Recording stopped. The server cannot be reached yet: keep this page open until it confirms that the session was destroyed." +
                     (offline ? " (Offline.)" : ""));
  });
  this.session = null;
  this.forget();
  this.setPhase("withdrawn");
  var back = { href: "/clients/" + this.client, text: "Back to the client" };
  if (answer.status === 200) {
    view.showStopped("The client's withdrawal is recorded. Recording stopped and everything captured in this session has been destroyed.", back);
  } else {
    view.showStopped("Recording stopped, but the server did not confirm the withdrawal (it answered " + answer.status +
                     "). Record the withdrawal on the client's page.", back);
  }
  view.say("Stopped: the client withdrew consent", "bad");
};

// ---- the page

Recorder.prototype.init = async function () {
  var self = this, ui = this.ui;
  ui.start.addEventListener("click", function () { self.start(); });
  ui.stop.addEventListener("click", function () { self.stop(); });
  ui.withdrew.addEventListener("click", function () { self.clientWithdrew(false); });
  window.addEventListener("online", function () { self.showUploadState(); });
  window.addEventListener("offline", function () { self.showUploadState(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && self.phase === "recording") self.awake.request();
  });
  window.addEventListener("beforeunload", function (e) {
    var unsent = self.uploads.some(function (u) { return !u.complete && !u.stopped && u.pending() > 0; });
    if (["recording", "stopping", "withdrawing"].indexOf(self.phase) >= 0 || unsent) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
  this.setPhase("idle");
  ui.start.disabled = true;  // until stored audio has been looked at
  this.store = await Store.open();
  await recover(this);
  if (this.phase === "idle") this.setPhase("idle");
};
