// Charts of the dataset page, drawn as SVG by hand: a time series (a metric per time bucket)
// and a histogram (counts per bin), from the analysis API, which aggregates on the server so
// the browser only ever sees a few hundred points however big the table is.
"use strict";

window.csvhubCharts = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const HEIGHT = 260;
  const MARGIN = { top: 14, right: 16, bottom: 52, left: 64 };

  function svg(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- numbers ------------------------------------------------------------------------------------
  /** About `count` round tick values covering [low, high]: steps of 1, 2 or 5 × 10^n. */
  function niceTicks(low, high, count = 5) {
    if (!(high > low)) return [low];
    const raw = (high - low) / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const ticks = [];
    for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) {
      ticks.push(Number(v.toPrecision(12)));
    }
    return ticks;
  }

  /** 1234 → "1.2k", 2500000 → "2.5M", 0.125 → "0.125": short labels that stay exact enough. */
  function shortNumber(value) {
    const size = Math.abs(value);
    const units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
    for (const [limit, unit] of units) {
      if (size >= limit) return `${Number((value / limit).toPrecision(3))}${unit}`;
    }
    return String(Number(value.toPrecision(4)));
  }

  // -- time ---------------------------------------------------------------------------------------
  const MINUTE = 60e3;
  const HOUR = 60 * MINUTE;
  const DAY = 24 * HOUR;
  const TIME_STEPS = [
    [MINUTE, "minute"], [5 * MINUTE, "minute"], [15 * MINUTE, "minute"], [30 * MINUTE, "minute"],
    [HOUR, "hour"], [3 * HOUR, "hour"], [6 * HOUR, "hour"], [12 * HOUR, "hour"],
    [DAY, "day"], [2 * DAY, "day"], [7 * DAY, "week"], [14 * DAY, "week"],
    [30 * DAY, "month"], [91 * DAY, "month"], [182 * DAY, "month"], [365 * DAY, "year"],
  ];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  /** Round UTC instants between low and high (ms), about `count` of them, with their unit. */
  function timeTicks(low, high, count = 5) {
    const span = high - low;
    const [step, unit] = TIME_STEPS.find(([s]) => span / s <= count) || [span / count, "year"];
    const ticks = [];
    if (unit === "month" || unit === "year") {
      const months = unit === "year" ? 12 * Math.max(1, Math.round(step / (365 * DAY))) : Math.round(step / (30 * DAY));
      const start = new Date(low);
      let d = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1));
      if (unit === "year") d = new Date(Date.UTC(start.getUTCFullYear(), 0, 1));
      while (d.getTime() <= high) {
        if (d.getTime() >= low) ticks.push(d.getTime());
        d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
      }
    } else {
      const base = unit === "week" ? 4 * DAY : 0; // 1970-01-05 was a Monday
      for (let t = Math.ceil((low - base) / step) * step + base; t <= high; t += step) ticks.push(t);
    }
    return { ticks, unit };
  }

  function timeLabel(ms, unit) {
    const d = new Date(ms);
    const month = MONTHS[d.getUTCMonth()];
    const hhmm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
    if (unit === "year") return String(d.getUTCFullYear());
    if (unit === "month") return `${month} ${d.getUTCFullYear()}`;
    if (unit === "day" || unit === "week") return `${month} ${d.getUTCDate()}`;
    return hhmm === "00:00" ? `${month} ${d.getUTCDate()}` : hhmm;
  }

  function fullTime(ms, bucket) {
    const iso = new Date(ms).toISOString();
    if (["day", "week", "month"].includes(bucket)) return iso.slice(0, 10);
    return `${iso.slice(0, 16).replace("T", " ")} UTC`;
  }

  // -- frame --------------------------------------------------------------------------------------
  function frame(container, { xTitle, yTitle, label }) {
    const width = Math.max(container.clientWidth || 0, 300);
    const root = svg("svg", { viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT, role: "img", "aria-label": label });
    root.append(svg("title", {}, label));
    const inner = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: HEIGHT - MARGIN.top - MARGIN.bottom };
    root.append(svg("text", { class: "axis-title", x: inner.x + inner.w / 2, y: HEIGHT - 6, "text-anchor": "middle" }, xTitle));
    root.append(svg("text", {
      class: "axis-title", transform: `translate(13 ${inner.y + inner.h / 2}) rotate(-90)`, "text-anchor": "middle",
    }, yTitle));
    container.replaceChildren(root);
    return { root, inner };
  }

  function yAxis(root, inner, low, high) {
    // The axis runs from round number to round number, so the highest value is never above
    // the highest labelled line.
    const round = niceTicks(low, high);
    const step = round.length > 1 ? round[1] - round[0] : Math.abs(high) || 1;
    const ticks = [];
    for (let i = Math.floor(low / step); i <= Math.ceil(high / step); i += 1) {
      ticks.push(Number((i * step).toPrecision(12)));
    }
    const top = ticks[ticks.length - 1];
    const bottom = ticks[0];
    const y = (v) => inner.y + inner.h - ((v - bottom) / (top - bottom || 1)) * inner.h;
    const grid = svg("g", { class: "grid" });
    const axis = svg("g", { class: "axis" });
    for (const tick of ticks) {
      grid.append(svg("line", { x1: inner.x, x2: inner.x + inner.w, y1: y(tick), y2: y(tick) }));
      axis.append(svg("text", { x: inner.x - 6, y: y(tick) + 4, "text-anchor": "end" }, shortNumber(tick)));
    }
    axis.append(svg("line", { x1: inner.x, x2: inner.x, y1: inner.y, y2: inner.y + inner.h }));
    root.append(grid, axis);
    return y;
  }

  function xAxisLine(root, inner) {
    const axis = svg("g", { class: "axis" });
    axis.append(svg("line", { x1: inner.x, x2: inner.x + inner.w, y1: inner.y + inner.h, y2: inner.y + inner.h }));
    root.append(axis);
    return axis;
  }

  // -- time series --------------------------------------------------------------------------------
  /** points: [{t: ms, v: number|null}] in time order; `partial` says whether the first and the
   * last bucket hold only part of their time (the data starts or ends inside them). */
  function timeSeries(container, points, { xTitle, yTitle, bucket, label, partial = {}, markers = [] }) {
    const { root, inner } = frame(container, { xTitle, yTitle, label });
    const values = points.map((p) => p.v).filter((v) => v !== null);
    const low = Math.min(0, ...values);
    const high = Math.max(...values, low + 1);
    const y = yAxis(root, inner, low, high);
    const first = points[0].t;
    const last = points[points.length - 1].t;
    const x = (t) => inner.x + (last === first ? inner.w / 2 : ((t - first) / (last - first)) * inner.w);
    const axis = xAxisLine(root, inner);
    const { ticks, unit } = timeTicks(first, last, Math.max(2, Math.floor(inner.w / 90)));
    for (const tick of ticks) {
      axis.append(svg("line", { x1: x(tick), x2: x(tick), y1: inner.y + inner.h, y2: inner.y + inner.h + 4 }));
      axis.append(svg("text", { x: x(tick), y: inner.y + inner.h + 17, "text-anchor": "middle" }, timeLabel(tick, unit)));
    }
    // A line per run of known values: a bucket with no value (null) leaves a gap.
    let run = [];
    const runs = [];
    for (const point of points) {
      if (point.v === null) { if (run.length) runs.push(run); run = []; } else run.push(point);
    }
    if (run.length) runs.push(run);
    for (const part of runs) {
      const d = part.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join("");
      if (part.length > 1) {
        const base = y(Math.max(low, 0));
        root.append(svg("path", { class: "area", d: `${d}L${x(part[part.length - 1].t).toFixed(1)},${base}L${x(part[0].t).toFixed(1)},${base}Z` }));
      }
      root.append(svg("path", { class: "line", d }));
    }
    markPartial(root, inner, points, x, partial);
    markAlarms(root, inner, markers.filter((m) => m.t >= first && m.t <= last), x);
    // Points show where the pointer is (a line reads better than a cloud of dots); each keeps
    // its value as a tooltip.
    const dots = svg("g", { class: "dots" });
    const radius = points.length > 120 ? 2.5 : 4;
    points.forEach((point, i) => {
      if (point.v === null) return;
      const edge = (i === 0 && partial.first) || (i === points.length - 1 && partial.last);
      const dot = svg("circle", { class: edge ? "dot dot-partial" : "dot", cx: x(point.t), cy: y(point.v), r: radius });
      // Partial: the data starts or ends inside this bucket, so its value covers part of it.
      const note = edge ? " (partial)" : "";
      dot.append(svg("title", {}, `${fullTime(point.t, bucket)}${note}: ${point.v.toLocaleString("en-US")}`));
      dots.append(dot);
    });
    root.append(dots);
  }

  /** A dashed vertical line where an alarm fired, its words as a tooltip (markers: [{t, title}]). */
  function markAlarms(root, inner, markers, x) {
    const group = svg("g", { class: "alarm-markers" });
    for (const marker of markers) {
      const line = svg("line", { class: "alarm-marker", x1: x(marker.t), x2: x(marker.t), y1: inner.y, y2: inner.y + inner.h });
      line.append(svg("title", {}, marker.title));
      group.append(line);
    }
    root.append(group);
  }

  /** One line per series ([{name, points}], points as for timeSeries), each in its own colour,
   * with a legend below the chart; points show their series, time and value on hover. */
  function timeSeriesSplit(container, series, { xTitle, yTitle, bucket, label }) {
    const { root, inner } = frame(container, { xTitle, yTitle, label });
    const all = series.flatMap((s) => s.points);
    const values = all.map((p) => p.v).filter((v) => v !== null);
    const low = Math.min(0, ...values);
    const high = Math.max(...values, low + 1);
    const y = yAxis(root, inner, low, high);
    const first = Math.min(...all.map((p) => p.t));
    const last = Math.max(...all.map((p) => p.t));
    const x = (t) => inner.x + (last === first ? inner.w / 2 : ((t - first) / (last - first)) * inner.w);
    const axis = xAxisLine(root, inner);
    const { ticks, unit } = timeTicks(first, last, Math.max(2, Math.floor(inner.w / 90)));
    for (const tick of ticks) {
      axis.append(svg("line", { x1: x(tick), x2: x(tick), y1: inner.y + inner.h, y2: inner.y + inner.h + 4 }));
      axis.append(svg("text", { x: x(tick), y: inner.y + inner.h + 17, "text-anchor": "middle" }, timeLabel(tick, unit)));
    }
    const legend = document.createElement("ul");
    legend.className = "legend";
    series.forEach((one, i) => {
      const colour = `series-${i % 11}`;
      const d = one.points.filter((p) => p.v !== null)
        .map((p, j) => `${j ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join("");
      if (d) root.append(svg("path", { class: `line ${colour}`, d }));
      const dots = svg("g", { class: "dots" });
      for (const point of one.points) {
        if (point.v === null) continue;
        const dot = svg("circle", { class: `dot ${colour}`, cx: x(point.t), cy: y(point.v), r: 3.5 });
        dot.append(svg("title", {}, `${one.name}, ${fullTime(point.t, bucket)}: ${point.v.toLocaleString("en-US")}`));
        dots.append(dot);
      }
      root.append(dots);
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = `swatch ${colour}`;
      swatch.setAttribute("aria-hidden", "true");
      item.append(swatch, one.name);
      legend.append(item);
    });
    container.append(legend);
  }

  /** A shaded band and the word "partial" over a first or last bucket that is incomplete. */
  function markPartial(root, inner, points, x, partial) {
    if (points.length < 2) return;
    const half = (x(points[1].t) - x(points[0].t)) / 2;
    const ends = [[partial.first, points[0]], [partial.last, points[points.length - 1]]];
    for (const [isPartial, point] of ends) {
      if (!isPartial) continue;
      const left = Math.max(x(point.t) - half, inner.x);
      const right = Math.min(x(point.t) + half, inner.x + inner.w);
      const band = svg("g", { class: "partial" });
      band.append(svg("rect", { x: left, y: inner.y, width: Math.max(right - left, 1), height: inner.h }));
      band.append(svg("text", { x: (left + right) / 2, y: inner.y + 10, "text-anchor": "middle" }, "partial"));
      root.append(band);
    }
  }

  // -- histogram ----------------------------------------------------------------------------------
  /** bins: [{lower, upper, count}], upper exclusive except the last. */
  function histogram(container, bins, { xTitle, label, integer }) {
    const { root, inner } = frame(container, { xTitle, yTitle: "Rows", label });
    const high = Math.max(...bins.map((b) => b.count), 1);
    const y = yAxis(root, inner, 0, high);
    const low = bins[0].lower;
    const top = bins[bins.length - 1].upper;
    const x = (v) => inner.x + ((v - low) / (top - low || 1)) * inner.w;
    const bars = svg("g");
    bins.forEach((bin, i) => {
      const left = x(bin.lower);
      const width = Math.max(x(bin.upper) - left - 1, 1);
      const bar = svg("rect", { class: "bar", x: left + 0.5, y: y(bin.count), width, height: Math.max(inner.y + inner.h - y(bin.count), 0) });
      const last = i === bins.length - 1;
      const range = integer
        ? (bin.upper - 1 > bin.lower ? `${bin.lower}–${bin.upper - 1}` : String(bin.lower))
        : `${bin.lower} to ${last ? "" : "under "}${bin.upper}`;
      bar.append(svg("title", {}, `${range}: ${bin.count.toLocaleString("en-US")} rows`));
      bars.append(bar);
    });
    root.append(bars);
    const axis = xAxisLine(root, inner);
    const ticks = niceTicks(low, top, Math.max(2, Math.floor(inner.w / 80)));
    for (const tick of ticks) {
      if (tick < low || tick > top) continue;
      axis.append(svg("line", { x1: x(tick), x2: x(tick), y1: inner.y + inner.h, y2: inner.y + inner.h + 4 }));
      axis.append(svg("text", { x: x(tick), y: inner.y + inner.h + 17, "text-anchor": "middle" }, shortNumber(tick)));
    }
  }

  return { timeSeries, timeSeriesSplit, histogram, niceTicks, timeTicks, shortNumber };
})();
