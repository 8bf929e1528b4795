//! Call recordings: one stereo 16-bit WAV per call (left: caller, right:
//! agent), written by a dedicated thread so disk latency never delays media.
//!
//! Written incrementally: the WAV header is brought up to date every second
//! (`hound`'s flush), so a crash loses at most the last second of audio and
//! leaves a playable file.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use kefu_core::engine::RecordEvent;
use kefu_core::CallId;

use super::metrics::Metrics;
use crate::journal::{Journal, What};

/// Frames between header updates: 50 × 20 ms = 1 s.
const FLUSH_EVERY: u32 = 50;

/// A message to the recorder thread.
#[derive(Debug)]
pub enum Job {
    /// Names the file of a call before its first event.
    Name {
        /// The call.
        call: CallId,
        /// File name inside the recordings folder.
        file: String,
    },
    /// A recording event of a call.
    Event {
        /// The call.
        call: CallId,
        /// What to record.
        event: RecordEvent,
    },
    /// The recording events of one media tick, in order.
    Batch(Vec<(CallId, RecordEvent)>),
}

struct Open {
    writer: hound::WavWriter<BufWriter<File>>,
    frames: u32,
    path: PathBuf,
}

/// Starts the recorder thread; returns the sender to feed it.
/// Finalized recordings are reported to `journal`, when given.
pub fn spawn(
    dir: PathBuf,
    metrics: Arc<Metrics>,
    journal: Option<Journal>,
) -> std::io::Result<Sender<Job>> {
    std::fs::create_dir_all(&dir)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("kefu-recorder".into())
        .spawn(move || run(dir, rx, metrics, journal))?;
    Ok(tx)
}

fn run(dir: PathBuf, rx: Receiver<Job>, metrics: Arc<Metrics>, journal: Option<Journal>) {
    let mut r = Recorder {
        dir,
        metrics,
        names: HashMap::new(),
        open: HashMap::new(),
        journal,
    };
    while let Ok(job) = rx.recv() {
        match job {
            Job::Name { call, file } => {
                r.names.insert(call, file);
            }
            Job::Event { call, event } => r.on_event(call, event),
            Job::Batch(events) => {
                for (call, event) in events {
                    r.on_event(call, event);
                }
            }
        }
    }
    for (_, o) in r.open {
        let _ = o.writer.finalize();
    }
}

struct Recorder {
    dir: PathBuf,
    metrics: Arc<Metrics>,
    names: HashMap<CallId, String>,
    open: HashMap<CallId, Open>,
    journal: Option<Journal>,
}

impl Recorder {
    fn on_event(&mut self, call: CallId, event: RecordEvent) {
        match event {
            RecordEvent::Start { rate } => self.start(call, rate),
            RecordEvent::Frame(samples) => self.frame(call, &samples),
            RecordEvent::Stop => {
                self.names.remove(&call);
                if let Some(o) = self.open.remove(&call) {
                    match o.writer.finalize() {
                        Ok(()) => {
                            if let Some(j) = &self.journal {
                                j.record(call, What::Recorded(o.path));
                            }
                        }
                        Err(e) => {
                            self.metrics.recording_errors.fetch_add(1, Relaxed);
                            tracing::warn!(call = %call, error = %e, "cannot finalize recording");
                        }
                    }
                }
            }
        }
    }

    fn start(&mut self, call: CallId, rate: u32) {
        let name = self
            .names
            .get(&call)
            .cloned()
            .unwrap_or_else(|| format!("call-{call}.wav"));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let path = self.dir.join(&name);
        match hound::WavWriter::create(&path, spec) {
            Ok(writer) => {
                self.open.insert(
                    call,
                    Open {
                        writer,
                        frames: 0,
                        path,
                    },
                );
            }
            Err(e) => {
                self.metrics.recording_errors.fetch_add(1, Relaxed);
                tracing::warn!(call = %call, file = %name, error = %e, "cannot create recording");
            }
        }
    }

    fn frame(&mut self, call: CallId, samples: &[i16]) {
        let Some(o) = self.open.get_mut(&call) else {
            return;
        };
        let mut ok = samples.iter().all(|s| o.writer.write_sample(*s).is_ok());
        o.frames += 1;
        if ok && o.frames % FLUSH_EVERY == 0 {
            ok = o.writer.flush().is_ok();
        }
        if !ok {
            self.metrics.recording_errors.fetch_add(1, Relaxed);
            tracing::warn!(call = %call, "recording write failed; recording stopped");
            self.open.remove(&call);
        }
    }
}

/// A file name for a call: kefu's id plus the SIP Call-ID reduced to safe
/// characters (the Call-ID is chosen by the peer).
pub fn file_name(call: CallId, sip_call_id: &str) -> String {
    let safe: String = sip_call_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect();
    format!("{:06}-{}.wav", call.0, safe.trim_start_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe() {
        assert_eq!(file_name(CallId(7), "a/../b@c d"), "000007-a..bcd.wav");
        assert_eq!(file_name(CallId(1), "..x"), "000001-x.wav");
    }

    #[test]
    fn writes_a_playable_stereo_file_incrementally() {
        let dir = tempfile::tempdir().expect("dir");
        let m = Metrics::new(1);
        let tx = spawn(dir.path().to_path_buf(), m, None).expect("spawn");
        let call = CallId(3);
        tx.send(Job::Name {
            call,
            file: "t.wav".into(),
        })
        .expect("send");
        tx.send(Job::Event {
            call,
            event: RecordEvent::Start { rate: 8000 },
        })
        .expect("send");
        for _ in 0..60 {
            tx.send(Job::Event {
                call,
                event: RecordEvent::Frame(vec![100; 320]),
            })
            .expect("send");
        }
        // Before Stop, the header already covers the first second.
        let path = dir.path().join("t.wav");
        let mut len = 0;
        for _ in 0..100 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            if let Ok(r) = hound::WavReader::open(&path) {
                len = r.len();
                if len >= 50 * 320 {
                    break;
                }
            }
        }
        assert!(len >= 50 * 320, "header not flushed: {len}");
        tx.send(Job::Event {
            call,
            event: RecordEvent::Stop,
        })
        .expect("send");
        drop(tx);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let r = hound::WavReader::open(&path).expect("open");
        assert_eq!(r.spec().channels, 2);
        assert_eq!(r.len(), 60 * 320);
    }
}
