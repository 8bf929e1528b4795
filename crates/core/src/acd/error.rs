//! The ACD's error type: unknown names, bad specifications and inputs that
//! do not fit the current state. Each variant says whose fault it is and
//! maps to an HTTP status for the REST API ([`AcdError::status`]).

use thiserror::Error;

/// Why an ACD input was refused (the ACD is left unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AcdError {
    /// No agent has this id (caller's fault: 404).
    #[error("unknown agent {0:?}")]
    UnknownAgent(String),
    /// No queue has this name (caller's fault: 404).
    #[error("unknown queue {0:?}")]
    UnknownQueue(String),
    /// The call is neither waiting, ringing nor talking (caller's fault: 404).
    #[error("unknown call {0}")]
    UnknownCall(u64),
    /// A name is empty (configuration fault: 400).
    #[error("{kind} name is empty")]
    EmptyName {
        /// What was being named: agent, queue, skill…
        kind: &'static str,
    },
    /// A skill level outside 1..=10 (configuration fault: 400).
    #[error("{owner:?}: skill {skill:?} has level {level}, levels are 1 to 10")]
    SkillLevel {
        /// The agent or queue.
        owner: String,
        /// The skill.
        skill: String,
        /// The level given.
        level: u8,
    },
    /// An agent with `max_calls` 0 (configuration fault: 400).
    #[error("agent {agent:?}: max_calls must be at least 1")]
    MaxCallsZero {
        /// The agent.
        agent: String,
    },
    /// A queue with `ring_secs` 0 (configuration fault: 400).
    #[error("queue {queue:?}: ring_secs must be at least 1")]
    RingSecsZero {
        /// The queue.
        queue: String,
    },
    /// Overflow leads back to the queue itself (configuration fault: 400).
    #[error("queue {queue:?} overflows into a cycle: {}", path.join(" -> "))]
    OverflowCycle {
        /// The queue being put.
        queue: String,
        /// The queues on the cycle, starting and ending with `queue`.
        path: Vec<String>,
    },
    /// A VIP level above 9 (caller's fault: 400).
    #[error("call {call}: VIP level {vip} is above 9")]
    Vip {
        /// The call.
        call: u64,
        /// The level given.
        vip: u8,
    },
    /// The call is already queued, ringing or talking (conflict: 409).
    #[error("call {0} is already in the ACD")]
    AlreadyQueued(u64),
    /// The call is talking to an agent, not waiting (conflict: 409).
    #[error("call {0} is not waiting in a queue")]
    NotWaiting(u64),
    /// `answered`/`declined` for an offer that was not made to this agent
    /// (conflict: 409).
    #[error("call {call} was not offered to agent {agent:?}")]
    NotOffered {
        /// The call.
        call: u64,
        /// The agent that claimed it.
        agent: String,
    },
    /// `hung_up` for a call the agent is not talking (conflict: 409).
    #[error("agent {agent:?} is not talking call {call}")]
    NotTalking {
        /// The call.
        call: u64,
        /// The agent.
        agent: String,
    },
    /// An agent cannot be removed while on calls (conflict: 409).
    #[error("agent {agent:?} is on {calls} call(s); log them out and wait")]
    AgentOnCalls {
        /// The agent.
        agent: String,
        /// Calls in progress.
        calls: u32,
    },
}

impl AcdError {
    /// The HTTP status the REST API answers with.
    pub fn status(&self) -> u16 {
        match self {
            AcdError::UnknownAgent(_) | AcdError::UnknownQueue(_) | AcdError::UnknownCall(_) => 404,
            AcdError::AlreadyQueued(_)
            | AcdError::NotWaiting(_)
            | AcdError::NotOffered { .. }
            | AcdError::NotTalking { .. }
            | AcdError::AgentOnCalls { .. } => 409,
            _ => 400,
        }
    }
}
