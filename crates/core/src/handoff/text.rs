//! Text pieces of the handoff summary: the call's language from its
//! words, the caller sentence worth quoting, cutting it to length, times
//! as `m:ss` and ids as words.

/// Characters at most in a quoted English sentence (before the `…`).
const QUOTE_CHARS_EN: usize = 100;
/// Characters at most in a quoted Chinese sentence: Chinese says about
/// twice as much per character.
const QUOTE_CHARS_ZH: usize = 50;

/// Words that carry nothing for an agent on their own.
const FILLERS: [&str; 24] = [
    "yes",
    "yeah",
    "yep",
    "no",
    "nope",
    "ok",
    "okay",
    "hello",
    "hi",
    "hmm",
    "um",
    "uh",
    "thanks",
    "thank you",
    "sure",
    "right",
    "是",
    "是的",
    "对",
    "嗯",
    "好",
    "好的",
    "喂",
    "没有",
];

/// The language of a call from what was said in it: `zh` when most of
/// its letters are Chinese characters, `en` otherwise (also when nothing
/// was said).
pub fn language_of<'a>(texts: impl IntoIterator<Item = &'a str>) -> &'static str {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in texts.into_iter().flat_map(str::chars) {
        if is_han(c) {
            han += 1;
        } else if c.is_alphabetic() {
            latin += 1;
        }
    }
    // A Chinese character is a word or half of one; a Latin letter is a
    // fifth of a word.
    if han * 5 > latin && han > 0 {
        "zh"
    } else {
        "en"
    }
}

/// Whether `c` is a CJK ideograph.
pub(super) fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// The caller's most telling sentence: the longest one (split at sentence
/// ends) that is more than a filler word, trimmed of its end mark and cut
/// to the quote length for `zh` (Chinese) or English.
pub(super) fn quote<'a>(utterances: impl IntoIterator<Item = &'a str>, zh: bool) -> Option<String> {
    let best = utterances
        .into_iter()
        .flat_map(|u| u.split(is_sentence_end))
        .map(|s| s.trim_matches(|c: char| c.is_whitespace() || is_pause(c)))
        .filter(|s| meaningful(s))
        .max_by_key(|s| weight(s))?;
    Some(cut(best, if zh { QUOTE_CHARS_ZH } else { QUOTE_CHARS_EN }))
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n' | '…')
}

fn is_pause(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | ':' | '，' | '；' | '：' | '、' | '"' | '“' | '”'
    )
}

/// More than a filler: two Chinese characters that are not a filler, or
/// a Latin phrase with a letter that is not a filler.
fn meaningful(s: &str) -> bool {
    let lower = s.to_lowercase();
    if FILLERS.contains(&lower.as_str()) {
        return false;
    }
    let han = s.chars().filter(|c| is_han(*c)).count();
    han >= 2 || (han == 0 && s.chars().filter(|c| c.is_alphanumeric()).count() >= 4)
}

/// How much a sentence says: Chinese characters count as words.
fn weight(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            c if is_han(c) => 4,
            c if c.is_whitespace() => 0,
            _ => 1,
        })
        .sum()
}

/// `s` cut to `max` characters, at a word boundary when there is one in
/// its second half, with `…` when cut.
pub(super) fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max).collect();
    let at_space = head
        .char_indices()
        .filter(|(_, c)| c.is_whitespace())
        .map(|(i, _)| i)
        .next_back()
        .filter(|i| *i >= head.len() / 2);
    let kept = match at_space {
        Some(i) => &head[..i],
        None => head.as_str(),
    };
    format!(
        "{}…",
        kept.trim_end_matches(|c: char| c.is_whitespace() || is_pause(c))
    )
}

/// Milliseconds from the call's start as `m:ss`.
pub(super) fn clock(at_ms: u64) -> String {
    let secs = at_ms / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// An id (`order_status`, `after-sales`) as words (`order status`).
pub(super) fn words(id: &str) -> String {
    id.replace(['_', '-'], " ").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_the_script_of_most_words() {
        assert_eq!(language_of(["我的快递三天了还没到"]), "zh");
        assert_eq!(language_of(["my parcel is late", "请问订单A123在哪"]), "zh");
        assert_eq!(language_of(["where is my parcel, order 12345"]), "en");
        assert_eq!(language_of(["please hold on, 好"]), "en");
        assert_eq!(language_of([]), "en");
    }

    #[test]
    fn the_quote_is_the_longest_meaningful_sentence() {
        let said = [
            "yes",
            "Hello. My parcel has not arrived and it is the third time I call!",
            "ok",
        ];
        assert_eq!(
            quote(said, false).as_deref(),
            Some("My parcel has not arrived and it is the third time I call")
        );
        assert_eq!(quote(["嗯", "好的"], true), None);
        assert_eq!(
            quote(["喂，你好。我要退货，东西坏了！"], true).as_deref(),
            Some("我要退货，东西坏了")
        );
        assert_eq!(quote([], false), None);
    }

    #[test]
    fn long_sentences_are_cut_at_a_word() {
        let long = "word ".repeat(60);
        let q = cut(long.trim(), 100);
        assert!(q.ends_with("word…"), "{q}");
        assert!(q.chars().count() <= 101, "{q}");
        let zh = "我".repeat(80);
        assert_eq!(cut(&zh, 50).chars().count(), 51);
        assert_eq!(cut("short", 100), "short");
    }

    #[test]
    fn clock_and_words() {
        assert_eq!(clock(42_300), "0:42");
        assert_eq!(clock(3_725_000), "62:05");
        assert_eq!(words("order_status"), "order status");
        assert_eq!(words("after-sales"), "after sales");
    }
}
