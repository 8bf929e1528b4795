//! Matching: the best free agent for a caller (preference for the
//! caller's dialect and region, then the queue's strategy) and the best
//! caller for an agent that became free (the head of its queues).

use std::cmp::Reverse;
use std::time::Instant;

use super::agent::Agent;
use super::queue::{Key, Queue};
use super::spec::Strategy;
use super::{Acd, CallRec};

/// How an agent ranks for a caller: smaller is better.
type Rank<'a> = (Reverse<(bool, bool)>, u32, u64, Option<Instant>, &'a str);

/// Whether `agent` may be offered `rec` (ignoring availability).
fn may_take(agent: &Agent, queue: &Queue, rec: &CallRec) -> bool {
    if rec.rejected_by.contains(&agent.spec.id) {
        return false;
    }
    match (&rec.caller.language, queue.spec.language_required) {
        (Some(lang), true) => agent.speaks(lang),
        _ => true,
    }
}

/// The rank of `agent` for `rec` in `queue`.
fn rank<'a>(agent: &'a Agent, queue: &Queue, rec: &CallRec) -> Rank<'a> {
    let speaks = rec
        .caller
        .language
        .as_deref()
        .is_some_and(|l| agent.speaks(l));
    let local = rec
        .caller
        .region
        .as_deref()
        .is_some_and(|r| !r.is_empty() && r == agent.spec.region);
    let id = agent.spec.id.as_str();
    let (order, idle) = match queue.spec.strategy {
        Strategy::LongestIdle => (0, Some(agent.free_since)),
        Strategy::LeastCalls => (u64::from(agent.calls_today), Some(agent.free_since)),
        Strategy::SkillLevel => {
            let level: u64 = queue
                .spec
                .skills
                .iter()
                .map(|(s, _)| u64::from(agent.level(s)))
                .sum();
            (u64::MAX - level, Some(agent.free_since))
        }
        Strategy::RoundRobin => {
            let wrapped = queue.last_offered.as_deref().is_some_and(|last| id <= last);
            (u64::from(wrapped), None)
        }
    };
    (Reverse((speaks, local)), agent.talking(), order, idle, id)
}

impl Acd {
    /// The best free agent for the waiting call `call`, if any.
    pub(super) fn best_agent(&self, call: u64) -> Option<String> {
        let rec = self.calls.get(&call)?;
        let queue = self.queues.get(&rec.queue)?;
        queue
            .members
            .iter()
            .filter_map(|id| self.agents.get(id))
            .filter(|a| a.available() && may_take(a, queue, rec))
            .min_by(|a, b| rank(a, queue, rec).cmp(&rank(b, queue, rec)))
            .map(|a| a.spec.id.clone())
    }

    /// The waiting caller the free agent `agent` should serve next: the
    /// first in order, over all the agent's queues, that it may take.
    pub(super) fn best_caller(&self, agent: &str) -> Option<u64> {
        let a = self.agents.get(agent)?;
        let mut best: Option<(Key, u64)> = None;
        for name in &a.queues {
            let Some(q) = self.queues.get(name) else {
                continue;
            };
            if let Some(found) = self.head_for(a, q) {
                if best.is_none_or(|b| found.0 < b.0) {
                    best = Some(found);
                }
            }
        }
        best.map(|(_, call)| call)
    }

    /// The first caller of `q` that `a` may take.
    fn head_for(&self, a: &Agent, q: &Queue) -> Option<(Key, u64)> {
        let first = |keys: &mut dyn Iterator<Item = &Key>| -> Option<(Key, u64)> {
            keys.filter_map(|k| q.waiting.get(k).map(|c| (*k, *c)))
                .find(|(_, c)| self.calls.get(c).is_some_and(|rec| may_take(a, q, rec)))
        };
        if !q.spec.language_required {
            return first(&mut q.waiting.keys());
        }
        // Callers of unknown language, or of one the agent speaks: the
        // heads of those language indexes.
        let mut best: Option<(Key, u64)> = None;
        let unknown = std::iter::once(None);
        let spoken = a.spec.languages.iter().map(|l| Some(l.clone()));
        for lang in unknown.chain(spoken) {
            if let Some(keys) = q.by_language.get(&lang) {
                if let Some(found) = first(&mut keys.iter()) {
                    if best.is_none_or(|b| found.0 < b.0) {
                        best = Some(found);
                    }
                }
            }
        }
        best
    }
}
