//! The ACD's vocabulary: agent and queue specifications (validated when
//! put), callers, the states and requests of agents, and the outputs the
//! shell performs.
//!
//! Names used on the wire and in configuration (`"idle"`,
//! `"longest_idle"`, …) are given by the `name`/`parse` pairs here and by
//! nothing else.

use std::time::Instant;

use super::error::AcdError;

/// Lowest and highest skill level.
pub const SKILL_LEVELS: std::ops::RangeInclusive<u8> = 1..=10;

/// Highest VIP level of a caller.
pub const MAX_VIP: u8 = 9;

/// One human agent as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    /// Unique id (the login name).
    pub id: String,
    /// Skills with their levels (1-10), e.g. `("after-sales", 7)`.
    pub skills: Vec<(String, u8)>,
    /// Languages and dialects spoken, e.g. `"mandarin"`, `"cantonese"`,
    /// `"en"` (compared without regard to case).
    pub languages: Vec<String>,
    /// Region, e.g. `"guangdong"` (compared without regard to case; empty
    /// when unknown).
    pub region: String,
    /// Calls at once (at least 1).
    pub max_calls: u32,
    /// Wrap-up after each call, in seconds (0: none).
    pub wrap_up_secs: u32,
}

/// What an agent is doing, as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    /// Logged out.
    Offline,
    /// Logged in and free.
    Idle,
    /// An offer is out to the agent (whether or not they are on a call).
    Ringing,
    /// On at least one call.
    Busy,
    /// After a call, before being offered the next.
    WrapUp,
    /// Logged in, taking no calls (asked, or did not answer an offer).
    Away,
}

impl AgentState {
    /// Every state, in declaration order.
    pub const ALL: [AgentState; 6] = [
        AgentState::Offline,
        AgentState::Idle,
        AgentState::Ringing,
        AgentState::Busy,
        AgentState::WrapUp,
        AgentState::Away,
    ];

    /// The state's name: `offline`, `idle`, `ringing`, `busy`, `wrap_up`,
    /// `away`.
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::Offline => "offline",
            AgentState::Idle => "idle",
            AgentState::Ringing => "ringing",
            AgentState::Busy => "busy",
            AgentState::WrapUp => "wrap_up",
            AgentState::Away => "away",
        }
    }

    /// The state named `s` (as [`AgentState::name`] writes it).
    pub fn parse(s: &str) -> Option<AgentState> {
        AgentState::ALL.into_iter().find(|st| st.name() == s)
    }
}

/// What an agent (or a supervisor) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// Log in, come back from away, or end wrap-up early.
    Ready,
    /// Stay logged in but take no new calls.
    Away,
    /// Log out.
    Offline,
}

/// How a queue chooses among eligible free agents (after the dialect and
/// region preference, see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The agent free for the longest time.
    LongestIdle,
    /// The agent with the fewest answered calls today.
    LeastCalls,
    /// The agent with the highest level in the queue's skills.
    SkillLevel,
    /// Agents in turn, by id, after the last one offered a call.
    RoundRobin,
}

impl Strategy {
    /// Every strategy, in declaration order.
    pub const ALL: [Strategy; 4] = [
        Strategy::LongestIdle,
        Strategy::LeastCalls,
        Strategy::SkillLevel,
        Strategy::RoundRobin,
    ];

    /// The strategy's name: `longest_idle`, `least_calls`, `skill_level`,
    /// `round_robin`.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest_idle",
            Strategy::LeastCalls => "least_calls",
            Strategy::SkillLevel => "skill_level",
            Strategy::RoundRobin => "round_robin",
        }
    }

    /// The strategy named `s` (as [`Strategy::name`] writes it).
    pub fn parse(s: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|st| st.name() == s)
    }
}

/// Where a caller goes after the queue's maximum wait.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Nowhere: the caller keeps waiting (the maximum wait is ignored).
    None,
    /// To another queue, keeping the caller's original entry time.
    Queue(String),
    /// Back to the bot.
    Bot,
}

/// One queue as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// Unique name.
    pub name: String,
    /// How free agents are chosen.
    pub strategy: Strategy,
    /// Skills an agent needs, each with a minimum level (1-10); an agent
    /// with all of them serves the queue.
    pub skills: Vec<(String, u8)>,
    /// Only agents who speak the caller's language (when known) get the
    /// caller.
    pub language_required: bool,
    /// Longest wait in this queue before overflow.
    pub max_wait_secs: Option<u32>,
    /// Where callers go after `max_wait_secs`.
    pub overflow: Overflow,
    /// Interval of position/estimated-wait announcements.
    pub announce_secs: Option<u32>,
    /// How long one offer rings before it is withdrawn (at least 1).
    pub ring_secs: u32,
    /// A caller arriving when no agent of the queue is logged in goes back
    /// to the bot (unless they insisted on a human).
    pub empty_to_bot: bool,
}

/// One caller asking for a human.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    /// The call's number (unique while queued or talking).
    pub call: u64,
    /// VIP level, 0-9.
    pub vip: u8,
    /// The caller sounds upset.
    pub upset: bool,
    /// The caller complains.
    pub complaint: bool,
    /// The caller called before, recently.
    pub repeat: bool,
    /// The caller asked for a human again.
    pub insisted: bool,
    /// Language or dialect, when known.
    pub language: Option<String>,
    /// Region, when known.
    pub region: Option<String>,
}

/// How a waiting caller leaves the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leave {
    /// The caller hung up.
    Hangup,
    /// The caller asked to be called back (emits [`Output::Callback`]).
    Callback,
    /// The dialogue took the caller back.
    Bot,
}

/// Why an agent did not take an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Declined {
    /// The agent refused it; the call is not offered to them again.
    Rejected,
    /// The agent's phone rang out; the agent goes away.
    NoAnswer,
    /// The agent's phone could not be reached; the agent goes away.
    Failed,
}

/// Why a caller goes back to the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToBotWhy {
    /// The queue's maximum wait passed with `Overflow::Bot` (or an
    /// overflow queue that no longer exists).
    Timeout,
    /// No agent of the queue is logged in and the queue sends callers to
    /// the bot then.
    NoAgents,
    /// The queue was removed.
    QueueRemoved,
}

impl ToBotWhy {
    /// `timeout`, `no_agents` or `queue_removed`.
    pub fn name(&self) -> &'static str {
        match self {
            ToBotWhy::Timeout => "timeout",
            ToBotWhy::NoAgents => "no_agents",
            ToBotWhy::QueueRemoved => "queue_removed",
        }
    }
}

/// What the shell must do, drained from [`super::Acd::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Ring `agent` with `call`, which waited in `queue`.
    Offer {
        /// The caller.
        call: u64,
        /// The agent to ring.
        agent: String,
        /// The queue the caller waited in.
        queue: String,
    },
    /// Stop ringing `agent` with `call` (ring timeout, or the caller or the
    /// agent went away).
    Withdraw {
        /// The caller.
        call: u64,
        /// The agent ringing.
        agent: String,
    },
    /// Tell the caller their position and estimated wait.
    Announce {
        /// The caller.
        call: u64,
        /// The queue.
        queue: String,
        /// 1 = next.
        position: u32,
        /// Estimated wait in seconds.
        eta_secs: u32,
    },
    /// The caller waited too long in `from` and now waits in `to`.
    Overflowed {
        /// The caller.
        call: u64,
        /// The queue left.
        from: String,
        /// The queue joined.
        to: String,
    },
    /// The caller leaves the queue for the bot.
    ToBot {
        /// The caller.
        call: u64,
        /// The queue left.
        queue: String,
        /// Why.
        why: ToBotWhy,
    },
    /// The caller left a callback request: store it.
    Callback {
        /// The caller.
        call: u64,
        /// The queue left.
        queue: String,
    },
    /// An agent's state changed.
    AgentState {
        /// The agent.
        agent: String,
        /// The new state.
        state: AgentState,
    },
}

/// An agent as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    /// The agent's id.
    pub id: String,
    /// Current state.
    pub state: AgentState,
    /// Calls being talked now.
    pub calls: u32,
    /// Calls answered since the last [`super::Acd::reset_day`].
    pub calls_today: u32,
    /// When the agent entered `state`.
    pub since: Instant,
}

/// A waiting caller as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingView {
    /// The caller.
    pub call: u64,
    /// 1 = next; 0 while an offer to an agent is out.
    pub position: u32,
    /// Original entry time (kept across overflows).
    pub entered: Instant,
    /// Wait so far, up to the latest time the ACD was given.
    pub waited: std::time::Duration,
    /// Priority class, higher first (see the module docs).
    pub priority: u16,
    /// The agent ringing, while an offer is out.
    pub ringing: Option<String>,
}

/// Checks a name: not empty, not only spaces.
pub(super) fn check_name(kind: &'static str, name: &str) -> Result<(), AcdError> {
    if name.trim().is_empty() {
        return Err(AcdError::EmptyName { kind });
    }
    Ok(())
}

/// Checks skills: non-empty names, levels in 1..=10.
pub(super) fn check_skills(owner: &str, skills: &[(String, u8)]) -> Result<(), AcdError> {
    for (skill, level) in skills {
        check_name("skill", skill)?;
        if !SKILL_LEVELS.contains(level) {
            return Err(AcdError::SkillLevel {
                owner: owner.to_string(),
                skill: skill.clone(),
                level: *level,
            });
        }
    }
    Ok(())
}

impl AgentSpec {
    /// Checks the spec: id, skills, `max_calls >= 1`.
    pub fn validate(&self) -> Result<(), AcdError> {
        check_name("agent", &self.id)?;
        check_skills(&self.id, &self.skills)?;
        if self.max_calls == 0 {
            return Err(AcdError::MaxCallsZero {
                agent: self.id.clone(),
            });
        }
        Ok(())
    }
}

impl QueueSpec {
    /// Checks the spec on its own: name, skills, `ring_secs >= 1`, no
    /// overflow to itself (cycles through other queues are checked by
    /// [`super::Acd::put_queue`]).
    pub fn validate(&self) -> Result<(), AcdError> {
        check_name("queue", &self.name)?;
        check_skills(&self.name, &self.skills)?;
        if self.ring_secs == 0 {
            return Err(AcdError::RingSecsZero {
                queue: self.name.clone(),
            });
        }
        if let Overflow::Queue(to) = &self.overflow {
            check_name("overflow queue", to)?;
            if *to == self.name {
                return Err(AcdError::OverflowCycle {
                    queue: self.name.clone(),
                    path: vec![self.name.clone(), to.clone()],
                });
            }
        }
        Ok(())
    }
}
