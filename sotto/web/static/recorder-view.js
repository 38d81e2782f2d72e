// What the Record page shows of the recorder: its buttons for each phase, the clock, how far
// the audio is saved, and the notices. It only shows; recorder-session.js decides.

function $(id) { return document.getElementById(id); }

export function clock(ms) {
  var s = Math.max(0, Math.floor(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
  var ss = String(s % 60).padStart(2, "0");
  return h ? h + ":" + String(m).padStart(2, "0") + ":" + ss : m + ":" + ss;
}

var ENDED = ["refused", "withdrawing", "withdrawn", "halted", "ended"];

export function RecorderView(root) {
  this.root = root;
  this.ui = {
    elapsed: $("elapsed"), level: $("level"), levelCall: $("level-call"), callLevels: $("call-level"),
    state: $("upload-state"), telehealth: $("telehealth"), start: $("start"), stop: $("stop"),
    withdrew: $("withdrew"), error: $("recorder-error"), notice: $("recorder-notice"), stopped: $("recorder-stopped")
  };
}

// The buttons for `phase`; `open`: a session is open (its withdrawal can be noted).
RecorderView.prototype.showPhase = function (phase, open) {
  var ui = this.ui;
  this.root.dataset.phase = phase;
  ui.start.disabled = !(phase === "idle" || phase === "paused");
  ui.start.textContent = phase === "paused" ? "Continue recording" : phase === "recording" ? "Recording…" :
                         phase === "starting" ? "Starting…" : "Start recording";
  ui.stop.disabled = !(phase === "recording" || phase === "paused");
  ui.stop.textContent = phase === "stopping" ? "Finishing…" : "Stop";
  ui.withdrew.disabled = !open || ["recording", "paused", "stopping", "starting"].indexOf(phase) < 0;
  ui.telehealth.disabled = !(phase === "idle" || phase === "paused");
};

RecorderView.prototype.showElapsed = function (ms) { this.ui.elapsed.textContent = clock(ms); };

RecorderView.prototype.say = function (text, tone) {
  this.ui.state.textContent = text;
  this.ui.state.className = "upload-state " + (tone || "");
};

// "Saved up to …" is the oldest point that some channel still has to send; when all is
// sent, the newest chunk's time.
RecorderView.prototype.showUploadState = function (phase, uploads) {
  if (ENDED.indexOf(phase) >= 0) return;
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

RecorderView.prototype.notice = function (text, link) {
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

RecorderView.prototype.showStopped = function (text, link) {
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

RecorderView.prototype.error = function (text) { this.ui.error.textContent = text || ""; };
