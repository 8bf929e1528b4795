//! A dialplan ready to run many calls ([`Flow`]: the plan with its intent
//! and FAQ indexes built once), and what one call knows about its world:
//! the caller's profile, the queues' state and the local time
//! ([`Surroundings`]), and how variables are looked up ([`Vars`]).
//!
//! Calls share a flow through an `Arc`: a dialplan reloaded while calls are
//! in progress gives new calls the new flow and leaves the others on the
//! version they started with.

use std::collections::BTreeMap;

use super::plan::Plan;
use crate::nlu::dates::Date;
use crate::nlu::faq::Knowledge;
use crate::nlu::intent::Classifier;

/// A plan with its understanding built.
#[derive(Debug)]
pub struct Flow {
    /// The plan.
    pub plan: Plan,
    /// Intents of the plan.
    pub intents: Classifier,
    /// FAQ knowledge of the plan.
    pub faq: Knowledge,
}

impl Flow {
    /// Builds the indexes of `plan` (linear in its examples).
    pub fn new(plan: Plan) -> Flow {
        let intents: Vec<(String, Vec<String>)> = plan
            .intents
            .iter()
            .map(|i| (i.name.clone(), i.examples.clone()))
            .collect();
        let faq: Vec<(String, Vec<String>)> = plan
            .faq
            .iter()
            .map(|e| (e.id.clone(), e.questions.clone()))
            .collect();
        Flow {
            intents: Classifier::new(&intents),
            faq: Knowledge::new(&faq),
            plan,
        }
    }
}

/// Local wall-clock time where the call center is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Today.
    pub date: Date,
    /// Minutes since midnight.
    pub minute: u16,
}

impl LocalTime {
    /// Midnight of `date`.
    pub fn midnight(date: Date) -> LocalTime {
        LocalTime { date, minute: 0 }
    }
}

/// One queue as the dialogue sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueLoad {
    /// Agents free to take a call.
    pub idle: u32,
    /// Callers waiting.
    pub waiting: u32,
}

/// What one call knows about the world outside the dialogue.
#[derive(Debug, Clone)]
pub struct Surroundings {
    /// The caller's number (From user part), as given.
    pub caller: String,
    /// The number called (To/Request-URI user part).
    pub called: String,
    /// Profile fields known before the call (`vip`, `tags`, `calls`,
    /// `complaints`, …) from storage; the dialplan's look-up adds more.
    pub profile: BTreeMap<String, String>,
    /// Queues by name; empty when routing has not said.
    pub queues: BTreeMap<String, QueueLoad>,
    /// Applies to every queue not listed (`/agents busy` in the simulator).
    pub all_queues: Option<QueueLoad>,
    /// Local time.
    pub time: LocalTime,
}

impl Surroundings {
    /// A caller with no profile, queues unknown, at `time`.
    pub fn new(caller: &str, called: &str, time: LocalTime) -> Surroundings {
        Surroundings {
            caller: caller.to_string(),
            called: called.to_string(),
            profile: BTreeMap::new(),
            queues: BTreeMap::new(),
            all_queues: None,
            time,
        }
    }

    /// The load of queue `name`, when known.
    pub fn queue(&self, name: &str) -> Option<QueueLoad> {
        self.queues.get(name).copied().or(self.all_queues)
    }

    /// Idle agents over all queues, when known.
    pub fn agents_idle(&self) -> Option<u32> {
        if self.queues.is_empty() {
            return self.all_queues.map(|q| q.idle);
        }
        Some(self.queues.values().map(|q| q.idle).sum())
    }
}

/// Names the dialogue itself defines; always known to the validator.
pub const BUILTIN_VARS: &[&str] = &[
    "intent",
    "confidence",
    "emotion",
    "emotion_score",
    "last_text",
    "caller",
    "called",
    "turns",
    "failures",
    "time",
    "hour",
    "weekday",
    "date",
    "agents_idle",
    "faq_answer",
    "faq_id",
    "llm_answer",
    "http_error",
    "transfer_target",
];

/// Prefixes whose names are open-ended (`profile.vip`, `queue.sales.idle`).
pub const BUILTIN_PREFIXES: &[&str] = &["profile.", "queue."];

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A call's variables: what the dialplan set, and the computed ones.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// Set by the dialplan or the dialogue.
    pub values: BTreeMap<String, String>,
}

impl Vars {
    /// The value of `name` for a call in `world`, or `None` when unset.
    pub fn get(&self, name: &str, world: &Surroundings) -> Option<String> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        let t = world.time;
        match name {
            "caller" => return Some(world.caller.clone()),
            "called" => return Some(world.called.clone()),
            "time" => return Some(format!("{:02}:{:02}", t.minute / 60, t.minute % 60)),
            "hour" => return Some((t.minute / 60).to_string()),
            "weekday" => {
                return WEEKDAYS
                    .get(usize::from(t.date.weekday()))
                    .map(|d| d.to_string())
            }
            "date" => return Some(t.date.to_string()),
            "agents_idle" => return world.agents_idle().map(|n| n.to_string()),
            _ => {}
        }
        if let Some(field) = name.strip_prefix("profile.") {
            return world.profile.get(field).cloned();
        }
        if let Some(rest) = name.strip_prefix("queue.") {
            let (queue, field) = rest.rsplit_once('.')?;
            let load = world.queue(queue)?;
            return match field {
                "idle" => Some(load.idle.to_string()),
                "waiting" => Some(load.waiting.to_string()),
                _ => None,
            };
        }
        None
    }

    /// Sets `name`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_string(), value.into());
    }
}

/// Whether the validator should accept `name` as defined by kefu.
pub fn is_builtin(name: &str) -> bool {
    BUILTIN_VARS.contains(&name) || BUILTIN_PREFIXES.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> Surroundings {
        let date = Date {
            year: 2026,
            month: 11,
            day: 23,
        };
        let mut w = Surroundings::new(
            "+8613800000000",
            "400",
            LocalTime {
                date,
                minute: 9 * 60 + 5,
            },
        );
        w.profile.insert("vip".into(), "3".into());
        w.queues.insert(
            "after_sales".into(),
            QueueLoad {
                idle: 2,
                waiting: 1,
            },
        );
        w
    }

    #[test]
    fn builtins_and_profile() {
        let w = world();
        let mut v = Vars::default();
        v.set("order_id", "12345678");
        assert_eq!(v.get("order_id", &w).as_deref(), Some("12345678"));
        assert_eq!(v.get("time", &w).as_deref(), Some("09:05"));
        assert_eq!(v.get("hour", &w).as_deref(), Some("9"));
        assert_eq!(v.get("weekday", &w).as_deref(), Some("mon"));
        assert_eq!(v.get("date", &w).as_deref(), Some("2026-11-23"));
        assert_eq!(v.get("profile.vip", &w).as_deref(), Some("3"));
        assert_eq!(v.get("queue.after_sales.idle", &w).as_deref(), Some("2"));
        assert_eq!(v.get("queue.after_sales.waiting", &w).as_deref(), Some("1"));
        assert_eq!(v.get("queue.other.idle", &w), None);
        assert_eq!(v.get("agents_idle", &w).as_deref(), Some("2"));
        assert!(is_builtin("profile.anything") && !is_builtin("order_id"));
    }

    #[test]
    fn all_queues_applies_to_unlisted_queues() {
        let mut w = world();
        w.queues.clear();
        assert_eq!(w.agents_idle(), None, "unknown until routing says");
        w.all_queues = Some(QueueLoad::default());
        assert_eq!(w.agents_idle(), Some(0));
        assert_eq!(w.queue("any").map(|q| q.idle), Some(0));
    }
}
