//! Per-call journal state: turns what is seen on a call into store writes
//! and webhook events, and at the end works out the call's outcome.
//!
//! Outcome: a call whose transfer was accepted is `transferred`; one kefu
//! hung up on (its dialplan finished) is `resolved`; one the caller hung
//! up on is `resolved` when the caller's last input was understood and
//! `abandoned` otherwise (no input at all, or left unanswered); a call
//! cancelled before answer is `missed`; media timeouts, signalling
//! failures and refused offers are `failed`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kefu_core::dialogue::emotion::Level;
use kefu_core::dialogue::flow::Flow;
use kefu_core::dialogue::Note;
use kefu_core::engine::{CallEvent, EndReason};
use kefu_core::quality::Talk;
use kefu_core::CallId;
use serde_json::json;

use super::writer::Writer;
use super::{Entry, What};
use crate::storage::{
    new_call_id, CallEnd, Direction, Event, Line, Millis, NewCall, NewOutboxEvent, Outcome,
    Recording, Speaker, TransferInfo, Write,
};

/// How long an ended call's id is kept for its recording to arrive.
const KEEP_ENDED: Duration = Duration::from_secs(600);

/// One call in progress.
struct Call {
    id: String,
    caller: String,
    called: String,
    dialplan: String,
    started_at: Millis,
    answered_at: Option<Millis>,
    flow: Option<Arc<Flow>>,
    lines: Vec<(Speaker, String, Millis)>,
    intents: Vec<String>,
    last_understood: Option<bool>,
    emotions: Vec<Level>,
    tags: Vec<String>,
    csat: Option<u8>,
    pending_transfer: Option<TransferInfo>,
    transfer: Option<TransferInfo>,
    talk: Talk,
}

/// Every call the journal knows.
pub(super) struct Calls {
    dialplan: String,
    data_dir: PathBuf,
    live: HashMap<CallId, Call>,
    ended: HashMap<CallId, (String, Instant)>,
}

impl Calls {
    pub(super) fn new(dialplan: String, data_dir: PathBuf) -> Calls {
        Calls {
            dialplan,
            data_dir,
            live: HashMap::new(),
            ended: HashMap::new(),
        }
    }

    /// Forgets ended calls whose recording never came.
    pub(super) fn prune(&mut self, now: Instant) {
        self.ended
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < KEEP_ENDED);
    }

    /// Takes one entry; its writes go to `out`.
    pub(super) fn take(&mut self, e: Entry, out: &mut Writer) {
        let Entry {
            call,
            at,
            wall,
            what,
        } = e;
        match what {
            What::Offered {
                info,
                sip_call_id,
                flow,
            } => {
                let c = Call {
                    id: new_call_id(wall),
                    caller: info.caller,
                    called: info.called,
                    dialplan: flow
                        .as_ref()
                        .map(|f| f.plan.name.clone())
                        .unwrap_or_else(|| self.dialplan.clone()),
                    started_at: wall,
                    answered_at: None,
                    flow,
                    lines: Vec::new(),
                    intents: Vec::new(),
                    last_understood: None,
                    emotions: Vec::new(),
                    tags: Vec::new(),
                    csat: None,
                    pending_transfer: None,
                    transfer: None,
                    talk: Talk::default(),
                };
                tracing::info!(call = %call, id = %c.id, "call record opened");
                out.push(Write::CallStarted(NewCall {
                    id: c.id.clone(),
                    direction: Direction::Inbound,
                    sip_call_id,
                    caller: c.caller.clone(),
                    called: c.called.clone(),
                    dialplan: c.dialplan.clone(),
                    started_at: wall,
                    campaign_id: None,
                    contact_id: None,
                }));
                out.push(outbox(
                    "call.started",
                    &c.id,
                    wall,
                    json!({
                        "call_id": c.id,
                        "direction": "inbound",
                        "caller": c.caller,
                        "called": c.called,
                        "dialplan": c.dialplan,
                        "started_at": wall,
                    }),
                ));
                self.live.insert(call, c);
            }
            What::Recorded(path) => self.recorded(call, &path, wall, out),
            What::Event(CallEvent::Ended(reason)) => {
                if let Some(c) = self.live.remove(&call) {
                    self.ended.insert(call, (c.id.clone(), at));
                    end(c, reason, wall, out);
                }
            }
            what => {
                if let Some(c) = self.live.get_mut(&call) {
                    c.take(what, at, wall, out);
                }
            }
        }
    }

    fn recorded(&mut self, call: CallId, path: &Path, wall: Millis, out: &mut Writer) {
        let id = match self.live.get(&call) {
            Some(c) => c.id.clone(),
            None => match self.ended.remove(&call) {
                Some((id, _)) => id,
                None => return,
            },
        };
        let bytes = std::fs::metadata(path).map(|m| m.len() as i64).unwrap_or(0);
        // 16-bit stereo at 8 kHz after a 44-byte header.
        let duration_ms = (bytes - 44).max(0) / 4 / 8;
        let shown = path
            .strip_prefix(&self.data_dir)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf());
        out.push(Write::Recording(Recording {
            call_id: id,
            path: shown.display().to_string(),
            format: "wav".into(),
            bytes,
            duration_ms,
            at: wall,
        }));
    }
}

impl Call {
    fn take(&mut self, what: What, at: Instant, wall: Millis, out: &mut Writer) {
        let id = self.id.clone();
        let event = |kind: &str, data: serde_json::Value| Write::Event {
            call: id.clone(),
            event: Event {
                at: wall,
                kind: kind.into(),
                data,
            },
        };
        match what {
            What::Event(CallEvent::Answered) => {
                self.answered_at = Some(wall);
                out.push(Write::Answered {
                    call: id.clone(),
                    at: wall,
                });
            }
            What::Event(CallEvent::Digit(d)) => {
                out.push(event("digit", json!({ "key": d.to_string() })))
            }
            What::Event(CallEvent::Heard {
                text,
                started,
                ended,
            }) => {
                let ms = |t: Instant| wall - at.saturating_duration_since(t).as_millis() as Millis;
                let (s, e) = (ms(started), ms(ended));
                self.lines.push((Speaker::Caller, text.clone(), s));
                out.push(Write::Line {
                    call: id.clone(),
                    line: Line {
                        speaker: Speaker::Caller,
                        text,
                        started_at: s,
                        ended_at: e,
                        confidence: None,
                        emotion: None,
                        intent: None,
                    },
                });
            }
            What::Event(CallEvent::Said(text)) => {
                self.lines.push((Speaker::Bot, text.clone(), wall));
                out.push(Write::Line {
                    call: id.clone(),
                    line: Line {
                        speaker: Speaker::Bot,
                        text,
                        started_at: wall,
                        ended_at: wall,
                        confidence: None,
                        emotion: None,
                        intent: None,
                    },
                });
            }
            What::Event(CallEvent::BargeIn) => out.push(event("barge_in", json!({}))),
            What::Event(CallEvent::Talk(t)) => self.talk = t,
            What::Event(CallEvent::Ended(_)) => {}
            What::Note(note) => self.note(note, wall, out, &event),
            What::Request(kind) => out.push(event("request", json!({ "kind": kind }))),
            What::TransferFailed(why) => {
                let target = self.pending_transfer.take().map(|t| t.target);
                out.push(event(
                    "transfer_failed",
                    json!({ "target": target, "why": why }),
                ));
            }
            What::Transferred(target) => {
                let info = match self.pending_transfer.take() {
                    Some(t) if t.target == target => TransferInfo { at: wall, ..t },
                    _ => TransferInfo {
                        target,
                        reason: "step".into(),
                        at: wall,
                    },
                };
                out.push(event(
                    "transferred",
                    json!({ "target": info.target, "reason": info.reason }),
                ));
                out.push(Write::Transfer {
                    call: id.clone(),
                    transfer: info.clone(),
                });
                out.push(outbox(
                    "call.transferred",
                    &id,
                    wall,
                    json!({
                        "call_id": id,
                        "caller": self.caller,
                        "called": self.called,
                        "target": info.target,
                        "reason": info.reason,
                        "at": wall,
                        "intents": self.intents,
                        "emotion": self.emotions.last().map(|l| l.name()),
                        "transcript": self.transcript(),
                    }),
                ));
                self.transfer = Some(info);
            }
            What::Offered { .. } | What::Recorded(_) => {}
        }
    }

    fn note(
        &mut self,
        note: Note,
        wall: Millis,
        out: &mut Writer,
        event: &dyn Fn(&str, serde_json::Value) -> Write,
    ) {
        let id = self.id.clone();
        match note {
            Note::Emotion(e) => {
                self.emotions.push(e.level);
                out.push(Write::LineEmotion {
                    call: id,
                    emotion: e.level.name().into(),
                });
                out.push(event(
                    "emotion",
                    json!({
                        "level": e.level.name(),
                        "score": (e.score * 100.0).round() / 100.0,
                        "reasons": e.reasons,
                    }),
                ));
            }
            Note::Understood {
                intent,
                confidence,
                step,
            } => {
                self.last_understood = Some(intent.is_some());
                if let Some(i) = &intent {
                    if !self.intents.contains(i) {
                        self.intents.push(i.clone());
                    }
                    out.push(Write::LineIntent {
                        call: id,
                        intent: i.clone(),
                    });
                }
                out.push(event(
                    "understood",
                    json!({
                        "intent": intent,
                        "confidence": (confidence * 100.0).round() / 100.0,
                        "step": step,
                    }),
                ));
            }
            Note::Tag(tag) => {
                if !self.tags.contains(&tag) {
                    self.tags.push(tag.clone());
                }
                out.push(Write::Tag {
                    call: id,
                    phone: self.caller.clone(),
                    tag,
                    at: wall,
                });
            }
            Note::Error(e) => out.push(event("error", json!({ "error": e }))),
            Note::Transfer { target, reason } => {
                out.push(event(
                    "transfer_requested",
                    json!({ "target": target, "reason": reason }),
                ));
                self.pending_transfer = Some(TransferInfo {
                    target,
                    reason,
                    at: wall,
                });
            }
            Note::Survey(score) => {
                self.csat = Some(score);
                out.push(Write::Csat {
                    call: id,
                    score,
                    at: wall,
                });
            }
        }
    }

    /// The conversation so far, for the agent a call is handed to.
    fn transcript(&self) -> serde_json::Value {
        self.lines
            .iter()
            .map(|(who, text, at)| {
                json!({
                    "speaker": who,
                    "text": text,
                    "at": at,
                })
            })
            .collect()
    }
}

/// The call is over: its end, QA and webhooks.
fn end(c: Call, reason: EndReason, wall: Millis, out: &mut Writer) {
    let outcome = outcome(&c, reason);
    let talk = super::qa::talk_stats(&c.talk);
    let name = |l: Option<&Level>| l.map(|l| l.name().to_string());
    let peak = c.emotions.iter().max().copied();
    let end = CallEnd {
        ended_at: wall,
        end_reason: reason.as_str().into(),
        outcome,
        intents: c.intents.clone(),
        emotion_start: name(c.emotions.first()),
        emotion_end: name(c.emotions.last()),
        emotion_peak: name(peak.as_ref()),
        talk,
    };
    let payload = json!({
        "call_id": c.id,
        "caller": c.caller,
        "called": c.called,
        "dialplan": c.dialplan,
        "started_at": c.started_at,
        "answered_at": c.answered_at,
        "ended_at": wall,
        "duration_ms": c.answered_at.map(|a| wall - a),
        "end_reason": end.end_reason,
        "outcome": outcome.as_str(),
        "intents": end.intents,
        "emotion_start": end.emotion_start,
        "emotion_end": end.emotion_end,
        "emotion_peak": end.emotion_peak,
        "csat": c.csat,
        "tags": c.tags,
        "transfer": c.transfer,
    });
    out.push(Write::Ended {
        call: c.id.clone(),
        end,
    });
    out.push(outbox("call.ended", &c.id, wall, payload));
    let record = super::qa::Record {
        flow: c.flow.as_deref(),
        answered_at: c.answered_at,
        lines: &c.lines,
        talk: &c.talk,
        emotions: &c.emotions,
        transfer: c.transfer.as_ref().map(|t| t.target.as_str()),
    };
    if let Some(result) = super::qa::inspect(&record, wall) {
        out.push(outbox(
            "qa.result",
            &c.id,
            wall,
            json!({
                "call_id": c.id,
                "score": result.score,
                "flags": result.flags,
                "dialplan": c.dialplan,
            }),
        ));
        out.push(Write::Qa {
            call: c.id.clone(),
            result,
        });
    }
}

fn outcome(c: &Call, reason: EndReason) -> Outcome {
    if c.transfer.is_some() {
        return Outcome::Transferred;
    }
    match reason {
        EndReason::Cancelled => Outcome::Missed,
        EndReason::Rejected(_) | EndReason::MediaTimeout | EndReason::Failed => Outcome::Failed,
        _ if c.answered_at.is_none() => Outcome::Missed,
        EndReason::Hangup => Outcome::Resolved,
        EndReason::RemoteBye => {
            if c.last_understood == Some(true) {
                Outcome::Resolved
            } else {
                Outcome::Abandoned
            }
        }
    }
}

/// A webhook event about call `id`; its idempotency key names the event
/// and the call, so a re-queued copy is recognised.
fn outbox(kind: &str, id: &str, at: Millis, payload: serde_json::Value) -> Write {
    Write::Outbox(NewOutboxEvent {
        key: format!("{kind}:{id}"),
        kind: kind.into(),
        payload,
        at,
    })
}
