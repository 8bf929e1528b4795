//! Automatic call distribution: agents, queues of waiting callers, and the
//! decision of which agent is offered which caller. Sans-IO: the shell feeds
//! events with `now` and drains [`Acd::poll`] after each one, and again at
//! [`Acd::next_wake`].
//!
//! ## Inputs and outputs
//! Agents and queues are put from configuration ([`Acd::put_agent`],
//! [`Acd::put_queue`]); agents log in and out with [`Acd::presence`];
//! callers arrive with [`Acd::enqueue`] and leave with [`Acd::leave`];
//! offers end with [`Acd::answered`] or [`Acd::declined`], talks with
//! [`Acd::hung_up`]. Everything the shell must do comes out of
//! [`Acd::poll`] as an [`Output`]: ring an agent, stop ringing one, announce
//! a position, report an overflow, send a caller back to the bot, store a
//! callback request, show an agent's new state.
//!
//! ## Who waits first
//! Callers of one queue are served in this order:
//! 1. higher VIP level (0-9) first;
//! 2. within a VIP level, upset or complaining callers, then repeat
//!    callers, then the others (the priority class is
//!    `vip * 3 + 2` / `+ 1` / `+ 0`);
//! 3. within a class, the earliest entry time (an overflowed caller keeps
//!    the entry time of the first queue);
//! 4. then the earliest arrival (a sequence number, for equal times).
//!
//! A caller whose offer fails (declined, ring timeout, agent left) goes
//! back with the same key, so at the front of its class. Wanting a human
//! again (`insisted`) does not raise the class; it only keeps a caller out
//! of the bot when a queue has no agent logged in.
//!
//! ## Which agent
//! An agent serves every queue whose skills it meets (each at the minimum
//! level). Among the free eligible agents of the caller's queue, one who
//! speaks the caller's language or dialect is preferred, then one in the
//! caller's region, then one not yet on a call; the queue's strategy
//! orders the rest (longest idle, fewest answered calls today, highest
//! level in the queue's skills, or round robin by id), longest idle
//! breaking ties. With `language_required`, only agents speaking the
//! caller's language (when known) get the caller. An agent who rejected
//! an offer is not offered that call again.
//!
//! When an agent becomes free, the best caller across all its queues (in
//! the order above) is served next.
//!
//! ## Timers
//! An offer rings for the queue's `ring_secs`; then it is withdrawn, the
//! agent goes away (redirect on no answer) and the caller gets the next
//! agent. Wrap-up ends `wrap_up_secs` after a talk, or earlier when the
//! agent says ready. After `max_wait_secs` in a queue a caller overflows
//! to another queue or back to the bot (a caller ringing then overflows if
//! that offer fails). Every `announce_secs` a waiting caller hears its
//! position and estimated wait.
//!
//! ## Estimated wait
//! `eta = ceil(position / max(1, agents)) * average handle time`, where
//! agents counts the queue's agents who are ready (idle, ringing, busy or
//! in wrap-up) and the average handle time is that of the queue's last 20
//! finished calls (talk time plus the agent's wrap-up), 180 s before any.
//!
//! ## Cost
//! Waiting callers are kept in a `BTreeMap` per queue keyed by priority,
//! entry and sequence (and per language, for queues that require it);
//! agents are indexed per queue. A decision reads the heads of the
//! agent's queues, or scans the free agents of one queue; no decision
//! sorts. Announcing a position counts the callers ahead.
//!
//! Not here: ringing phones, storing callbacks or reports, clocks.

mod agent;
mod error;
mod inputs;
mod pick;
mod queue;
mod run;
mod spec;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;

pub use error::AcdError;
pub use queue::{priority, Key, DEFAULT_HANDLE_SECS, HANDLE_SAMPLES};
pub use spec::{
    AgentSpec, AgentState, AgentView, Caller, Declined, Leave, Output, Overflow, Presence,
    QueueSpec, Strategy, ToBotWhy, WaitingView, MAX_VIP, SKILL_LEVELS,
};

use crate::dialogue::flow::QueueLoad;
use agent::Agent;
use queue::Queue;

/// Where one call stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// In its queue's order.
    Waiting,
    /// Offered to `agent` until `until`.
    Ringing { agent: String, until: Instant },
    /// Talking to `agent` since `since`.
    Talking { agent: String, since: Instant },
}

/// One call known to the ACD.
#[derive(Debug, Clone)]
struct CallRec {
    /// The caller, language and region in lower case.
    caller: Caller,
    /// The queue it waits in (or waited in, once talking).
    queue: String,
    /// Its place in the order.
    key: Key,
    /// Where it stands.
    stage: Stage,
    /// Next announcement.
    announce_at: Option<Instant>,
    /// Overflow time in this queue.
    max_wait_at: Option<Instant>,
    /// The maximum wait passed while ringing.
    overdue: bool,
    /// Agents who rejected it.
    rejected_by: BTreeSet<String>,
}

/// A pending timer; the instant is kept beside it in [`Acd::timers`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// An offer's ring timeout.
    Ring(u64),
    /// A caller's maximum wait.
    MaxWait(u64),
    /// A caller's next announcement.
    Announce(u64),
    /// An agent's end of wrap-up.
    WrapUp(String),
}

/// The distributor: agents, queues, waiting callers and pending outputs.
#[derive(Debug, Default)]
pub struct Acd {
    agents: BTreeMap<String, Agent>,
    queues: BTreeMap<String, Queue>,
    calls: HashMap<u64, CallRec>,
    timers: BTreeSet<(Instant, Timer)>,
    /// Agents that became free and may take a caller.
    dirty_agents: BTreeSet<String>,
    /// Callers that entered an order and may get an agent.
    dirty_calls: BTreeMap<Key, u64>,
    out: VecDeque<Output>,
    seq: u64,
    /// The latest `now` given (for the console's wait figures).
    latest: Option<Instant>,
}

impl Acd {
    /// An ACD with no agents and no queues.
    pub fn new() -> Acd {
        Acd::default()
    }

    /// The earliest timer (ring timeout, wrap-up end, overflow,
    /// announcement); `poll` must be called then. `None` with no timer.
    pub fn next_wake(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Agents free to take a caller of `queue` now, and callers in it
    /// (ringing ones included); `None` for an unknown queue.
    pub fn load(&self, queue: &str) -> Option<QueueLoad> {
        let q = self.queues.get(queue)?;
        let idle = q
            .members
            .iter()
            .filter_map(|id| self.agents.get(id))
            .filter(|a| a.available())
            .count();
        Some(QueueLoad {
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            waiting: q.callers(),
        })
    }

    /// Every agent, by id, for the console.
    pub fn agents(&self) -> Vec<AgentView> {
        self.agents
            .values()
            .map(|a| AgentView {
                id: a.spec.id.clone(),
                state: a.shown,
                calls: a.talking(),
                calls_today: a.calls_today,
                since: a.since,
            })
            .collect()
    }

    /// Callers of `queue` in service order (ringing ones first, position
    /// 0); empty for an unknown queue.
    pub fn waiting(&self, queue: &str) -> Vec<WaitingView> {
        let Some(q) = self.queues.get(queue) else {
            return Vec::new();
        };
        let latest = self.latest;
        let view = |rec: &CallRec, position: u32, ringing: Option<String>| WaitingView {
            call: rec.caller.call,
            position,
            entered: rec.key.entry,
            waited: latest
                .map(|t| t.saturating_duration_since(rec.key.entry))
                .unwrap_or_default(),
            priority: rec.key.rank.0,
            ringing,
        };
        let mut out: Vec<WaitingView> = Vec::new();
        let mut ringing: Vec<&CallRec> = self
            .calls
            .values()
            .filter(|r| r.queue == queue && matches!(r.stage, Stage::Ringing { .. }))
            .collect();
        ringing.sort_by_key(|r| r.key);
        for rec in ringing {
            if let Stage::Ringing { agent, .. } = &rec.stage {
                out.push(view(rec, 0, Some(agent.clone())));
            }
        }
        for (i, call) in q.waiting.values().enumerate() {
            if let Some(rec) = self.calls.get(call) {
                let pos = u32::try_from(i + 1).unwrap_or(u32::MAX);
                out.push(view(rec, pos, None));
            }
        }
        out
    }

    /// The queue a call waits in and its position (1 = next, 0 while
    /// ringing an agent); `None` when not queued.
    pub fn position(&self, call: u64) -> Option<(String, u32)> {
        let rec = self.calls.get(&call)?;
        match rec.stage {
            Stage::Waiting => {
                let q = self.queues.get(&rec.queue)?;
                Some((rec.queue.clone(), q.position(&rec.key)))
            }
            Stage::Ringing { .. } => Some((rec.queue.clone(), 0)),
            Stage::Talking { .. } => None,
        }
    }

    /// Starts a new day: every agent's answered-calls count goes to 0.
    pub fn reset_day(&mut self) {
        for a in self.agents.values_mut() {
            a.calls_today = 0;
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
