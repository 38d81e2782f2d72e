// Signature pad: pointer events cover mouse, pen and touch. No libraries, no inline script (CSP).
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  if (!canvas) return;
  var field = document.getElementById("signature");
  var state = document.getElementById("signature-state");
  var form = document.getElementById("sign-form");
  var ctx = canvas.getContext("2d");
  var drawing = false, drawn = false, last = null;

  function resize() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    var rect = canvas.getBoundingClientRect();
    var saved = drawn ? canvas.toDataURL("image/png") : null;
    canvas.width = Math.round(rect.width * ratio);
    canvas.height = Math.round(rect.height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2.2; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#1b2a4a";
    if (saved) { var img = new Image(); img.onload = function () { ctx.drawImage(img, 0, 0, rect.width, rect.height); }; img.src = saved; }
  }
  function point(e) { var r = canvas.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; }
  canvas.addEventListener("pointerdown", function (e) {
    e.preventDefault(); drawing = true; last = point(e); canvas.setPointerCapture(e.pointerId);
    ctx.beginPath(); ctx.arc(last.x, last.y, 1.1, 0, Math.PI * 2); ctx.fillStyle = ctx.strokeStyle; ctx.fill();
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) return; e.preventDefault();
    var p = point(e); ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke(); last = p;
    if (!drawn) { drawn = true; state.textContent = "Signature drawn."; }
  });
  function end() { drawing = false; }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("pointerleave", end);
  document.getElementById("clear-signature").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; field.value = ""; state.textContent = "Sign inside the box.";
  });
  form.addEventListener("submit", function (e) {
    if (!drawn) { e.preventDefault(); state.textContent = "Please draw your signature in the box first."; state.setAttribute("role", "alert"); return; }
    field.value = canvas.toDataURL("image/png");
  });
  window.addEventListener("resize", resize);
  resize();
})();
