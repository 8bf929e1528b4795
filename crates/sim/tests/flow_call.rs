//! A flow dialplan on a whole call, on virtual time: kefu speaks before it
//! listens, asks the CRM between turns and speaks its answer, keeps the
//! caller when no agent is free, waits for its last words before a
//! transfer or hang-up, and notes the emotion of each utterance.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kefu_core::dialogue::emotion::Level;
use kefu_core::dialogue::flow::{Flow, LocalTime};
use kefu_core::dialogue::syntax::{parse, Source};
use kefu_core::dialogue::{Note, Reply, Request};
use kefu_core::engine::{CallId, CallInfo, Config, EndReason};
use kefu_core::nlu::Date;
use kefu_sim::fixture;
use kefu_sim::net::NetConfig;
use kefu_sim::phone::ScriptedPhone;
use kefu_sim::{PhoneId, World};

const PLAN: &str = r#"
language = "en"
start = "greet"

[nlu]
max_failures = 2
on_failures = "agent"

[vars]
crm = "http://crm.test"

[intents.order_status]
examples = ["where is my order", "track my parcel"]

[intents.human_agent]
goto = "agent"
examples = ["talk to a person", "a human agent please"]

[intents.goodbye]
goto = "bye"
examples = ["goodbye", "bye bye"]

[steps.greet]
say = "Hello, this is the shop."
next = "menu"

[steps.menu]
ask = "How can I help?"
on = { order_status = "ask_order" }

[steps.ask_order]
ask = "Your order number?"
expect = "digits"
save_as = "order_id"
next = "lookup"

[steps.lookup]
http = { url = "{crm}/orders/{order_id}", timeout_ms = 800 }
map = { state = "status" }
next = "tell"
on_error = "sorry"

[steps.tell]
say = "Order {order_id:digits} is {state}."
next = "menu"

[steps.sorry]
say = "Sorry, I cannot look that up now."
next = "menu"

[steps.agent]
say = "Putting you through."
transfer = "sip:agent@pbx.test"
on_busy = "busy"

[steps.busy]
say = "All colleagues are busy."
next = "menu"

[steps.bye]
say = "Goodbye."
hangup = true
"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn flow() -> Arc<Flow> {
    let draft = parse(
        Source {
            name: "t.toml",
            text: PLAN,
        },
        "t",
    )
    .expect("parses");
    Arc::new(Flow::new(draft.build(Vec::new(), &[]).expect("builds")))
}

fn call(agents_idle: Option<u32>) -> (World, CallId, PhoneId) {
    let cfg = Config {
        flow: Some(flow()),
        ..fixture::speech_config()
    };
    let mut w = World::with_config(cfg, fixture::prompts(), NetConfig::default());
    w.set_call_info(CallInfo {
        caller: "+8613800000000".into(),
        called: "400".into(),
        local_time: Some(LocalTime {
            date: Date {
                year: 2026,
                month: 11,
                day: 23,
            },
            minute: 600,
        }),
        agents_idle,
    });
    let p = w.add_phone(ScriptedPhone::silent(SocketAddr::from((
        [192, 0, 2, 40],
        4000,
    ))));
    let c = w.dial(p);
    assert!(w.run_until(|w| w.answered(c), ms(1000)));
    assert!(w.run_until_kefu_done(p, ms(8000)), "greeting heard");
    (w, c, p)
}

/// The caller says `text`; runs until kefu has answered and gone quiet.
fn turn(w: &mut World, c: CallId, p: PhoneId, text: &str) {
    let n = w.heard(c).len();
    w.say(p, text, ms(900)).expect("phone sending");
    assert!(
        w.run_until(|w| w.heard(c).len() > n, ms(5000)),
        "heard {text}"
    );
}

fn last_said(w: &World, c: CallId) -> String {
    w.said(c).last().cloned().unwrap_or_default()
}

#[test]
fn greeting_then_question_and_a_crm_lookup_between_turns() {
    let (mut w, c, p) = call(Some(1));
    assert_eq!(w.said(c), ["Hello, this is the shop.", "How can I help?"]);
    turn(&mut w, c, p, "where is my order");
    assert!(w.run_until_kefu_done(p, ms(5000)));
    assert_eq!(last_said(&w, c), "Your order number?");
    assert!(w.requests(c).is_empty(), "nothing asked of the CRM yet");
    turn(&mut w, c, p, "one two three four");
    let req = w.requests(c);
    let Some(Request::Http { id, request }) = req.first().cloned() else {
        panic!("a CRM request: {req:?}")
    };
    assert_eq!(request.url, "http://crm.test/orders/1234");
    // The CRM takes its time; kefu says nothing meanwhile.
    let said = w.said(c).len();
    w.run_for(ms(300));
    assert_eq!(w.said(c).len(), said);
    w.reply(
        c,
        Reply::Http {
            id,
            outcome: Ok(vec![("state".into(), "shipped".into())]),
        },
    );
    assert!(w.run_until_kefu_done(p, ms(5000)));
    assert!(w.said(c).contains(&"Order 1 2 3 4 is shipped.".to_string()));
    assert_eq!(last_said(&w, c), "How can I help?");
    let notes = w.notes(c);
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, Note::Understood { intent: Some(i), .. } if i == "order_status")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| matches!(n, Note::Emotion(_))));
}

#[test]
fn transfer_waits_for_the_words_before_it() {
    let (mut w, c, p) = call(Some(1));
    turn(&mut w, c, p, "talk to a person");
    assert!(w.run_until(
        |w| w
            .requests(c)
            .iter()
            .any(|r| matches!(r, Request::Transfer { .. })),
        ms(5000)
    ));
    let (at, req) = w.requests_timed(c).last().cloned().expect("transfer");
    assert_eq!(
        req,
        Request::Transfer {
            target: "sip:agent@pbx.test".into()
        }
    );
    let said_end = w
        .sent_levels(c)
        .iter()
        .filter(|(_, l)| *l > -40.0)
        .map(|(t, _)| *t)
        .max()
        .expect("kefu spoke");
    assert!(at >= said_end, "transfer after \"Putting you through.\"");
    assert_eq!(w.ended(c), None, "the transfer, not kefu, ends the call");
    // The transfer fails (REFER refused): back into the bot.
    w.reply(c, Reply::TransferFailed("REFER answered 603".into()));
    assert!(w.run_until_kefu_done(p, ms(5000)));
    assert!(w.said(c).contains(&"All colleagues are busy.".to_string()));
    assert_eq!(last_said(&w, c), "How can I help?");
}

#[test]
fn no_free_agent_keeps_the_caller_and_goodbye_hangs_up_after_speaking() {
    let (mut w, c, p) = call(Some(0));
    turn(&mut w, c, p, "a human agent please");
    assert!(w.run_until_kefu_done(p, ms(5000)));
    assert!(w.said(c).contains(&"All colleagues are busy.".to_string()));
    assert!(w.requests(c).is_empty(), "no transfer attempted");
    turn(&mut w, c, p, "goodbye");
    assert!(w.run_until(|w| w.ended(c).is_some(), ms(5000)));
    assert_eq!(w.ended(c), Some(EndReason::Hangup));
    assert_eq!(last_said(&w, c), "Goodbye.");
    let loud: Vec<_> = w
        .sent_levels(c)
        .into_iter()
        .filter(|(_, l)| *l > -40.0)
        .collect();
    let bye_audio = loud.last().expect("goodbye spoken").0;
    let (hung_at, _) = w.signals_timed(c).last().cloned().expect("BYE");
    assert!(hung_at >= bye_audio, "BYE after the goodbye played");
}

#[test]
fn silence_twice_goes_to_the_failure_step() {
    let (mut w, c, p) = call(Some(1));
    // Two no-input timeouts in a row: the plan's on_failures (agent).
    assert!(w.run_until(
        |w| w
            .requests(c)
            .iter()
            .any(|r| matches!(r, Request::Transfer { .. })),
        ms(30_000)
    ));
    let _ = p;
    let emotion: Vec<Level> = w
        .notes(c)
        .iter()
        .filter_map(|n| match n {
            Note::Emotion(e) => Some(e.level),
            _ => None,
        })
        .collect();
    assert!(emotion.is_empty(), "silence is not an utterance");
}

#[test]
fn a_reload_reaches_new_calls_and_spares_calls_in_progress() {
    let (mut w, old_call, p) = call(Some(1));
    let changed = PLAN.replace("Hello, this is the shop.", "Welcome to the new shop.");
    let draft = parse(
        Source {
            name: "t.toml",
            text: &changed,
        },
        "t",
    )
    .expect("parses");
    w.set_flow(Arc::new(Flow::new(
        draft.build(Vec::new(), &[]).expect("builds"),
    )));
    // The call in progress goes on with its version.
    turn(&mut w, old_call, p, "where is my order");
    assert!(w.run_until_kefu_done(p, ms(5000)));
    assert_eq!(last_said(&w, old_call), "Your order number?");
    // A new call gets the new one.
    let p2 = w.add_phone(ScriptedPhone::silent(SocketAddr::from((
        [192, 0, 2, 41],
        4000,
    ))));
    let new_call = w.dial(p2);
    assert!(w.run_until_kefu_done(p2, ms(8000)));
    assert_eq!(w.said(new_call)[0], "Welcome to the new shop.");
    assert_eq!(w.said(old_call)[0], "Hello, this is the shop.");
}
