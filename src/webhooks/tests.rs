//! The delivery loop against a store that fails: progress is retried, never
//! skipped, and the next event waits until the last one's progress is saved.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio_util::sync::CancellationToken;

use super::Dispatcher;
use crate::config::{WebhookRetrySettings, WebhookSettings};
use crate::storage::*;

/// An outbox and endpoint states in memory; fails on demand.
#[derive(Debug, Default)]
struct FlakyStore {
    outbox: Mutex<Vec<OutboxEvent>>,
    state: Mutex<Option<EndpointState>>,
    /// Fail this many saves of the endpoint state.
    fail_puts: AtomicUsize,
    /// Fail this many outbox reads.
    fail_reads: AtomicUsize,
}

fn fail(counter: &AtomicUsize, what: &str) -> StoreResult<()> {
    match counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
        Ok(_) => Err(StoreError::Backend(format!("disk I/O error during {what}"))),
        Err(_) => Ok(()),
    }
}

fn unsupported<T>() -> StoreResult<T> {
    Err(StoreError::Invalid("not kept by this store".into()))
}

impl FlakyStore {
    fn saved_seq(&self) -> i64 {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.as_ref().map_or(-1, |s| s.delivered_seq)
    }
}

impl Store for FlakyStore {
    fn apply(&self, batch: &[Write]) -> StoreResult<()> {
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        for write in batch {
            if let Write::Outbox(event) = write {
                let seq = outbox.len() as i64 + 1;
                outbox.push(OutboxEvent {
                    seq,
                    event: event.clone(),
                });
            }
        }
        Ok(())
    }
    fn outbox_after(&self, seq: i64, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
        fail(&self.fail_reads, "outbox read")?;
        let outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        let after = outbox.iter().filter(|e| e.seq > seq);
        Ok(after.take(limit as usize).cloned().collect())
    }
    fn outbox_head(&self) -> StoreResult<i64> {
        Ok(self.outbox.lock().unwrap_or_else(|p| p.into_inner()).len() as i64)
    }
    fn endpoint_state(&self, _endpoint: &str) -> StoreResult<Option<EndpointState>> {
        Ok(self.state.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
    fn put_endpoint_state(&self, state: &EndpointState) -> StoreResult<()> {
        fail(&self.fail_puts, "state save")?;
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.clone());
        Ok(())
    }
    fn webhook_dead(&self, _: &str, _: i64, _: &str, _: Millis) -> StoreResult<()> {
        Ok(())
    }
    fn close_interrupted(&self, _: Millis) -> StoreResult<Vec<String>> {
        unsupported()
    }
    fn search_calls(&self, _: &CallQuery) -> StoreResult<Vec<CallSummary>> {
        unsupported()
    }
    fn call(&self, _: &str) -> StoreResult<CallDetail> {
        unsupported()
    }
    fn recording(&self, _: &str) -> StoreResult<Recording> {
        unsupported()
    }
    fn review_qa(&self, _: &str, _: &QaReview) -> StoreResult<QaRecord> {
        unsupported()
    }
    fn agents(&self) -> StoreResult<Vec<Agent>> {
        unsupported()
    }
    fn put_agent(&self, _: &Agent) -> StoreResult<()> {
        unsupported()
    }
    fn delete_agent(&self, _: &str) -> StoreResult<()> {
        unsupported()
    }
    fn queues(&self) -> StoreResult<Vec<Queue>> {
        unsupported()
    }
    fn put_queue(&self, _: &Queue) -> StoreResult<()> {
        unsupported()
    }
    fn delete_queue(&self, _: &str) -> StoreResult<()> {
        unsupported()
    }
    fn put_queue_entry(&self, _: &QueueEntry) -> StoreResult<()> {
        unsupported()
    }
    fn put_agent_leg(&self, _: &AgentLeg) -> StoreResult<()> {
        unsupported()
    }
    fn campaigns(&self) -> StoreResult<Vec<Campaign>> {
        unsupported()
    }
    fn put_campaign(&self, _: &Campaign) -> StoreResult<()> {
        unsupported()
    }
    fn add_contacts(&self, _: &[Contact]) -> StoreResult<Vec<i64>> {
        unsupported()
    }
    fn contacts(&self, _: &str) -> StoreResult<Vec<Contact>> {
        unsupported()
    }
    fn put_attempt(&self, _: &Attempt) -> StoreResult<()> {
        unsupported()
    }
    fn customer(&self, _: &str) -> StoreResult<Customer> {
        unsupported()
    }
    fn put_customer(&self, _: &Customer) -> StoreResult<()> {
        unsupported()
    }
    fn report(&self, _: ReportKind, _: &ReportQuery) -> StoreResult<Report> {
        unsupported()
    }
    fn create_api_key(&self, _: &str, _: Role, _: &str, _: Millis) -> StoreResult<ApiKey> {
        unsupported()
    }
    fn api_key_by_hash(&self, _: &str, _: Millis) -> StoreResult<Option<ApiKey>> {
        unsupported()
    }
    fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        unsupported()
    }
    fn revoke_api_key(&self, _: i64) -> StoreResult<()> {
        unsupported()
    }
}

/// What the receiver saw: each event's key with the progress saved in the
/// store when it arrived.
type Seen = Arc<Mutex<Vec<(String, i64)>>>;

async fn receive(
    State((store, seen)): State<(Arc<FlakyStore>, Seen)>,
    headers: HeaderMap,
) -> StatusCode {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let saved = store.saved_seq();
    seen.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((key, saved));
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_errors_delay_delivery_but_never_skip_an_event() {
    let store = Arc::new(FlakyStore::default());
    let seeded = EndpointState {
        endpoint: "erp".into(),
        delivered_seq: 0,
        attempts: 0,
        next_attempt_at: 0,
        last_error: None,
    };
    store.put_endpoint_state(&seeded).expect("seed");
    for i in 1..=3 {
        let event = NewOutboxEvent {
            key: format!("disposition:{i}"),
            kind: "disposition".into(),
            payload: serde_json::json!({ "i": i }),
            at: 1,
        };
        store.apply(&[Write::Outbox(event)]).expect("enqueue");
    }
    store.fail_reads.store(1, Ordering::SeqCst);
    store.fail_puts.store(2, Ordering::SeqCst);

    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/", post(receive))
        .with_state((Arc::clone(&store), Arc::clone(&seen)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let cancel = CancellationToken::new();
    let endpoint = WebhookSettings {
        name: "erp".into(),
        url: format!("http://{addr}/"),
        secret: "0123456789abcdef".into(),
        events: vec!["disposition".into()],
        timeout: Duration::from_secs(10),
    };
    let retry = WebhookRetrySettings {
        first: Duration::from_millis(10),
        max: Duration::from_millis(100),
        give_up: Duration::from_secs(3600),
    };
    let store_dyn: Arc<dyn Store> = store.clone();
    let d = Dispatcher::start(store_dyn, vec![endpoint], retry, cancel.clone());
    let limit = Instant::now() + Duration::from_secs(60);
    while store.saved_seq() != 3 {
        assert!(Instant::now() < limit, "progress never reached 3");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let keys: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["disposition:1", "disposition:2", "disposition:3"]);
    // Each event went out only once the one before it was saved.
    let saved: Vec<i64> = seen.iter().map(|(_, s)| *s).collect();
    assert_eq!(saved, [0, 1, 2]);
    assert_eq!(d.status()[0].delivered, 3);
    cancel.cancel();
    d.join().await;
}
