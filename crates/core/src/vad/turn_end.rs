//! Whether a transcript sounds like a finished turn: the signal that lets
//! a pause end the caller's utterance before the full end-of-speech
//! silence has passed.
//!
//! Whisper punctuates from the audio: a sentence the speaker finished
//! (falling pitch, a complete clause) comes out with a full stop or a
//! question mark, a phrase cut off by a breath comes out with an ellipsis,
//! a comma or nothing. [`sounds_final`] reads that, and distrusts a final
//! word that cannot end an English sentence ("and", "the", "to").
//!
//! Not here: the timing (the endpointer's `early_end`), transcription.

/// Words after which an English turn is not over, whatever the punctuation.
const CONTINUATIONS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "because", "but", "for", "from", "if", "in", "is", "my",
    "of", "on", "or", "so", "that", "the", "then", "to", "um", "uh", "with", "your",
];

/// True when `text` ends like a finished sentence: a full stop, question
/// or exclamation mark (ASCII or CJK), not an ellipsis, and its last word
/// is not one that needs more after it.
pub fn sounds_final(text: &str) -> bool {
    let t = text.trim_end();
    if t.ends_with("...") || t.ends_with('…') || t.ends_with("。。") {
        return false;
    }
    let Some(last) = t.chars().last() else {
        return false;
    };
    if !matches!(last, '.' | '?' | '!' | '。' | '？' | '！') {
        return false;
    }
    let word = t
        .trim_end_matches(['.', '?', '!', '。', '？', '！'])
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    !word.is_empty() && !CONTINUATIONS.contains(&word.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_sentences() {
        assert!(sounds_final("What are your opening hours?"));
        assert!(sounds_final("Ten of clubs."));
        assert!(sounds_final("I want to cancel my order!"));
        assert!(sounds_final("我想查一下订单。"));
        assert!(sounds_final("营业时间是几点？"));
    }

    #[test]
    fn unfinished_ones() {
        assert!(!sounds_final("I would like to..."));
        assert!(!sounds_final("My order number is…"));
        assert!(!sounds_final("I want to talk about my bill and"));
        assert!(!sounds_final("I was calling because."));
        assert!(!sounds_final("Yes, the"));
        assert!(!sounds_final("so,"));
        assert!(!sounds_final(""));
        assert!(!sounds_final("   "));
        assert!(!sounds_final("?"));
    }
}
