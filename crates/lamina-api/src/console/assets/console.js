// Lamina console: small progressive enhancements. Every page works without this script,
// except the layer upload's progress bar, which needs XMLHttpRequest's progress events.
"use strict";

// Filter table rows by a search box: <input data-filter="#table-id">.
document.addEventListener("input", (event) => {
  const box = event.target.closest("input[data-filter]");
  if (!box) return;
  const needle = box.value.trim().toLowerCase();
  for (const row of document.querySelectorAll(`${box.dataset.filter} tbody tr`)) {
    row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
  }
});

// "Add a layer": show the fields of the chosen layer source only.
function showLayerSource() {
  const chosen = document.querySelector("input[name=source]:checked");
  if (!chosen) return;
  for (const part of document.querySelectorAll("[data-source]")) {
    part.hidden = part.dataset.source !== chosen.value;
  }
}
document.addEventListener("change", (event) => {
  if (event.target.matches("input[name=source]")) showLayerSource();
  // Choosing a layer lists its versions (the server renders the page again for that layer).
  if (event.target.matches("select[data-reload-on-change]")) {
    const url = new URL(window.location.href);
    url.searchParams.set(event.target.name, event.target.value);
    url.searchParams.delete("version");
    window.location.assign(url);
  }
});
document.addEventListener("DOMContentLoaded", showLayerSource);

// "Create layer": upload the .zip with a progress bar, then go to the new version's page.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-upload]");
  if (!form) return;
  event.preventDefault();
  const file = form.querySelector("input[type=file]").files[0];
  const progress = document.getElementById("upload-progress");
  const alert = form.querySelector("[data-upload-error]");
  const fields = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string") fields.append(name, value);
  }
  const request = new XMLHttpRequest();
  request.open("POST", `${form.dataset.upload}?${fields}`);
  request.setRequestHeader("Content-Type", "application/zip");
  request.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) { progress.max = e.total; progress.value = e.loaded; }
  });
  request.addEventListener("load", () => {
    const answer = JSON.parse(request.responseText || "{}");
    if (request.status === 200 && answer.location) {
      progress.value = progress.max;
      window.location.assign(answer.location);
    } else {
      alert.textContent = answer.message || `Upload failed (${request.status}).`;
      alert.hidden = false;
    }
  });
  request.addEventListener("error", () => {
    alert.textContent = "The upload failed: the connection to the server was lost.";
    alert.hidden = false;
  });
  alert.hidden = true;
  request.send(file || new Blob([]));
});

// Monitor: keep following the function's log while the page is open.
function followLog() {
  const log = document.querySelector("pre[data-follow]");
  if (!log) return;
  setInterval(async () => {
    const answer = await fetch(`${log.dataset.follow}?from=${log.dataset.offset}`, { credentials: "same-origin" });
    if (!answer.ok) return;
    const { text, next } = await answer.json();
    if (next < Number(log.dataset.offset)) log.textContent = "";
    if (text) log.textContent += text;
    log.dataset.offset = next;
  }, 2000);
}
document.addEventListener("DOMContentLoaded", followLog);
