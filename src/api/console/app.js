// The console's shell: sign-in with an API key (also taken once from
// `#key=…` or a `key=` parameter of the address, then removed from it),
// the header with kefu's status, and the router that maps the address's
// fragment (`#/calls/ID?…`) to a page.

import {
  ApiError,
  clearKey,
  el,
  fmtDuration,
  getJson,
  getKey,
  hideBanner,
  onUnauthorized,
  replace,
  reportError,
  setKey,
} from "./ui.js";
import { renderDashboard } from "./dashboard.js";
import { renderCalls } from "./calls.js";
import { renderCall } from "./call.js";
import { renderReport, renderReports } from "./reports.js";
import { renderAgents, renderDialplans, renderQueues } from "./admin.js";

/** Pages by the first segment of the route; each gets (main, rest, params). */
const PAGES = {
  "": { nav: "dashboard", render: renderDashboard },
  calls: { nav: "calls", render: (m, rest, p) => (rest ? renderCall(m, rest) : renderCalls(m, p)) },
  reports: { nav: "reports", render: (m, rest, p) => (rest ? renderReport(m, rest, p) : renderReports(m)) },
  agents: { nav: "agents", render: renderAgents },
  queues: { nav: "queues", render: renderQueues },
  dialplans: { nav: "dialplans", render: renderDialplans },
};

const STATUS_EVERY_MS = 15000;
let statusTimer = 0;
let renderSeq = 0;

/** The route of the address's fragment: path segments and parameters. */
function parseRoute() {
  let hash = location.hash.replace(/^#/, "");
  if (hash.startsWith("key=")) hash = `/?${hash}`;
  const [path, search = ""] = hash.split(/\?(.*)/s);
  const params = new URLSearchParams(search);
  const parts = path.replace(/^\/+/, "").split("/").map(decodeURIComponent);
  return { page: parts[0] || "", rest: parts.slice(1).join("/"), params, path };
}

/**
 * Takes a key given in the address (`#key=…`, or `key=` among a route's
 * parameters), stores it and removes it from the address bar, so that it is
 * neither bookmarked nor left in the history.
 */
function takeKeyFromAddress() {
  const route = parseRoute();
  const key = route.params.get("key");
  if (key === null) return;
  setKey(key.trim());
  route.params.delete("key");
  const search = route.params.toString();
  const hash = route.path && route.path !== "/" ? `#${route.path}${search ? `?${search}` : ""}` : "";
  history.replaceState(null, "", location.pathname + location.search + hash);
}

/** Shows the sign-in form, with `message` when there is one. */
function showSignIn(message) {
  clearInterval(statusTimer);
  document.getElementById("top").hidden = true;
  hideBanner();
  const main = document.getElementById("main");
  const tpl = document.getElementById("sign-in-template");
  replace(main, tpl.content.cloneNode(true));
  const msg = document.getElementById("sign-in-message");
  if (message) {
    msg.textContent = message;
    msg.hidden = false;
  }
  const form = document.getElementById("sign-in");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = document.getElementById("sign-in-key").value.trim();
    if (!key) return;
    setKey(key);
    start();
  });
  document.getElementById("sign-in-key").focus();
}

onUnauthorized((message) => {
  clearKey();
  renderSeq++;
  showSignIn(`The API key was not accepted: ${message}. Sign in again.`);
});

/** Fills the header from `/api/status`. */
async function refreshStatus() {
  const box = document.getElementById("status");
  const s = await getJson("/api/status");
  const active = s.active_calls ?? s.calls ?? 0;
  const plan = s.dialplan && typeof s.dialplan === "object" ? s.dialplan : { name: s.dialplan, version: s.dialplan_version };
  const uptime = s.uptime_secs ?? s.uptime_s ?? s.uptime;
  replace(box,
    el("span", { class: `dot ${active > 0 ? "dot-live" : ""}`.trim() }),
    el("span", { id: "active-calls" }, `${active} active call${active === 1 ? "" : "s"}`),
    plan && plan.name ? el("span", null, `dialplan ${plan.name}${plan.version ? ` v${plan.version}` : ""}`) : null,
    s.version ? el("span", null, `kefu ${s.version}`) : null,
    uptime !== undefined ? el("span", null, `up ${fmtUptime(Number(uptime))}`) : null,
  );
}

function fmtUptime(secs) {
  if (!Number.isFinite(secs)) return "—";
  const days = Math.floor(secs / 86400);
  return days ? `${days}d ${fmtDuration((secs % 86400) * 1000)}` : fmtDuration(secs * 1000);
}

/** Renders the page of the current route. */
async function route() {
  if (!getKey()) {
    showSignIn();
    return;
  }
  const seq = ++renderSeq;
  const r = parseRoute();
  const page = PAGES[r.page];
  document.getElementById("top").hidden = false;
  hideBanner();
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", page && a.dataset.nav === page.nav);
  }
  const main = document.getElementById("main");
  const view = el("div", { class: "page" });
  replace(main, view);
  if (!page) {
    view.append(el("h1", null, "Not found"), el("p", null, "There is no such page. ", el("a", { href: "#/" }, "Back to the dashboard.")));
    return;
  }
  try {
    await page.render(view, r.rest, r.params);
  } catch (e) {
    if (seq === renderSeq) reportError(e);
  }
}

/** Starts (or restarts after sign-in) the console. */
function start() {
  clearInterval(statusTimer);
  refreshStatus()
    .then(() => {
      statusTimer = setInterval(() => refreshStatus().catch(reportError), STATUS_EVERY_MS);
      return route();
    })
    .catch((e) => {
      if (e instanceof ApiError && e.status === 401) return;
      document.getElementById("top").hidden = false;
      reportError(e);
      route();
    });
}

function init() {
  takeKeyFromAddress();
  document.getElementById("sign-out").addEventListener("click", () => {
    clearKey();
    showSignIn("Signed out.");
  });
  window.addEventListener("hashchange", () => {
    takeKeyFromAddress();
    if (getKey()) route();
  });
  if (getKey()) start();
  else showSignIn();
}

init();
