// The audio this device recorded and the server has not confirmed yet, kept in IndexedDB so
// that a lost connection, a reload or a crashed tab loses nothing (tus.js sends it), and kept
// there encrypted.
//
// Why encrypted: the laptop or tablet a session is recorded on is often shared in the practice,
// left open in a consulting room, lost or stolen, and IndexedDB is a set of files in the
// browser's profile. Audio left unsent there (the connection dropped, the tab crashed) would
// otherwise sit on that disk as playable WebM: a voice is an identifier, and this is a therapy
// session. So each chunk is sealed with AES-256-GCM under its session's key. A fresh 96-bit IV
// is drawn for every chunk, and the session, the recording's address and the chunk's offset are
// bound in as additional data, so a chunk cannot be moved to another place or recording
// unnoticed.
//
// Why the key is not here: a browser keeps even a non-extractable CryptoKey's bytes in the
// profile, beside what it protects, so a copy of the profile would hold both. The key is made
// by the server when the session starts, kept there sealed, and handed only to the therapist
// who owns the session, signed in, while it is still recording (POST /sessions/{id}/browser-key,
// which audits each hand-out). The page imports it with `extractable: false` and keeps it in
// memory only: IndexedDB never holds a key. After a reload the page asks for it again to send
// what is waiting; offline, it cannot, and says so until the network returns (recorder-resume.js).
// When the session ends or is destroyed the server destroys the key, and whatever a device still
// holds of that session becomes noise: the page deletes it when it next finds it.
//
// What it does not protect against:
// * Script running in this origin (a cross-site scripting hole, a malicious extension, someone
//   typing into DevTools on the signed-in browser): it can use the key this page holds, ask the
//   server for it with the therapist's cookie, and could listen to the microphone anyway. The
//   Content-Security-Policy (script-src 'self') is what guards that.
// * Someone who has the device while the therapist is still signed in and the session still
//   records: they can open the page. Memory of a running browser (a swap file, a crash dump)
//   may hold the key too. Against a stolen device, full-disk encryption and a locked screen
//   remain the real protection. Deleting rows does not wipe the disk at once either.
// * What is not audio: the upload records (client and session ids, the source, the format)
//   and each chunk's size, time and cut are kept in the clear; they say that a recording was
//   made, not what was said.
//
// Where WebCrypto is missing (an insecure context), nothing is stored: uploads still work, but a
// reload cannot recover unsent audio. The same holds where IndexedDB is unavailable. A chunk
// arriving while this page has no key for its session is not stored either (it stays in
// memory): the recorder holds the key before it opens any upload, so that does not happen.

import { messageOf, request } from "./tus.js";

var DB_NAME = "sotto-recorder";
var DB_VERSION = 3;  // 1 kept each chunk as a plain Blob; 2 sealed it under a key kept in "keys"; 3 keeps no key
var CIPHER = { name: "AES-GCM", length: 256 };
var IV_BYTES = 12;
var BACKOFF_MS = [1000, 2000, 4000, 8000];

// "uploads": one record per live upload {url, client, session, source, filetype, produced}.
// "chunks":  the recorder's chunks, keyed [url, offset], each {url, offset, size, time,
//            sendable, iv, sealed}: `sealed` is the audio encrypted (`sendable`: see
//            Upload.append in tus.js).
// "keys":    only in a database made by version 2: {url, key}, a recording's own CryptoKey.
//            Nothing is written there any more; what is there is still used to read that
//            recording's chunks and is deleted with them.
// A chunk and its upload's new "produced" total are written in one transaction, so after a
// crash the record never claims bytes that are not stored.

function promised(req) {
  return new Promise(function (resolve, reject) {
    req.onsuccess = function () { resolve(req.result); };
    req.onerror = function () { reject(req.error); };
  });
}
function committed(tx) {
  return new Promise(function (resolve, reject) {
    tx.oncomplete = function () { resolve(); };
    tx.onerror = tx.onabort = function () { reject(tx.error || new Error("IndexedDB transaction aborted")); };
  });
}
function chunksOf(url) { return IDBKeyRange.bound([url, 0], [url, Infinity]); }

// What a chunk's ciphertext is bound to: decryption fails if it is moved elsewhere.
function boundTo(session, url, offset) {
  return new TextEncoder().encode(JSON.stringify(["sotto-recorder-chunk", session || "", url, offset]));
}

function fromBase64url(text) {
  var plain = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  var bytes = new Uint8Array(plain.length);
  for (var i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
  return bytes;
}

function waitOrOnline(ms) {
  return new Promise(function (resolve) {
    var timer = setTimeout(done, ms);
    function done() { clearTimeout(timer); window.removeEventListener("online", done); resolve(); }
    window.addEventListener("online", done);
  });
}

export function Store(db) {
  this.db = db;
  this.keys = new Map();            // session -> its CryptoKey: in this page's memory only
  this.asking = new Map();          // session -> the request for its key under way
  this.writes = Promise.resolve();  // the queue of writes (see queued)
}

// Resolves to a Store, or to null where IndexedDB or WebCrypto is unavailable (some private
// windows, insecure contexts).
Store.open = function () {
  if (!window.isSecureContext || !window.crypto || !crypto.subtle || !window.indexedDB) return Promise.resolve(null);
  return new Promise(function (resolve) {
    var req;
    try { req = indexedDB.open(DB_NAME, DB_VERSION); } catch (e) { resolve(null); return; }
    req.onupgradeneeded = function () {
      var db = req.result, stores = db.objectStoreNames;
      if (!stores.contains("uploads")) db.createObjectStore("uploads", { keyPath: "url" });
      if (!stores.contains("chunks")) db.createObjectStore("chunks", { keyPath: ["url", "offset"] });
      // "keys" (version 2) is not made any more; one already there is left, emptied by forget.
    };
    req.onsuccess = function () { resolve(new Store(req.result)); };
    req.onerror = req.onblocked = function () { resolve(null); };
  });
};

// The object stores a transaction over `names` may use: "keys" only where version 2 left it.
Store.prototype.stores = function (names) {
  var db = this.db;
  return names.filter(function (n) { return n !== "keys" || db.objectStoreNames.contains("keys"); });
};

// Writes run one at a time, in the order they were asked for. Sealing a chunk takes a moment
// before its transaction can begin, and a later write (a delete, the next chunk) must not
// overtake it, as IndexedDB's own ordering of transactions would otherwise ensure.
Store.prototype.queued = function (write) {
  var done = this.writes.then(write);
  this.writes = done.catch(function () {});
  return done;
};

// ---- the session's key, from the server

Store.prototype.hasKey = function (session) { return this.keys.has(session); };
Store.prototype.dropKey = function (session) { this.keys.delete(session); };

// One request for the session's key. Resolves to {held: true} once this page holds it,
// {gone: "ended" | "destroyed"} when the server has destroyed it (what is stored of the session
// can never be read), or {trouble: "offline" | "signed-out" | "retry", message} otherwise.
Store.prototype.askForKey = function (session, csrf) {
  var self = this;
  if (this.keys.has(session)) return Promise.resolve({ held: true });
  if (this.asking.has(session)) return this.asking.get(session);
  var asked = (async function () {
    var response = await request("POST", "/sessions/" + encodeURIComponent(session) + "/browser-key", csrf, {}, null);
    if (!response) return { trouble: "offline", message: "The server could not be reached. Check the connection and try again." };
    if (response.status === 410 || response.status === 404) {
      var body = null;
      try { body = await response.json(); } catch (e) { /* not JSON */ }
      return { gone: body && body.gone === "ended" ? "ended" : "destroyed" };
    }
    if (response.status === 200) {
      try {
        var raw = fromBase64url((await response.json()).key);
        var key = await crypto.subtle.importKey("raw", raw, { name: CIPHER.name }, false, ["encrypt", "decrypt"]);
        raw.fill(0);
        self.keys.set(session, key);
        return { held: true };
      } catch (e) {
        return { trouble: "retry", message: "The server's answer could not be read." };
      }
    }
    return { trouble: response.status === 401 ? "signed-out" : "retry", message: (await messageOf(response)).text };
  })();
  this.asking.set(session, asked);
  return asked.finally(function () { self.asking.delete(session); });
};

// Asks until the server answers for good ({held} or {gone}); `onWaiting(trouble)` is told each
// time it could not. Tries again at once when the browser says it is back online.
Store.prototype.awaitKey = async function (session, csrf, onWaiting) {
  for (var attempt = 0; ; attempt++) {
    var answer = await this.askForKey(session, csrf);
    if (!answer.trouble) return answer;
    if (onWaiting) onWaiting(answer.trouble);
    await waitOrOnline(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]);
  }
};

// ---- chunks

// Stores a chunk ({url, offset, size, time, sendable, blob}) sealed, and its upload's record.
// Rejects, storing nothing, when this page holds no key for the session.
Store.prototype.saveChunk = function (record, chunk) {
  var self = this;
  return this.queued(async function () {
    var key = self.keys.get(record.session);
    if (!key) throw new Error("no key for this session: the chunk stays in memory only");
    var iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    var sealed = await crypto.subtle.encrypt({ name: CIPHER.name, iv: iv, additionalData: boundTo(record.session, chunk.url, chunk.offset) },
                                             key, await chunk.blob.arrayBuffer());
    var tx = self.db.transaction(["uploads", "chunks"], "readwrite");
    tx.objectStore("uploads").put(record);
    tx.objectStore("chunks").put({ url: chunk.url, offset: chunk.offset, size: chunk.size, time: chunk.time,
                                   sendable: chunk.sendable, iv: iv, sealed: sealed });
    await committed(tx);
  });
};

// Deletes the chunks that end at or before `offset` (the server holds them).
Store.prototype.dropThrough = function (url, offset) {
  var self = this;
  return this.queued(function () {
    var tx = self.db.transaction("chunks", "readwrite");
    var cursor = tx.objectStore("chunks").openCursor(IDBKeyRange.bound([url, 0], [url, offset]));
    cursor.onsuccess = function () {
      var c = cursor.result;
      if (!c) return;
      if (c.value.offset + c.value.size <= offset) c.delete();
      c.continue();
    };
    return committed(tx);
  });
};

// Deletes an upload's record and its chunks (and a key version 2 kept for it).
Store.prototype.forget = function (url) {
  var self = this;
  return this.queued(function () {
    var tx = self.db.transaction(self.stores(["uploads", "chunks", "keys"]), "readwrite");
    tx.objectStore("uploads").delete(url);
    tx.objectStore("chunks").delete(chunksOf(url));
    if (self.db.objectStoreNames.contains("keys")) tx.objectStore("keys").delete(url);
    return committed(tx);
  });
};

// Deletes every stored upload whose record matches `filter`, with its chunks.
Store.prototype.discard = async function (filter) {
  var self = this;
  var records = await this.queued(function () {  // after the saves already asked for
    return promised(self.db.transaction("uploads", "readonly").objectStore("uploads").getAll());
  });
  await Promise.all(records.filter(filter).map(function (r) { return self.forget(r.url); }));
};

// Every stored upload (optionally only those matching `filter`) with its chunks still sealed:
// {record, stored: [{url, offset, size, time, sendable, iv, sealed}], legacy: a key version 2
// stored for it, or null}. Reading them needs the session's key: see opened.
Store.prototype.waiting = function (filter) {
  var self = this;
  return this.queued(async function () {
    var tx = self.db.transaction(self.stores(["uploads", "chunks", "keys"]), "readonly");
    var legacy = self.db.objectStoreNames.contains("keys") ? tx.objectStore("keys") : null;
    var records = await promised(tx.objectStore("uploads").getAll());
    var found = [];
    for (var i = 0; i < records.length; i++) {
      if (filter && !filter(records[i])) continue;
      var url = records[i].url;
      var stored = await promised(tx.objectStore("chunks").getAll(chunksOf(url)));
      var old = legacy ? await promised(legacy.get(url)) : null;
      found.push({ record: records[i], stored: stored, legacy: old ? old.key : null });
    }
    return found;
  });
};

// A waiting upload with its chunks decrypted ({record, chunks: [{url, offset, size, time,
// sendable, blob}]}, in offset order), under the session's key this page holds. A chunk that
// cannot be decrypted is left out: the upload then ends where it was, as after a chunk that
// failed to be stored (see resume in tus.js).
Store.prototype.opened = async function (waiting) {
  var key = waiting.legacy || this.keys.get(waiting.record.session) || null;
  var chunks = await Promise.all(waiting.stored.map(function (c) { return opened(waiting.record, key, c); }));
  return { record: waiting.record, chunks: chunks.filter(function (c) { return c; }) };
};

async function opened(record, key, chunk) {
  var out = { url: chunk.url, offset: chunk.offset, size: chunk.size, time: chunk.time, sendable: chunk.sendable };
  if (chunk.blob) return Object.assign(out, { blob: chunk.blob });  // stored before chunks were sealed (version 1)
  if (!key) return null;
  try {
    var audio = await crypto.subtle.decrypt({ name: CIPHER.name, iv: chunk.iv, additionalData: boundTo(record.session, chunk.url, chunk.offset) },
                                            key, chunk.sealed);
    return Object.assign(out, { blob: new Blob([audio]) });
  } catch (e) {
    console.warn("a stored chunk could not be decrypted", e);
    return null;
  }
}

Store.prototype.countChunks = function () {
  return promised(this.db.transaction("chunks", "readonly").objectStore("chunks").count());
};
