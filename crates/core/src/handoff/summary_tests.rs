//! The summary in both languages, with and without intent, transcript,
//! customer record, emotion and reason.

use std::collections::BTreeMap;

use super::{trend, Feeling};
use crate::handoff::{Customer, EmotionPoint, Line, Package};

fn line(at_ms: u64, speaker: &str, text: &str) -> Line {
    Line {
        at_ms,
        speaker: speaker.into(),
        text: text.into(),
    }
}

fn point(at_ms: u64, level: &str) -> EmotionPoint {
    EmotionPoint {
        at_ms,
        level: level.into(),
        score: 0.5,
    }
}

fn en() -> Package {
    Package {
        language: "en".into(),
        customer: Customer {
            name: "Han Meimei".into(),
            vip_level: 2,
            calls: 3,
            ..Customer::default()
        },
        intent: Some("order_status".into()),
        slots: BTreeMap::from([
            ("colour".into(), "red".into()),
            ("order_no".into(), "12345".into()),
            ("city".into(), "Chengdu".into()),
        ]),
        emotion: vec![
            point(5_000, "neutral"),
            point(42_000, "upset"),
            point(60_000, "angry"),
        ],
        transcript: vec![
            line(1_000, "bot", "Hello, how can I help?"),
            line(5_000, "caller", "Where is my parcel? Order 12345."),
        ],
        reason: Some("emotion".into()),
        ..Package::default()
    }
}

/// Sentence ends outside quotes.
fn sentences(s: &str) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for c in s.chars() {
        match c {
            '"' | '“' | '”' => quoted = !quoted,
            '.' | '。' | '!' | '?' if !quoted => n += 1,
            _ => {}
        }
    }
    n
}

#[test]
fn english_names_who_what_feeling_and_why() {
    let s = en().summarize();
    assert_eq!(
        s,
        "Han Meimei (VIP 2, called 3 times before) wants order status (order no 12345, city \
         Chengdu). Angry since 0:42. Handed over because they are upset."
    );
    assert_eq!(sentences(&s), 3);
}

#[test]
fn chinese_when_the_language_is_zh() {
    let p = Package {
        language: "zh-CN".into(),
        customer: Customer {
            name: "韩梅梅".into(),
            vip_level: 1,
            ..Customer::default()
        },
        intent: Some("退货".into()),
        slots: BTreeMap::from([("订单号".into(), "A778".into())]),
        reason: Some("asked".into()),
        ..en()
    };
    let s = p.summarize();
    assert_eq!(
        s,
        "客户韩梅梅（VIP1级）来电诉求：退货（订单号：A778）。自0:42起情绪愤怒。\
         转人工原因：客户要求人工服务。"
    );
    assert_eq!(sentences(&s), 3);
}

#[test]
fn without_intent_the_longest_caller_sentence_is_quoted() {
    let p = Package {
        intent: None,
        customer: Customer::default(),
        emotion: Vec::new(),
        reason: Some("failures".into()),
        transcript: vec![
            line(
                0,
                "bot",
                "Welcome to the shop, please tell me what you need today.",
            ),
            line(3_000, "caller", "hello"),
            line(
                6_000,
                "caller",
                "The washing machine leaks. It floods the kitchen floor!",
            ),
            line(9_000, "caller", "yes"),
        ],
        ..en()
    };
    let s = p.summarize();
    assert_eq!(
        s,
        "The caller said: \"It floods the kitchen floor\". Handed over after the bot failed to \
         understand them."
    );
}

#[test]
fn long_utterances_are_cut_to_about_a_hundred_characters() {
    let long = "I have been waiting for the technician since eight in the morning and nobody \
                called me back although I was promised a visit before noon on the phone";
    let p = Package {
        intent: None,
        transcript: vec![line(1_000, "caller", long)],
        ..en()
    };
    let s = p.summarize();
    let quoted = s.split('"').nth(1).unwrap_or_default();
    assert!(quoted.ends_with('…'), "{s}");
    assert!((60..=101).contains(&quoted.chars().count()), "{quoted}");
    assert!(long.starts_with(quoted.trim_end_matches('…')), "{quoted}");

    let zh = Package {
        language: "zh".into(),
        intent: None,
        transcript: vec![line(1_000, "caller", &"我的洗衣机坏了".repeat(20))],
        ..en()
    };
    let s = zh.summarize();
    let quoted = s.split(['“', '”']).nth(1).unwrap_or_default();
    assert_eq!(quoted.chars().count(), 51, "{s}");
}

#[test]
fn no_transcript_and_nothing_known_still_gives_a_sentence() {
    let p = Package {
        language: "en".into(),
        ..Package::default()
    };
    assert_eq!(p.summarize(), "The caller has not said what they want yet.");
    let zh = Package {
        language: "zh".into(),
        ..Package::default()
    };
    assert_eq!(zh.summarize(), "来电客户尚未说明来意。");
    let filled = p.with_summary();
    assert!(!filled.summary.is_empty());
}

#[test]
fn reasons_by_kind() {
    let said = |reason: &str| {
        Package {
            reason: Some(reason.into()),
            emotion: Vec::new(),
            ..en()
        }
        .summarize()
    };
    assert!(said("intent:refund").ends_with("the dialplan sends refund to a person."));
    assert!(said("step:after_hours").ends_with("at dialplan step after hours."));
    assert!(said("asked").ends_with("because they asked for a person."));
    assert!(said("moon_phase").ends_with("Handed over (moon phase)."));
    assert!(!said(" ").contains("Handed over"));
}

#[test]
fn emotion_trend() {
    assert_eq!(trend(&[]), None);
    assert_eq!(trend(&[point(1_000, "neutral")]), None);
    assert_eq!(
        trend(&[point(1_000, "concerned")]),
        Some(Feeling::Concerned)
    );
    assert_eq!(
        trend(&[
            point(1_000, "upset"),
            point(20_000, "neutral"),
            point(42_000, "upset"),
            point(50_000, "upset"),
        ]),
        Some(Feeling::Since {
            level: "upset".into(),
            since_ms: 42_000
        })
    );
    assert_eq!(
        trend(&[
            point(1_000, "upset"),
            point(9_000, "angry"),
            point(20_000, "concerned")
        ]),
        Some(Feeling::Calmer {
            level: "angry".into(),
            at_ms: 9_000
        })
    );
    let calmer = Package {
        emotion: vec![point(65_000, "upset"), point(80_000, "neutral")],
        reason: None,
        ..en()
    };
    assert!(calmer
        .summarize()
        .ends_with("Was upset at 1:05, calmer now."));
}

#[test]
fn at_most_three_sentences_whatever_was_said() {
    let p = Package {
        intent: None,
        transcript: vec![line(
            0,
            "caller",
            "One. Two three four five! Six? Seven eight nine.",
        )],
        ..en()
    };
    let s = p.summarize();
    assert_eq!(sentences(&s), 3, "{s}");
}
