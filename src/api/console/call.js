// One call: its summary, the transcript as a conversation, the recording
// (fetched with the key into a blob URL for the player), the quality
// inspection with its review form, dispositions and the event log.

import {
  badge,
  el,
  emotionBadge,
  fmtDuration,
  fmtNumber,
  fmtTime,
  getJson,
  outcomeBadge,
  replace,
  reportError,
  request,
  send,
  showBanner,
  table,
} from "./ui.js";
import { callDuration } from "./calls.js";

const SPEAKERS = { caller: "Caller", bot: "Bot", agent: "Agent" };

function definitions(pairs) {
  return el(
    "dl",
    { class: "facts" },
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [el("dt", null, k), el("dd", null, v)]),
  );
}

function summary(c) {
  const t = c.talk;
  return el(
    "section",
    { class: "panel", id: "call-summary" },
    el("h2", null, "Summary"),
    definitions([
      ["Caller", c.caller],
      ["Called", c.called],
      ["Direction", c.direction],
      ["Dialplan", c.dialplan],
      ["Started", fmtTime(c.started_at)],
      ["Answered", c.answered_at ? fmtTime(c.answered_at) : null],
      ["Ended", c.ended_at ? `${fmtTime(c.ended_at)} (${c.end_reason || "—"})` : "in progress"],
      ["Duration", fmtDuration(callDuration(c))],
      ["Outcome", outcomeBadge(c.outcome)],
      ["Transfer", c.transfer ? `${c.transfer.target} — ${c.transfer.reason} at ${fmtTime(c.transfer.at)}` : null],
      ["Intents", (c.intents || []).length ? c.intents.map((i) => badge(i, "intent")) : null],
      ["Emotion", c.emotion_peak ? [emotionBadge(c.emotion_start), " → ", emotionBadge(c.emotion_end), " peak ", emotionBadge(c.emotion_peak)] : null],
      ["CSAT", c.csat ? `${c.csat} / 5` : null],
      ["Tags", (c.tags || []).length ? c.tags.map((g) => badge(g, "tag")) : null],
      ["Campaign", c.campaign_id],
      ["Talk", t ? `caller ${fmtDuration(t.caller_ms)} · bot/agent ${fmtDuration(t.agent_ms)} · silence ${fmtDuration(t.silence_ms)} · overlap ${fmtDuration(t.overlap_ms)} · ${t.barge_ins} barge-ins` : null],
      ["Hold", t && t.hold_ms ? `${fmtDuration(t.hold_ms)} (longest ${fmtDuration(t.longest_hold_ms)})` : null],
    ]),
  );
}

function transcript(c) {
  const lines = c.lines || [];
  const offset = (ms) => fmtDuration(ms - (c.answered_at || c.started_at));
  return el(
    "section",
    { class: "panel", id: "transcript" },
    el("h2", null, "Transcript"),
    lines.length
      ? el(
          "ol",
          { class: "conversation" },
          lines.map((l) =>
            el(
              "li",
              { class: `utterance from-${l.speaker}` },
              el(
                "div",
                { class: "utterance-meta" },
                el("strong", null, SPEAKERS[l.speaker] || l.speaker),
                el("time", { title: fmtTime(l.started_at) }, offset(l.started_at)),
                emotionBadge(l.emotion),
                l.intent ? badge(l.intent, "intent") : null,
                typeof l.confidence === "number" ? el("span", { class: "confidence", title: "recognition confidence" }, `${Math.round(l.confidence * 100)}%`) : null,
              ),
              el("p", { class: "utterance-text", lang: /[\u3400-\u9fff]/.test(l.text) ? "zh" : null }, l.text),
            ),
          ),
        )
      : el("p", { class: "muted" }, "No transcript."),
  );
}

function fmtBytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;
}

function recording(c) {
  const box = el("section", { class: "panel", id: "recording" }, el("h2", null, "Recording"));
  const rec = c.recording;
  if (!rec && !c.recorded) {
    box.append(el("p", { class: "muted" }, "Not recorded."));
    return box;
  }
  const info = rec ? el("p", { class: "muted" }, `${fmtDuration(rec.duration_ms)} · ${fmtBytes(rec.bytes)} · ${rec.format}`) : null;
  const slot = el("div", null, el("p", { class: "muted" }, "Loading the recording…"));
  box.append(info, slot);
  request(`/api/calls/${encodeURIComponent(c.id)}/recording`)
    .then((res) => res.blob())
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      replace(slot, el("audio", { controls: true, preload: "metadata", src: url, id: "recording-player" }), el("p", null, el("a", { href: url, download: `${c.id}.wav` }, "Download WAV")));
    })
    .catch((e) => replace(slot, el("p", { class: "error" }, `Cannot load the recording: ${e.message}`)));
  return box;
}

function qaContent(qa) {
  if (!qa) return [el("p", { class: "muted" }, "Not inspected yet.")];
  const flags = qa.auto && qa.auto.flags ? qa.auto.flags : [];
  const review = qa.review;
  return [
    el(
      "div",
      { class: "figures" },
      el("div", { class: "figure" }, el("div", { class: "figure-value", id: "qa-score" }, fmtNumber(qa.score)), el("div", { class: "figure-label" }, review && review.score !== null && review.score !== undefined ? "Reviewed score" : "Automatic score")),
      qa.auto && review && review.score !== null && review.score !== undefined ? el("div", { class: "figure" }, el("div", { class: "figure-value" }, fmtNumber(qa.auto.score)), el("div", { class: "figure-label" }, "Automatic")) : null,
    ),
    flags.length
      ? el(
          "ul",
          { class: "flags" },
          flags.map((f) => el("li", null, badge(f.severity, `sev sev-${f.severity}`), " ", el("code", null, f.code), " ", f.detail)),
        )
      : el("p", { class: "muted" }, "No findings."),
    qa.auto && qa.auto.checks ? el("details", null, el("summary", null, "Every check"), el("pre", null, JSON.stringify(qa.auto.checks, null, 2))) : null,
    review ? el("p", { class: "review-note" }, `Reviewed by ${review.reviewer} at ${fmtTime(review.at)}: `, review.note || "(no note)") : null,
  ];
}

function qaSection(c) {
  const content = el("div", null, qaContent(c.qa));
  const form = el(
    "form",
    { class: "stack narrow", id: "qa-review" },
    el("h3", null, "Review"),
    el("label", null, "Score (0–100, empty keeps the automatic one)", el("input", { type: "number", name: "score", min: 0, max: 100, step: 1 })),
    el("label", null, "Note", el("textarea", { name: "note", rows: 3 })),
    el("button", { type: "submit" }, "Save review"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { note: String(f.get("note") || "") };
    if (String(f.get("score") || "").trim() !== "") body.score = Number(f.get("score"));
    send("PUT", `/api/calls/${encodeURIComponent(c.id)}/qa`, body)
      .then((qa) => (qa && qa.auto ? qa : getJson(`/api/calls/${encodeURIComponent(c.id)}/qa`)))
      .then((qa) => {
        replace(content, qaContent(qa));
        form.reset();
        showBanner("Review saved.", "ok");
      })
      .catch(reportError);
  });
  return el("section", { class: "panel", id: "qa" }, el("h2", null, "Quality inspection"), content, form);
}

function dispositionRows(list) {
  return table(
    [
      { label: "Time", cell: (d) => fmtTime(d.at) },
      { label: "Code", cell: (d) => el("code", null, d.code) },
      { label: "Note", cell: (d) => d.note || "" },
    ],
    list,
    "No dispositions.",
  );
}

function dispositions(c) {
  const list = [...(c.dispositions || [])];
  const holder = el("div", null, dispositionRows(list));
  const form = el(
    "form",
    { class: "toolbar", id: "disposition-form" },
    el("label", null, "Code ", el("input", { name: "code", required: true, placeholder: "callback", pattern: "[A-Za-z0-9_.\\-]+" })),
    el("label", { class: "grow" }, "Note ", el("input", { name: "note" })),
    el("button", { type: "submit" }, "Add"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { code: String(f.get("code")).trim(), note: String(f.get("note") || "") };
    send("POST", `/api/calls/${encodeURIComponent(c.id)}/dispositions`, body)
      .then((d) => {
        list.push(d && d.code ? d : { ...body, at: Date.now() });
        replace(holder, dispositionRows(list));
        form.reset();
      })
      .catch(reportError);
  });
  return el("section", { class: "panel", id: "dispositions" }, el("h2", null, "Dispositions"), holder, form);
}

function events(c) {
  const start = c.started_at;
  return el(
    "section",
    { class: "panel", id: "events" },
    el(
      "details",
      null,
      el("summary", null, `Event log (${(c.events || []).length})`),
      table(
        [
          { label: "At", class: "num", cell: (e) => el("span", { title: fmtTime(e.at) }, fmtDuration(e.at - start)) },
          { label: "Event", cell: (e) => el("code", null, e.kind) },
          { label: "Details", cell: (e) => el("code", { class: "json" }, e.data === null || e.data === undefined ? "" : JSON.stringify(e.data)) },
        ],
        c.events || [],
        "No events.",
      ),
    ),
  );
}

/** `#/calls/ID`. */
export async function renderCall(view, id) {
  const c = await getJson(`/api/calls/${encodeURIComponent(id)}`);
  view.append(
    el("p", { class: "crumbs" }, el("a", { href: "#/calls" }, "Calls"), " / "),
    el("h1", null, `Call from ${c.caller}`, " ", outcomeBadge(c.outcome)),
    el("div", { class: "grid-call" }, el("div", null, transcript(c)), el("div", null, summary(c), recording(c), qaSection(c), dispositions(c))),
    events(c),
  );
}
