// Signature pad: pointer events cover mouse, pen and touch. No libraries, no inline script (CSP).
// The strokes are kept as points and repainted from them whenever the pad changes size. A
// phone resizes the page often (keyboard, rotation, address bar); repainting from a snapshot
// of the canvas instead loses the drawing when two resizes come close together.
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  if (!canvas) return;
  var field = document.getElementById("signature");
  var state = document.getElementById("signature-state");
  var form = document.getElementById("sign-form");
  var ctx = canvas.getContext("2d");
  var INK = "#1b2a4a";
  var strokes = [];   // lists of points, in CSS pixels of the pad at the size `base`
  var base = null;    // the pad's size when the first stroke began
  var current = null;

  function padSize() { var r = canvas.getBoundingClientRect(); return { w: r.width, h: r.height }; }
  function factor(size) { return base ? Math.min(size.w / base.w, size.h / base.h) : 1; }
  function isDrawn() { return strokes.some(function (s) { return s.length > 1; }); }

  function pen() {
    ctx.lineWidth = 2.2; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.strokeStyle = INK; ctx.fillStyle = INK;
  }
  function dot(p, k) { ctx.beginPath(); ctx.arc(p.x * k, p.y * k, 1.1, 0, Math.PI * 2); ctx.fill(); }
  function line(a, b, k) { ctx.beginPath(); ctx.moveTo(a.x * k, a.y * k); ctx.lineTo(b.x * k, b.y * k); ctx.stroke(); }

  function repaint() {
    var size = padSize();
    if (size.w < 20 || size.h < 20) return;  // hidden or mid-layout: keep the strokes for later
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    var w = Math.round(size.w * ratio), h = Math.round(size.h * ratio);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size.w, size.h);
    pen();
    var k = factor(size);
    strokes.forEach(function (stroke) {
      dot(stroke[0], k);
      for (var i = 1; i < stroke.length; i++) line(stroke[i - 1], stroke[i], k);
    });
  }

  function point(e) {
    var r = canvas.getBoundingClientRect(), k = factor({ w: r.width, h: r.height });
    return { x: (e.clientX - r.left) / k, y: (e.clientY - r.top) / k };
  }
  canvas.addEventListener("pointerdown", function (e) {
    e.preventDefault();
    if (!base) base = padSize();
    canvas.setPointerCapture(e.pointerId);
    current = [point(e)];
    strokes.push(current);
    dot(current[0], factor(padSize()));
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!current) return;
    e.preventDefault();
    var p = point(e), first = !isDrawn();
    line(current[current.length - 1], p, factor(padSize()));
    current.push(p);
    if (first) { state.textContent = "Signature drawn."; state.removeAttribute("role"); }
  });
  function end() { current = null; }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  document.getElementById("clear-signature").addEventListener("click", function () {
    strokes = []; base = null; current = null; field.value = "";
    repaint();
    state.textContent = "Sign inside the box.";
  });
  form.addEventListener("submit", function (e) {
    if (!isDrawn()) {
      e.preventDefault();
      state.textContent = "Please draw your signature in the box first.";
      state.setAttribute("role", "alert");
      canvas.scrollIntoView({ block: "center" });
      return;
    }
    repaint();
    field.value = canvas.toDataURL("image/png");
  });
  if (window.ResizeObserver) new ResizeObserver(repaint).observe(canvas);
  else window.addEventListener("resize", repaint);
  repaint();
})();
