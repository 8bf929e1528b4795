//! What the API handlers share: the store, the metrics, the running
//! dialplan's status and file, the data folder, the webhook status, and,
//! when routing runs, the [`Desk`] (routing seen from the API), the
//! [`Live`] feed and the agents' console sessions.
//!
//! Store methods block (SQLite), so handlers call them through
//! [`ApiState::db`], which runs them on tokio's blocking pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::error::{ApiError, ApiResult};
use super::sessions::Sessions;
use crate::dialplan::watch::SharedStatus;
use crate::live::Live;
pub use crate::live::{DeskAgent, DeskQueue, DeskSnapshot, LiveCall, Waiting};
use crate::runtime::metrics::Metrics;
use crate::storage::{Store, StoreResult};

/// Delivery status of the webhooks, as `GET /api/webhooks` shows it.
pub trait WebhookStatus: Send + Sync + std::fmt::Debug {
    /// The status as JSON (may block briefly on the store).
    fn status(&self) -> serde_json::Value;
}

/// A [`WebhookStatus`] read from the store: per endpoint, how far delivery
/// has come through the outbox and the last failure.
#[derive(Debug, Clone)]
pub struct OutboxStatus {
    /// The store holding the outbox.
    pub store: Arc<dyn Store>,
    /// The configured endpoints' names.
    pub endpoints: Vec<String>,
}

impl WebhookStatus for OutboxStatus {
    fn status(&self) -> serde_json::Value {
        let head = self.store.outbox_head();
        let endpoints: Vec<serde_json::Value> = self
            .endpoints
            .iter()
            .map(|name| match (&self.store.endpoint_state(name), &head) {
                (Ok(state), Ok(head)) => {
                    let delivered = state.as_ref().map_or(0, |s| s.delivered_seq);
                    serde_json::json!({
                        "endpoint": name,
                        "pending": (head - delivered).max(0),
                        "state": state,
                    })
                }
                (Err(e), _) | (_, Err(e)) => serde_json::json!({
                    "endpoint": name,
                    "error": e.to_string(),
                }),
            })
            .collect();
        serde_json::json!({
            "outbox_head": head.ok(),
            "endpoints": endpoints,
        })
    }
}

/// A [`WebhookStatus`] from a function, such as one reading
/// `webhooks::Dispatcher::status` (shown as `{"endpoints": [...]}`).
pub struct StatusFn<F>(pub F);

impl<F> std::fmt::Debug for StatusFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusFn")
    }
}

impl<F: Fn() -> serde_json::Value + Send + Sync> WebhookStatus for StatusFn<F> {
    fn status(&self) -> serde_json::Value {
        (self.0)()
    }
}

/// Readiness of the process: whether it takes calls, and why not
/// (`runtime::ready::Readiness` implements it).
pub trait Readiness: Send + Sync + std::fmt::Debug {
    /// `(ready, the body of /readyz)`.
    fn check(&self) -> (bool, serde_json::Value);
}

/// Routing as the API sees it: agents, queues and live calls, and what an
/// agent may change (the ACD implements it; the API never decides routing).
pub trait Desk: Send + Sync {
    /// Agents, queues with their waiting callers, and live calls, now.
    fn snapshot(&self) -> DeskSnapshot;
    /// Sets an agent's presence: `ready`, `away` or `offline`. The error
    /// says why not (unknown agent, on a call…).
    fn set_presence(&self, agent: &str, presence: &str) -> Result<(), String>;
    /// Whether `password` is the agent's console password.
    fn login(&self, agent: &str, password: &str) -> bool;
    /// Ends the agent's wrap-up: they are ready for the next call.
    fn wrap_up_done(&self, agent: &str) -> Result<(), String>;
}

/// The handlers' shared state.
#[derive(Clone)]
pub struct ApiState {
    /// Durable records.
    pub store: Arc<dyn Store>,
    /// Process counters (`/metrics`, active calls).
    pub metrics: Arc<Metrics>,
    /// The running flow dialplan's status, when one runs.
    pub dialplans: Option<SharedStatus>,
    /// The running flow dialplan's main file (uploads go to its folder).
    pub dialplan_file: Option<PathBuf>,
    /// The data folder (recording paths may be relative to it).
    pub data_dir: PathBuf,
    /// Webhook delivery status, when webhooks are configured.
    pub webhooks: Option<Arc<dyn WebhookStatus>>,
    /// The process's readiness (`serve` sets it); without it `/readyz`
    /// checks the store and the dialplan itself.
    pub readiness: Option<Arc<dyn Readiness>>,
    /// When the process started (for uptime).
    pub started: Instant,
    /// Routing, when it runs; without it the desk routes answer 503.
    pub desk: Option<Arc<dyn Desk>>,
    /// The live feed, when it runs; without it `/api/live` answers 503.
    pub live: Option<Live>,
    /// Agents' console sessions (in memory: a restart signs them out).
    pub sessions: Sessions,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store)
            .field("data_dir", &self.data_dir)
            .field("dialplan_file", &self.dialplan_file)
            .field("desk", &self.desk.is_some())
            .field("live", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// State with a store, metrics and data folder; the rest unset.
    pub fn new(store: Arc<dyn Store>, metrics: Arc<Metrics>, data_dir: PathBuf) -> ApiState {
        ApiState {
            store,
            metrics,
            dialplans: None,
            dialplan_file: None,
            data_dir,
            webhooks: None,
            readiness: None,
            started: Instant::now(),
            desk: None,
            live: None,
            sessions: Sessions::default(),
        }
    }

    /// The same state with the running flow dialplan's status and file.
    pub fn with_dialplan(mut self, status: SharedStatus, file: PathBuf) -> ApiState {
        self.dialplans = Some(status);
        self.dialplan_file = Some(file);
        self
    }

    /// The same state with webhook status.
    pub fn with_webhooks(mut self, webhooks: Arc<dyn WebhookStatus>) -> ApiState {
        self.webhooks = Some(webhooks);
        self
    }

    /// The same state with a readiness check.
    pub fn with_readiness(mut self, readiness: Arc<dyn Readiness>) -> ApiState {
        self.readiness = Some(readiness);
        self
    }

    /// The same state with routing and its live feed.
    pub fn with_desk(mut self, desk: Arc<dyn Desk>, live: Live) -> ApiState {
        self.desk = Some(desk);
        self.live = Some(live);
        self
    }

    /// The desk, or 503 when routing does not run.
    pub fn desk(&self) -> ApiResult<Arc<dyn Desk>> {
        self.desk.clone().ok_or_else(not_running)
    }

    /// The live feed, or 503 when routing does not run.
    pub fn live(&self) -> ApiResult<Live> {
        self.live.clone().ok_or_else(not_running)
    }

    /// Runs a store call on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| ApiError::internal("storage task failed", e))?
            .map_err(ApiError::from)
    }

    /// Runs a desk call on the blocking pool (the desk may take a lock).
    pub async fn on_desk<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Desk) -> ApiResult<T> + Send + 'static,
    {
        let desk = self.desk()?;
        ApiState::blocking(move || f(desk.as_ref())).await
    }

    /// Runs blocking work (file system, dialplan loading) off the async
    /// threads.
    pub async fn blocking<T, F>(f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> ApiResult<T> + Send + 'static,
    {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ApiError::internal("background task failed", e))?
    }
}

/// 503: the routes of the desk need routing.
fn not_running() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "routing is not running",
    )
}
