// After a reload: what the previous page left. The session it was recording (remembered in
// this tab's sessionStorage, or adopted from the client's page) is taken up again, paused;
// audio it had not sent (in recorder-store.js) is sent first. Audio left by a tab that is gone
// (closed, crashed) is sent too, and its session is then ended, so that what was recorded is
// kept. A Web Lock per session keeps two tabs from driving one session.
//
// The stored audio is sealed under its session's key, which only the server holds: the page
// asks for it first. Offline it waits, says how much audio is waiting, and goes on when the
// network is back. When the server has destroyed the key (the session ended or was destroyed
// meanwhile), nothing can read that audio any more: it is deleted, and the page says why.

import { claim, postUntilAnswered, resume } from "./tus.js";

var CHUNK_MS = 3000;  // the recorder's timeslice: how much sound a chunk holds

var SENDING = "Unsent audio from an interrupted recording was found — sending it now.";

// Takes up what the previous page left; `recorder` is the page's Recorder (recorder-session.js).
export async function recover(recorder) {
  var saved = recorder.saved(), view = recorder.view;
  // From the client's page: a session left recording (its tab was closed), to go on with or end.
  var adopted = new URLSearchParams(location.search).get("session");
  if (adopted) {
    history.replaceState(null, "", location.pathname + location.hash);
    if (!saved || saved.session !== adopted) saved = { session: adopted, elapsedMs: 0 };
  }
  if (saved && saved.session) {
    // The old page's lock goes when it unloads, which may be a moment after this page starts.
    if (await claim("sotto-session:" + saved.session, 3000)) {
      recorder.session = saved.session;
      recorder.baseMs = saved.elapsedMs || 0;
      recorder.remember();
    } else {
      recorder.forget();  // a duplicated tab, or another window: the one holding the lock drives it
      saved = null;
      view.notice("This session is being recorded in another tab or window.");
    }
  }
  if (saved && saved.withdrawing) return recorder.clientWithdrew(true);

  var store = recorder.store;
  var waiting = store ? await store.waiting(function (r) { return r.client === recorder.client; }) : [];
  var bySession = {};
  waiting.forEach(function (w) { (bySession[w.record.session] = bySession[w.record.session] || []).push(w); });
  var ours = [];
  for (var session in bySession) {
    if (session !== recorder.session && !await claim("sotto-session:" + session, 0)) continue;  // recording in another tab
    ours.push(session);
  }
  var found = ours.length > 0;
  if (recorder.session) {
    recorder.setPhase("paused");
    var current = ours.indexOf(recorder.session) >= 0;
    view.notice(current ? SENDING + " Then continue recording to add to the same session, or press Stop to end it."
                        : "This session's recording was interrupted. Continue recording to add to it, or press Stop to end it.");
  } else if (found) {
    view.notice(SENDING);
  }
  ours.forEach(function (s) {
    if (s === recorder.session) recorder.taking = continueWith(recorder, s, bySession[s]);
    else takeUp(recorder, s, bySession[s]).then(function (uploads) { if (uploads) endAbandoned(recorder, s, uploads); });
  });
  if (recorder.session && saved && saved.stopping) recorder.stop();
}

// The open session's leftovers: sent before anything else, then the page says they are saved.
// Resolves once they are driven by the recorder (or deleted, their key gone).
async function continueWith(recorder, session, waiting) {
  var view = recorder.view;
  var uploads = await takeUp(recorder, session, waiting);
  if (!uploads) {
    if (recorder.session === session && recorder.phase === "paused") {
      recorder.session = null;  // ended or destroyed elsewhere: Start opens a new session
      recorder.baseMs = 0;
      recorder.forget();
      recorder.setPhase("idle");
    }
    return;
  }
  if (recorder.session !== session) return;
  uploads.forEach(function (u) { recorder.drive(u); u.finish().catch(function () {}); });
  Promise.all(uploads.map(function (u) { return u.whenDone(); })).then(function () {
    if (recorder.phase === "paused" || recorder.phase === "recording") {
      view.notice("The audio from before the interruption is saved. Continue recording to add to this session, or press Stop to end it.");
    }
  }, function () {});
}

// The session's key from the server, then its stored uploads decrypted and ready to send
// (tus.js resume); null when the key is gone, after deleting what was stored of the session.
async function takeUp(recorder, session, waiting) {
  var store = recorder.store, view = recorder.view;
  var seconds = secondsIn(waiting);
  var needsKey = waiting.some(function (w) { return !w.legacy && w.stored.length; });
  if (needsKey && !store.hasKey(session)) {
    var told = false;
    var answer = await store.awaitKey(session, recorder.csrf, function (trouble) {
      told = true;
      view.notice((trouble === "signed-out" ? "Sign in again (in another tab) to resume: " : "Reconnect to resume: ") +
                  seconds + " seconds of audio are waiting, encrypted, in this browser.");
    });
    if (answer.gone) {
      await store.discard(function (r) { return r.session === session; });
      view.notice(answer.gone === "ended"
        ? "That session had already ended, so " + seconds + " seconds of audio this browser still held could not be " +
          "uploaded; they were deleted from this browser. What the server received is saved."
        : "That session was destroyed (consent withdrawn, or the session deleted), so the audio this browser still " +
          "held of it was deleted too. Nothing was lost that was not meant to be destroyed.");
      return null;
    }
    if (told) view.notice(SENDING);
  }
  var opened = await Promise.all(waiting.map(function (w) { return store.opened(w); }));
  return opened.map(function (l) { return resume(store, l, recorder.csrf); });
}

// About how many seconds of sound the stored chunks hold: the channels play at once, so the
// longest one counts. Each chunk's time is where it ends.
function secondsIn(waiting) {
  var longest = 0;
  waiting.forEach(function (w) {
    var times = w.stored.map(function (c) { return c.time; }).filter(function (t) { return t != null; });
    if (times.length) longest = Math.max(longest, Math.max.apply(null, times) - Math.min.apply(null, times) + CHUNK_MS);
  });
  return Math.max(1, Math.round(longest / 1000));
}

// A session whose page is gone: send what it left, close it, and end the session so what
// was recorded is kept and processed.
async function endAbandoned(recorder, session, uploads) {
  uploads.forEach(function (u) { u.onChange(function () { if (recorder.phase === "idle") recorder.showUploadState(); }); });
  var results = await Promise.all(uploads.map(function (u) {
    return u.finish().then(function () { return null; }, function (e) { return e; });
  }));
  var refusal = results.filter(function (e) { return e; })[0];
  if (refusal && refusal.failure && refusal.failure.keep) return;  // a reload will try again
  var answer = await postUntilAnswered("/sessions/" + session + "/end", recorder.csrf, null);
  if (refusal) {
    recorder.view.notice("Audio from an interrupted recording could not be saved: " + refusal.message);
  } else if (answer.status === 200 && answer.body) {
    recorder.view.notice("An interrupted recording was saved.", { href: answer.body.page, text: "Open that session" });
  }
}
