//! Reloads a flow dialplan when its files change, without dropping calls.
//!
//! Every [`POLL`] the main file and its FAQ files are checked (modification
//! time and size). On a change the plan is loaded and checked off the
//! async threads; a good plan goes to every media worker (new calls run
//! it, calls in progress keep the version they started with: each holds its
//! flow in an `Arc`). A broken plan is not used: the running version stays,
//! and the errors are logged and shown by `GET /api/dialplans`.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::flow;
use crate::runtime::media::MediaHandle;

/// How often the files are looked at.
pub const POLL: Duration = Duration::from_secs(2);

/// What the API shows about the running dialplan.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The plan's name.
    pub name: String,
    /// Its main file.
    pub file: String,
    /// 1 at start, +1 per successful reload.
    pub version: u32,
    /// When the running version was loaded (RFC 3339, local time).
    pub loaded_at: String,
    /// Steps, intents and FAQ entries of the running version.
    pub steps: usize,
    /// Intents.
    pub intents: usize,
    /// FAQ entries.
    pub faq: usize,
    /// `ok`, or `error` when the files on disk do not load (the running
    /// version stays).
    pub state: String,
    /// The problems of the files on disk (`file:line: message`).
    pub errors: Vec<String>,
}

/// The status, shared with the API.
pub type SharedStatus = Arc<RwLock<Status>>;

impl Status {
    /// The status of a freshly loaded plan.
    pub fn new(loaded: &flow::Loaded) -> Status {
        let mut s = Status {
            name: loaded.flow.plan.name.clone(),
            file: loaded
                .files
                .first()
                .map(|f| f.display().to_string())
                .unwrap_or_default(),
            version: 0,
            loaded_at: String::new(),
            steps: 0,
            intents: 0,
            faq: 0,
            state: String::new(),
            errors: Vec::new(),
        };
        s.loaded(loaded);
        s
    }

    fn loaded(&mut self, loaded: &flow::Loaded) {
        let p = &loaded.flow.plan;
        self.version += 1;
        self.loaded_at = chrono::Local::now().to_rfc3339();
        self.steps = p.steps.len();
        self.intents = p.intents.len();
        self.faq = p.faq.len();
        self.state = "ok".into();
        self.errors.clear();
    }
}

type Stamp = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|f| {
            let m = std::fs::metadata(f).ok();
            let t = m
                .as_ref()
                .and_then(|m| m.modified().ok().map(|t| (t, m.len())));
            (f.clone(), t)
        })
        .collect()
}

/// Watches `loaded`'s files until `cancel`, sending good versions to
/// `media`.
pub fn spawn(
    loaded: flow::Loaded,
    media: MediaHandle,
    status: SharedStatus,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let main = loaded.files.first().cloned().unwrap_or_default();
        let mut files = loaded.files.clone();
        let mut seen = stamp(&files);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
            let now = stamp(&files);
            if now == seen {
                continue;
            }
            seen = now;
            let path = main.clone();
            let result = tokio::task::spawn_blocking(move || flow::load(&path)).await;
            let Ok(result) = result else { continue };
            match result {
                Ok(new) => {
                    media.set_flow(&new.flow);
                    files.clone_from(&new.files);
                    seen = stamp(&files);
                    if let Ok(mut s) = status.write() {
                        s.loaded(&new);
                        tracing::info!(
                            dialplan = %s.name,
                            version = s.version,
                            steps = s.steps,
                            "dialplan reloaded; calls in progress keep their version"
                        );
                    }
                }
                Err(problems) => {
                    for p in &problems {
                        tracing::error!(problem = %p, "dialplan not reloaded");
                    }
                    if let Ok(mut s) = status.write() {
                        s.state = "error".into();
                        s.errors = problems.iter().map(ToString::to_string).collect();
                    }
                }
            }
        }
    })
}
