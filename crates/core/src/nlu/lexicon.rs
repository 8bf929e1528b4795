//! What the words of one utterance say about the caller's mood, in English
//! and Chinese: negative and angry words and phrases, profanity, and asking
//! for a human. One of the three inputs of the per-call emotion estimate
//! (with prosody against the caller's own baseline, and behaviour across
//! the call).
//!
//! Matching is on normalized text: whole words for English (a phrase
//! matches as a run of whole words), substrings for Chinese. A negator
//! just before a negative English word ("not bad", "not happy") flips
//! nothing to positive, but "not happy" stays negative and "not bad" does
//! not count.

use super::normalize::normalize;

/// What the lexicon found in one utterance.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LexiconSignal {
    /// Negative words and phrases (disappointment, frustration): 0 (none)
    /// to 1 (several).
    pub negative: f32,
    /// Angry words and phrases (threats to complain, insults): 0 to 1.
    pub anger: f32,
    /// A swear word.
    pub profanity: bool,
    /// The caller asks for a person.
    pub wants_human: bool,
}

const NEGATIVE_EN: &[&str] = &[
    "annoyed",
    "awful",
    "bad",
    "broken",
    "disappointed",
    "frustrated",
    "frustrating",
    "horrible",
    "late again",
    "not happy",
    "poor",
    "problem",
    "terrible",
    "unacceptable",
    "upset",
    "useless",
    "waiting forever",
    "worst",
    "wrong again",
    "still not",
];
const ANGRY_EN: &[&str] = &[
    "angry",
    "complain",
    "complaint",
    "fed up",
    "furious",
    "lawyer",
    "ridiculous",
    "report you",
    "scam",
    "sick of",
    "sue",
    "this is a joke",
    "unbelievable",
    "rip off",
    "ripoff",
];
const PROFANITY_EN: &[&str] = &[
    "damn", "hell", "shit", "fuck", "fucking", "crap", "bloody", "bullshit",
];
const HUMAN_EN: &[&str] = &[
    "agent",
    "human",
    "manager",
    "operator",
    "person",
    "real person",
    "representative",
    "someone",
    "supervisor",
];
const NEGATIVE_ZH: &[&str] = &[
    "不满意",
    "太差",
    "很差",
    "失望",
    "烦",
    "糟糕",
    "问题",
    "怎么还",
    "又",
    "不行",
    "慢死了",
];
const ANGRY_ZH: &[&str] = &[
    "投诉",
    "生气",
    "气死",
    "骗子",
    "欺骗",
    "坑人",
    "太过分",
    "举报",
    "差评",
    "什么玩意",
];
const PROFANITY_ZH: &[&str] = &["他妈", "妈的", "靠", "操", "滚"];
const HUMAN_ZH: &[&str] = &["人工", "客服", "真人", "转人", "经理"];
/// English words that cancel the negative word right after them.
const NEGATORS_EN: &[&str] = &["not", "never", "no"];
/// Negative English words that a negator turns neutral ("not bad").
const FLIPPABLE_EN: &[&str] = &["bad", "terrible", "horrible", "awful", "poor"];

/// Reads `text`; see the module docs.
pub fn lexicon(text: &str) -> LexiconSignal {
    let t = normalize(text);
    let words: Vec<&str> = t.split(' ').filter(|w| !w.is_empty()).collect();
    let count_en = |list: &[&str]| -> usize {
        list.iter()
            .map(|p| {
                let pw: Vec<&str> = p.split(' ').collect();
                (0..words.len())
                    .filter(|&i| words[i..].starts_with(&pw))
                    .filter(|&i| {
                        // "not bad": a flippable word after a negator.
                        !(pw.len() == 1
                            && FLIPPABLE_EN.contains(&pw[0])
                            && i > 0
                            && NEGATORS_EN.contains(&words[i - 1]))
                    })
                    .count()
            })
            .sum()
    };
    let count_zh = |list: &[&str]| -> usize { list.iter().map(|p| t.matches(p).count()).sum() };
    let saturate = |n: usize| 1.0 - 0.5f32.powi(i32::try_from(n).unwrap_or(i32::MAX));
    LexiconSignal {
        negative: saturate(count_en(NEGATIVE_EN) + count_zh(NEGATIVE_ZH)),
        anger: saturate(count_en(ANGRY_EN) + count_zh(ANGRY_ZH)),
        profanity: count_en(PROFANITY_EN) + count_zh(PROFANITY_ZH) > 0,
        wants_human: count_en(HUMAN_EN) + count_zh(HUMAN_ZH) > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calm_questions_carry_nothing() {
        for t in [
            "where is my order",
            "我想查一下订单",
            "thank you very much",
            "",
        ] {
            assert_eq!(lexicon(t), LexiconSignal::default(), "{t}");
        }
    }

    #[test]
    fn negative_angry_and_profane_callers() {
        let s = lexicon("This is terrible, my parcel is late again and I'm disappointed");
        assert!(s.negative >= 0.85, "{s:?}");
        assert_eq!(s.anger, 0.0);
        let s = lexicon("This is ridiculous, I want to make a complaint. Damn it!");
        assert!(s.anger >= 0.7 && s.profanity, "{s:?}");
        let s = lexicon("太差了，我要投诉你们，气死我了");
        assert!(s.negative > 0.0 && s.anger >= 0.7, "{s:?}");
        assert!(lexicon("他妈的怎么还没到").profanity);
    }

    #[test]
    fn not_bad_is_not_negative_but_not_happy_is() {
        assert_eq!(lexicon("not bad at all").negative, 0.0);
        assert!(lexicon("I am not happy").negative > 0.0);
    }

    #[test]
    fn asking_for_a_person() {
        for t in [
            "let me speak to a real person",
            "get me your manager",
            "转人工",
            "我要找客服",
        ] {
            assert!(lexicon(t).wants_human, "{t}");
        }
        assert!(!lexicon("what are your opening hours").wants_human);
    }
}
