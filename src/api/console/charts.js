// Charts drawn as inline SVG, without any library: bar charts (grouped or
// stacked) and line charts with axes, grid, labels, a legend and a tooltip
// (<title>) on every bar and point. Every chart's root is
// `<svg class="chart" data-points="N">`, N being the data points drawn; a
// chart without data says so in place of empty axes (N = 0).
//
// Series colours are fixed and used nowhere else on the pages, so that a
// screenshot shows how much of a page the charts fill.

const NS = "http://www.w3.org/2000/svg";

/** Series colours, in order. */
export const COLORS = ["#e8590c", "#0c8599", "#7048e8", "#f08c00", "#2f9e44", "#d6336c"];

/** Default drawing size (the SVG scales to its box). */
const WIDTH = 720;
const H = 300;
const M = { left: 56, right: 16, top: 40, bottom: 44 };
const MAX_LABEL_CHARS = 14;
/** Widest bar, in drawing units. */
const MAX_BAR = 90;

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function title(text) {
  return svg("title", {}, text);
}

/** A round step for about `count` ticks up to `max`. */
function niceStep(max, count) {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return step * mag;
}

/** Upper bound and ticks of the value axis. */
function valueAxis(max, integers) {
  if (!(max > 0)) max = 1;
  let step = niceStep(max, 5);
  if (integers) step = Math.max(1, Math.ceil(step));
  const top = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  return { top, ticks };
}

function fmtTick(v, format) {
  if (format) return format(v);
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0+$/, "");
}

function truncate(s, n) {
  s = String(s);
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The root of a chart, with its legend and axes; returns helpers to draw in it. */
function frame(opts, top, pointCount) {
  const W = opts.width || WIDTH;
  const root = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": opts.title || "chart",
    "data-points": pointCount,
  });
  if (opts.title) root.append(title(opts.title));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (v) => M.top + plotH - (v / top.top) * plotH;
  const grid = svg("g", { class: "grid" });
  for (const t of top.ticks) {
    grid.append(
      svg("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t) }),
      svg("text", { x: M.left - 8, y: y(t) + 4, "text-anchor": "end" }, fmtTick(t, opts.yFormat)),
    );
  }
  root.append(grid);
  if (opts.yLabel) {
    root.append(svg("text", { class: "axis-label", x: 12, y: M.top - 14 }, opts.yLabel));
  }
  legend(root, opts.series);
  root.append(svg("line", { class: "axis", x1: M.left, x2: W - M.right, y1: y(0), y2: y(0) }));
  return { root, plotW, plotH, y, W };
}

function legend(root, series) {
  if (series.length < 2) return;
  const g = svg("g", { class: "legend" });
  let x = M.left;
  series.forEach((s, i) => {
    g.append(
      svg("rect", { x, y: 8, width: 12, height: 12, rx: 2, fill: COLORS[i % COLORS.length] }),
      svg("text", { x: x + 17, y: 18 }, truncate(s.name, 24)),
    );
    x += 30 + Math.min(24, String(s.name).length) * 7;
  });
  root.append(g);
}

function xLabels(root, W, labels, xCenter, format) {
  const texts = labels.map((l) => (format ? format(l) : String(l)));
  // As many labels as fit side by side (about 6.6 px a character at 12 px).
  const widest = Math.min(MAX_LABEL_CHARS, Math.max(...texts.map((t) => t.length)));
  const fit = Math.max(1, Math.floor((W - M.left - M.right) / (widest * 6.6 + 14)));
  const every = Math.max(1, Math.ceil(labels.length / fit));
  const g = svg("g", { class: "x-labels" });
  texts.forEach((text, i) => {
    if (i % every !== 0) return;
    g.append(svg("text", { x: xCenter(i), y: H - M.bottom + 18, "text-anchor": "middle" }, truncate(text, MAX_LABEL_CHARS), title(text)));
  });
  root.append(g);
}

/** The chart that says there is nothing to draw. */
function empty(opts) {
  const W = opts.width || WIDTH;
  const root = svg("svg", { class: "chart chart-empty", viewBox: `0 0 ${W} 120`, role: "img", "data-points": 0 });
  root.append(
    svg("rect", { class: "empty-box", x: 1, y: 1, width: W - 2, height: 118, rx: 6 }),
    svg("text", { x: W / 2, y: 66, "text-anchor": "middle" }, opts.emptyText || "No data for this period"),
  );
  return root;
}

function countPoints(series) {
  return series.reduce((n, s) => n + s.values.filter((v) => num(v) !== null).length, 0);
}

/**
 * A bar chart. `opts`: labels (x), series [{name, values}], title, yLabel,
 * xFormat(label), yFormat(value), stacked, integers (whole-number ticks),
 * width (of the drawing, 720 by default; wider for full-page charts).
 */
export function barChart(opts) {
  const { labels, series } = opts;
  const points = countPoints(series);
  if (!labels.length || !points) return empty(opts);
  const totals = labels.map((_, i) =>
    opts.stacked
      ? series.reduce((t, s) => t + Math.max(0, num(s.values[i]) ?? 0), 0)
      : Math.max(0, ...series.map((s) => num(s.values[i]) ?? 0)),
  );
  const axis = valueAxis(Math.max(...totals), opts.integers);
  const { root, plotW, y, W } = frame(opts, axis, points);
  const slot = plotW / labels.length;
  // Bars stay slim when there are few of them.
  const groupW = Math.max(1, Math.min(slot * 0.8, (opts.stacked ? 1 : series.length) * MAX_BAR));
  const barW = opts.stacked ? groupW : Math.max(1, groupW / series.length);
  const xCenter = (i) => M.left + slot * i + slot / 2;
  const bars = svg("g", { class: "bars" });
  labels.forEach((label, i) => {
    let base = 0;
    series.forEach((s, j) => {
      const v = num(s.values[i]);
      if (v === null) return;
      const x = opts.stacked ? xCenter(i) - groupW / 2 : xCenter(i) - groupW / 2 + j * barW;
      const y0 = opts.stacked ? base : 0;
      const y1 = y0 + Math.max(0, v);
      base = y1;
      const tip = `${opts.xFormat ? opts.xFormat(label) : label} — ${s.name}: ${opts.yFormat ? opts.yFormat(v) : v}`;
      bars.append(
        svg("rect", {
          x: x.toFixed(1),
          y: y(y1).toFixed(1),
          width: Math.max(1, barW - (series.length > 1 && !opts.stacked ? 1 : 0)).toFixed(1),
          height: Math.max(v > 0 ? 1 : 0, y(y0) - y(y1)).toFixed(1),
          fill: COLORS[j % COLORS.length],
        }, title(tip)),
      );
    });
  });
  root.append(bars);
  xLabels(root, W, labels, xCenter, opts.xFormat);
  return root;
}

/** A line chart; same options as `barChart` (no stacking). */
export function lineChart(opts) {
  const { labels, series } = opts;
  const points = countPoints(series);
  if (!labels.length || !points) return empty(opts);
  const max = Math.max(0, ...series.flatMap((s) => s.values.map((v) => num(v) ?? 0)));
  const axis = valueAxis(max, opts.integers);
  const { root, plotW, y, W } = frame(opts, axis, points);
  const step = labels.length > 1 ? plotW / (labels.length - 1) : 0;
  const xAt = (i) => (labels.length > 1 ? M.left + step * i : M.left + plotW / 2);
  series.forEach((s, j) => {
    const color = COLORS[j % COLORS.length];
    const g = svg("g", { class: "line-series" });
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      const n = num(v);
      if (n === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${xAt(i).toFixed(1)},${y(n).toFixed(1)}`;
      pen = true;
    });
    g.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 2.5, "stroke-linejoin": "round" }));
    s.values.forEach((v, i) => {
      const n = num(v);
      if (n === null) return;
      const label = opts.xFormat ? opts.xFormat(labels[i]) : labels[i];
      g.append(svg("circle", { cx: xAt(i).toFixed(1), cy: y(n).toFixed(1), r: 3.5, fill: color },
        title(`${label} — ${s.name}: ${opts.yFormat ? opts.yFormat(n) : n}`)));
    });
    root.append(g);
  });
  xLabels(root, W, labels, xAt, opts.xFormat);
  return root;
}
