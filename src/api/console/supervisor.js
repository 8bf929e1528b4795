// The supervisor's floor: live calls (bot and human), queues with their
// waiting callers and idle agents, and agents with their states, kept up
// to date by the live feed without reloading; a click on a call follows
// its transcript (what is stored so far, then each new line). Signs in
// with a supervisor API key (also taken once from `#key=…`).

import { ApiError, clearKey, el, figure, getJson, getKey, replace, reportError, setKey, table } from "./ui.js";
import { connectLive, liveStatus, since, stateBadge, utterance } from "./live.js";

const $ = (id) => document.getElementById(id);
const TICK_MS = 1000;

/** The floor as last known: maps by id, updated by each event. */
const floor = { agents: new Map(), queues: new Map(), calls: new Map() };
let followed = null;
let closeLive = () => {};

function showSignIn(message) {
  closeLive();
  $("floor").hidden = true;
  $("sign-in-box").hidden = false;
  const msg = $("sign-in-message");
  msg.hidden = !message;
  msg.textContent = message || "";
}

function takeKeyFromAddress() {
  const m = /(?:^#|[#&?])key=([^&]+)/.exec(location.hash);
  if (!m) return;
  setKey(decodeURIComponent(m[1]).trim());
  history.replaceState(null, "", location.pathname + location.search);
}

function render() {
  const calls = [...floor.calls.values()].sort((a, b) => (a.started_ms || 0) - (b.started_ms || 0));
  const agents = [...floor.agents.values()].sort((a, b) => a.id.localeCompare(b.id));
  const queues = [...floor.queues.values()].sort((a, b) => a.name.localeCompare(b.name));
  const waiting = queues.reduce((n, q) => n + (q.waiting || []).length, 0);
  replace(
    $("figures"),
    figure("Live calls", String(calls.length)),
    figure("With agents", String(calls.filter((c) => c.state === "agent").length)),
    figure("Waiting", String(waiting)),
    figure("Agents ready", String(agents.filter((a) => a.state === "ready").length)),
  );
  replace(
    $("live-calls"),
    table(
      [
        { label: "Caller", cell: (c) => el("button", { type: "button", class: "link call-follow", dataset: { call: c.call_id }, onclick: () => followCall(c.call_id) }, c.caller || c.call_id) },
        { label: "State", cell: (c) => stateBadge(c.state) },
        { label: "Queue", cell: (c) => c.queue || "—" },
        { label: "Agent", cell: (c) => c.agent || "—" },
        { label: "Time", class: "num", cell: (c) => since(c.started_ms) },
      ],
      calls,
      "No calls right now.",
    ),
  );
  replace(
    $("queues"),
    queues.length
      ? queues.map((q) =>
          el(
            "div",
            { class: "queue", dataset: { queue: q.name } },
            el("h3", null, q.name, " ", el("span", { class: "muted" }, `${(q.waiting || []).length} waiting · idle: ${(q.idle || []).join(", ") || "none"}`)),
            table(
              [
                { label: "#", class: "num", cell: (w) => String(w.position) },
                { label: "Caller", cell: (w) => el("span", { class: "waiting-caller" }, w.caller) },
                { label: "Waited", class: "num", cell: (w) => `${w.waited_secs} s` },
                { label: "Priority", class: "num", cell: (w) => String(w.priority) },
              ],
              q.waiting || [],
              "No one waiting.",
            ),
          ),
        )
      : el("p", { class: "muted" }, "No queues."),
  );
  replace(
    $("agents"),
    table(
      [
        { label: "Agent", cell: (a) => el("span", null, a.name || a.id, " ", el("span", { class: "muted" }, a.id)) },
        { label: "State", cell: (a) => el("span", { class: "agent-state", dataset: { agent: a.id } }, stateBadge(a.state)) },
        { label: "Calls", class: "num", cell: (a) => String(a.calls ?? 0) },
        { label: "Since", class: "num", cell: (a) => since(a.since_ms) },
      ],
      agents,
      "No agents.",
    ),
  );
}

/** Follows a call's transcript: what is stored, then live lines. */
async function followCall(callId) {
  followed = callId;
  $("call-panel-id").textContent = callId;
  $("call-panel-hint").hidden = true;
  const list = $("call-transcript");
  replace(list);
  try {
    const t = await getJson(`/api/calls/${encodeURIComponent(callId)}/transcript`);
    if (followed !== callId) return;
    list.prepend(...(t.lines || []).map((l) => utterance(l.speaker, clock(l.started_at), l.text)));
  } catch (e) {
    // A call still on the line may not be stored yet.
    if (!(e instanceof ApiError && e.status === 404)) reportError(e);
  }
}

function clock(ms) {
  const t = new Date(Number(ms));
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/** The caller's number of a call known only from a queue's waiting list. */
function callerOf(callId) {
  for (const q of floor.queues.values()) {
    const w = (q.waiting || []).find((x) => x.call_id === callId);
    if (w) return w.caller;
  }
  return "";
}

function onEvent(ev) {
  switch (ev.type) {
    case "snapshot":
      floor.agents = new Map((ev.agents || []).map((a) => [a.id, a]));
      floor.queues = new Map((ev.queues || []).map((q) => [q.name, q]));
      floor.calls = new Map((ev.calls || []).map((c) => [c.call_id, c]));
      break;
    case "call_started":
      floor.calls.set(ev.call_id, { call_id: ev.call_id, caller: ev.caller, state: "bot", started_ms: ev.at });
      break;
    case "call_state": {
      if (ev.state === "ended") {
        floor.calls.delete(ev.call_id);
        break;
      }
      const c = floor.calls.get(ev.call_id) || { call_id: ev.call_id, caller: callerOf(ev.call_id), started_ms: Date.now() };
      floor.calls.set(ev.call_id, { ...c, state: ev.state, queue: ev.queue, agent: ev.agent });
      break;
    }
    case "call_ended":
      floor.calls.delete(ev.call_id);
      break;
    case "agent_state": {
      const a = floor.agents.get(ev.agent) || { id: ev.agent, name: ev.agent };
      floor.agents.set(ev.agent, { ...a, state: ev.state, calls: ev.calls, since_ms: Date.now() });
      break;
    }
    case "queue_state":
      floor.queues.set(ev.queue, { name: ev.queue, waiting: ev.waiting || [], idle: ev.idle || [] });
      break;
    case "offer": {
      const c = floor.calls.get(ev.call_id);
      if (c) floor.calls.set(ev.call_id, { ...c, state: "ringing", agent: ev.agent });
      break;
    }
    case "line":
      if (ev.call_id === followed) $("call-transcript").append(utterance(ev.speaker, clock(ev.at), ev.text));
      return;
    default:
      return;
  }
  render();
}

async function start() {
  $("sign-in-box").hidden = true;
  try {
    await getJson("/api/desk");
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      clearKey();
      showSignIn(`The API key was not accepted: ${e.message}`);
    } else {
      reportError(e);
    }
    return;
  }
  $("floor").hidden = false;
  closeLive();
  closeLive = connectLive(getKey(), onEvent, (text, ok) => liveStatus($("status"), text, ok));
}

function init() {
  takeKeyFromAddress();
  $("sign-in").addEventListener("submit", (ev) => {
    ev.preventDefault();
    setKey($("sign-in-key").value.trim());
    start();
  });
  setInterval(() => {
    if (!$("floor").hidden) render();
  }, TICK_MS);
  if (getKey()) start();
  else showSignIn();
}

init();
