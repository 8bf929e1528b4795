// Call search: the filter form (kept in the address, so a search can be
// bookmarked and shared), the result table with paging, and the CSV
// export of the same search.

import {
  badge,
  dayEnd,
  dayStart,
  download,
  el,
  emotionBadge,
  fmtDuration,
  fmtNumber,
  fmtTime,
  getJson,
  outcomeBadge,
  query,
  reportError,
  table,
} from "./ui.js";

const PAGE_SIZE = 25;
const OUTCOMES = ["resolved", "transferred", "abandoned", "missed", "failed", "interrupted", "in_progress"];
const EMOTIONS = ["concerned", "upset", "angry"];
const TEXT_FILTERS = ["number", "intent", "text", "tag"];

/** How long a call lasted: from answer (or start) to its end. */
export function callDuration(c) {
  if (!c.ended_at) return null;
  return c.ended_at - (c.answered_at || c.started_at);
}

/** The result table of a call search. */
export function callsTable(calls) {
  return table(
    [
      { label: "Time", cell: (c) => el("a", { href: `#/calls/${encodeURIComponent(c.id)}`, class: "call-link" }, fmtTime(c.started_at)) },
      { label: "Caller", cell: (c) => c.caller },
      { label: "Outcome", cell: (c) => [outcomeBadge(c.outcome), c.transfer ? el("span", { class: "muted small" }, ` ${c.transfer.reason}`) : null] },
      { label: "Intents", cell: (c) => (c.intents || []).map((i) => badge(i, "intent")) },
      { label: "Peak emotion", cell: (c) => emotionBadge(c.emotion_peak) || "—" },
      { label: "QA", class: "num", cell: (c) => (c.qa_score === null || c.qa_score === undefined ? "—" : fmtNumber(c.qa_score)) },
      { label: "Duration", class: "num", cell: (c) => fmtDuration(callDuration(c)) },
    ],
    calls,
    "No calls match.",
  );
}

/** The API query of a search given by the page's parameters. */
function apiQuery(params, extra) {
  const q = {};
  for (const k of TEXT_FILTERS) q[k] = (params.get(k) || "").trim();
  const from = dayStart(params.get("from"));
  const to = dayEnd(params.get("to"));
  if (!Number.isNaN(from)) q.from = from;
  if (!Number.isNaN(to)) q.to = to;
  if (EMOTIONS.includes(params.get("emotion"))) q.emotion = params.get("emotion");
  if (OUTCOMES.includes(params.get("outcome"))) q.outcome = params.get("outcome");
  return query({ ...q, ...extra });
}

function input(name, label, params, type = "text", placeholder = "") {
  return el("label", null, label, el("input", { name, type, value: params.get(name) || "", placeholder }));
}

function select(name, label, params, options) {
  const current = params.get(name) || "";
  return el(
    "label",
    null,
    label,
    el("select", { name }, el("option", { value: "" }, "any"), options.map(([v, text]) => el("option", { value: v, selected: v === current }, text))),
  );
}

function searchForm(params) {
  const form = el(
    "form",
    { class: "filters", id: "call-search" },
    input("number", "Number", params, "search", "caller or called"),
    input("from", "From", params, "date"),
    input("to", "To", params, "date"),
    input("text", "Text", params, "search", "words in the transcript"),
    input("intent", "Intent", params),
    select("emotion", "Emotion at least", params, EMOTIONS.map((e) => [e, e])),
    select("outcome", "Outcome", params, OUTCOMES.map((o) => [o, o.replace(/_/g, " ")])),
    input("tag", "Tag", params),
    el("div", { class: "filter-actions" }, el("button", { type: "submit" }, "Search"), el("a", { href: "#/calls", class: "button secondary" }, "Clear")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const next = {};
    for (const [k, v] of f.entries()) next[k] = String(v).trim();
    location.hash = `#/calls${query(next)}`;
  });
  return form;
}

/** `#/calls?number=…&from=YYYY-MM-DD&…&page=N`. */
export async function renderCalls(view, params) {
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  view.append(el("h1", null, "Calls"), searchForm(params));
  const body = await getJson(`/api/calls${apiQuery(params, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`);
  const calls = body.calls || [];
  const pageLink = (n) => {
    const p = new URLSearchParams(params);
    p.set("page", String(n));
    return `#/calls?${p.toString()}`;
  };
  const first = (page - 1) * PAGE_SIZE;
  view.append(
    el(
      "div",
      { class: "toolbar" },
      el("span", { class: "muted", id: "call-count" }, calls.length ? `Calls ${first + 1}–${first + calls.length}` : "No calls"),
      el("span", { class: "spacer" }),
      el(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => download(`/api/calls${apiQuery(params, { format: "csv", limit: 500 })}`, "calls.csv").catch(reportError),
        },
        "Export CSV",
      ),
    ),
    callsTable(calls),
    el(
      "nav",
      { class: "pager" },
      page > 1 ? el("a", { href: pageLink(page - 1), class: "button secondary" }, "← Newer") : null,
      el("span", { class: "muted" }, `Page ${page}`),
      calls.length === PAGE_SIZE ? el("a", { href: pageLink(page + 1), class: "button secondary" }, "Older →") : null,
    ),
  );
}
