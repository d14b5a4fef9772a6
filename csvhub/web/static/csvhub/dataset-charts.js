// The dataset page's chart controls: choose columns and a measure, ask the analysis API
// (optionally with the explorer's filters), draw with csvhubCharts.
"use strict";

(() => {
  const { api, el, formatNumber } = window.csvhub;
  const { timeSeries, timeSeriesSplit, histogram } = window.csvhubCharts;
  const section = document.getElementById("charts");
  if (!section) return;
  const COLUMNS = JSON.parse(document.getElementById("dataset-columns").textContent);
  // The analysis grammar's metrics and buckets, as csvhub.grammar declares them.
  const GRAMMAR = JSON.parse(document.getElementById("query-grammar").textContent);
  const url = section.dataset.analysisUrl;
  // Measures first, identifiers last: an amount makes a better default chart than an id.
  const looksLikeId = (c) => /(^|_)(id|key|code|no|number)$/i.test(c.name);
  const rank = (c) => (looksLikeId(c) ? 2 : 0) + (c.type === "decimal" ? 0 : 1);
  const numbers = COLUMNS.filter((c) => c.type === "integer" || c.type === "decimal")
    .map((c, i) => [rank(c), i, c]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, , c]) => c);
  const times = COLUMNS.filter((c) => c.type === "date" || c.type === "timestamp");
  const $ = (id) => document.getElementById(id);
  const ts = { time: $("ts-time"), metric: $("ts-metric"), bucket: $("ts-bucket"), split: $("ts-split"), filtered: $("ts-filtered"), chart: $("timeseries-chart"), note: $("timeseries-note") };
  const hist = { column: $("hist-column"), bins: $("hist-bins"), filtered: $("hist-filtered"), chart: $("histogram-chart"), note: $("histogram-note") };
  let filters = "";

  const METRICS = new Map(GRAMMAR.metrics.map((m) => [m.name, m]));
  // At most a point per 2 pixels of chart: 180 days drawn on a phone's 300 pixels were spikes.
  const maxAutoPoints = () => Math.max(24, Math.min(366, Math.floor((ts.chart.clientWidth || 1100) / 2)));

  function fill(select, options) {
    select.replaceChildren(...options.map(([value, words]) => el("option", { value }, words)));
  }

  const parseTime = (column, text) => Date.parse(`${String(text).replace(" ", "T")}${column.type === "timestamp" ? "Z" : ""}`);

  /** The finest bucket that keeps the column's whole span under maxAutoPoints() points. */
  function autoBucket(column) {
    const span = (parseTime(column, column.max) - parseTime(column, column.min)) / 1000;
    const allowed = GRAMMAR.buckets.filter((b) => b.column_types.includes(column.type));
    if (!Number.isFinite(span)) return allowed[0].name;
    const most = maxAutoPoints();
    const found = allowed.find((b) => span / b.seconds <= most);
    return (found || allowed[allowed.length - 1]).name;
  }

  /** The start of the bucket after the one starting at `t` (ms, UTC). */
  function bucketEnd(t, bucket) {
    if (bucket === "month") {
      const d = new Date(t);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
    return t + GRAMMAR.buckets.find((b) => b.name === bucket).seconds * 1000;
  }

  /** Whether the column's first and last values (kept at ingestion) fall inside the first and
   * last buckets rather than filling them: a month that starts on the 28th is not a low month. */
  function partialEnds(column, bucket, points) {
    const min = parseTime(column, column.min);
    const max = parseTime(column, column.max);
    if (!points.length || !Number.isFinite(min) || !Number.isFinite(max)) return {};
    const last = points[points.length - 1].t;
    const grain = column.type === "date" ? 86400e3 : 1000; // a date's last day fills its day
    return { first: min > points[0].t, last: max + grain < bucketEnd(last, bucket) };
  }

  function metricWords(metric) {
    const [fn, name] = metric.split(":");
    const column = COLUMNS.find((c) => c.name === name);
    return `${METRICS.get(fn).words} ${column ? column.label : name || "rows"}`;
  }

  function query(params, useFilters) {
    const own = new URLSearchParams(params).toString();
    return `${url}?${own}${useFilters && filters ? `&${filters}` : ""}`;
  }

  // A chart's request in flight: a newer choice aborts it, so a slow weekly answer can never be
  // drawn under the "month" the reader has chosen since (the explorer does the same).
  const inFlight = new Map();

  function fresh(chart) {
    if (inFlight.has(chart)) inFlight.get(chart).abort();
    const controller = new AbortController();
    inFlight.set(chart, controller);
    return controller.signal;
  }

  function problem(box, note, message) {
    box.replaceChildren(el("p", { class: "chart-empty muted" }, message));
    note.textContent = "";
  }

  // Where alarms of this dataset fired (csvhub.alarms): markers on the time-series chart.
  async function alarmMarkers() {
    const panel = document.getElementById("alarms");
    if (!panel) return [];
    try {
      const page = await api(`${panel.dataset.eventsUrl.replace(/limit=\d+/, "limit=200")}&state=firing`);
      return page.results.map((e) => ({ t: Date.parse(e.at), title: `Alarm ${e.rule_name}${e.group ? ` (${e.group})` : ""} fired: ${e.value}` }));
    } catch {
      return []; // the chart stands without its markers
    }
  }

  async function drawTimeSeries() {
    const column = COLUMNS.find((c) => c.name === ts.time.value);
    if (!column) return;
    const bucket = ts.bucket.value === "auto" ? autoBucket(column) : ts.bucket.value;
    const metric = ts.metric.value;
    const signal = fresh(ts.chart);
    ts.chart.setAttribute("aria-busy", "true");
    if (ts.split.value) return drawSplit(column, bucket, metric, signal);
    try {
      const data = await api(query({ type: "timeseries", column: column.name, bucket, metric }, ts.filtered.checked), { signal });
      const points = data.points.map((p) => ({
        t: Date.parse(column.type === "date" ? `${p.bucket}T00:00:00Z` : p.bucket),
        v: p.value === null ? null : Number(p.value),
      }));
      if (!points.length) return problem(ts.chart, ts.note, "No rows to chart.");
      const label = `${metricWords(metric)} per ${bucket} of ${column.label}`;
      const partial = partialEnds(column, bucket, points);
      const markers = await alarmMarkers();
      timeSeries(ts.chart, points, {
        bucket, label, partial, markers, yTitle: metricWords(metric), xTitle: `${column.label} (UTC), per ${bucket}`,
      });
      ts.chart.setAttribute("aria-label", `${label}, ${points.length} points`);
      ts.note.textContent = `${formatNumber(points.length)} ${bucket}${points.length === 1 ? "" : "s"}`
        + `${ts.filtered.checked && filters ? ", filtered like the explorer" : ", all rows"}. Hover a point for its value.`;
    } catch (error) {
      if (error.name === "AbortError") return; // a newer request draws this chart
      problem(ts.chart, ts.note, error.status === 404 ? "Charts are not available on this server." : error.message);
    } finally {
      if (!signal.aborted) ts.chart.removeAttribute("aria-busy");
    }
  }

  // -- split by a category: one line per value (the 10 commonest), and "other" ---------------
  // One request: the server picks the values and buckets every line in one scan.
  const parsePoints = (column, points) => points.map((p) => ({
    t: Date.parse(column.type === "date" ? `${p.bucket}T00:00:00Z` : p.bucket),
    v: p.value === null ? null : Number(p.value),
  }));

  const lineName = (line) => (line.other ? "other" : line.value === null ? "empty" : String(line.value));

  async function drawSplit(column, bucket, metric, signal) {
    const split = COLUMNS.find((c) => c.name === ts.split.value);
    const useFilters = ts.filtered.checked;
    try {
      const params = { type: "timeseries", column: column.name, bucket, metric, split: split.name };
      const data = await api(query(params, useFilters), { signal });
      const series = data.series.map((line) => ({ name: lineName(line), points: parsePoints(column, line.points) }));
      const values = data.series.filter((line) => !line.other).length;
      const other = data.series.some((line) => line.other);
      const drawn = series.filter((s) => s.points.length);
      if (!drawn.length) return problem(ts.chart, ts.note, "No rows to chart.");
      const label = `${metricWords(metric)} per ${bucket} of ${column.label}, one line per ${split.label}`;
      timeSeriesSplit(ts.chart, drawn, { bucket, label, yTitle: metricWords(metric), xTitle: `${column.label} (UTC), per ${bucket}` });
      ts.chart.setAttribute("aria-label", `${label}: ${drawn.map((s) => s.name).join(", ")}`);
      ts.note.textContent = `${drawn.length} lines: the ${values} commonest values of ${split.label}`
        + `${other ? ' and "other" (every other value)' : ""}. Hover a point for its value.`;
    } catch (error) {
      if (error.name === "AbortError") return;
      problem(ts.chart, ts.note, error.message);
    } finally {
      if (!signal.aborted) ts.chart.removeAttribute("aria-busy");
    }
  }

  async function drawHistogram() {
    const column = COLUMNS.find((c) => c.name === hist.column.value);
    if (!column) return;
    const signal = fresh(hist.chart);
    hist.chart.setAttribute("aria-busy", "true");
    try {
      const data = await api(query({ type: "histogram", column: column.name, bins: hist.bins.value }, hist.filtered.checked), { signal });
      if (!data.bins.length) return problem(hist.chart, hist.note, "No values to chart.");
      const bins = data.bins.map((b) => ({ lower: Number(b.lower), upper: Number(b.upper), count: b.count }));
      const label = `How many rows have each value of ${column.label}`;
      histogram(hist.chart, bins, { label, xTitle: column.label, integer: column.type === "integer" });
      const total = bins.reduce((sum, b) => sum + b.count, 0);
      const several = (n, word) => `${formatNumber(n)} ${word}${n === 1 ? "" : "s"}`;
      hist.note.textContent = `${several(total, "value")} in ${several(bins.length, "bar")}`
        + `${data.nulls ? `; ${several(data.nulls, "empty cell")} not shown` : ""}.`
        + " Hover a bar for its range and count.";
    } catch (error) {
      if (error.name === "AbortError") return;
      problem(hist.chart, hist.note, error.status === 404 ? "Charts are not available on this server." : error.message);
    } finally {
      if (!signal.aborted) hist.chart.removeAttribute("aria-busy");
    }
  }

  /** Only the buckets the chosen column supports: no "minute" on a date column. */
  function fillBuckets() {
    const column = COLUMNS.find((c) => c.name === ts.time.value);
    const chosen = ts.bucket.value;
    const allowed = GRAMMAR.buckets.filter((b) => !column || b.column_types.includes(column.type));
    fill(ts.bucket, [["auto", "automatic"], ...allowed.map((b) => [b.name, b.name])]);
    ts.bucket.value = [...ts.bucket.options].some((o) => o.value === chosen) ? chosen : "auto";
  }

  // -- set up ---------------------------------------------------------------------------------
  if (times.length) {
    fill(ts.time, times.map((c) => [c.name, c.label]));
    const metrics = [["count", metricWords("count")]];
    const measures = GRAMMAR.metrics.filter((m) => m.name !== "count");
    for (const c of numbers) {
      for (const m of measures.filter((f) => f.column_types.includes(c.type))) {
        metrics.push([`${m.name}:${c.name}`, metricWords(`${m.name}:${c.name}`)]);
      }
    }
    fill(ts.metric, metrics);
    fillBuckets();
    // The number of rows per bucket means something for every dataset; a sum rarely does.
    ts.metric.value = "count";
    ts.time.addEventListener("change", fillBuckets);
    // Categories to split by: text and true/false columns (numbers and times have too many).
    const categories = COLUMNS.filter((c) => c.type === "text" || c.type === "boolean");
    ts.split.append(...categories.map((c) => el("option", { value: c.name }, c.label)));
    ts.split.closest(".field").hidden = !categories.length;
    for (const control of [ts.time, ts.metric, ts.bucket, ts.split, ts.filtered]) control.addEventListener("change", drawTimeSeries);
  } else {
    $("timeseries-form").hidden = true;
    problem(ts.chart, ts.note, "This dataset has no date or time column to chart over.");
  }
  if (numbers.length) {
    fill(hist.column, numbers.map((c) => [c.name, c.label]));
    for (const control of [hist.column, hist.bins, hist.filtered]) control.addEventListener("change", drawHistogram);
  } else {
    $("histogram-form").hidden = true;
    problem(hist.chart, hist.note, "This dataset has no number column to chart.");
  }

  function redraw() {
    if (times.length) drawTimeSeries();
    if (numbers.length) drawHistogram();
  }

  let first = true;
  document.addEventListener("csvhub:query", (event) => {
    if (!first && event.detail.filters === filters) return; // a new page, same rows
    first = false;
    filters = event.detail.filters;
    redraw();
  });

  let width = section.clientWidth;
  let resizeTimer = null;
  new ResizeObserver(() => {
    if (Math.abs(section.clientWidth - width) < 20) return;
    width = section.clientWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redraw, 150);
  }).observe(section);
})();
