//! Webhook delivery: events from the durable outbox to each configured
//! endpoint, at least once, in outbox order, signed.
//!
//! An event is queued with `storage::Write::Outbox` in the same transaction
//! as the change it reports, so nothing is announced that did not happen and
//! nothing that happened goes unannounced. The [`Dispatcher`] runs one task
//! per endpoint (see `endpoint`): it posts the next event the endpoint
//! subscribes to, and on any failure (non-2xx, timeout, connection error)
//! retries it with exponential backoff ([`backoff`]) until it is delivered or
//! has failed for longer than `give_up`, when it is recorded as dead and
//! passed. Progress lives in the store ([`crate::storage::EndpointState`]),
//! so a restart resumes where delivery stopped; the event in flight at a
//! stop may arrive twice, under the same `Idempotency-Key`.
//!
//! Requests and signatures are described in [`deliver`] and [`mod@sign`];
//! receivers verify with [`sign::verify`] or its equivalent in their
//! language. Logs name the endpoint, seq, status and attempt, never the
//! secret or the payload.
//!
//! What this module does not do: decide which events exist (the code that
//! records a change queues them) or keep events forever (the store prunes).

pub mod backoff;
pub mod deliver;
mod endpoint;
pub mod sign;

use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{WebhookRetrySettings, WebhookSettings};
use crate::storage::{Millis, Store};

pub use sign::{sign, verify, SignatureError};

/// Where one endpoint's delivery stands, for the API and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointStatus {
    /// The endpoint's name in the configuration.
    pub name: String,
    /// Where it is posted.
    pub url: String,
    /// Every event up to this outbox seq is delivered, skipped or given up.
    pub delivered_seq: i64,
    /// The highest outbox seq the endpoint has seen.
    pub head: i64,
    /// Events after `delivered_seq` (of every kind): `head - delivered_seq`.
    pub backlog: i64,
    /// Failed attempts at the next event.
    pub attempts: i64,
    /// The last failure (of the next event, or of the store).
    pub last_error: Option<String>,
    /// When the next event is tried again, while it is failing.
    pub next_attempt_at: Option<Millis>,
    /// Events delivered since start.
    pub delivered: u64,
    /// Failed attempts since start.
    pub failed: u64,
    /// Events given up since start.
    pub dead: u64,
}

/// A cheap, cloneable handle that nudges every endpoint task to look at the
/// outbox now; callable from any thread.
#[derive(Debug, Clone, Default)]
pub struct Wake {
    notifies: Arc<Vec<Arc<Notify>>>,
}

impl Wake {
    /// Nudges every endpoint after new outbox rows were committed. A nudge
    /// given while a task is busy is kept until it next waits.
    pub fn wake(&self) {
        for notify in self.notifies.iter() {
            notify.notify_one();
        }
    }
}

/// Reads the endpoints' delivery status; see [`Dispatcher::monitor`].
#[derive(Debug, Clone)]
pub struct Monitor {
    statuses: Vec<Arc<Mutex<EndpointStatus>>>,
}

impl Monitor {
    /// Each endpoint's status, in configuration order.
    pub fn status(&self) -> Vec<EndpointStatus> {
        self.statuses
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }
}

impl crate::api::state::WebhookStatus for Monitor {
    fn status(&self) -> serde_json::Value {
        serde_json::json!({ "endpoints": Monitor::status(self) })
    }
}

/// The delivery tasks of every endpoint.
#[derive(Debug)]
pub struct Dispatcher {
    wake: Wake,
    statuses: Vec<Arc<Mutex<EndpointStatus>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Dispatcher {
    /// Spawns one task per endpoint on the current tokio runtime (call it
    /// from within one). The tasks run until `cancel` fires; each also
    /// polls the outbox every second, so [`Dispatcher::wake`] only saves
    /// latency.
    pub fn start(
        store: Arc<dyn Store>,
        endpoints: Vec<WebhookSettings>,
        retry: WebhookRetrySettings,
        cancel: CancellationToken,
    ) -> Dispatcher {
        let mut notifies = Vec::with_capacity(endpoints.len());
        let mut statuses = Vec::with_capacity(endpoints.len());
        let mut tasks = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let wake = Arc::new(Notify::new());
            let status = Arc::new(Mutex::new(EndpointStatus {
                name: endpoint.name.clone(),
                url: endpoint.url.clone(),
                ..EndpointStatus::default()
            }));
            let worker = endpoint::Worker {
                store: Arc::clone(&store),
                endpoint,
                retry,
                cancel: cancel.clone(),
                wake: Arc::clone(&wake),
                status: Arc::clone(&status),
            };
            tasks.push(tokio::spawn(worker.run()));
            notifies.push(wake);
            statuses.push(status);
        }
        Dispatcher {
            wake: Wake {
                notifies: Arc::new(notifies),
            },
            statuses,
            tasks,
        }
    }

    /// Nudges every endpoint task to look at the outbox now.
    pub fn wake(&self) {
        self.wake.wake();
    }

    /// A handle for [`Dispatcher::wake`] to give to the code that commits
    /// outbox rows.
    pub fn waker(&self) -> Wake {
        self.wake.clone()
    }

    /// Every endpoint's delivery status, in configuration order.
    pub fn status(&self) -> Vec<EndpointStatus> {
        self.monitor().status()
    }

    /// A handle that reads the endpoints' status after the dispatcher
    /// moved on (for the API and the metrics).
    pub fn monitor(&self) -> Monitor {
        Monitor {
            statuses: self.statuses.clone(),
        }
    }

    /// Waits until every task has stopped (after the cancel token fired).
    pub async fn join(self) {
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "webhook task ended abnormally");
            }
        }
    }
}

#[cfg(test)]
mod tests;
