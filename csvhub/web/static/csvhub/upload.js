// The upload page: drop or pick files, send each with its own request (so each has its own
// progress bar and its own error), then follow its ingestion until it succeeds or fails.
"use strict";

(() => {
  const { headers, errorText, formatBytes, formatNumber, el } = window.csvhub;
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const done = document.getElementById("upload-done");
  const template = document.getElementById("upload-item");
  const appendSelect = document.getElementById("append-dataset");
  const maxBytes = Number(form.dataset.maxBytes);
  const SENDING_AT_ONCE = 2;
  const POLL_MS = 1000;

  const waiting = []; // items not sent yet
  const watched = new Map(); // upload id -> item, while ingesting
  const items = [];
  let sending = 0;
  let pollTimer = null;

  // -- the choice of target ---------------------------------------------------------------------
  function target() {
    const choice = form.querySelector('input[name="destination"]:checked');
    return choice && ["append", "replace"].includes(choice.value) ? appendSelect.value : "";
  }

  /** "replace" when the file's rows are to become the dataset's contents (swapped atomically). */
  function mode() {
    const choice = form.querySelector('input[name="destination"]:checked');
    return choice && choice.value === "replace" ? "replace" : "";
  }

  function syncTarget() {
    const appending = Boolean(target())
      || form.querySelector('input[value="append"]:checked, input[value="replace"]:checked');
    form.querySelector(".append-to").classList.toggle("inactive", !appending);
  }
  form.addEventListener("change", syncTarget);
  appendSelect.addEventListener("focus", () => {
    const append = form.querySelector('input[value="append"]');
    const replacing = form.querySelector('input[value="replace"]:checked');
    if (!append.disabled && !replacing) append.checked = true;
    syncTarget();
  });
  syncTarget();
  form.addEventListener("submit", (event) => event.preventDefault());

  /** The reading-rule fields filled in (csvhub.cleaning): sent with each file. */
  function readingRules() {
    const rules = [];
    document.querySelectorAll("#reading-rules [name]").forEach((field) => {
      if (field.type === "checkbox") {
        if (field.checked) rules.push([field.name, field.value]);
      } else if (field.value.trim()) {
        rules.push([field.name, field.value]);
      }
    });
    return rules;
  }

  // -- one list item per file ----------------------------------------------------------------
  function makeItem(file, dataset) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.querySelector(".upload-name").textContent = file.name;
    node.querySelector(".upload-size").textContent = formatBytes(file.size);
    list.append(node);
    const item = { file, dataset, node, state: "waiting", id: null };
    setStatus(item, "waiting", dataset ? `Waiting to send (append to ${dataset})…` : "Waiting to send…");
    items.push(item);
    return item;
  }

  function setStatus(item, state, words, fraction) {
    item.state = state;
    item.node.dataset.state = state;
    item.node.querySelector(".upload-status").textContent = words;
    // Two phases, two bars: sending fills the first; once the file is sent it stays full and
    // loading fills the second, so no bar ever jumps back to 0.
    const loading = LOADING_STATES.has(state);
    const phases = { sending: item.node.querySelector('[data-phase="sending"]'), loading: item.node.querySelector('[data-phase="loading"]') };
    phases.sending.toggleAttribute("data-done", loading);
    phases.sending.toggleAttribute("data-active", state === "sending");
    phases.loading.toggleAttribute("data-active", state === "queued" || state === "running");
    phases.loading.toggleAttribute("data-done", state === "succeeded");
    if (loading) phases.sending.querySelector("progress").value = 100;
    if (fraction === undefined) return;
    const bar = phases[loading ? "loading" : "sending"].querySelector("progress");
    bar.value = Math.round(Math.min(Math.max(fraction, 0), 1) * 100);
  }

  const LOADING_STATES = new Set(["queued", "running", "succeeded"]);

  function fail(item, message) {
    setStatus(item, "failed", "Failed");
    const error = item.node.querySelector(".upload-error");
    error.textContent = message;
    error.hidden = false;
    finishedCheck();
  }

  // -- sending --------------------------------------------------------------------------------
  function addFiles(files) {
    const dataset = target();
    for (const file of files) {
      const item = makeItem(file, dataset);
      item.mode = mode();
      if (file.size > maxBytes) {
        fail(item, `This file is ${formatBytes(file.size)}; the largest file csvhub accepts is `
          + `${form.dataset.maxSize}. Compress it as .csv.gz or split it into smaller files.`);
      } else {
        waiting.push(item);
      }
    }
    done.textContent = "";
    pump();
  }

  function pump() {
    while (sending < SENDING_AT_ONCE && waiting.length) {
      sending += 1;
      send(waiting.shift());
    }
  }

  function httpErrorText(status, body, item) {
    // Over an organization's upload quota (csvhub.lifecycle): the server's message names it.
    if (status === 413 && body && typeof body.detail === "string" && body.detail.includes("quota")) {
      return body.detail;
    }
    if (status === 413) {
      return `This file is too large (${formatBytes(item.file.size)}); the largest file csvhub `
        + `accepts is ${form.dataset.maxSize}. Compress it as .csv.gz or split it into smaller files.`;
    }
    if (status === 403) {
      return "Your role lets you look at data but not upload it. Ask an admin of this "
        + "organization for the editor role.";
    }
    if (status === 404 && item.dataset) {
      return `The dataset “${item.dataset}” no longer exists. Choose another one, or upload `
        + "the file as a new dataset.";
    }
    return errorText(status, body);
  }

  function send(item) {
    const data = new FormData();
    data.append("file", item.file, item.file.name);
    if (item.dataset) data.append("dataset", item.dataset);
    if (item.mode) data.append("mode", item.mode);
    readingRules().forEach(([name, value]) => data.append(name, value));
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.apiUrl);
    for (const [name, value] of Object.entries(headers("POST"))) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const share = event.loaded / event.total;
      setStatus(item, "sending", `Sending… ${Math.floor(share * 100)}% of ${formatBytes(item.file.size)}`, share);
    });
    request.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch (_) { body = null; }
      if (request.status === 202 && Array.isArray(body) && body.length) {
        accepted(item, body[0]);
      } else {
        fail(item, httpErrorText(request.status, body, item));
      }
    });
    request.addEventListener("error", () => fail(item,
      "The upload was interrupted before the file was fully sent. Check your connection and try again."));
    request.addEventListener("abort", () => fail(item, "The upload was cancelled."));
    request.addEventListener("loadend", () => { sending -= 1; pump(); });
    setStatus(item, "sending", "Sending…", 0);
    request.send(data);
  }

  // -- following ingestion ------------------------------------------------------------------------
  function accepted(item, upload) {
    item.id = upload.id;
    item.dataset = upload.dataset;
    item.node.dataset.uploadId = upload.id;
    setStatus(item, "queued", "Sent. Waiting to load the rows…", 0);
    watched.set(upload.id, item);
    if (!pollTimer) pollTimer = setTimeout(poll, 300);
  }

  async function poll() {
    pollTimer = null;
    if (!watched.size) return;
    const url = new URL(form.dataset.liveUrl, window.location.href);
    for (const id of watched.keys()) url.searchParams.append("upload", id);
    try {
      const data = await window.csvhub.api(url.pathname + url.search);
      data.uploads.forEach(showUpload);
    } catch (_) { /* try again on the next tick */ }
    if (watched.size) pollTimer = setTimeout(poll, POLL_MS);
  }

  function datasetLink(upload, words) {
    return el("a", { href: form.dataset.datasetUrl.replace("SLUG", encodeURIComponent(upload.dataset)) }, words);
  }

  function showUpload(upload) {
    const item = watched.get(upload.id);
    if (!item) return;
    if (upload.state === "queued") {
      setStatus(item, "queued", "Sent. Waiting to load the rows…", 0);
    } else if (upload.state === "running") {
      const share = upload.bytes_total ? upload.bytes_read / upload.bytes_total : 0;
      setStatus(item, "running", `Loading rows… ${Math.floor(share * 100)}% read, `
        + `${formatNumber(upload.rows_loaded)} rows so far`, share);
    } else if (upload.state === "succeeded") {
      watched.delete(upload.id);
      succeeded(item, upload);
    } else if (upload.state === "failed") {
      watched.delete(upload.id);
      fail(item, upload.error || "The file could not be loaded.");
      if (upload.rows_rejected) item.node.append(rejectsNote(upload));
    }
  }

  function rejectsNote(upload) {
    const href = form.dataset.rejectsUrl.replace("00000000-0000-0000-0000-000000000000", upload.id);
    return el("p", { class: "small" },
      el("a", { href }, `See the ${formatNumber(upload.rows_rejected)} rejected rows`));
  }

  function succeeded(item, upload) {
    setStatus(item, "succeeded", "", 1);
    const status = item.node.querySelector(".upload-status");
    status.textContent = "";
    status.append(
      el("strong", { class: "ok" }, "Succeeded"),
      `: ${formatNumber(upload.rows_loaded)} rows loaded into `,
      datasetLink(upload, upload.dataset_name),
      ".",
    );
    if (upload.rows_rejected) {
      status.append(" ", `${formatNumber(upload.rows_rejected)} rows could not be read and were left out. `);
      item.node.append(rejectsNote(upload));
    }
    // Widened columns and what reading assumed, said plainly (csvhub.cleaning).
    for (const text of [...(upload.type_changes || []), ...(upload.reading_notes || [])]) {
      item.node.append(el("p", { class: "small upload-note" }, text));
    }
    finishedCheck();
  }

  function finishedCheck() {
    if (items.some((item) => !["succeeded", "failed"].includes(item.state))) return;
    const failed = items.filter((item) => item.state === "failed").length;
    done.textContent = doneWords(items.length, failed);
    done.append(" ", el("a", { href: "/" }, "Go to your files"));
  }

  /** What a batch came to, in words a person would use: "Both files loaded.", not "All 2". */
  function doneWords(total, failed) {
    const reasons = failed === 1 ? "see the reason above" : "see the reasons above";
    if (total === 1) return failed ? `The file did not load (${reasons}).` : "The file loaded.";
    if (!failed) return total === 2 ? "Both files loaded." : `All ${total} files loaded.`;
    if (failed === total) {
      return total === 2 ? `Neither file loaded (${reasons}).` : `None of the ${total} files loaded (${reasons}).`;
    }
    return `${total - failed} of ${total} files loaded; ${failed} did not (${reasons}).`;
  }

  // -- picking and dropping ---------------------------------------------------------------------
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });

  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.remove("dragging");
    });
  }
  dropzone.addEventListener("drop", (event) => {
    const files = [...(event.dataTransfer ? event.dataTransfer.files : [])];
    if (files.length) addFiles(files);
  });
  // A file dropped beside the zone would open in the browser and leave the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  window.addEventListener("beforeunload", (event) => {
    if (items.some((item) => item.state === "sending" || item.state === "waiting")) {
      event.preventDefault();
    }
  });
})();
