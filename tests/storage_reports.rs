//! Every report of the SQLite store on a crafted dataset with exact
//! figures: empty buckets filled, local-time bucketing, the dialplan
//! filter, range checks, and an empty database.

use kefu::storage::sqlite::SqliteStore;
use kefu::storage::{
    QaReview, Report, ReportKind, ReportQuery, Store, StoreError, TransferInfo, Write,
};
use serde_json::{json, Value};
use tempfile::TempDir;

/// 2024-03-01T00:00:00Z.
const T0: i64 = 1_709_251_200_000;
const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

fn db() -> (TempDir, SqliteStore) {
    let dir = TempDir::new().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("kefu.db")).expect("open store");
    (dir, store)
}

/// A record from its JSON form.
fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture")
}

/// The writes recording one crafted call, given as JSON: `id`, `at`,
/// `outcome`, and optionally `dialplan` (shop), `answered` (true),
/// `transfer` (a reason), `tags`, `csat` and `qa` ([score, [flag codes]]).
fn call_writes(spec: &Value) -> Vec<Write> {
    let id = spec["id"].as_str().expect("id");
    let at = spec["at"].as_i64().expect("at");
    let call = || id.to_owned();
    let dialplan = spec["dialplan"].as_str().unwrap_or("shop");
    let mut batch = vec![Write::CallStarted(from(json!({
        "id": id, "direction": "inbound", "sip_call_id": id, "caller": format!("1380000{id}"),
        "called": "4008001234", "dialplan": dialplan, "started_at": at,
        "campaign_id": null, "contact_id": null,
    })))];
    if spec["answered"].as_bool().unwrap_or(true) {
        batch.push(Write::Answered {
            call: call(),
            at: at + SEC,
        });
    }
    if let Some(reason) = spec["transfer"].as_str() {
        let transfer: TransferInfo =
            from(json!({ "target": "queue:support", "reason": reason, "at": at + 30 * SEC }));
        batch.push(Write::Transfer {
            call: call(),
            transfer,
        });
    }
    for tag in spec["tags"].as_array().into_iter().flatten() {
        let (phone, tag) = (String::new(), from(tag.clone()));
        batch.push(Write::Tag {
            call: call(),
            phone,
            tag,
            at,
        });
    }
    if let Some(score) = spec["csat"].as_u64() {
        let score = u8::try_from(score).expect("csat");
        batch.push(Write::Csat {
            call: call(),
            score,
            at: at + 50 * SEC,
        });
    }
    let end = from(json!({ "ended_at": at + MIN, "end_reason": "remote_bye",
        "outcome": spec["outcome"], "intents": [], "emotion_start": null, "emotion_end": null,
        "emotion_peak": null, "talk": { "total_ms": 0, "caller_ms": 0, "agent_ms": 0,
        "overlap_ms": 0, "silence_ms": 0, "longest_silence_ms": 0, "hold_ms": 0,
        "longest_hold_ms": 0, "barge_ins": 0 } }));
    batch.push(Write::Ended { call: call(), end });
    if let Some([score, codes]) = spec["qa"].as_array().map(Vec::as_slice) {
        let flags: Vec<Value> = codes
            .as_array()
            .expect("flag codes")
            .iter()
            .map(|c| json!({ "code": c, "severity": "warning", "detail": "" }))
            .collect();
        let result =
            from(json!({ "score": score, "flags": flags, "checks": {}, "at": at + 2 * MIN }));
        batch.push(Write::Qa {
            call: call(),
            result,
        });
    }
    batch
}

/// Seven calls in the first three days of March 2024 (UTC), and one on
/// the day before.
fn dataset(store: &SqliteStore) {
    let calls = json!([
        { "id": "c1", "at": T0 + HOUR, "outcome": "resolved", "csat": 5,
          "tags": ["complaint", "complaint:"] },
        { "id": "c2", "at": T0 + 3 * HOUR, "outcome": "transferred", "transfer": "asked",
          "tags": ["complaint:delivery", "vip"], "csat": 4, "qa": [80.0, ["silence"]] },
        { "id": "c3", "at": T0 + 23 * HOUR + 30 * MIN, "outcome": "abandoned",
          "tags": ["complaint"], "csat": 2, "qa": [60.0, ["silence", "talk_over"]] },
        { "id": "c8", "at": T0 + 5 * HOUR, "outcome": "transferred", "transfer": "asked" },
        { "id": "c4", "at": T0 + 2 * DAY + 10 * HOUR, "outcome": "missed", "answered": false },
        { "id": "c5", "at": T0 + 2 * DAY + 11 * HOUR, "outcome": "transferred",
          "dialplan": "other", "transfer": "emotion",
          "tags": ["complaint:delivery", "complaint:billing"], "qa": [70.0, []] },
        { "id": "c6", "at": T0 + 2 * DAY + 12 * HOUR, "outcome": "failed", "answered": false },
        { "id": "c7", "at": T0 - DAY + HOUR, "outcome": "transferred", "transfer": "asked",
          "tags": ["complaint:delivery"], "csat": 1, "qa": [10.0, ["talk_over"]] },
    ]);
    for spec in calls.as_array().expect("calls") {
        store
            .apply(&call_writes(spec))
            .expect("recording the dataset");
    }
    let review = |call: &str, score: Option<f64>, at: i64| {
        let review: QaReview =
            from(json!({ "reviewer": "sue", "score": score, "note": "", "at": at }));
        store.review_qa(call, &review).expect("reviewing");
    };
    review("c3", Some(90.0), T0 + DAY);
    review("c5", None, T0 + 3 * DAY);
}

/// `days` days from T0, with other query fields from `more`.
fn range(days: i64, more: Value) -> ReportQuery {
    let mut q = json!({ "from": T0, "to": T0 + days * DAY });
    if let (Some(q), Some(more)) = (q.as_object_mut(), more.as_object()) {
        q.extend(more.clone());
    }
    from(q)
}

/// The report, checked for its kind and row widths.
fn report(store: &SqliteStore, kind: ReportKind, q: &ReportQuery) -> Report {
    let r = store.report(kind, q).expect("report");
    assert_eq!(r.kind, kind);
    for row in &r.rows {
        assert_eq!(row.len(), r.columns.len(), "{}: {row:?}", kind.as_str());
    }
    r
}

/// Columns, rows and summary as one JSON value for one comparison.
fn table(r: &Report) -> Value {
    json!({ "columns": r.columns, "rows": r.rows, "summary": r.summary })
}

#[test]
fn calls_per_day_fill_empty_days() {
    let (_dir, store) = db();
    dataset(&store);
    let r = report(&store, ReportKind::Calls, &range(3, json!({})));
    let expected = json!({
        "columns": ["bucket", "calls", "answered", "resolved", "abandoned", "transferred",
                    "missed", "failed", "interrupted"],
        "rows": [
            ["2024-03-01", 4, 4, 1, 1, 2, 0, 0, 0],
            ["2024-03-02", 0, 0, 0, 0, 0, 0, 0, 0],
            ["2024-03-03", 3, 1, 0, 0, 1, 1, 1, 0],
        ],
        "summary": { "calls": 7, "answered": 5, "resolved": 1, "abandoned": 1,
                     "transferred": 3, "missed": 1, "failed": 1, "interrupted": 0,
                     "buckets": 3 },
    });
    assert_eq!(table(&r), expected);
}

/// The bucket label and call count of each row.
fn per_bucket(r: &Report) -> Value {
    r.rows.iter().map(|row| json!([row[0], row[1]])).collect()
}

#[test]
fn buckets_follow_local_time() {
    let (_dir, store) = db();
    dataset(&store);
    // UTC+1: c3 (23:30 UTC) falls on the 2nd, and the range's last hour
    // reaches into the 4th.
    let r = report(
        &store,
        ReportKind::Calls,
        &range(3, json!({ "tz_offset_min": 60 })),
    );
    let expected = json!([
        ["2024-03-01", 3],
        ["2024-03-02", 1],
        ["2024-03-03", 3],
        ["2024-03-04", 0]
    ]);
    assert_eq!(per_bucket(&r), expected);

    // Hours in UTC-8: 10:00 to 14:00 UTC on the 3rd is 02:00 to 06:00.
    let q = from(
        json!({ "from": T0 + 2 * DAY + 10 * HOUR, "to": T0 + 2 * DAY + 14 * HOUR,
                         "bucket": "hour", "tz_offset_min": -480 }),
    );
    let r = report(&store, ReportKind::Calls, &q);
    let expected = json!([
        ["2024-03-03T02:00", 1],
        ["2024-03-03T03:00", 1],
        ["2024-03-03T04:00", 1],
        ["2024-03-03T05:00", 0]
    ]);
    assert_eq!(per_bucket(&r), expected);
}

#[test]
fn containment_and_transfers() {
    let (_dir, store) = db();
    dataset(&store);
    let r = report(&store, ReportKind::Containment, &range(3, json!({})));
    let expected = json!({
        "columns": ["calls", "contained", "resolved", "transferred", "containment_rate",
                    "resolution_rate", "transfer_rate"],
        "rows": [[5, 2, 1, 3, 0.4, 0.2, 0.6]],
        "summary": { "calls": 5, "contained": 2, "resolved": 1, "transferred": 3,
                     "containment_rate": 0.4, "resolution_rate": 0.2, "transfer_rate": 0.6 },
    });
    assert_eq!(table(&r), expected);
    // Without c5, of dialplan `other`.
    let shop = range(3, json!({ "dialplan": "shop" }));
    let r = report(&store, ReportKind::Containment, &shop);
    assert_eq!(json!(r.rows), json!([[4, 2, 1, 2, 0.5, 0.25, 0.5]]));

    let r = report(&store, ReportKind::Transfers, &range(3, json!({})));
    let expected = json!({
        "columns": ["reason", "calls", "share"],
        "rows": [["asked", 2, 0.6667], ["emotion", 1, 0.3333]],
        "summary": { "transfers": 3, "transfer_rate": 0.6 },
    });
    assert_eq!(table(&r), expected);
    let r = report(&store, ReportKind::Transfers, &shop);
    assert_eq!(json!(r.rows), json!([["asked", 2, 1.0]]));
}

#[test]
fn complaints_csat_and_quality() {
    let (_dir, store) = db();
    dataset(&store);
    let r = report(&store, ReportKind::Complaints, &range(3, json!({})));
    let expected = json!({
        "columns": ["category", "calls"],
        "rows": [["delivery", 2], ["other", 2], ["billing", 1]],
        "summary": { "calls": 4, "categories": 3 },
    });
    assert_eq!(table(&r), expected);

    let r = report(&store, ReportKind::Csat, &range(3, json!({})));
    let expected = json!({
        "columns": ["score", "responses", "share"],
        "rows": [[1, 0, 0.0], [2, 1, 0.3333], [3, 0, 0.0], [4, 1, 0.3333], [5, 1, 0.3333]],
        "summary": { "responses": 3, "average": 3.67, "satisfied_share": 0.6667 },
    });
    assert_eq!(table(&r), expected);

    // c3's review (90) replaces its 60; c5's review gives no score.
    let r = report(&store, ReportKind::Quality, &range(3, json!({})));
    let expected = json!({
        "columns": ["code", "calls"],
        "rows": [["silence", 2], ["talk_over", 1]],
        "summary": { "inspected": 3, "average_score": 80.0, "reviewed": 2 },
    });
    assert_eq!(table(&r), expected);
}

#[test]
fn queues_and_agents() {
    let (_dir, store) = db();
    dataset(&store);
    for name in ["support", "sales", "idle"] {
        let queue = from(json!({ "name": name, "skills": [], "max_wait_secs": 120 }));
        store.put_queue(&queue).unwrap();
    }
    #[rustfmt::skip]
    let entries = [
        ("c2", "support", T0 + 3 * HOUR, None, None),
        // The same entry, updated as the caller is answered.
        ("c2", "support", T0 + 3 * HOUR, Some(30), Some("answered")),
        ("c8", "support", T0 + 5 * HOUR, Some(90), Some("abandoned")),
        ("c5", "support", T0 + 2 * DAY + 11 * HOUR, None, None),
        ("c3", "sales", T0 + 23 * HOUR, Some(60), Some("overflow")),
        ("c7", "support", T0 - DAY, Some(10), Some("abandoned")),
    ];
    for (call, queue, at, wait, result) in entries {
        let left_at = wait.map(|w| at + w * SEC);
        let entry = from(json!({ "call_id": call, "queue": queue, "entered_at": at,
            "left_at": left_at, "result": result, "agent_id": null }));
        store.put_queue_entry(&entry).unwrap();
    }
    let r = report(&store, ReportKind::Queues, &range(3, json!({})));
    let expected = json!({
        "columns": ["queue", "entered", "answered", "abandoned", "overflow", "avg_wait_secs",
                    "max_wait_secs", "abandon_rate"],
        "rows": [
            ["idle", 0, 0, 0, 0, null, null, 0.0],
            ["sales", 1, 0, 0, 1, 60.0, 60.0, 0.0],
            ["support", 3, 1, 1, 0, 60.0, 90.0, 0.3333],
        ],
        "summary": { "entered": 4, "answered": 1, "abandoned": 1, "overflow": 1,
                     "avg_wait_secs": 60.0, "max_wait_secs": 90.0, "abandon_rate": 0.25 },
    });
    assert_eq!(table(&r), expected);

    for (id, name) in [("alice", "Alice"), ("carol", "Carol")] {
        let agent = from(
            json!({ "id": id, "name": name, "uri": format!("sip:{id}@10.0.0.5"),
                                 "skills": [], "languages": [], "max_calls": 1 }),
        );
        store.put_agent(&agent).unwrap();
    }
    #[rustfmt::skip]
    let legs = [
        ("c2", "alice", T0 + 3 * HOUR, Some(120)),
        ("c5", "alice", T0 + 2 * DAY + 11 * HOUR, None),
        // The same leg, updated when it ends.
        ("c5", "alice", T0 + 2 * DAY + 11 * HOUR, Some(60)),
        ("c8", "alice", T0 + 5 * HOUR, None),
        ("c3", "bob", T0 + 23 * HOUR, Some(300)),
        ("c7", "alice", T0 - DAY, Some(1000)),
    ];
    for (call, agent, at, secs) in legs {
        let ended_at = secs.map(|s| at + s * SEC);
        let leg = from(
            json!({ "call_id": call, "agent_id": agent, "started_at": at,
                               "ended_at": ended_at }),
        );
        store.put_agent_leg(&leg).unwrap();
    }
    let r = report(&store, ReportKind::Agents, &range(3, json!({})));
    // alice: c2 (QA 80), c5 (QA 70) and c8 still open; bob is not
    // configured; carol is idle.
    let expected = json!({
        "columns": ["agent_id", "name", "handled", "avg_handle_secs", "total_handle_secs",
                    "avg_qa_score"],
        "rows": [
            ["alice", "Alice", 3, 90.0, 180.0, 75.0],
            ["bob", "", 1, 300.0, 300.0, 90.0],
            ["carol", "Carol", 0, null, 0.0, null],
        ],
        "summary": { "agents": 3, "handled": 4, "total_handle_secs": 480.0 },
    });
    assert_eq!(table(&r), expected);
}

#[test]
fn campaigns_count_contacts_attempts_and_dispositions() {
    let (_dir, store) = db();
    for (id, at) in [("spring", T0 - DAY), ("empty", T0)] {
        let campaign = from(json!({ "id": id, "name": format!("{id} campaign"),
            "dialplan": "survey", "status": "running", "created_at": at }));
        store.put_campaign(&campaign).unwrap();
    }
    let contacts: Vec<_> = ["1001", "1002", "1003"]
        .iter()
        .map(|phone| {
            from(
                json!({ "id": 0, "campaign_id": "spring", "phone": phone, "name": "",
                         "data": {}, "status": "pending", "attempts": 0 }),
            )
        })
        .collect();
    let ids = store.add_contacts(&contacts).unwrap();
    #[rustfmt::skip]
    let attempts = [
        (ids[0], T0 + HOUR, "no_answer"),
        (ids[0], T0 + 2 * HOUR, "answered"),
        (ids[1], T0 + HOUR, "busy"),
        (ids[2], T0 - HOUR, "answered"), // before the range
    ];
    for (contact, at, result) in attempts {
        let attempt = from(json!({ "campaign_id": "spring", "contact_id": contact,
            "call_id": null, "started_at": at, "ended_at": at + 30 * SEC, "result": result }));
        store.put_attempt(&attempt).unwrap();
    }
    let disposition = |contact: i64, code: &str, at: i64| {
        Write::Disposition(from(json!({ "call_id": null, "campaign_id": "spring",
            "contact_id": contact, "code": code, "note": "", "at": at })))
    };
    #[rustfmt::skip]
    store.apply(&[
        disposition(ids[0], "interested", T0 + 2 * HOUR),
        disposition(ids[1], "callback", T0 + HOUR),
        disposition(ids[2], "no_answer", T0 - HOUR), // before the range
    ]).unwrap();
    let r = report(&store, ReportKind::Campaigns, &range(1, json!({})));
    let expected = json!({
        "columns": ["campaign_id", "name", "contacts", "attempted", "answered", "completed"],
        "rows": [
            ["spring", "spring campaign", 3, 2, 1, 2],
            ["empty", "empty campaign", 0, 0, 0, 0],
        ],
        "summary": { "campaigns": 2, "contacts": 3, "attempted": 2, "answered": 1,
                     "completed": 2, "dispositions": { "callback": 1, "interested": 1 } },
    });
    assert_eq!(table(&r), expected);
}

#[test]
fn an_empty_database_reports_zeros() {
    let (_dir, store) = db();
    for kind in ReportKind::ALL {
        let r = report(&store, kind, &range(2, json!({})));
        assert!(r.summary.is_object(), "{}", kind.as_str());
        let expected_rows = match kind {
            ReportKind::Calls => 2,
            ReportKind::Containment => 1,
            ReportKind::Csat => 5,
            _ => 0,
        };
        assert_eq!(r.rows.len(), expected_rows, "{}", kind.as_str());
    }
    let summary = |kind| report(&store, kind, &range(2, json!({}))).summary;
    let r = report(&store, ReportKind::Calls, &range(2, json!({})));
    let zeros = json!([
        ["2024-03-01", 0, 0, 0, 0, 0, 0, 0, 0],
        ["2024-03-02", 0, 0, 0, 0, 0, 0, 0, 0]
    ]);
    assert_eq!(json!(r.rows), zeros);
    assert_eq!(
        summary(ReportKind::Containment)["containment_rate"],
        json!(0.0)
    );
    let csat = json!({ "responses": 0, "average": null, "satisfied_share": 0.0 });
    assert_eq!(summary(ReportKind::Csat), csat);
    assert_eq!(summary(ReportKind::Quality)["average_score"], json!(null));
    assert_eq!(summary(ReportKind::Queues)["avg_wait_secs"], json!(null));

    // Default range: the seven days up to now, in day buckets.
    let r = report(&store, ReportKind::Calls, &ReportQuery::default());
    assert!((7..=8).contains(&r.rows.len()), "{} buckets", r.rows.len());
}

#[test]
fn bad_ranges_are_refused() {
    let (_dir, store) = db();
    let refused = |q: ReportQuery| match store.report(ReportKind::Calls, &q) {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("expected invalid, got {other:?}"),
    };
    let empty = from(json!({ "from": T0, "to": T0 }));
    assert!(refused(empty).contains("empty"));
    assert!(refused(range(1, json!({ "tz_offset_min": 1440 }))).contains("tz_offset_min"));
    let ancient = from(json!({ "from": i64::MIN, "to": T0 }));
    assert!(refused(ancient).contains("outside"));
    // 100 days of hours is 2400 buckets; 80 days is 1920.
    let hours = |days| range(days, json!({ "bucket": "hour" }));
    assert!(refused(hours(100)).contains("2400 buckets"));
    assert_eq!(
        report(&store, ReportKind::Calls, &hours(80)).rows.len(),
        1920
    );
}
