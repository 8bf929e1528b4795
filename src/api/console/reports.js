// Reports: the list (`GET /api/reports`) and one page per report with a
// date range and bucket, its headline figures, a chart, the table and a
// CSV download. Also the choice of chart for a report's table, which the
// dashboard shares.

import { barChart, lineChart } from "./charts.js";
import {
  dayEnd,
  dayStart,
  download,
  el,
  figure,
  fmtCell,
  fmtPercent,
  getJson,
  humanize,
  isoDate,
  isRateColumn,
  isTimeColumn,
  query,
  reportError,
  table,
  tzOffset,
} from "./ui.js";

let listCache = null;

/** A report's heading: its name, humanized (CSAT in capitals). */
function reportTitle(name) {
  return name === "csat" ? "CSAT" : humanize(name);
}

/** The reports the API offers, as [{name, description}]. */
export async function reportList() {
  if (!listCache) {
    const raw = await getJson("/api/reports");
    const items = Array.isArray(raw) ? raw : raw.reports || [];
    listCache = items.map((r) => (typeof r === "string" ? { name: r, description: "" } : { name: r.name, description: r.description || "" }));
  }
  return listCache;
}

/** The API path of report `name` for a range given as local dates. */
export function reportPath(name, { from, to, bucket, format }) {
  return `/api/reports/${encodeURIComponent(name)}${query({
    from: dayStart(from),
    to: dayEnd(to),
    bucket,
    tz_offset_min: tzOffset(),
    format,
  })}`;
}

const pad = (n) => String(n).padStart(2, "0");

/**
 * A short x-axis label of a time bucket (epoch ms or an ISO-like string):
 * `05-01` for days; for hours `14:00`, with the date at midnight unless
 * the chart covers `oneDay`.
 */
export function bucketLabel(v, bucket, oneDay = false) {
  let d = null;
  if (typeof v === "number" && v > 1e11) d = new Date(v);
  else if (typeof v === "string") {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2}))?)?/.exec(v);
    if (!m) return v;
    d = new Date(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0));
  }
  if (!d || Number.isNaN(d.getTime())) return String(v);
  const day = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (bucket !== "hour") return day;
  // Hours of one day need no date; midnight starts a new day.
  return oneDay || d.getHours() !== 0 ? `${pad(d.getHours())}:00` : `${day} 00:00`;
}

/** Whether every label is a time on the same (local) day. */
function sameDay(labels) {
  const days = new Set(labels.map((v) => bucketLabel(v, "day")));
  return days.size <= 1;
}

function looksLikeTime(v) {
  return (typeof v === "number" && v > 1e11) || (typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v));
}

const NOT_COUNT = /(rate|ratio|share|avg|average|mean|_ms|_secs?|score|percent)/;

/**
 * The chart of a report's table: the first column labels the x axis; the
 * numeric columns are the series (counts first; rates when there are only
 * rates), a line chart for a time series of several, bars otherwise.
 * `only` restricts the series to these column names.
 */
export function reportChart(report, { bucket, title, only, width } = {}) {
  const cols = report.columns || [];
  const rows = report.rows || [];
  if (rows.length === 1 && typeof rows[0][0] === "number") return figuresChart(cols, rows[0], title, width);
  const labels = rows.map((r) => r[0]);
  const timeSeries = cols.length > 0 && (isTimeColumn(cols[0]) || (rows.length > 0 && rows.every((r) => looksLikeTime(r[0]))));
  let numeric = cols
    .map((_, j) => j)
    .filter((j) => j > 0 && !isTimeColumn(cols[j]))
    .filter((j) => rows.some((r) => typeof r[j] === "number") && rows.every((r) => r[j] === null || typeof r[j] === "number"));
  if (only) numeric = numeric.filter((j) => only.includes(cols[j]));
  const counts = numeric.filter((j) => !NOT_COUNT.test(cols[j]));
  const rates = numeric.filter((j) => isRateColumn(cols[j]));
  const pick = (counts.length ? counts : rates.length ? rates : numeric).slice(0, 5);
  const series = pick.map((j) => ({ name: humanize(cols[j]), values: rows.map((r) => r[j]) }));
  const allRates = pick.length > 0 && pick.every((j) => isRateColumn(cols[j]));
  const opts = {
    labels,
    series,
    title,
    width,
    xFormat: timeSeries ? (v) => bucketLabel(v, bucket, sameDay(labels)) : undefined,
    yFormat: allRates ? fmtPercent : undefined,
    integers: series.every((s) => s.values.every((v) => v === null || Number.isInteger(v))),
  };
  return timeSeries && series.length > 1 ? lineChart(opts) : barChart(opts);
}

/**
 * The chart of a one-row report of figures (containment): one bar per count
 * column, or per rate when it has only rates.
 */
function figuresChart(cols, row, title, width) {
  const idx = cols.map((_, j) => j).filter((j) => typeof row[j] === "number");
  const counts = idx.filter((j) => !NOT_COUNT.test(cols[j]));
  const pick = counts.length ? counts : idx;
  return barChart({
    labels: pick.map((j) => humanize(cols[j])),
    series: [{ name: title || "Value", values: pick.map((j) => row[j]) }],
    title,
    width,
    integers: pick.every((j) => Number.isInteger(row[j])),
  });
}

/** Headline figures of a report's summary object. */
export function summaryFigures(summary) {
  if (!summary || typeof summary !== "object") return el("div", { class: "figures" });
  return el(
    "div",
    { class: "figures" },
    Object.entries(summary)
      .filter(([k]) => k !== "buckets")
      .map(([k, v]) => {
      if (v && typeof v === "object") {
        const parts = Object.entries(v).map(([a, b]) => `${a}: ${fmtCell(k, b)}`);
        return figure(humanize(k), el("span", { class: "figure-list" }, parts.length ? parts.join(" · ") : "—"));
      }
      return figure(humanize(k), fmtCell(k, v));
    }),
  );
}

/** A report's table with formatted cells. */
export function reportTable(report, bucket) {
  const cols = report.columns || [];
  const rows = report.rows || [];
  const numeric = (j) => rows.some((r) => typeof r[j] === "number") && rows.every((r) => r[j] === null || typeof r[j] === "number");
  return table(
    cols.map((c, j) => ({
      label: humanize(c),
      class: j > 0 && numeric(j) ? "num" : "",
      cell: (row) => (j === 0 && looksLikeTime(row[0]) ? bucketLabel(row[0], bucket) : fmtCell(c, row[j])),
    })),
    rows,
    "No rows for this period.",
  );
}

/** `#/reports`: every report with its description. */
export async function renderReports(view) {
  view.append(el("h1", null, "Reports"));
  const list = await reportList();
  view.append(
    el(
      "div",
      { class: "cards" },
      list.map((r) => el("a", { class: "card", href: `#/reports/${encodeURIComponent(r.name)}` }, el("h2", null, reportTitle(r.name)), el("p", null, r.description))),
    ),
  );
}

/** The range of a report page: its parameters, or the last 7 days. */
function rangeOf(params) {
  const today = new Date();
  const weekAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  const valid = (s) => (Number.isNaN(dayStart(s)) ? null : s);
  return {
    from: valid(params.get("from")) || isoDate(weekAgo),
    to: valid(params.get("to")) || isoDate(today),
    bucket: params.get("bucket") === "hour" ? "hour" : "day",
  };
}

/** `#/reports/NAME?from=YYYY-MM-DD&to=YYYY-MM-DD&bucket=day|hour`. */
export async function renderReport(view, name, params) {
  const range = rangeOf(params);
  const info = (await reportList()).find((r) => r.name === name);
  view.append(
    el("p", { class: "crumbs" }, el("a", { href: "#/reports" }, "Reports"), " / "),
    el("h1", null, reportTitle(name)),
    info && info.description ? el("p", { class: "muted" }, info.description) : null,
  );
  const form = el(
    "form",
    { class: "toolbar", id: "report-range" },
    el("label", null, "From ", el("input", { type: "date", name: "from", value: range.from, required: true })),
    el("label", null, "To ", el("input", { type: "date", name: "to", value: range.to, required: true })),
    el(
      "label",
      null,
      "Bucket ",
      el("select", { name: "bucket" }, el("option", { value: "day", selected: range.bucket === "day" }, "Day"), el("option", { value: "hour", selected: range.bucket === "hour" }, "Hour")),
    ),
    el("button", { type: "submit" }, "Show"),
    el(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: () => download(reportPath(name, { ...range, format: "csv" }), `${name}-${range.from}-${range.to}.csv`).catch(reportError),
      },
      "Download CSV",
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    location.hash = `#/reports/${encodeURIComponent(name)}${query({ from: f.get("from"), to: f.get("to"), bucket: f.get("bucket") })}`;
  });
  view.append(form);
  const report = await getJson(reportPath(name, range));
  view.append(
    summaryFigures(report.summary),
    el("section", { class: "panel" }, reportChart(report, { bucket: range.bucket, title: reportTitle(name), width: 1100 })),
    el("section", { class: "panel" }, el("h2", null, "Table"), reportTable(report, range.bucket)),
  );
}
