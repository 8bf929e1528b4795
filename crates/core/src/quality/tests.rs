//! Quality inspection: every check and flag, the score, Chinese phrases,
//! queue overrides, the emotion trend both ways and an unanswered call.

use super::*;
use crate::dialogue::emotion::Level;

fn line(speaker: Speaker, secs: u64, text: &str) -> Line {
    Line {
        speaker,
        text: text.to_string(),
        offset_ms: secs * 1000,
    }
}

/// A calm, contained call: 60 s, 10 s of silence, longest 2 s.
fn good_talk() -> Talk {
    Talk {
        total_ms: 60_000,
        caller_ms: 20_000,
        agent_ms: 31_000,
        overlap_ms: 1_000,
        silence_ms: 10_000,
        longest_silence_ms: 2_000,
        hold_ms: 0,
        longest_hold_ms: 0,
        barge_ins: 1,
    }
}

fn facts(lines: Vec<Line>) -> Facts {
    Facts {
        lines,
        talk: good_talk(),
        emotions: vec![Level::Neutral, Level::Neutral],
        transfer: None,
        answered: true,
    }
}

fn rules() -> Rules {
    Rules {
        forbidden: vec![Forbidden {
            name: "rude".into(),
            phrases: vec!["shut up".into(), "stupid".into(), "闭嘴".into()],
            speakers: vec![Party::Bot, Party::Agent],
            severity: Severity::Critical,
        }],
        required: vec![Required {
            name: "greeting".into(),
            phrases: vec!["thank you for calling".into(), "感谢您的来电".into()],
            speaker: Party::Bot,
            within_secs: Some(15.0),
            severity: Severity::Warning,
        }],
        ..Rules::default()
    }
}

fn codes(i: &Inspection) -> Vec<&'static str> {
    i.flags.iter().map(|f| f.code).collect()
}

fn check<'a>(i: &'a Inspection, name: &str) -> &'a Check {
    i.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {:#?}", i.checks))
}

#[test]
fn a_clean_call_scores_100_and_lists_every_check() {
    let f = facts(vec![
        line(Speaker::Bot, 0, "Thank you for calling Bluebird!"),
        line(Speaker::Caller, 4, "Where is my order?"),
        line(Speaker::Bot, 6, "It ships tomorrow."),
    ]);
    let i = inspect(&rules(), &f);
    assert_eq!(i.score, Some(100.0));
    assert!(i.flags.is_empty(), "{:#?}", i.flags);
    let names: Vec<&str> = i.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "answered",
            "forbidden:rude",
            "required:greeting",
            "silence_ratio",
            "dead_air",
            "talk_over",
            "hold",
            "emotion_trend",
            "containment"
        ]
    );
    assert!(i.checks.iter().all(|c| c.passed), "{:#?}", i.checks);
    assert!(check(&i, "required:greeting").detail.contains("line 1"));
}

#[test]
fn forbidden_phrase_by_staff_is_critical_but_the_caller_may_say_it() {
    let f = facts(vec![
        line(Speaker::Bot, 0, "Thank you for calling."),
        line(Speaker::Caller, 5, "Oh SHUT UP, you stupid machine"),
        line(Speaker::Agent, 70, "Well, that was a stupid question."),
    ]);
    let i = inspect(&rules(), &f);
    assert_eq!(codes(&i), ["forbidden_phrase"]);
    let flag = &i.flags[0];
    assert_eq!(flag.severity, Severity::Critical);
    assert!(
        flag.detail.contains("agent said \"stupid\""),
        "{}",
        flag.detail
    );
    assert!(flag.detail.contains("line 3, at 1:10"), "{}", flag.detail);
    assert!(!flag.detail.contains("question"), "no transcript dump");
    assert_eq!(i.score, Some(75.0));
    assert!(!check(&i, "forbidden:rude").passed);

    let mut with_caller = rules();
    with_caller.forbidden[0].speakers.push(Party::Caller);
    let i = inspect(&with_caller, &f);
    assert_eq!(codes(&i), ["forbidden_phrase", "forbidden_phrase"]);
    assert_eq!(i.score, Some(50.0));
}

#[test]
fn missing_and_late_required_phrases() {
    let missing = facts(vec![
        line(Speaker::Bot, 0, "Hello."),
        line(Speaker::Caller, 3, "thank you for calling me back"),
    ]);
    let i = inspect(&rules(), &missing);
    assert_eq!(codes(&i), ["missing_required"]);
    assert_eq!(i.flags[0].severity, Severity::Warning);
    assert!(
        i.flags[0].detail.contains("\"thank you for calling\""),
        "{}",
        i.flags[0].detail
    );
    assert_eq!(i.score, Some(90.0));

    let late = facts(vec![
        line(Speaker::Bot, 0, "Hello."),
        line(Speaker::Bot, 21, "Thank you for calling."),
    ]);
    let i = inspect(&rules(), &late);
    assert_eq!(codes(&i), ["late_required"]);
    assert!(i.flags[0].detail.contains("0:21"), "{}", i.flags[0].detail);
    assert!(i.flags[0].detail.contains("15 s"), "{}", i.flags[0].detail);

    let mut no_limit = rules();
    no_limit.required[0].within_secs = None;
    assert!(inspect(&no_limit, &late).flags.is_empty());
}

#[test]
fn an_agent_rule_applies_only_when_an_agent_spoke() {
    let mut r = rules();
    r.required.push(Required {
        name: "identity".into(),
        phrases: vec!["my name is".into()],
        speaker: Party::Agent,
        within_secs: None,
        severity: Severity::Critical,
    });
    let bot_only = facts(vec![line(Speaker::Bot, 0, "Thank you for calling.")]);
    let i = inspect(&r, &bot_only);
    assert!(i.flags.is_empty(), "{:#?}", i.flags);
    assert!(check(&i, "required:identity").passed);

    let mut agent = bot_only.clone();
    agent
        .lines
        .push(line(Speaker::Agent, 40, "Hi, how can I help?"));
    let i = inspect(&r, &agent);
    assert_eq!(codes(&i), ["missing_required"]);
    assert_eq!(i.score, Some(75.0));

    // Said by the bot does not count for the agent; staff takes either.
    agent.lines[0].text = "Thank you for calling, my name is Kefu.".into();
    assert_eq!(codes(&inspect(&r, &agent)), ["missing_required"]);
    r.required[1].speaker = Party::Staff;
    assert!(inspect(&r, &agent).flags.is_empty());
}

#[test]
fn chinese_phrases_match_through_spaces_punctuation_and_width() {
    let f = facts(vec![
        line(Speaker::Bot, 1, "您好，感谢 您的 来电！"),
        line(Speaker::Caller, 5, "我的快递到哪了？"),
        line(Speaker::Agent, 50, "你先闭嘴，听我说。"),
    ]);
    let i = inspect(&rules(), &f);
    assert_eq!(codes(&i), ["forbidden_phrase"]);
    assert!(i.flags[0].detail.contains("闭嘴"), "{}", i.flags[0].detail);
    assert!(check(&i, "required:greeting").passed);

    let mut wide = rules();
    wide.required[0].phrases = vec!["ＴＨＡＮＫ　ＹＯＵ".into()];
    let f = facts(vec![line(Speaker::Bot, 0, "thank you!")]);
    assert!(inspect(&wide, &f).flags.is_empty());
}

#[test]
fn talk_thresholds_flag_silence_dead_air_talk_over_and_hold() {
    let mut f = facts(vec![line(Speaker::Bot, 0, "Thank you for calling.")]);
    f.talk = Talk {
        total_ms: 100_000,
        caller_ms: 10_000,
        agent_ms: 12_000,
        overlap_ms: 6_000,
        silence_ms: 50_000,
        longest_silence_ms: 12_500,
        hold_ms: 16_000,
        longest_hold_ms: 61_000,
        barge_ins: 0,
    };
    let i = inspect(&rules(), &f);
    assert_eq!(
        codes(&i),
        ["silence_ratio", "dead_air", "talk_over", "long_hold"]
    );
    assert!(i.flags.iter().all(|f| f.severity == Severity::Warning));
    assert!(
        i.flags[0].detail.contains("0.6 (limit 0.5)"),
        "{}",
        i.flags[0].detail
    );
    assert!(
        i.flags[1].detail.contains("12.5 (limit 10)"),
        "{}",
        i.flags[1].detail
    );
    assert!(
        i.flags[2].detail.contains("6 (limit 5)"),
        "{}",
        i.flags[2].detail
    );
    assert!(
        i.flags[3].detail.contains("61 (limit 60)"),
        "{}",
        i.flags[3].detail
    );
    assert_eq!(i.score, Some(60.0));

    // At the limit is within it.
    f.talk.silence_ms = 42_000;
    f.talk.longest_silence_ms = 10_000;
    f.talk.overlap_ms = 5_000;
    f.talk.longest_hold_ms = 60_000;
    assert!(inspect(&rules(), &f).flags.is_empty());
}

#[test]
fn emotion_trend_both_ways_and_off() {
    let mut f = facts(vec![line(Speaker::Bot, 0, "Thank you for calling.")]);
    f.emotions = vec![Level::Concerned, Level::Angry, Level::Upset];
    let i = inspect(&rules(), &f);
    assert_eq!(codes(&i), ["emotion_worse"]);
    assert!(i.flags[0].detail.contains("concerned to upset"));
    assert_eq!(i.score, Some(90.0));

    f.emotions = vec![Level::Angry, Level::Upset, Level::Neutral];
    let mut costly_info = rules();
    costly_info.penalties.info = 5.0;
    let i = inspect(&costly_info, &f);
    assert_eq!(codes(&i), ["emotion_better"]);
    assert_eq!(i.flags[0].severity, Severity::Info);
    assert_eq!(i.score, Some(100.0), "a calmer caller is never a cost");
    assert!(check(&i, "emotion_trend").passed);

    let mut off = rules();
    off.emotion_trend = false;
    f.emotions = vec![Level::Neutral, Level::Angry];
    let i = inspect(&off, &f);
    assert!(i.flags.is_empty());
    assert!(i.checks.iter().all(|c| c.name != "emotion_trend"));

    f.emotions.clear();
    assert!(check(&inspect(&rules(), &f), "emotion_trend").passed);
}

#[test]
fn a_transfer_is_not_contained_and_costs_what_info_costs() {
    let mut f = facts(vec![line(Speaker::Bot, 0, "Thank you for calling.")]);
    f.transfer = Some("sip:desk@example.com".into());
    let i = inspect(&rules(), &f);
    assert_eq!(codes(&i), ["not_contained"]);
    assert!(i.flags[0].detail.contains("sip:desk@example.com"));
    assert_eq!(i.score, Some(100.0));

    let mut r = rules();
    r.penalties.info = 3.0;
    assert_eq!(inspect(&r, &f).score, Some(97.0));
    r.containment = false;
    assert!(inspect(&r, &f).flags.is_empty());
}

#[test]
fn queue_overrides_apply_only_to_calls_sent_to_that_queue() {
    let mut r = rules();
    r.queues.insert(
        "after_sales".into(),
        RulesOverride {
            max_hold_secs: Some(30.0),
            required: vec![Required {
                name: "apology".into(),
                phrases: vec!["sorry".into(), "抱歉".into()],
                speaker: Party::Agent,
                within_secs: None,
                severity: Severity::Warning,
            }],
            ..RulesOverride::default()
        },
    );
    let mut f = facts(vec![
        line(Speaker::Bot, 0, "Thank you for calling."),
        line(Speaker::Agent, 50, "Hello, this is Li."),
    ]);
    f.talk.longest_hold_ms = 45_000;
    f.talk.hold_ms = 45_000;
    f.talk.total_ms += 45_000;
    f.transfer = Some("queue:after_sales".into());
    let i = inspect(&r, &f);
    assert_eq!(
        codes(&i),
        ["missing_required", "long_hold", "not_contained"]
    );
    assert!(i.flags[1].detail.contains("(limit 30)"));

    f.transfer = Some("queue:billing".into());
    assert_eq!(codes(&inspect(&r, &f)), ["not_contained"]);
    let effective = r.for_target(Some("queue:after_sales"));
    assert_eq!(effective.thresholds.max_hold_secs, 30.0);
    assert_eq!(effective.thresholds.max_dead_air_secs, 10.0);
    assert_eq!(effective.required.len(), 2);
    assert_eq!(r.for_target(None), r);
}

#[test]
fn the_score_is_floored_at_zero() {
    let lines = (0..6)
        .map(|n| line(Speaker::Bot, n, "shut up"))
        .collect::<Vec<_>>();
    let i = inspect(&rules(), &facts(lines));
    assert_eq!(i.flags.len(), 7, "six forbidden lines, no greeting");
    assert_eq!(i.score, Some(0.0));
}

#[test]
fn an_unanswered_call_is_not_scored() {
    let f = Facts {
        lines: vec![line(Speaker::Agent, 0, "shut up")],
        ..Facts::default()
    };
    let i = inspect(&rules(), &f);
    assert_eq!(i.score, None);
    assert!(i.flags.is_empty());
    assert_eq!(i.checks.len(), 1);
    assert_eq!(i.checks[0].name, "answered");
    assert!(!i.checks[0].passed);
}

#[test]
fn default_rules_are_the_documented_ones() {
    let r = Rules::default();
    assert_eq!(r.thresholds.max_silence_ratio, 0.5);
    assert_eq!(r.thresholds.max_dead_air_secs, 10.0);
    assert_eq!(r.thresholds.max_talk_over_secs, 5.0);
    assert_eq!(r.thresholds.max_hold_secs, 60.0);
    assert!(r.emotion_trend && r.containment);
    assert_eq!(
        (r.penalties.info, r.penalties.warning, r.penalties.critical),
        (0.0, 10.0, 25.0)
    );
    assert_eq!(Severity::from_name("critical"), Some(Severity::Critical));
    assert_eq!(Party::from_name("staff"), Some(Party::Staff));
    assert!(Party::Staff.covers(Speaker::Agent) && !Party::Staff.covers(Speaker::Caller));
}
