//! Builds and stores the handoff package of a live call from the store.
//!
//! The facts come from what the journal writes about a call: transcript
//! lines (in order, with their start times), `understood` events (the
//! intent; `slots` when the event carries them), `slot` events
//! (`{"name", "value"}`), `emotion` events (`{"level", "score"}`), the
//! transfer (or, while it is under way, the latest `transfer_requested`
//! event) for the reason, and the caller's customer record (profile and
//! tags). Times in the package count from the call's start.

use std::collections::BTreeMap;

use kefu_core::handoff::{language_of, Customer, EmotionPoint, Line, Package};
use rand::distr::Alphanumeric;
use rand::Rng;

use crate::storage::{CallDetail, Event, Handoff, Millis, Speaker, Store, StoreError};

/// Characters in a handoff id: 20 of `A-Z a-z 0-9`, about 119 random bits.
const ID_LEN: usize = 20;

/// Why no package could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandoffError {
    /// No call is recorded under this id (the caller's mistake: a stale
    /// or mistyped id).
    #[error("no call {0:?} is recorded: cannot make its handoff package")]
    UnknownCall(String),
    /// The store failed reading the call or saving the package.
    #[error("handoff package of call {call:?}: {source}")]
    Store {
        /// The call.
        call: String,
        /// What the store said.
        source: StoreError,
    },
    /// The package could not be turned into JSON for the store.
    #[error("handoff package of call {call:?} is not storable: {reason}")]
    Encode {
        /// The call.
        call: String,
        /// Why.
        reason: String,
    },
}

/// A fresh handoff id: short, URL-safe and unguessable (20 random
/// alphanumerics from the operating system's seeded generator).
pub fn new_handoff_id() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(ID_LEN)
        .map(char::from)
        .collect()
}

/// Makes the handoff package of the call `call_key` (kefu's call id) as
/// routing hands it to `queue` and/or `agent` at `now`, stores it with
/// [`Store::put_handoff`] and returns it.
pub fn build(
    store: &dyn Store,
    call_key: &str,
    queue: Option<&str>,
    agent: Option<&str>,
    now: Millis,
) -> Result<Package, HandoffError> {
    let failed = |source: StoreError| HandoffError::Store {
        call: call_key.to_owned(),
        source,
    };
    let detail = match store.call(call_key) {
        Ok(d) => d,
        Err(StoreError::NotFound(_)) => return Err(HandoffError::UnknownCall(call_key.into())),
        Err(e) => return Err(failed(e)),
    };
    let customer = match store.customer(&detail.summary.caller) {
        Ok(c) => Customer {
            name: c.name,
            vip_level: u32::try_from(c.vip_level).unwrap_or(0),
            region: c.region,
            tags: c.tags,
            // The record counts this call from its start.
            calls: u32::try_from(c.calls.saturating_sub(1)).unwrap_or(0),
        },
        Err(StoreError::NotFound(_)) => Customer::default(),
        Err(e) => return Err(failed(e)),
    };
    let package = assemble(&detail, customer, queue, agent, now).with_summary();
    let json = serde_json::to_value(&package).map_err(|e| HandoffError::Encode {
        call: call_key.into(),
        reason: e.to_string(),
    })?;
    store
        .put_handoff(&Handoff {
            id: package.id.clone(),
            call_id: package.call_id.clone(),
            created_at: now,
            queue: package.queue.clone(),
            agent_id: package.agent.clone(),
            package: json,
        })
        .map_err(failed)?;
    Ok(package)
}

/// The package's facts from the call's records (summary not yet made).
fn assemble(
    d: &CallDetail,
    customer: Customer,
    queue: Option<&str>,
    agent: Option<&str>,
    now: Millis,
) -> Package {
    let start = d.summary.started_at;
    let since = |at: Millis| u64::try_from(at.saturating_sub(start)).unwrap_or(0);
    let transcript: Vec<Line> = d
        .lines
        .iter()
        .map(|l| Line {
            at_ms: since(l.line.started_at),
            speaker: speaker(l.line.speaker).into(),
            text: l.line.text.clone(),
        })
        .collect();
    let language = language_of(transcript.iter().map(|l| l.text.as_str()));
    Package {
        id: new_handoff_id(),
        call_id: d.summary.id.clone(),
        created_at: u64::try_from(now).unwrap_or(0),
        caller: d.summary.caller.clone(),
        dialplan: d.summary.dialplan.clone(),
        language: language.into(),
        queue: queue.map(str::to_owned),
        agent: agent.map(str::to_owned),
        reason: reason(d),
        customer,
        intent: intent(d),
        slots: slots(&d.events),
        emotion: d
            .events
            .iter()
            .filter(|e| e.kind == "emotion")
            .filter_map(|e| {
                Some(EmotionPoint {
                    at_ms: since(e.at),
                    level: e.data.get("level")?.as_str()?.to_owned(),
                    score: e.data.get("score").and_then(|s| s.as_f64()).unwrap_or(0.0) as f32,
                })
            })
            .collect(),
        transcript,
        summary: String::new(),
    }
}

fn speaker(s: Speaker) -> &'static str {
    match s {
        Speaker::Caller => "caller",
        Speaker::Bot => "bot",
        Speaker::Agent => "agent",
    }
}

/// The transfer's reason, or while it is under way the latest request's.
fn reason(d: &CallDetail) -> Option<String> {
    if let Some(t) = &d.summary.transfer {
        return Some(t.reason.clone());
    }
    d.events
        .iter()
        .rev()
        .filter(|e| e.kind == "transfer_requested")
        .find_map(|e| Some(e.data.get("reason")?.as_str()?.to_owned()))
}

/// The latest intent understood.
fn intent(d: &CallDetail) -> Option<String> {
    let from_events = d
        .events
        .iter()
        .rev()
        .filter(|e| e.kind == "understood")
        .find_map(|e| Some(e.data.get("intent")?.as_str()?.to_owned()));
    from_events
        .or_else(|| d.lines.iter().rev().find_map(|l| l.line.intent.clone()))
        .or_else(|| d.summary.intents.last().cloned())
}

/// Slot values, later ones replacing earlier ones of the same name.
fn slots(events: &[Event]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in events {
        match e.kind.as_str() {
            "understood" => {
                let Some(map) = e.data.get("slots").and_then(|s| s.as_object()) else {
                    continue;
                };
                for (name, value) in map {
                    if let Some(v) = text_of(value) {
                        out.insert(name.clone(), v);
                    }
                }
            }
            "slot" => {
                let name = e.data.get("name").and_then(|n| n.as_str());
                let value = e.data.get("value").and_then(text_of);
                if let (Some(n), Some(v)) = (name, value) {
                    out.insert(n.to_owned(), v);
                }
            }
            _ => {}
        }
    }
    out
}

/// A slot value as text (strings as they are, numbers and booleans
/// printed; nothing for null, lists and objects).
fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
