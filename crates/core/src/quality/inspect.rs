//! Inspecting one finished call against a plan's [`Rules`]: every check
//! is listed with its outcome, every lapse becomes a [`Flag`] with a
//! stable code, and the score is 100 less the flags' penalties.
//!
//! Details name the phrase, the line (its number among the call's lines
//! and its time from the answer) or the figure that tripped a check, never
//! whole lines of the transcript.

use crate::dialogue::emotion::Level;

use super::phrase::{fold, Phrase};
use super::rules::{Forbidden, Party, Required, Rules, Severity, Speaker};
use super::talk::Talk;

/// One line of a call's transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Who said it.
    pub speaker: Speaker,
    /// What was said (as recognised, or as kefu said it).
    pub text: String,
    /// When, in milliseconds from the answer.
    pub offset_ms: u64,
}

/// What is known of a finished call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The transcript, in order.
    pub lines: Vec<Line>,
    /// Talk figures.
    pub talk: Talk,
    /// The caller's emotion level after each of their lines, in order.
    pub emotions: Vec<Level>,
    /// Where the call was transferred (`queue:NAME`, a URI), if it was.
    pub transfer: Option<String>,
    /// Whether the call was answered at all.
    pub answered: bool,
}

/// A finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// Stable code: `forbidden_phrase`, `missing_required`,
    /// `late_required`, `silence_ratio`, `dead_air`, `talk_over`,
    /// `long_hold`, `emotion_worse`, `emotion_better`, `not_contained`.
    pub code: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What tripped it.
    pub detail: String,
}

/// One check that was run.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `answered`, `forbidden:NAME`, `required:NAME`, `silence_ratio`,
    /// `dead_air`, `talk_over`, `hold`, `emotion_trend`, `containment`.
    pub name: String,
    /// Whether the call passed it.
    pub passed: bool,
    /// The figure or phrase behind the outcome.
    pub detail: String,
}

/// The outcome of an inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// 0..=100; `None` for an unanswered call, which is not scored (its
    /// only check is `answered`, failed).
    pub score: Option<f64>,
    /// Findings, in check order.
    pub flags: Vec<Flag>,
    /// Every check run, in order.
    pub checks: Vec<Check>,
}

/// Collects checks and flags.
#[derive(Default)]
struct Report {
    flags: Vec<Flag>,
    checks: Vec<Check>,
}

impl Report {
    fn check(&mut self, name: impl Into<String>, passed: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            passed,
            detail: detail.into(),
        });
    }

    fn flag(&mut self, code: &'static str, severity: Severity, detail: impl Into<String>) {
        self.flags.push(Flag {
            code,
            severity,
            detail: detail.into(),
        });
    }
}

/// Inspects a call. The rules are those of the plan, changed by the
/// override of the queue the call was transferred to (see
/// [`Rules::for_target`]).
pub fn inspect(rules: &Rules, facts: &Facts) -> Inspection {
    let mut report = Report::default();
    if !facts.answered {
        report.check("answered", false, "not answered: not scored");
        return Inspection {
            score: None,
            flags: report.flags,
            checks: report.checks,
        };
    }
    report.check("answered", true, "answered");
    let rules = rules.for_target(facts.transfer.as_deref());
    let folded: Vec<String> = facts.lines.iter().map(|l| fold(&l.text)).collect();
    for rule in &rules.forbidden {
        forbidden(&mut report, rule, facts, &folded);
    }
    for rule in &rules.required {
        required(&mut report, rule, facts, &folded);
    }
    talk(&mut report, &rules, &facts.talk);
    if rules.emotion_trend {
        emotion(&mut report, &facts.emotions);
    }
    if rules.containment {
        match &facts.transfer {
            Some(target) => {
                let detail = format!("transferred to {target}");
                report.check("containment", false, detail.clone());
                report.flag("not_contained", Severity::Info, detail);
            }
            None => report.check("containment", true, "handled without a transfer"),
        }
    }
    // A calmer caller is credit, never a cost, whatever info costs.
    let penalty: f64 = report
        .flags
        .iter()
        .filter(|f| f.code != "emotion_better")
        .map(|f| rules.penalties.of(f.severity))
        .sum();
    Inspection {
        score: Some((100.0 - penalty).clamp(0.0, 100.0)),
        flags: report.flags,
        checks: report.checks,
    }
}

/// `list` folded for matching; blank phrases (which the dialplan check
/// rejects) are skipped.
fn phrases(list: &[String]) -> Vec<Phrase> {
    list.iter().filter_map(|p| Phrase::new(p)).collect()
}

/// `m:ss` from milliseconds.
fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

fn forbidden(report: &mut Report, rule: &Forbidden, facts: &Facts, folded: &[String]) {
    let list = phrases(&rule.phrases);
    let mut hits = 0;
    for (i, (line, text)) in facts.lines.iter().zip(folded).enumerate() {
        if !rule.speakers.iter().any(|p| p.covers(line.speaker)) {
            continue;
        }
        if let Some(p) = list.iter().find(|p| p.found_in(text)) {
            hits += 1;
            report.flag(
                "forbidden_phrase",
                rule.severity,
                format!(
                    "\"{}\": {} said \"{}\" (line {}, at {})",
                    rule.name,
                    line.speaker.name(),
                    p.text,
                    i + 1,
                    clock(line.offset_ms)
                ),
            );
        }
    }
    let detail = match hits {
        0 => "not said".to_string(),
        n => format!("said in {n} line(s)"),
    };
    report.check(format!("forbidden:{}", rule.name), hits == 0, detail);
}

fn required(report: &mut Report, rule: &Required, facts: &Facts, folded: &[String]) {
    let name = format!("required:{}", rule.name);
    let covered = |l: &Line| rule.speaker.covers(l.speaker);
    if rule.speaker == Party::Agent && !facts.lines.iter().any(covered) {
        report.check(name, true, "no agent spoke on this call");
        return;
    }
    let list = phrases(&rule.phrases);
    let said = facts
        .lines
        .iter()
        .zip(folded)
        .enumerate()
        .filter(|(_, (l, _))| covered(l))
        .find_map(|(i, (l, text))| list.iter().find(|p| p.found_in(text)).map(|p| (i, l, p)));
    let Some((i, line, phrase)) = said else {
        let wanted: Vec<String> = list.iter().map(|p| format!("\"{}\"", p.text)).collect();
        let detail = format!(
            "\"{}\": {} never said {}",
            rule.name,
            rule.speaker.name(),
            wanted.join(" or ")
        );
        report.check(name, false, detail.clone());
        report.flag("missing_required", rule.severity, detail);
        return;
    };
    let at = format!("at {} (line {})", clock(line.offset_ms), i + 1);
    match rule.within_secs {
        Some(limit) if line.offset_ms as f64 > limit * 1000.0 => {
            let detail = format!(
                "\"{}\": \"{}\" said {at}, later than {limit} s",
                rule.name, phrase.text
            );
            report.check(name, false, detail.clone());
            report.flag("late_required", rule.severity, detail);
        }
        _ => report.check(name, true, format!("\"{}\" said {at}", phrase.text)),
    }
}

/// Two decimals at most, no trailing zeros.
fn round(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The talk limits: each figure (seconds, or the ratio) must not exceed
/// its limit.
fn talk(report: &mut Report, rules: &Rules, talk: &Talk) {
    let t = &rules.thresholds;
    let secs = |ms: u64| ms as f64 / 1000.0;
    let mut limits = Vec::with_capacity(4);
    if talk.total_ms > talk.hold_ms {
        limits.push((
            "silence_ratio",
            "silence_ratio",
            "silence ratio",
            talk.silence_ratio(),
            t.max_silence_ratio,
        ));
    } else {
        report.check("silence_ratio", true, "no talk time measured");
    }
    limits.extend([
        (
            "dead_air",
            "dead_air",
            "longest silence (s)",
            secs(talk.longest_silence_ms),
            t.max_dead_air_secs,
        ),
        (
            "talk_over",
            "talk_over",
            "talk-over (s)",
            secs(talk.overlap_ms),
            t.max_talk_over_secs,
        ),
        (
            "hold",
            "long_hold",
            "longest hold (s)",
            secs(talk.longest_hold_ms),
            t.max_hold_secs,
        ),
    ]);
    for (check, code, what, figure, max) in limits {
        let detail = format!("{what} {} (limit {})", round(figure), round(max));
        let over = figure > max;
        report.check(check, !over, detail.clone());
        if over {
            report.flag(code, Severity::Warning, detail);
        }
    }
}

fn emotion(report: &mut Report, levels: &[Level]) {
    let (Some(first), Some(last)) = (levels.first(), levels.last()) else {
        report.check("emotion_trend", true, "no emotion readings");
        return;
    };
    let detail = format!("caller went from {} to {}", first.name(), last.name());
    if last > first {
        report.check("emotion_trend", false, detail.clone());
        report.flag("emotion_worse", Severity::Warning, detail);
    } else if last < first {
        report.check("emotion_trend", true, detail.clone());
        report.flag("emotion_better", Severity::Info, detail);
    } else {
        report.check(
            "emotion_trend",
            true,
            format!("caller stayed {}", first.name()),
        );
    }
}
