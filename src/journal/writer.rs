//! Commits the journal's writes: one transaction per batch, retried with
//! growing waits while the store fails, never dropped for a passing
//! failure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runtime::metrics::Metrics;
use crate::storage::{Store, StoreError, Write};

/// Longest wait between retries of a failing store.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// The batch being built and its commit state.
pub(super) struct Writer {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
    batch: Vec<Write>,
    failures: u32,
    next_try: Instant,
}

impl Writer {
    pub(super) fn new(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        wake: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> Writer {
        Writer {
            store,
            metrics,
            wake,
            batch: Vec::new(),
            failures: 0,
            next_try: Instant::now(),
        }
    }

    /// Adds a write to the next commit.
    pub(super) fn push(&mut self, w: Write) {
        self.batch.push(w);
    }

    /// Writes wait for a store that failed.
    pub(super) fn is_pending(&self) -> bool {
        self.failures > 0 && !self.batch.is_empty()
    }

    /// How long until the next retry.
    pub(super) fn retry_in(&self) -> Duration {
        self.next_try.saturating_duration_since(Instant::now())
    }

    /// Commits what is queued, unless a failing store is not due for its
    /// next try yet.
    pub(super) fn commit(&mut self) {
        if self.batch.is_empty() || (self.failures > 0 && Instant::now() < self.next_try) {
            return;
        }
        let wakes = self.batch.iter().any(|w| matches!(w, Write::Outbox(_)));
        let applied = self.store.apply(&self.batch);
        self.metrics.store_write(applied.is_ok());
        match applied {
            Ok(()) => {
                if self.failures > 0 {
                    tracing::info!(
                        writes = self.batch.len(),
                        "store recovered; queued call records written"
                    );
                }
                self.batch.clear();
                self.failures = 0;
                if wakes {
                    if let Some(w) = &self.wake {
                        w();
                    }
                }
            }
            Err(StoreError::Backend(e)) => {
                self.failures += 1;
                let wait = Duration::from_millis(100u64 << self.failures.min(6)).min(MAX_WAIT);
                self.next_try = Instant::now() + wait;
                if self.failures == 1 || self.failures.is_multiple_of(20) {
                    tracing::error!(
                        error = %e,
                        writes = self.batch.len(),
                        retry_ms = wait.as_millis() as u64,
                        "cannot write call records; keeping them and retrying"
                    );
                }
            }
            Err(_) => self.one_by_one(),
        }
    }

    /// A batch the store refused: write what it takes, log what it does
    /// not (a record for a call it never saw).
    fn one_by_one(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        let mut wakes = false;
        for (i, w) in batch.iter().enumerate() {
            match self.store.apply(std::slice::from_ref(w)) {
                Ok(()) => wakes |= matches!(w, Write::Outbox(_)),
                Err(StoreError::Backend(_)) => {
                    // The store itself failed meanwhile: keep the rest.
                    self.batch = batch[i..].to_vec();
                    self.failures = 1;
                    self.next_try = Instant::now() + Duration::from_millis(200);
                    break;
                }
                Err(e) => tracing::warn!(error = %e, write = kind(w), "call record refused"),
            }
        }
        if wakes {
            if let Some(w) = &self.wake {
                w();
            }
        }
    }

    /// At shutdown: keeps retrying a failing store for a while.
    pub(super) fn flush_until_done(&mut self) {
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            self.commit();
            if self.batch.is_empty() {
                return;
            }
            if Instant::now() >= give_up {
                tracing::error!(
                    writes = self.batch.len(),
                    "store still failing at shutdown; these call records are lost"
                );
                return;
            }
            std::thread::sleep(self.retry_in().max(Duration::from_millis(50)));
        }
    }
}

fn kind(w: &Write) -> &'static str {
    match w {
        Write::CallStarted(_) => "call_started",
        Write::Answered { .. } => "answered",
        Write::Line { .. } => "line",
        Write::LineEmotion { .. } => "line_emotion",
        Write::LineIntent { .. } => "line_intent",
        Write::Event { .. } => "event",
        Write::Transfer { .. } => "transfer",
        Write::Tag { .. } => "tag",
        Write::Csat { .. } => "csat",
        Write::Ended { .. } => "ended",
        Write::Recording(_) => "recording",
        Write::Qa { .. } => "qa",
        Write::Disposition(_) => "disposition",
        Write::Outbox(_) => "outbox",
    }
}
