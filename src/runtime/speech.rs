//! The speech worker pool: threads that run the recognizer and the
//! synthesizer for every call, off the media threads, and answer each media
//! worker's [`Output::Transcribe`](kefu_core::Output::Transcribe) and
//! [`Output::Synthesize`](kefu_core::Output::Synthesize) with
//! `Input::Transcript` / `Input::Speech` messages.
//!
//! Bounded: as many threads as the recognizer has decoder states (plus one
//! for synthesis), and queues that hold the backlog. Final transcriptions go
//! ahead of speculative ones, and synthesis has its own thread so a long
//! decode never delays a reply's first audio. Cancelled syntheses stop at
//! their next clause.
//!
//! Observed through [`Metrics`] once [`SpeechPool::observe`] is called:
//! queue lengths on every change, recognition time per transcript, and the
//! time from a synthesis request to its first audio.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kefu_core::engine::{SpeechChunk, SpeechId, TranscribeKind, UttId};
use kefu_core::media::resample::Resampler;
use kefu_core::media::Hz;
use kefu_core::CallId;

use super::media::{MediaHandle, SpeechJob as Job, ToMedia};
use super::metrics::Metrics;
use crate::engines::asr::{AsrOptions, Audio, Recognizer};
use crate::engines::tts::{Chunk, Synthesizer};

/// The call rate of audio exchanged with the engine.
const CALL_RATE: u32 = 8000;

/// A job and when it was submitted.
struct Queued {
    job: Job,
    at: Instant,
}

#[derive(Default)]
struct Queues {
    finals: VecDeque<Queued>,
    speculative: VecDeque<Queued>,
    speech: VecDeque<Queued>,
    closed: bool,
}

impl Queues {
    /// Publishes the backlog; called with the lock held, after each change.
    fn publish(&self, metrics: &OnceLock<Arc<Metrics>>) {
        if let Some(m) = metrics.get() {
            let asr = self.finals.len() + self.speculative.len();
            m.set_speech_queues(asr as u64, self.speech.len() as u64);
        }
    }
}

struct Shared {
    queues: Mutex<Queues>,
    asr_ready: Condvar,
    tts_ready: Condvar,
    cancelled: Mutex<HashSet<(CallId, SpeechId)>>,
    /// Transcriptions being decoded, with the flag that stops them.
    running: Mutex<Vec<(CallId, UttId, Arc<AtomicBool>)>>,
    metrics: OnceLock<Arc<Metrics>>,
}

/// Handle to the pool.
#[derive(Clone)]
pub struct SpeechPool {
    shared: Arc<Shared>,
    threads: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
    has_asr: bool,
    has_tts: bool,
}

impl std::fmt::Debug for SpeechPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeechPool")
            .field("asr", &self.has_asr)
            .field("tts", &self.has_tts)
            .finish()
    }
}

/// Settings of the pool.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Recognition threads (match the recognizer's decoder states).
    pub asr_workers: usize,
    /// Language and deadline per utterance.
    pub asr: AsrOptions,
    /// Synthesized speech kept on disk, when enabled.
    pub cache: Option<super::tts_cache::TtsCache>,
}

impl SpeechPool {
    /// Starts the threads; results go back through `media`.
    pub fn start(
        asr: Option<Arc<dyn Recognizer>>,
        tts: Option<Arc<dyn Synthesizer>>,
        config: PoolConfig,
        media: MediaHandle,
    ) -> std::io::Result<SpeechPool> {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            asr_ready: Condvar::new(),
            tts_ready: Condvar::new(),
            cancelled: Mutex::new(HashSet::new()),
            running: Mutex::new(Vec::new()),
            metrics: OnceLock::new(),
        });
        let mut threads = Vec::new();
        let pool = SpeechPool {
            shared: shared.clone(),
            threads: Arc::new(Mutex::new(Vec::new())),
            has_asr: asr.is_some(),
            has_tts: tts.is_some(),
        };
        if let Some(asr) = asr {
            for i in 0..config.asr_workers.max(1) {
                let (s, a, m, o) = (
                    shared.clone(),
                    asr.clone(),
                    media.clone(),
                    config.asr.clone(),
                );
                threads.push(
                    std::thread::Builder::new()
                        .name(format!("kefu-asr-{i}"))
                        .spawn(move || asr_loop(&s, a.as_ref(), &m, &o))?,
                );
            }
        }
        if let Some(tts) = tts {
            let (s, m, c) = (shared.clone(), media.clone(), config.cache.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("kefu-tts".into())
                    .spawn(move || tts_loop(&s, tts.as_ref(), &m, c.as_ref()))?,
            );
        }
        if let Ok(mut t) = pool.threads.lock() {
            *t = threads;
        }
        Ok(pool)
    }

    /// Queues a job; gives it back when the engine it needs is not loaded.
    pub fn submit(&self, job: Job) -> Result<(), Job> {
        let missing = match &job {
            Job::Transcribe { .. } => !self.has_asr,
            Job::Synthesize { .. } => !self.has_tts,
        };
        if missing {
            return Err(job);
        }
        let Ok(mut q) = self.shared.queues.lock() else {
            return Err(job);
        };
        let at = Instant::now();
        match job {
            job @ Job::Transcribe {
                kind: TranscribeKind::Final,
                ..
            } => {
                q.finals.push_back(Queued { job, at });
                self.shared.asr_ready.notify_one();
            }
            job @ Job::Transcribe { .. } => {
                q.speculative.push_back(Queued { job, at });
                self.shared.asr_ready.notify_one();
            }
            job @ Job::Synthesize { .. } => {
                q.speech.push_back(Queued { job, at });
                self.shared.tts_ready.notify_one();
            }
        }
        q.publish(&self.shared.metrics);
        Ok(())
    }

    /// Reports queue lengths and latencies to `metrics` from now on; a
    /// second call keeps the first.
    pub fn observe(&self, metrics: Arc<Metrics>) {
        let _ = self.shared.metrics.set(metrics);
        if let Ok(q) = self.shared.queues.lock() {
            q.publish(&self.shared.metrics);
        }
    }

    /// Stops a synthesis at its next clause; late chunks are not sent.
    pub fn cancel(&self, call: CallId, req: SpeechId) {
        if let Ok(mut c) = self.shared.cancelled.lock() {
            c.insert((call, req));
        }
    }

    /// Drops a stale transcription from the queue, or stops its decode;
    /// no answer is sent for it.
    pub fn cancel_transcription(&self, call: CallId, utt: UttId) {
        let stale = |q: &Queued| matches!(q.job, Job::Transcribe { call: c, utt: u, .. } if c == call && u == utt);
        if let Ok(mut q) = self.shared.queues.lock() {
            let before = q.speculative.len() + q.finals.len();
            q.speculative.retain(|j| !stale(j));
            q.finals.retain(|j| !stale(j));
            if q.speculative.len() + q.finals.len() < before {
                q.publish(&self.shared.metrics);
                return;
            }
        }
        if let Ok(running) = self.shared.running.lock() {
            for (c, u, stop) in running.iter() {
                if *c == call && *u == utt {
                    stop.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// Stops the threads once their queues are empty.
    pub fn close(&self) {
        if let Ok(mut q) = self.shared.queues.lock() {
            q.closed = true;
        }
        self.shared.asr_ready.notify_all();
        self.shared.tts_ready.notify_all();
    }

    /// Drops what is queued, stops what is running and waits for the
    /// threads: the engines (and their ONNX sessions) are gone before the
    /// process exits.
    pub fn shutdown(&self) {
        if let Ok(mut q) = self.shared.queues.lock() {
            q.finals.clear();
            q.speculative.clear();
            q.speech.clear();
            q.publish(&self.shared.metrics);
        }
        if let Ok(running) = self.shared.running.lock() {
            for (_, _, stop) in running.iter() {
                stop.store(true, Ordering::SeqCst);
            }
        }
        self.close();
        let threads = match self.threads.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(_) => return,
        };
        for t in threads {
            let _ = t.join();
        }
    }
}

fn next_job(shared: &Shared, asr: bool) -> Option<Queued> {
    let mut q = shared.queues.lock().ok()?;
    loop {
        let job = if asr {
            q.finals.pop_front().or_else(|| q.speculative.pop_front())
        } else {
            q.speech.pop_front()
        };
        if job.is_some() {
            q.publish(&shared.metrics);
            return job;
        }
        if q.closed {
            return None;
        }
        let cv = if asr {
            &shared.asr_ready
        } else {
            &shared.tts_ready
        };
        q = cv.wait_timeout(q, Duration::from_secs(1)).ok()?.0;
    }
}

fn asr_loop(shared: &Shared, asr: &dyn Recognizer, media: &MediaHandle, options: &AsrOptions) {
    while let Some(Queued { job, .. }) = next_job(shared, true) {
        let Job::Transcribe {
            call, utt, audio, ..
        } = job
        else {
            continue;
        };
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        if let Ok(mut r) = shared.running.lock() {
            r.push((call, utt, stop.clone()));
        }
        let result = asr.transcribe_stoppable(
            Audio {
                samples: &audio,
                rate: CALL_RATE,
            },
            options,
            stop.clone(),
        );
        if let Ok(mut r) = shared.running.lock() {
            r.retain(|(_, _, s)| !Arc::ptr_eq(s, &stop));
        }
        if stop.load(Ordering::SeqCst) {
            tracing::debug!(%call, utt = utt.0, "stale transcription stopped");
            continue;
        }
        if let Ok(t) = &result {
            if let Some(m) = shared.metrics.get() {
                m.observe_asr(started.elapsed());
            }
            tracing::debug!(
                %call,
                utt = utt.0,
                secs = t.audio_secs,
                queued_ms = t.queued.as_millis() as u64,
                decode_ms = t.decoding.as_millis() as u64,
                "transcribed"
            );
        }
        let result = result.map(|t| t.text).map_err(|e| e.to_string());
        media.send(call, ToMedia::Transcript { call, utt, result });
    }
}

fn tts_loop(
    shared: &Shared,
    tts: &dyn Synthesizer,
    media: &MediaHandle,
    cache: Option<&super::tts_cache::TtsCache>,
) {
    while let Some(Queued { job, at }) = next_job(shared, false) {
        let Job::Synthesize { call, req, text } = job else {
            continue;
        };
        let first_audio = || {
            if let Some(m) = shared.metrics.get() {
                m.observe_tts_first_audio(at.elapsed());
            }
        };
        if let Some(samples) = cache.and_then(|c| c.get(&text)) {
            first_audio();
            let chunk = SpeechChunk::Audio(samples);
            media.send(call, ToMedia::Speech { call, req, chunk });
            let chunk = SpeechChunk::End;
            media.send(call, ToMedia::Speech { call, req, chunk });
            continue;
        }
        let mut whole: Vec<i16> = Vec::new();
        let is_cancelled = || {
            shared
                .cancelled
                .lock()
                .map(|mut c| c.remove(&(call, req)))
                .unwrap_or(false)
        };
        let mut resampler = match Resampler::new(Hz(tts.sample_rate()), Hz(CALL_RATE)) {
            Ok(r) => r,
            Err(e) => {
                let chunk = SpeechChunk::Failed(e.to_string());
                media.send(call, ToMedia::Speech { call, req, chunk });
                continue;
            }
        };
        let mut stopped = false;
        let mut first = true;
        let result = tts.synthesize(&text, &mut |c: Chunk| {
            if is_cancelled() {
                stopped = true;
                return false;
            }
            let mut out = Vec::with_capacity(c.samples.len() * CALL_RATE as usize / 22050 + 16);
            resampler.process(&c.samples, &mut out);
            if cache.is_some() {
                whole.extend_from_slice(&out);
            }
            if std::mem::take(&mut first) {
                first_audio();
            }
            media.send(
                call,
                ToMedia::Speech {
                    call,
                    req,
                    chunk: SpeechChunk::Audio(out),
                },
            )
        });
        let chunk = match result {
            Ok(()) if stopped => continue,
            Ok(()) => {
                if let Some(c) = cache.filter(|_| !whole.is_empty()) {
                    c.put(&text, &whole);
                }
                SpeechChunk::End
            }
            Err(e) => SpeechChunk::Failed(e.to_string()),
        };
        media.send(call, ToMedia::Speech { call, req, chunk });
    }
}
