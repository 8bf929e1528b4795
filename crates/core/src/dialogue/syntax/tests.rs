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
