//! Phone numbers in what the caller said, spoken or written, English and
//! Chinese: "plus eight six one three eight …", "oh two oh seven …",
//! "555-123-4567", "(555) 123 4567", "+86 138 0013 8000",
//! "一三八零零一三八零零零", "幺三八…".
//!
//! The text is cut into runs of number words and digits ([`digits`] reads
//! each run: "double seven", "oh", tens words, Chinese digits, 幺 and 两);
//! any other word ends a run, so "my order is 12345 and my phone is 555
//! 1234" gives two runs. Punctuation and hesitations ("uh", "um", "dash")
//! inside a number do not break it. "plus", "+" or "加" just before a run
//! makes it international. A run of 7 to 15 digits (E.164 allows 15) is a
//! phone number; of several, the longest wins, then the first.
//!
//! Not here: validating a number against a numbering plan, formatting it,
//! redacting it in logs (the shell's job).

use super::normalize::{is_unspaced, normalize};
use super::slots::{digits, is_number_word, zh_digit};

/// The fewest digits a phone number has (a local number without area
/// code).
pub const MIN_DIGITS: usize = 7;
/// The most digits a phone number has (ITU-T E.164).
pub const MAX_DIGITS: usize = 15;

/// Words a caller says inside a number without ending it.
const FILLERS: &[&str] = &[
    "uh", "um", "umm", "er", "erm", "ah", "dash", "hyphen", "嗯", "呃",
];
/// Words that announce an international number.
const PLUS: &[&str] = &["plus", "加"];

/// The phone number `text` gives: its digits, with a leading `+` when the
/// caller said "plus" (or wrote `+`); `None` unless it has 7 to 15 digits.
pub fn phone(text: &str) -> Option<String> {
    let mut best: Option<String> = None;
    for run in runs(&spaced(text)) {
        let Some(d) = digits(&run.words.join(" ")) else {
            continue;
        };
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&d.len()) {
            continue;
        }
        let number = if run.plus { format!("+{d}") } else { d };
        let longer = best
            .as_ref()
            .is_none_or(|b| digit_count(&number) > digit_count(b));
        if longer {
            best = Some(number);
        }
    }
    best
}

/// One run of number words, and whether "plus" came before it.
#[derive(Debug, Default)]
struct Run {
    plus: bool,
    words: Vec<String>,
}

/// Normalized words of `text`, with `+` as the word "plus" and every
/// Chinese character a word of its own (Chinese has no spaces).
fn spaced(text: &str) -> Vec<String> {
    let mut pre = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        match c {
            '+' | '＋' => pre.push_str(" plus "),
            c if is_unspaced(c) => {
                pre.push(' ');
                pre.push(c);
                pre.push(' ');
            }
            c => pre.push(c),
        }
    }
    normalize(&pre)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The runs of number words in `words`; see the module docs.
fn runs(words: &[String]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut cur = Run::default();
    for w in words {
        let w = w.as_str();
        if is_numeric(w) {
            cur.words.push(w.to_string());
        } else if FILLERS.contains(&w) && !cur.words.is_empty() {
            continue;
        } else {
            if !cur.words.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.plus = PLUS.contains(&w);
        }
    }
    if !cur.words.is_empty() {
        out.push(cur);
    }
    out
}

/// A word of digits (ASCII or Chinese) or a number word.
fn is_numeric(w: &str) -> bool {
    is_number_word(w)
        || (!w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_digit() || zh_digit(c).is_some()))
}

fn digit_count(s: &str) -> usize {
    s.chars().filter(char::is_ascii_digit).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_spoken_numbers() {
        for (said, want) in [
            (
                "plus eight six one three eight zero zero one three eight zero zero zero",
                "+8613800138000",
            ),
            (
                "my number is oh two oh seven nine four six oh oh one eight",
                "02079460018",
            ),
            (
                "five five five, one two three, four five six seven",
                "5551234567",
            ),
            ("it's double seven double oh one two three four", "77001234"),
            ("five five five twelve thirty four", "5551234"),
            (
                "one eight hundred five five five one two one two",
                "18005551212",
            ),
            ("five five five uh one two three four", "5551234"),
        ] {
            assert_eq!(phone(said).as_deref(), Some(want), "{said}");
        }
    }

    #[test]
    fn english_written_numbers() {
        for (said, want) in [
            ("555-123-4567", "5551234567"),
            ("(555) 123 4567", "5551234567"),
            ("Call me on +86 138 0013 8000.", "+8613800138000"),
            ("my phone is 5551234567 thanks", "5551234567"),
            ("tel:020-7946-0018", "02079460018"),
            ("+44 (0)20 7946 0018", "+4402079460018"),
        ] {
            assert_eq!(phone(said).as_deref(), Some(want), "{said}");
        }
    }

    #[test]
    fn chinese_numbers() {
        for (said, want) in [
            ("一三八零零一三八零零零", "13800138000"),
            ("我的电话是幺三八，零零幺三，八零零零", "13800138000"),
            ("电话13800138000", "13800138000"),
            ("加八六 幺三八零零幺三八零零零", "+8613800138000"),
            ("号码是 一三八 嗯 零零一三 八零零零", "13800138000"),
            ("１３８００１３８０００", "13800138000"),
            ("两四六八一三五七", "24681357"),
        ] {
            assert_eq!(phone(said).as_deref(), Some(want), "{said}");
        }
    }

    #[test]
    fn other_numbers_in_the_sentence_stay_apart() {
        assert_eq!(
            phone("my order is 12345 and my phone is 555 1234").as_deref(),
            Some("5551234")
        );
        assert_eq!(
            phone("订单号四五六，电话一三八零零一三八零零零").as_deref(),
            Some("13800138000")
        );
        // The longer of two candidates.
        assert_eq!(
            phone("5551234 or 555 123 4567").as_deref(),
            Some("5551234567")
        );
    }

    #[test]
    fn too_short_too_long_or_none() {
        for said in [
            "",
            "I don't know my number",
            "123456",
            "one two three",
            "1234567890123456",
            "我不知道",
            "查一下",
            "plus",
            "+",
        ] {
            assert_eq!(phone(said), None, "{said}");
        }
        assert_eq!(phone("1234567").as_deref(), Some("1234567"));
        assert_eq!(phone("123456789012345").as_deref(), Some("123456789012345"));
    }

    #[test]
    fn plus_must_come_right_before_the_number() {
        assert_eq!(
            phone("plus my number 5551234567").as_deref(),
            Some("5551234567")
        );
    }
}
