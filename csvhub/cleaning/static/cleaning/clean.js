// The Clean page: clusters of a column, page by page; accept (with the canonical value as
// edited) or reject each, through the cleaning API.
"use strict";

(() => {
  const { api, el, formatNumber } = window.csvhub;
  const form = document.getElementById("clean-form");
  if (!form) return;
  const list = document.getElementById("clusters");
  const status = document.getElementById("clean-status");
  const template = document.getElementById("cluster-item");
  const previous = document.getElementById("clusters-previous");
  const next = document.getElementById("clusters-next");
  const pageLabel = document.getElementById("clusters-page");
  const PAGE = 10;
  let offset = 0;

  function base() {
    const column = document.getElementById("clean-column").value;
    return form.dataset.apiBase.replace("COLUMN", encodeURIComponent(column));
  }

  async function load() {
    const method = document.getElementById("clean-method").value;
    status.textContent = "Looking for clusters…";
    list.textContent = "";
    try {
      const page = await api(`${base()}?method=${method}&offset=${offset}&limit=${PAGE}`);
      show(page);
    } catch (error) {
      status.textContent = error.message;
    }
  }

  function show(page) {
    const partial = page.complete ? "" : " (only the most frequent values were read)";
    status.textContent = page.count
      ? `${formatNumber(page.count)} clusters among ${formatNumber(page.distinct_values)} values${partial}.`
      : `No clusters among ${formatNumber(page.distinct_values)} values${partial}.`;
    page.clusters.forEach((cluster) => list.append(item(cluster)));
    previous.hidden = offset === 0;
    next.hidden = offset + PAGE >= page.count;
    pageLabel.textContent = page.count > PAGE
      ? `Page ${Math.floor(offset / PAGE) + 1} of ${Math.ceil(page.count / PAGE)}` : "";
  }

  function item(cluster) {
    const node = template.content.firstElementChild.cloneNode(true);
    const body = node.querySelector("tbody");
    cluster.values.forEach((v) => body.append(
      el("tr", {}, el("td", {}, el("code", { class: "cell-text" }, v.value)), el("td", { class: "num" }, formatNumber(v.count))),
    ));
    const canonical = node.querySelector(".cluster-canonical");
    canonical.value = cluster.canonical;
    const values = cluster.values.map((v) => v.value);
    const result = node.querySelector(".cluster-result");
    const buttons = node.querySelectorAll("button");
    async function decide(action, body, words) {
      buttons.forEach((button) => { button.disabled = true; });
      try {
        const answer = await api(`${base()}${action}`, { method: "POST", body });
        result.textContent = words(answer);
        node.dataset.decided = action;
      } catch (error) {
        result.textContent = error.message;
        buttons.forEach((button) => { button.disabled = false; });
      }
    }
    node.querySelector(".cluster-accept").addEventListener("click", () => decide(
      "accept", { values, canonical: canonical.value },
      (answer) => `Added to the recipe (version ${answer.recipe_version}). `
        + (answer.stored_rows.applied
          ? `${formatNumber(answer.stored_rows.rows_changed)} stored rows changed.`
          : answer.stored_rows.message),
    ));
    node.querySelector(".cluster-reject").addEventListener("click", () => decide(
      "reject", { values }, () => "Not suggested again.",
    ));
    return node;
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); offset = 0; load(); });
  previous.addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load(); });
  next.addEventListener("click", () => { offset += PAGE; load(); });
  load();
})();
