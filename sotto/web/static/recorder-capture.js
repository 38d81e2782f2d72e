// What the recorder captures from: the room's microphone and, for telehealth, the call's tab
// or the system's sound; the level meters that show both are heard; and the screen kept awake.

var MIC = { echoCancellation: false, noiseSuppression: false, autoGainControl: true };
var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];

export async function captureMicrophone() {
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
}

// The call's tab or the system's sound. Only its audio is recorded; the picture must be
// asked for (browsers offer no audio-only sharing) and is kept until the end, because
// stopping it can end the sharing.
export async function captureCall() {
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
}

// The container and codec to record in: the first this browser's MediaRecorder supports.
export function recordingType() {
  if (!window.MediaRecorder) throw new Error("This browser cannot record audio. Use a current browser.");
  for (var i = 0; i < TYPES.length; i++) if (MediaRecorder.isTypeSupported(TYPES[i])) return TYPES[i];
  return "";
}

// Shows each channel's level (-60 dBFS … 0 dBFS) on its meter until stop() is called.
// channels: [{source, stream}]; meters: {room, call} <meter> elements.
export function LevelMeters(channels, meters) {
  this.audio = null;
  this.timer = null;
  this.meters = meters;
  var Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  var audio = this.audio = new Context();
  if (audio.resume) audio.resume().catch(function () {});
  var shown = channels.map(function (ch) {
    var analyser = audio.createAnalyser();
    analyser.fftSize = 2048;
    audio.createMediaStreamSource(ch.stream).connect(analyser);
    return { analyser: analyser, meter: ch.source === "call" ? meters.call : meters.room, samples: new Float32Array(2048) };
  });
  this.timer = setInterval(function () {
    shown.forEach(function (m) {
      m.analyser.getFloatTimeDomainData(m.samples);
      var sum = 0;
      for (var i = 0; i < m.samples.length; i++) sum += m.samples[i] * m.samples[i];
      var db = 20 * Math.log10(Math.sqrt(sum / m.samples.length) || 1e-9);
      m.meter.value = Math.min(1, Math.max(0, (db + 60) / 60));
    });
  }, 100);
}

LevelMeters.prototype.stop = function () {
  clearInterval(this.timer);
  this.timer = null;
  if (this.audio) { this.audio.close().catch(function () {}); this.audio = null; }
  this.meters.room.value = 0;
  this.meters.call.value = 0;
};

// A tablet that goes to sleep suspends the page, and with it the recording.
export function ScreenAwake() { this.lock = null; }

ScreenAwake.prototype.request = function () {
  var self = this;
  if (!navigator.wakeLock || this.lock) return;
  navigator.wakeLock.request("screen").then(function (lock) {
    self.lock = lock;
    lock.addEventListener("release", function () { self.lock = null; });
  }).catch(function () { /* not granted (battery saver, headless): nothing to do */ });
};

ScreenAwake.prototype.release = function () {
  if (this.lock) { this.lock.release().catch(function () {}); this.lock = null; }
};
