//! Word lists for phrase matching ([`super::ngram`]): how much a word or
//! character says about what the caller wants, and the spoken short forms
//! of English written out in full.
//!
//! Generic English and Chinese only: pronouns, auxiliaries, particles,
//! hesitations, contractions. Nothing here knows about shops or any other
//! topic; that is what a dialplan's examples are for.
//!
//! Not here: stems and features (`ngram`), case and punctuation
//! (`normalize`).

/// Words that say little about what the caller wants (pronouns, articles,
/// auxiliaries); their features count a fifth. A handful of example
/// phrases per label is too few for IDF to find them. Contractions are
/// written out before this list is consulted ("i'm" → "i am").
const FUNCTION_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "are", "at", "be", "can", "could", "did", "do", "does", "for",
    "from", "had", "has", "have", "i", "in", "is", "it", "just", "like", "me", "my", "of", "ok",
    "okay", "on", "please", "that", "the", "there", "this", "to", "want", "was", "what", "with",
    "would", "yeah", "you", "your",
];

/// Hesitations and greetings a recogniser writes down around the request
/// ("um, hi, yeah so where is my order"): their features count next to
/// nothing, so they neither match nor dilute.
const FILLER_WORDS: &[&str] = &[
    "actually",
    "ah",
    "basically",
    "eh",
    "er",
    "erm",
    "hello",
    "hey",
    "hi",
    "hm",
    "hmm",
    "mm",
    "oh",
    "really",
    "so",
    "uh",
    "um",
    "umm",
    "well",
];

/// Chinese characters of the same kind (particles, pronouns, hesitations).
const FUNCTION_CHARS: &[char] = &[
    '的', '了', '吗', '啊', '呢', '吧', '我', '你', '是', '在', '想', '要', '嗯', '呃', '喂', '哦',
    '呀', '那', '个', '就', '这', '一', '下', '请', '帮', '什', '么', '怎', '们', '他', '她', '它',
    '都', '也', '很', '和',
];

/// Chinese question words that say little about the topic ("什么时候",
/// "多长时间"): their character pairs count as function characters.
const FUNCTION_PAIRS: &[&str] = &["时候", "多长", "多少", "为什", "长时"];

/// The weight of a feature from a function word or character.
pub(crate) const FUNCTION_WEIGHT: f32 = 0.2;
/// The weight of a feature from a filler word.
pub(crate) const FILLER_WEIGHT: f32 = 0.05;

/// How much a (normalized, spaced-script) word counts: 1, or less for
/// function and filler words.
pub(crate) fn word_weight(word: &str) -> f32 {
    if FILLER_WORDS.contains(&word) {
        FILLER_WEIGHT
    } else if FUNCTION_WORDS.contains(&word) {
        FUNCTION_WEIGHT
    } else {
        1.0
    }
}

/// How much a Chinese character counts.
pub(crate) fn char_weight(c: char) -> f32 {
    if FUNCTION_CHARS.contains(&c) {
        FUNCTION_WEIGHT
    } else {
        1.0
    }
}

/// How much a pair of neighbouring Chinese characters counts.
pub(crate) fn pair_weight(a: char, b: char) -> f32 {
    if FUNCTION_PAIRS.iter().any(|p| p.chars().eq([a, b])) {
        FUNCTION_WEIGHT
    } else {
        char_weight(a).max(char_weight(b))
    }
}

/// Spoken and contracted English written out, as normalized text has
/// them (apostrophes dropped: "where's" → "wheres"; recognisers also
/// write "dont" and "wanna"), so "where's" matches "where is" and
/// "hasn't" matches "has not". Forms that are also words of their own
/// ("ill", "well", "shed", "wed", "were") are left alone.
const SHORT_FORMS: &[(&str, &[&str])] = &[
    ("aint", &["is", "not"]),
    ("arent", &["are", "not"]),
    ("cannot", &["can", "not"]),
    ("cant", &["can", "not"]),
    ("couldnt", &["could", "not"]),
    ("didnt", &["did", "not"]),
    ("doesnt", &["does", "not"]),
    ("dont", &["do", "not"]),
    ("dunno", &["do", "not", "know"]),
    ("gimme", &["give", "me"]),
    ("gonna", &["going", "to"]),
    ("gotta", &["got", "to"]),
    ("hadnt", &["had", "not"]),
    ("hasnt", &["has", "not"]),
    ("havent", &["have", "not"]),
    ("heres", &["here", "is"]),
    ("hows", &["how", "is"]),
    ("id", &["i", "would"]),
    ("im", &["i", "am"]),
    ("isnt", &["is", "not"]),
    ("itll", &["it", "will"]),
    ("its", &["it", "is"]),
    ("ive", &["i", "have"]),
    ("lemme", &["let", "me"]),
    ("lets", &["let", "us"]),
    ("mustnt", &["must", "not"]),
    ("neednt", &["need", "not"]),
    ("shouldnt", &["should", "not"]),
    ("thatll", &["that", "will"]),
    ("thats", &["that", "is"]),
    ("theres", &["there", "is"]),
    ("theyre", &["they", "are"]),
    ("theyve", &["they", "have"]),
    ("wanna", &["want", "to"]),
    ("wasnt", &["was", "not"]),
    ("werent", &["were", "not"]),
    ("weve", &["we", "have"]),
    ("whats", &["what", "is"]),
    ("whens", &["when", "is"]),
    ("wheres", &["where", "is"]),
    ("whos", &["who", "is"]),
    ("wont", &["will", "not"]),
    ("wouldnt", &["would", "not"]),
    ("youd", &["you", "would"]),
    ("youll", &["you", "will"]),
    ("youre", &["you", "are"]),
    ("youve", &["you", "have"]),
];

/// The words a spoken or contracted form stands for; `None` for other
/// words.
pub(crate) fn expand(word: &str) -> Option<&'static [&'static str]> {
    SHORT_FORMS
        .binary_search_by(|(w, _)| (*w).cmp(word))
        .ok()
        .map(|i| SHORT_FORMS[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_are_sorted_and_expand() {
        assert!(SHORT_FORMS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(expand("wheres"), Some(&["where", "is"][..]));
        assert_eq!(expand("hasnt"), Some(&["has", "not"][..]));
        assert_eq!(expand("wanna"), Some(&["want", "to"][..]));
        assert_eq!(expand("order"), None);
        assert_eq!(expand("well"), None);
    }

    #[test]
    fn weights() {
        assert_eq!(word_weight("order"), 1.0);
        assert_eq!(word_weight("the"), FUNCTION_WEIGHT);
        assert_eq!(word_weight("um"), FILLER_WEIGHT);
        assert_eq!(char_weight('的'), FUNCTION_WEIGHT);
        assert_eq!(pair_weight('时', '候'), FUNCTION_WEIGHT);
        assert_eq!(pair_weight('退', '货'), 1.0);
        assert_eq!(pair_weight('我', '要'), FUNCTION_WEIGHT);
        assert_eq!(pair_weight('我', '退'), 1.0);
    }
}
