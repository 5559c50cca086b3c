// The upload form: a chosen file is read into the textarea (the form posts text, not multipart).
"use strict";
document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (!file) return;
  file.text().then((text) => { document.getElementById("document").value = text; });
});
