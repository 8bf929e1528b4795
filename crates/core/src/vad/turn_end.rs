//! Whether a transcript sounds like a finished turn: the signal that lets
//! a pause end the caller's utterance before the full end-of-speech
//! silence has passed.
//!
//! Whisper punctuates from the audio: a sentence the speaker finished
//! (falling pitch, a complete clause) comes out with a full stop or a
//! question mark, a phrase cut off by a breath with an ellipsis or a
//! comma. Short answers ("10 of clubs", "692") often come with no mark at
//! all. [`classify`] reads that into a [`TurnEnd`], and distrusts a final
//! word that cannot end an English sentence ("and", "the", "to").
//!
//! Not here: the timing (the endpointer's `early_end`), transcription.

/// Words after which an English turn is not over, whatever the punctuation.
const CONTINUATIONS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "because", "but", "for", "from", "if", "in", "is", "my",
    "of", "on", "or", "so", "that", "the", "then", "to", "um", "uh", "with", "your",
];

/// How a transcript ends, for deciding how long a pause must last to end
/// the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// A full stop, question or exclamation mark (ASCII or CJK) after a
    /// word that can end a sentence.
    Finished,
    /// No mark, after a word that can end a sentence: likely over.
    Open,
    /// An ellipsis, a comma or other mark, a word that needs more after it,
    /// or no words: wait the full end-of-speech silence.
    Unfinished,
}

/// Reads how `text` ends; see [`TurnEnd`].
pub fn classify(text: &str) -> TurnEnd {
    let t = text.trim_end();
    if t.ends_with("...") || t.ends_with('…') || t.ends_with("。。") {
        return TurnEnd::Unfinished;
    }
    let Some(last) = t.chars().last() else {
        return TurnEnd::Unfinished;
    };
    let end = if matches!(last, '.' | '?' | '!' | '。' | '？' | '！') {
        TurnEnd::Finished
    } else if last.is_alphanumeric() {
        TurnEnd::Open
    } else {
        return TurnEnd::Unfinished;
    };
    let word = t
        .trim_end_matches(['.', '?', '!', '。', '？', '！'])
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    if word.is_empty() || CONTINUATIONS.contains(&word.as_str()) {
        TurnEnd::Unfinished
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(text: &str) -> bool {
        classify(text) == TurnEnd::Finished
    }

    #[test]
    fn finished_sentences() {
        assert!(finished("What are your opening hours?"));
        assert!(finished("Ten of clubs."));
        assert!(finished("I want to cancel my order!"));
        assert!(finished("我想查一下订单。"));
        assert!(finished("营业时间是几点？"));
    }

    #[test]
    fn short_answers_without_a_mark_are_open() {
        assert_eq!(classify("10 of clubs"), TurnEnd::Open);
        assert_eq!(classify("692"), TurnEnd::Open);
        assert_eq!(classify("对"), TurnEnd::Open);
        assert_eq!(classify("and rather selfish is"), TurnEnd::Unfinished);
        assert_eq!(classify("my number is 5,"), TurnEnd::Unfinished);
        assert_eq!(classify("Yes."), TurnEnd::Finished);
    }

    #[test]
    fn unfinished_ones() {
        assert!(!finished("I would like to..."));
        assert!(!finished("My order number is…"));
        assert!(!finished("I want to talk about my bill and"));
        assert!(!finished("I was calling because."));
        assert!(!finished("Yes, the"));
        assert!(!finished("so,"));
        assert!(!finished(""));
        assert!(!finished("   "));
        assert!(!finished("?"));
    }
}
