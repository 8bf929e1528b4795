// The agent desk: sign-in with the agent id and password (the session
// token is kept in sessionStorage, so it ends with the tab), the agent's
// state buttons, the screen-pop of an offered call's handoff package
// (summary, customer, intent and slots, emotion strip, transcript), the
// live transcript of the current call, and the wrap-up form with its
// countdown.

import { ApiError, el, getJson, hideBanner, onUnauthorized, replace, reportError, send, showBanner, useKeySource } from "./ui.js";
import { connectLive, liveStatus, offset, stateBadge, utterance } from "./live.js";

const SESSION_ITEM = "kefu.agentSession";
const DEFAULT_WRAP_UP_SECS = 15;

let session = loadSession();
let current = null; // the call offered to or taken by this agent
let wrapUpSecs = DEFAULT_WRAP_UP_SECS;
let wrapUpTimer = 0;
let closeLive = () => {};

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_ITEM) || "null");
    return s && s.token && s.expires_at > Date.now() ? s : null;
  } catch {
    return null;
  }
}

function saveSession(s) {
  session = s;
  try {
    if (s) sessionStorage.setItem(SESSION_ITEM, JSON.stringify(s));
    else sessionStorage.removeItem(SESSION_ITEM);
  } catch {
    // Storage refused: the session lasts for this page only.
  }
}

useKeySource(() => (session ? session.token : ""));

const $ = (id) => document.getElementById(id);

/** Shows the sign-in form, with `message` when there is one. */
function showSignIn(message) {
  closeLive();
  $("top").hidden = true;
  $("desk").hidden = true;
  $("sign-in-box").hidden = false;
  const msg = $("sign-in-message");
  msg.hidden = !message;
  msg.textContent = message || "";
}

async function signIn(ev) {
  ev.preventDefault();
  const agent = $("sign-in-agent").value.trim();
  const password = $("sign-in-password").value;
  try {
    const res = await fetch("/api/agent/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ agent, password }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      showSignIn(body.error || `Sign-in failed (${res.status}).`);
      return;
    }
    $("sign-in-password").value = "";
    saveSession(body);
    start();
  } catch (e) {
    showSignIn(`Cannot reach kefu: ${e.message}`);
  }
}

/** Shows the agent's state, and the wrap-up bar while in wrap-up. */
function showState(state, sinceMs) {
  replace($("agent-state"), stateBadge(state));
  for (const b of document.querySelectorAll("[data-presence]")) {
    b.classList.toggle("secondary", b.dataset.presence !== state);
  }
  const bar = $("wrap-up");
  clearInterval(wrapUpTimer);
  bar.hidden = state !== "wrap_up";
  if (state !== "wrap_up") return;
  const until = (sinceMs || Date.now()) + wrapUpSecs * 1000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    $("wrap-up-countdown").textContent = left ? `ready in ${left} s` : "ready now";
  };
  tick();
  wrapUpTimer = setInterval(tick, 1000);
}

async function setPresence(presence) {
  try {
    await send("POST", `/api/agents/${encodeURIComponent(session.agent)}/presence`, { presence });
    hideBanner();
  } catch (e) {
    reportError(e);
  }
}

/** A strip of coloured cells, one per emotion point, across the call. */
function emotionStrip(points) {
  if (!points || !points.length) return el("p", { class: "muted" }, "No emotion readings.");
  const end = Math.max(...points.map((p) => Number(p.at_ms) || 0)) || 1;
  const cells = points.map((p, i) => {
    const next = i + 1 < points.length ? Number(points[i + 1].at_ms) : end * 1.1;
    const width = Math.max(4, ((next - Number(p.at_ms || 0)) / (end * 1.1)) * 100);
    const cell = el("span", { class: `emo-cell emo-${p.level}`, title: `${offset(p.at_ms)} ${p.level}` });
    // Through the CSSOM: the page's CSP refuses style attributes.
    cell.style.flexGrow = width.toFixed(1);
    return cell;
  });
  return el("div", { class: "emotion-strip", id: "emotion-strip" }, cells);
}

/** The screen-pop of a handoff package. */
function renderPackage(h) {
  const p = h.package || {};
  const c = p.customer || {};
  const slots = Object.entries(p.slots || {});
  const box = $("screen-pop");
  replace(
    box,
    el("h2", null, "Caller ", el("span", { class: "muted" }, p.caller || "")),
    el("p", { class: "summary", id: "pop-summary" }, p.summary || "No summary."),
    el(
      "dl",
      { class: "facts" },
      el("dt", null, "Customer"),
      el("dd", null, c.name || "unknown", c.vip_level ? el("span", { class: "badge vip" }, `VIP ${c.vip_level}`) : null),
      el("dt", null, "Region"),
      el("dd", null, c.region || "—"),
      el("dt", null, "Tags"),
      el("dd", null, (c.tags || []).length ? c.tags.map((t) => el("span", { class: "badge tag" }, t)) : "—"),
      el("dt", null, "Intent"),
      el("dd", null, p.intent ? el("span", { class: "badge intent" }, p.intent) : "—", slots.map(([k, v]) => el("span", { class: "badge" }, `${k}: ${v}`))),
      el("dt", null, "Reason"),
      el("dd", null, p.reason || "—"),
      el("dt", null, "Queue"),
      el("dd", null, h.queue || p.queue || "—"),
    ),
    el("h3", null, "Emotion"),
    emotionStrip(p.emotion),
    el("h3", null, "What was said"),
    el("ol", { class: "conversation", id: "pop-transcript" }, (p.transcript || []).map((l) => utterance(l.speaker, offset(l.at_ms), l.text))),
  );
}

async function popUp(handoffId) {
  try {
    renderPackage(await getJson(`/api/handoffs/${encodeURIComponent(handoffId)}`));
  } catch (e) {
    reportError(e);
  }
}

/** Follows `callId` as the current call: its live transcript starts empty. */
function follow(callId) {
  if (current === callId) return;
  current = callId;
  replace($("live-transcript"));
}

function onEvent(ev) {
  const me = session && session.agent;
  switch (ev.type) {
    case "snapshot": {
      const mine = (ev.agents || []).find((a) => a.id === me);
      if (mine) showState(mine.state, mine.since_ms);
      const call = (ev.calls || [])[0];
      if (call && call.call_id !== current) {
        follow(call.call_id);
        getJson(`/api/calls/${encodeURIComponent(call.call_id)}/handoffs`)
          .then((list) => list.length && renderPackage(list[list.length - 1]))
          .catch(reportError);
      }
      break;
    }
    case "offer":
      if (ev.agent === me) {
        follow(ev.call_id);
        popUp(ev.handoff_id);
      }
      break;
    case "line":
      if (ev.call_id === current) {
        const t = new Date(ev.at);
        const when = `${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}:${String(t.getSeconds()).padStart(2, "0")}`;
        $("live-transcript").append(utterance(ev.speaker, when, ev.text));
      }
      break;
    case "agent_state":
      if (ev.agent === me) showState(ev.state, Date.now());
      break;
    default:
      break;
  }
}

async function saveWrapUp(ev) {
  ev.preventDefault();
  if (!current) {
    showBanner("There is no call to record a disposition for.");
    return;
  }
  try {
    await send("POST", `/api/calls/${encodeURIComponent(current)}/dispositions`, { code: $("wrap-up-code").value, note: $("wrap-up-note").value });
    $("wrap-up-note").value = "";
    showBanner("Disposition saved.", "ok");
  } catch (e) {
    reportError(e);
  }
}

async function endWrapUp() {
  try {
    await send("POST", `/api/agents/${encodeURIComponent(session.agent)}/ready`);
  } catch (e) {
    reportError(e);
  }
}

/** Opens the desk for the signed-in agent. */
function start() {
  $("sign-in-box").hidden = true;
  $("top").hidden = false;
  $("desk").hidden = false;
  $("agent-name").textContent = session.agent;
  getJson(`/api/agents/${encodeURIComponent(session.agent)}`)
    .then((a) => {
      if (a && Number(a.wrap_up_secs) > 0) wrapUpSecs = Number(a.wrap_up_secs);
    })
    .catch((e) => {
      if (!(e instanceof ApiError && e.status === 404)) reportError(e);
    });
  closeLive();
  closeLive = connectLive(session.token, onEvent, (text, ok) => liveStatus($("status"), text, ok));
}

function init() {
  $("sign-in").addEventListener("submit", signIn);
  for (const b of document.querySelectorAll("[data-presence]")) {
    b.addEventListener("click", () => setPresence(b.dataset.presence));
  }
  $("wrap-up-form").addEventListener("submit", saveWrapUp);
  $("wrap-up-ready").addEventListener("click", endWrapUp);
  $("sign-out").addEventListener("click", async () => {
    await send("POST", "/api/agent/logout").catch(() => {});
    saveSession(null);
    showSignIn("Signed out.");
  });
  onUnauthorized(() => {
    saveSession(null);
    showSignIn("Your session has ended. Sign in again.");
  });
  if (session) start();
  else showSignIn();
}

init();
