//! Reading one caller answer for an ask step: the slot value it gives, or
//! the intent or FAQ entry it matches.
//!
//! Slots: digits (spoken or keyed, within the step's length limits and
//! pattern), phone numbers, yes/no (also keys 1 and 2 when the step takes
//! DTMF), dates (relative to the call's local date), free text. An answer
//! that gives no valid value is no match; the interpreter decides what
//! then (a global intent such as asking for a person, or a re-prompt).

use super::plan::{Ask, SlotKind};
use crate::nlu::dates::{date, Date};
use crate::nlu::{digits, phone::phone, yes_no, YesNo};

/// The value a spoken answer gives for `ask`, if valid.
pub fn slot_from_speech(ask: &Ask, text: &str, today: Date) -> Option<String> {
    let value = match ask.kind {
        SlotKind::Intent => return None,
        SlotKind::Digits => digits(text)?,
        SlotKind::Phone => phone(text)?,
        SlotKind::YesNo => match yes_no(text)? {
            YesNo::Yes => "yes".to_string(),
            YesNo::No => "no".to_string(),
        },
        SlotKind::Date => date(text, today)?.to_string(),
        SlotKind::Text => {
            let t = text.trim();
            if t.is_empty() {
                return None;
            }
            t.to_string()
        }
    };
    valid(ask, value)
}

/// The value keyed digits give for `ask`, if valid. The terminator `#`
/// and anything after it is dropped.
pub fn slot_from_keys(ask: &Ask, keys: &str) -> Option<String> {
    if !ask.dtmf {
        return None;
    }
    let keys: String = keys.split('#').next().unwrap_or("").to_string();
    let value = match ask.kind {
        SlotKind::Digits | SlotKind::Phone => {
            if keys.is_empty() || !keys.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            keys
        }
        SlotKind::YesNo => match keys.as_str() {
            "1" => "yes".to_string(),
            "2" => "no".to_string(),
            _ => return None,
        },
        SlotKind::Intent | SlotKind::Date | SlotKind::Text => return None,
    };
    valid(ask, value)
}

fn valid(ask: &Ask, value: String) -> Option<String> {
    if matches!(ask.kind, SlotKind::Digits) {
        let n = u32::try_from(value.chars().count()).unwrap_or(u32::MAX);
        if n < ask.min_digits || (ask.max_digits > 0 && n > ask.max_digits) {
            return None;
        }
    }
    if matches!(ask.kind, SlotKind::Phone) {
        let n = value.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&n) {
            return None;
        }
    }
    if let Some(p) = &ask.pattern {
        if !p.regex.is_match(&value) {
            return None;
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::plan::Pattern;
    use crate::dialogue::template::Template;

    fn ask(kind: SlotKind) -> Ask {
        Ask {
            prompt: Template::literal("?"),
            kind,
            save_as: None,
            min_digits: 0,
            max_digits: 0,
            dtmf: true,
            pattern: None,
            routes: Vec::new(),
            next: None,
            faq: false,
            retries: 1,
            no_input: None,
            no_match: None,
            on_failure: None,
        }
    }

    const TODAY: Date = Date {
        year: 2026,
        month: 11,
        day: 23,
    };

    #[test]
    fn digits_with_limits_and_pattern() {
        let mut a = ask(SlotKind::Digits);
        a.min_digits = 8;
        a.max_digits = 8;
        let s = |t: &str| slot_from_speech(&a, t, TODAY);
        assert_eq!(
            s("it's one two three four five six seven eight").as_deref(),
            Some("12345678")
        );
        assert_eq!(s("一二三四五六七八").as_deref(), Some("12345678"));
        assert_eq!(s("one two three"), None, "too short");
        assert_eq!(slot_from_keys(&a, "12345678#").as_deref(), Some("12345678"));
        assert_eq!(slot_from_keys(&a, "1234#5678"), None);
        a.pattern = Some(Pattern {
            source: "^9".into(),
            regex: regex::Regex::new("^9").unwrap(),
        });
        assert_eq!(slot_from_keys(&a, "12345678"), None);
        assert_eq!(slot_from_keys(&a, "92345678").as_deref(), Some("92345678"));
        a.dtmf = false;
        assert_eq!(slot_from_keys(&a, "92345678"), None, "keys not taken");
    }

    #[test]
    fn yes_no_date_text() {
        let y = ask(SlotKind::YesNo);
        assert_eq!(
            slot_from_speech(&y, "yes please", TODAY).as_deref(),
            Some("yes")
        );
        assert_eq!(slot_from_speech(&y, "不用了", TODAY).as_deref(), Some("no"));
        assert_eq!(slot_from_keys(&y, "2").as_deref(), Some("no"));
        assert_eq!(slot_from_speech(&y, "what's the weather", TODAY), None);
        let d = ask(SlotKind::Date);
        assert_eq!(
            slot_from_speech(&d, "tomorrow", TODAY).as_deref(),
            Some("2026-11-24")
        );
        assert_eq!(
            slot_from_speech(&d, "明天", TODAY).as_deref(),
            Some("2026-11-24")
        );
        let t = ask(SlotKind::Text);
        assert_eq!(
            slot_from_speech(&t, " 5 Main Street ", TODAY).as_deref(),
            Some("5 Main Street")
        );
        assert_eq!(slot_from_speech(&t, "  ", TODAY), None);
        let p = ask(SlotKind::Phone);
        assert_eq!(
            slot_from_speech(
                &p,
                "five five five one two three four five six seven",
                TODAY
            )
            .as_deref(),
            Some("5551234567")
        );
    }
}
