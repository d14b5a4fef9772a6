// The dataset page's Summarize panel: count, sum, average, min or max of a column per group of
// one or two columns (the analysis API's aggregate) or per time bucket (its timeseries), over
// the explorer's filters and search. The choice lives in the URL fragment
// (`#sum=avg:amount&by=region,client` or `#sum=count&by=sold_at&per=month&order=value:desc`).
"use strict";

(() => {
  const { api, el, formatNumber, viewState } = window.csvhub;
  const section = document.getElementById("summarize");
  if (!section || !window.csvhubExplorer) return;
  const explorer = window.csvhubExplorer;
  const COLUMNS = JSON.parse(document.getElementById("dataset-columns").textContent);
  const GRAMMAR = JSON.parse(document.getElementById("query-grammar").textContent);
  const url = section.dataset.analysisUrl;
  const $ = (id) => document.getElementById(id);
  const form = $("summarize-form");
  const pick = { fn: $("sum-function"), column: $("sum-column"), by: $("sum-by"), then: $("sum-then") };
  const result = $("summarize-result");
  const status = $("summarize-status");
  const errorBox = $("summarize-error");
  const table = $("summarize-table");
  const chart = $("summarize-chart");
  const csvLink = $("summarize-csv");
  const TIMES = new Set(["date", "timestamp"]);
  const NUMERIC = new Set(["integer", "decimal"]);
  const BARS = 20;
  const LIMIT = 1000;
  const SEP = "|"; // between a time column and its bucket in the "grouped by" menu
  let filters = null;
  let inFlight = null;
  let opened = false;
  let shown = null; // { headers: [{key, label, column}], rows: [[...]], order }

  const fill = (select, options) => select.replaceChildren(...options.map(([value, words]) => el("option", { value }, words)));
  const columnOf = (name) => COLUMNS.find((c) => c.name === name);

  function fillColumns() {
    const metric = GRAMMAR.metrics.find((m) => m.name === pick.fn.value);
    const fitting = COLUMNS.filter((c) => metric.column_types.includes(c.type));
    const chosen = pick.column.value;
    const rows = pick.fn.value === "count" ? [["", "rows"]] : [];
    fill(pick.column, [...rows, ...fitting.map((c) => [c.name, c.label])]);
    if ([...pick.column.options].some((o) => o.value === chosen)) pick.column.value = chosen;
  }

  function fillGroups() {
    const groups = [];
    for (const column of COLUMNS) {
      groups.push([column.name, column.label]);
      if (!TIMES.has(column.type)) continue;
      for (const bucket of GRAMMAR.buckets.filter((b) => b.column_types.includes(column.type))) {
        groups.push([`${column.name}${SEP}${bucket.name}`, `${column.label} per ${bucket.name}`]);
      }
    }
    fill(pick.by, groups);
    fill(pick.then, [["", "nothing else"], ...COLUMNS.map((c) => [c.name, c.label])]);
  }

  /** The panel's choice, from the controls. */
  function readChoice() {
    const metric = pick.column.value ? `${pick.fn.value}:${pick.column.value}` : pick.fn.value;
    const [by, per = ""] = pick.by.value.split(SEP);
    const then = per || pick.then.value === by ? "" : pick.then.value;
    return { metric, by: then ? `${by},${then}` : by, per, order: "" };
  }

  function writeControls(choice) {
    const [fn, column = ""] = choice.metric.split(":");
    if (GRAMMAR.metrics.some((m) => m.name === fn)) pick.fn.value = fn;
    fillColumns();
    pick.column.value = column;
    const [by, then = ""] = choice.by.split(",");
    pick.by.value = choice.per ? `${by}${SEP}${choice.per}` : by;
    pick.then.value = then;
    pick.then.disabled = Boolean(choice.per);
  }

  const fromUrl = () => ({ metric: viewState.get("sum"), by: viewState.get("by"), per: viewState.get("per"), order: viewState.get("order") });

  function save(choice) {
    viewState.set({ sum: choice.metric, by: choice.by, per: choice.per, order: choice.order });
  }

  function metricLabel(metric) {
    const [fn, name] = metric.split(":");
    const words = (GRAMMAR.metrics.find((m) => m.name === fn) || { words: fn }).words;
    const column = columnOf(name);
    return `${words} ${column ? column.label : "rows"}`;
  }

  /** The kind of value a metric gives, to show it as the grid shows such values. */
  function metricColumn(metric) {
    const [fn, name] = metric.split(":");
    const column = columnOf(name);
    if (fn === "count" || !column) return { name: "", type: "integer" };
    // An average shows two digits more than its column keeps (at most 4), the same for every
    // group, so the decimal points line up: 309.4722 over 295.7500, not over 295.75.
    if (fn === "avg") return { name: "", type: "average", digits: Math.min(4, (Number.isInteger(column.scale) ? column.scale : 0) + 2) };
    return column;
  }

  function shownValue(value, column) {
    if (value === null || value === undefined) return el("span", { class: "empty-cell" }, "empty");
    if (column.type === "average") {
      return Number(value).toLocaleString("en-US", { minimumFractionDigits: column.digits, maximumFractionDigits: column.digits });
    }
    return explorer.readable(value, column);
  }

  /** The aggregate's `sort`: `value` is the metric; groups by the measure, largest first. */
  function serverSort(choice) {
    if (!choice.order) return `${choice.metric}:desc`;
    const [key, direction] = choice.order.split(":");
    return `${key === "value" ? choice.metric : key}:${direction}`;
  }

  async function run(choice) {
    if (!choice.metric || !choice.by || filters === null) return;
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    section.setAttribute("aria-busy", "true");
    const [by, then] = choice.by.split(",");
    const params = choice.per
      ? { type: "timeseries", column: by, bucket: choice.per, metric: choice.metric }
      : { type: "aggregate", group_by: choice.by, metrics: choice.metric, limit: String(LIMIT), sort: serverSort(choice) };
    try {
      const own = new URLSearchParams(params).toString();
      const data = await api(`${url}?${own}${filters ? `&${filters}` : ""}`, { signal: inFlight.signal });
      errorBox.hidden = true;
      show(choice, data, [by, then].filter(Boolean));
    } catch (error) {
      if (error.name === "AbortError") return;
      errorBox.textContent = `This summary cannot be made: ${error.message}`;
      errorBox.hidden = false;
      result.hidden = true;
    } finally {
      section.removeAttribute("aria-busy");
    }
  }

  function show(choice, data, groups) {
    const headers = groups.map((name) => ({ label: columnOf(name) ? columnOf(name).label : name, column: columnOf(name) || { type: "text" } }));
    if (choice.per) headers[0] = { label: `${headers[0].label} (per ${choice.per})`, column: headers[0].column };
    headers.push({ label: metricLabel(choice.metric), column: metricColumn(choice.metric), metric: true });
    const rows = choice.per
      ? data.points.map((p) => [p.bucket, p.value])
      : data.rows.map((row) => [...data.group_by.map((g) => row[g]), row[data.metrics[0]]]);
    shown = { headers, rows, choice };
    if (choice.per && choice.order) sortRows(choice.order);
    render();
    const groupsWord = `${formatNumber(rows.length)} group${rows.length === 1 ? "" : "s"}`;
    status.textContent = `${groupsWord}${data.truncated ? ` (the first ${formatNumber(LIMIT)} in this order)` : ""}${filters ? ", of the rows the explorer shows" : ", of all rows"}.`;
    result.hidden = false;
  }

  /** Time buckets come in time order; a header click sorts them here (groups: on the server). */
  function sortRows(order) {
    const [key, direction] = order.split(":");
    const index = key === "value" ? shown.headers.length - 1 : 0;
    const sign = direction === "desc" ? -1 : 1;
    const number = (v) => (v === null ? -Infinity : Number(v));
    shown.rows.sort((a, b) => sign * (index ? number(a[index]) - number(b[index]) : String(a[index]).localeCompare(String(b[index]))));
  }

  /** The order shown: as chosen, else time buckets in time order, groups largest first. */
  const effectiveOrder = (choice) => choice.order || (choice.per ? "group:asc" : "value:desc");

  function render() {
    const { headers, rows, choice } = shown;
    const [key, direction] = effectiveOrder(choice).split(":");
    const head = el("tr", {}, ...headers.map((header, i) => {
      const sortKey = header.metric ? "value" : (choice.per ? "group" : choice.by.split(",")[i]);
      const active = sortKey === key;
      const th = el("th", { scope: "col", class: NUMERIC.has(header.column.type) || header.metric ? "num" : "" },
        el("button", { type: "button", class: "th-sort", "data-sort": sortKey },
          header.label, el("span", { class: "sort-arrow", "aria-hidden": "true" }, active ? (direction === "desc" ? "▼" : "▲") : "")));
      if (active) th.setAttribute("aria-sort", direction === "desc" ? "descending" : "ascending");
      return th;
    }));
    table.tHead.replaceChildren(head);
    table.tBodies[0].replaceChildren(...rows.map((row) => el("tr", {}, ...row.map((value, i) => el("td",
      { class: NUMERIC.has(headers[i].column.type) || headers[i].metric ? "num" : "" }, shownValue(value, headers[i].column))))));
    drawBars();
    csvLink.href = csvUrl();
  }

  /** A bar's filled part; its width set through the CSSOM, which the page's CSP allows. */
  function barFill(share) {
    const fill = el("span", { class: "summary-bar-fill" });
    fill.style.width = `${(share * 100).toFixed(2)}%`;
    return fill;
  }

  /** Horizontal bars for the first groups in the table's order: label, bar, value. */
  function drawBars() {
    const { headers, rows } = shown;
    const last = headers.length - 1;
    const top = rows.slice(0, BARS);
    const values = top.map((row) => (row[last] === null ? 0 : Number(row[last])));
    const high = Math.max(...values.map(Math.abs), 0) || 1;
    chart.replaceChildren(el("p", { class: "small muted" }, `${headers[last].label}${rows.length > BARS ? `, the first ${BARS} groups` : ""}`),
      ...top.map((row, i) => el("div", { class: "summary-bar", title: `${row.slice(0, last).join(" · ")}: ${row[last]}` },
        el("span", { class: "summary-bar-label" }, ...row.slice(0, last).flatMap((v, j) => [j ? " · " : "", shownValue(v, headers[j].column)])),
        el("span", { class: "summary-bar-track" }, barFill(Math.abs(values[i]) / high)),
        el("span", { class: "summary-bar-value num" }, shownValue(row[last], headers[last].column)))));
    chart.setAttribute("aria-label", `Bar chart: ${headers[last].label} per ${headers.slice(0, last).map((h) => h.label).join(" and ")}`);
  }

  // Raw values, as the API gives them (exports stay exact), quoted where needed.
  const csvCell = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };

  function csvUrl() {
    const lines = [shown.headers.map((h) => csvCell(h.label)), ...shown.rows.map((row) => row.map(csvCell))];
    const text = lines.map((line) => line.join(",")).join("\r\n") + "\r\n";
    return `data:text/csv;charset=utf-8,${encodeURIComponent(text)}`;
  }

  // -- events -----------------------------------------------------------------------------------
  fill(pick.fn, GRAMMAR.metrics.map((m) => [m.name, m.words]));
  fillColumns();
  fillGroups();
  pick.fn.addEventListener("change", fillColumns);
  pick.by.addEventListener("change", () => { pick.then.disabled = pick.by.value.includes(SEP); });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const choice = readChoice();
    save(choice);
    run(choice);
  });
  table.tHead.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-sort]");
    if (!button || !shown) return;
    const key = button.dataset.sort;
    const [was, direction] = effectiveOrder(shown.choice).split(":");
    const order = `${key}:${was === key && direction === "desc" ? "asc" : "desc"}`;
    const choice = { ...shown.choice, order };
    save(choice);
    if (choice.per) {
      shown.choice = choice;
      sortRows(order);
      render();
    } else {
      run(choice);
    }
  });
  explorer.onQuery((query) => {
    if (query.filters === filters) return;
    filters = query.filters;
    // First the address's summary; later the one shown, again over the explorer's new rows
    // (the controls may hold a choice not made yet: they are left alone).
    const choice = opened ? shown && shown.choice : fromUrl();
    if (!opened && choice.metric && choice.by) writeControls(choice);
    opened = true;
    if (choice && choice.metric && choice.by) run(choice);
  });
})();
