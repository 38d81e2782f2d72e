// The Record page: live capture into resumable uploads (tus.js), and uploads of existing files.
//
// Sessions and segments. The first Start opens a session on the server. A MediaRecorder
// writes one WebM stream that no other recorder can continue, so every Start, and every
// reload, opens new uploads: new segments of the same channels (the server numbers them).
// The open session's id lives in sessionStorage: a reload in the same tab continues the same
// session ("Continue recording") instead of leaving it open and starting another, after the
// audio the old page had not sent (kept in IndexedDB by tus.js) has been sent. Audio left by
// a tab that is gone (closed, crashed) is sent too, and its session is then ended, so that
// what was recorded is kept. A Web Lock per session keeps two tabs from driving one session.
//
// Consent comes first. When the server refuses audio (403: consent withdrawn or expired, the
// session destroyed), or the therapist notes a verbal withdrawal, capture stops at once and
// the audio still on this device is deleted, not merely left unsent.
(function () {
  "use strict";

  var TIMESLICE_MS = 3000;
  var MIC = { echoCancellation: false, noiseSuppression: false, autoGainControl: true };
  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
  var RETRY_MS = [1000, 2000, 4000, 8000];

  function $(id) { return document.getElementById(id); }

  function clock(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    var ss = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + ss : m + ":" + ss;
  }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // POSTs a JSON action until the server answers (the network may be down); resolves to
  // {status, body}. `onWaiting` is told while we wait for the connection.
  async function postUntilAnswered(url, csrf, onWaiting) {
    for (var attempt = 0; ; attempt++) {
      var response = await SottoTus.request("POST", url, csrf, {}, null);
      if (response && response.status < 500) {
        var body = null;
        try { body = await response.json(); } catch (e) { /* not JSON: an HTML error page */ }
        return { status: response.status, body: body };
      }
      if (onWaiting) onWaiting(!response);
      await wait(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
    }
  }

  // ---- where a live WebM stream may be cut -----------------------------------------------
  //
  // Chrome hands over each timeslice ending with the first bytes of the next element. A
  // stream whose next chunk never comes (reload, crash) would end on those stray bytes, and the
  // server rightly calls such a file cut off. So we follow the stream's EBML structure and
  // report the end of its last whole element; tus.js sends no further until the stream goes
  // on or is finished. Only the open-ended Segment and Cluster are entered; every element of
  // known size (headers, blocks, Firefox's sized Clusters) is skipped whole, unread.
  var SEGMENT = 0x18538067, CLUSTER = 0x1F43B675, MAX_ELEMENT = 64 * 1024 * 1024;

  function WebmCuts() {
    this.end = 0;                    // bytes seen
    this.next = 0;                   // where the next element header starts (or a skipped one ends)
    this.carry = new Uint8Array(0);  // an element header split across chunks
    this.cut = 0;                    // the end of the last whole element
    this.lost = false;               // not WebM as expected: no limit rather than a stalled upload
  }

  // Variable-size integer at buf[i]: {length, value, allOnes}, or null when incomplete; throws
  // when the bytes cannot be one.
  function vint(buf, i, maxLength) {
    if (i >= buf.length) return null;
    var first = buf[i], length = 1;
    while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
    if (length > maxLength) throw new Error("not EBML");
    if (i + length > buf.length) return null;
    var value = first & (0xFF >> length), allOnes = value === (0xFF >> length);
    for (var k = 1; k < length; k++) {
      value = value * 256 + buf[i + k];
      allOnes = allOnes && buf[i + k] === 0xFF;
    }
    return { length: length, value: value, allOnes: allOnes };
  }

  // Takes the next chunk's bytes; returns the offset up to which the stream may be cut, or
  // null once the structure is not understood.
  WebmCuts.prototype.feed = function (bytes) {
    if (this.lost) return null;
    var buf = bytes, start = this.end;
    if (this.carry.length) {
      buf = new Uint8Array(this.carry.length + bytes.length);
      buf.set(this.carry);
      buf.set(bytes, this.carry.length);
      start -= this.carry.length;
    }
    this.end += bytes.length;
    var pos = this.next;
    try {
      while (pos < this.end) {
        if (pos > this.cut) this.cut = pos;
        var i = pos - start, id = vint(buf, i, 4);
        var size = id && vint(buf, i + id.length, 8);
        if (!size) break;  // the header goes on in the next chunk
        var header = id.length + size.length;
        if (size.allOnes) {
          var elementId = 0;
          for (var k = 0; k < id.length; k++) elementId = elementId * 256 + buf[i + k];
          if (elementId !== SEGMENT && elementId !== CLUSTER) throw new Error("open-ended " + elementId.toString(16));
          pos += header;  // enter it: its children follow
        } else {
          if (size.value > MAX_ELEMENT) throw new Error("element too large");
          pos += header + size.value;
        }
      }
      if (pos <= this.end && pos > this.cut) this.cut = pos;
    } catch (e) {
      this.lost = true;
      return null;
    }
    this.next = pos;
    this.carry = pos < this.end ? buf.slice(pos - start) : new Uint8Array(0);
    return this.cut;
  };

  // ---- the recorder ---------------------------------------------------------------------

  function Recorder(root) {
    this.root = root;
    this.csrf = root.dataset.csrf;
    this.client = root.dataset.client;
    this.savedKey = "sotto.recorder." + this.client;
    this.ui = {
      elapsed: $("elapsed"), level: $("level"), levelCall: $("level-call"), callLevels: $("call-level"),
      state: $("upload-state"), telehealth: $("telehealth"), start: $("start"), stop: $("stop"),
      withdrew: $("withdrew"), error: $("recorder-error"), notice: $("recorder-notice"), stopped: $("recorder-stopped")
    };
    this.phase = "idle";   // idle | starting | recording | paused | stopping | ended | refused | withdrawing | withdrawn | halted
    this.session = null;   // the open session's id
    this.baseMs = 0;       // recording time of this session's earlier segments
    this.segmentStart = null;
    this.channels = [];    // live capture: {source, stream, recorder, upload, stopped, discard}
    this.uploads = [];     // every upload this page drives for the open session (live and leftover)
    this.streams = [];
    this.store = null;
    this.audio = null;     // AudioContext for the level meters
    this.timers = [];
    this.wakeLock = null;
  }

  Recorder.prototype.elapsedMs = function () {
    return this.baseMs + (this.segmentStart === null ? 0 : performance.now() - this.segmentStart);
  };

  // ---- what the page shows

  Recorder.prototype.setPhase = function (phase) {
    var ui = this.ui, open = this.session !== null;
    this.phase = phase;
    this.root.dataset.phase = phase;
    ui.start.disabled = !(phase === "idle" || phase === "paused");
    ui.start.textContent = phase === "paused" ? "Continue recording" : phase === "recording" ? "Recording…" :
                           phase === "starting" ? "Starting…" : "Start recording";
    ui.stop.disabled = !(phase === "recording" || phase === "paused");
    ui.stop.textContent = phase === "stopping" ? "Finishing…" : "Stop";
    ui.withdrew.disabled = !open || ["recording", "paused", "stopping", "starting"].indexOf(phase) < 0;
    ui.telehealth.disabled = !(phase === "idle" || phase === "paused");
    this.showElapsed();
    this.showUploadState();
  };

  Recorder.prototype.showElapsed = function () { this.ui.elapsed.textContent = clock(this.elapsedMs()); };

  Recorder.prototype.say = function (text, tone) {
    this.ui.state.textContent = text;
    this.ui.state.className = "upload-state " + (tone || "");
  };

  // "Saved up to …" is the oldest point that some channel still has to send; when all is
  // sent, the newest chunk's time.
  Recorder.prototype.showUploadState = function () {
    var phase = this.phase, uploads = this.uploads;
    if (["refused", "withdrawing", "withdrawn", "halted", "ended"].indexOf(phase) >= 0) return;
    function any(state) { return uploads.some(function (u) { return u.state === state && !u.stopped; }); }
    if (any("offline") || phase !== "idle" && navigator.onLine === false) {
      return this.say("Offline — will resend when the connection is back", "warn");
    }
    if (any("signed-out")) return this.say("Signed out — sign in again in another tab; the audio is kept and will be sent", "warn");
    if (any("retrying")) return this.say("The server is not answering — retrying; nothing is lost", "warn");
    var waiting = uploads.filter(function (u) { return !u.complete && !u.stopped && u.pending() > 0; });
    var times = (waiting.length ? waiting : uploads).map(function (u) { return u.savedTime; })
                                                  .filter(function (t) { return t !== null; });
    var saved = times.length ? (waiting.length ? Math.min.apply(null, times) : Math.max.apply(null, times)) : null;
    if (phase === "stopping") return this.say("Finishing — sending the last audio…", "");
    if (phase === "recording") {
      return this.say(saved === null ? "Recording — saved every few seconds" : "Saved up to " + clock(saved), "ok");
    }
    if (phase === "paused") {
      return this.say(waiting.length ? "Sending the interrupted recording's audio…" :
                      "Recording paused" + (saved === null ? "" : " — saved up to " + clock(saved)), waiting.length ? "" : "ok");
    }
    if (phase === "idle" && !uploads.length) this.say("Ready.", "");
  };

  Recorder.prototype.notice = function (text, link) {
    var box = this.ui.notice;
    box.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      box.appendChild(document.createTextNode(" "));
      box.appendChild(a);
    }
    box.hidden = !text;
  };

  Recorder.prototype.showStopped = function (text, link) {
    var box = this.ui.stopped;
    box.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = text;
    box.appendChild(strong);
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      box.appendChild(document.createElement("br"));
      box.appendChild(a);
    }
    box.hidden = false;
    this.ui.notice.hidden = true;
  };

  Recorder.prototype.error = function (text) { this.ui.error.textContent = text || ""; };

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
    this.error("");
    this.setPhase("starting");
    var streams = [];
    try {
      // The screen picker first: it needs the click's user activation, which a slow
      // microphone prompt could use up.
      var call = this.ui.telehealth.checked ? await this.captureCall() : null;
      if (call) streams.push(call);
      var mic = await this.captureMicrophone();
      streams.push(mic);
      var sources = [{ source: "microphone", stream: mic }];
      if (call) sources.push({ source: "call", stream: new MediaStream(call.getAudioTracks()) });
      if (!this.session) await this.openSession();
      var channels;
      try {
        channels = await this.openChannels(sources);
      } catch (e) {
        if (!(continuing && e.status === 403)) throw e;
        // The session left open by the reload has ended meanwhile (Stop in another tab): a new one.
        this.session = null;
        this.forget();
        await this.openSession();
        channels = await this.openChannels(sources);
      }
      this.streams = streams;
      this.channels = channels;
      this.record();
    } catch (e) {
      streams.forEach(function (s) { s.getTracks().forEach(function (t) { t.stop(); }); });
      if (e.status === 403) return this.refused(e.message);
      this.setPhase(this.session ? "paused" : "idle");
      this.error(e.message);
    }
  };

  Recorder.prototype.captureMicrophone = async function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser cannot record here. Use a current browser, over https.");
    }
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: MIC });
    } catch (e) {
      throw new Error(e.name === "NotAllowedError" ? "The microphone is blocked. Allow it for this site in the browser's settings, then press Start again."
                      : e.name === "NotFoundError" ? "No microphone was found. Connect one and press Start again."
                      : "The microphone could not be used (" + e.name + ").");
    }
  };

  // The call's tab or the system's sound. Only its audio is recorded; the picture must be
  // asked for (browsers offer no audio-only sharing) and is kept until the end, because
  // stopping it can end the sharing.
  Recorder.prototype.captureCall = async function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
      throw new Error("This browser cannot capture a call's audio. Untick Telehealth to record the room only.");
    }
    var display;
    try {
      display = await navigator.mediaDevices.getDisplayMedia({ audio: true, video: true });
    } catch (e) {
      throw new Error(e.name === "NotAllowedError" ? "Sharing was cancelled. To record a call, choose the call's tab and tick “Share tab audio” (or untick Telehealth)."
                      : "The call's audio could not be captured (" + e.name + ").");
    }
    if (!display.getAudioTracks().length) {
      display.getTracks().forEach(function (t) { t.stop(); });
      throw new Error("The shared tab or window has no sound. Share the call's browser tab with “Share tab audio” ticked " +
                      "(or the entire screen with system audio), or untick Telehealth.");
    }
    return display;
  };

  Recorder.prototype.openSession = async function () {
    var response = await SottoTus.request("POST", "/clients/" + this.client + "/sessions", this.csrf, {}, null);
    if (!response) throw new Error("The server could not be reached. Check the connection and press Start again.");
    if (response.status !== 201) {
      var error = new Error((await SottoTus.messageOf(response)).text);
      error.status = response.status;
      throw error;
    }
    this.session = (await response.json()).session;
    await SottoTus.claim("sotto-session:" + this.session, 0);
    this.remember();
  };

  Recorder.prototype.recordingType = function () {
    if (!window.MediaRecorder) throw new Error("This browser cannot record audio. Use a current browser.");
    for (var i = 0; i < TYPES.length; i++) if (MediaRecorder.isTypeSupported(TYPES[i])) return TYPES[i];
    return "";
  };

  // One upload per source, all made before any recorder starts: no chunk is ever produced
  // without an upload to take it.
  Recorder.prototype.openChannels = async function (sources) {
    var type = this.recordingType(), made = [];
    for (var i = 0; i < sources.length; i++) {
      var source = sources[i].source;
      var url = await SottoTus.create("/sessions/" + this.session + "/recordings",
                                      { csrf: this.csrf, metadata: { source: source, filetype: type } });
      var record = { url: url, client: this.client, session: this.session, source: source, filetype: type, produced: 0 };
      var recorder = new MediaRecorder(sources[i].stream, type ? { mimeType: type } : undefined);
      made.push({
        source: source,
        stream: sources[i].stream,
        recorder: recorder,
        cuts: /webm/.test(recorder.mimeType || type) ? new WebmCuts() : null,
        handed: Promise.resolve(),  // chunks reach the upload in order, after their cut is known
        upload: this.drive(new SottoTus.Upload(url, { csrf: this.csrf, store: this.store, record: record }))
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
        if (upload.failure.keep) self.halt(upload.failure.message);
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
        self.error("Recording " + (ch.source === "call" ? "the call" : "the microphone") + " failed (" +
                   (e.error ? e.error.name : "error") + "). Press Stop to save what was recorded.");
      });
      ch.stream.getAudioTracks().forEach(function (track) {
        track.addEventListener("ended", function () { self.trackEnded(ch); });
      });
    });
    this.segmentStart = performance.now();
    this.channels.forEach(function (ch) { ch.recorder.start(TIMESLICE_MS); });
    this.startMeters();
    this.keepAwake();
    this.timers.push(setInterval(this.showElapsed.bind(this), 250));
    this.setPhase("recording");
  };

  Recorder.prototype.trackEnded = function (ch) {
    if (this.phase !== "recording" || ch.discard) return;
    this.error(ch.source === "call"
      ? "The call's audio has ended (sharing stopped). The room microphone is still recording."
      : "The microphone stopped (disconnected?). Press Stop to save what was recorded.");
  };

  Recorder.prototype.startMeters = function () {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    var ui = this.ui, audio = this.audio = new Context();
    if (audio.resume) audio.resume().catch(function () {});
    var meters = this.channels.map(function (ch) {
      var analyser = audio.createAnalyser();
      analyser.fftSize = 2048;
      audio.createMediaStreamSource(ch.stream).connect(analyser);
      return { analyser: analyser, meter: ch.source === "call" ? ui.levelCall : ui.level, samples: new Float32Array(2048) };
    });
    ui.callLevels.hidden = !this.channels.some(function (ch) { return ch.source === "call"; });
    this.timers.push(setInterval(function () {
      meters.forEach(function (m) {
        m.analyser.getFloatTimeDomainData(m.samples);
        var sum = 0;
        for (var i = 0; i < m.samples.length; i++) sum += m.samples[i] * m.samples[i];
        var db = 20 * Math.log10(Math.sqrt(sum / m.samples.length) || 1e-9);
        m.meter.value = Math.min(1, Math.max(0, (db + 60) / 60));  // -60 dBFS … 0 dBFS
      });
    }, 100));
  };

  // A tablet that goes to sleep suspends the page, and with it the recording.
  Recorder.prototype.keepAwake = function () {
    var self = this;
    if (!navigator.wakeLock || this.wakeLock) return;
    navigator.wakeLock.request("screen").then(function (lock) {
      self.wakeLock = lock;
      lock.addEventListener("release", function () { self.wakeLock = null; });
    }).catch(function () { /* not granted (battery saver, headless): nothing to do */ });
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
      var stopped = await Promise.race([Promise.all(channels.map(function (ch) { return ch.stopped; })), wait(10000)]);
      if (!stopped) channels.forEach(function (ch) { ch.broken = true; });
      await Promise.all(channels.map(function (ch) { return ch.handed; }));
    }
    this.baseMs = this.elapsedMs();
    this.segmentStart = null;
    this.channels = [];
    this.streams.forEach(function (s) { s.getTracks().forEach(function (t) { t.stop(); }); });
    this.streams = [];
    this.timers.forEach(clearInterval);
    this.timers = [];
    if (this.audio) { this.audio.close().catch(function () {}); this.audio = null; }
    if (this.wakeLock) { this.wakeLock.release().catch(function () {}); this.wakeLock = null; }
    this.ui.level.value = 0;
    this.ui.levelCall.value = 0;
  };

  // Stop: every chunk to the server, every upload closed, then the session ended. Offline,
  // this waits (and says so); a reload meanwhile picks up where it left off.
  Recorder.prototype.stop = async function () {
    if (this.phase !== "recording" && this.phase !== "paused") return;
    var self = this, session = this.session;
    this.remember({ stopping: true });
    this.setPhase("stopping");
    var channels = this.channels;
    await this.stopCapture(false);
    var broken = channels.filter(function (ch) { return ch.broken; }).map(function (ch) { return ch.upload; });
    this.showElapsed();
    this.remember({ stopping: true });
    try {
      await Promise.all(this.uploads.map(function (u) { return u.finish(broken.indexOf(u) >= 0); }));
    } catch (e) {
      return;  // refused or halted: drive() has already stopped everything and said why
    }
    var answer = await postUntilAnswered("/sessions/" + session + "/end", this.csrf, function () { self.showUploadState(); });
    if (this.phase !== "stopping") return;
    if (answer.status !== 200 || !answer.body) return this.halt("The session could not be ended (the server answered " + answer.status + ").");
    this.forget();
    this.phase = "ended";
    this.say("Saved. Opening the session…", "ok");
    location.assign(answer.body.page);
  };

  // Consent no longer covers recording: stop at once, and delete what is still on this device.
  Recorder.prototype.refused = function (message) {
    if (["refused", "withdrawing", "withdrawn"].indexOf(this.phase) >= 0) return;
    var session = this.session;
    this.discardAll(session);
    this.setPhase("refused");
    this.showStopped("Recording stopped. " + message, { href: "/clients/" + this.client, text: "Back to the client" });
    this.say("Stopped: " + message, "bad");
  };

  // A problem retrying cannot fix, where the audio must be kept (a stale page): stop capture
  // and ask for a reload, which sends what is stored.
  Recorder.prototype.halt = function (message) {
    if (["refused", "withdrawing", "withdrawn", "halted"].indexOf(this.phase) >= 0) return;
    this.stopCapture(true);
    this.uploads.forEach(function (u) { u.stop(false); });
    this.setPhase("halted");
    this.showStopped("Recording stopped. " + message);
    this.say("Stopped: " + message, "bad");
  };

  Recorder.prototype.discardAll = function (session) {
    var store = this.store;
    this.stopCapture(true);
    this.uploads.forEach(function (u) { u.stop(true); });
    this.uploads = [];
    this.forget();
    this.session = null;
    if (store && session) {
      store.leftovers(function (r) { return r.session === session; }).then(function (left) {
        return Promise.all(left.map(function (l) { return store.forget(l.record.url); }));
      }).catch(function () {});
    }
  };

  // The therapist notes a verbal withdrawal: capture stops and the session is destroyed.
  Recorder.prototype.clientWithdrew = async function (confirmed) {
    if (!this.session) return;
    if (!confirmed && !window.confirm("The client withdrew consent?\n\nRecording stops now and everything recorded " +
                                      "in this session is destroyed. This cannot be undone.")) return;
    var session = this.session, self = this;
    this.discardAll(session);  // capture stops, and the audio on this device goes, at once
    this.session = session;
    this.remember({ withdrawing: true });  // a reload before the server hears it tries again
    this.setPhase("withdrawing");
    this.showStopped("Recording stopped. Destroying this session…");
    this.say("Stopped: the client withdrew consent", "bad");
    var answer = await postUntilAnswered("/sessions/" + session + "/client-withdrew", this.csrf, function (offline) {
      self.showStopped("Recording stopped. The server cannot be reached yet: keep this page open until it confirms that the session was destroyed." +
                       (offline ? " (Offline.)" : ""));
    });
    this.session = null;
    this.forget();
    this.setPhase("withdrawn");
    if (answer.status === 200) {
      this.showStopped("The client's withdrawal is recorded. Recording stopped and everything captured in this session has been destroyed.",
                       { href: "/clients/" + this.client, text: "Back to the client" });
    } else {
      this.showStopped("Recording stopped, but the server did not confirm the withdrawal (it answered " + answer.status +
                       "). Record the withdrawal on the client's page.", { href: "/clients/" + this.client, text: "Back to the client" });
    }
    this.say("Stopped: the client withdrew consent", "bad");
  };

  // ---- after a reload: what the previous page left

  Recorder.prototype.recover = async function () {
    var self = this, saved = this.saved();
    // From the client's page: a session left recording (its tab was closed), to go on with or end.
    var adopted = new URLSearchParams(location.search).get("session");
    if (adopted) {
      history.replaceState(null, "", location.pathname + location.hash);
      if (!saved || saved.session !== adopted) saved = { session: adopted, elapsedMs: 0 };
    }
    if (saved && saved.session) {
      // The old page's lock goes when it unloads, which may be a moment after this page starts.
      if (await SottoTus.claim("sotto-session:" + saved.session, 3000)) {
        this.session = saved.session;
        this.baseMs = saved.elapsedMs || 0;
        this.remember();
      } else {
        this.forget();  // a duplicated tab, or another window: the one holding the lock drives it
        saved = null;
        this.notice("This session is being recorded in another tab or window.");
      }
    }
    if (saved && saved.withdrawing) return this.clientWithdrew(true);

    var leftovers = this.store ? await this.store.leftovers(function (r) { return r.client === self.client; }) : [];
    var bySession = {};
    leftovers.forEach(function (l) { (bySession[l.record.session] = bySession[l.record.session] || []).push(l); });
    var found = false;
    for (var session in bySession) {
      if (session !== this.session && !await SottoTus.claim("sotto-session:" + session, 0)) continue;  // recording in another tab
      found = true;
      var resumed = bySession[session].map(function (l) { return SottoTus.resume(self.store, l, self.csrf); });
      if (session === this.session) {
        resumed.forEach(function (u) { self.drive(u); u.finish().catch(function () {}); });
      } else {
        this.endAbandoned(session, resumed);
      }
    }
    if (this.session) {
      this.setPhase("paused");
      this.notice(found ? "Unsent audio from an interrupted recording was found — sending it now. Then continue recording to add to the same session, or press Stop to end it."
                        : "This session's recording was interrupted. Continue recording to add to it, or press Stop to end it.");
      if (found) {
        Promise.all(this.uploads.map(function (u) { return u.whenDone(); })).then(function () {
          if (self.phase === "paused" || self.phase === "recording") {
            self.notice("The audio from before the interruption is saved. Continue recording to add to this session, or press Stop to end it.");
          }
        }, function () {});
      }
      if (saved && saved.stopping) this.stop();
    } else if (found) {
      this.notice("Unsent audio from an interrupted recording was found — sending it now.");
    }
  };

  // A session whose page is gone: send what it left, close it, and end the session so what
  // was recorded is kept and processed.
  Recorder.prototype.endAbandoned = async function (session, uploads) {
    var self = this;
    uploads.forEach(function (u) { u.onChange(function () { if (self.phase === "idle") self.showUploadState(); }); });
    var results = await Promise.all(uploads.map(function (u) {
      return u.finish().then(function () { return null; }, function (e) { return e; });
    }));
    var refusal = results.filter(function (e) { return e; })[0];
    if (refusal && refusal.failure && refusal.failure.keep) return;  // a reload will try again
    var answer = await postUntilAnswered("/sessions/" + session + "/end", this.csrf, null);
    if (refusal) {
      this.notice("Audio from an interrupted recording could not be saved: " + refusal.message);
    } else if (answer.status === 200 && answer.body) {
      this.notice("An interrupted recording was saved.", { href: answer.body.page, text: "Open that session" });
    }
  };

  Recorder.prototype.init = async function () {
    var self = this, ui = this.ui;
    ui.start.addEventListener("click", function () { self.start(); });
    ui.stop.addEventListener("click", function () { self.stop(); });
    ui.withdrew.addEventListener("click", function () { self.clientWithdrew(false); });
    window.addEventListener("online", function () { self.showUploadState(); });
    window.addEventListener("offline", function () { self.showUploadState(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && self.phase === "recording") self.keepAwake();
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
    this.store = await SottoTus.Store.open();
    await this.recover();
    if (this.phase === "idle") this.setPhase("idle");
  };

  // For tests and support: what the recorder holds, without touching it.
  function expose(recorder) {
    window.sottoRecorder = {
      get stats() {
        return {
          phase: recorder.phase,
          session: recorder.session,
          elapsedMs: Math.round(recorder.elapsedMs()),
          uploads: recorder.uploads.map(function (u) {
            // waiting: may be sent but is not confirmed yet; heldBack: waits for the stream to go on
            return { url: u.url, source: u.record ? u.record.source : null, produced: u.produced, acked: u.acked,
                     waiting: u.limit() - u.acked, heldBack: u.produced - u.limit(), queued: u.queue.length,
                     state: u.state, complete: u.complete };
          })
        };
      },
      storedChunks: function () { return recorder.store ? recorder.store.countChunks() : Promise.resolve(0); }
    };
  }

  // ---- uploading an existing recording ----------------------------------------------------

  // A file is sent in 5 MiB pieces. If the page is reloaded, choosing the same file again
  // continues its upload: the upload's address is remembered under a hash of the file's name,
  // size and date (the name itself may identify the client, so it is not stored).
  function FileUploader(card) {
    this.card = card;
    this.csrf = card.dataset.csrf;
    this.client = card.dataset.client;
    this.maxBytes = parseInt(card.dataset.maxBytes, 10) || Infinity;
    this.input = $("upload-file");
    this.button = $("upload-start");
    this.bar = $("upload-bar");
    this.progress = $("upload-progress");
    this.busy = false;
    this.button.addEventListener("click", this.upload.bind(this));
    var self = this;
    window.addEventListener("beforeunload", function (e) {
      if (self.busy) { e.preventDefault(); e.returnValue = ""; }
    });
  }

  FileUploader.prototype.say = function (text, tone, link) {
    var p = this.progress;
    p.textContent = text;
    p.className = "upload-progress " + (tone || "");
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.id = "upload-session";
      a.textContent = link.text;
      p.appendChild(document.createTextNode(" "));
      p.appendChild(a);
    }
  };

  FileUploader.prototype.resumeKey = async function (file) {
    if (!window.crypto || !crypto.subtle || !window.localStorage) return null;
    var text = [this.client, file.name, file.size, file.lastModified].join("\n");
    var digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return "sotto.file." + Array.from(new Uint8Array(digest)).map(function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  };

  FileUploader.prototype.upload = async function () {
    var file = this.input.files && this.input.files[0];
    if (!file) return this.say("Choose a file first.", "bad");
    if (!file.size) return this.say("The file is empty.", "bad");
    if (file.size > this.maxBytes) {
      return this.say("The file is larger than " + Math.round(this.maxBytes / 1048576) + " MB, the most Sotto accepts.", "bad");
    }
    var self = this, key = null;
    this.button.disabled = this.input.disabled = true;
    this.busy = true;
    try {
      key = await this.resumeKey(file);
      var target = await this.earlierUpload(key, file);
      if (!target) {
        this.say("Starting…", "");
        target = { session: await this.openSession() };
        target.url = await SottoTus.create("/sessions/" + target.session + "/recordings", {
          csrf: this.csrf, length: file.size, metadata: { source: "upload", filetype: file.type || "" }
        });
        if (key) localStorage.setItem(key, JSON.stringify(target));
      }
      var upload = new SottoTus.Upload(target.url, {
        csrf: this.csrf, length: file.size, batch: SottoTus.FILE_PIECE_BYTES, checkFirst: !!target.resumed
      });
      upload.onChange(function () { self.showProgress(upload, file.size); });
      this.bar.hidden = false;
      upload.append(file);
      await upload.whenDone();
      if (key) localStorage.removeItem(key);
      this.bar.value = 100;
      this.say("Uploaded. Sotto now checks that it is a whole, readable recording; the session's page shows the result.",
               "ok", { href: "/sessions/" + target.session, text: "Open the session" });
    } catch (e) {
      if (key && !(e.failure && e.failure.keep)) localStorage.removeItem(key);
      this.say(e.message, "bad");
      this.button.disabled = this.input.disabled = false;
    } finally {
      this.busy = false;
    }
  };

  // The unfinished upload of this same file, if the server still has it open.
  FileUploader.prototype.earlierUpload = async function (key, file) {
    var known = null;
    try { known = key && JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { known = null; }
    if (!known) return null;
    var response = await SottoTus.request("HEAD", known.url, this.csrf, {}, null);
    if (response && response.status === 200 && response.headers.get("Upload-Length") === String(file.size) &&
        parseInt(response.headers.get("Upload-Offset"), 10) < file.size) {
      known.resumed = true;
      return known;
    }
    localStorage.removeItem(key);
    return null;
  };

  FileUploader.prototype.openSession = async function () {
    var response = await SottoTus.request("POST", "/clients/" + this.client + "/sessions", this.csrf, {}, null);
    if (!response) throw new Error("The server could not be reached. Check the connection and try again.");
    if (response.status !== 201) throw new Error((await SottoTus.messageOf(response)).text);
    return (await response.json()).session;
  };

  FileUploader.prototype.showProgress = function (upload, size) {
    var percent = Math.floor(100 * upload.acked / size);
    this.bar.value = percent;
    if (upload.state === "offline") this.say("Offline — will continue when the connection is back (" + percent + "% sent).", "warn");
    else if (upload.state === "retrying" || upload.state === "signed-out") this.say("Waiting for the server (" + percent + "% sent)…", "warn");
    else if (!upload.complete && !upload.failure) this.say("Uploading… " + percent + "%", "");
  };

  // ---- wiring ---------------------------------------------------------------------------------

  var root = $("recorder");
  if (root) {
    var recorder = new Recorder(root);
    expose(recorder);
    recorder.init();
  } else {
    // Consent no longer covers recording: audio this device still holds for the client can
    // never be accepted, and must not linger here either.
    var refusal = $("refusal");
    var client = refusal && refusal.dataset.client;
    if (client) {
      SottoTus.Store.open().then(function (store) {
        if (!store) return;
        return store.leftovers(function (r) { return r.client === client; }).then(function (left) {
          return Promise.all(left.map(function (l) { return store.forget(l.record.url); }));
        });
      }).catch(function () {});
    }
  }
  var card = $("upload");
  if (card) new FileUploader(card);
})();
