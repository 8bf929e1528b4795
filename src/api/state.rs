//! What the API handlers share: the store, the metrics, the running
//! dialplan's status and file, the data folder and the webhook status.
//!
//! Store methods block (SQLite), so handlers call them through
//! [`ApiState::db`], which runs them on tokio's blocking pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::error::{ApiError, ApiResult};
use crate::dialplan::watch::SharedStatus;
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

/// The handlers' shared state.
#[derive(Debug, Clone)]
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
