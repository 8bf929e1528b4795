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

/// Writes a pending tens word ("fifty" → "50").
fn flush(out: &mut String, tens: &mut Option<u8>) {
    if let Some(t) = tens.take() {
        out.push(char::from(b'0' + t / 10));
        out.push(char::from(b'0' + t % 10));
    }
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

fn zh_digit(c: char) -> Option<u32> {
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
