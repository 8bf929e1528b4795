//! The interpreter on a small shop plan: routes, slots, CRM outcomes,
//! failures, rules, transfers, FAQ, emotion, profile and time.

use std::sync::Arc;

use super::emotion::Level;
use super::flow::{Flow, LocalTime, QueueLoad, Surroundings};
use super::http::HttpFailure;
use super::interp::{Action, Conversation};
use super::syntax::{parse, parse_faq, Source};
use crate::nlu::dates::Date;

const PLAN: &str = r#"
language = "en"
start = "greet"

[nlu]
max_failures = 2
on_failures = "agent"

[vars]
crm = "http://crm.test"

[profile]
regions = { "+8610" = "beijing", "+86" = "china" }
[profile.lookup]
url = "{crm}/customers/{caller}"
map = { vip = "vip_level" }

[intents.order_status]
examples = ["where is my order", "track my parcel", "has my package shipped"]

[intents.complaint]
examples = ["I want to complain", "this service is terrible", "I want to file a complaint"]

[intents.human_agent]
goto = "agent"
examples = ["talk to a person", "I want a human agent", "put me through to someone"]

[intents.goodbye]
goto = "bye"
examples = ["goodbye", "that's all thanks bye"]

[[rules]]
when = "intent == complaint and emotion >= upset"
goto = "agent"

[steps.greet]
branch = [{ when = "profile.vip >= 3", goto = "vip_hello" }]
else = "hello"

[steps.vip_hello]
say = "Welcome back, valued customer from {profile.region}."
next = "menu"

[steps.hello]
say = "Hello."
next = "menu"

[steps.menu]
ask = "How can I help?"
on = { order_status = "ask_order", complaint = "soothe" }
faq = true
retries = 3
no_match = "Sorry, could you say that another way?"
no_input = "Are you there?"

[steps.ask_order]
ask = "Your order number?"
expect = "digits"
save_as = "order_id"
min_digits = 8
max_digits = 8
next = "lookup"

[steps.lookup]
http = { url = "{crm}/orders/{order_id}", timeout_ms = 500 }
map = { state = "status" }
next = "tell"
on_error = "crm_down"

[steps.tell]
branch = [{ when = "state == 'shipped'", goto = "shipped" }]
else = "unknown_state"

[steps.shipped]
say = "Order {order_id} has shipped."
next = "menu"

[steps.unknown_state]
say = "Order {order_id} is {state}."
next = "menu"

[steps.crm_down]
say = "Sorry, I cannot look that up right now."
next = "menu"

[steps.soothe]
say = "I am sorry to hear that."
tag = ["complaint"]
transfer = "queue:after_sales"
policy = "ask_first"
confirm = "Shall I put you through to a colleague?"
on_decline = "menu"
on_busy = "menu"

[steps.agent]
say = "Putting you through."
transfer = "queue:after_sales"
on_busy = "busy"

[steps.busy]
say = "All colleagues are busy."
next = "menu"

[steps.bye]
say = "Goodbye."
hangup = true
"#;

const FAQ: &str = r#"
[[faq]]
id = "hours"
questions = ["what are your opening hours", "when are you open"]
answer = "We are open nine to six."
"#;

fn flow() -> Arc<Flow> {
    let draft = parse(
        Source {
            name: "p.toml",
            text: PLAN,
        },
        "p",
    )
    .unwrap();
    let faq = parse_faq(
        Source {
            name: "f.toml",
            text: FAQ,
        },
        "en",
    )
    .unwrap();
    Arc::new(Flow::new(
        draft.build(faq, &[]).unwrap_or_else(|e| panic!("{e:#?}")),
    ))
}

const MONDAY: Date = Date {
    year: 2026,
    month: 11,
    day: 23,
};

fn call(caller: &str) -> Conversation {
    let world = Surroundings::new(
        caller,
        "400",
        LocalTime {
            date: MONDAY,
            minute: 600,
        },
    );
    Conversation::new(flow(), world)
}

/// Drains the actions; answers the profile look-up with `profile`.
fn drain(c: &mut Conversation) -> Vec<Action> {
    let mut out = Vec::new();
    while let Some(a) = c.poll() {
        out.push(a);
    }
    out
}

fn said(actions: &[Action]) -> String {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Say(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn http_id(actions: &[Action]) -> (u64, String) {
    actions
        .iter()
        .find_map(|a| match a {
            Action::Http { id, request } => Some((*id, request.url.clone())),
            _ => None,
        })
        .expect("a request")
}

/// Starts a call whose profile look-up answers `vip`.
fn started(caller: &str, vip: Option<&str>) -> (Conversation, Vec<Action>) {
    let mut c = call(caller);
    c.start();
    let a = drain(&mut c);
    let (id, url) = http_id(&a);
    assert!(url.starts_with("http://crm.test/customers/%2B"), "{url}");
    let outcome = match vip {
        Some(v) => Ok(vec![("vip".to_string(), v.to_string())]),
        None => Err(HttpFailure::Timeout),
    };
    c.http_done(id, outcome);
    let a = drain(&mut c);
    (c, a)
}

#[test]
fn vip_and_region_from_profile() {
    let (c, a) = started("+8610 5555 1234", Some("3"));
    assert!(said(&a).contains("valued customer from beijing"), "{a:?}");
    assert_eq!(c.step_name(), Some("menu"));
    let (_, a) = started("+8621 5555 1234", None);
    assert_eq!(
        said(&a),
        "Hello. How can I help?",
        "a failed look-up is no VIP"
    );
}

#[test]
fn order_lookup_success_and_crm_failure() {
    let (mut c, _) = started("+1555", None);
    c.heard("um where's my order please", None, false);
    assert_eq!(c.turn().intent.as_deref(), Some("order_status"));
    assert!(said(&drain(&mut c)).contains("order number"));
    c.heard("one two three four five six seven eight", None, false);
    let a = drain(&mut c);
    let (id, url) = http_id(&a);
    assert_eq!(url, "http://crm.test/orders/12345678");
    c.http_done(id, Ok(vec![("state".into(), "shipped".into())]));
    assert!(said(&drain(&mut c)).starts_with("Order 12345678 has shipped."));
    assert_eq!(c.step_name(), Some("menu"));
    // Garbage from the CRM: the fallback step.
    c.heard("track my parcel", None, false);
    drain(&mut c);
    c.keys("87654321#");
    let (id, _) = http_id(&drain(&mut c));
    c.http_done(id, Err(HttpFailure::BadReply("not JSON".into())));
    assert!(said(&drain(&mut c)).contains("cannot look that up"));
    assert_eq!(c.var("http_error").as_deref(), Some("bad reply: not JSON"));
}

#[test]
fn two_failures_transfer_and_busy_agents_keep_the_caller() {
    let (mut c, _) = started("+1555", None);
    c.heard("blah wibble frobnicate", None, false);
    assert!(said(&drain(&mut c)).contains("another way"));
    c.no_input();
    let a = drain(&mut c);
    assert!(
        a.contains(&Action::Transfer("queue:after_sales".into())),
        "{a:?}"
    );
    assert!(c.is_done());

    let (mut c, _) = started("+1555", None);
    c.world_mut().all_queues = Some(QueueLoad {
        idle: 0,
        waiting: 4,
    });
    c.heard("I want to talk to a person", None, false);
    let a = drain(&mut c);
    assert!(said(&a).contains("All colleagues are busy"), "{a:?}");
    assert!(!c.is_done());
    c.heard("put me through to someone now", None, false);
    let a = drain(&mut c);
    assert!(
        a.contains(&Action::Transfer("queue:after_sales".into())),
        "insisting: {a:?}"
    );
}

#[test]
fn complaint_ask_first_or_direct_when_upset() {
    let (mut c, _) = started("+1555", None);
    c.heard("I want to file a complaint", None, false);
    let a = drain(&mut c);
    assert!(said(&a).contains("Shall I put you through"), "{a:?}");
    assert_eq!(c.tags(), ["complaint"]);
    c.heard("no thanks", None, false);
    assert!(said(&drain(&mut c)).contains("How can I help?"));
    assert!(!c.is_done());

    let (mut c, _) = started("+1555", None);
    c.force_emotion(Level::Angry);
    c.heard("I want to file a complaint", None, false);
    let a = drain(&mut c);
    assert!(
        a.contains(&Action::Transfer("queue:after_sales".into())),
        "{a:?}"
    );
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Emotion(e) if e.level >= Level::Upset)));
}

#[test]
fn faq_goodbye_and_timeline() {
    let (mut c, _) = started("+1555", None);
    c.heard("when are you open", None, false);
    let a = drain(&mut c);
    assert!(
        said(&a).starts_with("We are open nine to six. How can I help?"),
        "{a:?}"
    );
    assert_eq!(c.turn().faq.as_deref(), Some("hours"));
    c.heard("ok goodbye", None, false);
    let a = drain(&mut c);
    assert_eq!(a.last(), Some(&Action::Hangup));
    assert_eq!(c.timeline().len(), 2);
    c.heard("hello?", None, false);
    assert!(drain(&mut c).is_empty(), "nothing after the end");
}

#[test]
fn wrong_length_digits_reprompt() {
    let (mut c, _) = started("+1555", None);
    c.heard("where is my order", None, false);
    drain(&mut c);
    c.heard("one two three", None, false);
    let a = drain(&mut c);
    assert!(said(&a).contains("order number"), "asked again: {a:?}");
    assert_eq!(c.step_name(), Some("ask_order"));
    assert_eq!(c.var("failures").as_deref(), Some("1"));
}

const LLM_PLAN: &str = r#"
language = "en"
start = "menu"

[llm]
url = "http://llm.test/v1/chat/completions"
model = "small"
system = "You help callers of {shop}."
timeout_ms = 1500

[vars]
shop = "Bluebird"

[intents.order_status]
examples = ["where is my order"]

[steps.menu]
ask = "How can I help?"
on = { order_status = "menu" }
no_match = "Sorry, say that again?"
"#;

fn llm_call() -> Conversation {
    let draft = parse(
        Source {
            name: "l.toml",
            text: LLM_PLAN,
        },
        "l",
    )
    .unwrap();
    let flow = Arc::new(Flow::new(draft.build(Vec::new(), &[]).unwrap()));
    let world = Surroundings::new(
        "+1555",
        "400",
        LocalTime {
            date: MONDAY,
            minute: 600,
        },
    );
    let mut c = Conversation::new(flow, world);
    c.start();
    drain(&mut c);
    c
}

#[test]
fn the_llm_answers_what_nothing_else_understood_and_its_failure_is_no_match() {
    let mut c = llm_call();
    c.heard("do you sell umbrellas shaped like ducks", None, false);
    let a = drain(&mut c);
    let (id, req) = a
        .iter()
        .find_map(|x| match x {
            Action::Llm { id, request } => Some((*id, request.clone())),
            _ => None,
        })
        .expect("the LLM is asked");
    assert_eq!(req.system, "You help callers of Bluebird.");
    assert_eq!(req.timeout, std::time::Duration::from_millis(1500));
    assert_eq!(
        req.history.last(),
        Some(&(true, "do you sell umbrellas shaped like ducks".to_string()))
    );
    assert!(said(&a).is_empty(), "nothing said while the LLM thinks");
    c.llm_done(id, Ok("Yes, in yellow.".into()));
    assert_eq!(said(&drain(&mut c)), "Yes, in yellow. How can I help?");
    assert_eq!(c.var("llm_answer").as_deref(), Some("Yes, in yellow."));

    c.heard("and in blue maybe", None, false);
    let (id, _) = drain(&mut c)
        .iter()
        .find_map(|x| match x {
            Action::Llm { id, request } => Some((*id, request.clone())),
            _ => None,
        })
        .expect("asked again");
    c.llm_done(id, Err(HttpFailure::Timeout));
    assert_eq!(
        said(&drain(&mut c)),
        "Sorry, say that again?",
        "a failure is no match"
    );
    // A late answer for an old request changes nothing.
    c.llm_done(id, Ok("late".into()));
    assert!(drain(&mut c).is_empty());
}
