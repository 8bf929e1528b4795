//! The run loop of the ACD: timers that fall due, matching of free agents
//! and waiting callers, and the moves of a call between an order, an
//! offer, another queue and the bot.

use std::time::{Duration, Instant};

use super::spec::{Output, Overflow, Presence, ToBotWhy};
use super::{Acd, CallRec, Stage, Timer};

impl Acd {
    /// Handles every timer due by `now`, makes every offer that can be
    /// made, and returns the next output; `None` when there is nothing to
    /// do. Call it after every input until it returns `None`, and again at
    /// [`Acd::next_wake`].
    pub fn poll(&mut self, now: Instant) -> Option<Output> {
        self.seen(now);
        self.fire_timers(now);
        self.dispatch(now);
        self.out.pop_front()
    }

    /// Remembers the latest time given.
    pub(super) fn seen(&mut self, now: Instant) {
        if self.latest.is_none_or(|t| now > t) {
            self.latest = Some(now);
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while self.timers.first().is_some_and(|(t, _)| *t <= now) {
            let Some((at, timer)) = self.timers.pop_first() else {
                break;
            };
            match timer {
                Timer::Ring(call) => self.ring_timeout(call, now),
                Timer::MaxWait(call) => self.max_wait(call, now),
                Timer::Announce(call) => self.announce(call, at, now),
                Timer::WrapUp(agent) => {
                    if let Some(a) = self.agents.get_mut(&agent) {
                        if a.wrap_until == Some(at) {
                            a.wrap_until = None;
                        }
                    }
                    self.touch(&agent, now);
                }
            }
        }
    }

    fn ring_timeout(&mut self, call: u64, now: Instant) {
        if let Some(agent) = self.end_offer(call, true) {
            if let Some(a) = self.agents.get_mut(&agent) {
                a.presence = Presence::Away;
            }
            self.touch(&agent, now);
            self.requeue(call, now);
        }
    }

    fn max_wait(&mut self, call: u64, now: Instant) {
        let Some(rec) = self.calls.get_mut(&call) else {
            return;
        };
        rec.max_wait_at = None;
        match rec.stage {
            Stage::Waiting => self.overflow(call, now),
            Stage::Ringing { .. } => rec.overdue = true,
            Stage::Talking { .. } => {}
        }
    }

    fn announce(&mut self, call: u64, at: Instant, now: Instant) {
        let Some(rec) = self.calls.get(&call) else {
            return;
        };
        let Some(q) = self.queues.get(&rec.queue) else {
            return;
        };
        let Some(every) = q.spec.announce_secs.filter(|s| *s > 0) else {
            return;
        };
        if rec.stage == Stage::Waiting {
            let position = q.position(&rec.key);
            let agents = q
                .members
                .iter()
                .filter_map(|id| self.agents.get(id))
                .filter(|a| a.presence == Presence::Ready)
                .count();
            let agents = u32::try_from(agents).unwrap_or(u32::MAX);
            self.out.push_back(Output::Announce {
                call,
                queue: rec.queue.clone(),
                position,
                eta_secs: q.eta(position, agents),
            });
        }
        if matches!(rec.stage, Stage::Talking { .. }) {
            return;
        }
        let mut next = at + secs(every);
        if next <= now {
            next = now + secs(every);
        }
        if let Some(rec) = self.calls.get_mut(&call) {
            rec.announce_at = Some(next);
        }
        self.timers.insert((next, Timer::Announce(call)));
    }

    /// Makes offers until no free agent fits a waiting caller: first for
    /// agents that became free (each takes the best caller of its queues),
    /// then for callers that entered an order (each takes the best free
    /// agent), in priority order.
    fn dispatch(&mut self, now: Instant) {
        loop {
            if let Some(agent) = self.dirty_agents.pop_first() {
                while self.agents.get(&agent).is_some_and(|a| a.available()) {
                    let Some(call) = self.best_caller(&agent) else {
                        break;
                    };
                    // The caller may prefer another free agent (dialect,
                    // region, strategy); this one stays free for the next.
                    let Some(to) = self.best_agent(call) else {
                        break;
                    };
                    self.offer(call, &to, now);
                }
                continue;
            }
            if let Some((_, call)) = self.dirty_calls.pop_first() {
                let waiting = self
                    .calls
                    .get(&call)
                    .is_some_and(|r| r.stage == Stage::Waiting);
                if waiting {
                    if let Some(to) = self.best_agent(call) {
                        self.offer(call, &to, now);
                    }
                }
                continue;
            }
            break;
        }
    }

    fn offer(&mut self, call: u64, agent: &str, now: Instant) {
        let Some(rec) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(q) = self.queues.get_mut(&rec.queue) else {
            return;
        };
        q.remove(&rec.key, &rec.caller.language);
        q.ringing += 1;
        q.last_offered = Some(agent.to_string());
        let until = now + secs(q.spec.ring_secs);
        rec.stage = Stage::Ringing {
            agent: agent.to_string(),
            until,
        };
        let queue = rec.queue.clone();
        self.timers.insert((until, Timer::Ring(call)));
        if let Some(a) = self.agents.get_mut(agent) {
            a.offer = Some(call);
        }
        self.out.push_back(Output::Offer {
            call,
            agent: agent.to_string(),
            queue,
        });
        self.touch(agent, now);
    }

    /// Ends the offer of a ringing call (with a `Withdraw` output when
    /// asked); the call is left out of every order and the agent's state
    /// is not yet reported ([`Acd::touch`] it). Returns the agent.
    pub(super) fn end_offer(&mut self, call: u64, withdraw: bool) -> Option<String> {
        let rec = self.calls.get_mut(&call)?;
        let Stage::Ringing { agent, until } = rec.stage.clone() else {
            return None;
        };
        rec.stage = Stage::Waiting;
        if let Some(q) = self.queues.get_mut(&rec.queue) {
            q.ringing = q.ringing.saturating_sub(1);
        }
        self.timers.remove(&(until, Timer::Ring(call)));
        if let Some(a) = self.agents.get_mut(&agent) {
            if a.offer == Some(call) {
                a.offer = None;
            }
        }
        if withdraw {
            self.out.push_back(Output::Withdraw {
                call,
                agent: agent.clone(),
            });
        }
        Some(agent)
    }

    /// Puts a call whose offer ended back in its order, with its key; it
    /// overflows now if its maximum wait passed while ringing.
    pub(super) fn requeue(&mut self, call: u64, now: Instant) {
        let Some(rec) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(q) = self.queues.get_mut(&rec.queue) else {
            return;
        };
        q.insert(rec.key, call, rec.caller.language.clone());
        self.dirty_calls.insert(rec.key, call);
        if rec.overdue {
            rec.overdue = false;
            self.overflow(call, now);
        }
    }

    /// The maximum wait of a waiting call passed.
    fn overflow(&mut self, call: u64, now: Instant) {
        let Some(rec) = self.calls.get(&call) else {
            return;
        };
        let from = rec.queue.clone();
        let target = match self.queues.get(&from).map(|q| &q.spec.overflow) {
            None | Some(Overflow::None) => return,
            Some(Overflow::Bot) => None,
            Some(Overflow::Queue(to)) => Some(to.clone()).filter(|t| self.queues.contains_key(t)),
        };
        let Some(to) = target else {
            self.send_to_bot(call, ToBotWhy::Timeout, now);
            return;
        };
        let Some(rec) = self.take_out(call) else {
            return;
        };
        self.out.push_back(Output::Overflowed {
            call,
            from,
            to: to.clone(),
        });
        self.admit(rec, &to, now);
    }

    /// Removes a waiting or ringing call from the ACD (withdrawing an
    /// offer) and sends it to the bot.
    pub(super) fn send_to_bot(&mut self, call: u64, why: ToBotWhy, now: Instant) {
        if let Some(rec) = self.drop_call(call, now) {
            self.out.push_back(Output::ToBot {
                call,
                queue: rec.queue,
                why,
            });
        }
    }

    /// Removes a waiting or ringing call from the ACD, withdrawing its
    /// offer; talking calls stay.
    pub(super) fn drop_call(&mut self, call: u64, now: Instant) -> Option<CallRec> {
        if matches!(self.calls.get(&call)?.stage, Stage::Ringing { .. }) {
            if let Some(agent) = self.end_offer(call, true) {
                self.touch(&agent, now);
            }
        }
        let rec = self.take_out(call)?;
        self.calls.remove(&call);
        Some(rec)
    }

    /// Takes a waiting call out of its order and cancels its queue
    /// timers; returns a copy of its record (still stored).
    fn take_out(&mut self, call: u64) -> Option<CallRec> {
        let rec = self.calls.get_mut(&call)?;
        if rec.stage != Stage::Waiting {
            return None;
        }
        if let Some(q) = self.queues.get_mut(&rec.queue) {
            q.remove(&rec.key, &rec.caller.language);
        }
        self.dirty_calls.remove(&rec.key);
        if let Some(at) = rec.announce_at.take() {
            self.timers.remove(&(at, Timer::Announce(call)));
        }
        if let Some(at) = rec.max_wait_at.take() {
            self.timers.remove(&(at, Timer::MaxWait(call)));
        }
        Some(rec.clone())
    }

    /// Places a waiting call in `queue`'s order with its timers, or sends
    /// it to the bot when nobody of an `empty_to_bot` queue is logged in
    /// (unless the caller insisted on a human).
    pub(super) fn admit(&mut self, mut rec: CallRec, queue: &str, now: Instant) {
        let call = rec.caller.call;
        let Some(q) = self.queues.get(queue) else {
            self.calls.remove(&call);
            self.out.push_back(Output::ToBot {
                call,
                queue: rec.queue,
                why: ToBotWhy::Timeout,
            });
            return;
        };
        let nobody = !q
            .members
            .iter()
            .filter_map(|id| self.agents.get(id))
            .any(|a| a.logged_in());
        if q.spec.empty_to_bot && nobody && !rec.caller.insisted {
            self.calls.remove(&call);
            self.out.push_back(Output::ToBot {
                call,
                queue: queue.to_string(),
                why: ToBotWhy::NoAgents,
            });
            return;
        }
        rec.queue = queue.to_string();
        rec.stage = Stage::Waiting;
        rec.overdue = false;
        rec.announce_at = q
            .spec
            .announce_secs
            .filter(|s| *s > 0)
            .map(|s| now + secs(s));
        rec.max_wait_at = match (&q.spec.overflow, q.spec.max_wait_secs) {
            (Overflow::None, _) | (_, None) => None,
            (_, Some(s)) => Some(now + secs(s)),
        };
        if let Some(at) = rec.announce_at {
            self.timers.insert((at, Timer::Announce(call)));
        }
        if let Some(at) = rec.max_wait_at {
            self.timers.insert((at, Timer::MaxWait(call)));
        }
        let key = rec.key;
        let language = rec.caller.language.clone();
        self.calls.insert(call, rec);
        if let Some(q) = self.queues.get_mut(queue) {
            q.insert(key, call, language);
        }
        self.dirty_calls.insert(key, call);
    }

    /// Reports an agent's state when it changed, and marks the agent for
    /// matching when it can take a call.
    pub(super) fn touch(&mut self, agent: &str, now: Instant) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        if let Some(state) = a.refresh(now) {
            self.out.push_back(Output::AgentState {
                agent: agent.to_string(),
                state,
            });
        }
        if a.available() {
            self.dirty_agents.insert(agent.to_string());
        }
    }
}

/// Whole seconds as a duration.
pub(super) fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}
