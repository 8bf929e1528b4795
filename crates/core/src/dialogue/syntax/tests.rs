//! The dialplan language: what builds, and the errors an operator sees.

use super::*;
use crate::dialogue::plan::{Action, SlotKind, TransferPolicy};

const GOOD: &str = r#"
language = "en"
start = "greet"

[nlu]
max_failures = 2
on_failures = "agent"

[vars]
crm = "http://127.0.0.1:9"

[intents.order_status]
examples = ["where is my order", "track my parcel"]

[intents.human_agent]
goto = "agent"
examples = ["talk to a person"]

[[rules]]
when = "intent == order_status and emotion >= upset"
goto = "agent"

[steps.greet]
say = "Hello."
next = "menu"

[steps.menu]
ask = "How can I help?"
on = { order_status = "ask_order" }
faq = true
retries = 2

[steps.ask_order]
ask = "Your order number?"
expect = "digits"
save_as = "order_id"
pattern = "^[0-9]{8}$"
next = "lookup"

[steps.lookup]
http = { url = "{crm}/orders/{order_id}", timeout_ms = 500, body = { id = "{order_id}", n = 1 } }
map = { state = "status" }
next = "tell"
on_error = "agent"

[steps.tell]
branch = [{ when = "state == 'shipped'", goto = "bye" }]
else = "agent"

[steps.agent]
transfer = "queue:after_sales"
policy = "ask_first"
confirm = "Shall I connect you?"
on_decline = "menu"

[steps.bye]
say = "Your order {order_id} is {state}. Goodbye."
hangup = true
"#;

const FAQ: &str = r#"
language = "en"
[[faq]]
id = "hours"
questions = ["when are you open"]
answer = "Nine to six."
"#;

fn build(text: &str, faq: &str) -> Result<Plan, Vec<Diagnostic>> {
    let draft = parse(
        Source {
            name: "t.toml",
            text,
        },
        "t",
    )?;
    let faq = parse_faq(
        Source {
            name: "t.faq.toml",
            text: faq,
        },
        &draft.language(),
    )?;
    draft.build(faq, &["beep".to_string()])
}

fn errors(text: &str) -> Vec<String> {
    match build(text, FAQ) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

fn one_error(text: &str, says: &str, line: usize) {
    let errs = errors(text);
    assert!(
        errs.iter()
            .any(|e| e.contains(says) && e.starts_with(&format!("t.toml:{line}:"))),
        "want `{says}` at line {line}, got {errs:#?}"
    );
}

#[test]
fn a_good_plan_builds() {
    let plan = build(GOOD, FAQ).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(plan.steps[plan.start].name, "greet");
    assert_eq!(plan.steps.len(), 7);
    let menu = &plan.steps[plan.step_ix("menu").unwrap()];
    let Action::Ask(ask) = &menu.action else {
        panic!("menu asks")
    };
    assert_eq!(ask.kind, SlotKind::Intent);
    assert_eq!(ask.retries, 2);
    assert!(ask.faq);
    let agent = &plan.steps[plan.step_ix("agent").unwrap()];
    let Action::Transfer(t) = &agent.action else {
        panic!("agent transfers")
    };
    assert_eq!(t.policy, TransferPolicy::AskFirst);
    assert_eq!(plan.nlu.on_failures, plan.step_ix("agent"));
    assert_eq!(plan.faq.len(), 1);
}

#[test]
fn unknown_step_names_its_line_and_a_near_name() {
    let text = GOOD.replace("next = \"tell\"", "next = \"tel\"");
    one_error(&text, "unknown step `tel` (did you mean `tell`?)", 43);
}

#[test]
fn unreachable_step() {
    let text = format!("{GOOD}\n[steps.orphan]\nsay = \"x\"\nnext = \"bye\"\n");
    one_error(&text, "unreachable step `orphan`", 60);
}

#[test]
fn missing_prompt_bad_regex_undefined_variable() {
    one_error(
        &GOOD.replace("ask = \"How can I help?\"", "ask = \"\""),
        "missing prompt",
        28,
    );
    one_error(&GOOD.replace("^[0-9]{8}$", "^[0-9{8}$"), "bad regex", 37);
    one_error(
        &GOOD.replace("Your order {order_id}", "Your order {order_no}"),
        "undefined variable `order_no`",
        57,
    );
    one_error(
        &GOOD.replace("say = \"Hello.\"", "play = \"welcome\""),
        "missing prompt `welcome`",
        24,
    );
    one_error(
        &GOOD.replace("confirm = \"Shall I connect you?\"", ""),
        "needs `confirm`",
        52,
    );
}

#[test]
fn conditions_are_checked() {
    one_error(
        &GOOD.replace("emotion >= upset", "emotion >= ecstatic"),
        "not an emotion level",
        20,
    );
    one_error(
        &GOOD.replace("intent == order_status", "intent == order_stats"),
        "unknown intent `order_stats`",
        20,
    );
    one_error(
        &GOOD.replace("state == 'shipped'", "state = 'shipped'"),
        "`==`",
        47,
    );
    one_error(
        &GOOD.replace("state == 'shipped'", "stat == 'shipped'"),
        "undefined variable `stat` (did you mean `state`?)",
        47,
    );
}

#[test]
fn step_shape_errors() {
    one_error(
        &GOOD.replace("on_error = \"agent\"", ""),
        "needs `on_error`",
        40,
    );
    one_error(&GOOD.replace("hangup = true", ""), "nowhere to go", 56);
    one_error(
        &GOOD.replace(
            "hangup = true",
            "hangup = true\nnext = \"menu\"\nask = \"x\"",
        ),
        "more than one thing",
        56,
    );
    one_error(
        &GOOD.replace("expect = \"digits\"", "expect = \"number\""),
        "expect `number`",
        35,
    );
    one_error(
        &GOOD.replace("policy = \"ask_first\"", "policy = \"sometimes\""),
        "policy `sometimes`",
        52,
    );
}

#[test]
fn toml_errors_and_unknown_keys() {
    one_error(
        &GOOD.replace("retries = 2", "retries = 2\non_failur = \"agent\""),
        "unknown field `on_failur`",
        32,
    );
    one_error(&GOOD.replace("say = \"Hello.\"", "say = \"Hello."), "", 24);
    let errs = errors("language = \"en\"\n");
    assert!(errs.iter().any(|e| e.contains("no steps")), "{errs:?}");
}

#[test]
fn faq_errors() {
    let bad = "[[faq]]\nid = \"a\"\nquestions = [\"q\"]\nanswer = \"\"\n[[faq]]\nid = \"a\"\nquestions = []\nanswer = \"x\"\n";
    let errs: Vec<String> = build(GOOD, bad)
        .expect_err("bad faq")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        errs.iter()
            .any(|e| e.starts_with("t.faq.toml:4:") && e.contains("empty answer")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("t.faq.toml:6:") && e.contains("used twice")),
        "{errs:?}"
    );
    assert!(errs.iter().any(|e| e.contains("no questions")), "{errs:?}");
    let zh =
        "language = \"zh\"\n[[faq]]\nid = \"a\"\nquestions = [\"几点开门\"]\nanswer = \"九点\"\n";
    assert!(build(GOOD, zh).is_err(), "language mismatch");
}

#[test]
fn is_flow_tells_kinds_apart() {
    assert!(is_flow(GOOD));
    assert!(!is_flow("kind = \"speech\"\n[speech]\n"));
}

const QUALITY: &str = r#"
[quality]
max_silence_ratio = 0.4
max_dead_air_secs = 8
max_talk_over_secs = 4.5
max_hold_secs = 90
emotion_trend = false
penalties = { warning = 5, critical = 30 }

[[quality.forbidden]]
name = "rude"
phrases = ["shut up", "闭嘴"]
severity = "critical"

[[quality.required]]
name = "greeting"
phrases = ["hello"]
speaker = "bot"
within_secs = 15

[quality.queue.after_sales]
max_hold_secs = 30

[[quality.queue.after_sales.required]]
name = "identity"
phrases = ["my name is"]
speaker = "agent"
severity = "critical"
"#;

/// The 1-based line of the first `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    text[..at].matches('\n').count() + 1
}

/// GOOD with QUALITY, `from` replaced by `to`; the error `says` must be
/// on the line where `to` now stands.
fn quality_error(from: &str, to: &str, says: &str) {
    quality_error_at(from, to, to, says);
}

/// As [`quality_error`], the error on the line of `at`.
fn quality_error_at(from: &str, to: &str, at: &str, says: &str) {
    let text = format!("{GOOD}{QUALITY}").replacen(from, to, 1);
    one_error(&text, says, line_of(&text, at));
}

#[test]
fn quality_table_builds_rules_and_defaults_without_it() {
    use crate::quality::{Party, Severity};
    let plan = build(&format!("{GOOD}{QUALITY}"), FAQ).unwrap_or_else(|e| panic!("{e:#?}"));
    let q = &plan.quality;
    assert_eq!(q.thresholds.max_silence_ratio, 0.4);
    assert_eq!(q.thresholds.max_dead_air_secs, 8.0);
    assert_eq!(q.thresholds.max_talk_over_secs, 4.5);
    assert_eq!(q.thresholds.max_hold_secs, 90.0);
    assert!(!q.emotion_trend && q.containment);
    assert_eq!(
        (q.penalties.info, q.penalties.warning, q.penalties.critical),
        (0.0, 5.0, 30.0)
    );
    assert_eq!(q.forbidden[0].speakers, [Party::Bot, Party::Agent]);
    assert_eq!(q.forbidden[0].phrases, ["shut up", "闭嘴"]);
    assert_eq!(q.required[0].speaker, Party::Bot);
    assert_eq!(q.required[0].within_secs, Some(15.0));
    assert_eq!(q.required[0].severity, Severity::Warning);
    let queue = &q.queues["after_sales"];
    assert_eq!(queue.max_hold_secs, Some(30.0));
    assert_eq!(queue.max_dead_air_secs, None);
    assert_eq!(queue.required[0].speaker, Party::Agent);
    assert_eq!(queue.required[0].severity, Severity::Critical);

    let plain = build(GOOD, FAQ).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(plain.quality, crate::quality::Rules::default());
}

#[test]
fn quality_unknown_keys_and_bad_numbers() {
    quality_error(
        "max_dead_air_secs",
        "max_dead_air",
        "unknown field `max_dead_air`",
    );
    quality_error("within_secs", "within", "unknown field `within`");
    quality_error(
        "max_silence_ratio = 0.4",
        "max_silence_ratio = 1.5",
        "a ratio is between 0 and 1",
    );
    quality_error(
        "max_hold_secs = 90",
        "max_hold_secs = -90",
        "max_hold_secs = -90: use a number of 0 or more",
    );
    quality_error(
        "max_hold_secs = 30",
        "max_hold_secs = -1",
        "use a number of 0 or more",
    );
    quality_error(
        "within_secs = 15",
        "within_secs = -2.5",
        "within_secs = -2.5",
    );
    quality_error("critical = 30", "critical = -30 ", "critical = -30");
    quality_error(
        "max_talk_over_secs = 4.5",
        "max_talk_over_secs = \"4.5\"",
        "invalid type",
    );
}

#[test]
fn quality_unknown_speaker_or_severity() {
    quality_error(
        "speaker = \"bot\"",
        "speaker = \"robot\"",
        "speaker `robot`: use bot, agent, staff",
    );
    quality_error(
        "speaker = \"bot\"",
        "speaker = \"caller\"",
        "speaker `caller`",
    );
    quality_error_at(
        "name = \"rude\"",
        "name = \"rude\"\nspeakers = [\"bot\", \"customer\"]",
        "\"customer\"",
        "speaker `customer`: use caller, bot, agent, staff",
    );
    quality_error(
        "severity = \"critical\"\n\n[[quality.required]]",
        "severity = \"fatal\"\n\n[[quality.required]]",
        "severity `fatal`: use info, warning or critical",
    );
}

#[test]
fn quality_empty_phrases_and_duplicate_names() {
    quality_error(
        "phrases = [\"hello\"]",
        "phrases = []",
        "quality rule `greeting` has no phrases",
    );
    quality_error(
        "phrases = [\"hello\"]",
        "phrases = [\"hello\", \" ?! \"]",
        "phrase ` ?! ` has no letters or digits",
    );
    quality_error_at(
        "name = \"rude\"",
        "name = \"rude\"\nspeakers = []",
        "speakers = []",
        "quality rule `rude` has no speakers",
    );
    quality_error_at(
        "name = \"greeting\"",
        "name = \"rude\"",
        "name = \"rude\"\nphrases = [\"hello\"]",
        "quality rule name `rude` is used twice",
    );
    quality_error_at(
        "name = \"identity\"",
        "name = \"greeting\"",
        "name = \"greeting\"\nphrases = [\"my name is\"]",
        "quality rule name `greeting` is used twice",
    );
}

#[test]
fn quality_queue_must_be_a_transfer_target() {
    quality_error(
        "[quality.queue.after_sales]\n",
        "[quality.queue.after-sales]\n",
        "quality queue `after-sales` is never a transfer target (its transfers go to after_sales)",
    );
}

/// The bundled plans' `[quality]` accepts their own greetings and flags a
/// call that skips them.
#[test]
fn bundled_plans_quality_matches_their_greetings() {
    use crate::dialogue::plan::Speak;
    use crate::dialogue::template::Escape;
    use crate::quality::{inspect, Facts, Line, Speaker};
    let bundled = [
        (
            include_str!("../../../../../dialplans/shop.toml"),
            include_str!("../../../../../dialplans/shop.faq.toml"),
        ),
        (
            include_str!("../../../../../dialplans/shop-zh.toml"),
            include_str!("../../../../../dialplans/shop-zh.faq.toml"),
        ),
    ];
    for (main, faq) in bundled {
        let plan = build(main, faq).unwrap_or_else(|e| panic!("{e:#?}"));
        assert!(!plan.quality.required.is_empty() && !plan.quality.forbidden.is_empty());
        assert!(plan.quality.queues.contains_key("after_sales"));
        for greet in ["greet_standard", "greet_vip"] {
            let step = &plan.steps[plan.step_ix(greet).unwrap()];
            let Some(Speak::Text(t)) = &step.speak else {
                panic!("{greet} speaks")
            };
            let said = t.render(|v| plan.vars.get(v).cloned(), Escape::None);
            let mut facts = Facts {
                lines: vec![Line {
                    speaker: Speaker::Bot,
                    text: said.clone(),
                    offset_ms: 500,
                }],
                answered: true,
                ..Facts::default()
            };
            let i = inspect(&plan.quality, &facts);
            assert!(i.flags.is_empty(), "{said}: {:#?}", i.flags);
            facts.lines[0].offset_ms = 20_000;
            let i = inspect(&plan.quality, &facts);
            assert_eq!(i.flags[0].code, "late_required", "{said}");
        }
    }
}
