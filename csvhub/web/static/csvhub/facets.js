// The dataset page's facets: for the chosen columns (kept in the URL fragment, `#facets=a,b`),
// the most frequent values among the rows the explorer shows, from the facets API; clicking a
// value adds it as a filter. Counts the server could not make in time come from the summary
// kept at ingestion, and say they are approximate.
"use strict";

(() => {
  const { api, el, formatNumber, viewState } = window.csvhub;
  const panel = document.getElementById("facets");
  if (!panel || !window.csvhubExplorer) return;
  const explorer = window.csvhubExplorer;
  const url = panel.dataset.facetsUrl;
  const picker = document.getElementById("facet-column");
  const list = document.getElementById("facet-list");
  const errorBox = document.getElementById("facets-error");
  const MAX = 5; // csvhub.grammar.facets.MAX_FACET_COLUMNS
  let filters = null;
  let inFlight = null;

  const chosen = () => viewState.get("facets").split(",").filter((name) => explorer.findColumn(name));

  function choose(names) {
    viewState.set({ facets: names.join(",") });
    load();
  }

  function valueWords(value, column) {
    if (value === null) return el("span", { class: "empty-cell" }, "empty");
    return explorer.readable(value, column);
  }

  function facetBlock(facet) {
    const column = explorer.findColumn(facet.column);
    const remove = el("button", { type: "button", class: "secondary small icon facet-remove", "data-column": column.name,
      title: `Remove the ${column.label} facet`, "aria-label": `Remove the ${column.label} facet` }, "✕");
    const items = facet.values.map((item) => el("li", {},
      el("button", { type: "button", class: "facet-value", "data-column": column.name,
        "data-null": item.value === null ? "1" : "", "data-value": item.value === null ? "" : String(item.value),
        title: `Show only the rows where ${column.label} is ${item.value === null ? "empty" : String(item.value)}` },
      valueWords(item.value, column)),
      el("span", { class: "facet-count num" }, `${facet.approximate ? "≈" : ""}${formatNumber(item.count)}`)));
    const notes = [];
    if (!facet.values.length && facet.source !== "none") notes.push("No rows.");
    if (facet.more && facet.values.length) notes.push("More values exist.");
    if (facet.approximate && facet.error) notes.push(`Approximate: each count may be up to ${formatNumber(facet.error)} short.`);
    else if (facet.approximate) notes.push("Approximate.");
    if (facet.note) notes.push(facet.note);
    return el("section", { class: `facet${facet.approximate ? " facet-approximate" : ""}`, "data-column": column.name },
      el("h4", {}, column.label, remove),
      el("ul", { class: "facet-values" }, ...items),
      notes.length ? el("p", { class: "small muted facet-note" }, notes.join(" ")) : null);
  }

  async function load() {
    const names = chosen();
    for (const option of picker.options) option.disabled = names.includes(option.value);
    picker.disabled = names.length >= MAX;
    if (inFlight) inFlight.abort();
    if (!names.length || filters === null) {
      list.replaceChildren();
      errorBox.hidden = true;
      return;
    }
    inFlight = new AbortController();
    panel.setAttribute("aria-busy", "true");
    try {
      const query = `columns=${names.map(encodeURIComponent).join(",")}${filters ? `&${filters}` : ""}`;
      const data = await api(`${url}?${query}`, { signal: inFlight.signal });
      list.replaceChildren(...data.facets.map(facetBlock));
      errorBox.hidden = true;
      panel.removeAttribute("aria-busy");
    } catch (error) {
      if (error.name === "AbortError") return; // a newer request answers
      errorBox.textContent = `Facets cannot be counted: ${error.message}`;
      errorBox.hidden = false;
      panel.removeAttribute("aria-busy");
    }
  }

  picker.addEventListener("change", () => {
    const name = picker.value;
    picker.value = "";
    if (name && !chosen().includes(name)) choose([...chosen(), name]);
  });
  list.addEventListener("click", (event) => {
    const remove = event.target.closest("button.facet-remove");
    if (remove) {
      choose(chosen().filter((name) => name !== remove.dataset.column));
      picker.focus();
      return;
    }
    const value = event.target.closest("button.facet-value");
    if (!value) return;
    const isNull = value.dataset.null === "1";
    explorer.addFilter({ column: value.dataset.column, op: isNull ? "isnull" : "eq", value: isNull ? "" : value.dataset.value });
  });
  explorer.onQuery((query) => {
    if (query.filters === filters) return; // a new page of the same rows
    filters = query.filters;
    load();
  });
})();
