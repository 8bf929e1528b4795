//! Slot values in what the caller said: yes or no, and digit strings
//! (order numbers, phone numbers, PINs) spoken in words or digits, in
//! English and Chinese.
//!
//! Recognisers write numbers every which way: "4 5 6", "four five six",
//! "456", "four fifty-six", "double seven", "oh" for zero, "四五六",
//! "幺三八" (幺 for 一 on the phone), full-width "４５６". [`digits`] reads
//! them all as the string of digits the caller meant to give, which is
//! what order and phone numbers are: "four fifty-six" is "456", not the
//! quantity. [`yes_no`] reads the common ways to agree and refuse, with
//! negation winning ("not really" is no, "没问题" is yes).
//!
//! Not here: which slot a dialplan step asks for, validation (lengths,
//! checksums), dates.

use super::normalize::normalize;

/// Yes or no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YesNo {
    /// Agreement.
    Yes,
    /// Refusal.
    No,
}

const YES_EN: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "correct",
    "right",
    "ok",
    "okay",
    "absolutely",
    "definitely",
    "please do",
    "that s right",
    "thats right",
    "of course",
];
const NO_EN: &[&str] = &[
    "no",
    "nope",
    "nah",
    "not",
    "dont",
    "don t",
    "never",
    "wrong",
    "incorrect",
    "negative",
];
const YES_ZH: &[&str] = &[
    "是",
    "对",
    "好",
    "行",
    "可以",
    "嗯",
    "要",
    "没错",
    "没问题",
    "确认",
];
const NO_ZH: &[&str] = &["不", "没有", "别", "不要", "不是", "不对", "不用", "错"];
/// Chinese phrases that contain a refusal character but agree.
const YES_ZH_DESPITE: &[&str] = &["没问题", "不错"];

/// Whether `text` says yes or no; `None` when it says neither (or both
/// equally, "yes and no").
pub fn yes_no(text: &str) -> Option<YesNo> {
    let t = normalize(text);
    let padded = format!(" {t} ");
    let has_word = |w: &str| padded.contains(&format!(" {w} "));
    // "没问题" agrees although it holds 没: take such phrases out first.
    let mut zh = t.clone();
    let mut yes = false;
    for p in YES_ZH_DESPITE {
        if zh.contains(p) {
            yes = true;
            zh = zh.replace(p, " ");
        }
    }
    let no = NO_EN.iter().any(|w| has_word(w)) || NO_ZH.iter().any(|w| zh.contains(w));
    yes = yes || YES_EN.iter().any(|w| has_word(w)) || YES_ZH.iter().any(|w| zh.contains(w));
    if no {
        // Negation wins: "not right", "no thanks, okay", "不是".
        Some(YesNo::No)
    } else if yes {
        Some(YesNo::Yes)
    } else {
        None
    }
}

/// The digits `text` gives, in order: spoken digits ("four five six",
/// "oh", "double seven", "triple zero"), tens ("fifty-six" → "56"),
/// "hundred" after a digit ("four hundred" → "400"), written digits,
/// Chinese digits (〇零一二三四五六七八九, 幺 and 两). Words that are
/// neither are skipped (homophones like "to" and "for" too: they are more
/// often words than digits); `None` when there are no digits at all.
pub fn digits(text: &str) -> Option<String> {
    let norm = normalize(&text.replace('-', " "));
    let mut out = String::new();
    let mut repeat = 1usize;
    // A tens word waiting for a unit ("fifty" + "six").
    let mut tens: Option<u8> = None;
    for word in norm.split(' ').filter(|w| !w.is_empty()) {
        if let Some(n) = repeat_word(word) {
            repeat = n;
            continue;
        }
        if word == "hundred" {
            if let Some(t) = tens.take() {
                out.push(char::from(b'0' + t / 10));
                out.push(char::from(b'0' + t % 10));
            }
            if !out.is_empty() {
                out.push_str("00");
            }
            continue;
        }
        if let Some(t) = tens_word(word) {
            flush(&mut out, &mut tens);
            tens = Some(t);
            continue;
        }
        if let Some(d) = digit_word(word) {
            match tens.take() {
                Some(t) if d != 0 => {
                    out.push(char::from(b'0' + t / 10));
                    out.push(char::from(b'0' + d));
                }
                Some(t) => {
                    flush(&mut out, &mut Some(t));
                    out.push('0');
                }
                None => out.extend(std::iter::repeat_n(char::from(b'0' + d), repeat)),
            }
            repeat = 1;
            continue;
        }
        flush(&mut out, &mut tens);
        for c in word.chars() {
            if let Some(d) = c.to_digit(10).or_else(|| zh_digit(c)) {
                out.extend(std::iter::repeat_n(
                    char::from_digit(d, 10).unwrap_or('0'),
                    repeat,
                ));
                repeat = 1;
            }
        }
    }
    flush(&mut out, &mut tens);
    (!out.is_empty()).then_some(out)
}

/// A number 0 to 99 at the start of `words`, English: digits, with an
/// ordinal suffix or without ("25", "3rd"), or words, cardinal or ordinal
/// ("twenty five", "twenty-fifth" split at the hyphen, "third"). Gives
/// its value, the words it took and whether it was an ordinal. For dates
/// and quantities, where "twenty five" is 25 (not the digits "205").
pub(crate) fn number_words(words: &[&str]) -> Option<(u32, usize, bool)> {
    let w = *words.first()?;
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let rest = &w[digits..];
        let ordinal = matches!(rest, "st" | "nd" | "rd" | "th");
        let n = w[..digits].parse().ok()?;
        return (rest.is_empty() || ordinal).then_some((n, 1, ordinal));
    }
    let unit = |w: &str| -> Option<(u32, bool)> {
        let ord = ORDINALS.iter().position(|o| *o == w);
        let card = if w == "oh" {
            None
        } else {
            digit_word(w).map(u32::from)
        };
        match (card, ord) {
            (Some(n), _) => Some((n, false)),
            (None, Some(n)) => Some((u32::try_from(n).ok()? + 1, true)),
            _ => None,
        }
    };
    if let Some(t) = tens_word(w) {
        let t = u32::from(t);
        if t >= 20 {
            if let Some((u, ordinal)) = words.get(1).and_then(|x| unit(x)).filter(|u| u.0 > 0) {
                return Some((t + u, 2, ordinal));
            }
        }
        return Some((t, 1, false));
    }
    if let Some(p) = TENS_ORDINALS.iter().position(|o| *o == w) {
        return Some((20 + 10 * u32::try_from(p).ok()?, 1, true));
    }
    unit(w).map(|(n, o)| (n, 1, o))
}

const ORDINALS: &[&str] = &[
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const TENS_ORDINALS: &[&str] = &[
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
];

/// True for a character of a Chinese number: the digits, 十, 廿, or an
/// ASCII digit.
pub(crate) fn is_zh_numeral(c: char) -> bool {
    c.is_ascii_digit() || c == '十' || c == '廿' || zh_digit(c).is_some()
}

/// The value of a Chinese number as dates and quantities write it:
/// "十二" 12, "二十五" 25, "廿五" 25, or digit by digit ("二〇二六" 2026,
/// "25" 25). `None` for anything else and past `u32`.
pub(crate) fn zh_number(s: &[char]) -> Option<u32> {
    let digit = |c: char| c.to_digit(10).or_else(|| zh_digit(c));
    if let Some(p) = s.iter().position(|c| *c == '十' || *c == '廿') {
        let tens = match (s[p], p) {
            ('廿', 0) => 2,
            ('十', 0) => 1,
            ('十', 1) => digit(s[0])?,
            _ => return None,
        };
        let units = match &s[p + 1..] {
            [] => 0,
            [c] => digit(*c)?,
            _ => return None,
        };
        return Some(tens * 10 + units);
    }
    if s.is_empty() {
        return None;
    }
    s.iter()
        .try_fold(0u32, |acc, c| acc.checked_mul(10)?.checked_add(digit(*c)?))
}

/// Writes a pending tens word ("fifty" → "50").
fn flush(out: &mut String, tens: &mut Option<u8>) {
    if let Some(t) = tens.take() {
        out.push(char::from(b'0' + t / 10));
        out.push(char::from(b'0' + t % 10));
    }
}

/// True for a word [`digits`] reads as (part of) a number: a digit or
/// tens word, "double", "triple", "hundred".
pub(crate) fn is_number_word(w: &str) -> bool {
    digit_word(w).is_some() || tens_word(w).is_some() || repeat_word(w).is_some() || w == "hundred"
}

fn digit_word(w: &str) -> Option<u8> {
    Some(match w {
        "zero" | "oh" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        _ => return None,
    })
}

fn tens_word(w: &str) -> Option<u8> {
    Some(match w {
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

fn repeat_word(w: &str) -> Option<usize> {
    match w {
        "double" => Some(2),
        "triple" => Some(3),
        _ => None,
    }
}

/// A Chinese digit character's value (幺 and 两 included).
pub(crate) fn zh_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' => 0,
        '一' | '幺' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_in_every_form() {
        for (said, want) in [
            ("4 5 6", "456"),
            ("four five six", "456"),
            ("My order number is 123456.", "123456"),
            ("four fifty-six", "456"),
            ("oh seven double one", "0711"),
            ("triple zero", "000"),
            ("ninety", "90"),
            ("twenty one twelve", "2112"),
            ("four hundred", "400"),
            ("订单号四五六", "456"),
            ("幺三八零零", "13800"),
            ("１３８ ００", "13800"),
            ("one 2 three", "123"),
        ] {
            assert_eq!(digits(said).as_deref(), Some(want), "{said}");
        }
        assert_eq!(digits("I don't know"), None);
        assert_eq!(digits(""), None);
    }

    #[test]
    fn numbers_in_words_for_dates() {
        let n = |s: &str| number_words(&s.split(' ').collect::<Vec<_>>());
        assert_eq!(n("25"), Some((25, 1, false)));
        assert_eq!(n("3rd of"), Some((3, 1, true)));
        assert_eq!(n("twenty five"), Some((25, 2, false)));
        assert_eq!(n("twenty first"), Some((21, 2, true)));
        assert_eq!(n("thirtieth"), Some((30, 1, true)));
        assert_eq!(n("twenty days"), Some((20, 1, false)));
        assert_eq!(n("twelfth"), Some((12, 1, true)));
        assert_eq!(n("zero"), Some((0, 1, false)));
        for no in ["", "oh", "3x", "march", "99999999999"] {
            assert_eq!(n(no), None, "{no}");
        }
        let z = |s: &str| zh_number(&s.chars().collect::<Vec<_>>());
        for (s, v) in [
            ("十二", 12),
            ("二十五", 25),
            ("十", 10),
            ("廿五", 25),
            ("三十", 30),
        ] {
            assert_eq!(z(s), Some(v), "{s}");
        }
        assert_eq!(z("二〇二六"), Some(2026));
        assert_eq!(z("两"), Some(2));
        assert_eq!(z("25"), Some(25));
        for no in ["", "十十", "一二十", "十二三", "月", "99999999999"] {
            assert_eq!(z(no), None, "{no}");
        }
        assert!(is_zh_numeral('廿') && is_zh_numeral('7') && !is_zh_numeral('月'));
    }

    #[test]
    fn yes_and_no_in_english_and_chinese() {
        for t in [
            "Yes.",
            "yeah sure",
            "That's right",
            "okay",
            "是的",
            "对",
            "可以",
            "没问题",
            "嗯嗯",
        ] {
            assert_eq!(yes_no(t), Some(YesNo::Yes), "{t}");
        }
        for t in [
            "No.",
            "nope",
            "not really",
            "that's not right",
            "don't",
            "不是",
            "不要",
            "没有",
            "不对",
        ] {
            assert_eq!(yes_no(t), Some(YesNo::No), "{t}");
        }
        for t in ["my order is late", "", "我的快递"] {
            assert_eq!(yes_no(t), None, "{t}");
        }
    }
}
