// After a reload: what the previous page left. The session it was recording (remembered in
// this tab's sessionStorage, or adopted from the client's page) is taken up again, paused;
// audio it had not sent (in recorder-store.js) is sent first. Audio left by a tab that is gone
// (closed, crashed) is sent too, and its session is then ended, so that what was recorded is
// kept. A Web Lock per session keeps two tabs from driving one session.

import { claim, postUntilAnswered, resume } from "./tus.js";

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
  var leftovers = store ? await store.leftovers(function (r) { return r.client === recorder.client; }) : [];
  var bySession = {};
  leftovers.forEach(function (l) { (bySession[l.record.session] = bySession[l.record.session] || []).push(l); });
  var found = false;
  for (var session in bySession) {
    if (session !== recorder.session && !await claim("sotto-session:" + session, 0)) continue;  // recording in another tab
    found = true;
    var resumed = bySession[session].map(function (l) { return resume(store, l, recorder.csrf); });
    if (session === recorder.session) {
      resumed.forEach(function (u) { recorder.drive(u); u.finish().catch(function () {}); });
    } else {
      endAbandoned(recorder, session, resumed);
    }
  }
  if (recorder.session) {
    recorder.setPhase("paused");
    view.notice(found ? "Unsent audio from an interrupted recording was found — sending it now. Then continue recording to add to the same session, or press Stop to end it."
                      : "This session's recording was interrupted. Continue recording to add to it, or press Stop to end it.");
    if (found) {
      Promise.all(recorder.uploads.map(function (u) { return u.whenDone(); })).then(function () {
        if (recorder.phase === "paused" || recorder.phase === "recording") {
          view.notice("The audio from before the interruption is saved. Continue recording to add to this session, or press Stop to end it.");
        }
      }, function () {});
    }
    if (saved && saved.stopping) recorder.stop();
  } else if (found) {
    view.notice("Unsent audio from an interrupted recording was found — sending it now.");
  }
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
