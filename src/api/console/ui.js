// The console's building blocks: the API client (every request carries the
// signed-in key as a bearer token), the error banner, DOM construction
// without innerHTML (API data is always inserted as text), and the
// formatting of times, durations, rates and report cells.

const KEY_ITEM = "kefu.apiKey";
// The key when the browser refuses storage (private windows).
let memoryKey = "";

/** An API request that failed: `status` 0 when the server was unreachable. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The stored API key, or "". */
export function getKey() {
  try {
    return localStorage.getItem(KEY_ITEM) || memoryKey;
  } catch {
    return memoryKey;
  }
}

/** Stores the API key for the next visits. */
export function setKey(key) {
  try {
    localStorage.setItem(KEY_ITEM, key);
  } catch {
    // Private windows may refuse storage; the key then lasts for this page only.
  }
  memoryKey = key;
}

/** Forgets the API key. */
export function clearKey() {
  try {
    localStorage.removeItem(KEY_ITEM);
  } catch {
    // Nothing stored.
  }
  memoryKey = "";
}

let unauthorized = () => {};
// Where requests take their secret from (the agent page uses its session).
let keySource = getKey;

/** Makes requests carry the secret `fn()` returns instead of the API key. */
export function useKeySource(fn) {
  keySource = fn;
}

/** Sets what happens when the API refuses the key (401). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

/** The error text of a failed response: the API's `error` field when it has one. */
async function errorText(res) {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // Body unreadable: fall back to the status line.
  }
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === "string") return body.error;
  } catch {
    // Not JSON.
  }
  text = text.trim();
  return text ? text.slice(0, 500) : `${res.status} ${res.statusText}`.trim();
}

/**
 * Sends a request to the API with the key. `body` is sent as JSON unless it
 * is a string (then as `type`, plain text by default). Resolves to the
 * Response when it is 2xx; otherwise rejects with an ApiError (and, for 401,
 * first tells the sign-in handler).
 */
export async function request(path, { method = "GET", body, type } = {}) {
  const headers = { Authorization: `Bearer ${keySource()}` };
  let payload;
  if (body !== undefined) {
    if (typeof body === "string") {
      headers["Content-Type"] = type || "text/plain; charset=utf-8";
      payload = body;
    } else {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, `Cannot reach kefu: ${e.message}`);
  }
  if (res.status === 401) {
    const message = await errorText(res);
    unauthorized(message);
    throw new ApiError(401, message);
  }
  if (!res.ok) throw new ApiError(res.status, await errorText(res));
  return res;
}

/** GETs JSON. */
export async function getJson(path) {
  const res = await request(path);
  return res.json();
}

/** Sends JSON (or text) with `method` and returns the JSON answer, if any. */
export async function send(method, path, body, type) {
  const res = await request(path, { method, body, type });
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Fetches `path` with the key and saves it as a file (CSV exports). */
export async function download(path, fallbackName) {
  const res = await request(path);
  const blob = await res.blob();
  const disposition = res.headers.get("Content-Disposition") || "";
  const match = /filename\*?="?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name, class: "hidden" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** A query string (with its "?") of the non-empty values of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Shows an error (or, with `kind` "ok", a confirmation) above the page. */
export function showBanner(message, kind = "error") {
  const b = document.getElementById("banner");
  if (!b) return;
  b.textContent = message;
  b.className = `banner banner-${kind}`;
  b.hidden = false;
}

/** Hides the banner. */
export function hideBanner() {
  const b = document.getElementById("banner");
  if (b) b.hidden = true;
}

/** Shows what went wrong with a request (401 is handled by the sign-in). */
export function reportError(e) {
  if (e instanceof ApiError && e.status === 401) return;
  const prefix = e instanceof ApiError && e.status ? `Error ${e.status}: ` : "Error: ";
  showBanner(prefix + (e && e.message ? e.message : String(e)));
}

/**
 * A DOM element. Attributes: `class`, `on<event>` handlers, `dataset`,
 * booleans (present when true); children are nodes, strings (as text) or
 * arrays of them; null and undefined are skipped.
 */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

function setAttrs(e, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "value") e.value = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
}

/** Appends children (nodes, text, arrays) to `parent`. */
export function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return parent;
}

/** Replaces the children of `parent` (nodes, text, arrays; nulls skipped). */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A small coloured label. */
export function badge(text, kind = "") {
  return el("span", { class: `badge ${kind}`.trim() }, text);
}

/** The badge of an emotion level (neutral, concerned, upset, angry). */
export function emotionBadge(level) {
  return level ? badge(level, `emo emo-${level}`) : null;
}

/** The badge of a call outcome. */
export function outcomeBadge(outcome) {
  return outcome ? badge(outcome.replace(/_/g, " "), `outcome outcome-${outcome}`) : null;
}

/**
 * A table: `columns` are `{label, cell(row) -> node|text, class}`; `empty`
 * is shown in place of rows when there are none.
 */
export function table(columns, rows, empty = "Nothing to show.") {
  const head = el("tr", null, columns.map((c) => el("th", { class: c.class }, c.label)));
  const body = rows.length
    ? rows.map((r) => el("tr", null, columns.map((c) => el("td", { class: c.class }, c.cell(r)))))
    : [el("tr", null, el("td", { class: "empty", colspan: columns.length }, empty))];
  return el("div", { class: "table-wrap" }, el("table", null, el("thead", null, head), el("tbody", null, body)));
}

/** A labelled figure for the summary rows. */
export function figure(label, value, note) {
  return el("div", { class: "figure" }, el("div", { class: "figure-value" }, value), el("div", { class: "figure-label" }, label), note ? el("div", { class: "figure-note" }, note) : null);
}

const pad = (n) => String(n).padStart(2, "0");

/** `2024-05-01` of a Date, in local time. */
export function isoDate(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local midnight starting the day `yyyy-mm-dd`, in ms; NaN when malformed. */
export function dayStart(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || "");
  return m ? new Date(+m[1], +m[2] - 1, +m[3]).getTime() : NaN;
}

/** Local midnight ending the day `yyyy-mm-dd` (the next day's start). */
export function dayEnd(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || "");
  return m ? new Date(+m[1], +m[2] - 1, +m[3] + 1).getTime() : NaN;
}

/** Minutes local time is ahead of UTC, as the API's `tz_offset_min`. */
export function tzOffset() {
  return -new Date().getTimezoneOffset();
}

/** `2024-05-01 14:03:09` in local time. */
export function fmtTime(ms) {
  if (ms === null || ms === undefined || ms === "") return "—";
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return String(ms);
  return `${isoDate(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `m:ss` or `h:mm:ss`. */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return "—";
  const total = Math.max(0, Math.round(Number(ms) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** `12.5%` of a rate 0..1. */
export function fmtPercent(x) {
  return x === null || x === undefined ? "—" : `${(Number(x) * 100).toFixed(1)}%`;
}

/** A number with at most two decimals. */
export function fmtNumber(x) {
  if (x === null || x === undefined || x === "") return "—";
  const n = Number(x);
  if (!Number.isFinite(n)) return String(x);
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(2);
}

/** `containment_rate` → `Containment rate`. */
export function humanize(name) {
  const s = String(name).replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Whether a report column holds times (epoch ms). */
export function isTimeColumn(name) {
  return /(^|_)(bucket|time|hour|day|date|start|at)$/.test(name) || /_at$/.test(name);
}

/** Whether a report column holds rates (0..1). */
export function isRateColumn(name) {
  return /(rate|ratio|share)$/.test(name);
}

/** A report cell (or summary value) for display, by its column name. */
export function fmtCell(name, v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "object") return JSON.stringify(v);
  if (typeof v !== "number") return String(v);
  if (isRateColumn(name)) return fmtPercent(v);
  if (/_ms$/.test(name)) return fmtDuration(v);
  if (/_secs?$/.test(name)) return fmtDuration(v * 1000);
  if (isTimeColumn(name) && v > 1e11) return fmtTime(v);
  return fmtNumber(v);
}
