// A small tus 1.0 client (core protocol, creation, deferred length) for the recorder and
// the file uploader. No libraries: the Content-Security-Policy allows only our own scripts.
//
// What it promises, and how:
// * Nothing is lost. Live audio is written, encrypted, to IndexedDB (recorder-store.js) before
//   it is sent, and deleted only once the server has confirmed it (Upload-Offset). A dropped
//   connection, a reload or a crashed tab leaves the unconfirmed bytes there, and the next
//   page sends them first.
// * Nothing is duplicated. Every PATCH starts at the offset the server last confirmed;
//   after any doubt (a network error, a 5xx, a 409) we ask the server (HEAD) where it
//   stands and continue from there. The server also skips bytes it already holds, so a
//   request whose answer was lost can safely be sent again.
// * A refusal is final. 403/404/413/415 mean the server will never take these bytes
//   (consent withdrawn or expired, session ended, too large, not audio): we stop at once,
//   report the server's own words, and never retry. A refusal at the session's time limit says
//   so (failure.limit): the server has ended the session, keeping what arrived in time.
//
// An ES module, as are the recorder's: nothing here is a global.

var TUS_VERSION = "1.0.0";
var LIVE_BATCH_BYTES = 1024 * 1024;      // joins chunks queued while offline into fewer requests
export var FILE_PIECE_BYTES = 5 * 1024 * 1024;  // at most; less where the server takes less (recorder-file.js)
var BACKOFF_MS = [1000, 2000, 4000, 8000];
var REQUEST_TIMEOUT_MS = 120000;         // a request that hangs (half-open connection) counts as failed

// ---- requests -----------------------------------------------------------------------

// The server's refusal in plain words: JSON {"error"} from the upload routes; plain text
// from the body-size guard; HTML pages (sign-in, CSRF) get a message written here.
export async function messageOf(response) {
  var type = response.headers.get("content-type") || "";
  try {
    if (type.indexOf("json") >= 0) {
      var body = await response.json();
      if (body && typeof body.error === "string") {
        // limit: the session reached the longest recording time; the server has ended it, keeping
        // what arrived in time, and `page` is the session's.
        return { text: body.error, fromApi: true, limit: body.limit === true, page: body.page || null };
      }
    } else if (type.indexOf("text/plain") === 0) {
      return { text: (await response.text()).slice(0, 300), fromApi: false };
    }
  } catch (e) { /* an unreadable body: fall through to the generic words */ }
  if (response.status === 401) return { text: "You were signed out. Sign in again in another tab; the audio is kept and will be sent.", fromApi: false };
  if (response.status === 403) return { text: "This page is out of date. Reload it; unsent audio is kept and will be sent.", fromApi: false };
  return { text: "The server answered " + response.status + ".", fromApi: false };
}

// fetch with the tus and CSRF headers; resolves to null on a network error or timeout
// (the caller retries), never rejects.
export async function request(method, url, csrf, headers, body) {
  var all = { "Tus-Resumable": TUS_VERSION, "X-CSRF-Token": csrf };
  Object.keys(headers || {}).forEach(function (k) { all[k] = headers[k]; });
  var controller = new AbortController();
  var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
  try {
    return await fetch(url, { method: method, headers: all, body: body, credentials: "same-origin",
                              cache: "no-store", signal: controller.signal });
  } catch (e) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

// POSTs a JSON action (end a session, note a withdrawal) until the server answers: the network
// may be down. Resolves to {status, body}; `onWaiting(offline)` is told while we wait.
export async function postUntilAnswered(url, csrf, onWaiting) {
  for (var attempt = 0; ; attempt++) {
    var response = await request("POST", url, csrf, {}, null);
    if (response && response.status < 500) {
      var body = null;
      try { body = await response.json(); } catch (e) { /* not JSON: an HTML error page */ }
      return { status: response.status, body: body };
    }
    if (onWaiting) onWaiting(!response);
    await new Promise(function (resolve) { setTimeout(resolve, BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]); });
  }
}

function b64(text) { return btoa(unescape(encodeURIComponent(text))); }

// Creates an upload; resolves to its URL. Rejects with an Error carrying .status (0 when the
// server could not be reached). Not retried on its own: if the answer were lost, a retry
// would leave an empty upload behind, so the person simply presses Start again.
export async function create(endpoint, options) {
  var meta = options.metadata || {};
  var headers = {
    "Upload-Metadata": Object.keys(meta).map(function (k) { return k + " " + b64(meta[k] || ""); }).join(",")
  };
  if (options.length == null) headers["Upload-Defer-Length"] = "1";
  else headers["Upload-Length"] = String(options.length);
  var response = await request("POST", endpoint, options.csrf, headers, null);
  if (response && response.status === 201 && response.headers.get("Location")) {
    // A live upload: how many seconds the session may still record (options.onSecondsLeft).
    var left = parseFloat(response.headers.get("Sotto-Seconds-Left"));
    if (options.onSecondsLeft && left >= 0) options.onSecondsLeft(left);
    return new URL(response.headers.get("Location"), location.href).pathname;
  }
  var message = response ? await messageOf(response)
                         : { text: "The server could not be reached. Check the connection and try again." };
  var error = new Error(message.text);
  error.status = response ? response.status : 0;
  error.limit = !!message.limit;
  error.page = message.page || null;
  throw error;
}

// ---- one upload ------------------------------------------------------------------------

var active = [];  // uploads that may be waiting out a backoff; woken when the network returns
window.addEventListener("online", function () { active.forEach(function (u) { u.wake(); }); });

// options: csrf; store (recorder-store.js) and record (live uploads: persist chunks); length
// (known total, as for a file, already declared at creation); batch (bytes per PATCH);
// checkFirst (ask the server for its offset before sending anything: a resumed upload).
export function Upload(url, options) {
  this.url = url;
  this.csrf = options.csrf;
  this.store = options.store || null;
  this.record = options.record || null;
  this.batch = options.batch || LIVE_BATCH_BYTES;
  this.queue = [];           // {offset, size, time, blob}, oldest first, not yet confirmed
  this.produced = 0;         // bytes handed to this upload: the offset of the next chunk
  this.sendable = null;      // while the stream goes on, send only this far (null: all of it)
  this.acked = 0;            // bytes the server confirmed holding
  this.length = options.length == null ? null : options.length;
  this.lengthDeclared = options.length != null;  // whether the server knows the total
  this.savedTime = null;     // `time` of the newest chunk the server holds entirely
  this.complete = false;
  this.failure = null;       // {message, fromApi, keep}: why this upload stopped for good
  this.state = "idle";       // idle | sending | offline | retrying | signed-out | complete | failed
  this.stopped = false;
  this.discarded = false;    // stopped, and what it stored deleted: it takes nothing more
  this.needsCheck = !!options.checkFirst;
  this.adoptServerOffset = false;
  this.mismatches = 0;
  this.attempt = 0;
  this.running = false;
  this.wakeUp = null;
  this.persisting = Promise.resolve();
  this.listeners = [];
  this.settled = new Promise(function (resolve) { this.settle = resolve; }.bind(this));
  active.push(this);
}

// listener(upload) is called on every change of state or progress.
Upload.prototype.onChange = function (listener) { this.listeners.push(listener); };
Upload.prototype.emit = function () {
  var self = this;
  this.listeners.forEach(function (l) { l(self); });
};
Upload.prototype.setState = function (state) {
  if (this.state !== state) { this.state = state; this.emit(); }
};

// Hands bytes to the upload. Live chunks are stored before they can be sent; `time` is the
// recording time they end at (for "Saved up to …"). `sendable` is how far the stream may be
// sent before it is finished: a live recording whose next chunk never comes (a reload, a
// crash) must end on a whole element, not on the first bytes of the next one.
Upload.prototype.append = function (blob, time, sendable) {
  // Stopped but kept (halted: a reload will send it), a chunk is still stored, never sent from here.
  if (this.discarded || this.length !== null && this.lengthDeclared && this.produced >= this.length) return;
  if (!blob.size) return;
  this.sendable = sendable == null ? null : sendable;
  var chunk = { url: this.url, offset: this.produced, size: blob.size, time: time == null ? null : time,
                sendable: this.sendable, blob: blob };
  this.produced += blob.size;
  this.queue.push(chunk);
  if (this.store && this.record) {
    this.record.produced = this.produced;
    var store = this.store, record = Object.assign({}, this.record);
    // A failed write (storage full) still leaves the chunk in memory: only a reload could lose it.
    this.persisting = store.saveChunk(record, chunk).catch(function (e) { console.warn("audio not stored locally", e); });
  }
  this.kick();
};

// No more bytes will come: the total is what was produced (or, `atCut`, only as far as a
// cut is allowed: the recorder broke off mid-stream). Resolves when the server holds it all
// and has marked the upload complete; rejects with the failure if it stopped for good.
Upload.prototype.finish = function (atCut) {
  if (this.length === null) this.length = atCut && this.sendable !== null ? Math.max(this.acked, this.limit()) : this.produced;
  this.kick();
  return this.whenDone();
};

Upload.prototype.whenDone = function () {
  var self = this;
  return this.settled.then(function () {
    if (self.failure) { var e = new Error(self.failure.message); e.failure = self.failure; throw e; }
  });
};

// Stops sending. With discard, the stored chunks are deleted too (consent withdrawn: the
// audio must not survive on this device either).
Upload.prototype.stop = function (discard) {
  this.stopped = true;
  this.discarded = this.discarded || !!discard;
  this.queue = [];
  this.wake();
  active = active.filter(function (u) { return u !== this; }, this);
  var forgotten = discard && this.store ? this.persisting.then(this.store.forget.bind(this.store, this.url)) : Promise.resolve();
  this.settle();
  return forgotten.catch(function () {});
};

Upload.prototype.wake = function () { if (this.wakeUp) this.wakeUp(); };
Upload.prototype.pending = function () { return this.produced - this.acked; };
// Where sending stops for now: the total once it is known, else the last allowed cut.
Upload.prototype.limit = function () {
  if (this.length !== null) return Math.min(this.length, this.produced);
  return this.sendable === null ? this.produced : Math.min(this.sendable, this.produced);
};
Upload.prototype.kick = function () { if (!this.running && !this.stopped) this.run(); };

// The one loop that talks to the server for this upload, so requests never overlap.
Upload.prototype.run = async function () {
  this.running = true;
  try {
    while (!this.stopped && !this.complete) {
      if (this.needsCheck) {
        if (!await this.check()) continue;
      }
      var finishing = this.length !== null && !this.lengthDeclared && this.acked >= this.limit();
      if (this.acked >= this.limit() && !finishing) break;  // idle until more audio arrives
      await this.sendNext();
    }
  } finally {
    this.running = false;
  }
  if (!this.stopped && !this.complete && this.acked < this.limit()) this.kick();  // appended while leaving
};

// The next piece: queued bytes from the confirmed offset, up to `batch` bytes.
Upload.prototype.nextPiece = function () {
  var parts = [], room = Math.min(this.batch, this.limit() - this.acked), at = this.acked;
  for (var i = 0; i < this.queue.length && room > 0; i++) {
    var c = this.queue[i];
    if (c.offset + c.size <= at) continue;
    var from = at - c.offset, to = Math.min(c.size, from + room);
    parts.push(from === 0 && to === c.size ? c.blob : c.blob.slice(from, to));
    room -= to - from;
    at += to - from;
  }
  return new Blob(parts);
};

Upload.prototype.sendNext = async function () {
  var piece = this.nextPiece();
  var headers = { "Upload-Offset": String(this.acked), "Content-Type": "application/offset+octet-stream" };
  var closing = this.length !== null && !this.lengthDeclared && this.acked + piece.size === this.length;
  if (closing) headers["Upload-Length"] = String(this.length);
  this.setState("sending");
  var response = await request("PATCH", this.url, this.csrf, headers, piece);
  if (this.stopped) return;
  if (response && response.status === 204) {
    if (closing) this.lengthDeclared = true;
    this.attempt = 0;
    this.confirmed(response.headers.get("Upload-Offset"));
    return;
  }
  if (response && response.status === 409 && response.headers.get("Upload-Offset") !== null) {
    this.confirmed(response.headers.get("Upload-Offset"));  // we were ahead: continue from the server
    return;
  }
  await this.trouble(response);
};

// HEAD: where the server stands. Returns false after a problem (the loop goes round again).
Upload.prototype.check = async function () {
  if (this.mismatches) await this.pause(BACKOFF_MS[Math.min(this.mismatches - 1, BACKOFF_MS.length - 1)]);
  if (this.stopped) return false;
  var response = await request("HEAD", this.url, this.csrf, {}, null);
  if (this.stopped) return false;
  if (!response || response.status !== 200) { await this.trouble(response); return false; }
  this.needsCheck = false;
  this.attempt = 0;
  var declared = response.headers.get("Upload-Length");
  if (declared !== null) {
    // Closed on the server (the session was ended elsewhere): what it lacks can never be sent.
    var total = parseInt(declared, 10);
    if (total < this.produced || this.length !== null && total !== this.length) {
      this.fail({ text: "This recording was closed before all of its audio arrived.", fromApi: false }, true);
      return false;
    }
    this.length = total;
    this.lengthDeclared = true;
  }
  this.confirmed(response.headers.get("Upload-Offset"));
  return true;
};

// The server holds `header` bytes: forget what it confirmed, or stop if its answer makes
// no sense (it lacks bytes we no longer have, or holds more than we ever sent).
Upload.prototype.confirmed = function (header) {
  var offset = parseInt(header, 10);
  if (!(offset >= 0)) { this.needsCheck = true; return; }
  if (this.adoptServerOffset && !this.queue.length && offset > this.produced) {
    this.produced = offset;  // a resumed upload with nothing left to send: the server holds it all
  }
  this.adoptServerOffset = false;
  var oldest = this.queue.length ? this.queue[0].offset : this.produced;
  if (offset < Math.min(oldest, this.acked) || offset > this.produced) {
    // Possibly a stale answer (a read that began before our last write was committed): ask
    // again a few times before giving up on an upload whose copy on the server is wrong.
    if (++this.mismatches < 4) { this.needsCheck = true; this.setState("retrying"); return; }
    this.fail({ text: "The server's copy of this recording does not match what was sent (it holds " + offset +
                " bytes, this page sent " + this.produced + ").", fromApi: false }, true);
    return;
  }
  this.mismatches = 0;
  this.acked = offset;
  var store = this.store, url = this.url;
  // A chunk's sound is saved once the server holds it up to its cut (its stray last bytes
  // may wait for the next chunk); it is forgotten here once the server holds all of it.
  for (var i = 0; i < this.queue.length; i++) {
    var c = this.queue[i], saved = c.sendable != null ? c.sendable : c.offset + c.size;
    if (saved > offset) break;
    if (c.time != null) this.savedTime = c.time;
  }
  while (this.queue.length && this.queue[0].offset + this.queue[0].size <= offset) this.queue.shift();
  if (store) this.persisting = this.persisting.then(function () { return store.dropThrough(url, offset); }).catch(function () {});
  if (this.length !== null && this.lengthDeclared && offset === this.length) {
    this.complete = true;
    active = active.filter(function (u) { return u !== this; }, this);
    if (store) this.persisting = this.persisting.then(function () { return store.forget(url); }).catch(function () {});
    this.setState("complete");
    this.settle();
    return;
  }
  this.state = this.acked < this.limit() ? "sending" : "idle";
  this.emit();  // progress, even when the state stays the same
};

// A failed request: wait and ask again, or stop for good.
Upload.prototype.trouble = async function (response) {
  var status = response ? response.status : 0;
  if (status === 0 || status >= 500 || status === 408 || status === 429 || status === 401 || status === 409) {
    this.setState(status === 0 ? "offline" : status === 401 ? "signed-out" : "retrying");
    var delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt++;
    await this.pause(status === 401 ? Math.max(delay, 5000) : delay);
    this.needsCheck = true;
    return;
  }
  var message = await messageOf(response);
  // An HTML 403 is the CSRF check (a stale page), not a refusal of the audio: keep it for a reload.
  var keep = status === 403 && !message.fromApi;
  this.fail(message, !keep);
};

Upload.prototype.pause = function (ms) {
  var self = this;
  return new Promise(function (resolve) {
    var timer = setTimeout(done, ms);
    function done() { clearTimeout(timer); self.wakeUp = null; resolve(); }
    self.wakeUp = done;
  });
};

Upload.prototype.fail = function (message, discard) {
  this.failure = { message: message.text, fromApi: message.fromApi, keep: !discard,
                   limit: !!message.limit, page: message.page || null };
  this.setState("failed");
  this.stop(discard);
};

// ---- resuming what an earlier page left behind ----------------------------------------

// An Upload for a stored leftover: its chunks queued from the first one still stored, as far
// as they run without a hole (a chunk that failed to be stored ends what can be sent), and
// ending where the last of them allowed a cut. Its recorder is gone: finish() closes it there.
export function resume(store, leftover, csrf) {
  var upload = new Upload(leftover.record.url, { csrf: csrf, store: store, record: leftover.record, checkFirst: true });
  var chunks = leftover.chunks.slice().sort(function (a, b) { return a.offset - b.offset; });
  upload.adoptServerOffset = !chunks.length;
  if (chunks.length) {
    upload.produced = upload.acked = chunks[0].offset;
    for (var i = 0; i < chunks.length && chunks[i].offset === upload.produced; i++) {
      upload.queue.push(chunks[i]);
      upload.produced += chunks[i].size;
      upload.sendable = chunks[i].sendable == null ? null : chunks[i].sendable;
    }
    if (upload.sendable !== null) upload.produced = Math.max(upload.acked, Math.min(upload.produced, upload.sendable));
  }
  return upload;
}

// Holds the named Web Lock for the life of this page; resolves to whether it was obtained
// within `waitMs`. Two tabs must never drive the same session: the second one leaves it be.
// Without Web Locks (old browsers) every page assumes it is alone.
export function claim(name, waitMs) {
  if (!navigator.locks) return Promise.resolve(true);
  var controller = new AbortController();
  var timer = waitMs ? setTimeout(function () { controller.abort(); }, waitMs) : null;
  var options = waitMs ? { signal: controller.signal } : { ifAvailable: true };
  return new Promise(function (resolve) {
    navigator.locks.request(name, options, function (lock) {
      clearTimeout(timer);
      resolve(!!lock);
      return lock ? new Promise(function () {}) : null;  // held until the page goes away
    }).catch(function () { resolve(false); });
  });
}
