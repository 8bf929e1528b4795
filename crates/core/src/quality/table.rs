//! The `[quality]` table of a flow dialplan: its TOML shape (with the
//! position of every value) and its checks into [`Rules`], every problem
//! named with its line. Unknown keys are TOML errors, reported by the
//! dialplan parser like any other.
//!
//! ```toml
//! [quality]
//! max_silence_ratio = 0.5
//! penalties = { info = 0, warning = 10, critical = 25 }
//! [[quality.forbidden]]
//! name = "rude"
//! phrases = ["shut up"]
//! [[quality.required]]
//! name = "greeting"
//! phrases = ["thank you for calling"]
//! within_secs = 15
//! [quality.queue.after_sales]
//! max_hold_secs = 30
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::phrase::Phrase;
use super::rules::{Forbidden, Party, Penalties, Required, Rules, RulesOverride, Severity};
use crate::dialogue::syntax::{Diagnostic, Source};

/// `[quality]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuality {
    max_silence_ratio: Option<Spanned<f64>>,
    max_dead_air_secs: Option<Spanned<f64>>,
    max_talk_over_secs: Option<Spanned<f64>>,
    max_hold_secs: Option<Spanned<f64>>,
    emotion_trend: Option<bool>,
    containment: Option<bool>,
    penalties: Option<RawPenalties>,
    #[serde(default)]
    forbidden: Vec<RawForbidden>,
    #[serde(default)]
    required: Vec<RawRequired>,
    #[serde(default)]
    queue: BTreeMap<Spanned<String>, RawQueue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPenalties {
    info: Option<Spanned<f64>>,
    warning: Option<Spanned<f64>>,
    critical: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForbidden {
    name: Spanned<String>,
    phrases: Spanned<Vec<String>>,
    speakers: Option<Spanned<Vec<Spanned<String>>>>,
    severity: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequired {
    name: Spanned<String>,
    phrases: Spanned<Vec<String>>,
    speaker: Option<Spanned<String>>,
    within_secs: Option<Spanned<f64>>,
    severity: Option<Spanned<String>>,
}

/// `[quality.queue.NAME]`: thresholds it replaces, phrase rules it adds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    max_silence_ratio: Option<Spanned<f64>>,
    max_dead_air_secs: Option<Spanned<f64>>,
    max_talk_over_secs: Option<Spanned<f64>>,
    max_hold_secs: Option<Spanned<f64>>,
    #[serde(default)]
    forbidden: Vec<RawForbidden>,
    #[serde(default)]
    required: Vec<RawRequired>,
}

/// Collects problems while checking.
struct Checker<'a> {
    src: Source<'a>,
    problems: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn err(&mut self, at: usize, message: impl Into<String>) {
        self.problems.push(self.src.error(at, message));
    }

    /// A number of 0 or more (seconds, points).
    fn amount(&mut self, v: &Option<Spanned<f64>>, key: &str) -> Option<f64> {
        let v = v.as_ref()?;
        let x = *v.get_ref();
        if x.is_finite() && x >= 0.0 {
            Some(x)
        } else {
            self.err(
                v.span().start,
                format!("{key} = {x}: use a number of 0 or more"),
            );
            None
        }
    }

    fn ratio(&mut self, v: &Option<Spanned<f64>>) -> Option<f64> {
        let v = v.as_ref()?;
        let x = *v.get_ref();
        if (0.0..=1.0).contains(&x) {
            Some(x)
        } else {
            self.err(
                v.span().start,
                format!("max_silence_ratio = {x}: a ratio is between 0 and 1"),
            );
            None
        }
    }

    fn severity(&mut self, v: &Option<Spanned<String>>, default: Severity) -> Severity {
        let Some(v) = v else { return default };
        Severity::from_name(v.get_ref()).unwrap_or_else(|| {
            self.err(
                v.span().start,
                format!("severity `{}`: use info, warning or critical", v.get_ref()),
            );
            default
        })
    }

    fn party(&mut self, v: &Spanned<String>, allowed: &[Party]) -> Option<Party> {
        let found = Party::from_name(v.get_ref()).filter(|p| allowed.contains(p));
        if found.is_none() {
            let names: Vec<&str> = allowed.iter().map(|p| p.name()).collect();
            self.err(
                v.span().start,
                format!("speaker `{}`: use {}", v.get_ref(), names.join(", ")),
            );
        }
        found
    }

    /// The phrases of rule `name`: at least one, each with a letter or
    /// digit.
    fn phrases(&mut self, name: &str, v: &Spanned<Vec<String>>) -> Vec<String> {
        let at = v.span().start;
        if v.get_ref().is_empty() {
            self.err(at, format!("quality rule `{name}` has no phrases"));
        }
        for p in v.get_ref() {
            if Phrase::new(p).is_none() {
                self.err(
                    at,
                    format!("quality rule `{name}`: phrase `{p}` has no letters or digits"),
                );
            }
        }
        v.get_ref().iter().map(|p| p.trim().to_string()).collect()
    }

    /// Reports `name` when an earlier phrase rule took it.
    fn unique(&mut self, names: &mut BTreeSet<String>, name: &Spanned<String>) {
        if !names.insert(name.get_ref().clone()) {
            self.err(
                name.span().start,
                format!(
                    "quality rule name `{}` is used twice: rule names are unique",
                    name.get_ref()
                ),
            );
        }
    }

    fn forbidden(&mut self, r: &RawForbidden, names: &mut BTreeSet<String>) -> Forbidden {
        self.unique(names, &r.name);
        let name = r.name.get_ref();
        let allowed = [Party::Caller, Party::Bot, Party::Agent, Party::Staff];
        let speakers = match &r.speakers {
            None => vec![Party::Bot, Party::Agent],
            Some(list) => {
                if list.get_ref().is_empty() {
                    self.err(
                        list.span().start,
                        format!("quality rule `{name}` has no speakers"),
                    );
                }
                list.get_ref()
                    .iter()
                    .filter_map(|s| self.party(s, &allowed))
                    .collect()
            }
        };
        Forbidden {
            name: name.clone(),
            phrases: self.phrases(name, &r.phrases),
            speakers,
            severity: self.severity(&r.severity, Severity::Critical),
        }
    }

    fn required(&mut self, r: &RawRequired, names: &mut BTreeSet<String>) -> Required {
        self.unique(names, &r.name);
        let name = r.name.get_ref();
        let allowed = [Party::Bot, Party::Agent, Party::Staff];
        Required {
            name: name.clone(),
            phrases: self.phrases(name, &r.phrases),
            speaker: r
                .speaker
                .as_ref()
                .and_then(|s| self.party(s, &allowed))
                .unwrap_or(Party::Staff),
            within_secs: self.amount(&r.within_secs, "within_secs"),
            severity: self.severity(&r.severity, Severity::Warning),
        }
    }
}

/// The rules of `[quality]` (the defaults when the table is absent), and
/// every problem found in it.
pub(crate) fn rules(raw: Option<&RawQuality>, src: Source<'_>) -> (Rules, Vec<Diagnostic>) {
    let mut rules = Rules::default();
    let Some(raw) = raw else {
        return (rules, Vec::new());
    };
    let mut c = Checker {
        src,
        problems: Vec::new(),
    };
    let t = &mut rules.thresholds;
    t.max_silence_ratio = c
        .ratio(&raw.max_silence_ratio)
        .unwrap_or(t.max_silence_ratio);
    t.max_dead_air_secs = c
        .amount(&raw.max_dead_air_secs, "max_dead_air_secs")
        .unwrap_or(t.max_dead_air_secs);
    t.max_talk_over_secs = c
        .amount(&raw.max_talk_over_secs, "max_talk_over_secs")
        .unwrap_or(t.max_talk_over_secs);
    t.max_hold_secs = c
        .amount(&raw.max_hold_secs, "max_hold_secs")
        .unwrap_or(t.max_hold_secs);
    rules.emotion_trend = raw.emotion_trend.unwrap_or(rules.emotion_trend);
    rules.containment = raw.containment.unwrap_or(rules.containment);
    if let Some(p) = &raw.penalties {
        let d = Penalties::default();
        rules.penalties = Penalties {
            info: c.amount(&p.info, "info").unwrap_or(d.info),
            warning: c.amount(&p.warning, "warning").unwrap_or(d.warning),
            critical: c.amount(&p.critical, "critical").unwrap_or(d.critical),
        };
    }
    let mut names = BTreeSet::new();
    rules.forbidden = raw
        .forbidden
        .iter()
        .map(|r| c.forbidden(r, &mut names))
        .collect();
    rules.required = raw
        .required
        .iter()
        .map(|r| c.required(r, &mut names))
        .collect();
    for (queue, q) in &raw.queue {
        let mut names = names.clone();
        let o = RulesOverride {
            max_silence_ratio: c.ratio(&q.max_silence_ratio),
            max_dead_air_secs: c.amount(&q.max_dead_air_secs, "max_dead_air_secs"),
            max_talk_over_secs: c.amount(&q.max_talk_over_secs, "max_talk_over_secs"),
            max_hold_secs: c.amount(&q.max_hold_secs, "max_hold_secs"),
            forbidden: q
                .forbidden
                .iter()
                .map(|r| c.forbidden(r, &mut names))
                .collect(),
            required: q
                .required
                .iter()
                .map(|r| c.required(r, &mut names))
                .collect(),
        };
        rules.queues.insert(queue.get_ref().clone(), o);
    }
    (rules, c.problems)
}

/// Queues of `[quality.queue.NAME]` that no transfer names: a misspelt
/// queue would silently never apply. `targets` are the plan's transfer
/// targets as written; any target with a `{variable}` could be any queue,
/// so then nothing is reported.
pub(crate) fn unknown_queues(
    raw: Option<&RawQuality>,
    targets: &[&str],
    src: Source<'_>,
) -> Vec<Diagnostic> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    if targets.iter().any(|t| t.contains('{')) {
        return Vec::new();
    }
    raw.queue
        .keys()
        .filter(|q| !targets.contains(&format!("queue:{}", q.get_ref()).as_str()))
        .map(|q| {
            let used: BTreeSet<&str> = targets
                .iter()
                .filter_map(|t| t.strip_prefix("queue:"))
                .collect();
            let hint = if used.is_empty() {
                "the dialplan transfers to no queue".to_string()
            } else {
                let used: Vec<&str> = used.into_iter().collect();
                format!("its transfers go to {}", used.join(", "))
            };
            src.error(
                q.span().start,
                format!(
                    "quality queue `{}` is never a transfer target ({hint})",
                    q.get_ref()
                ),
            )
        })
        .collect()
}
