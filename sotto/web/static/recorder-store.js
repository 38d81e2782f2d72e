// The audio this device recorded and the server has not confirmed yet, kept in IndexedDB so
// that a lost connection, a reload or a crashed tab loses nothing (tus.js sends it), and kept
// there encrypted.
//
// Why encrypted: the laptop or tablet a session is recorded on is often shared in the practice,
// left open in a consulting room, lost or stolen, and IndexedDB is a set of files in the
// browser's profile. Audio left unsent there (the connection dropped, the tab crashed) would
// otherwise sit on that disk as playable WebM: a voice is an identifier, and this is a therapy
// session. So each chunk is sealed with AES-256-GCM under a key made for its recording by
// WebCrypto with `extractable: false`. The key is stored in IndexedDB as a CryptoKey object
// (structured cloning keeps it non-extractable): this page can use it, but no script can read
// its bytes. A fresh 96-bit IV is drawn for every chunk, and the session, the recording's
// address and the chunk's offset are bound in as additional data, so a chunk cannot be moved
// to another place or recording unnoticed. The key is deleted together with the recording's
// last chunks: once the server holds everything, or the audio is discarded (consent withdrawn
// or expired, the session destroyed).
//
// What it does not protect against:
// * Script running in this origin (a cross-site scripting hole, a malicious extension, someone
//   typing into DevTools on the signed-in browser): it can ask WebCrypto to decrypt with the
//   stored key, and could listen to the microphone anyway. The Content-Security-Policy
//   (script-src 'self') is what guards that.
// * Someone with the browser profile's files and the patience to parse them: browsers keep a
//   non-extractable key's bytes in the profile, beside the chunks, not in a hardware keystore.
//   This keeps audio from being played from the files, from backups of them, or by someone
//   looking through the site's storage; against a stolen device the real protection is full-
//   disk encryption and a locked screen. Deleting rows does not wipe the disk at once either.
// * What is not audio: the upload records (client and session ids, the source, the format)
//   and each chunk's size, time and cut are kept in the clear; they say that a recording was
//   made, not what was said.
//
// Where WebCrypto is missing (an insecure context), nothing is stored: uploads still work, but a
// reload cannot recover unsent audio. The same holds where IndexedDB is unavailable.

var DB_NAME = "sotto-recorder";
var DB_VERSION = 2;  // 1 kept each chunk as a plain Blob; 2 seals it and adds "keys"
var CIPHER = { name: "AES-GCM", length: 256 };
var IV_BYTES = 12;

// "uploads": one record per live upload {url, client, session, source, filetype, produced}.
// "chunks":  the recorder's chunks, keyed [url, offset], each {url, offset, size, time,
//            sendable, iv, sealed}: `sealed` is the audio encrypted (`sendable`: see
//            Upload.append in tus.js).
// "keys":    {url, key}: each recording's CryptoKey, written with its first chunk and deleted
//            with its upload record and last chunks, in one transaction each time.
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

export function Store(db) {
  this.db = db;
  this.keys = new Map();            // url -> {key, stored}: keys in use by this page
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
      if (!stores.contains("keys")) db.createObjectStore("keys", { keyPath: "url" });
    };
    req.onsuccess = function () { resolve(new Store(req.result)); };
    req.onerror = req.onblocked = function () { resolve(null); };
  });
};

// Writes run one at a time, in the order they were asked for. Sealing a chunk takes a moment
// before its transaction can begin, and a later write (a delete, the next chunk) must not
// overtake it, as IndexedDB's own ordering of transactions would otherwise ensure.
Store.prototype.queued = function (write) {
  var done = this.writes.then(write);
  this.writes = done.catch(function () {});
  return done;
};

// The recording's key: the one this page is using, the one stored with its chunks, or a new one.
Store.prototype.keyFor = async function (url) {
  if (!this.keys.has(url)) {
    var stored = await promised(this.db.transaction("keys", "readonly").objectStore("keys").get(url));
    var key = stored ? stored.key : await crypto.subtle.generateKey(CIPHER, false, ["encrypt", "decrypt"]);
    this.keys.set(url, { key: key, stored: !!stored });
  }
  return this.keys.get(url);
};

// Stores a chunk ({url, offset, size, time, sendable, blob}) sealed, and its upload's record.
Store.prototype.saveChunk = function (record, chunk) {
  var self = this;
  return this.queued(async function () {
    var known = await self.keyFor(chunk.url);
    var iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    var sealed = await crypto.subtle.encrypt({ name: CIPHER.name, iv: iv, additionalData: boundTo(record.session, chunk.url, chunk.offset) },
                                             known.key, await chunk.blob.arrayBuffer());
    var tx = self.db.transaction(["uploads", "chunks", "keys"], "readwrite");
    tx.objectStore("uploads").put(record);
    tx.objectStore("chunks").put({ url: chunk.url, offset: chunk.offset, size: chunk.size, time: chunk.time,
                                   sendable: chunk.sendable, iv: iv, sealed: sealed });
    if (!known.stored) tx.objectStore("keys").put({ url: chunk.url, key: known.key });
    await committed(tx);
    known.stored = true;
  });
};

// Deletes the chunks that end at or before `offset` (the server holds them). The key stays:
// the recording may go on.
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

// Deletes an upload's record, its chunks and its key.
Store.prototype.forget = function (url) {
  var self = this;
  return this.queued(function () {
    var tx = self.db.transaction(["uploads", "chunks", "keys"], "readwrite");
    tx.objectStore("uploads").delete(url);
    tx.objectStore("chunks").delete(chunksOf(url));
    tx.objectStore("keys").delete(url);
    self.keys.delete(url);
    return committed(tx);
  });
};

// Deletes every stored upload whose record matches `filter`, with its chunks and key.
Store.prototype.discard = async function (filter) {
  var self = this;
  var records = await this.queued(function () {  // after the saves already asked for
    return promised(self.db.transaction("uploads", "readonly").objectStore("uploads").getAll());
  });
  await Promise.all(records.filter(filter).map(function (r) { return self.forget(r.url); }));
};

// Every stored upload with its chunks decrypted (each {url, offset, size, time, sendable,
// blob}, in offset order), optionally only those matching `filter`. A chunk that cannot be
// decrypted is left out: the upload then ends where it was, as after a chunk that failed to be
// stored (see resume in tus.js).
Store.prototype.leftovers = function (filter) {
  var self = this;
  return this.queued(async function () {
    var tx = self.db.transaction(["uploads", "chunks", "keys"], "readonly");
    var records = await promised(tx.objectStore("uploads").getAll());
    var found = [];
    for (var i = 0; i < records.length; i++) {
      if (filter && !filter(records[i])) continue;
      var url = records[i].url;
      found.push({ record: records[i], stored: await promised(tx.objectStore("chunks").getAll(chunksOf(url))),
                   key: await promised(tx.objectStore("keys").get(url)) });
    }
    return Promise.all(found.map(async function (f) {
      var chunks = await Promise.all(f.stored.map(function (c) { return opened(f.record, f.key, c); }));
      return { record: f.record, chunks: chunks.filter(function (c) { return c; }) };
    }));
  });
};

async function opened(record, stored, chunk) {
  var out = { url: chunk.url, offset: chunk.offset, size: chunk.size, time: chunk.time, sendable: chunk.sendable };
  if (chunk.blob) return Object.assign(out, { blob: chunk.blob });  // stored before chunks were sealed (version 1)
  try {
    var audio = await crypto.subtle.decrypt({ name: CIPHER.name, iv: chunk.iv, additionalData: boundTo(record.session, chunk.url, chunk.offset) },
                                            stored.key, chunk.sealed);
    return Object.assign(out, { blob: new Blob([audio]) });
  } catch (e) {
    console.warn("a stored chunk could not be decrypted", e);
    return null;
  }
}

Store.prototype.countChunks = function () {
  return promised(this.db.transaction("chunks", "readonly").objectStore("chunks").count());
};
