// The dataset page's table explorer. The page URL's query string IS the rows API's query
// (`col=op:value`, `sort=a:desc,b`, `limit=`, `cursor=`), so a view can be bookmarked, shared,
// exported as CSV and replayed with curl unchanged.
"use strict";

(() => {
  const { api, el, formatNumber, copyText } = window.csvhub;
  const section = document.getElementById("explorer");
  if (!section) return;

  const COLUMNS = JSON.parse(document.getElementById("dataset-columns").textContent);
  // The query grammar as csvhub.grammar declares it (operators, reserved words, ...): the same
  // table the API's parser and OpenAPI schema read, so the page never keeps its own copy.
  const GRAMMAR = JSON.parse(document.getElementById("query-grammar").textContent);
  // Column names written in this page's URL, resolved by the server with the API's rules; a name
  // missing here (unknown, or matching several columns) stays as written and the API says why.
  const SPELLINGS = JSON.parse(document.getElementById("column-spellings").textContent);
  const OPERATORS = new Map(GRAMMAR.operators.map((op) => [op.name, op]));
  const NO_VALUE = new Set(GRAMMAR.operators.filter((op) => op.value === "none").map((op) => op.name));
  const LISTS = new Set(GRAMMAR.operators.filter((op) => op.value === "list").map((op) => op.name));
  const RESERVED = new Set(GRAMMAR.reserved); // each also with a leading "_"
  const PASSED = new Set(GRAMMAR.passed_through);
  // Words the analysis API reads as its own: filters on columns named so use `col__op=`, which
  // both APIs read as a filter, so the charts can reuse the explorer's filters unchanged.
  // The facets API's own words likewise.
  const ANALYSIS_WORDS = new Set([...GRAMMAR.analysis_words, ...GRAMMAR.facet_words]);
  const SUFFIX = GRAMMAR.operator_suffix;
  const END = GRAMMAR.operator_end;
  const DIRECTION_END = GRAMMAR.sort_direction_end;
  const DESCENDING = GRAMMAR.descending;
  const DEFAULT_LIMIT = GRAMMAR.default_limit;
  const MAX_OFFSET = GRAMMAR.max_offset;
  const PLACEHOLDERS = {
    integer: "e.g. 42", decimal: "e.g. 7.25", boolean: "true or false", date: "YYYY-MM-DD",
    timestamp: "YYYY-MM-DD HH:MM:SS", text: "text",
  };
  const NUMERIC = new Set(["integer", "decimal"]);
  const DASH = "\u2013";

  const rowsUrl = section.dataset.rowsUrl;
  const form = document.getElementById("query-form");
  const filterList = document.getElementById("filter-list");
  const sortList = document.getElementById("sort-list");
  const pageSize = document.getElementById("page-size");
  const searchInput = document.getElementById("row-search");
  const table = document.getElementById("rows-table");
  const summary = document.getElementById("result-summary");
  const errorBox = document.getElementById("query-error");
  const exportLink = document.getElementById("export-csv");
  const curlText = document.getElementById("curl-text");
  const buttons = {
    first: document.getElementById("first-page"),
    prev: document.getElementById("prev-page"),
    next: document.getElementById("next-page"),
    last: document.getElementById("last-page"),
  };

  // -- the query: parsed from and written to a query string --------------------------------------
  const reservedWord = (key) => {
    const bare = key.startsWith("_") ? key.slice(1) : key;
    return RESERVED.has(bare) ? bare : null;
  };
  const findColumn = (name) => COLUMNS.find((c) => c.name === name);
  // Own keys only: a column may be called `constructor` or `toString`.
  const columnName = (written) => (Object.hasOwn(SPELLINGS, written) ? SPELLINGS[written] : written);

  function parseQuery(search) {
    const query = { filters: [], sort: [], fields: [], search: "", limit: DEFAULT_LIMIT, offset: 0, cursor: "", extra: [] };
    for (const [key, value] of new URLSearchParams(search)) {
      const word = reservedWord(key);
      if (word === "sort") query.sort = parseSort(value);
      else if (word === "limit") parseLimit(query, value);
      else if (word === "offset") query.offset = Number(value) || 0;
      else if (word === "cursor") query.cursor = value;
      else if (word === GRAMMAR.search) query.search = value;
      else if (word === "fields") query.fields = value.split(",").map((f) => columnName(f.trim())).filter(Boolean);
      else if (word === "format") continue;
      else if (word || PASSED.has(key)) query.extra.push([key, value]);
      else query.filters.push(parseFilter(key, value));
    }
    return query;
  }

  // As rowquery reads it: `col[:asc|:desc]`, the direction after the last colon.
  function parseSort(value) {
    return value.split(",").map((part) => part.trim()).filter(Boolean).map((item) => {
      const at = item.lastIndexOf(DIRECTION_END);
      const direction = at < 0 ? "" : item.slice(at + DIRECTION_END.length).toLowerCase();
      const column = GRAMMAR.sort_directions.includes(direction) ? item.slice(0, at) : item;
      return { column: columnName(column.trim()), desc: direction === DESCENDING };
    });
  }

  function parseLimit(query, value) {
    const parts = value.split(",").map((n) => Number(n.trim()));
    if (parts.length === 2) [query.offset, query.limit] = parts;
    else query.limit = parts[0] || DEFAULT_LIMIT;
  }

  /** The operator a value starts with (`gt` of `gt:7`), or null: `GT:7` and `12:30` have none. */
  function leadingOperator(value) {
    const end = value.indexOf(END);
    return end >= 0 && OPERATORS.has(value.slice(0, end)) ? value.slice(0, end) : null;
  }

  // As rowquery reads it: `col__op=value`, then `col=op:value` (operators are lowercase), else
  // equality with the whole value.
  function parseFilter(key, value) {
    const split = key.lastIndexOf(SUFFIX);
    const suffix = key.slice(split + SUFFIX.length);
    if (split > 0 && OPERATORS.has(suffix)) {
      return { column: columnName(key.slice(0, split)), op: suffix, value };
    }
    const op = leadingOperator(value);
    if (op) return { column: columnName(key), op, value: value.slice(op.length + END.length) };
    // `col=` asks for empty cells, as in the API; say so in the form.
    if (value === "") return { column: columnName(key), op: "isnull", value: "" };
    return { column: columnName(key), op: "eq", value };
  }

  // Readable URLs: keep `:` and `,` as they are; `'` escaped so the curl line can quote it.
  const encode = (text) => encodeURIComponent(text)
    .replace(/%3A/gi, ":").replace(/%2C/gi, ",").replace(/'/g, "%27");

  function filterPair({ column, op, value }) {
    const shadowed = reservedWord(column) || PASSED.has(column) || ANALYSIS_WORDS.has(column)
      || column.includes(SUFFIX);
    const shown = NO_VALUE.has(op) ? "" : value;
    if (shadowed) return [`${column}${SUFFIX}${op}`, shown];
    // Equality is written bare unless the value starts with an operator (`eq:gt:5`).
    if (op === "eq" && !leadingOperator(shown)) return [column, shown];
    return [column, `${op}${END}${shown}`];
  }

  /** The query string for the API, without paging when `paging` is false (exports, charts). */
  function queryString(query, { paging = true } = {}) {
    const pairs = query.filters.map(filterPair);
    if (query.sort.length) {
      pairs.push(["sort", query.sort.map((s) => (s.desc ? `${s.column}${DIRECTION_END}${DESCENDING}` : s.column)).join(",")]);
    }
    if (query.search) pairs.push([GRAMMAR.search, query.search]);
    if (query.fields.length) pairs.push(["fields", query.fields.join(",")]);
    if (paging) {
      if (query.offset && !query.cursor) pairs.push(["limit", `${query.offset},${query.limit}`]);
      else if (query.limit !== DEFAULT_LIMIT) pairs.push(["limit", String(query.limit)]);
      if (query.cursor) pairs.push(["cursor", query.cursor]);
    }
    pairs.push(...query.extra);
    return pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&");
  }

  // -- the form ---------------------------------------------------------------------------------
  let uid = 0;
  const nextId = (stem) => `${stem}-${++uid}`;

  function columnSelect(selected, labelText) {
    const id = nextId("col");
    const select = el("select", { id, class: "pick-column" });
    if (selected && !findColumn(selected)) select.append(el("option", { value: selected }, `${selected} (as written)`));
    for (const column of COLUMNS) {
      const option = el("option", { value: column.name }, column.label);
      if (column.name === selected) option.selected = true;
      select.append(option);
    }
    return [el("label", { for: id, class: "visually-hidden" }, labelText), select];
  }

  /** The operators that apply to a column's type, in the grammar's order, described. */
  function fillOperators(opPick, columnType, chosen) {
    const options = GRAMMAR.operators.filter((op) => op.column_types.includes(columnType))
      .map((op) => el("option", { value: op.name, title: op.description }, op.words));
    opPick.replaceChildren(...options);
    opPick.value = options.some((o) => o.value === chosen) ? chosen : options[0].value;
  }

  function placeholder(op, column) {
    if (LISTS.has(op)) return "a,b,c";
    if (OPERATORS.get(op).on_text) return PLACEHOLDERS.text;
    return PLACEHOLDERS[column ? column.type : "text"];
  }

  // Dates and timestamps get the browser's date picker; the API's form has a space where the
  // picker's has a "T", so values are converted on their way in and out.
  const PICKERS = { date: "date", timestamp: "datetime-local" };

  function inputType(op, column) {
    if (!column || LISTS.has(op) || NO_VALUE.has(op) || OPERATORS.get(op).on_text) return "text";
    return PICKERS[column.type] || "text";
  }

  const readValue = (input) => (input.type === "datetime-local" ? input.value.replace("T", " ") : input.value);

  function writeValue(input, text) {
    const local = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00` : text.replace(" ", "T");
    input.value = input.type === "datetime-local" ? local : text;
    if (text && !input.value) { // the picker cannot show it (`2024-13`): the text as written
      input.type = "text";
      input.value = text;
    }
  }

  function setInputType(input, type) {
    if (input.type === type) return;
    const text = readValue(input);
    input.type = type;
    if (type === "datetime-local") input.step = "1";
    writeValue(input, text);
  }

  function addFilterRow(filter = { column: COLUMNS[0].name, op: "eq", value: "" }) {
    const [columnLabel, columnPick] = columnSelect(filter.column, "Column to filter");
    const opId = nextId("op");
    const opPick = el("select", { id: opId, class: "pick-op" });
    const valueId = nextId("value");
    const value = el("input", { id: valueId, class: "filter-value", type: "text", autocomplete: "off" });
    value.value = filter.value;
    const valueLabel = el("label", { for: valueId, class: "visually-hidden" }, "Value");
    const remove = el("button", { type: "button", class: "secondary small icon", title: "Remove this filter" },
      el("span", { "aria-hidden": "true" }, "✕"), el("span", { class: "visually-hidden" }, "Remove this filter"));
    const row = el("li", { class: "builder-row filter-row" },
      columnLabel, columnPick, el("label", { for: opId, class: "visually-hidden" }, "Operator"), opPick,
      valueLabel, value, remove);
    const typeOf = () => (findColumn(columnPick.value) || { type: "text" }).type;
    const sync = () => {
      value.hidden = NO_VALUE.has(opPick.value);
      setInputType(value, inputType(opPick.value, findColumn(columnPick.value)));
      value.placeholder = placeholder(opPick.value, findColumn(columnPick.value));
    };
    fillOperators(opPick, typeOf(), filter.op);
    columnPick.addEventListener("change", () => { fillOperators(opPick, typeOf(), opPick.value); sync(); });
    opPick.addEventListener("change", sync);
    remove.addEventListener("click", () => { row.remove(); form.requestSubmit(); });
    sync();
    filterList.append(row);
    return value;
  }

  function addSortRow(key = { column: COLUMNS[0].name, desc: false }) {
    const [columnLabel, columnPick] = columnSelect(key.column, "Column to sort by");
    const dirId = nextId("dir");
    const direction = el("select", { id: dirId, class: "pick-direction" },
      el("option", { value: "asc" }, "ascending (A→Z, 0→9, old→new)"),
      el("option", { value: "desc" }, "descending (Z→A, 9→0, new→old)"));
    direction.value = key.desc ? "desc" : "asc";
    const remove = el("button", { type: "button", class: "secondary small icon", title: "Remove this sort key" },
      el("span", { "aria-hidden": "true" }, "✕"), el("span", { class: "visually-hidden" }, "Remove this sort key"));
    const row = el("li", { class: "builder-row sort-row" }, columnLabel, columnPick,
      el("label", { for: dirId, class: "visually-hidden" }, "Direction"), direction, remove);
    remove.addEventListener("click", () => { row.remove(); form.requestSubmit(); });
    sortList.append(row);
    return columnPick;
  }

  function fillForm(query) {
    filterList.replaceChildren();
    sortList.replaceChildren();
    query.filters.forEach((filter) => addFilterRow(filter));
    query.sort.forEach((key) => addSortRow(key));
    if (![...pageSize.options].some((o) => Number(o.value) === query.limit)) {
      pageSize.append(el("option", {}, String(query.limit)));
    }
    pageSize.value = String(query.limit);
    searchInput.value = query.search;
  }

  function readForm() {
    const query = parseQuery(""); // empty, then filled from the controls
    query.extra = current.extra;
    query.fields = current.fields;
    query.search = searchInput.value.trim();
    query.limit = Number(pageSize.value) || DEFAULT_LIMIT;
    for (const row of filterList.children) {
      const op = row.querySelector(".pick-op").value;
      const value = readValue(row.querySelector(".filter-value"));
      if (!value && !NO_VALUE.has(op)) continue; // a row not filled in yet
      query.filters.push({ column: row.querySelector(".pick-column").value, op, value });
    }
    for (const row of sortList.children) {
      const column = row.querySelector(".pick-column").value;
      if (query.sort.some((s) => s.column === column)) continue;
      query.sort.push({ column, desc: row.querySelector(".pick-direction").value === "desc" });
    }
    return query;
  }

  // -- running a query ----------------------------------------------------------------------------
  let current = parseQuery(window.location.search);
  let start = (window.history.state && window.history.state.start) || current.offset || 0;
  let page = null;
  let inFlight = null;
  let announced = null; // the detail of the last csvhub:query (see onQuery)

  function go(query, { push = true, startAt = 0 } = {}) {
    current = query;
    start = startAt;
    const search = queryString(query);
    const url = `${window.location.pathname}${search ? `?${search}` : ""}${window.location.hash}`;
    if (push) window.history.pushState({ start }, "", url);
    else window.history.replaceState({ start }, "", url);
    return load();
  }

  async function load() {
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    announced = null; // stale now: a panel that starts during this load waits for its end
    const search = queryString(current);
    updateLinks();
    summary.textContent = "Loading rows…";
    section.setAttribute("aria-busy", "true");
    try {
      page = await api(`${rowsUrl}?${search}`, { signal: inFlight.signal });
      errorBox.hidden = true;
      render(page);
    } catch (error) {
      if (error.name === "AbortError") return;
      errorBox.textContent = `This query cannot run: ${error.message}`;
      errorBox.hidden = false;
      summary.textContent = "No rows shown.";
      table.tBodies[0].replaceChildren();
      setPaging(null);
    } finally {
      section.removeAttribute("aria-busy");
    }
    announced = { filters: filterString() };
    document.dispatchEvent(new CustomEvent("csvhub:query", { detail: announced }));
  }

  /** Calls `handler` with the detail of each query the explorer runs, starting with the last
   * one already run: a panel whose script arrives after the first rows (static files served
   * slowly) would otherwise wait for filters until the next query, and do nothing when used. */
  function onQuery(handler) {
    document.addEventListener("csvhub:query", (event) => handler(event.detail));
    if (announced) handler(announced);
  }

  /** Filters and the search (and the organization) only, as a query string: what the charts,
   * facets and summaries reuse (the analysis and facets APIs read `q=` as the rows API does). */
  function filterString() {
    const extra = current.extra.filter(([key]) => PASSED.has(key));
    return queryString({ ...current, sort: [], fields: [], extra }, { paging: false });
  }

  /** One more filter (a facet's value clicked), from the first page. */
  function addFilter(filter) {
    const same = (f) => f.column === filter.column && f.op === filter.op && f.value === filter.value;
    if (current.filters.some(same)) return;
    const query = { ...current, filters: [...current.filters, filter], cursor: "", offset: 0 };
    fillForm(query);
    go(query);
  }

  function updateLinks() {
    const everything = queryString(current, { paging: false });
    // Spreadsheet-safe: a cell like `=HYPERLINK(...)` opens as text, not as a formula.
    exportLink.href = `${rowsUrl}?${everything}${everything ? "&" : ""}format=csv&safe=spreadsheet`;
    const absolute = new URL(`${rowsUrl}?${queryString(current)}`, window.location.href).href;
    curlText.textContent = `curl -H "Authorization: Bearer $CSVHUB_TOKEN" '${absolute.replace(/'/g, "%27")}'`;
  }

  // -- rendering ----------------------------------------------------------------------------------
  // Values as people read them, in the grid only: the API and exports keep the raw values.
  const grouping = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

  /** 1234567.5 (scale 2) → "1,234,567.50": on the text, so a decimal stays exact. */
  function readableNumber(value, column) {
    const text = String(value);
    const negative = text.startsWith("-");
    let [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
    const scale = (findColumn(column.name) || {}).scale;
    if (column.type === "decimal" && Number.isInteger(scale)) fraction = fraction.slice(0, scale).padEnd(scale, "0");
    return `${negative ? "-" : ""}${grouping(whole)}${fraction ? `.${fraction}` : ""}`;
  }

  /** One form for dates and times everywhere: `2024-01-05`, `2024-01-05 10:00:00` (UTC). */
  const readableTime = (value) => String(value).replace("T", " ").replace(/(\+00:00|Z)$/, "");

  function readable(value, column) {
    if (NUMERIC.has(column.type)) return readableNumber(value, column);
    if (column.type === "timestamp" || column.type === "date") return readableTime(value);
    return String(value);
  }

  function render(result) {
    renderHead(result.columns);
    const body = result.rows.map((row, index) => el("tr", { "data-index": index },
      el("td", { class: "row-open" }, el("button", {
        type: "button", class: "row-button", "data-index": index, title: "Show all fields of this row",
        "aria-label": `Row ${formatNumber(start + index + 1)}: show all its fields`,
      }, formatNumber(start + index + 1))),
      ...result.columns.map((column) => cell(row[column.name], column))));
    table.tBodies[0].replaceChildren(...body);
    if (!result.rows.length) {
      table.tBodies[0].append(el("tr", {}, el("td", { colspan: result.columns.length + 1, class: "empty" },
        current.filters.length || current.search ? "No rows match this search and these filters." : "This dataset has no rows yet.")));
    }
    summary.textContent = describe(result);
    setPaging(result);
    if (window.location.hash === ROW_HASH && result.rows.length === 1) showRow(0);
  }

  /** "Rows 2,001–3,000 of 50,000" (of "more than 10,000 matching" when the count stops). */
  function describe(result) {
    const n = result.rows.length;
    const filtered = current.filters.length > 0 || Boolean(current.search);
    let total = "";
    if (result.count !== null && result.count !== undefined) {
      const matching = filtered ? " matching" : "";
      total = result.count_capped ? `more than ${formatNumber(result.count)}${matching}`
        : `${formatNumber(result.count)}${matching}`;
    }
    if (!n) return total ? `No rows shown of ${total}.` : "No rows.";
    const range = `Rows ${formatNumber(start + 1)}${DASH}${formatNumber(start + n)}`;
    return total ? `${range} of ${total}.` : `${range}.`;
  }

  function cell(value, column) {
    if (value === null || value === undefined) return el("td", { class: "null" }, el("span", { class: "empty-cell" }, "empty"));
    const text = readable(value, column);
    return el("td", { class: NUMERIC.has(column.type) ? "num" : "", title: text.length > 40 ? text : null }, text);
  }

  function typeHint(column) {
    return column.type === "timestamp" ? "timestamp, UTC" : column.type;
  }

  function renderHead(columns) {
    const row = el("tr", {}, el("th", { scope: "col", class: "row-open" }, el("span", { class: "th-plain" }, "#")));
    for (const column of columns) {
      const position = current.sort.findIndex((s) => s.column === column.name);
      const key = current.sort[position];
      const th = el("th", { scope: "col", class: NUMERIC.has(column.type) ? "num" : "" });
      if (position === 0) th.setAttribute("aria-sort", key.desc ? "descending" : "ascending");
      const marker = key ? `${key.desc ? "▼" : "▲"}${current.sort.length > 1 ? position + 1 : ""}` : "";
      const about = findColumn(column.name) || {};
      const button = el("button", { type: "button", class: "th-sort", "data-column": column.name, title: about.description || null },
        column.label, about.unit ? el("span", { class: "unit" }, `(${about.unit})`) : null,
        el("span", { class: "type-hint" }, typeHint(column)),
        el("span", { class: "sort-arrow", "aria-hidden": "true" }, marker),
        el("span", { class: "visually-hidden" }, key ? `, sorted ${key.desc ? "descending" : "ascending"}` : ", sort"));
      th.append(button);
      row.append(th);
    }
    table.tHead.replaceChildren(row);
  }

  /** The offset of the last page when the count is known and within the offset cap, else null. */
  function lastOffset(result) {
    if (!result || result.count === null || result.count === undefined || result.count_capped) return null;
    const offset = Math.max(Math.floor((result.count - 1) / current.limit) * current.limit, 0);
    return offset <= MAX_OFFSET ? offset : null;
  }

  function setPaging(result) {
    const next = result && result.next;
    const previous = result && result.previous;
    buttons.next.disabled = !next;
    buttons.prev.disabled = !previous;
    buttons.first.disabled = !(current.cursor || current.offset || start);
    buttons.next.dataset.url = next || "";
    buttons.prev.dataset.url = previous || "";
    const last = lastOffset(result);
    buttons.last.disabled = last === null || !next;
    buttons.last.dataset.offset = last === null ? "" : String(last);
    buttons.last.title = last === null && next ? "The number of matching rows is not known exactly; sort the other way to see the last ones." : "";
    jumpInput.max = result && result.count && !result.count_capped ? String(result.count) : "";
  }

  function cursorPage(url, step) {
    const cursor = new URL(url, window.location.href).searchParams.get("cursor");
    const shown = page ? page.rows.length : 0;
    const startAt = step > 0 ? start + shown : Math.max(start - current.limit, 0);
    go({ ...current, cursor: cursor || "", offset: 0 }, { startAt });
  }

  /** Rows from `offset` on, by offset (the API's documented cap allows any real table). */
  function offsetPage(offset) {
    go({ ...current, cursor: "", offset }, { startAt: offset });
  }

  // -- one row, all its fields --------------------------------------------------------------------
  const ROW_HASH = "#row";
  const rowDialog = document.getElementById("row-dialog");
  const rowFields = document.getElementById("row-fields");
  const rowLink = document.getElementById("row-permalink");

  /** A link to the row: this view's filters and sort, one row from its position, opened. */
  function rowPermalink(position) {
    const search = queryString({ ...current, cursor: "", offset: position, limit: 1 });
    return `${window.location.pathname}?${search}${ROW_HASH}`;
  }

  function showRow(index) {
    const row = page.rows[index];
    const position = start + index;
    document.getElementById("row-title").textContent = `Row ${formatNumber(position + 1)}`;
    rowFields.replaceChildren(...page.columns.flatMap((column) => {
      const value = row[column.name];
      const shown = value === null || value === undefined
        ? el("span", { class: "empty-cell" }, "empty") : readable(value, column);
      return [el("dt", {}, column.label, " ", el("span", { class: "type-hint" }, typeHint(column))),
        el("dd", { class: NUMERIC.has(column.type) ? "num" : "" }, shown)];
    }));
    rowLink.href = rowPermalink(position);
    if (!rowDialog.open) rowDialog.showModal();
  }

  document.getElementById("row-close").addEventListener("click", () => rowDialog.close());
  rowDialog.addEventListener("close", () => {
    if (window.location.hash === ROW_HASH) window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  });
  table.tBodies[0].addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-index]");
    if (!tr || (window.getSelection && String(window.getSelection()))) return; // selecting text is not opening
    showRow(Number(tr.dataset.index));
  });

  // -- choosing and ordering the columns shown (fields=) ------------------------------------------
  const fieldsDialog = document.getElementById("fields-dialog");
  const fieldsList = document.getElementById("fields-list");

  function fieldItem(column, checked) {
    const id = nextId("field");
    const move = (delta, words) => el("button", {
      type: "button", class: "secondary small icon", "data-move": delta, title: `Move ${column.label} ${words}`,
      "aria-label": `Move ${column.label} ${words}`,
    }, delta < 0 ? "↑" : "↓");
    const box = el("input", { type: "checkbox", id, value: column.name });
    box.checked = checked;
    return el("li", { class: "field-item" }, box, el("label", { for: id }, column.label), move(-1, "up"), move(1, "down"));
  }

  function openFields() {
    const chosen = current.fields.filter((name) => findColumn(name));
    const rest = COLUMNS.filter((c) => !chosen.includes(c.name));
    const items = [...chosen.map((name) => fieldItem(findColumn(name), true)),
      ...rest.map((c) => fieldItem(c, !chosen.length))];
    fieldsList.replaceChildren(...items);
    fieldsDialog.showModal();
  }

  fieldsList.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-move]");
    if (!button) return;
    const item = button.closest("li");
    if (Number(button.dataset.move) < 0 && item.previousElementSibling) item.previousElementSibling.before(item);
    if (Number(button.dataset.move) > 0 && item.nextElementSibling) item.nextElementSibling.after(item);
    button.focus();
  });
  document.getElementById("choose-fields").addEventListener("click", openFields);
  document.getElementById("fields-cancel").addEventListener("click", () => fieldsDialog.close());
  document.getElementById("fields-all").addEventListener("click", () => {
    fieldsDialog.close();
    go({ ...current, fields: [], cursor: "", offset: 0 });
  });
  document.getElementById("fields-form").addEventListener("submit", () => {
    const names = [...fieldsList.querySelectorAll("input:checked")].map((box) => box.value);
    // Every column in the table's own order is the default view: no fields= to share.
    const all = names.length === COLUMNS.length && names.every((name, i) => name === COLUMNS[i].name);
    go({ ...current, fields: all || !names.length ? [] : names, cursor: "", offset: 0 });
  });

  // -- jumping: the last page, a row number --------------------------------------------------------
  const jumpInput = document.getElementById("jump-row");
  buttons.last.addEventListener("click", () => offsetPage(Number(buttons.last.dataset.offset)));
  document.getElementById("jump-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const row = Math.floor(Number(jumpInput.value));
    if (!(row >= 1) || row - 1 > MAX_OFFSET) return;
    offsetPage(row - 1);
  });

  // -- events -----------------------------------------------------------------------------------
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(readForm());
  });
  document.getElementById("add-filter").addEventListener("click", () => addFilterRow().focus());
  document.getElementById("add-sort").addEventListener("click", () => addSortRow().focus());
  document.getElementById("reset-query").addEventListener("click", () => {
    const query = parseQuery("");
    query.extra = current.extra;
    fillForm(query);
    go(query);
  });
  buttons.next.addEventListener("click", () => cursorPage(buttons.next.dataset.url, 1));
  buttons.prev.addEventListener("click", () => cursorPage(buttons.prev.dataset.url, -1));
  buttons.first.addEventListener("click", () => go({ ...current, cursor: "", offset: 0 }));

  // Clicking a header sorts by it (again: reverses; a third time: removes); Shift adds it as
  // one more sort key.
  table.tHead.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-column]");
    if (!button) return;
    const name = button.dataset.column;
    const existing = current.sort.find((s) => s.column === name);
    let sort;
    if (event.shiftKey) {
      sort = existing ? current.sort.map((s) => (s.column === name ? { ...s, desc: !s.desc } : s))
        : [...current.sort, { column: name, desc: false }];
    } else if (existing && current.sort[0].column === name) {
      sort = existing.desc ? [] : [{ column: name, desc: true }];
    } else {
      sort = [{ column: name, desc: false }];
    }
    const query = { ...current, sort, cursor: "", offset: 0 };
    fillForm(query);
    go(query).then(() => {
      const again = table.tHead.querySelector(`button[data-column="${CSS.escape(name)}"]`);
      if (again) again.focus();
    });
  });

  const curlBox = document.getElementById("curl-box");
  const curlToggle = document.getElementById("show-curl");
  curlToggle.addEventListener("click", () => {
    curlBox.hidden = !curlBox.hidden;
    curlToggle.setAttribute("aria-expanded", String(!curlBox.hidden));
  });
  document.getElementById("copy-curl").addEventListener("click", async () => {
    const copied = await copyText(curlText.textContent);
    document.getElementById("copy-done").textContent = copied ? "Copied." : "Select the text and copy it.";
  });

  window.addEventListener("popstate", (event) => {
    current = parseQuery(window.location.search);
    start = (event.state && event.state.start) || current.offset || 0;
    fillForm(current);
    load();
  });

  window.csvhubExplorer = { filterString, addFilter, findColumn, readable, onQuery };
  fillForm(current);
  window.history.replaceState({ start }, "", window.location.href);
  load();
})();
