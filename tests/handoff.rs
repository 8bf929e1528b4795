//! The handoff package against a real SQLite file: a live call recorded by
//! the real journal becomes a package with its transcript, intent, slots,
//! emotion timeline, customer record and summary; packages are stored and
//! read back; agents' routing settings and passwords are kept, and records
//! written before them still read.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kefu::handoff::{self, HandoffError};
use kefu::journal::{self, Journal, What};
use kefu::runtime::metrics::Metrics;
use kefu::storage::sqlite::{SqliteStore, MIGRATIONS};
use kefu::storage::{
    ha1, Agent, Customer, Event, Handoff, Line, NewCall, Queue, Speaker, Store, StoreError, Write,
};
use kefu_core::dialogue::emotion::{Estimate, Level};
use kefu_core::dialogue::Note;
use kefu_core::engine::{CallEvent, CallInfo};
use kefu_core::handoff::Package;
use kefu_core::CallId;
use serde_json::json;
use tempfile::TempDir;

/// 2024-03-01T00:00:00Z.
const T0: i64 = 1_709_251_200_000;

fn db(dir: &TempDir) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(&dir.path().join("kefu.db")).expect("open store"))
}

fn shop() -> Arc<kefu_core::dialogue::flow::Flow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/shop.toml");
    kefu::dialplan::flow::load(&path).expect("shop loads").flow
}

fn emotion(level: Level, score: f32) -> Note {
    Note::Emotion(Estimate {
        score,
        level,
        reasons: vec!["words"],
    })
}

/// Records a live call through the real journal, as media workers and
/// the dialogue report it, up to the transfer request; returns its id.
fn journal_call(store: &Arc<SqliteStore>, dir: &TempDir) -> String {
    let (j, thread) = Journal::start(
        store.clone(),
        Metrics::new(1),
        journal::Options {
            dialplan: "default".into(),
            data_dir: dir.path().to_path_buf(),
            wake: None,
        },
    )
    .expect("journal");
    let call = CallId(3);
    // Each report is stamped with the time it is recorded: a short pause
    // between them keeps the transcript's times apart.
    let step = || std::thread::sleep(Duration::from_millis(15));
    j.record(
        call,
        What::Offered {
            info: CallInfo {
                caller: "+8613800000009".into(),
                called: "100".into(),
                local_time: None,
                agents_idle: Some(1),
            },
            sip_call_id: "h1@host".into(),
            flow: Some(shop()),
        },
    );
    step();
    j.record(call, What::Event(CallEvent::Answered));
    j.record(
        call,
        What::Event(CallEvent::Said("How can I help you today?".into())),
    );
    step();
    let heard = |text: &str| {
        let now = Instant::now();
        What::Event(CallEvent::Heard {
            text: text.into(),
            started: now,
            ended: now,
        })
    };
    j.record(call, heard("where is my parcel, order 12345"));
    j.record(
        call,
        What::Note(Note::Understood {
            intent: Some("order_status".into()),
            confidence: 0.9,
            step: Some("menu".into()),
        }),
    );
    j.record(call, What::Note(emotion(Level::Neutral, 0.1)));
    step();
    j.record(
        call,
        What::Event(CallEvent::Said("Your parcel is on its way.".into())),
    );
    step();
    j.record(call, heard("this is the third time, I want a person now!"));
    j.record(call, What::Note(emotion(Level::Angry, 0.8)));
    j.record(call, What::Note(Note::Tag("complaint".into())));
    j.record(
        call,
        What::Note(Note::Transfer {
            target: "queue:after-sales".into(),
            reason: "asked".into(),
        }),
    );
    drop(j);
    thread.finish();
    let calls = store.search_calls(&Default::default()).expect("search");
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls[0].id.clone()
}

#[test]
fn a_live_call_becomes_a_package_with_everything_the_caller_said() {
    let dir = TempDir::new().expect("dir");
    let store = db(&dir);
    store
        .put_customer(&Customer {
            phone: "+8613800000009".into(),
            name: "Han Meimei".into(),
            vip_level: 2,
            region: "sichuan".into(),
            tags: vec!["vip".into()],
            calls: 0,
            first_seen: None,
            last_seen: None,
        })
        .expect("customer");
    let id = journal_call(&store, &dir);
    // The journal does not record slot values yet; this is the event
    // shape the package reads them from.
    store
        .apply(&[Write::Event {
            call: id.clone(),
            event: Event {
                at: T0,
                kind: "slot".into(),
                data: json!({ "name": "order_no", "value": "12345" }),
            },
        }])
        .expect("slot event");

    let now = T0 + 60_000;
    let p = handoff::build(store.as_ref(), &id, Some("after-sales"), Some("alice"), now)
        .expect("package");
    let d = store.call(&id).expect("detail");

    assert_eq!(
        (p.call_id.as_str(), p.caller.as_str()),
        (id.as_str(), "+8613800000009")
    );
    assert_eq!((p.dialplan.as_str(), p.language.as_str()), ("shop", "en"));
    assert_eq!(
        (p.queue.as_deref(), p.agent.as_deref()),
        (Some("after-sales"), Some("alice"))
    );
    assert_eq!(p.created_at, now as u64);
    assert!(
        p.id.len() >= 16 && p.id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{}",
        p.id
    );

    let said: Vec<(&str, &str)> = p
        .transcript
        .iter()
        .map(|l| (l.speaker.as_str(), l.text.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            ("bot", "How can I help you today?"),
            ("caller", "where is my parcel, order 12345"),
            ("bot", "Your parcel is on its way."),
            ("caller", "this is the third time, I want a person now!"),
        ]
    );
    let start = d.summary.started_at;
    for (line, stored) in p.transcript.iter().zip(&d.lines) {
        assert_eq!(
            line.at_ms as i64,
            stored.line.started_at - start,
            "{line:?}"
        );
    }
    assert!(
        p.transcript.windows(2).all(|w| w[0].at_ms < w[1].at_ms),
        "{:?}",
        p.transcript
    );
    assert!(p.transcript[0].at_ms >= 15, "{:?}", p.transcript);

    assert_eq!(p.intent.as_deref(), Some("order_status"));
    assert_eq!(p.slots.get("order_no").map(String::as_str), Some("12345"));
    let levels: Vec<&str> = p.emotion.iter().map(|e| e.level.as_str()).collect();
    assert_eq!(levels, ["neutral", "angry"]);
    assert!((p.emotion[1].score - 0.8).abs() < 1e-6);
    assert!(p.emotion[0].at_ms < p.emotion[1].at_ms);
    assert_eq!(p.reason.as_deref(), Some("asked"));

    assert_eq!(
        (p.customer.name.as_str(), p.customer.vip_level),
        ("Han Meimei", 2)
    );
    assert_eq!(p.customer.region, "sichuan");
    assert_eq!(p.customer.tags, ["vip", "complaint"]);
    assert_eq!(p.customer.calls, 0, "this call is not an earlier one");

    assert!(p
        .summary
        .starts_with("Han Meimei (VIP 2) wants order status (order no 12345)."));
    assert!(p.summary.contains("Angry since"), "{}", p.summary);
    assert!(
        p.summary.ends_with("because they asked for a person."),
        "{}",
        p.summary
    );

    let stored = store.handoff(&p.id).expect("read").expect("stored");
    assert_eq!(
        (stored.call_id.as_str(), stored.created_at),
        (id.as_str(), now)
    );
    assert_eq!(stored.agent_id.as_deref(), Some("alice"));
    let back: Package = serde_json::from_value(stored.package).expect("package JSON");
    assert_eq!(back, p);
}

#[test]
fn exact_times_from_the_call_start_and_a_chinese_summary() {
    let dir = TempDir::new().expect("dir");
    let store = db(&dir);
    let id = "c-zh";
    let line = |speaker, text: &str, at: i64| Write::Line {
        call: id.into(),
        line: Line {
            speaker,
            text: text.into(),
            started_at: at,
            ended_at: at + 1_500,
            confidence: None,
            emotion: None,
            intent: None,
        },
    };
    let event = |at: i64, kind: &str, data| Write::Event {
        call: id.into(),
        event: Event {
            at,
            kind: kind.into(),
            data,
        },
    };
    store
        .apply(&[
            Write::CallStarted(NewCall {
                id: id.into(),
                direction: kefu::storage::Direction::Inbound,
                sip_call_id: "zh@host".into(),
                caller: "13900000000".into(),
                called: "100".into(),
                dialplan: "shop-zh".into(),
                started_at: T0,
                campaign_id: None,
                contact_id: None,
            }),
            line(Speaker::Bot, "您好，请问有什么可以帮您？", T0 + 1_000),
            line(Speaker::Caller, "嗯", T0 + 20_000),
            line(
                Speaker::Caller,
                "我的洗衣机漏水，已经报修三次了！",
                T0 + 42_000,
            ),
            event(
                T0 + 43_000,
                "emotion",
                json!({ "level": "upset", "score": 0.6 }),
            ),
            event(
                T0 + 43_000,
                "understood",
                json!({ "intent": null, "step": "menu" }),
            ),
            event(
                T0 + 50_000,
                "transfer_requested",
                json!({ "reason": "emotion" }),
            ),
        ])
        .expect("call");
    let p = handoff::build(store.as_ref(), id, Some("after-sales"), None, T0 + 51_000)
        .expect("package");
    let times: Vec<u64> = p.transcript.iter().map(|l| l.at_ms).collect();
    assert_eq!(times, [1_000, 20_000, 42_000]);
    assert_eq!(p.emotion[0].at_ms, 43_000);
    assert_eq!((p.language.as_str(), p.intent.as_deref()), ("zh", None));
    assert_eq!(
        p.customer.name, "",
        "a caller with no record: {:?}",
        p.customer
    );
    assert_eq!(
        p.summary,
        "来电客户说：“我的洗衣机漏水，已经报修三次了”。自0:43起情绪不满。转人工原因：客户情绪激动。"
    );
    let all = store.handoffs_of_call(id).expect("of call");
    assert_eq!(
        all.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        [p.id.as_str()]
    );
}

#[test]
fn unknown_calls_and_ids_are_clear_errors() {
    let dir = TempDir::new().expect("dir");
    let store = db(&dir);
    let err = handoff::build(store.as_ref(), "nope", None, None, T0).expect_err("unknown");
    assert!(
        matches!(err, HandoffError::UnknownCall(ref c) if c == "nope"),
        "{err:?}"
    );
    assert!(err.to_string().contains("no call \"nope\""), "{err}");
    assert_eq!(store.handoff("nope").expect("read"), None);
    assert!(store.handoffs_of_call("nope").expect("read").is_empty());

    let h = Handoff {
        id: handoff::new_handoff_id(),
        call_id: "any".into(),
        created_at: T0,
        queue: None,
        agent_id: None,
        package: json!({ "summary": "x" }),
    };
    store.put_handoff(&h).expect("first");
    assert!(matches!(
        store.put_handoff(&h),
        Err(StoreError::Conflict(_))
    ));
    let blank = Handoff {
        id: String::new(),
        ..h
    };
    assert!(matches!(
        store.put_handoff(&blank),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn handoff_ids_are_long_url_safe_and_distinct() {
    let ids: std::collections::HashSet<String> =
        (0..1000).map(|_| handoff::new_handoff_id()).collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids
        .iter()
        .all(|i| i.len() >= 16 && i.bytes().all(|b| b.is_ascii_alphanumeric())));
}

#[test]
fn package_json_uses_stable_snake_case_names() {
    let p = Package {
        id: "h1".into(),
        intent: Some("refund".into()),
        ..Package::default()
    }
    .with_summary();
    let v = serde_json::to_value(&p).expect("json");
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "agent",
            "call_id",
            "caller",
            "created_at",
            "customer",
            "dialplan",
            "emotion",
            "id",
            "intent",
            "language",
            "queue",
            "reason",
            "slots",
            "summary",
            "transcript"
        ]
    );
    let back: Package = serde_json::from_value(v).expect("round trip");
    assert_eq!(back, p);
}

#[test]
fn ha1_is_md5_of_user_realm_password() {
    // RFC 2617 §3.5.
    assert_eq!(
        ha1("Mufasa", "testrealm@host.com", "Circle Of Life"),
        "939e7578ed9e3c518a452acee763bce9"
    );
}

#[test]
fn agent_passwords_are_kept_as_ha1_only() {
    let dir = TempDir::new().expect("dir");
    let store = db(&dir);
    let alice: kefu::storage::Agent = serde_json::from_value(json!({
        "id": "alice", "name": "Alice", "uri": "sip:alice@10.0.0.5",
        "skills": ["after-sales"], "languages": ["zh"], "max_calls": 1
    }))
    .expect("agent");
    store.put_agent(&alice).expect("put");
    assert_eq!(store.agent_ha1("alice").expect("read"), None);
    let secret = ha1("alice", "kefu", "s3cret");
    store
        .set_agent_password("alice", &secret.to_uppercase())
        .expect("set");
    assert_eq!(
        store.agent_ha1("alice").expect("read"),
        Some(secret.clone())
    );
    // Saving the agent again (as the API does, without a password) keeps it.
    store.put_agent(&alice).expect("put again");
    assert_eq!(store.agent_ha1("alice").expect("read"), Some(secret));
    assert!(matches!(
        store.set_agent_password("alice", "s3cret"),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.agent_ha1("bob"),
        Err(StoreError::NotFound(_))
    ));
    let hex = "0".repeat(32);
    assert!(matches!(
        store.set_agent_password("bob", &hex),
        Err(StoreError::NotFound(_))
    ));
    let listed = serde_json::to_string(&store.agents().expect("agents")).expect("json");
    assert!(
        !listed.contains("ha1") && !listed.contains(&"0".repeat(8)),
        "{listed}"
    );
}

#[test]
fn rows_written_before_the_routing_settings_read_with_defaults() {
    let dir = TempDir::new().expect("dir");
    let path = dir.path().join("kefu.db");
    {
        // A file as the first release left it: migration 1 only.
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at INTEGER NOT NULL);",
        )
        .expect("table");
        conn.execute_batch(MIGRATIONS[0].2).expect("migration 1");
        conn.execute_batch(
            "INSERT INTO schema_migrations VALUES (1, 'records', 0);
             INSERT INTO agents (id, name, uri, skills, languages, max_calls)
                 VALUES ('wang', 'Wang', 'sip:wang@h', '[\"billing\"]', '[\"zh\"]', 2);
             INSERT INTO queues (name, skills, max_wait_secs) VALUES ('billing', '[]', 60);",
        )
        .expect("old rows");
    }
    let store = SqliteStore::open(&path).expect("migrates");
    assert_eq!(
        store.schema_version().expect("version"),
        MIGRATIONS.len() as i64
    );
    let wang = &store.agents().expect("agents")[0];
    assert_eq!((wang.id.as_str(), wang.wrap_up_secs), ("wang", 15));
    assert_eq!((wang.region.as_str(), wang.level("billing")), ("", Some(5)));
    assert_eq!(store.agent_ha1("wang").expect("ha1"), None);
    let billing = &store.queues().expect("queues")[0];
    assert_eq!(billing.strategy, "longest_idle");
    assert_eq!((billing.ring_secs, billing.empty_to_bot), (20, true));
    assert_eq!(
        (billing.overflow.as_deref(), billing.announce_secs),
        (None, None)
    );
    assert!(!billing.language_required);
}

#[test]
fn agent_and_queue_json_of_older_clients_still_reads() {
    let old: Agent = serde_json::from_value(json!({
        "id": "alice", "name": "Alice", "uri": "sip:alice@h",
        "skills": ["after-sales", "billing"], "languages": ["zh"], "max_calls": 1
    }))
    .expect("old agent JSON");
    assert_eq!(old.wrap_up_secs, 15);
    assert_eq!(
        (old.region.as_str(), old.password_ha1.as_deref()),
        ("", None)
    );
    assert_eq!(
        old.skill_levels(),
        [("after-sales".into(), 5), ("billing".into(), 5)]
    );
    assert_eq!(old.level("refund"), None);
    let q: Queue = serde_json::from_value(json!({
        "name": "after-sales", "skills": ["after-sales"], "max_wait_secs": 90
    }))
    .expect("old queue JSON");
    assert_eq!(
        q,
        Queue {
            name: "after-sales".into(),
            skills: vec!["after-sales".into()],
            max_wait_secs: 90,
            ..Queue::default()
        }
    );
    assert_eq!(q.min_level("after-sales"), 1);
}

#[test]
fn routing_settings_round_trip_and_bad_ones_are_refused() {
    let dir = TempDir::new().expect("dir");
    let store = db(&dir);
    let alice: Agent = serde_json::from_value(json!({
        "id": "alice", "name": "Alice", "uri": "sip:alice@h", "skills": ["after-sales"],
        "languages": ["cantonese"], "max_calls": 2, "levels": { "after-sales": 8 },
        "region": "guangdong", "wrap_up_secs": 30,
        "password_ha1": ha1("alice", "kefu", "pw")
    }))
    .expect("agent");
    store.put_agent(&alice).expect("put");
    assert_eq!(
        store.agents().expect("agents"),
        std::slice::from_ref(&alice)
    );
    assert_eq!(alice.level("after-sales"), Some(8));
    assert_eq!(
        store.agent_ha1("alice").expect("ha1"),
        Some(ha1("alice", "kefu", "pw"))
    );
    let shown = serde_json::to_value(&alice).expect("json");
    assert!(shown.get("password_ha1").is_none(), "{shown}");
    assert_eq!(shown["levels"]["after-sales"], 8);

    let q = Queue {
        name: "vip".into(),
        skills: vec!["after-sales".into()],
        max_wait_secs: 60,
        strategy: "skill_level".into(),
        levels: [("after-sales".to_string(), 6)].into(),
        language_required: true,
        overflow: Some("queue:after-sales".into()),
        announce_secs: Some(30),
        ring_secs: 15,
        empty_to_bot: false,
    };
    store.put_queue(&q).expect("queue");
    assert_eq!(store.queues().expect("queues"), std::slice::from_ref(&q));

    let bad_agent = Agent {
        levels: [("after-sales".to_string(), 11)].into(),
        ..alice.clone()
    };
    let bad_ha1 = Agent {
        password_ha1: Some("pw".into()),
        ..alice
    };
    for a in [bad_agent, bad_ha1] {
        assert!(
            matches!(store.put_agent(&a), Err(StoreError::Invalid(_))),
            "{a:?}"
        );
    }
    let bad_queues = [
        Queue {
            strategy: "random".into(),
            ..q.clone()
        },
        Queue {
            overflow: Some("queue:vip".into()),
            ..q.clone()
        },
        Queue {
            overflow: Some("voicemail".into()),
            ..q.clone()
        },
        Queue {
            overflow: Some("queue:".into()),
            ..q.clone()
        },
        Queue {
            levels: [("x".to_string(), 0)].into(),
            ..q.clone()
        },
    ];
    for b in bad_queues {
        let got = store.put_queue(&b);
        assert!(matches!(got, Err(StoreError::Invalid(_))), "{b:?}: {got:?}");
    }
    assert_eq!(store.queues().expect("queues"), [q]);
}
