// The files page: live progress of loading uploads, a table that refreshes itself when
// something changed (polling a cheap version marker), sorting and paging without reloads,
// and delete with a confirmation dialog.
"use strict";

(() => {
  const { api, formatBytes, formatNumber, localizeTimes } = window.csvhub;
  const box = document.getElementById("files-table");
  const note = document.getElementById("files-status");
  if (!box) return;

  const FAST = 1000; // while something loads
  const SLOW = 4000; // otherwise
  let version = box.dataset.version || null;
  let timer = null;

  // -- progress -------------------------------------------------------------------------------
  const STATE_WORDS = { queued: "Queued", running: "Loading", succeeded: "Succeeded", failed: "Failed" };

  function showProgress(upload) {
    const row = box.querySelector(`tr[data-upload-id="${upload.id}"]`);
    if (!row) return;
    const badge = row.querySelector('[data-field="state"]');
    if (badge) {
      badge.textContent = STATE_WORDS[upload.state] || upload.state;
      badge.className = `badge badge-${upload.state}`;
    }
    const bar = row.querySelector("progress");
    if (bar) {
      bar.max = Math.max(upload.bytes_total, 1);
      bar.value = upload.bytes_read;
    }
    const words = row.querySelector('[data-field="progress"]');
    if (words) {
      words.textContent = `${formatBytes(upload.bytes_read)} of ${formatBytes(upload.bytes_total)}`
        + ` · ${formatNumber(upload.rows_loaded)} rows`;
    }
    const rows = row.querySelector('[data-field="rows_loaded"]');
    if (rows) rows.textContent = formatNumber(upload.rows_loaded);
  }

  // -- refreshing the table -------------------------------------------------------------------
  async function swapTable(search) {
    const response = await fetch(`${box.dataset.tableUrl}${search}`, {
      credentials: "same-origin", headers: window.csvhub.headers("GET", { Accept: "text/html" }),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const html = await response.text();
    const focused = focusKey(document.activeElement);
    box.innerHTML = html;
    localizeTimes(box);
    restoreFocus(focused);
  }

  // Refreshing replaces the table; keep keyboard users where they were.
  function focusKey(element) {
    if (!element || !box.contains(element)) return null;
    if (element.dataset.sort) return `[data-sort="${element.dataset.sort}"]`;
    if (element.dataset.delete) return `[data-delete="${element.dataset.delete}"]`;
    const href = element.getAttribute("href");
    return href ? `a[href="${CSS.escape(href)}"]` : null;
  }

  function restoreFocus(selector) {
    if (!selector) return;
    const target = box.querySelector(selector) || box.querySelector("a, button");
    if (target) target.focus();
  }

  async function poll() {
    timer = null;
    if (document.hidden) return schedule(SLOW);
    try {
      const data = await api(box.dataset.liveUrl);
      data.uploads.forEach(showProgress);
      if (version !== null && data.version !== version) {
        await swapTable(window.location.search);
        note.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
      }
      version = data.version;
      schedule(data.uploads.length ? FAST : SLOW);
    } catch (error) {
      schedule(SLOW * 2);
    }
  }

  function schedule(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  document.addEventListener("visibilitychange", () => { if (!document.hidden) schedule(0); });

  // -- sorting and paging in place -------------------------------------------------------------
  async function navigate(url, push) {
    const target = new URL(url, window.location.href);
    try {
      await swapTable(target.search);
    } catch (error) {
      window.location.assign(target.href); // let the server answer in full
      return;
    }
    if (push) window.history.pushState({}, "", target.pathname + target.search);
    const sortInput = document.querySelector('.searchbar input[name="sort"]');
    const sort = target.searchParams.get("sort");
    if (sortInput && sort) sortInput.value = sort;
  }

  box.addEventListener("click", (event) => {
    const link = event.target.closest("a");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
    if (link.dataset.sort !== undefined || link.closest(".pager")) {
      event.preventDefault();
      navigate(link.href, true);
    } else if (link.dataset.delete) {
      event.preventDefault();
      askDelete(link);
    }
  });

  window.addEventListener("popstate", () => navigate(window.location.href, false));

  // -- delete ----------------------------------------------------------------------------------
  const dialog = document.getElementById("delete-dialog");

  function askDelete(link) {
    if (!dialog || typeof dialog.showModal !== "function") {
      window.location.assign(link.href); // the confirmation page
      return;
    }
    const form = dialog.querySelector("form");
    form.action = form.dataset.actionTemplate.replace("SLUG", encodeURIComponent(link.dataset.delete));
    dialog.querySelector("[data-name]").textContent = link.dataset.name;
    dialog.querySelector("[data-rows]").textContent = link.dataset.rows;
    form.querySelector('input[name="next"]').value = window.location.pathname + window.location.search;
    dialog.showModal();
    dialog.querySelector("[data-cancel]").focus();
    dialog.returnFocus = link;
  }

  if (dialog) {
    dialog.querySelector("[data-cancel]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      if (dialog.returnFocus && document.contains(dialog.returnFocus)) dialog.returnFocus.focus();
    });
  }

  // -- choosing several: one ZIP of the originals, or one confirmed delete -----------------------
  // The choice lives here, not in the table, which the refresh above replaces.
  const chosen = new Map(); // "dataset:slug" or "upload:id" → name
  const bar = document.getElementById("selection-bar");
  const countNote = document.getElementById("selection-count");
  const zipButton = document.getElementById("zip-selected");
  const deleteButton = document.getElementById("delete-selected");
  const manyDialog = document.getElementById("delete-many-dialog");
  const hint = countNote.textContent;
  let lastTicked = null;
  const keyOf = (boxInput) => `${boxInput.dataset.kind}:${boxInput.value}`;
  const boxes = () => [...box.querySelectorAll(".pick-box")];
  const chosenOf = (kind) => [...chosen.keys()].filter((k) => k.startsWith(`${kind}:`)).map((k) => k.slice(kind.length + 1));

  function showChoice() {
    for (const input of boxes()) input.checked = chosen.has(keyOf(input));
    const all = box.querySelector(".pick-all");
    const datasets = boxes().filter((b) => b.dataset.kind === "dataset");
    if (all) all.checked = datasets.length > 0 && datasets.every((b) => b.checked);
    const n = chosen.size;
    countNote.textContent = n ? `${formatNumber(n)} chosen: ${[...chosen.values()].join(", ")}` : hint;
    zipButton.disabled = !n;
    if (deleteButton) deleteButton.disabled = !chosenOf("dataset").length;
  }

  function tick(input, on) {
    if (on) chosen.set(keyOf(input), input.dataset.name);
    else chosen.delete(keyOf(input));
  }

  box.addEventListener("click", (event) => {
    const input = event.target.closest(".pick-box, .pick-all");
    if (!input) return;
    if (input.classList.contains("pick-all")) {
      for (const b of boxes().filter((x) => x.dataset.kind === "dataset")) tick(b, input.checked);
    } else if (event.shiftKey && lastTicked && document.contains(lastTicked)
      && lastTicked.dataset.kind === input.dataset.kind) {
      // Shift-click: every box of its kind (datasets, or files) between the last one ticked
      // and this one takes this one's state.
      const all = boxes().filter((b) => b.dataset.kind === input.dataset.kind);
      const [from, to] = [all.indexOf(lastTicked), all.indexOf(input)].sort((x, y) => x - y);
      for (const b of all.slice(from, to + 1)) tick(b, input.checked);
    } else {
      tick(input, input.checked);
    }
    if (!input.classList.contains("pick-all")) lastTicked = input;
    showChoice();
  });

  bar.addEventListener("submit", () => {
    for (const old of bar.querySelectorAll("input[data-chosen]")) old.remove();
    for (const kind of ["dataset", "upload"]) {
      for (const value of chosenOf(kind)) {
        bar.append(Object.assign(document.createElement("input"), { type: "hidden", name: kind, value }));
        bar.lastChild.dataset.chosen = "";
      }
    }
  });

  if (deleteButton && manyDialog) {
    deleteButton.addEventListener("click", () => {
      const form = manyDialog.querySelector("form");
      for (const old of form.querySelectorAll('input[name="dataset"]')) old.remove();
      const slugs = chosenOf("dataset");
      const names = slugs.map((slug) => chosen.get(`dataset:${slug}`));
      manyDialog.querySelector("[data-count]").textContent = slugs.length === 1 ? names[0] : `${slugs.length} datasets`;
      manyDialog.querySelector("[data-list]").replaceChildren(...names.map((name) => window.csvhub.el("li", {}, name)));
      manyDialog.querySelector("[data-files-note]").hidden = !chosenOf("upload").length;
      for (const slug of slugs) form.append(Object.assign(document.createElement("input"), { type: "hidden", name: "dataset", value: slug }));
      form.querySelector('input[name="next"]').value = window.location.pathname + window.location.search;
      manyDialog.showModal();
      manyDialog.querySelector("[data-cancel]").focus();
    });
    manyDialog.querySelector("[data-cancel]").addEventListener("click", () => manyDialog.close());
  }
  new MutationObserver(showChoice).observe(box, { childList: true });

  schedule(box.querySelector('tr[data-state="running"], tr[data-state="queued"]') ? FAST : 0);
})();
