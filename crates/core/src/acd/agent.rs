//! One agent's state machine: presence (ready, away, offline), the offer
//! ringing, the calls being talked and wrap-up, and the state derived from
//! them for the console.
//!
//! The state shown is derived, in this order: an offer out makes it
//! `Ringing`; any call makes it `Busy`; wrap-up makes it `WrapUp`; then
//! presence gives `Idle`, `Away` or `Offline`. An agent can be offered a
//! call when ready, not ringing, not in wrap-up and below `max_calls`.

use std::collections::BTreeSet;
use std::time::Instant;

use super::spec::{AgentSpec, AgentState, Presence};

/// One agent and what it is doing.
#[derive(Debug, Clone)]
pub(super) struct Agent {
    /// The configuration, with languages and region in lower case.
    pub spec: AgentSpec,
    /// What the agent asked for last.
    pub presence: Presence,
    /// The call ringing the agent, if any.
    pub offer: Option<u64>,
    /// Calls being talked.
    pub calls: BTreeSet<u64>,
    /// End of wrap-up, while in wrap-up.
    pub wrap_until: Option<Instant>,
    /// Answered calls since the last reset of the day.
    pub calls_today: u32,
    /// When the agent last became free (for longest idle).
    pub free_since: Instant,
    /// The state last reported, and since when.
    pub shown: AgentState,
    /// When `shown` began.
    pub since: Instant,
    /// Queues whose skills the agent meets.
    pub queues: BTreeSet<String>,
}

impl Agent {
    /// A new agent, offline.
    pub fn new(spec: AgentSpec, now: Instant) -> Agent {
        Agent {
            spec: normalized(spec),
            presence: Presence::Offline,
            offer: None,
            calls: BTreeSet::new(),
            wrap_until: None,
            calls_today: 0,
            free_since: now,
            shown: AgentState::Offline,
            since: now,
            queues: BTreeSet::new(),
        }
    }

    /// Replaces the configuration, keeping the state.
    pub fn update(&mut self, spec: AgentSpec) {
        self.spec = normalized(spec);
    }

    /// The state derived from presence, offer, calls and wrap-up.
    pub fn state(&self) -> AgentState {
        if self.offer.is_some() {
            AgentState::Ringing
        } else if !self.calls.is_empty() {
            AgentState::Busy
        } else if self.wrap_until.is_some() {
            AgentState::WrapUp
        } else {
            match self.presence {
                Presence::Ready => AgentState::Idle,
                Presence::Away => AgentState::Away,
                Presence::Offline => AgentState::Offline,
            }
        }
    }

    /// Can be offered a call now.
    pub fn available(&self) -> bool {
        self.presence == Presence::Ready
            && self.offer.is_none()
            && self.wrap_until.is_none()
            && (self.calls.len() as u64) < u64::from(self.spec.max_calls)
    }

    /// Logged in (ready or away).
    pub fn logged_in(&self) -> bool {
        self.presence != Presence::Offline
    }

    /// Calls being talked, as a count.
    pub fn talking(&self) -> u32 {
        u32::try_from(self.calls.len()).unwrap_or(u32::MAX)
    }

    /// The agent's level in `skill` (0 when lacking it).
    pub fn level(&self, skill: &str) -> u8 {
        self.spec
            .skills
            .iter()
            .filter(|(s, _)| s == skill)
            .map(|(_, l)| *l)
            .max()
            .unwrap_or(0)
    }

    /// Meets every `(skill, minimum)` of a queue.
    pub fn meets(&self, skills: &[(String, u8)]) -> bool {
        skills.iter().all(|(s, min)| self.level(s) >= *min)
    }

    /// Speaks `language` (already lower case).
    pub fn speaks(&self, language: &str) -> bool {
        self.spec.languages.iter().any(|l| l == language)
    }

    /// Updates `shown`/`since` when the derived state changed; returns the
    /// new state then.
    pub fn refresh(&mut self, now: Instant) -> Option<AgentState> {
        let state = self.state();
        if state == self.shown {
            return None;
        }
        if state == AgentState::Idle {
            self.free_since = now;
        }
        self.shown = state;
        self.since = now;
        Some(state)
    }
}

/// Lower-cases an agent's languages and region, so matching ignores case.
fn normalized(mut spec: AgentSpec) -> AgentSpec {
    for l in &mut spec.languages {
        *l = l.trim().to_lowercase();
    }
    spec.region = spec.region.trim().to_lowercase();
    spec
}
