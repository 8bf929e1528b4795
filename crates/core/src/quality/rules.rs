//! What a dialplan expects of its calls: phrases nobody may say, phrases
//! somebody must say (and how soon), limits on silence, talk-over and
//! hold, whether the caller's mood and the bot's containment are judged,
//! and what each severity of finding costs. Queues may tighten or add to
//! these for the calls transferred to them.
//!
//! Plain data with sensible defaults; the dialplan's `[quality]` table
//! builds it (the `table` module) and [`super::inspect()`] applies it.

use std::collections::BTreeMap;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; costs nothing by default.
    Info,
    /// A lapse.
    Warning,
    /// A serious lapse.
    Critical,
}

impl Severity {
    /// Its name in dialplans, flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// The severity called `name`.
    pub fn from_name(name: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// Who said a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speaker {
    /// The person who called (or was called).
    Caller,
    /// kefu itself.
    Bot,
    /// A human agent after a transfer.
    Agent,
}

impl Speaker {
    /// Its name in details.
    pub fn name(self) -> &'static str {
        match self {
            Speaker::Caller => "caller",
            Speaker::Bot => "bot",
            Speaker::Agent => "agent",
        }
    }
}

/// Whom a phrase rule is about: one speaker, or the staff (bot or agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The caller.
    Caller,
    /// kefu.
    Bot,
    /// A human agent.
    Agent,
    /// kefu or a human agent, whoever served the caller.
    Staff,
}

impl Party {
    /// Its name in dialplans.
    pub fn name(self) -> &'static str {
        match self {
            Party::Caller => "caller",
            Party::Bot => "bot",
            Party::Agent => "agent",
            Party::Staff => "staff",
        }
    }

    /// The party called `name`.
    pub fn from_name(name: &str) -> Option<Party> {
        [Party::Caller, Party::Bot, Party::Agent, Party::Staff]
            .into_iter()
            .find(|p| p.name() == name)
    }

    /// Whether lines of `speaker` belong to this party.
    pub fn covers(self, speaker: Speaker) -> bool {
        matches!(
            (self, speaker),
            (Party::Caller, Speaker::Caller)
                | (Party::Bot, Speaker::Bot)
                | (Party::Agent, Speaker::Agent)
                | (Party::Staff, Speaker::Bot | Speaker::Agent)
        )
    }
}

/// Phrases that must not be said (rudeness, promises kefu cannot keep).
#[derive(Debug, Clone, PartialEq)]
pub struct Forbidden {
    /// Unique among the plan's phrase rules (`rude`).
    pub name: String,
    /// Any of these is a finding.
    pub phrases: Vec<String>,
    /// Whose lines are searched (bot and agent by default).
    pub speakers: Vec<Party>,
    /// Each line that says one costs this.
    pub severity: Severity,
}

/// Phrases one of which must be said (a greeting, an identity check).
#[derive(Debug, Clone, PartialEq)]
pub struct Required {
    /// Unique among the plan's phrase rules (`greeting`).
    pub name: String,
    /// Any one of these will do.
    pub phrases: Vec<String>,
    /// Who must say it (bot, agent or staff). A rule for the agent only
    /// applies to calls where an agent spoke.
    pub speaker: Party,
    /// It must be said within this many seconds of the answer.
    pub within_secs: Option<f64>,
    /// Missing (or late) costs this.
    pub severity: Severity,
}

/// Limits on the talk figures, in seconds except the ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Most silence as a share of the time outside hold (0..=1).
    pub max_silence_ratio: f64,
    /// Longest silence (dead air).
    pub max_dead_air_secs: f64,
    /// Most talk-over in total.
    pub max_talk_over_secs: f64,
    /// Longest single hold.
    pub max_hold_secs: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_silence_ratio: 0.5,
            max_dead_air_secs: 10.0,
            max_talk_over_secs: 5.0,
            max_hold_secs: 60.0,
        }
    }
}

/// Points a finding of each severity takes off the score of 100.
#[derive(Debug, Clone, PartialEq)]
pub struct Penalties {
    /// Per info finding (0 by default).
    pub info: f64,
    /// Per warning (10 by default).
    pub warning: f64,
    /// Per critical finding (25 by default).
    pub critical: f64,
}

impl Default for Penalties {
    fn default() -> Self {
        Penalties {
            info: 0.0,
            warning: 10.0,
            critical: 25.0,
        }
    }
}

impl Penalties {
    /// What a finding of `severity` costs.
    pub fn of(&self, severity: Severity) -> f64 {
        match severity {
            Severity::Info => self.info,
            Severity::Warning => self.warning,
            Severity::Critical => self.critical,
        }
    }
}

/// A queue's changes to the plan's rules, for calls transferred to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulesOverride {
    /// Replaces the plan's `max_silence_ratio` when set.
    pub max_silence_ratio: Option<f64>,
    /// Replaces the plan's `max_dead_air_secs` when set.
    pub max_dead_air_secs: Option<f64>,
    /// Replaces the plan's `max_talk_over_secs` when set.
    pub max_talk_over_secs: Option<f64>,
    /// Replaces the plan's `max_hold_secs` when set.
    pub max_hold_secs: Option<f64>,
    /// Added to the plan's forbidden phrases.
    pub forbidden: Vec<Forbidden>,
    /// Added to the plan's required phrases.
    pub required: Vec<Required>,
}

/// Everything a plan's quality inspection checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Talk limits.
    pub thresholds: Thresholds,
    /// Flag a caller who ended more upset than they began (and note one
    /// who ended calmer).
    pub emotion_trend: bool,
    /// Note calls the bot did not contain (transferred to a person).
    pub containment: bool,
    /// Cost of each severity.
    pub penalties: Penalties,
    /// Phrases nobody covered may say.
    pub forbidden: Vec<Forbidden>,
    /// Phrases somebody must say.
    pub required: Vec<Required>,
    /// Queue name (as in `queue:NAME`) -> its changes.
    pub queues: BTreeMap<String, RulesOverride>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            thresholds: Thresholds::default(),
            emotion_trend: true,
            containment: true,
            penalties: Penalties::default(),
            forbidden: Vec::new(),
            required: Vec::new(),
            queues: BTreeMap::new(),
        }
    }
}

impl Rules {
    /// The rules for a call transferred to `target` (`queue:NAME` picks
    /// that queue's override, if any; anything else changes nothing).
    pub fn for_target(&self, target: Option<&str>) -> Rules {
        let mut rules = self.clone();
        let queue = target.and_then(|t| t.strip_prefix("queue:"));
        let Some(o) = queue.and_then(|q| self.queues.get(q)) else {
            return rules;
        };
        let t = &mut rules.thresholds;
        t.max_silence_ratio = o.max_silence_ratio.unwrap_or(t.max_silence_ratio);
        t.max_dead_air_secs = o.max_dead_air_secs.unwrap_or(t.max_dead_air_secs);
        t.max_talk_over_secs = o.max_talk_over_secs.unwrap_or(t.max_talk_over_secs);
        t.max_hold_secs = o.max_hold_secs.unwrap_or(t.max_hold_secs);
        rules.forbidden.extend(o.forbidden.iter().cloned());
        rules.required.extend(o.required.iter().cloned());
        rules
    }
}
