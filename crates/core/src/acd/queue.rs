//! One queue: its members (agents meeting its skills), its waiting callers
//! ordered by [`Key`] (priority, then entry time, then arrival sequence),
//! an index of them by language for queues that require it, and the recent
//! handle times behind the estimated wait.
//!
//! Callers ringing an agent are taken out of the order while the offer is
//! out and put back with the same key when it fails, so they keep their
//! place.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use super::spec::{Caller, QueueSpec};

/// Handle times kept for the estimated wait.
pub const HANDLE_SAMPLES: usize = 20;

/// Average handle time (talk + wrap-up) assumed before any call ended.
pub const DEFAULT_HANDLE_SECS: u32 = 180;

/// A caller's priority class: VIP level first, then upset or complaint,
/// then repeat caller, then plain. Higher is served first.
pub fn priority(c: &Caller) -> u16 {
    let class = if c.upset || c.complaint {
        2
    } else if c.repeat {
        1
    } else {
        0
    };
    u16::from(c.vip) * 3 + class
}

/// A waiting caller's place: smaller is served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// Higher priority first.
    pub rank: Reverse<u16>,
    /// Then the earliest entry (kept across overflows).
    pub entry: Instant,
    /// Then the earliest arrival (unique per enqueue).
    pub seq: u64,
}

/// One queue and its callers.
#[derive(Debug, Clone)]
pub(super) struct Queue {
    /// The configuration.
    pub spec: QueueSpec,
    /// Agents meeting the queue's skills.
    pub members: BTreeSet<String>,
    /// Callers waiting (not ringing), in service order.
    pub waiting: BTreeMap<Key, u64>,
    /// The same callers by language (`None`: unknown).
    pub by_language: HashMap<Option<String>, BTreeSet<Key>>,
    /// Callers of this queue ringing an agent now.
    pub ringing: u32,
    /// Recent handle times in seconds, newest last.
    handle: VecDeque<u32>,
    /// The agent last offered a call (round robin).
    pub last_offered: Option<String>,
}

impl Queue {
    /// An empty queue.
    pub fn new(spec: QueueSpec) -> Queue {
        Queue {
            spec,
            members: BTreeSet::new(),
            waiting: BTreeMap::new(),
            by_language: HashMap::new(),
            ringing: 0,
            handle: VecDeque::with_capacity(HANDLE_SAMPLES),
            last_offered: None,
        }
    }

    /// Adds a waiting caller.
    pub fn insert(&mut self, key: Key, call: u64, language: Option<String>) {
        self.waiting.insert(key, call);
        self.by_language.entry(language).or_default().insert(key);
    }

    /// Removes a waiting caller.
    pub fn remove(&mut self, key: &Key, language: &Option<String>) {
        self.waiting.remove(key);
        if let Some(set) = self.by_language.get_mut(language) {
            set.remove(key);
            if set.is_empty() {
                self.by_language.remove(language);
            }
        }
    }

    /// 1-based position of a waiting caller (counts those ahead).
    pub fn position(&self, key: &Key) -> u32 {
        let ahead = self.waiting.range(..*key).count();
        u32::try_from(ahead).unwrap_or(u32::MAX).saturating_add(1)
    }

    /// Records one finished call's talk plus wrap-up time.
    pub fn record_handle(&mut self, secs: u32) {
        if self.handle.len() == HANDLE_SAMPLES {
            self.handle.pop_front();
        }
        self.handle.push_back(secs);
    }

    /// Rolling average handle time in seconds (the default before any
    /// call ended).
    pub fn average_handle(&self) -> u32 {
        if self.handle.is_empty() {
            return DEFAULT_HANDLE_SECS;
        }
        let sum: u64 = self.handle.iter().map(|s| u64::from(*s)).sum();
        let n = self.handle.len() as u64;
        u32::try_from(sum.div_ceil(n)).unwrap_or(u32::MAX)
    }

    /// Estimated wait for `position` with `agents` eligible agents:
    /// `ceil(position / max(1, agents)) * average handle`.
    pub fn eta(&self, position: u32, agents: u32) -> u32 {
        position
            .div_ceil(agents.max(1))
            .saturating_mul(self.average_handle())
    }

    /// Callers in the queue, ringing ones included.
    pub fn callers(&self) -> u32 {
        u32::try_from(self.waiting.len())
            .unwrap_or(u32::MAX)
            .saturating_add(self.ringing)
    }
}
