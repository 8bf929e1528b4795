//! The call journal: what happens on calls, on its way to the store.
//!
//! Media workers, signalling and the recorder hand the journal what they
//! see ([`Journal::record`], a channel send that never blocks them); the
//! journal thread turns it into [`crate::storage::Write`] batches, one
//! transaction each, committed as they come: an utterance is on disk once
//! it is transcribed. Each batch carries the webhook events it causes, so
//! the outbox and the change it reports commit together. At a call's end
//! the journal works out its outcome, runs the quality inspection and
//! queues `call.ended` and `qa.result`.
//!
//! A store that fails keeps the batch: it is retried (with the ones behind
//! it) until the store takes it; only writes the store refuses outright
//! (an unknown call) are logged and dropped.

mod calls;
mod qa;
mod writer;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use kefu_core::dialogue::flow::Flow;
use kefu_core::dialogue::Note;
use kefu_core::engine::{CallEvent, CallInfo};
use kefu_core::CallId;

use crate::runtime::metrics::Metrics;
use crate::storage::{now_millis, Millis, Store};

/// Something seen on a call.
#[derive(Debug, Clone)]
pub enum What {
    /// The INVITE was taken: who calls whom.
    Offered {
        /// Caller, called, local time.
        info: CallInfo,
        /// The SIP Call-ID.
        sip_call_id: String,
        /// The dialplan version the call runs (flow dialplans).
        flow: Option<Arc<Flow>>,
    },
    /// An engine event.
    Event(CallEvent),
    /// A dialogue note (emotion, intent, tag, transfer, survey…).
    Note(Note),
    /// The dialogue asked the shell for something (`http`, `llm`).
    Request(&'static str),
    /// A transfer could not be made.
    TransferFailed(String),
    /// The caller's side accepted the transfer (REFER answered 2xx).
    Transferred(String),
    /// The call's recording was finalized.
    Recorded(PathBuf),
}

/// One message to the journal thread.
#[derive(Debug)]
struct Entry {
    call: CallId,
    at: Instant,
    wall: Millis,
    what: What,
}

/// Where calls are recorded; cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Journal {
    tx: Sender<Entry>,
}

/// How the journal thread is set up.
#[derive(Clone)]
pub struct Options {
    /// The dialplan name calls are recorded under when the call runs no
    /// flow dialplan (`default`, `speech`).
    pub dialplan: String,
    /// Recording paths are stored relative to this folder when inside it.
    pub data_dir: PathBuf,
    /// Called after each committed batch that queued webhook events.
    pub wake: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("dialplan", &self.dialplan)
            .field("data_dir", &self.data_dir)
            .field("wake", &self.wake.is_some())
            .finish()
    }
}

impl Journal {
    /// Starts the journal thread writing to `store`.
    pub fn start(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        options: Options,
    ) -> std::io::Result<(Journal, JournalThread)> {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("kefu-journal".into())
            .spawn(move || run(rx, store, metrics, options))?;
        Ok((Journal { tx }, JournalThread { handle }))
    }

    /// Records `what` about `call`, stamped now.
    pub fn record(&self, call: CallId, what: What) {
        let _ = self.tx.send(Entry {
            call,
            at: Instant::now(),
            wall: now_millis(),
            what,
        });
    }
}

/// The journal thread; [`JournalThread::finish`] waits until everything
/// sent before is committed (or the store has failed for good).
#[derive(Debug)]
pub struct JournalThread {
    handle: std::thread::JoinHandle<()>,
}

impl JournalThread {
    /// Waits for the thread, once every [`Journal`] clone is dropped.
    pub fn finish(self) {
        let _ = self.handle.join();
    }
}

fn run(rx: Receiver<Entry>, store: Arc<dyn Store>, metrics: Arc<Metrics>, options: Options) {
    let mut calls = calls::Calls::new(options.dialplan.clone(), options.data_dir.clone());
    let mut out = writer::Writer::new(store, metrics, options.wake.clone());
    loop {
        let first = if out.is_pending() {
            match rx.recv_timeout(out.retry_in()) {
                Ok(e) => Some(e),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    out.flush_until_done();
                    return;
                }
            }
        } else {
            match rx.recv() {
                Ok(e) => Some(e),
                Err(_) => return,
            }
        };
        if let Some(e) = first {
            calls.take(e, &mut out);
            // Whatever else is already queued goes in the same commit.
            for e in rx.try_iter().take(512) {
                calls.take(e, &mut out);
            }
        }
        calls.prune(Instant::now());
        out.commit();
    }
}
