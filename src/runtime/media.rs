//! Media workers: OS threads that each own one [`Engine`] and the RTP
//! sockets of its calls, and run its 20 ms clock.
//!
//! A worker sleeps on its command channel until the engine's next deadline,
//! so signalling is handled at once and ticks are on time. At each tick it
//! drains every call socket (non-blocking), feeds the datagrams to the
//! engine, lets the engine tick, and performs the outputs: datagrams out,
//! SIP actions up to signalling, recording frames to the recorder. These are
//! the only clock reads of the media path.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Instant;

use kefu_core::dialogue::flow::Flow;
use kefu_core::dialogue::{Note, Reply, Request};
use kefu_core::engine::CallInfo;
use kefu_core::engine::{
    CallEvent, Command, EndReason, Output, SignalAction, SignalEvent, SpeechChunk, SpeechId,
    TranscribeKind, UttId,
};
use kefu_core::sdp::LocalMedia;
use kefu_core::{CallId, Engine, Input};
use tokio::sync::mpsc::UnboundedSender;

use super::metrics::Metrics;
use super::ports::{PortPair, PortPool};
use super::recorder::Job as RecordJob;
#[cfg(feature = "speech")]
use super::speech::SpeechPool;
use crate::journal::What;

/// The speech pool, once started (absent without the `speech` feature).
#[cfg(feature = "speech")]
pub type SpeechSlot = Arc<std::sync::OnceLock<SpeechPool>>;
/// The speech pool, once started (absent without the `speech` feature).
#[cfg(not(feature = "speech"))]
pub type SpeechSlot = ();

/// A message to a media worker.
#[derive(Debug)]
pub enum ToMedia {
    /// A new call with its offer and its lent ports.
    Offer {
        /// The call.
        call: CallId,
        /// SDP offer.
        sdp: Vec<u8>,
        /// Our side of the media.
        local: LocalMedia,
        /// Its sockets.
        ports: PortPair,
        /// Recording file name.
        record_as: String,
        /// Who calls whom, and when.
        info: CallInfo,
        /// The SIP Call-ID (for the call's record).
        sip_call_id: String,
    },
    /// The answer to a request of a call's dialogue (CRM, LLM, transfer).
    Reply {
        /// The call.
        call: CallId,
        /// The answer.
        reply: Reply,
    },
    /// A reloaded flow dialplan for calls offered from now on.
    SetFlow(Arc<Flow>),
    /// The call's transfer was accepted by the caller's side.
    Transferred {
        /// The call.
        call: CallId,
        /// Where it went.
        target: String,
    },
    /// A signalling event of an existing call.
    Signal {
        /// The call.
        call: CallId,
        /// What happened.
        event: SignalEvent,
    },
    /// An operator command.
    Command {
        /// The call.
        call: CallId,
        /// What to do.
        command: Command,
    },
    /// A transcription's result.
    Transcript {
        /// The call.
        call: CallId,
        /// The utterance.
        utt: UttId,
        /// The text, or why not.
        result: Result<String, String>,
    },
    /// A piece of synthesized speech.
    Speech {
        /// The call.
        call: CallId,
        /// The request.
        req: SpeechId,
        /// The piece.
        chunk: SpeechChunk,
    },
    /// Shut down: the worker drops its engine (and the speech detectors'
    /// ONNX sessions with it) and ends.
    Stop,
}

/// Work for the speech pool, from a call's engine outputs.
#[derive(Debug)]
pub enum SpeechJob {
    /// Transcribe caller audio.
    Transcribe {
        /// The call.
        call: CallId,
        /// The utterance.
        utt: UttId,
        /// Speculative or final.
        kind: TranscribeKind,
        /// 8 kHz mono.
        audio: Vec<i16>,
    },
    /// Synthesize a reply.
    Synthesize {
        /// The call.
        call: CallId,
        /// The request.
        req: SpeechId,
        /// What to say.
        text: String,
    },
}

/// A message from a media worker to signalling.
#[derive(Debug)]
pub enum FromMedia {
    /// Perform a SIP action.
    Action {
        /// The call.
        call: CallId,
        /// What to do.
        action: SignalAction,
    },
    /// Hand the call to `target` (blind transfer).
    Transfer {
        /// The call.
        call: CallId,
        /// A SIP URI or `queue:NAME`.
        target: String,
    },
    /// The call is over on the media side (after any `Hangup` action).
    Ended {
        /// The call.
        call: CallId,
        /// Why.
        reason: EndReason,
    },
}

/// Sends to the worker that owns a call.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    workers: Vec<Sender<ToMedia>>,
    /// The RTP port pool shared by the workers.
    pub pool: Arc<PortPool>,
    threads: Arc<std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>>,
}

impl MediaHandle {
    /// Stops every worker and waits for them: nothing of a call's media
    /// (its speech detector above all) may run while the process exits.
    pub fn stop(&self) {
        for w in &self.workers {
            let _ = w.send(ToMedia::Stop);
        }
        let threads = match self.threads.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(_) => return,
        };
        for t in threads {
            let _ = t.join();
        }
    }

    /// Gives every worker a reloaded flow dialplan: new calls run it, calls
    /// in progress keep theirs.
    pub fn set_flow(&self, flow: &Arc<Flow>) {
        for w in &self.workers {
            let _ = w.send(ToMedia::SetFlow(Arc::clone(flow)));
        }
    }

    /// Sends `msg` to the worker of `call`; false if the worker is gone.
    pub fn send(&self, call: CallId, msg: ToMedia) -> bool {
        let n = self.workers.len().max(1) as u64;
        match self.workers.get((call.0 % n) as usize) {
            Some(w) => w.send(msg).is_ok(),
            None => false,
        }
    }
}

/// Scheduling of the media threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduling {
    /// Ordinary time-sharing.
    Normal,
    /// Low real-time round-robin priority when the system allows it
    /// (root or CAP_SYS_NICE), so a busy machine does not delay the 20 ms
    /// clock; falls back to ordinary scheduling otherwise.
    Realtime,
}

/// Applies `scheduling` to the calling thread; returns what took effect.
fn apply(scheduling: Scheduling) -> &'static str {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, RealtimeThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    use thread_priority::ThreadPriority;
    if scheduling == Scheduling::Normal {
        return "normal";
    }
    let Ok(prio) = 10u8.try_into() else {
        return "normal";
    };
    let policy = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::RoundRobin);
    match set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(prio),
        policy,
    ) {
        Ok(()) => "realtime",
        Err(_) => "normal (real-time scheduling not permitted)",
    }
}

/// What every media worker shares.
#[derive(Debug)]
pub struct Shared {
    /// Scheduling of the worker threads.
    pub scheduling: Scheduling,
    /// The RTP port pool.
    pub pool: Arc<PortPool>,
    /// SIP actions and call ends, to signalling.
    pub up: UnboundedSender<FromMedia>,
    /// The recorder, when calls are recorded.
    pub recorder: Option<Sender<RecordJob>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The speech pool, set once started.
    pub speech: SpeechSlot,
    /// Log transcript text at info level.
    pub log_pii: bool,
    /// Performs dialogues' CRM and LLM requests (on `runtime`).
    pub crm: crate::crm::Crm,
    /// The tokio runtime the requests run on.
    pub runtime: tokio::runtime::Handle,
    /// Where calls are recorded for the store.
    pub journal: Option<crate::journal::Journal>,
}

/// Starts `engines.len()` workers.
pub fn spawn(engines: Vec<Engine>, shared: Shared) -> std::io::Result<MediaHandle> {
    let Shared {
        scheduling,
        pool,
        up,
        recorder,
        metrics,
        speech,
        log_pii,
        crm,
        runtime,
        journal,
    } = shared;
    let mut workers = Vec::new();
    let mut threads = Vec::new();
    for (idx, engine) in engines.into_iter().enumerate() {
        let (tx, rx) = std::sync::mpsc::channel();
        let w = Worker {
            idx,
            engine,
            sockets: HashMap::new(),
            last_send: HashMap::new(),
            pool: pool.clone(),
            up: up.clone(),
            recorder: recorder.clone(),
            records: Vec::new(),
            speech: speech.clone(),
            log_pii,
            metrics: metrics.clone(),
            ticks: 0,
            crm: crm.clone(),
            runtime: runtime.clone(),
            self_tx: tx.clone(),
            journal: journal.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("kefu-media-{idx}"))
            .spawn(move || {
                let applied = apply(scheduling);
                tracing::debug!(worker = idx, scheduling = applied, "media worker started");
                w.run(rx)
            })?;
        workers.push(tx);
        threads.push(thread);
    }
    Ok(MediaHandle {
        workers,
        pool,
        threads: Arc::new(std::sync::Mutex::new(threads)),
    })
}

struct Worker {
    idx: usize,
    engine: Engine,
    sockets: HashMap<CallId, PortPair>,
    last_send: HashMap<CallId, Instant>,
    pool: Arc<PortPool>,
    up: UnboundedSender<FromMedia>,
    recorder: Option<Sender<RecordJob>>,
    records: Vec<(CallId, kefu_core::engine::RecordEvent)>,
    #[cfg_attr(not(feature = "speech"), allow(dead_code))]
    speech: SpeechSlot,
    log_pii: bool,
    metrics: Arc<Metrics>,
    ticks: u64,
    crm: crate::crm::Crm,
    runtime: tokio::runtime::Handle,
    /// This worker's own inbox, for answers to requests.
    self_tx: Sender<ToMedia>,
    journal: Option<crate::journal::Journal>,
}

impl Worker {
    fn run(mut self, rx: Receiver<ToMedia>) {
        let mut deadline = self.drain();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(ToMedia::Stop) => return,
                Ok(msg) => {
                    self.on_msg(msg);
                    while let Ok(msg) = rx.try_recv() {
                        if matches!(msg, ToMedia::Stop) {
                            return;
                        }
                        self.on_msg(msg);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = Instant::now();
            if now >= deadline {
                // Send first, so that every call's packet leaves at the same
                // offset from the tick whatever arrived; then read what came
                // in, for the next tick (the jitter buffer absorbs the wait).
                self.engine.handle_input(Input::Timeout(now));
                self.drain();
                self.poll_sockets(now);
                self.ticks += 1;
                if self.ticks.is_multiple_of(25) {
                    self.publish();
                }
            }
            deadline = self.drain();
        }
    }

    fn on_msg(&mut self, msg: ToMedia) {
        let now = Instant::now();
        match msg {
            ToMedia::Offer {
                call,
                sdp,
                local,
                ports,
                record_as,
                info,
                sip_call_id,
            } => {
                self.sockets.insert(call, ports);
                self.journal(
                    call,
                    What::Offered {
                        info: info.clone(),
                        sip_call_id,
                        flow: self.engine.flow().cloned(),
                    },
                );
                if let Some(r) = &self.recorder {
                    let _ = r.send(RecordJob::Name {
                        call,
                        file: record_as,
                    });
                }
                self.engine.handle_input(Input::Signal {
                    now,
                    call,
                    event: SignalEvent::Offered { sdp, local, info },
                });
                self.publish_calls();
            }
            ToMedia::Signal { call, event } => {
                self.engine.handle_input(Input::Signal { now, call, event })
            }
            ToMedia::Transcript { call, utt, result } => {
                self.engine.handle_input(Input::Transcript {
                    now,
                    call,
                    utt,
                    result,
                })
            }
            ToMedia::Speech { call, req, chunk } => self.engine.handle_input(Input::Speech {
                now,
                call,
                req,
                chunk,
            }),
            ToMedia::Command { call, command } => {
                self.engine
                    .handle_input(Input::Command { now, call, command })
            }
            ToMedia::Reply { call, reply } => {
                if let Reply::TransferFailed(why) = &reply {
                    self.journal(call, What::TransferFailed(why.clone()));
                }
                self.engine.handle_input(Input::Reply { now, call, reply })
            }
            ToMedia::Transferred { call, target } => self.journal(call, What::Transferred(target)),
            ToMedia::SetFlow(flow) => self.engine.set_flow(flow),
            // Handled in `run`.
            ToMedia::Stop => {}
        }
    }

    fn poll_sockets(&mut self, now: Instant) {
        let mut buf = [0u8; 2048];
        let poll_rtcp = self.ticks.is_multiple_of(10);
        for (call, pair) in &self.sockets {
            loop {
                match pair.rtp.recv_from(&mut buf) {
                    Ok((n, from)) => self.engine.handle_input(Input::Rtp {
                        now,
                        call: *call,
                        rtcp: false,
                        from,
                        data: &buf[..n],
                    }),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => break,
                }
            }
            if !poll_rtcp {
                continue;
            }
            while let Ok((n, from)) = pair.rtcp.recv_from(&mut buf) {
                self.engine.handle_input(Input::Rtp {
                    now,
                    call: *call,
                    rtcp: true,
                    from,
                    data: &buf[..n],
                });
            }
        }
    }

    /// Performs outputs until the engine's next deadline.
    fn drain(&mut self) -> Instant {
        loop {
            match self.engine.poll_output() {
                Output::Timeout(t) => {
                    if let (Some(r), false) = (&self.recorder, self.records.is_empty()) {
                        let _ = r.send(RecordJob::Batch(std::mem::take(&mut self.records)));
                    }
                    return t;
                }
                Output::Transmit {
                    call,
                    rtcp,
                    to,
                    data,
                } => self.transmit(call, rtcp, to, &data),
                Output::Signal { call, action } => {
                    let _ = self.up.send(FromMedia::Action { call, action });
                }
                Output::Record { call, event } => {
                    if self.recorder.is_some() {
                        self.records.push((call, event));
                    }
                }
                Output::Event { call, event } => self.on_event(call, event),
                Output::Request { call, request } => self.request(call, request),
                Output::Note { call, note } => self.note(call, note),
                Output::Transcribe {
                    call,
                    utt,
                    kind,
                    audio,
                } => {
                    tracing::debug!(
                        %call,
                        utt = utt.0,
                        ?kind,
                        secs = audio.len() as f32 / 8000.0,
                        "transcription requested"
                    );
                    self.speech(SpeechJob::Transcribe {
                        call,
                        utt,
                        kind,
                        audio,
                    })
                }
                Output::Synthesize { call, req, text } => {
                    self.speech(SpeechJob::Synthesize { call, req, text })
                }
                Output::CancelTranscription { call, utt } => {
                    #[cfg(feature = "speech")]
                    if let Some(p) = self.speech.get() {
                        p.cancel_transcription(call, utt);
                    }
                    #[cfg(not(feature = "speech"))]
                    let _ = (call, utt);
                }
                Output::CancelSynthesis { call, req } => {
                    #[cfg(feature = "speech")]
                    if let Some(p) = self.speech.get() {
                        p.cancel(call, req);
                    }
                    #[cfg(not(feature = "speech"))]
                    let _ = (call, req);
                }
            }
        }
    }

    fn transmit(&mut self, call: CallId, rtcp: bool, to: std::net::SocketAddr, data: &[u8]) {
        let Some(pair) = self.sockets.get(&call) else {
            return;
        };
        let sock = if rtcp { &pair.rtcp } else { &pair.rtp };
        if sock.send_to(data, to).is_err() {
            self.metrics.workers[self.idx]
                .send_errors
                .fetch_add(1, Relaxed);
            return;
        }
        if !rtcp {
            let now = Instant::now();
            if let Some(prev) = self.last_send.insert(call, now) {
                self.metrics
                    .send_interval(now.saturating_duration_since(prev).as_micros() as u64);
            }
        }
    }

    fn journal(&self, call: CallId, what: What) {
        if let Some(j) = &self.journal {
            j.record(call, what);
        }
    }

    fn on_event(&mut self, call: CallId, event: CallEvent) {
        if self.journal.is_some() {
            self.journal(call, What::Event(event.clone()));
        }
        match event {
            CallEvent::Answered => {
                self.metrics.calls_answered.fetch_add(1, Relaxed);
                tracing::info!(call = %call, "answered");
            }
            CallEvent::Digit(d) => tracing::debug!(call = %call, digit = %d, "digit"),
            CallEvent::Heard { text, .. } => self.log_line(call, "caller", &text),
            CallEvent::Said(text) => self.log_line(call, "kefu", &text),
            CallEvent::BargeIn => tracing::info!(call = %call, "barge-in"),
            CallEvent::Talk(t) => tracing::debug!(
                call = %call,
                caller_ms = t.caller_ms,
                agent_ms = t.agent_ms,
                overlap_ms = t.overlap_ms,
                silence_ms = t.silence_ms,
                "talk"
            ),
            CallEvent::Ended(reason) => {
                if let Some(pair) = self.sockets.remove(&call) {
                    self.pool.give(pair);
                }
                self.last_send.remove(&call);
                if let EndReason::Rejected(_) = reason {
                    self.metrics.calls_rejected_sdp.fetch_add(1, Relaxed);
                }
                tracing::info!(call = %call, reason = reason.as_str(), "ended");
                let _ = self.up.send(FromMedia::Ended { call, reason });
            }
        }
        self.publish_calls();
    }

    /// Hands a speech job to the pool; without a pool (or without the
    /// engine it needs) the call's dialogue hears of the failure at once.
    fn speech(&mut self, job: SpeechJob) {
        #[cfg(feature = "speech")]
        let job = match self.speech.get() {
            Some(pool) => match pool.submit(job) {
                Ok(()) => return,
                Err(job) => job,
            },
            None => job,
        };
        let now = Instant::now();
        match job {
            SpeechJob::Transcribe { call, utt, .. } => {
                self.engine.handle_input(Input::Transcript {
                    now,
                    call,
                    utt,
                    result: Err("no speech recognizer is loaded".into()),
                })
            }
            SpeechJob::Synthesize { call, req, .. } => self.engine.handle_input(Input::Speech {
                now,
                call,
                req,
                chunk: SpeechChunk::Failed("no speech synthesizer is loaded".into()),
            }),
        }
    }

    /// A transcript line; its text is PII, shown at info level only with
    /// `--log-pii`.
    /// Performs a dialogue's request off the media thread; the answer comes
    /// back to this worker as [`ToMedia::Reply`].
    fn request(&mut self, call: CallId, request: Request) {
        match &request {
            Request::Http { .. } => self.journal(call, What::Request("http")),
            Request::Llm { .. } => self.journal(call, What::Request("llm")),
            Request::Transfer { .. } => {}
        }
        let (crm, rt) = (self.crm.clone(), self.runtime.clone());
        let back = self.self_tx.clone();
        match request {
            Request::Http { id, request } => {
                rt.spawn(async move {
                    let outcome = crm.perform(&request).await;
                    let _ = back.send(ToMedia::Reply {
                        call,
                        reply: Reply::Http { id, outcome },
                    });
                });
            }
            Request::Llm { id, request } => {
                rt.spawn(async move {
                    let outcome = crm.chat(&request).await;
                    let _ = back.send(ToMedia::Reply {
                        call,
                        reply: Reply::Llm { id, outcome },
                    });
                });
            }
            Request::Transfer { target } => {
                tracing::info!(
                    call = %call,
                    target = %crate::logging::phone(&target, self.log_pii),
                    "transfer"
                );
                let _ = self.up.send(FromMedia::Transfer { call, target });
            }
        }
    }

    /// Puts a dialogue's note on the log (the transcript's timeline).
    fn note(&self, call: CallId, note: Note) {
        if self.journal.is_some() {
            self.journal(call, What::Note(note.clone()));
        }
        match note {
            Note::Emotion(e) => tracing::info!(
                call = %call,
                level = e.level.name(),
                score = format!("{:.2}", e.score),
                reasons = e.reasons.join(", "),
                "emotion"
            ),
            Note::Understood {
                intent,
                confidence,
                step,
            } => tracing::info!(
                call = %call,
                intent = intent.as_deref().unwrap_or("none"),
                confidence = format!("{confidence:.2}"),
                step = step.as_deref().unwrap_or("-"),
                "understood"
            ),
            Note::Tag(t) => tracing::info!(call = %call, tag = %t, "customer tag"),
            Note::Error(e) => tracing::warn!(call = %call, error = %e, "dialplan error"),
            Note::Transfer { target, reason } => {
                tracing::info!(
                    call = %call,
                    target = %crate::logging::phone(&target, self.log_pii),
                    reason = %reason,
                    "transfer asked"
                )
            }
            Note::Survey(n) => tracing::info!(call = %call, score = n, "survey answer"),
        }
    }

    fn log_line(&self, call: CallId, who: &'static str, text: &str) {
        if self.log_pii {
            tracing::info!(call = %call, who, text, "transcript");
        } else {
            tracing::info!(call = %call, who, chars = text.chars().count(), "transcript");
            tracing::debug!(call = %call, who, text, "transcript");
        }
    }

    fn publish_calls(&self) {
        self.metrics.workers[self.idx]
            .calls
            .store(self.engine.calls() as u64, Relaxed);
    }

    fn publish(&self) {
        let s = self.engine.stats();
        let w = &self.metrics.workers[self.idx];
        w.rtp_received.store(s.rtp_received, Relaxed);
        w.rtp_sent.store(s.rtp_sent, Relaxed);
        w.digits.store(s.digits, Relaxed);
        w.clock_slips.store(s.clock_slips, Relaxed);
        w.rtp_lost
            .store(s.rtp_lost + self.engine.rtp_lost_live(), Relaxed);
        for (i, v) in s.dropped.iter().enumerate() {
            w.dropped[i].store(*v, Relaxed);
        }
        self.publish_calls();
    }
}
