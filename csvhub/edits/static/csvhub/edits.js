// The dataset page's "Edit matching rows" panel: an action on the rows the explorer's filters
// select (the page URL's query string is the rows API's query), previewed, confirmed, followed
// while it runs; the edit history with Undo.
"use strict";

(() => {
  const { api, el, formatTime, formatNumber } = window.csvhub;
  const panel = document.getElementById("edits");
  if (!panel) return;
  const apiUrl = panel.dataset.apiUrl;
  const COLUMNS = JSON.parse(document.getElementById("dataset-columns").textContent);
  const GRAMMAR = JSON.parse(document.getElementById("query-grammar").textContent);
  // Query words that do not select rows (sort, pages, fields, format...): left out of the edit.
  const NOT_FILTERS = new Set(GRAMMAR.reserved.filter((word) => word !== GRAMMAR.search));
  const form = document.getElementById("edit-form");
  const actionPick = document.getElementById("edit-action");
  const columnPick = document.getElementById("edit-column");
  const valueInput = document.getElementById("edit-value");
  const valueLabel = document.getElementById("edit-value-label");
  const toInput = document.getElementById("edit-to");
  const roundInput = document.getElementById("edit-round");
  const errorBox = document.getElementById("edit-error");
  const previewBox = document.getElementById("edit-preview-box");
  const countLine = document.getElementById("edit-count");
  const samples = document.querySelector("#edit-samples tbody");
  const confirmButton = document.getElementById("edit-confirm");
  const progress = document.getElementById("edit-progress");
  const history = document.querySelector("#edit-history tbody");
  const selectionText = document.getElementById("edit-selection");
  const NEEDS = {
    set: ["column", "value"], null: ["column"], multiply: ["column", "value", "round"],
    add: ["column", "value"], replace: ["column", "value", "to"], upper: ["column"],
    lower: ["column"], trim: ["column"], delete: [],
  };
  const TYPES = {
    multiply: ["integer", "decimal"], add: ["integer", "decimal"], replace: ["text"],
    upper: ["text"], lower: ["text"], trim: ["text"],
  };
  let pending = null; // the body previewed, sent on confirm with its count

  /** The explorer's filters and search, as a rows query string (from the page URL). */
  function selection() {
    const params = new URLSearchParams(window.location.search);
    const kept = [...params].filter(([key]) => {
      const bare = key.startsWith("_") ? key.slice(1) : key;
      return !NOT_FILTERS.has(bare) && !GRAMMAR.passed_through.includes(key);
    });
    return new URLSearchParams(kept).toString();
  }

  /** The selection as people read it (`id=lte:2 & q=north`), not URL-encoded. */
  function selectionWords() {
    const words = [...new URLSearchParams(selection())].map(([key, value]) => `${key}=${value}`);
    return words.join(" & ") || "all rows";
  }

  function fillColumns() {
    const allowed = TYPES[actionPick.value];
    const chosen = columnPick.value;
    columnPick.replaceChildren(...COLUMNS.filter((c) => !allowed || allowed.includes(c.type)).map(
      (c) => el("option", { value: c.name }, `${c.label || c.name} (${c.type})`)));
    if ([...columnPick.options].some((o) => o.value === chosen)) columnPick.value = chosen;
  }

  function showFields() {
    const needs = NEEDS[actionPick.value];
    for (const field of form.querySelectorAll("[data-needs]")) {
      field.hidden = !needs.includes(field.dataset.needs);
    }
    valueLabel.textContent = { multiply: "Factor", add: "Amount", replace: "Text to replace" }[
      actionPick.value] || "New value";
    fillColumns();
    cancel();
  }

  function change() {
    const action = actionPick.value;
    const value = valueInput.value;
    if (action === "set") return value;
    if (action === "null") return null;
    if (action === "multiply") {
      const expression = { multiply: value };
      if (roundInput.value !== "") expression.round = Number(roundInput.value);
      return expression;
    }
    if (action === "add") return { add: value };
    if (action === "replace") return { replace: { from: value, to: toInput.value } };
    return { [action]: true };
  }

  function body() {
    const action = actionPick.value === "delete"
      ? { delete: true } : { set: { [columnPick.value]: change() } };
    return { filter: selection(), action };
  }

  function showError(error) {
    errorBox.textContent = error ? error.message : "";
    errorBox.hidden = !error;
  }

  function cancel() {
    pending = null;
    previewBox.hidden = true;
  }

  async function preview(event) {
    event.preventDefault();
    showError(null);
    const asked = body();
    try {
      const found = await api(`${apiUrl}preview`, { method: "POST", body: asked });
      pending = { ...asked, expected_count: found.count };
      countLine.textContent = found.count === 1 ? "1 row would change." : `${formatNumber(found.count)} rows would change.`;
      samples.replaceChildren(...found.samples.map((sample) => el("tr", {},
        el("td", {}, String(sample.row_id)),
        el("td", {}, describe(sample.before)),
        el("td", {}, asked.action.delete ? "deleted" : describe(sample.after)))));
      confirmButton.textContent = asked.action.delete
        ? `Delete ${formatNumber(found.count)} rows` : `Apply to ${formatNumber(found.count)} rows`;
      confirmButton.disabled = found.count === 0;
      previewBox.hidden = false;
    } catch (error) {
      cancel();
      showError(error);
    }
  }

  const describe = (cells) => Object.entries(cells)
    .map(([name, value]) => `${name}: ${value === null ? "(empty)" : value}`).join(", ");

  async function apply() {
    if (!pending) return;
    const sent = pending;
    cancel();
    showError(null);
    progress.textContent = "Applying the edit…";
    try {
      const edit = await api(apiUrl, { method: "POST", body: sent });
      await follow(edit);
    } catch (error) {
      progress.textContent = "";
      showError(error);
    }
  }

  /** Follow an edit (or undo) until it finishes, then show the page's new rows and counts. */
  async function follow(edit) {
    let current = edit;
    while (current.state === "queued" || current.state === "running") {
      progress.textContent = `Editing: ${formatNumber(current.rows_done)} rows so far…`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      current = await api(current.url);
    }
    if (current.state === "failed") throw new Error(current.error);
    const what = current.kind === "undo" ? "Undone" : "Done";
    const conflicts = current.conflicts
      ? ` ${formatNumber(current.conflicts)} rows changed since were left alone.` : "";
    progress.textContent = `${what}: ${formatNumber(current.rows_affected)} rows.${conflicts}`;
    sessionStorage.setItem("csvhub-edit-done", progress.textContent);
    window.location.reload(); // the explorer, the counts and the column summaries, all fresh
  }

  function historyRow(edit) {
    const actions = el("td", { class: "actions" });
    if (edit.undoable) {
      const undo = el("button", { type: "button", class: "secondary small",
        "aria-label": `Undo edit ${edit.id}` }, "Undo");
      undo.addEventListener("click", async () => {
        showError(null);
        try {
          await follow(await api(`${edit.url}undo`, { method: "POST" }));
        } catch (error) {
          showError(error);
        }
      });
      actions.append(undo);
    }
    const what = edit.kind === "undo" ? `undo of #${edit.undoes}`
      : edit.kind === "delete" ? "delete" : `set ${edit.columns.join(", ")}`;
    const state = edit.undone_by ? "undone" : edit.state;
    return el("tr", { "data-edit": String(edit.id) },
      el("td", { "data-label": "When" }, formatTime(edit.created_at)),
      el("td", { "data-label": "Who" }, edit.created_by || "—"),
      el("td", { class: "card-title" }, `#${edit.id} ${what}`),
      el("td", { "data-label": "Rows" }, el("code", {}, edit.row_ids ? `upload rows ${edit.row_ids.join("–")}`
        : edit.filter || "all rows")),
      el("td", { class: "num", "data-label": "Rows changed" }, formatNumber(edit.rows_affected)),
      el("td", { title: edit.error, "data-label": "State" }, state),
      actions);
  }

  async function loadHistory() {
    try {
      const edits = await api(apiUrl);
      history.replaceChildren(...(edits.length ? edits.map(historyRow)
        : [el("tr", {}, el("td", { colspan: "7", class: "empty" }, "No edits yet."))]));
    } catch (error) {
      showError(error);
    }
  }

  actionPick.addEventListener("change", showFields);
  form.addEventListener("submit", preview);
  form.addEventListener("input", cancel);
  confirmButton.addEventListener("click", apply);
  document.getElementById("edit-cancel").addEventListener("click", cancel);
  document.addEventListener("csvhub:query", () => {
    selectionText.textContent = selectionWords();
    cancel();
  });
  const done = sessionStorage.getItem("csvhub-edit-done");
  if (done) {
    progress.textContent = done;
    sessionStorage.removeItem("csvhub-edit-done");
  }
  selectionText.textContent = selectionWords();
  showFields();
  loadHistory();
})();
