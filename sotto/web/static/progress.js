// The session page while processing runs: polls the progress (no session content in it)
// and updates each stage's line; reloads once processing has ended, to show the result.
(function () {
  "use strict";
  const box = document.getElementById("progress");
  if (!box) return;
  const url = box.dataset.url;

  function show(state) {
    for (const stage of state.stages) {
      const line = box.querySelector('[data-stage="' + stage.name + '"]');
      if (!line) continue;
      line.className = "stage " + stage.state;
      const text = line.querySelector(".state");
      text.textContent = stage.state === "running" ? Math.floor(state.fraction * 100) + "%" : stage.state === "done" ? "done" : "";
    }
    const status = document.getElementById("session-status");
    if (status) status.textContent = state.status;
  }

  async function poll() {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const state = await response.json();
        show(state);
        if (state.done) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // Offline for a moment: try again on the next tick.
    }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 1000);
})();
