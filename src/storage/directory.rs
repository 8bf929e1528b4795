//! Who and what calls are routed to and dialled: agents, queues and the
//! time callers spend in them, campaigns and their contacts and attempts,
//! customers, and API keys with their roles.

use serde::{Deserialize, Serialize};

use super::Millis;

/// A human agent (routing fills in the rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Stable id (`alice`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where calls go (SIP URI).
    pub uri: String,
    /// Skill groups.
    pub skills: Vec<String>,
    /// Languages or dialects spoken.
    pub languages: Vec<String>,
    /// Concurrent calls at most.
    pub max_calls: u32,
}

/// A queue of callers waiting for agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// Name (`after-sales`), as in `queue:NAME` targets.
    pub name: String,
    /// Skills an agent needs.
    pub skills: Vec<String>,
    /// Longest wait before overflow, seconds.
    pub max_wait_secs: u32,
}

/// One caller's time in a queue (written by routing, read by reports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The call.
    pub call_id: String,
    /// The queue.
    pub queue: String,
    /// Joined.
    pub entered_at: Millis,
    /// Left (answered, abandoned or overflowed).
    pub left_at: Option<Millis>,
    /// `answered`, `abandoned`, `overflow`, or none while waiting.
    pub result: Option<String>,
    /// The agent who answered.
    pub agent_id: Option<String>,
}

/// A leg of a call handled by an agent (written by routing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentLeg {
    /// The call.
    pub call_id: String,
    /// The agent.
    pub agent_id: String,
    /// Answered by the agent.
    pub started_at: Millis,
    /// Ended.
    pub ended_at: Option<Millis>,
}

/// An outbound campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Dialplan its calls run.
    pub dialplan: String,
    /// `draft`, `running`, `paused`, `done`.
    pub status: String,
    /// Created.
    pub created_at: Millis,
}

/// A contact of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Row id (0 when new).
    pub id: i64,
    /// Its campaign.
    pub campaign_id: String,
    /// Number to dial.
    pub phone: String,
    /// Name.
    pub name: String,
    /// Extra fields for the dialplan.
    pub data: serde_json::Value,
    /// `pending`, `calling`, `done`, `failed`, `dnc`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// One dialling attempt of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The campaign.
    pub campaign_id: String,
    /// The contact.
    pub contact_id: i64,
    /// The call, when one was placed.
    pub call_id: Option<String>,
    /// Started.
    pub started_at: Millis,
    /// Ended.
    pub ended_at: Option<Millis>,
    /// `answered`, `no_answer`, `busy`, `failed`, `machine`.
    pub result: Option<String>,
}

/// A customer known by phone number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Phone number.
    pub phone: String,
    /// Name.
    pub name: String,
    /// VIP level (0 = none).
    pub vip_level: i64,
    /// Region or dialect.
    pub region: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Calls on record.
    pub calls: i64,
    /// First and last call.
    pub first_seen: Option<Millis>,
    /// Last call.
    pub last_seen: Option<Millis>,
}

/// Roles of API keys, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read only.
    ReadOnly,
    /// An agent: own calls, own state.
    Agent,
    /// Supervisors: reviews, queues, reports.
    Supervisor,
    /// Everything, keys included.
    Admin,
}

impl Role {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read_only",
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role named `s` (`read-only` is accepted too).
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "read_only" | "read-only" | "readonly" => Some(Role::ReadOnly),
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An API key as listed (the secret is never stored, only its SHA-256).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Row id.
    pub id: i64,
    /// Who or what it is for.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Created.
    pub created_at: Millis,
    /// Last used.
    pub last_used_at: Option<Millis>,
    /// Revoked keys no longer authenticate.
    pub revoked: bool,
}
