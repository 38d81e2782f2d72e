// Lets a file be dropped on the verify form; the form still works without this script.
(function () {
  "use strict";
  var zone = document.getElementById("dropzone"), input = document.getElementById("pdf");
  if (!zone || !input) return;
  ["dragenter", "dragover"].forEach(function (t) { zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); }); });
  ["dragleave", "drop"].forEach(function (t) { zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("over"); }); });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; document.getElementById("verify-form").submit(); }
  });
})();
