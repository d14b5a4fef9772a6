// The dataset page while files are still loading: their progress bars move, and when the last
// one finishes the page offers to show the new rows (a reload would lose the explorer's place).
"use strict";

(() => {
  const { api, el, formatBytes, formatNumber } = window.csvhub;
  const section = document.getElementById("uploads");
  if (!section) return;
  const active = () => [...section.querySelectorAll('tr[data-state="queued"], tr[data-state="running"]')];
  if (!active().length) return;
  const note = document.getElementById("uploads-note");
  const WORDS = { queued: "Queued", running: "Loading", succeeded: "Succeeded", failed: "Failed" };

  function show(upload) {
    const row = section.querySelector(`tr[data-upload-id="${upload.id}"]`);
    if (!row) return;
    row.dataset.state = upload.state;
    const badge = row.querySelector('[data-field="state"]');
    if (badge) {
      badge.textContent = WORDS[upload.state] || upload.state;
      badge.className = `badge badge-${upload.state}`;
    }
    const bar = row.querySelector("progress");
    if (bar) {
      bar.max = Math.max(upload.bytes_total, 1);
      bar.value = upload.bytes_read;
      if (upload.state === "succeeded" || upload.state === "failed") bar.remove();
    }
    const words = row.querySelector('[data-field="progress"]');
    if (words) {
      words.textContent = upload.state === "failed" ? upload.error
        : `${formatBytes(upload.bytes_read)} of ${formatBytes(upload.bytes_total)} · ${formatNumber(upload.rows_loaded)} rows`;
    }
    const rows = row.querySelector('[data-field="rows_loaded"]');
    if (rows) rows.textContent = formatNumber(upload.rows_loaded);
  }

  async function poll() {
    const ids = active().map((row) => row.dataset.uploadId);
    if (!ids.length) {
      note.replaceChildren("Every file has finished loading. ",
        el("a", { href: window.location.href }, "Show the new rows and columns"));
      return;
    }
    const url = new URL(section.dataset.liveUrl, window.location.href);
    ids.forEach((id) => url.searchParams.append("upload", id));
    try {
      const data = await api(url.pathname + url.search);
      data.uploads.forEach(show);
    } catch (_) { /* try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
})();
