//! The live feed: what happens on calls, in queues and to agents, as it
//! happens, for the agent and supervisor consoles.
//!
//! [`Live`] is a broadcast hub. Whoever knows something (the journal, the
//! routing) calls [`Live::publish`], which never blocks and never fails:
//! with no one listening the event is simply dropped. Each websocket of
//! the console holds a [`Live::subscribe`] receiver; one that falls more
//! than [`CAPACITY`] events behind skips them and is sent a fresh
//! [`DeskSnapshot`] instead, so a slow browser can never hold memory.
//!
//! The snapshot types live here too: they are what a console starts from
//! (`{"type":"snapshot",...}`) before the events that change it.
//!
//! What this module does not do: decide who sees what (the API filters per
//! role and agent), or keep history (the store does).

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::storage::Millis;

/// Events a receiver may fall behind before it skips to a fresh snapshot.
pub const CAPACITY: usize = 1024;

/// One thing that happened, as the consoles receive it: JSON with a
/// `type` field (`{"type":"line","call_id":...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LiveEvent {
    /// A call came in (or went out) and the bot took it.
    CallStarted {
        /// Call id.
        call_id: String,
        /// The caller's number.
        caller: String,
        /// The dialplan answering it.
        dialplan: String,
        /// When, in ms since the epoch.
        at: Millis,
    },
    /// Someone said something on a call.
    Line {
        /// Call id.
        call_id: String,
        /// `caller`, `bot` or `agent`.
        speaker: String,
        /// What was said.
        text: String,
        /// When, in ms since the epoch.
        at: Millis,
    },
    /// A call changed hands: `bot`, `queued`, `ringing`, `agent`, `ended`.
    CallState {
        /// Call id.
        call_id: String,
        /// The new state.
        state: String,
        /// The queue it waits in or came through, if any.
        queue: Option<String>,
        /// The agent ringing or talking, if any.
        agent: Option<String>,
    },
    /// A call ended.
    CallEnded {
        /// Call id.
        call_id: String,
        /// How it ended (`resolved`, `transferred`, `abandoned`…).
        outcome: String,
    },
    /// An agent's state changed (`ready`, `away`, `offline`, `ringing`,
    /// `busy`, `wrap_up`).
    AgentState {
        /// Agent id.
        agent: String,
        /// The new state.
        state: String,
        /// Calls the agent is on.
        calls: u32,
    },
    /// A queue's waiting callers or idle agents changed.
    QueueState {
        /// Queue name.
        queue: String,
        /// Callers waiting, first in line first.
        waiting: Vec<Waiting>,
        /// Ids of the ready agents who could take a caller.
        idle: Vec<String>,
    },
    /// A call is offered to an agent: the console pops the handoff
    /// package up (`GET /api/handoffs/{handoff_id}`).
    Offer {
        /// The agent the call rings.
        agent: String,
        /// Call id.
        call_id: String,
        /// The handoff package's id.
        handoff_id: String,
    },
    /// The whole picture; sent first on every connection, and again to a
    /// receiver that fell behind.
    Snapshot(DeskSnapshot),
}

impl LiveEvent {
    /// The call the event is about, if it is about one.
    pub fn call_id(&self) -> Option<&str> {
        match self {
            LiveEvent::CallStarted { call_id, .. }
            | LiveEvent::Line { call_id, .. }
            | LiveEvent::CallState { call_id, .. }
            | LiveEvent::CallEnded { call_id, .. }
            | LiveEvent::Offer { call_id, .. } => Some(call_id),
            LiveEvent::AgentState { .. }
            | LiveEvent::QueueState { .. }
            | LiveEvent::Snapshot(_) => None,
        }
    }
}

/// The state of the desk at one moment: agents, queues and live calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeskSnapshot {
    /// Every known agent.
    pub agents: Vec<DeskAgent>,
    /// Every queue.
    pub queues: Vec<DeskQueue>,
    /// Calls in progress, bot and human.
    pub calls: Vec<LiveCall>,
}

/// An agent as the desk sees them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeskAgent {
    /// Agent id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `ready`, `away`, `offline`, `ringing`, `busy` or `wrap_up`.
    pub state: String,
    /// Calls the agent is on.
    pub calls: u32,
    /// Since when the agent is in this state, ms since the epoch.
    pub since_ms: Millis,
}

/// A queue as the desk sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeskQueue {
    /// Queue name.
    pub name: String,
    /// Callers waiting, first in line first.
    pub waiting: Vec<Waiting>,
    /// Ids of the ready agents who could take a caller.
    pub idle: Vec<String>,
}

/// A caller waiting in a queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    /// Call id.
    pub call_id: String,
    /// The caller's number.
    pub caller: String,
    /// Place in line, 1 first.
    pub position: u32,
    /// Seconds waited so far.
    pub waited_secs: u64,
    /// Priority (higher goes first).
    pub priority: i32,
}

/// A call in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveCall {
    /// Call id.
    pub call_id: String,
    /// The caller's number.
    pub caller: String,
    /// `bot`, `queued`, `ringing` or `agent`.
    pub state: String,
    /// The queue it waits in or came through, if any.
    pub queue: Option<String>,
    /// The agent ringing or talking, if any.
    pub agent: Option<String>,
    /// When it started, ms since the epoch.
    pub started_ms: Millis,
}

/// The hub: cheap to clone, every clone publishes to the same receivers.
#[derive(Debug, Clone)]
pub struct Live {
    tx: broadcast::Sender<LiveEvent>,
}

impl Default for Live {
    fn default() -> Live {
        Live::new()
    }
}

impl Live {
    /// A hub whose receivers may fall [`CAPACITY`] events behind.
    pub fn new() -> Live {
        let (tx, _) = broadcast::channel(CAPACITY);
        Live { tx }
    }

    /// Sends `ev` to every receiver; never blocks, and does nothing when
    /// no one listens.
    pub fn publish(&self, ev: LiveEvent) {
        // An error only means there is no receiver right now.
        let _ = self.tx.send(ev);
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }

    /// How many receivers there are (open console connections).
    pub fn receivers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_json() {
        let ev = LiveEvent::Line {
            call_id: "c1".into(),
            speaker: "caller".into(),
            text: "我的快递".into(),
            at: 5,
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["type"], "line");
        assert_eq!(json["text"], "我的快递");
        let back: LiveEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, ev);
        let snap = serde_json::to_value(LiveEvent::Snapshot(DeskSnapshot::default())).unwrap();
        assert_eq!(snap["type"], "snapshot");
        assert!(snap["agents"].is_array());
    }

    #[test]
    fn publishing_without_receivers_is_fine_and_lag_is_reported() {
        let live = Live::new();
        live.publish(LiveEvent::CallEnded {
            call_id: "x".into(),
            outcome: "resolved".into(),
        });
        let mut rx = live.subscribe();
        assert_eq!(live.receivers(), 1);
        for i in 0..CAPACITY + 5 {
            live.publish(LiveEvent::CallEnded {
                call_id: i.to_string(),
                outcome: "resolved".into(),
            });
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(5))
        ));
        assert_eq!(
            rx.try_recv()
                .ok()
                .and_then(|e| e.call_id().map(String::from)),
            Some("5".to_string())
        );
    }
}
