//! The delivery loop of one endpoint: strictly in outbox order, one event
//! at a time, progress kept in the store as an [`EndpointState`].
//!
//! The loop reads events after `delivered_seq`, skips the kinds the
//! endpoint does not subscribe to, and posts the next one until it is
//! delivered (2xx) or given up (still failing `give_up` after its first
//! failure, then recorded with `webhook_dead`). Every change of progress is
//! saved before the loop moves on; a store error is logged and the save
//! retried, so `delivered_seq` never passes an event that was neither
//! delivered nor given up. A restart resumes from the saved state: at least
//! once, the event in flight at the stop may be sent again under the same
//! `Idempotency-Key`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::backoff;
use super::deliver::{self, Sender};
use super::EndpointStatus;
use crate::config::{WebhookRetrySettings, WebhookSettings};
use crate::storage::{now_millis, EndpointState, Millis, OutboxEvent, Store, StoreResult};

/// How often an idle endpoint looks for new events without being woken.
const POLL: Duration = Duration::from_secs(1);
/// How long to wait before retrying a failed store call.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Events read from the outbox at once.
const BATCH: u32 = 100;

/// How one event ended.
enum Done {
    /// Delivered or given up; progress saved.
    Passed,
    /// The dispatcher is stopping.
    Cancelled,
}

/// One endpoint's task.
pub(super) struct Worker {
    pub(super) store: Arc<dyn Store>,
    pub(super) endpoint: WebhookSettings,
    pub(super) retry: WebhookRetrySettings,
    pub(super) cancel: CancellationToken,
    pub(super) wake: Arc<Notify>,
    pub(super) status: Arc<Mutex<EndpointStatus>>,
}

impl Worker {
    /// Runs until the cancel token fires.
    pub(super) async fn run(self) {
        let Some(sender) = self.sender().await else {
            return;
        };
        let Some(mut state) = self.load().await else {
            return;
        };
        // Only the attempt count survives a restart; the first failure is
        // put back where the waits it caused began.
        let mut first_failure = (state.attempts > 0).then(|| {
            let waited = backoff::elapsed(&self.retry, attempts_u32(state.attempts));
            state.next_attempt_at - millis(waited)
        });
        loop {
            let after = state.delivered_seq;
            let Some((batch, head)) = self
                .store_call("read the outbox", move |s| {
                    Ok((s.outbox_after(after, BATCH)?, s.outbox_head()?))
                })
                .await
            else {
                return;
            };
            self.show(&state, Some(head));
            if batch.is_empty() {
                if !self.idle().await {
                    return;
                }
                continue;
            }
            let mut skipped = false;
            for event in batch {
                if !self.endpoint.events.contains(&event.event.kind) {
                    // Failures saved for this seq under an older list of
                    // kinds no longer matter.
                    pass(&mut state, event.seq);
                    first_failure = None;
                    skipped = true;
                    continue;
                }
                match self
                    .deliver(&sender, &event, &mut state, &mut first_failure)
                    .await
                {
                    Done::Passed => skipped = false,
                    Done::Cancelled => return,
                }
            }
            if skipped && !self.save(&state).await {
                return;
            }
            self.show(&state, None);
        }
    }

    /// Posts `event` until it is delivered or given up.
    async fn deliver(
        &self,
        sender: &Sender,
        event: &OutboxEvent,
        state: &mut EndpointState,
        first_failure: &mut Option<Millis>,
    ) -> Done {
        let name = &self.endpoint.name;
        let body = deliver::body(event);
        loop {
            if state.attempts > 0 {
                let wait = state.next_attempt_at.saturating_sub(now_millis());
                let wait = Duration::from_millis(u64::try_from(wait).unwrap_or(0));
                if !self.sleep(wait.min(self.retry.max)).await {
                    return Done::Cancelled;
                }
            }
            let attempt = attempts_u32(state.attempts).saturating_add(1);
            let now = now_millis();
            let sent = tokio::select! {
                r = sender.post(event, &body, attempt, now / 1000) => r,
                () = self.cancel.cancelled() => return Done::Cancelled,
            };
            match sent {
                Ok(status) => {
                    tracing::debug!(endpoint = %name, seq = event.seq, status, attempt, "webhook delivered");
                    *first_failure = None;
                    pass(state, event.seq);
                    if !self.save(state).await {
                        return Done::Cancelled;
                    }
                    self.count(|s| s.delivered += 1);
                    self.show(state, None);
                    return Done::Passed;
                }
                Err(failure) => {
                    let now = now_millis();
                    let first = *first_failure.get_or_insert(now);
                    state.attempts = state.attempts.saturating_add(1);
                    state.last_error = Some(failure.to_string());
                    self.count(|s| s.failed += 1);
                    if now.saturating_sub(first) >= millis(self.retry.give_up) {
                        *first_failure = None;
                        return self.give_up(event, state, &failure.to_string()).await;
                    }
                    let wait =
                        backoff::delay(&self.retry, attempts_u32(state.attempts), backoff::draw());
                    state.next_attempt_at = now.saturating_add(millis(wait));
                    tracing::warn!(
                        endpoint = %name, seq = event.seq, attempt, error = %failure,
                        retry_in_ms = millis(wait), "webhook delivery failed"
                    );
                    if !self.save(state).await {
                        return Done::Cancelled;
                    }
                    self.show(state, None);
                }
            }
        }
    }

    /// Records `event` as dead and moves past it.
    async fn give_up(&self, event: &OutboxEvent, state: &mut EndpointState, error: &str) -> Done {
        tracing::warn!(
            endpoint = %self.endpoint.name, seq = event.seq, attempts = state.attempts,
            error, "webhook event given up"
        );
        let (endpoint, seq, error) = (self.endpoint.name.clone(), event.seq, error.to_string());
        let recorded = self
            .store_call("record a dead webhook event", move |s| {
                s.webhook_dead(&endpoint, seq, &error, now_millis())
            })
            .await;
        if recorded.is_none() {
            return Done::Cancelled;
        }
        pass(state, event.seq);
        if !self.save(state).await {
            return Done::Cancelled;
        }
        self.count(|s| s.dead += 1);
        self.show(state, None);
        Done::Passed
    }

    /// The endpoint's HTTP client, retried while it cannot be built.
    async fn sender(&self) -> Option<Sender> {
        loop {
            match Sender::new(&self.endpoint) {
                Ok(sender) => return Some(sender),
                Err(e) => {
                    tracing::error!(endpoint = %self.endpoint.name, error = %e, "webhook client failed");
                    self.count(|s| s.last_error = Some(e.clone()));
                    if !self.sleep(STORE_RETRY).await {
                        return None;
                    }
                }
            }
        }
    }

    /// The saved state; an endpoint seen for the first time starts at the
    /// outbox head (events queued before it existed are not its business).
    async fn load(&self) -> Option<EndpointState> {
        let name = self.endpoint.name.clone();
        let (state, fresh) = self
            .store_call("load the endpoint state", move |s| {
                match s.endpoint_state(&name)? {
                    Some(state) => Ok((state, false)),
                    None => {
                        let state = EndpointState {
                            endpoint: name.clone(),
                            delivered_seq: s.outbox_head()?,
                            attempts: 0,
                            next_attempt_at: 0,
                            last_error: None,
                        };
                        s.put_endpoint_state(&state)?;
                        Ok((state, true))
                    }
                }
            })
            .await?;
        if fresh {
            tracing::info!(
                endpoint = %self.endpoint.name, seq = state.delivered_seq,
                "new webhook endpoint starts at the outbox head"
            );
        } else {
            tracing::info!(
                endpoint = %self.endpoint.name, seq = state.delivered_seq,
                attempts = state.attempts, "webhook endpoint resumes"
            );
        }
        self.show(&state, None);
        Some(state)
    }

    /// Saves `state`, retrying store errors; false when cancelled first.
    async fn save(&self, state: &EndpointState) -> bool {
        let state = state.clone();
        self.store_call("save the endpoint state", move |s| {
            s.put_endpoint_state(&state)
        })
        .await
        .is_some()
    }

    /// Runs a blocking store call off the runtime, retrying errors every
    /// [`STORE_RETRY`]; `None` once cancelled.
    async fn store_call<T, F>(&self, what: &'static str, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: Fn(&dyn Store) -> StoreResult<T> + Clone + Send + 'static,
    {
        loop {
            let (store, call) = (Arc::clone(&self.store), f.clone());
            let error = match tokio::task::spawn_blocking(move || call(store.as_ref())).await {
                Ok(Ok(value)) => return Some(value),
                Ok(Err(e)) => e.to_string(),
                Err(e) => format!("store call ended abnormally: {e}"),
            };
            tracing::error!(endpoint = %self.endpoint.name, error = %error, "webhooks could not {what}; retrying");
            self.count(|s| s.last_error = Some(error.clone()));
            if !self.sleep(STORE_RETRY).await {
                return None;
            }
        }
    }

    /// Waits for a wake, the poll interval or cancellation; false when
    /// cancelled.
    async fn idle(&self) -> bool {
        tokio::select! {
            () = self.wake.notified() => true,
            () = tokio::time::sleep(POLL) => true,
            () = self.cancel.cancelled() => false,
        }
    }

    /// Sleeps `wait`, waking early only on cancellation (then false).
    async fn sleep(&self, wait: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(wait) => true,
            () = self.cancel.cancelled() => false,
        }
    }

    /// Mirrors `state` (and the outbox head, when known) into the status.
    fn show(&self, state: &EndpointState, head: Option<i64>) {
        self.count(|s| {
            if let Some(head) = head {
                s.head = head;
            }
            s.head = s.head.max(state.delivered_seq);
            s.delivered_seq = state.delivered_seq;
            s.backlog = s.head - state.delivered_seq;
            s.attempts = state.attempts;
            s.last_error.clone_from(&state.last_error);
            s.next_attempt_at = (state.attempts > 0).then_some(state.next_attempt_at);
        });
    }

    fn count(&self, f: impl FnOnce(&mut EndpointStatus)) {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut status);
    }
}

/// Moves `state` past `seq` with a clean slate for the next event.
fn pass(state: &mut EndpointState, seq: i64) {
    state.delivered_seq = seq;
    state.attempts = 0;
    state.next_attempt_at = 0;
    state.last_error = None;
}

fn attempts_u32(attempts: i64) -> u32 {
    u32::try_from(attempts.max(0)).unwrap_or(u32::MAX)
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}
