//! A routing stand-in for the HTTP and console tests: agents with
//! passwords and states, queues with waiting callers, live calls, all in a
//! mutex; presence changes are published on the live feed as routing
//! would. It decides nothing: the tests set the picture and check what the
//! API and the pages make of it.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use kefu::api::Desk;
use kefu::live::{DeskAgent, DeskQueue, DeskSnapshot, Live, LiveCall, LiveEvent, Waiting};

/// The stand-in: a snapshot plus passwords.
pub struct FakeDesk {
    state: Mutex<(DeskSnapshot, Vec<(String, String)>)>,
    live: Live,
}

impl FakeDesk {
    /// A desk with `agents` (id, name, password), all offline, publishing
    /// on `live`.
    pub fn new(live: Live, agents: &[(&str, &str, &str)]) -> Arc<FakeDesk> {
        let snap = DeskSnapshot {
            agents: agents
                .iter()
                .map(|(id, name, _)| DeskAgent {
                    id: id.to_string(),
                    name: name.to_string(),
                    state: "offline".into(),
                    calls: 0,
                    since_ms: 0,
                })
                .collect(),
            ..DeskSnapshot::default()
        };
        let passwords = agents
            .iter()
            .map(|(id, _, pw)| (id.to_string(), pw.to_string()))
            .collect();
        Arc::new(FakeDesk {
            state: Mutex::new((snap, passwords)),
            live,
        })
    }

    /// Puts a caller in `queue` (made when new) and a queued call, and
    /// publishes the queue's and the call's new state.
    pub fn enqueue(&self, queue: &str, call_id: &str, caller: &str) {
        let mut s = self.state.lock().expect("desk lock");
        let snap = &mut s.0;
        if !snap.queues.iter().any(|q| q.name == queue) {
            snap.queues.push(DeskQueue {
                name: queue.into(),
                ..DeskQueue::default()
            });
        }
        let q = snap
            .queues
            .iter_mut()
            .find(|q| q.name == queue)
            .expect("queue just made");
        q.waiting.push(Waiting {
            call_id: call_id.into(),
            caller: caller.into(),
            position: q.waiting.len() as u32 + 1,
            waited_secs: 12,
            priority: 0,
        });
        let ev = LiveEvent::QueueState {
            queue: queue.into(),
            waiting: q.waiting.clone(),
            idle: q.idle.clone(),
        };
        snap.calls.push(LiveCall {
            call_id: call_id.into(),
            caller: caller.into(),
            state: "queued".into(),
            queue: Some(queue.into()),
            agent: None,
            started_ms: kefu::storage::now_millis(),
        });
        drop(s);
        self.live.publish(ev);
        self.live.publish(LiveEvent::CallState {
            call_id: call_id.into(),
            state: "queued".into(),
            queue: Some(queue.into()),
            agent: None,
        });
    }

    /// Puts a call on `agent` (state `agent`) in the snapshot.
    pub fn assign(&self, call_id: &str, caller: &str, agent: &str) {
        let mut s = self.state.lock().expect("desk lock");
        s.0.calls.push(LiveCall {
            call_id: call_id.into(),
            caller: caller.into(),
            state: "agent".into(),
            queue: None,
            agent: Some(agent.into()),
            started_ms: 0,
        });
    }

    /// An agent's state now.
    pub fn state_of(&self, agent: &str) -> Option<String> {
        let s = self.state.lock().expect("desk lock");
        s.0.agents
            .iter()
            .find(|a| a.id == agent)
            .map(|a| a.state.clone())
    }

    fn set(&self, agent: &str, state: &str) -> Result<(), String> {
        let mut s = self.state.lock().expect("desk lock");
        let a =
            s.0.agents
                .iter_mut()
                .find(|a| a.id == agent)
                .ok_or_else(|| format!("no agent {agent:?}"))?;
        a.state = state.into();
        a.since_ms = kefu::storage::now_millis();
        let ev = LiveEvent::AgentState {
            agent: agent.into(),
            state: state.into(),
            calls: a.calls,
        };
        drop(s);
        self.live.publish(ev);
        Ok(())
    }
}

impl Desk for FakeDesk {
    fn snapshot(&self) -> DeskSnapshot {
        self.state.lock().expect("desk lock").0.clone()
    }

    fn set_presence(&self, agent: &str, presence: &str) -> Result<(), String> {
        self.set(agent, presence)
    }

    fn login(&self, agent: &str, password: &str) -> bool {
        let s = self.state.lock().expect("desk lock");
        s.1.iter().any(|(a, p)| a == agent && p == password)
    }

    fn wrap_up_done(&self, agent: &str) -> Result<(), String> {
        if self.state_of(agent).as_deref() != Some("wrap_up") {
            return Err(format!("{agent} is not in wrap-up"));
        }
        self.set(agent, "ready")
    }
}
