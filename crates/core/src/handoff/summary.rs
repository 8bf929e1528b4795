//! The handoff summary: at most three sentences, in the call's language.
//!
//! 1. Who and what: the customer (name, VIP level, earlier calls) and what
//!    they want (the intent with its main slots; without one, their most
//!    telling sentence quoted). Always present, so the summary is never
//!    empty.
//! 2. How they feel: the emotion trend, only when the caller is or was
//!    more than calm ("upset since 0:42").
//! 3. Why the bot handed over: the transfer reason, when known.

use super::text::{clock, cut, quote, words};
use super::{EmotionPoint, Package};

/// At most this many slots are named in the summary.
const MAIN_SLOTS: usize = 2;
/// Slot values are cut to this many characters.
const SLOT_CHARS: usize = 40;

/// The summary of `p` (see the module doc).
pub(super) fn summarize(p: &Package) -> String {
    let zh = p.language.to_ascii_lowercase().starts_with("zh");
    let t: &dyn Words = if zh { &Chinese } else { &English };
    let mut out = t.who_what(p);
    if let Some(feel) = trend(&p.emotion) {
        out.push_str(t.gap());
        out.push_str(&t.feeling(&feel));
    }
    if let Some(reason) = p.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        out.push_str(t.gap());
        out.push_str(&t.why(reason.trim()));
    }
    out
}

/// The slots worth naming: identifiers (order, number, id, phone…)
/// first, then the rest by name; at most [`MAIN_SLOTS`].
fn main_slots(p: &Package) -> Vec<(String, String)> {
    const KEYS: [&str; 6] = ["order", "number", "no", "id", "phone", "account"];
    let mut slots: Vec<(&String, &String)> = p
        .slots
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    slots.sort_by_key(|(k, _)| {
        let k = k.to_ascii_lowercase();
        !KEYS
            .iter()
            .any(|key| k.split(['_', '-']).any(|w| w == *key))
    });
    slots
        .into_iter()
        .take(MAIN_SLOTS)
        .map(|(k, v)| (words(k), cut(v.trim(), SLOT_CHARS)))
        .collect()
}

/// What the emotion timeline says, when the caller is not just calm.
#[derive(Debug, PartialEq)]
enum Feeling {
    /// At `level` or worse since `since_ms` (the latest streak).
    Since { level: String, since_ms: u64 },
    /// Was at `level` at `at_ms`, calmer now.
    Calmer { level: String, at_ms: u64 },
    /// Somewhat concerned now, never worse.
    Concerned,
}

fn rank(level: &str) -> u8 {
    match level {
        "angry" => 3,
        "upset" => 2,
        "concerned" => 1,
        _ => 0,
    }
}

/// The trend of the timeline (see [`Feeling`]); `None` when calm.
fn trend(points: &[EmotionPoint]) -> Option<Feeling> {
    let last = points.last()?;
    let now = rank(&last.level);
    if now >= 2 {
        // The start of the latest run at upset or worse.
        let start = points
            .iter()
            .rposition(|p| rank(&p.level) < 2)
            .map_or(0, |i| i + 1);
        return Some(Feeling::Since {
            level: last.level.clone(),
            since_ms: points[start].at_ms,
        });
    }
    let peak = points
        .iter()
        .filter(|p| rank(&p.level) >= 2)
        .max_by_key(|p| (rank(&p.level), std::cmp::Reverse(p.at_ms)));
    match peak {
        Some(p) => Some(Feeling::Calmer {
            level: p.level.clone(),
            at_ms: p.at_ms,
        }),
        None if now == 1 => Some(Feeling::Concerned),
        None => None,
    }
}

/// One language's phrasing of the three sentences.
trait Words {
    fn who_what(&self, p: &Package) -> String;
    fn feeling(&self, f: &Feeling) -> String;
    fn why(&self, reason: &str) -> String;
    /// Between sentences.
    fn gap(&self) -> &'static str;
}

struct English;

impl English {
    fn who(p: &Package) -> String {
        let c = &p.customer;
        let name = c.name.trim();
        let mut notes = Vec::new();
        if c.vip_level > 0 {
            notes.push(format!("VIP {}", c.vip_level));
        }
        match c.calls {
            0 => {}
            1 => notes.push("called once before".into()),
            n => notes.push(format!("called {n} times before")),
        }
        let who = if name.is_empty() { "The caller" } else { name };
        if notes.is_empty() {
            who.to_owned()
        } else {
            format!("{who} ({})", notes.join(", "))
        }
    }

    fn level(level: &str) -> &str {
        level
    }
}

impl Words for English {
    fn who_what(&self, p: &Package) -> String {
        let who = English::who(p);
        if let Some(intent) = p.intent.as_deref().filter(|i| !i.trim().is_empty()) {
            let slots = main_slots(p)
                .into_iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>();
            return if slots.is_empty() {
                format!("{who} wants {}.", words(intent))
            } else {
                format!("{who} wants {} ({}).", words(intent), slots.join(", "))
            };
        }
        let said = p
            .transcript
            .iter()
            .filter(|l| l.speaker == "caller")
            .map(|l| l.text.as_str());
        match quote(said, false) {
            Some(q) => format!("{who} said: \"{q}\"."),
            None => format!("{who} has not said what they want yet."),
        }
    }

    fn feeling(&self, f: &Feeling) -> String {
        match f {
            Feeling::Since { level, since_ms } => {
                format!("{} since {}.", cap(English::level(level)), clock(*since_ms))
            }
            Feeling::Calmer { level, at_ms } => format!(
                "Was {} at {}, calmer now.",
                English::level(level),
                clock(*at_ms)
            ),
            Feeling::Concerned => "Sounds concerned.".into(),
        }
    }

    fn why(&self, reason: &str) -> String {
        if let Some(intent) = reason.strip_prefix("intent:") {
            return format!(
                "Handed over: the dialplan sends {} to a person.",
                words(intent)
            );
        }
        if let Some(step) = reason.strip_prefix("step:") {
            return format!("Handed over at dialplan step {}.", words(step));
        }
        match reason {
            "asked" => "Handed over because they asked for a person.".into(),
            "emotion" => "Handed over because they are upset.".into(),
            "failures" => "Handed over after the bot failed to understand them.".into(),
            other => format!("Handed over ({}).", words(other)),
        }
    }

    fn gap(&self) -> &'static str {
        " "
    }
}

/// `s` with its first letter in upper case.
fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

struct Chinese;

impl Chinese {
    fn who(p: &Package) -> String {
        let c = &p.customer;
        let name = c.name.trim();
        let mut notes = Vec::new();
        if c.vip_level > 0 {
            notes.push(format!("VIP{}级", c.vip_level));
        }
        if c.calls > 0 {
            notes.push(format!("此前来电{}次", c.calls));
        }
        let who = if name.is_empty() {
            "来电客户".to_owned()
        } else {
            format!("客户{name}")
        };
        if notes.is_empty() {
            who
        } else {
            format!("{who}（{}）", notes.join("，"))
        }
    }

    fn level(level: &str) -> &str {
        match level {
            "angry" => "愤怒",
            "upset" => "不满",
            "concerned" => "有些担忧",
            "neutral" => "平静",
            other => other,
        }
    }
}

impl Words for Chinese {
    fn who_what(&self, p: &Package) -> String {
        let who = Chinese::who(p);
        if let Some(intent) = p.intent.as_deref().filter(|i| !i.trim().is_empty()) {
            let slots = main_slots(p)
                .into_iter()
                .map(|(k, v)| format!("{k}：{v}"))
                .collect::<Vec<_>>();
            return if slots.is_empty() {
                format!("{who}来电诉求：{}。", words(intent))
            } else {
                format!("{who}来电诉求：{}（{}）。", words(intent), slots.join("，"))
            };
        }
        let said = p
            .transcript
            .iter()
            .filter(|l| l.speaker == "caller")
            .map(|l| l.text.as_str());
        match quote(said, true) {
            Some(q) => format!("{who}说：“{q}”。"),
            None => format!("{who}尚未说明来意。"),
        }
    }

    fn feeling(&self, f: &Feeling) -> String {
        match f {
            Feeling::Since { level, since_ms } => {
                format!("自{}起情绪{}。", clock(*since_ms), Chinese::level(level))
            }
            Feeling::Calmer { level, at_ms } => format!(
                "{}时情绪{}，现已缓和。",
                clock(*at_ms),
                Chinese::level(level)
            ),
            Feeling::Concerned => "情绪有些担忧。".into(),
        }
    }

    fn why(&self, reason: &str) -> String {
        if let Some(intent) = reason.strip_prefix("intent:") {
            return format!("转人工原因：按流程，{}类诉求由人工处理。", words(intent));
        }
        if let Some(step) = reason.strip_prefix("step:") {
            return format!("转人工原因：流程步骤{}。", words(step));
        }
        match reason {
            "asked" => "转人工原因：客户要求人工服务。".into(),
            "emotion" => "转人工原因：客户情绪激动。".into(),
            "failures" => "转人工原因：机器人多次未能理解客户。".into(),
            other => format!("转人工原因：{}。", words(other)),
        }
    }

    fn gap(&self) -> &'static str {
        ""
    }
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
