//! Finding an operator's phrase in a transcript line, whatever the
//! recogniser or the operator did with case, punctuation, spacing and
//! full-width forms.
//!
//! Both sides are folded by [`crate::nlu::normalize`] (lowercase, full-width
//! ASCII to ASCII, punctuation to spaces, runs of spaces to one), then the
//! spaces next to Chinese, Japanese or Korean characters are dropped, since
//! those scripts do not separate words and recognisers space them at
//! random ("谢谢 您 来电" is "谢谢您来电"). Words of spaced scripts must
//! match whole: "hell" is not found in "hello"; in unspaced scripts any
//! substring matches.

use crate::nlu::normalize;

/// A phrase folded for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// As the operator wrote it (for details).
    pub text: String,
    folded: String,
}

impl Phrase {
    /// The phrase `text`; `None` when it has no letters or digits.
    pub fn new(text: &str) -> Option<Phrase> {
        let folded = fold(text);
        (!folded.is_empty()).then(|| Phrase {
            text: text.trim().to_string(),
            folded,
        })
    }

    /// Whether the phrase occurs in `line` (already [`fold`]ed).
    pub fn found_in(&self, line: &str) -> bool {
        line.match_indices(&self.folded)
            .any(|(at, m)| starts_word(line, at) && ends_word(line, at + m.len()))
    }
}

/// Folds `text` for matching (see the module docs).
pub fn fold(text: &str) -> String {
    let spaced = normalize(text);
    let chars: Vec<char> = spaced.chars().collect();
    let mut out = String::with_capacity(spaced.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let before = i.checked_sub(1).and_then(|j| chars.get(j));
            let after = chars.get(i + 1);
            if before.is_some_and(|&b| unspaced(b)) || after.is_some_and(|&a| unspaced(a)) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Whether a match at byte `at` of `line` begins a word: at the start,
/// after a space, or where either side is an unspaced-script character.
fn starts_word(line: &str, at: usize) -> bool {
    let before = line[..at].chars().next_back();
    let first = line[at..].chars().next();
    match (before, first) {
        (None, _) | (Some(' '), _) => true,
        (Some(b), Some(f)) => unspaced(b) || unspaced(f),
        (Some(_), None) => false,
    }
}

/// Whether a match ending at byte `end` of `line` ends a word.
fn ends_word(line: &str, end: usize) -> bool {
    let last = line[..end].chars().next_back();
    let after = line[end..].chars().next();
    match (last, after) {
        (_, None) | (_, Some(' ')) => true,
        (Some(l), Some(a)) => unspaced(l) || unspaced(a),
        (None, Some(_)) => false,
    }
}

/// Ideographs, kana and hangul: scripts written without spaces.
fn unspaced(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{F900}'..='\u{FAFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(phrase: &str, line: &str) -> bool {
        Phrase::new(phrase).is_some_and(|p| p.found_in(&fold(line)))
    }

    #[test]
    fn case_punctuation_spacing_and_width_do_not_matter() {
        assert!(found(
            "Thank you for calling",
            "thank-you,  FOR calling Bluebird!"
        ));
        assert!(found("shut up", "Oh, SHUT   UP."));
        assert!(found("ok", "ＯＫ！"));
        assert!(found("order 123", "Order １２３ is late"));
    }

    #[test]
    fn english_words_match_whole() {
        assert!(!found("hell", "hello there"));
        assert!(!found("stupid", "stupidity"));
        assert!(found("stupid", "that's stupid, really"));
        assert!(!found("you idiot", "you idiots"));
    }

    #[test]
    fn chinese_matches_as_substring_across_random_spaces() {
        assert!(found("感谢您的来电", "您好，感谢 您的 来电！"));
        assert!(found("闭嘴", "你给我闭嘴吧"));
        assert!(found("VIP会员", "尊敬的 vip 会员您好"));
        assert!(found("欢迎致电", "您好，欢迎致电Bluebird售后服务"));
        assert!(!found("闭嘴", "请稍等"));
    }

    #[test]
    fn a_phrase_without_letters_is_no_phrase() {
        assert_eq!(Phrase::new("  !!? "), None);
        assert_eq!(fold("  A，B  "), "a b");
        assert_eq!(fold("你 好 ，world"), "你好world");
    }
}
