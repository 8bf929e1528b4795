// The live feed (`/api/live`) for the agent and supervisor pages: one
// websocket carrying the secret as `?token=` (browsers cannot set headers
// on websockets), a snapshot first and then events, reconnecting with a
// growing pause when the connection drops. Shared formatting of the desk's
// states lives here too.

import { badge, el } from "./ui.js";

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;

/**
 * Connects to the live feed with `secret`; calls `onEvent(ev)` for each
 * event (the snapshot included) and `onStatus(text, ok)` when the
 * connection opens or drops. Returns a function that closes it for good.
 */
export function connectLive(secret, onEvent, onStatus) {
  let socket = null;
  let closed = false;
  let retry = RETRY_MIN_MS;
  let timer = 0;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const open = () => {
    socket = new WebSocket(`${scheme}://${location.host}/api/live?token=${encodeURIComponent(secret)}`);
    socket.onopen = () => {
      retry = RETRY_MIN_MS;
      onStatus("live", true);
    };
    socket.onmessage = (m) => {
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      onEvent(ev);
    };
    socket.onclose = () => {
      if (closed) return;
      onStatus(`disconnected, retrying in ${Math.round(retry / 1000)} s`, false);
      timer = setTimeout(open, retry);
      retry = Math.min(retry * 2, RETRY_MAX_MS);
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    if (socket) socket.close();
  };
}

/** The badge of an agent or call state (ready, ringing, wrap_up, queued…). */
export function stateBadge(state) {
  return badge(String(state || "unknown").replace(/_/g, " "), `state state-${state}`);
}

/** `m:ss` since `ms` (epoch ms) until now. */
export function since(ms) {
  if (!ms) return "—";
  const secs = Math.max(0, Math.round((Date.now() - Number(ms)) / 1000));
  return `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
}

/** `m:ss` of an offset in ms from the call's start. */
export function offset(ms) {
  const secs = Math.max(0, Math.round(Number(ms || 0) / 1000));
  return `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
}

/** A transcript line: speaker, time, text (always inserted as text). */
export function utterance(speaker, when, text) {
  const who = speaker === "caller" ? "from-caller" : speaker === "agent" ? "from-agent" : "from-bot";
  return el(
    "li",
    { class: `utterance ${who}` },
    el("div", { class: "utterance-meta" }, el("strong", null, speaker || "?"), el("span", null, when)),
    el("p", { class: "utterance-text" }, text),
  );
}

/** A status dot and text for the header. */
export function liveStatus(box, text, ok) {
  box.replaceChildren(el("span", { class: `dot ${ok ? "dot-live" : ""}`.trim() }), el("span", { id: "live-status" }, text));
}
