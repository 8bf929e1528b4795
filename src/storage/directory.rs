//! Who and what calls are routed to and dialled: agents, queues and the
//! time callers spend in them, campaigns and their contacts and attempts,
//! customers, and API keys with their roles.
//!
//! Agents and queues carry the routing settings the ACD needs. Every field
//! added after the first release has a serde default, so JSON written by
//! older clients (and rows written by older versions) still reads.
//!
//! Skill levels are kept beside the skill names rather than replacing
//! them: `skills` stays the list of names, `levels` maps a skill to its
//! level 1..=10. An agent's skill with no entry in `levels` counts as
//! [`DEFAULT_SKILL_LEVEL`]; a queue's required skill with no entry needs
//! level 1 (any agent with the skill).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Millis;

/// The level of an agent's skill that has none recorded.
pub const DEFAULT_SKILL_LEVEL: u8 = 5;
/// Wrap-up time after each call when none is set, seconds.
pub const DEFAULT_WRAP_UP_SECS: u32 = 15;
/// How long an offer rings an agent when none is set, seconds.
pub const DEFAULT_RING_SECS: u32 = 20;
/// The queue strategies routing knows.
pub const QUEUE_STRATEGIES: [&str; 4] =
    ["longest_idle", "least_calls", "skill_level", "round_robin"];

/// A human agent and the settings routing uses to pick them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Stable id (`alice`), also the SIP user name.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where calls go (SIP URI) when the agent is not registered.
    pub uri: String,
    /// Skill names.
    pub skills: Vec<String>,
    /// Languages or dialects spoken.
    pub languages: Vec<String>,
    /// Concurrent calls at most.
    pub max_calls: u32,
    /// Level 1..=10 per skill; a skill missing here is at
    /// [`DEFAULT_SKILL_LEVEL`] (see [`Agent::level`]).
    #[serde(default)]
    pub levels: BTreeMap<String, u8>,
    /// Region (`guangdong`), preferred for callers from there.
    #[serde(default)]
    pub region: String,
    /// Time after each call before the next offer, seconds.
    #[serde(default = "default_wrap_up_secs")]
    pub wrap_up_secs: u32,
    /// SIP digest HA1 of the agent's password (see [`ha1`]). Never
    /// serialized: the API does not return it. Saving an agent with none
    /// keeps the stored one.
    #[serde(default, skip_serializing)]
    pub password_ha1: Option<String>,
}

impl Agent {
    /// The agent's level in `skill`, `None` when they lack it.
    pub fn level(&self, skill: &str) -> Option<u8> {
        self.skills.iter().any(|s| s == skill).then(|| {
            self.levels
                .get(skill)
                .copied()
                .unwrap_or(DEFAULT_SKILL_LEVEL)
        })
    }

    /// Skills with their levels, in the order of `skills`.
    pub fn skill_levels(&self) -> Vec<(String, u8)> {
        self.skills
            .iter()
            .map(|s| (s.clone(), self.level(s).unwrap_or(DEFAULT_SKILL_LEVEL)))
            .collect()
    }
}

impl Default for Agent {
    fn default() -> Agent {
        Agent {
            id: String::new(),
            name: String::new(),
            uri: String::new(),
            skills: Vec::new(),
            languages: Vec::new(),
            max_calls: 1,
            levels: BTreeMap::new(),
            region: String::new(),
            wrap_up_secs: DEFAULT_WRAP_UP_SECS,
            password_ha1: None,
        }
    }
}

/// A queue of callers waiting for agents, and how it picks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// Name (`after-sales`), as in `queue:NAME` targets.
    pub name: String,
    /// Skills an agent needs.
    pub skills: Vec<String>,
    /// Longest wait before overflow, seconds.
    pub max_wait_secs: u32,
    /// Which eligible agent gets the next caller: one of
    /// [`QUEUE_STRATEGIES`] (`longest_idle` by default).
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Minimum level 1..=10 per required skill (missing: level 1).
    #[serde(default)]
    pub levels: BTreeMap<String, u8>,
    /// Only agents speaking the caller's language or dialect get the
    /// caller (otherwise such agents are merely preferred).
    #[serde(default)]
    pub language_required: bool,
    /// Where callers go after `max_wait_secs`: `bot`, `queue:NAME`, or
    /// nowhere (they keep waiting).
    #[serde(default)]
    pub overflow: Option<String>,
    /// Position and wait announcements every this many seconds (none when
    /// absent).
    #[serde(default)]
    pub announce_secs: Option<u32>,
    /// How long one offer rings an agent, seconds.
    #[serde(default = "default_ring_secs")]
    pub ring_secs: u32,
    /// A caller sent to a queue with no agent logged in goes back to the
    /// bot instead of waiting.
    #[serde(default = "default_true")]
    pub empty_to_bot: bool,
}

impl Queue {
    /// The minimum level a required skill needs.
    pub fn min_level(&self, skill: &str) -> u8 {
        self.levels.get(skill).copied().unwrap_or(1)
    }
}

impl Default for Queue {
    fn default() -> Queue {
        Queue {
            name: String::new(),
            skills: Vec::new(),
            max_wait_secs: 120,
            strategy: default_strategy(),
            levels: BTreeMap::new(),
            language_required: false,
            overflow: None,
            announce_secs: None,
            ring_secs: DEFAULT_RING_SECS,
            empty_to_bot: true,
        }
    }
}

fn default_wrap_up_secs() -> u32 {
    DEFAULT_WRAP_UP_SECS
}

fn default_ring_secs() -> u32 {
    DEFAULT_RING_SECS
}

fn default_strategy() -> String {
    QUEUE_STRATEGIES[0].to_owned()
}

fn default_true() -> bool {
    true
}

/// The SIP digest HA1 of a password (hex MD5 of `user:realm:password`),
/// what is stored instead of the password itself.
pub use crate::signalling::digest::ha1;

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
