//! Webhook delivery against a real HTTP receiver on 127.0.0.1 and a real
//! SQLite outbox: order, signatures and headers, retries with the same
//! idempotency key, a receiver that is down and comes back, a restart in
//! the middle of a backlog, giving up on an event, unsubscribed kinds and
//! where a new endpoint starts.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use kefu::config::{WebhookRetrySettings, WebhookSettings};
use kefu::storage::sqlite::SqliteStore;
use kefu::storage::{now_millis, EndpointState, NewOutboxEvent, Store, Write};
use kefu::webhooks::{self, Dispatcher};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "test-secret-0123456789";
const NAME: &str = "crm";

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Got {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn key(&self) -> String {
        self.header("idempotency-key").to_string()
    }

    fn attempt(&self) -> u32 {
        self.header("kefu-delivery-attempt").parse().unwrap_or(0)
    }
}

/// How the receiver answers.
#[derive(Default)]
struct Plan {
    /// Answer 503 to this many requests first.
    fail_first: AtomicUsize,
    /// Answer 500 to every request for this key.
    poison: Option<String>,
    /// Wait this long before answering.
    delay: Duration,
    /// Fire this token when the request with this number (from 1) arrives.
    stop_at: Option<(usize, CancellationToken)>,
    got: Mutex<Vec<Got>>,
}

impl Plan {
    fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }

    /// Idempotency keys in order of first arrival.
    fn keys(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.got()
            .iter()
            .map(Got::key)
            .filter(|k| seen.insert(k.clone()))
            .collect()
    }
}

async fn receive(State(plan): State<Arc<Plan>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let got = Got {
        headers,
        body: body.to_vec(),
    };
    let poisoned = plan.poison.as_deref() == Some(got.key().as_str());
    let n = {
        let mut all = plan.got.lock().expect("lock");
        all.push(got);
        all.len()
    };
    if let Some((_, stop)) = plan.stop_at.as_ref().filter(|(at, _)| *at == n) {
        stop.cancel();
    }
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let failing = plan
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if poisoned {
        StatusCode::INTERNAL_SERVER_ERROR
    } else if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Serves `plan` on `listener` until the test ends.
fn serve(listener: TcpListener, plan: Arc<Plan>) -> SocketAddr {
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route("/hook", post(receive)).with_state(plan);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn receiver(plan: Plan) -> (SocketAddr, Arc<Plan>) {
    let plan = Arc::new(plan);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    (serve(listener, Arc::clone(&plan)), plan)
}

fn endpoint(addr: SocketAddr, events: &[&str]) -> WebhookSettings {
    WebhookSettings {
        name: NAME.into(),
        url: format!("http://{addr}/hook"),
        secret: SECRET.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        timeout: Duration::from_secs(10),
    }
}

const ALL: [&str; 5] = kefu::config::WEBHOOK_EVENTS;

fn quick_retry(give_up: Duration) -> WebhookRetrySettings {
    WebhookRetrySettings {
        first: Duration::from_millis(20),
        max: Duration::from_millis(200),
        give_up,
    }
}

fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).expect("open store"))
}

/// Makes the endpoint start at the beginning of the outbox.
fn from_start(store: &Arc<dyn Store>) {
    store
        .put_endpoint_state(&EndpointState {
            endpoint: NAME.into(),
            delivered_seq: 0,
            attempts: 0,
            next_attempt_at: 0,
            last_error: None,
        })
        .expect("seed state");
}

/// Queues events of `kind`, keys `<kind>:<prefix><i>`; returns the keys.
fn enqueue(store: &Arc<dyn Store>, kind: &str, prefix: &str, n: usize) -> Vec<String> {
    let keys: Vec<String> = (0..n).map(|i| format!("{kind}:{prefix}{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        let event = NewOutboxEvent {
            key: key.clone(),
            kind: kind.into(),
            payload: json!({"n": i, "prefix": prefix}),
            at: now_millis(),
        };
        store.apply(&[Write::Outbox(event)]).expect("enqueue");
    }
    keys
}

/// Polls `cond` until it holds; fails the test after a generous limit.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let limit = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < limit, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn state(store: &Arc<dyn Store>) -> EndpointState {
    store
        .endpoint_state(NAME)
        .expect("state")
        .expect("state exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_in_order_signed_with_the_documented_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("kefu.db"));
    from_start(&store);
    let (addr, plan) = receiver(Plan::default()).await;
    let keys = enqueue(&store, "call.ended", "a", 5);
    let cancel = CancellationToken::new();
    let d = Dispatcher::start(
        Arc::clone(&store),
        vec![endpoint(addr, &ALL)],
        quick_retry(Duration::from_secs(3600)),
        cancel.clone(),
    );
    d.wake();
    until("every event arrived", || plan.got().len() >= 5).await;
    assert_eq!(plan.keys(), keys);
    let now = now_millis() / 1000;
    for (i, got) in plan.got().iter().enumerate() {
        assert_eq!(got.header("content-type"), "application/json");
        assert!(got.header("user-agent").starts_with("kefu/"), "{got:?}");
        assert_eq!(got.header("kefu-event"), "call.ended");
        assert_eq!(got.attempt(), 1);
        let signature = got.header("kefu-signature");
        assert_eq!(
            webhooks::verify(SECRET, signature, &got.body, now, 300),
            Ok(())
        );
        assert!(webhooks::verify("another-secret-000", signature, &got.body, now, 300).is_err());
        let body: Value = serde_json::from_slice(&got.body).expect("json body");
        assert_eq!(body["id"], keys[i].as_str());
        assert_eq!(body["type"], "call.ended");
        assert!(body["created_at"].as_i64().is_some_and(|t| t > 0));
        assert_eq!(body["data"], json!({"n": i, "prefix": "a"}));
    }
    until("progress is saved", || state(&store).delivered_seq == 5).await;
    until("the status shows it", || {
        let s = &d.status()[0];
        s.delivered == 5 && s.backlog == 0 && s.delivered_seq == 5
    })
    .await;
    cancel.cancel();
    d.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_the_same_key_and_a_growing_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("kefu.db"));
    from_start(&store);
    let plan = Plan {
        fail_first: AtomicUsize::new(3),
        ..Plan::default()
    };
    let (addr, plan) = receiver(plan).await;
    let keys = enqueue(&store, "call.started", "r", 3);
    let cancel = CancellationToken::new();
    let d = Dispatcher::start(
        Arc::clone(&store),
        vec![endpoint(addr, &ALL)],
        quick_retry(Duration::from_secs(3600)),
        cancel.clone(),
    );
    until("every event arrived", || {
        plan.keys().len() == 3 && plan.got().len() == 6
    })
    .await;
    let got = plan.got();
    let first: Vec<(String, u32)> = got[..4].iter().map(|g| (g.key(), g.attempt())).collect();
    let expected: Vec<(String, u32)> = (1..=4).map(|n| (keys[0].clone(), n)).collect();
    assert_eq!(first, expected);
    // The body is the same bytes on every attempt; only the signature's
    // timestamp may change.
    assert!(got[..4].iter().all(|g| g.body == got[0].body));
    assert_eq!(plan.keys(), keys);
    assert!(got[4..].iter().all(|g| g.attempt() == 1));
    until("progress is saved", || state(&store).delivered_seq == 3).await;
    let s = state(&store);
    assert_eq!((s.attempts, s.last_error), (0, None));
    until("the status counts the failures", || {
        let s = &d.status()[0];
        s.failed == 3 && s.delivered == 3
    })
    .await;
    cancel.cancel();
    d.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_was_down_gets_every_event_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("kefu.db"));
    from_start(&store);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let cancel = CancellationToken::new();
    let d = Dispatcher::start(
        Arc::clone(&store),
        vec![endpoint(addr, &ALL)],
        quick_retry(Duration::from_secs(3600)),
        cancel.clone(),
    );
    let mut keys = enqueue(&store, "call.ended", "d", 4);
    d.wake();
    until("several attempts failed", || d.status()[0].failed >= 3).await;
    let status = d.status()[0].clone();
    assert_eq!(status.delivered_seq, 0);
    assert!(status.last_error.is_some_and(|e| e.contains("connection")));
    assert_eq!(state(&store).delivered_seq, 0);
    keys.extend(enqueue(&store, "disposition", "d", 4));
    d.wake();
    let plan = Arc::new(Plan::default());
    let listener = rebind(addr).await;
    serve(listener, Arc::clone(&plan));
    until("every event arrived", || plan.keys().len() == keys.len()).await;
    assert_eq!(plan.keys(), keys);
    until("progress is saved", || state(&store).delivered_seq == 8).await;
    cancel.cancel();
    d.join().await;
}

/// Binds `addr` again, waiting while the system still holds it.
async fn rebind(addr: SocketAddr) -> TcpListener {
    let limit = Instant::now() + Duration::from_secs(30);
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(e) => assert!(Instant::now() < limit, "cannot bind {addr} again: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_without_losing_or_resending_delivered_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kefu.db");
    let store = open(&path);
    from_start(&store);
    // The first dispatcher is stopped while the fifth event is in flight.
    let cancel = CancellationToken::new();
    let plan = Plan {
        delay: Duration::from_millis(30),
        stop_at: Some((5, cancel.clone())),
        ..Plan::default()
    };
    let (addr, plan) = receiver(plan).await;
    let keys = enqueue(&store, "qa.result", "s", 20);
    let first = Dispatcher::start(
        Arc::clone(&store),
        vec![endpoint(addr, &ALL)],
        quick_retry(Duration::from_secs(3600)),
        cancel.clone(),
    );
    first.join().await;
    let stopped_at = state(&store).delivered_seq;
    let before = plan.got().len();
    assert_eq!((stopped_at, before), (4, 5));
    drop(store);

    let store = open(&path);
    let cancel = CancellationToken::new();
    let second = Dispatcher::start(
        Arc::clone(&store),
        vec![endpoint(addr, &ALL)],
        quick_retry(Duration::from_secs(3600)),
        cancel.clone(),
    );
    until("every event arrived", || plan.keys().len() == 20).await;
    until("progress is saved", || state(&store).delivered_seq == 20).await;
    assert_eq!(plan.keys(), keys);
    let got: Vec<String> = plan.got().iter().map(Got::key).collect();
    // At least once: only the event in flight at the stop may come twice.
    assert!(got.len() <= 21, "{} requests for 20 events", got.len());
    let resent: Vec<&String> = got[before..]
        .iter()
        .filter(|k| got[..before].contains(k))
        .collect();
    assert!(
        resent.iter().all(|k| **k == keys[4]),
        "re-sent {resent:?}, delivered before the stop"
    );
    cancel.cancel();
    second.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_failing_past_give_up_is_recorded_dead_and_passed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kefu.db");
    let store = open(&path);
    from_start(&store);
    let keys = enqueue(&store, "call.transferred", "g", 3);
    let plan = Plan {
        poison: Some(keys[1].clone()),
        ..Plan::default()
    };
    let (addr, plan) = receiver(plan).await;
    let cancel = CancellationToken::new();
    let d = Dispatcher::start(
        Arc::clone(&store),
        vec![endpoint(addr, &ALL)],
        quick_retry(Duration::from_secs(1)),
        cancel.clone(),
    );
    until("the event after the dead one arrived", || {
        plan.keys().len() == 3
    })
    .await;
    assert_eq!(plan.keys(), keys);
    let got = plan.got();
    let poisoned: Vec<&Got> = got.iter().filter(|g| g.key() == keys[1]).collect();
    assert!(poisoned.len() >= 2, "only {} attempts", poisoned.len());
    assert!(got.last().is_some_and(|g| g.key() == keys[2]));
    until("progress is saved", || state(&store).delivered_seq == 3).await;
    until("the status counts one dead event", || {
        let s = &d.status()[0];
        s.dead == 1 && s.delivered == 2
    })
    .await;
    let db = rusqlite::Connection::open(&path).expect("open db");
    let dead: Vec<(String, i64, String)> = db
        .prepare("SELECT endpoint, seq, error FROM webhook_dead")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(dead, [(NAME.to_string(), 2, "HTTP 500".to_string())]);
    cancel.cancel();
    d.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribed_kinds_are_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("kefu.db"));
    from_start(&store);
    let (addr, plan) = receiver(Plan::default()).await;
    let mut wanted = enqueue(&store, "call.ended", "u", 2);
    enqueue(&store, "call.started", "u", 3);
    wanted.extend(enqueue(&store, "call.ended", "v", 1));
    enqueue(&store, "qa.result", "u", 2);
    let cancel = CancellationToken::new();
    let d = Dispatcher::start(
        Arc::clone(&store),
        vec![endpoint(addr, &["call.ended"])],
        quick_retry(Duration::from_secs(3600)),
        cancel.clone(),
    );
    until("everything is passed", || state(&store).delivered_seq == 8).await;
    assert_eq!(plan.keys(), wanted);
    assert_eq!(plan.got().len(), 3);
    until("the status shows no backlog", || d.status()[0].backlog == 0).await;
    cancel.cancel();
    d.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_endpoint_starts_at_the_outbox_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("kefu.db"));
    enqueue(&store, "call.ended", "old", 3);
    let (addr, plan) = receiver(Plan::default()).await;
    let cancel = CancellationToken::new();
    let d = Dispatcher::start(
        Arc::clone(&store),
        vec![endpoint(addr, &ALL)],
        quick_retry(Duration::from_secs(3600)),
        cancel.clone(),
    );
    until("the endpoint is registered", || {
        store.endpoint_state(NAME).ok().flatten().is_some()
    })
    .await;
    assert_eq!(state(&store).delivered_seq, 3);
    let new = enqueue(&store, "call.ended", "new", 2);
    d.wake();
    until("the new events arrived", || plan.keys().len() == 2).await;
    assert_eq!(plan.keys(), new);
    cancel.cancel();
    d.join().await;
}
