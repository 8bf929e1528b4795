//! The SQLite store on real files: a call's life through `apply`, search
//! by every filter, call detail, QA review, closing calls a stopped process
//! left open, atomic batches, migrations, the webhook outbox, API keys,
//! routing and campaign records, and durability across a SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use kefu::storage::sqlite::{SqliteStore, MIGRATIONS};
use kefu::storage::{
    Agent, Attempt, CallEnd, CallQuery, Campaign, Contact, Customer, Disposition, EndpointState,
    NewCall, Outcome, QaReview, Queue, Role, Speaker, Store, StoreError, StoreResult, TransferInfo,
    Write,
};
use serde_json::{json, Value};
use tempfile::TempDir;

/// 2024-03-01T00:00:00Z.
const T0: i64 = 1_709_251_200_000;
const MIN: i64 = 60_000;
const DAY: i64 = 1440 * MIN;

/// A store on a new file in a folder that does not exist yet.
fn db() -> (TempDir, SqliteStore) {
    let dir = TempDir::new().expect("temp dir");
    let store = reopen(&dir);
    (dir, store)
}

fn reopen(dir: &TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("data/kefu.db")).expect("open store")
}

/// A second, plain connection to the same file.
fn raw(dir: &TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.path().join("data/kefu.db")).expect("raw connection")
}

/// The error's message (`not found: …`, `conflict: …`, `invalid: …`), or
/// "ok".
fn outcome_of<T>(r: StoreResult<T>) -> String {
    r.err().map_or("ok".into(), |e| e.to_string())
}

/// A record from its JSON form.
fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture")
}

/// The fields of `value` named in `expected` as a JSON object, to compare
/// many at once.
fn fields(value: &impl serde::Serialize, expected: &Value) -> Value {
    let all = serde_json::to_value(value).expect("serializable");
    let keys = expected.as_object().expect("an object").keys();
    keys.map(|k| (k.clone(), all[k].clone())).collect()
}

fn new_call(id: &str, caller: &str, at: i64) -> NewCall {
    from(
        json!({ "id": id, "direction": "inbound", "sip_call_id": format!("{id}@pbx"),
                 "caller": caller, "called": "4008001234", "dialplan": "shop",
                 "started_at": at, "campaign_id": null, "contact_id": null }),
    )
}

fn started(id: &str, caller: &str, at: i64) -> Write {
    Write::CallStarted(new_call(id, caller, at))
}

fn say(call: &str, speaker: Speaker, text: &str, at: i64) -> Write {
    let confidence = (speaker == Speaker::Caller).then_some(0.9);
    let line = from(json!({ "speaker": speaker, "text": text, "started_at": at,
        "ended_at": at + 1500, "confidence": confidence, "emotion": null, "intent": null }));
    Write::Line {
        call: call.into(),
        line,
    }
}

fn event(call: &str, at: i64, kind: &str, data: Value) -> Write {
    let event = from(json!({ "at": at, "kind": kind, "data": data }));
    Write::Event {
        call: call.into(),
        event,
    }
}

fn tag(call: &str, phone: &str, tag: &str, at: i64) -> Write {
    let (call, phone, tag) = (call.into(), phone.into(), tag.into());
    Write::Tag {
        call,
        phone,
        tag,
        at,
    }
}

fn end(at: i64, outcome: Outcome, intents: &[&str], peak: Option<&str>) -> CallEnd {
    from(
        json!({ "ended_at": at, "end_reason": "remote_bye", "outcome": outcome,
                 "intents": intents, "emotion_start": "neutral", "emotion_end": peak,
                 "emotion_peak": peak, "talk": { "total_ms": 60_000, "caller_ms": 20_000,
                 "agent_ms": 0, "overlap_ms": 0, "silence_ms": 0, "longest_silence_ms": 0,
                 "hold_ms": 0, "longest_hold_ms": 0, "barge_ins": 0 } }),
    )
}

fn ended(call: &str, end: CallEnd) -> Write {
    Write::Ended {
        call: call.into(),
        end,
    }
}

fn qa(call: &str, score: f64, codes: &[&str], at: i64) -> Write {
    let flags: Vec<Value> = codes
        .iter()
        .map(|c| json!({ "code": c, "severity": "warning", "detail": "" }))
        .collect();
    let result = from(
        json!({ "score": score, "flags": flags, "checks": { "greeting": true },
                              "at": at }),
    );
    Write::Qa {
        call: call.into(),
        result,
    }
}

fn recording(call: &str, bytes: i64, at: i64) -> Write {
    Write::Recording(from(
        json!({ "call_id": call, "path": format!("recordings/{call}.wav"),
        "format": "wav", "bytes": bytes, "duration_ms": MIN, "at": at }),
    ))
}

fn outbox(key: &str, at: i64) -> Write {
    let payload = json!({ "key": key });
    Write::Outbox(from(
        json!({ "key": key, "kind": "call.ended", "payload": payload,
                               "at": at }),
    ))
}

fn review(reviewer: &str, score: Option<f64>, at: i64) -> QaReview {
    from(json!({ "reviewer": reviewer, "score": score, "note": "listened", "at": at }))
}

#[test]
fn a_call_is_recorded_from_start_to_end() {
    let (_dir, store) = db();
    let (c, phone) = ("call-1", "13800000000");
    let mark = |e: &str| Write::LineEmotion {
        call: c.into(),
        emotion: e.into(),
    };
    #[rustfmt::skip]
    store.apply(&[
        started(c, phone, T0),
        mark("upset"), // nothing to mark yet: the caller has not spoken
        Write::Answered { call: c.into(), at: T0 + 1000 },
        say(c, Speaker::Bot, "Hello, how can I help?", T0 + 1100),
        say(c, Speaker::Caller, "我的快递还没到", T0 + 4000),
        mark("concerned"),
        Write::LineIntent { call: c.into(), intent: "parcel_missing".into() },
        say(c, Speaker::Bot, "Let me check.", T0 + 6000),
        say(c, Speaker::Caller, "快一点", T0 + 8000),
        mark("upset"),
    ]).unwrap();
    let transfer: TransferInfo =
        from(json!({ "target": "queue:after-sales", "reason": "asked", "at": T0 + 7000 }));
    let disposition: Disposition = from(json!({ "call_id": c, "campaign_id": null,
        "contact_id": null, "code": "follow_up", "note": "call back", "at": T0 + MIN }));
    #[rustfmt::skip]
    store.apply(&[
        event(c, T0 + 4000, "understood", json!({ "intent": "parcel_missing" })),
        event(c, T0 + 1000, "answered", json!({})),
        tag(c, phone, "complaint:delivery", T0 + 5000),
        tag(c, phone, "complaint:delivery", T0 + 5100),
        Write::Transfer { call: c.into(), transfer },
        Write::Csat { call: c.into(), score: 4, at: T0 + MIN },
        ended(c, end(T0 + 61_000, Outcome::Transferred, &["parcel_missing"], Some("concerned"))),
        recording(c, 100, T0 + 61_000),
        recording(c, 960_044, T0 + 62_000), // finalized again: replaced, not doubled
        qa(c, 85.0, &["silence"], T0 + 63_000),
        Write::Disposition(disposition.clone()),
    ]).unwrap();

    let d = store.call(c).unwrap();
    let expected = json!({
        "caller": phone, "sip_call_id": "call-1@pbx", "answered_at": T0 + 1000,
        "ended_at": T0 + 61_000, "end_reason": "remote_bye", "outcome": "transferred",
        "intents": ["parcel_missing"], "emotion_start": "neutral", "emotion_peak": "concerned",
        "transfer": { "target": "queue:after-sales", "reason": "asked", "at": T0 + 7000 },
        "csat": 4, "qa_score": 85.0, "tags": ["complaint:delivery"], "recorded": true,
    });
    assert_eq!(fields(&d.summary, &expected), expected);
    assert_eq!(d.talk.map(|t| t.caller_ms), Some(20_000));

    let expected = json!([
        { "seq": 0, "speaker": "bot", "text": "Hello, how can I help?", "emotion": null,
          "intent": null },
        { "seq": 1, "speaker": "caller", "text": "我的快递还没到", "emotion": "concerned",
          "intent": "parcel_missing" },
        { "seq": 2, "speaker": "bot", "text": "Let me check.", "emotion": null, "intent": null },
        // Only the latest caller line is marked.
        { "seq": 3, "speaker": "caller", "text": "快一点", "emotion": "upset", "intent": null },
    ]);
    let rows = expected.as_array().expect("rows");
    let got: Vec<Value> = d
        .lines
        .iter()
        .zip(rows)
        .map(|(l, e)| fields(l, e))
        .collect();
    assert_eq!(json!(got), expected);
    assert_eq!(d.lines[1].line.confidence, Some(0.9));

    let kinds: Vec<&str> = d.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["answered", "understood"], "events by time");
    assert_eq!(d.events[1].data, json!({ "intent": "parcel_missing" }));
    assert_eq!(d.recording.map(|r| r.bytes), Some(960_044));
    assert_eq!(store.recording(c).unwrap().path, "recordings/call-1.wav");
    let q = d.qa.expect("qa");
    assert_eq!((q.score, q.review), (85.0, None));
    assert_eq!(q.auto.flags[0].code, "silence");
    assert_eq!(q.auto.checks, json!({ "greeting": true }));
    assert_eq!(d.dispositions, [disposition]);

    let who = store.customer(phone).unwrap();
    let expected = json!({ "calls": 1, "first_seen": T0, "last_seen": T0,
                           "tags": ["complaint:delivery"] });
    assert_eq!(fields(&who, &expected), expected);
    assert!(outcome_of(store.call("nope")).starts_with("not found"));
    assert!(outcome_of(store.recording("nope")).starts_with("not found"));
}

#[test]
fn bad_writes_are_refused_with_reasons() {
    let (_dir, store) = db();
    store.apply(&[started("a", "1", T0)]).unwrap();
    assert!(outcome_of(store.apply(&[started("a", "1", T0)])).starts_with("conflict"));
    let csat = [Write::Csat {
        call: "a".into(),
        score: 6,
        at: T0,
    }];
    assert!(outcome_of(store.apply(&csat)).contains("1..=5"));
    let open_end = ended("a", end(T0, Outcome::InProgress, &[], None));
    assert!(outcome_of(store.apply(&[open_end])).starts_with("invalid"));
    assert!(outcome_of(store.apply(&[tag("a", "1", "", T0)])).starts_with("invalid"));
    assert_eq!(store.customer("1").unwrap().calls, 1);
}

#[test]
fn searches_filter_by_each_field() {
    let (_dir, store) = db();
    use Outcome::{Abandoned, Missed, Resolved, Transferred};
    #[rustfmt::skip]
    let calls = [
        ("c1", "13800000001", Resolved, &["order_status"][..], "neutral", "where is my order"),
        ("c2", "13900000002", Transferred, &["complaint", "refund"], "angry", "I want a REFUND"),
        ("c3", "13800000003", Abandoned, &["refund"], "upset", "退款什么时候到账"),
        ("c4", "13700000004", Resolved, &[], "concerned", "50% off_code please"),
        ("c5", "+8613800000005", Missed, &[], "neutral", "快递到了吗"),
    ];
    for (day, (id, caller, outcome, intents, peak, said)) in (0..).zip(calls) {
        let at = T0 + day * DAY;
        let mut batch = vec![
            started(id, caller, at),
            say(id, Speaker::Caller, said, at + 1000),
            ended(id, end(at + MIN, outcome, intents, Some(peak))),
        ];
        if id == "c2" || id == "c3" {
            batch.push(tag(id, caller, "vip", at));
        }
        store.apply(&batch).unwrap();
    }
    let search = |q: Value| store.search_calls(&from::<CallQuery>(q));
    let find = |q: Value| -> Vec<String> {
        let found = search(q).unwrap();
        found.into_iter().map(|c| c.id).collect()
    };
    let none: [&str; 0] = [];

    assert_eq!(find(json!({})), ["c5", "c4", "c3", "c2", "c1"]);
    assert_eq!(find(json!({ "number": "138000" })), ["c5", "c3", "c1"]);
    assert_eq!(find(json!({ "number": "4008001234" })).len(), 5, "called");
    assert_eq!(find(json!({ "number": "%" })), none, "% is literal");
    let range = json!({ "from": T0 + DAY, "to": T0 + 3 * DAY });
    assert_eq!(find(range), ["c3", "c2"], "from inclusive, to exclusive");
    assert_eq!(find(json!({ "intent": "refund" })), ["c3", "c2"]);

    assert_eq!(find(json!({ "emotion": "upset" })), ["c3", "c2"]);
    assert_eq!(find(json!({ "emotion": "concerned" })), ["c4", "c3", "c2"]);
    assert_eq!(find(json!({ "emotion": "angry" })), ["c2"]);
    assert_eq!(find(json!({ "emotion": "neutral" })).len(), 5);
    let unknown = outcome_of(search(json!({ "emotion": "furious" })));
    assert!(unknown.starts_with("invalid") && unknown.contains("furious"));

    let text = |t: &str| find(json!({ "text": t }));
    assert_eq!(text("refund"), ["c2"], "case-insensitive for Latin");
    assert_eq!(text("退款"), ["c3"]);
    assert_eq!(text("快递"), ["c5"]);
    assert_eq!(text("到"), ["c5", "c3"]);
    assert_eq!(text("50%"), ["c4"]);
    assert_eq!(text("%"), ["c4"], "% matches only itself");
    assert_eq!(text("f_c"), ["c4"]);
    assert_eq!(text("r_f"), none, "_ matches only itself");

    assert_eq!(find(json!({ "outcome": "resolved" })), ["c4", "c1"]);
    assert_eq!(find(json!({ "tag": "vip" })), ["c3", "c2"]);
    assert_eq!(find(json!({ "dialplan": "other" })), none);
    assert_eq!(find(json!({ "dialplan": "shop" })).len(), 5);
    let combined = json!({ "number": "138", "intent": "refund", "tag": "vip" });
    assert_eq!(find(combined), ["c3"]);
    assert_eq!(find(json!({ "limit": 2, "offset": 1 })), ["c4", "c3"]);
    assert!(outcome_of(search(json!({ "limit": 501 }))).starts_with("invalid"));
}

#[test]
fn a_review_replaces_the_score_and_survives_a_new_inspection() {
    let (_dir, store) = db();
    store.apply(&[started("a", "1", T0)]).unwrap();
    let sue = review("sue", Some(95.0), T0 + MIN);
    assert!(outcome_of(store.review_qa("a", &sue)).starts_with("not found"));

    store.apply(&[qa("a", 70.0, &["talk_over"], T0)]).unwrap();
    let rec = store.review_qa("a", &sue).unwrap();
    assert_eq!((rec.score, rec.auto.score), (95.0, 70.0));
    assert_eq!(rec.review.as_ref(), Some(&sue));

    store.apply(&[qa("a", 60.0, &[], T0 + 2 * MIN)]).unwrap();
    let d = store.call("a").unwrap();
    let q = d.qa.expect("qa");
    assert_eq!((q.auto.score, q.score, q.review), (60.0, 95.0, Some(sue)));
    assert_eq!(d.summary.qa_score, Some(95.0));

    // A review without a score keeps the automatic one.
    let tom = review("tom", None, T0 + 3 * MIN);
    assert_eq!(store.review_qa("a", &tom).unwrap().score, 60.0);
}

#[test]
fn calls_left_open_are_closed_as_interrupted_after_reopening() {
    let dir = TempDir::new().unwrap();
    #[rustfmt::skip]
    reopen(&dir).apply(&[
        started("open-1", "1", T0),
        Write::Answered { call: "open-1".into(), at: T0 + 500 },
        started("open-2", "2", T0 + 1000),
        started("done", "3", T0 + 2000),
        ended("done", end(T0 + 3000, Outcome::Resolved, &[], None)),
    ]).unwrap();
    let store = reopen(&dir);
    let closed = store.close_interrupted(T0 + 9000).unwrap();
    assert_eq!(closed, ["open-1", "open-2"]);
    let expected = json!({ "outcome": "interrupted", "end_reason": "interrupted",
                           "ended_at": T0 + 9000 });
    for id in closed {
        assert_eq!(
            fields(&store.call(&id).unwrap().summary, &expected),
            expected
        );
    }
    let expected = json!({ "outcome": "resolved", "end_reason": "remote_bye",
                           "ended_at": T0 + 3000 });
    assert_eq!(
        fields(&store.call("done").unwrap().summary, &expected),
        expected
    );
    assert!(store.close_interrupted(T0 + 10_000).unwrap().is_empty());
}

#[test]
fn a_batch_naming_an_unknown_call_is_rolled_back_entirely() {
    let (_dir, store) = db();
    #[rustfmt::skip]
    let err = outcome_of(store.apply(&[
        started("a", "13800000000", T0),
        say("a", Speaker::Caller, "hello", T0),
        outbox("call.started:a", T0),
        say("ghost", Speaker::Caller, "boo", T0),
    ]));
    assert!(err.starts_with("not found: call ghost"), "{err}");
    assert!(outcome_of(store.call("a")).starts_with("not found"));
    assert!(outcome_of(store.customer("13800000000")).starts_with("not found"));
    assert_eq!(store.outbox_head().unwrap(), 0);

    let ghost = || "ghost".to_owned();
    #[rustfmt::skip]
    let writes = [
        Write::Answered { call: ghost(), at: T0 },
        Write::Csat { call: ghost(), score: 3, at: T0 },
        Write::LineIntent { call: ghost(), intent: "x".into() },
        Write::Transfer {
            call: ghost(),
            transfer: from(json!({ "target": "x", "reason": "x", "at": T0 })),
        },
        qa("ghost", 1.0, &[], T0),
        recording("ghost", 1, T0),
        event("ghost", T0, "x", json!(null)),
        tag("ghost", "1", "x", T0),
        ended("ghost", end(T0, Outcome::Failed, &[], None)),
    ];
    for w in writes {
        let got = outcome_of(store.apply(std::slice::from_ref(&w)));
        assert!(got.starts_with("not found"), "{w:?}: {got}");
    }
}

#[test]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    let dir = TempDir::new().unwrap();
    let latest = MIGRATIONS.last().map(|m| m.0).unwrap();
    for _ in 0..3 {
        assert_eq!(reopen(&dir).schema_version().unwrap(), latest);
        let count = "SELECT COUNT(*) FROM schema_migrations";
        let rows: i64 = raw(&dir).query_row(count, [], |r| r.get(0)).unwrap();
        assert_eq!(rows, MIGRATIONS.len() as i64);
    }
    let mode: String = raw(&dir)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    let future =
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, 'future', 0)";
    raw(&dir).execute(future, [latest + 41]).unwrap();
    let err = SqliteStore::open(&dir.path().join("data/kefu.db")).unwrap_err();
    let StoreError::Backend(msg) = err else {
        panic!("expected a backend error, got {err}");
    };
    assert!(msg.contains(&(latest + 41).to_string()), "{msg}");
    let known = format!("the {latest} this kefu knows");
    assert!(msg.contains(&known), "{msg}");
}

#[test]
fn the_event_log_is_append_only() {
    let (dir, store) = db();
    let answered = event("a", T0, "answered", json!(null));
    store.apply(&[started("a", "1", T0), answered]).unwrap();
    let db = raw(&dir);
    let forged = db.execute("UPDATE call_events SET kind = 'forged'", []);
    assert!(forged.is_err());
    assert!(db.execute("DELETE FROM call_events", []).is_err());
    assert_eq!(store.call("a").unwrap().events[0].kind, "answered");
}

#[test]
fn the_outbox_keeps_order_and_ignores_repeated_keys() {
    let (dir, store) = db();
    assert_eq!(store.outbox_head().unwrap(), 0);
    // The second batch is retried: k2 again, then a new one.
    for (a, b) in [
        (("k1", T0), ("k2", T0 + 1)),
        (("k2", T0 + 2), ("k3", T0 + 3)),
    ] {
        store.apply(&[outbox(a.0, a.1), outbox(b.0, b.1)]).unwrap();
    }
    let all = store.outbox_after(0, 100).unwrap();
    let keys: Vec<&str> = all.iter().map(|e| e.event.key.as_str()).collect();
    assert_eq!(keys, ["k1", "k2", "k3"]);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(all[1].event.at, T0 + 1, "the first k2 is kept");
    assert_eq!(all[2].event.payload, json!({ "key": "k3" }));
    assert_eq!(store.outbox_head().unwrap(), all[2].seq);
    let next: Vec<_> = store.outbox_after(all[0].seq, 1).unwrap();
    assert_eq!((next.len(), next[0].event.key.as_str()), (1, "k2"));
    assert!(store.outbox_after(all[2].seq, 10).unwrap().is_empty());

    assert_eq!(store.endpoint_state("crm").unwrap(), None);
    let mut state: EndpointState = from(json!({ "endpoint": "crm", "delivered_seq": all[0].seq,
        "attempts": 2, "next_attempt_at": T0 + 5000, "last_error": "HTTP 503" }));
    store.put_endpoint_state(&state).unwrap();
    assert_eq!(store.endpoint_state("crm").unwrap().as_ref(), Some(&state));
    (state.attempts, state.last_error, state.delivered_seq) = (0, None, all[2].seq);
    store.put_endpoint_state(&state).unwrap();
    assert_eq!(store.endpoint_state("crm").unwrap(), Some(state));
    let given_up = store.webhook_dead("crm", all[1].seq, "HTTP 400", T0 + 6000);
    given_up.unwrap();
    let dead = "SELECT endpoint, seq, error FROM webhook_dead";
    let row: (String, i64, String) = raw(&dir)
        .query_row(dead, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    assert_eq!(row, ("crm".into(), all[1].seq, "HTTP 400".into()));
}

#[test]
fn api_keys_are_found_by_hash_until_revoked() {
    let (_dir, store) = db();
    let hash = "ab".repeat(32);
    let key = store.create_api_key("console", Role::Supervisor, &hash, T0);
    let key = key.unwrap();
    let expected = json!({ "name": "console", "role": "supervisor", "revoked": false,
                           "created_at": T0, "last_used_at": null });
    assert_eq!(fields(&key, &expected), expected);
    let dup = store.create_api_key("again", Role::Admin, &hash.to_uppercase(), T0);
    assert!(outcome_of(dup).starts_with("conflict"));
    let bad = store.create_api_key("bad", Role::Admin, "not-a-hash", T0);
    assert!(outcome_of(bad).starts_with("invalid"));

    let found = store.api_key_by_hash(&hash, T0 + 1000).unwrap().unwrap();
    assert_eq!((found.id, found.last_used_at), (key.id, Some(T0 + 1000)));
    // Within a minute the recorded use is not rewritten.
    let used = |hash: &str, at| {
        store
            .api_key_by_hash(hash, at)
            .unwrap()
            .unwrap()
            .last_used_at
    };
    let listed = || store.api_keys().unwrap()[0].last_used_at;
    assert_eq!(used(&hash.to_uppercase(), T0 + 30_000), Some(T0 + 1000));
    assert_eq!(listed(), Some(T0 + 1000));
    assert_eq!(used(&hash, T0 + 2 * MIN), Some(T0 + 2 * MIN));
    assert_eq!(listed(), Some(T0 + 2 * MIN));
    assert_eq!(store.api_key_by_hash(&"cd".repeat(32), T0).unwrap(), None);

    store.revoke_api_key(key.id).unwrap();
    assert_eq!(store.api_key_by_hash(&hash, T0 + 3 * MIN).unwrap(), None);
    let listed = store.api_keys().unwrap();
    assert_eq!((listed.len(), listed[0].revoked), (1, true));
    assert!(outcome_of(store.revoke_api_key(9999)).starts_with("not found"));
}

#[test]
fn agents_queues_and_customers_round_trip() {
    let (_dir, store) = db();
    let alice: Agent = from(
        json!({ "id": "alice", "name": "Alice", "uri": "sip:alice@10.0.0.5",
        "skills": ["after-sales"], "languages": ["zh"], "max_calls": 1 }),
    );
    store.put_agent(&alice).unwrap();
    let renamed = Agent {
        name: "Alice W".into(),
        ..alice
    };
    store.put_agent(&renamed).unwrap();
    assert_eq!(store.agents().unwrap(), [renamed]);
    store.delete_agent("alice").unwrap();
    assert!(store.agents().unwrap().is_empty());
    assert!(outcome_of(store.delete_agent("alice")).starts_with("not found"));

    let q: Queue = from(json!({ "name": "sales", "skills": ["sales"], "max_wait_secs": 90 }));
    store.put_queue(&q).unwrap();
    assert_eq!(store.queues().unwrap(), [q]);
    store.delete_queue("sales").unwrap();
    assert!(outcome_of(store.delete_queue("sales")).starts_with("not found"));

    let phone = "13800000000";
    let mut who: Customer = from(
        json!({ "phone": phone, "name": "Han Meimei", "vip_level": 2,
        "region": "sichuan", "tags": ["vip"], "calls": 0, "first_seen": null,
        "last_seen": null }),
    );
    store.put_customer(&who).unwrap();
    (who.name, who.tags) = ("Han M.".into(), vec!["late_payer".into()]);
    store.put_customer(&who).unwrap();
    let calls = [started("a", phone, T0), started("b", phone, T0 + DAY)];
    store.apply(&calls).unwrap();
    let expected = json!({ "name": "Han M.", "vip_level": 2, "region": "sichuan",
        "tags": ["vip", "late_payer"], "calls": 2, "first_seen": T0, "last_seen": T0 + DAY });
    assert_eq!(fields(&store.customer(phone).unwrap(), &expected), expected);
}

#[test]
fn campaigns_contacts_and_attempts_round_trip() {
    let (_dir, store) = db();
    let camp: Campaign = from(json!({ "id": "spring", "name": "Spring sale",
        "dialplan": "survey", "status": "draft", "created_at": T0 }));
    store.put_campaign(&camp).unwrap();
    let bad = Campaign {
        status: "exploded".into(),
        ..camp.clone()
    };
    assert!(outcome_of(store.put_campaign(&bad)).starts_with("invalid"));
    assert_eq!(store.campaigns().unwrap(), [camp]);

    let contact = |campaign: &str, phone: &str| -> Contact {
        from(
            json!({ "id": 0, "campaign_id": campaign, "phone": phone, "name": "Li Lei",
                     "data": { "order": 42 }, "status": "pending", "attempts": 0 }),
        )
    };
    let two = [contact("spring", "1001"), contact("spring", "1002")];
    let ids = store.add_contacts(&two).unwrap();
    let stray = [contact("spring", "1003"), contact("nope", "1004")];
    assert!(outcome_of(store.add_contacts(&stray)).starts_with("not found"));
    assert_eq!(store.contacts("spring").unwrap().len(), 2, "rolled back");

    let attempt = |campaign: &str, at: i64, result: Option<&str>| -> Attempt {
        let contact_id = ids[0];
        from(
            json!({ "campaign_id": campaign, "contact_id": contact_id, "call_id": null,
                     "started_at": at, "ended_at": null, "result": result }),
        )
    };
    // The same attempt twice (its result known later), then another.
    let attempts = [
        (T0, None),
        (T0, Some("no_answer")),
        (T0 + MIN, Some("busy")),
    ];
    for (at, result) in attempts {
        store.put_attempt(&attempt("spring", at, result)).unwrap();
    }
    let foreign = attempt("other", T0, None);
    assert!(outcome_of(store.put_attempt(&foreign)).starts_with("not found"));
    let unknown = attempt("spring", T0, Some("??"));
    assert!(outcome_of(store.put_attempt(&unknown)).starts_with("invalid"));
    let listed = store.contacts("spring").unwrap();
    let expected = json!({ "id": ids[0], "data": { "order": 42 }, "attempts": 2 });
    assert_eq!(fields(&listed[0], &expected), expected);
    assert_eq!(listed[1].attempts, 0);
    assert!(outcome_of(store.contacts("nope")).starts_with("not found"));
}

#[test]
fn threads_share_one_store() {
    let (_dir, store) = db();
    let store: Arc<dyn Store> = Arc::new(store);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let id = format!("t{t}-{i}");
                    store.apply(&[started(&id, "1", T0 + i)]).unwrap();
                    store.search_calls(&CallQuery::default()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let all: CallQuery = from(json!({ "limit": 500 }));
    assert_eq!(store.search_calls(&all).unwrap().len(), 100);
    assert_eq!(store.customer("1").unwrap().calls, 100);
}

/// Set in the child process of the durability test: its database file.
const CHILD_DB: &str = "KEFU_STORAGE_CHILD_DB";

fn durable_batch(i: u64) -> Vec<Write> {
    let id = format!("d{i:06}");
    let text = format!("line {i}");
    let key = format!("call.started:{id}");
    vec![
        started(&id, "13800000000", T0),
        say(&id, Speaker::Caller, &text, T0),
        outbox(&key, T0),
    ]
}

/// The child of [`committed_batches_survive_a_kill`]: applies batches
/// until killed, printing the count once each batch has returned.
#[test]
#[ignore = "run as a child process by committed_batches_survive_a_kill"]
fn durability_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        eprintln!("only runs as the child of committed_batches_survive_a_kill");
        return;
    };
    let store = SqliteStore::open(Path::new(&path)).unwrap();
    for i in 0.. {
        store.apply(&durable_batch(i)).unwrap();
        println!("applied {}", i + 1);
    }
}

#[test]
fn committed_batches_survive_a_kill() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("kill.db");
    let args = ["durability_child", "--exact", "--ignored", "--nocapture"];
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .env(CHILD_DB, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let count = |l: &str| {
        l.trim()
            .strip_prefix("applied ")
            .map(|n| n.parse().unwrap())
    };
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut applied, mut text) = (0, String::new());
    while applied < 200 {
        text.clear();
        let n = out.read_line(&mut text).unwrap();
        assert!(n > 0, "the child stopped after {applied} batches");
        applied = count(&text).unwrap_or(applied);
    }
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success(), "killed, not finished");
    // Counts printed before the kill are still in the pipe.
    for l in out.lines() {
        applied = count(&l.unwrap()).unwrap_or(applied);
    }

    let store = SqliteStore::open(&db).unwrap();
    for i in 0..applied {
        let lines = store.call(&format!("d{i:06}")).unwrap().lines;
        assert_eq!(lines.len(), 1, "batch {i}");
    }
    // A batch cut short by the kill is whole or absent.
    let head = store.outbox_head().unwrap();
    let calls = store.customer("13800000000").unwrap().calls;
    assert!(calls as u64 >= applied);
    assert_eq!(head, calls, "every recorded call has its outbox event");
    let mut seq = 0;
    loop {
        let page = store.outbox_after(seq, 500).unwrap();
        let Some(last) = page.last() else { break };
        seq = last.seq;
        for e in &page {
            let id = e.event.key.trim_start_matches("call.started:");
            assert_eq!(store.call(id).unwrap().lines.len(), 1, "{id}");
        }
    }
    assert_eq!(seq, head);
}
