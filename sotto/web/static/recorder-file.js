// Uploading an existing recording from the Record page: a file, sent by tus (tus.js).

import { FILE_PIECE_BYTES, Upload, create, messageOf, request } from "./tus.js";

function $(id) { return document.getElementById(id); }

// A file is sent in 5 MiB pieces, or smaller ones where the server takes less in one request
// (SOTTO_MAX_CHUNK_MB, set to match a proxy in front of it). If the page is reloaded, choosing
// the same file again continues its upload: the upload's address is remembered under a hash of
// the file's name, size and date (the name itself may identify the client, so it is not stored).
export function FileUploader(card) {
  this.card = card;
  this.csrf = card.dataset.csrf;
  this.client = card.dataset.client;
  this.maxBytes = parseInt(card.dataset.maxBytes, 10) || Infinity;
  this.pieceBytes = Math.min(FILE_PIECE_BYTES, parseInt(card.dataset.maxRequestBytes, 10) || Infinity);
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
      target.url = await create("/sessions/" + target.session + "/recordings", {
        csrf: this.csrf, length: file.size, metadata: { source: "upload", filetype: file.type || "" }
      });
      if (key) localStorage.setItem(key, JSON.stringify(target));
    }
    var upload = new Upload(target.url, {
      csrf: this.csrf, length: file.size, batch: this.pieceBytes, checkFirst: !!target.resumed
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
  var response = await request("HEAD", known.url, this.csrf, {}, null);
  if (response && response.status === 200 && response.headers.get("Upload-Length") === String(file.size) &&
      parseInt(response.headers.get("Upload-Offset"), 10) < file.size) {
    known.resumed = true;
    return known;
  }
  localStorage.removeItem(key);
  return null;
};

FileUploader.prototype.openSession = async function () {
  var response = await request("POST", "/clients/" + this.client + "/sessions", this.csrf, {}, null);
  if (!response) throw new Error("The server could not be reached. Check the connection and try again.");
  if (response.status !== 201) throw new Error((await messageOf(response)).text);
  return (await response.json()).session;
};

FileUploader.prototype.showProgress = function (upload, size) {
  var percent = Math.floor(100 * upload.acked / size);
  this.bar.value = percent;
  if (upload.state === "offline") this.say("Offline — will continue when the connection is back (" + percent + "% sent).", "warn");
  else if (upload.state === "retrying" || upload.state === "signed-out") this.say("Waiting for the server (" + percent + "% sent)…", "warn");
  else if (!upload.complete && !upload.failure) this.say("Uploading… " + percent + "%", "");
};
