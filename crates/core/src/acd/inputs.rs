//! The ACD's inputs: configuration of agents and queues, agent presence,
//! callers arriving and leaving, and the outcome of offers and talks. Each
//! input checks everything before it changes anything, so a refused input
//! leaves the ACD as it was.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::time::Instant;

use super::agent::Agent;
use super::error::AcdError;
use super::queue::{priority, Key, Queue};
use super::run::secs;
use super::spec::{
    AgentSpec, AgentState, Caller, Declined, Leave, Output, Overflow, Presence, QueueSpec,
    ToBotWhy, MAX_VIP,
};
use super::{Acd, CallRec, Stage, Timer};

impl Acd {
    /// Adds an agent (offline), or updates one keeping its state.
    pub fn put_agent(&mut self, spec: AgentSpec, now: Instant) -> Result<(), AcdError> {
        spec.validate()?;
        self.seen(now);
        let id = spec.id.clone();
        match self.agents.get_mut(&id) {
            Some(a) => a.update(spec),
            None => {
                self.agents.insert(id.clone(), Agent::new(spec, now));
            }
        }
        let names: Vec<String> = self.queues.keys().cloned().collect();
        for name in names {
            self.refresh_member(&id, &name);
        }
        self.touch(&id, now);
        Ok(())
    }

    /// Removes an agent; refused while it talks. An offer ringing it is
    /// withdrawn and the caller gets the next agent.
    pub fn remove_agent(&mut self, id: &str, now: Instant) -> Result<(), AcdError> {
        let a = self
            .agents
            .get(id)
            .ok_or_else(|| AcdError::UnknownAgent(id.to_string()))?;
        if !a.calls.is_empty() {
            return Err(AcdError::AgentOnCalls {
                agent: id.to_string(),
                calls: a.talking(),
            });
        }
        self.seen(now);
        self.stop_ringing(id, now);
        let Some(a) = self.agents.remove(id) else {
            return Ok(());
        };
        if let Some(at) = a.wrap_until {
            self.timers.remove(&(at, Timer::WrapUp(id.to_string())));
        }
        for name in &a.queues {
            if let Some(q) = self.queues.get_mut(name) {
                q.members.remove(id);
            }
        }
        self.dirty_agents.remove(id);
        if a.shown != AgentState::Offline {
            self.out.push_back(Output::AgentState {
                agent: id.to_string(),
                state: AgentState::Offline,
            });
        }
        self.send_off_empty(&a.queues, now);
        Ok(())
    }

    /// Adds a queue, or updates one keeping its callers. Refused when its
    /// overflow leads back to it through other queues.
    pub fn put_queue(&mut self, spec: QueueSpec) -> Result<(), AcdError> {
        spec.validate()?;
        self.check_cycle(&spec)?;
        let name = spec.name.clone();
        match self.queues.get_mut(&name) {
            Some(q) => q.spec = spec,
            None => {
                self.queues.insert(name.clone(), Queue::new(spec));
            }
        }
        let ids: Vec<String> = self.agents.keys().cloned().collect();
        for id in ids {
            self.refresh_member(&id, &name);
            if self.agents.get(&id).is_some_and(|a| a.available()) {
                self.dirty_agents.insert(id);
            }
        }
        Ok(())
    }

    /// Removes a queue; its waiting and ringing callers go to the bot.
    pub fn remove_queue(&mut self, name: &str) -> Result<(), AcdError> {
        if !self.queues.contains_key(name) {
            return Err(AcdError::UnknownQueue(name.to_string()));
        }
        let mut callers: Vec<(Key, u64)> = self
            .calls
            .values()
            .filter(|r| r.queue == name && !matches!(r.stage, Stage::Talking { .. }))
            .map(|r| (r.key, r.caller.call))
            .collect();
        callers.sort();
        // Callers exist only after a timed input, so `latest` is set then.
        if let Some(now) = self.latest {
            for (_, call) in callers {
                self.send_to_bot(call, ToBotWhy::QueueRemoved, now);
            }
        }
        self.queues.remove(name);
        for a in self.agents.values_mut() {
            a.queues.remove(name);
        }
        Ok(())
    }

    /// An agent logs in or comes back (`Ready`, which also ends wrap-up),
    /// steps away or logs out. Going away or offline withdraws an offer
    /// ringing the agent; calls in progress go on.
    pub fn presence(&mut self, agent: &str, p: Presence, now: Instant) -> Result<(), AcdError> {
        let a = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| AcdError::UnknownAgent(agent.to_string()))?;
        a.presence = p;
        let wrap = if p == Presence::Away {
            None
        } else {
            a.wrap_until.take()
        };
        let queues = a.queues.clone();
        self.seen(now);
        if let Some(at) = wrap {
            self.timers.remove(&(at, Timer::WrapUp(agent.to_string())));
        }
        if p != Presence::Ready {
            self.stop_ringing(agent, now);
        }
        self.touch(agent, now);
        if p == Presence::Offline {
            self.send_off_empty(&queues, now);
        }
        Ok(())
    }

    /// A caller asks for a human in `queue`. It is offered at the next
    /// `poll` when an agent fits, or waits in priority order (see the
    /// module docs).
    pub fn enqueue(&mut self, caller: Caller, queue: &str, now: Instant) -> Result<(), AcdError> {
        if caller.vip > MAX_VIP {
            return Err(AcdError::Vip {
                call: caller.call,
                vip: caller.vip,
            });
        }
        if !self.queues.contains_key(queue) {
            return Err(AcdError::UnknownQueue(queue.to_string()));
        }
        if self.calls.contains_key(&caller.call) {
            return Err(AcdError::AlreadyQueued(caller.call));
        }
        self.seen(now);
        let mut caller = caller;
        caller.language = lower(caller.language);
        caller.region = lower(caller.region);
        let key = Key {
            rank: Reverse(priority(&caller)),
            entry: now,
            seq: self.seq,
        };
        self.seq += 1;
        let rec = CallRec {
            caller,
            queue: queue.to_string(),
            key,
            stage: Stage::Waiting,
            announce_at: None,
            max_wait_at: None,
            overdue: false,
            rejected_by: BTreeSet::new(),
        };
        self.admit(rec, queue, now);
        Ok(())
    }

    /// A waiting or ringing caller leaves: hung up, asked for a callback
    /// ([`Output::Callback`]) or taken back by the bot. An offer ringing
    /// an agent is withdrawn.
    pub fn leave(&mut self, call: u64, how: Leave, now: Instant) -> Result<(), AcdError> {
        let rec = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        if matches!(rec.stage, Stage::Talking { .. }) {
            return Err(AcdError::NotWaiting(call));
        }
        self.seen(now);
        if let Some(rec) = self.drop_call(call, now) {
            if how == Leave::Callback {
                self.out.push_back(Output::Callback {
                    call,
                    queue: rec.queue,
                });
            }
        }
        Ok(())
    }

    /// The agent answered the call offered to it.
    pub fn answered(&mut self, call: u64, agent: &str, now: Instant) -> Result<(), AcdError> {
        self.check_offer(call, agent)?;
        self.seen(now);
        self.end_offer(call, false);
        if let Some(rec) = self.calls.get_mut(&call) {
            rec.stage = Stage::Talking {
                agent: agent.to_string(),
                since: now,
            };
            if let Some(at) = rec.announce_at.take() {
                self.timers.remove(&(at, Timer::Announce(call)));
            }
            if let Some(at) = rec.max_wait_at.take() {
                self.timers.remove(&(at, Timer::MaxWait(call)));
            }
        }
        if let Some(a) = self.agents.get_mut(agent) {
            a.calls.insert(call);
            a.calls_today += 1;
        }
        self.touch(agent, now);
        Ok(())
    }

    /// The agent did not take the call offered to it. The caller goes back
    /// to the front of its priority class; `Rejected` keeps this agent
    /// from being offered the call again, `NoAnswer` and `Failed` send the
    /// agent away.
    pub fn declined(
        &mut self,
        call: u64,
        agent: &str,
        why: Declined,
        now: Instant,
    ) -> Result<(), AcdError> {
        self.check_offer(call, agent)?;
        self.seen(now);
        self.end_offer(call, false);
        match why {
            Declined::Rejected => {
                if let Some(rec) = self.calls.get_mut(&call) {
                    rec.rejected_by.insert(agent.to_string());
                }
            }
            Declined::NoAnswer | Declined::Failed => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.presence = Presence::Away;
                }
            }
        }
        self.touch(agent, now);
        self.requeue(call, now);
        Ok(())
    }

    /// The agent's talk with the call ended; wrap-up starts when the agent
    /// has one and is ready.
    pub fn hung_up(&mut self, call: u64, agent: &str, now: Instant) -> Result<(), AcdError> {
        let rec = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        let since = match &rec.stage {
            Stage::Talking { agent: a, since } if a == agent => *since,
            _ => {
                return Err(AcdError::NotTalking {
                    call,
                    agent: agent.to_string(),
                })
            }
        };
        let queue = rec.queue.clone();
        self.seen(now);
        self.calls.remove(&call);
        let Some(a) = self.agents.get_mut(agent) else {
            return Ok(());
        };
        a.calls.remove(&call);
        let wrap = a.spec.wrap_up_secs;
        let talk = now.saturating_duration_since(since).as_secs();
        let handle = u32::try_from(talk).unwrap_or(u32::MAX).saturating_add(wrap);
        if wrap > 0 && a.presence == Presence::Ready {
            let until = (now + secs(wrap)).max(a.wrap_until.unwrap_or(now));
            if let Some(old) = a.wrap_until.replace(until) {
                self.timers.remove(&(old, Timer::WrapUp(agent.to_string())));
            }
            self.timers
                .insert((until, Timer::WrapUp(agent.to_string())));
        }
        if let Some(q) = self.queues.get_mut(&queue) {
            q.record_handle(handle);
        }
        self.touch(agent, now);
        Ok(())
    }

    /// Refuses `answered`/`declined` for an offer not made to `agent`.
    fn check_offer(&self, call: u64, agent: &str) -> Result<(), AcdError> {
        if !self.agents.contains_key(agent) {
            return Err(AcdError::UnknownAgent(agent.to_string()));
        }
        let rec = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        match &rec.stage {
            Stage::Ringing { agent: a, .. } if a == agent => Ok(()),
            _ => Err(AcdError::NotOffered {
                call,
                agent: agent.to_string(),
            }),
        }
    }

    /// Withdraws the offer ringing `agent`, if any; the caller goes back
    /// to its order.
    fn stop_ringing(&mut self, agent: &str, now: Instant) {
        let Some(call) = self.agents.get(agent).and_then(|a| a.offer) else {
            return;
        };
        self.end_offer(call, true);
        self.requeue(call, now);
    }

    /// Sends the callers of `empty_to_bot` queues among `queues` to the bot
    /// when none of their agents is logged in (except callers who
    /// insisted on a human).
    fn send_off_empty(&mut self, queues: &BTreeSet<String>, now: Instant) {
        for name in queues {
            let Some(q) = self.queues.get(name) else {
                continue;
            };
            let anyone = q
                .members
                .iter()
                .filter_map(|id| self.agents.get(id))
                .any(|a| a.logged_in());
            if !q.spec.empty_to_bot || anyone {
                continue;
            }
            let calls: Vec<u64> = q
                .waiting
                .values()
                .copied()
                .filter(|c| self.calls.get(c).is_some_and(|r| !r.caller.insisted))
                .collect();
            for call in calls {
                self.send_to_bot(call, ToBotWhy::NoAgents, now);
            }
        }
    }

    /// Makes `agent` a member of `queue` exactly when it meets the skills.
    fn refresh_member(&mut self, agent: &str, queue: &str) {
        let (Some(a), Some(q)) = (self.agents.get_mut(agent), self.queues.get_mut(queue)) else {
            return;
        };
        if a.meets(&q.spec.skills) {
            q.members.insert(agent.to_string());
            a.queues.insert(queue.to_string());
        } else {
            q.members.remove(agent);
            a.queues.remove(queue);
        }
    }

    /// Refuses a spec whose overflow chain returns to it.
    fn check_cycle(&self, spec: &QueueSpec) -> Result<(), AcdError> {
        let mut path = vec![spec.name.clone()];
        let mut next = &spec.overflow;
        while let Overflow::Queue(to) = next {
            if path.contains(to) {
                if *to == spec.name {
                    path.push(to.clone());
                    return Err(AcdError::OverflowCycle {
                        queue: spec.name.clone(),
                        path,
                    });
                }
                break;
            }
            path.push(to.clone());
            match self.queues.get(to) {
                Some(q) => next = &q.spec.overflow,
                None => break,
            }
        }
        Ok(())
    }
}

/// Lower-cases and trims a language or region; empty becomes `None`.
fn lower(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty())
}
