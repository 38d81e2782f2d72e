// The Record page: live capture into resumable uploads, and uploads of existing files.
// Loaded as an ES module (script-src 'self' allows it; no inline script). The parts:
//
//   recorder-session.js  the recorder: a session's capture, its uploads, Stop, withdrawal
//   recorder-resume.js   after a reload: what the previous page left, sent and taken up again
//   recorder-store.js    unsent audio kept in IndexedDB, sealed under a key only the server keeps
//   recorder-capture.js  microphone, the call's audio, level meters, the screen kept awake
//   recorder-webm.js     where a live WebM stream may be cut
//   recorder-view.js     what the page shows
//   recorder-file.js     uploading an existing recording
//   tus.js               the resumable upload protocol

import { FileUploader } from "./recorder-file.js";
import { Recorder } from "./recorder-session.js";
import { Store } from "./recorder-store.js";

function $(id) { return document.getElementById(id); }

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
    Store.open().then(function (store) {
      if (store) return store.discard(function (r) { return r.client === client; });
    }).catch(function () {});
  }
}
var card = $("upload");
if (card) new FileUploader(card);
