// The dashboard: today's figures (containment, CSAT), calls per hour,
// transfer reasons and the most recent calls. Each part loads on its own,
// so one failing report leaves the others on the page.

import { callsTable } from "./calls.js";
import { reportChart, reportPath } from "./reports.js";
import { el, figure, fmtCell, fmtNumber, getJson, humanize, isoDate, query, replace, reportError } from "./ui.js";

const RECENT = 10;

/** Headline figures of today: the containment summary plus the CSAT average. */
function figures(containment, csat) {
  const items = [];
  for (const [k, v] of Object.entries(containment.summary || {})) {
    if (typeof v === "number") items.push(figure(humanize(k), fmtCell(k, v)));
  }
  const s = csat.summary || {};
  const avgKey = Object.keys(s).find((k) => /avg|average|mean/.test(k) && typeof s[k] === "number");
  const countKey = Object.keys(s).find((k) => /count|answers|responses/.test(k));
  items.push(figure("CSAT average", avgKey ? `${fmtNumber(s[avgKey])} / 5` : "—", countKey ? `${fmtNumber(s[countKey])} answers` : null));
  return el("div", { class: "figures", id: "today-figures" }, items);
}

/** A section that fills itself from `load`, or shows its error. */
function section(id, heading, load) {
  const box = el("section", { class: "panel", id }, el("h2", null, heading), el("p", { class: "muted" }, "Loading…"));
  load()
    .then((content) => replace(box, el("h2", null, heading), content))
    .catch((e) => {
      replace(box, el("h2", null, heading), el("p", { class: "error" }, e.message));
      reportError(e);
    });
  return box;
}

/** `#/`: today at a glance. */
export async function renderDashboard(view) {
  const today = isoDate(new Date());
  const range = { from: today, to: today };
  view.append(el("h1", null, "Today ", el("span", { class: "muted" }, today)));
  const figuresBox = el("div", { class: "figures" });
  view.append(figuresBox);
  Promise.all([getJson(reportPath("containment", { ...range, bucket: "day" })), getJson(reportPath("csat", { ...range, bucket: "day" }))])
    .then(([containment, csat]) => figuresBox.replaceWith(figures(containment, csat)))
    .catch(reportError);
  view.append(
    el(
      "div",
      { class: "grid-2" },
      section("calls-per-hour", "Calls per hour", async () => {
        const r = await getJson(reportPath("calls", { ...range, bucket: "hour" }));
        const only = r.columns.includes("calls") ? ["calls"] : undefined;
        return reportChart(r, { bucket: "hour", title: "Calls per hour", only });
      }),
      section("transfer-reasons", "Transfer reasons", async () => {
        const r = await getJson(reportPath("transfers", { ...range, bucket: "day" }));
        return reportChart(r, { title: "Transfers by reason" });
      }),
    ),
    section("recent-calls", "Recent calls", async () => {
      const body = await getJson(`/api/calls${query({ limit: RECENT })}`);
      return el("div", null, callsTable(body.calls || []), el("p", null, el("a", { href: "#/calls" }, "Search all calls →")));
    }),
  );
}
