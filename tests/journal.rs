//! The call journal against a real SQLite file: what media workers,
//! signalling and the recorder report about calls becomes call records,
//! transcript lines, events, a quality inspection and webhook events, and
//! the outcome follows how the call ended.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kefu::journal::{self, Journal, What};
use kefu::runtime::metrics::Metrics;
use kefu::storage::sqlite::SqliteStore;
use kefu::storage::{CallQuery, Outcome, Speaker, Store};
use kefu_core::dialogue::emotion::{Estimate, Level};
use kefu_core::dialogue::Note;
use kefu_core::engine::{CallEvent, CallInfo, EndReason};
use kefu_core::quality::Talk;
use kefu_core::CallId;

fn shop() -> Arc<kefu_core::dialogue::flow::Flow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/shop.toml");
    kefu::dialplan::flow::load(&path).expect("shop loads").flow
}

fn info(caller: &str) -> CallInfo {
    CallInfo {
        caller: caller.into(),
        called: "100".into(),
        local_time: None,
        agents_idle: Some(1),
    }
}

fn emotion(level: Level, score: f32) -> Note {
    Note::Emotion(Estimate {
        score,
        level,
        reasons: vec!["angry words"],
    })
}

fn understood(intent: Option<&str>) -> Note {
    Note::Understood {
        intent: intent.map(str::to_string),
        confidence: 0.9,
        step: Some("menu".into()),
    }
}

struct Rig {
    store: Arc<SqliteStore>,
    journal: Journal,
    thread: journal::JournalThread,
    wakes: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("kefu.db")).expect("open"));
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let (journal, thread) = Journal::start(
        store.clone(),
        Metrics::new(1),
        journal::Options {
            dialplan: "default".into(),
            data_dir: dir.path().to_path_buf(),
            wake: Some(Arc::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
            })),
        },
    )
    .expect("journal");
    Rig {
        store,
        journal,
        thread,
        wakes,
        _dir: dir,
    }
}

#[test]
fn an_upset_caller_transferred_is_recorded_with_transcript_qa_and_webhooks() {
    let r = rig();
    let call = CallId(7);
    let j = &r.journal;
    j.record(
        call,
        What::Offered {
            info: info("+8613800000001"),
            sip_call_id: "abc@host".into(),
            flow: Some(shop()),
        },
    );
    j.record(call, What::Event(CallEvent::Answered));
    j.record(
        call,
        What::Event(CallEvent::Said(
            "Thanks for calling the shop. How can I help you today?".into(),
        )),
    );
    let now = Instant::now();
    j.record(
        call,
        What::Event(CallEvent::Heard {
            text: "this is the third time, my parcel is still missing!".into(),
            started: now - Duration::from_millis(2500),
            ended: now - Duration::from_millis(400),
        }),
    );
    j.record(call, What::Note(understood(Some("delivery_problem"))));
    j.record(call, What::Note(emotion(Level::Angry, 0.8)));
    j.record(call, What::Note(Note::Tag("complaint".into())));
    j.record(
        call,
        What::Note(Note::Transfer {
            target: "sip:agent@127.0.0.1".into(),
            reason: "emotion".into(),
        }),
    );
    j.record(call, What::Transferred("sip:agent@127.0.0.1".into()));
    j.record(
        call,
        What::Event(CallEvent::Talk(Talk {
            total_ms: 9000,
            caller_ms: 2100,
            agent_ms: 4000,
            ..Talk::default()
        })),
    );
    j.record(call, What::Event(CallEvent::Ended(EndReason::RemoteBye)));
    drop(r.journal);
    r.thread.finish();

    let found = r
        .store
        .search_calls(&CallQuery {
            number: Some("13800000001".into()),
            ..CallQuery::default()
        })
        .expect("search");
    assert_eq!(found.len(), 1, "{found:?}");
    let d = r.store.call(&found[0].id).expect("detail");
    let s = &d.summary;
    assert_eq!(s.sip_call_id, "abc@host");
    assert_eq!(s.dialplan, "shop");
    assert_eq!(s.outcome, Outcome::Transferred);
    let t = s.transfer.as_ref().expect("transfer");
    assert_eq!(
        (t.target.as_str(), t.reason.as_str()),
        ("sip:agent@127.0.0.1", "emotion")
    );
    assert_eq!(s.intents, ["delivery_problem"]);
    assert_eq!(s.emotion_peak.as_deref(), Some("angry"));
    assert_eq!(s.tags, ["complaint"]);
    assert_eq!(d.lines.len(), 2);
    assert_eq!(d.lines[0].line.speaker, Speaker::Bot);
    let heard = &d.lines[1].line;
    assert_eq!(heard.speaker, Speaker::Caller);
    assert_eq!(heard.emotion.as_deref(), Some("angry"));
    assert_eq!(heard.intent.as_deref(), Some("delivery_problem"));
    let spoke = heard.ended_at - heard.started_at;
    assert!(
        (2000..=2200).contains(&spoke),
        "utterance length {spoke} ms"
    );
    let talk = d.talk.as_ref().expect("talk");
    assert_eq!(talk.caller_ms, 2100);
    let qa = d.qa.as_ref().expect("QA ran");
    assert!(qa.score <= 100.0);
    let codes: Vec<&str> = qa.auto.flags.iter().map(|f| f.code.as_str()).collect();
    assert!(codes.contains(&"not_contained"), "{codes:?}");
    let kinds: Vec<String> = d.events.iter().map(|e| e.kind.clone()).collect();
    for k in ["understood", "emotion", "transfer_requested", "transferred"] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    let outbox: Vec<String> = r
        .store
        .outbox_after(0, 100)
        .expect("outbox")
        .into_iter()
        .map(|e| e.event.kind)
        .collect();
    assert_eq!(
        outbox,
        [
            "call.started",
            "call.transferred",
            "call.ended",
            "qa.result"
        ]
    );
    assert!(r.wakes.load(Ordering::SeqCst) >= 1);
}

#[test]
fn outcomes_follow_how_calls_end() {
    let r = rig();
    let j = &r.journal;
    let cases = [
        (
            1,
            true,
            Some("order_status"),
            EndReason::Hangup,
            Outcome::Resolved,
        ),
        (
            2,
            true,
            Some("order_status"),
            EndReason::RemoteBye,
            Outcome::Resolved,
        ),
        (3, true, None, EndReason::RemoteBye, Outcome::Abandoned),
        (4, false, None, EndReason::Cancelled, Outcome::Missed),
        (5, true, None, EndReason::MediaTimeout, Outcome::Failed),
    ];
    for (n, answered, intent, end, _) in &cases {
        let call = CallId(*n);
        j.record(
            call,
            What::Offered {
                info: info(&format!("+86138000000{n:02}")),
                sip_call_id: format!("c{n}"),
                flow: None,
            },
        );
        if *answered {
            j.record(call, What::Event(CallEvent::Answered));
            j.record(
                call,
                What::Event(CallEvent::Heard {
                    text: "hello".into(),
                    started: Instant::now(),
                    ended: Instant::now(),
                }),
            );
            j.record(call, What::Note(understood(*intent)));
            j.record(call, What::Note(Note::Survey(4)));
        }
        j.record(call, What::Event(CallEvent::Ended(*end)));
    }
    // A transfer asked for but refused by the far end keeps the call in
    // the bot.
    let call = CallId(6);
    j.record(
        call,
        What::Offered {
            info: info("+8613800000006"),
            sip_call_id: "c6".into(),
            flow: None,
        },
    );
    j.record(call, What::Event(CallEvent::Answered));
    j.record(
        call,
        What::Note(Note::Transfer {
            target: "queue:after_sales".into(),
            reason: "asked".into(),
        }),
    );
    j.record(call, What::TransferFailed("no agents".into()));
    j.record(call, What::Event(CallEvent::Ended(EndReason::Hangup)));
    // Records about a call never offered are ignored, not stored.
    j.record(CallId(99), What::Event(CallEvent::Answered));
    drop(r.journal);
    r.thread.finish();

    let calls = r.store.search_calls(&CallQuery::default()).expect("search");
    assert_eq!(calls.len(), 6);
    for (n, answered, _, _, want) in &cases {
        let c = calls
            .iter()
            .find(|c| c.sip_call_id == format!("c{n}"))
            .expect("call stored");
        assert_eq!(c.outcome, *want, "call {n}");
        assert_eq!(c.csat, answered.then_some(4), "call {n}");
        assert_eq!(c.dialplan, "default");
        assert!(c.ended_at.is_some());
        // Only answered calls are inspected.
        let qa = r.store.call(&c.id).expect("detail").qa;
        assert_eq!(qa.is_some(), *answered, "call {n}");
    }
    let six = calls.iter().find(|c| c.sip_call_id == "c6").expect("c6");
    assert_eq!(six.outcome, Outcome::Resolved);
    assert!(six.transfer.is_none());
}
