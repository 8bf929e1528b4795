//! The engine: every call of one media worker, driven by inputs and drained
//! of outputs (the sans-IO run loop, see the crate docs).
//!
//! All calls share one 20 ms tick grid: at each tick every active call moves
//! one frame each way. One timer per engine, not per call, keeps a thousand
//! calls cheap, and the per-call send interval stays 20 ms because each call
//! is served at the same point of every tick.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::call::media::{Dropped, Received};
use crate::call::voice::{Voice, VoiceSettings};
use crate::call::{Call, CallSettings};
use crate::dialogue::digits::{Digits, Settings as DigitSettings};
use crate::dialogue::flow::{Flow, LocalTime, QueueLoad, Surroundings};
use crate::dialogue::plan_call::PlanCall;
use crate::dialogue::speech::{Settings as SpeechSettings, Speech};
use crate::dialogue::{Dialogue, Note, Reply, Request};
use crate::playout::Prompts;
use crate::sdp::{LocalCaps, LocalMedia};
use crate::vad::{DetectorFactory, EnergyFactory};

/// The 20 ms media clock period.
pub const TICK: Duration = Duration::from_millis(20);

/// A call's handle, assigned by the shell (unique per process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Engine configuration, validated by the shell's config layer.
#[derive(Debug, Clone)]
pub struct Config {
    /// Codecs and telephone-event support offered in SDP answers.
    pub caps: LocalCaps,
    /// Per-call media settings.
    pub call: CallSettings,
    /// Ringing time before the engine answers.
    pub answer_after: Duration,
    /// Settings of the built-in digits dialplan, used when `speech` is
    /// `None`.
    pub digits: DigitSettings,
    /// Settings of the built-in speech dialplan; when `Some`, every call
    /// runs it (and listens and speaks) instead of the digits dialplan.
    pub speech: Option<SpeechSettings>,
    /// A flow dialplan; when `Some`, every call runs it (and listens and
    /// speaks with `voice`). Takes precedence over `speech`.
    pub flow: Option<Arc<Flow>>,
    /// Listening and barge-in settings of speech calls (validate with
    /// [`VoiceSettings::validate`]; invalid ones run with the defaults).
    pub voice: VoiceSettings,
    /// Seed of the SSRC/sequence generator (RFC 3550 wants them random; a
    /// seed keeps simulations repeatable).
    pub seed: u64,
}

/// What happened, fed to the engine.
#[derive(Debug)]
pub enum Input<'a> {
    /// A signalling event for a call.
    Signal {
        /// Current time.
        now: Instant,
        /// The call.
        call: CallId,
        /// What happened.
        event: SignalEvent,
    },
    /// A datagram arrived on a call's RTP (or, with `rtcp`, RTCP) port.
    Rtp {
        /// Arrival time.
        now: Instant,
        /// The call whose port received it.
        call: CallId,
        /// True for the RTCP port.
        rtcp: bool,
        /// Source address.
        from: SocketAddr,
        /// The datagram.
        data: &'a [u8],
    },
    /// An operator or API command.
    Command {
        /// Current time.
        now: Instant,
        /// The call.
        call: CallId,
        /// What to do.
        command: Command,
    },
    /// A transcription asked for with [`Output::Transcribe`] finished.
    Transcript {
        /// Current time.
        now: Instant,
        /// The call.
        call: CallId,
        /// The utterance.
        utt: UttId,
        /// The text, or why there is none (deadline, engine failure).
        result: Result<String, String>,
    },
    /// Audio of a synthesis asked for with [`Output::Synthesize`].
    Speech {
        /// Current time.
        now: Instant,
        /// The call.
        call: CallId,
        /// The request.
        req: SpeechId,
        /// The next piece.
        chunk: SpeechChunk,
    },
    /// The deadline last returned in [`Output::Timeout`] has passed.
    Timeout(Instant),
    /// The shell's answer to a dialogue's request (CRM, LLM, transfer).
    Reply {
        /// Current time.
        now: Instant,
        /// The call.
        call: CallId,
        /// The answer.
        reply: Reply,
    },
}

/// An utterance of the caller, numbered within its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UttId(pub u64);

/// A synthesis request, numbered within its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpeechId(pub u64);

/// A piece of synthesized speech, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeechChunk {
    /// Samples at the call's rate (8 kHz mono), one clause or part of one.
    Audio(Vec<i16>),
    /// The request is complete.
    End,
    /// The synthesizer failed; nothing more comes.
    Failed(String),
}

/// Which transcription an [`Output::Transcribe`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscribeKind {
    /// The utterance so far, at a pause: superseded if the caller goes on.
    Speculative,
    /// The whole utterance.
    Final,
}

/// Signalling events the shell turns SIP into.
#[derive(Debug, Clone)]
pub enum SignalEvent {
    /// A new INVITE with an SDP offer; `local` is the RTP address reserved for
    /// the call.
    Offered {
        /// The SDP offer body.
        sdp: Vec<u8>,
        /// Where kefu receives this call's RTP.
        local: LocalMedia,
        /// Who calls whom, and when (for flow dialplans).
        info: CallInfo,
    },
    /// A re-INVITE with a new offer.
    Reoffer {
        /// The SDP offer body.
        sdp: Vec<u8>,
    },
    /// The caller cancelled before answer (the SIP layer sent 487).
    Cancelled,
    /// The caller hung up (BYE).
    Bye,
    /// The dialog failed (no ACK, transport error).
    Failed,
}

/// Commands from the operator side.
#[derive(Debug, Clone)]
pub enum Command {
    /// Send RFC 4733 telephone events.
    SendDigits(String),
    /// End the call.
    Hangup,
}

/// What the shell must do.
#[derive(Debug)]
pub enum Output {
    /// Send a datagram from the call's RTP (or RTCP) port.
    Transmit {
        /// The call whose port sends it.
        call: CallId,
        /// True for the RTCP port.
        rtcp: bool,
        /// Destination.
        to: SocketAddr,
        /// The datagram.
        data: Vec<u8>,
    },
    /// A SIP action on the call's dialog.
    Signal {
        /// The call.
        call: CallId,
        /// What to do.
        action: SignalAction,
    },
    /// Recording data for the call.
    Record {
        /// The call.
        call: CallId,
        /// What to record.
        event: RecordEvent,
    },
    /// Something worth logging or storing.
    Event {
        /// The call.
        call: CallId,
        /// What happened.
        event: CallEvent,
    },
    /// Transcribe this caller audio (8 kHz mono) and answer with
    /// [`Input::Transcript`].
    Transcribe {
        /// The call.
        call: CallId,
        /// The utterance; a final transcription supersedes a speculative one
        /// of the same id.
        utt: UttId,
        /// Speculative or final.
        kind: TranscribeKind,
        /// The audio.
        audio: Vec<i16>,
    },
    /// Synthesize this text and answer with [`Input::Speech`] chunks.
    Synthesize {
        /// The call.
        call: CallId,
        /// The request.
        req: SpeechId,
        /// What to say.
        text: String,
    },
    /// A transcription's audio is stale (the caller went on speaking after
    /// the pause it was taken at): drop it if queued, stop it if running.
    /// Its answer, should one still come, is ignored by the engine.
    CancelTranscription {
        /// The call.
        call: CallId,
        /// The utterance number.
        utt: UttId,
    },
    /// Stop a synthesis (the caller barged in, or the call ended); chunks
    /// still in flight are dropped by the engine.
    CancelSynthesis {
        /// The call.
        call: CallId,
        /// The request.
        req: SpeechId,
    },
    /// Work for the call's dialogue: a CRM request, an LLM question, a
    /// transfer; answered with [`Input::Reply`].
    Request {
        /// The call.
        call: CallId,
        /// What to do.
        request: Request,
    },
    /// Something for the call's record (emotion, understanding, tags).
    Note {
        /// The call.
        call: CallId,
        /// What.
        note: Note,
    },
    /// Nothing more now; call again with [`Input::Timeout`] at this time.
    Timeout(Instant),
}

/// Who calls whom, and the local time, as the signalling layer saw the
/// offer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallInfo {
    /// The caller's number (user part of From).
    pub caller: String,
    /// The number called (user part of the request URI).
    pub called: String,
    /// Local time at the call center when the call arrived.
    pub local_time: Option<LocalTime>,
    /// Agents free in the queues, when routing knows (`Some(0)`: none).
    pub agents_idle: Option<u32>,
}

/// SIP actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalAction {
    /// Send 180 Ringing.
    Ringing,
    /// Send 200 OK with this SDP answer.
    Answer {
        /// The SDP answer.
        sdp: String,
    },
    /// Reject the INVITE.
    Reject {
        /// SIP status code.
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// Answer a re-INVITE with 200 OK and this SDP.
    ReofferAnswer {
        /// The SDP answer.
        sdp: String,
    },
    /// Reject a re-INVITE; the call goes on unchanged.
    ReofferReject {
        /// SIP status code.
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// Send BYE.
    Hangup,
}

/// Recording data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordEvent {
    /// Open a stereo recording at this rate.
    Start {
        /// Samples per second.
        rate: u32,
    },
    /// Interleaved stereo samples: caller left, agent right.
    Frame(Vec<i16>),
    /// Close the recording.
    Stop,
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The caller sent BYE.
    RemoteBye,
    /// The caller cancelled before answer.
    Cancelled,
    /// kefu hung up (dialogue finished or command).
    Hangup,
    /// The offer was rejected with this status.
    Rejected(u16),
    /// No RTP arrived for too long.
    MediaTimeout,
    /// Signalling failed.
    Failed,
}

impl EndReason {
    /// A short stable name for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            EndReason::RemoteBye => "remote_bye",
            EndReason::Cancelled => "cancelled",
            EndReason::Hangup => "hangup",
            EndReason::Rejected(_) => "rejected",
            EndReason::MediaTimeout => "media_timeout",
            EndReason::Failed => "failed",
        }
    }
}

/// Notable events of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// The call was answered.
    Answered,
    /// The caller pressed a key.
    Digit(char),
    /// What the caller said (final transcript of an utterance), and when
    /// they said it.
    Heard {
        /// The transcript.
        text: String,
        /// Start of the utterance.
        started: Instant,
        /// End of the utterance.
        ended: Instant,
    },
    /// What kefu said.
    Said(String),
    /// The caller interrupted kefu; its audio was flushed.
    BargeIn,
    /// Who spoke how much, reported just before an answered call ends.
    Talk(crate::quality::Talk),
    /// The call is over; the shell releases its ports and dialog.
    Ended(EndReason),
}

/// Counters of one engine.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// RTP datagrams received and used.
    pub rtp_received: u64,
    /// RTP datagrams sent.
    pub rtp_sent: u64,
    /// Received datagrams dropped, by reason (index of [`Dropped::ALL`]).
    pub dropped: [u64; 9],
    /// Telephone-event key presses received.
    pub digits: u64,
    /// Ticks that ran more than one period late (the clock skipped ahead).
    pub clock_slips: u64,
    /// RTP packets lost on the way in (sequence gaps) by calls that ended;
    /// [`Engine::rtp_lost_live`] has those of calls in progress.
    pub rtp_lost: u64,
}

/// Many calls, one tick grid.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    prompts: Arc<Prompts>,
    calls: HashMap<CallId, Call>,
    order: Vec<CallId>,
    out: VecDeque<Output>,
    next_tick: Option<Instant>,
    epoch: Instant,
    rng: u64,
    stats: Stats,
    detectors: Arc<dyn DetectorFactory>,
}

impl Engine {
    /// A new engine with no calls.
    pub fn new(config: Config, prompts: Arc<Prompts>, now: Instant) -> Engine {
        let rng = config.seed | 1;
        Engine {
            config,
            prompts,
            calls: HashMap::new(),
            order: Vec::new(),
            out: VecDeque::new(),
            next_tick: None,
            epoch: now,
            rng,
            stats: Stats::default(),
            detectors: Arc::new(EnergyFactory),
        }
    }

    /// Speech calls created from now on listen with detectors from
    /// `factory` (by default the energy VAD).
    pub fn set_detectors(&mut self, factory: Arc<dyn DetectorFactory>) {
        self.detectors = factory;
    }

    /// Number of calls (ringing or active).
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// A call, if it exists.
    pub fn call(&self, id: CallId) -> Option<&Call> {
        self.calls.get(&id)
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn random(&mut self) -> u32 {
        // xorshift64*: cheap and repeatable for a given seed.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    /// Feeds one input; then drain [`Engine::poll_output`].
    pub fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Signal { now, call, event } => self.on_signal(now, call, event),
            Input::Rtp {
                now,
                call,
                rtcp,
                from,
                data,
            } => self.on_rtp(now, call, rtcp, from, data),
            Input::Command { now, call, command } => self.on_command(now, call, command),
            Input::Timeout(now) => self.on_timeout(now),
            // A late answer for an ended call is dropped.
            Input::Transcript {
                now,
                call,
                utt,
                result,
            } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.on_transcript(now, utt, result, &mut self.out);
                    self.reap();
                }
            }
            Input::Speech {
                now,
                call,
                req,
                chunk,
            } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.on_speech(now, req, chunk, &mut self.out);
                    self.reap();
                }
            }
            Input::Reply { now, call, reply } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.on_reply(now, reply, &mut self.out);
                    self.reap();
                }
            }
        }
    }

    /// Gives calls offered from now on this flow dialplan; calls in
    /// progress keep the one they started with.
    pub fn set_flow(&mut self, flow: Arc<Flow>) {
        self.config.flow = Some(flow);
    }

    /// The flow dialplan calls offered now get, if any.
    pub fn flow(&self) -> Option<&Arc<Flow>> {
        self.config.flow.as_ref()
    }

    /// The next output; [`Output::Timeout`] when there is nothing more now.
    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        let idle = self.epoch + Duration::from_secs(3600 * 24 * 365);
        Output::Timeout(self.next_tick.unwrap_or(idle))
    }

    fn on_signal(&mut self, now: Instant, id: CallId, event: SignalEvent) {
        match event {
            SignalEvent::Offered { sdp, local, info } => self.offer(now, id, &sdp, local, info),
            SignalEvent::Reoffer { sdp } => {
                let caps = self.config.caps.clone();
                let Some(call) = self.calls.get_mut(&id) else {
                    self.out.push_back(Output::Signal {
                        call: id,
                        action: SignalAction::ReofferReject {
                            status: 481,
                            reason: "Call/Transaction Does Not Exist".into(),
                        },
                    });
                    return;
                };
                let action = match call.reoffer(&sdp, &caps) {
                    Ok(sdp) => SignalAction::ReofferAnswer { sdp },
                    Err(e) => SignalAction::ReofferReject {
                        status: e.status(),
                        reason: e.to_string(),
                    },
                };
                self.out.push_back(Output::Signal { call: id, action });
            }
            SignalEvent::Cancelled => self.end(id, crate::engine::EndReason::Cancelled),
            SignalEvent::Bye => self.end(id, EndReason::RemoteBye),
            SignalEvent::Failed => self.end(id, EndReason::Failed),
        }
    }

    fn offer(&mut self, now: Instant, id: CallId, sdp: &[u8], local: LocalMedia, info: CallInfo) {
        if self.calls.contains_key(&id) {
            return;
        }
        let ssrc = self.random();
        let dialogue: Box<dyn Dialogue> = match (&self.config.flow, &self.config.speech) {
            (Some(flow), _) => {
                let time = info
                    .local_time
                    .unwrap_or(LocalTime::midnight(crate::nlu::Date {
                        year: 2000,
                        month: 1,
                        day: 1,
                    }));
                let mut world = Surroundings::new(&info.caller, &info.called, time);
                world.all_queues = info.agents_idle.map(|idle| QueueLoad { idle, waiting: 0 });
                Box::new(PlanCall::new(Arc::clone(flow), world))
            }
            (None, Some(s)) => Box::new(Speech::new(s.clone())),
            (None, None) => Box::new(Digits::new(self.config.digits.clone())),
        };
        let speaks = self.config.flow.is_some() || self.config.speech.is_some();
        let voice = speaks.then_some(()).and_then(|_| {
            Voice::new(id, self.config.voice, self.detectors.create())
                .or_else(|_| Voice::new(id, VoiceSettings::default(), self.detectors.create()))
                .ok()
        });
        match Call::offer(
            id,
            sdp,
            &self.config.caps,
            local,
            self.config.call.clone(),
            dialogue,
            self.prompts.clone(),
            self.config.answer_after,
            ssrc,
            now,
        ) {
            Ok(call) => {
                let call = match voice {
                    Some(v) => call.with_voice(v),
                    None => call,
                };
                self.out.push_back(Output::Signal {
                    call: id,
                    action: SignalAction::Ringing,
                });
                self.calls.insert(id, call);
                self.order.push(id);
                if self.next_tick.is_none() {
                    self.next_tick = Some(now + TICK);
                }
            }
            Err(e) => {
                self.out.push_back(Output::Signal {
                    call: id,
                    action: SignalAction::Reject {
                        status: e.status(),
                        reason: e.to_string(),
                    },
                });
                self.out.push_back(Output::Event {
                    call: id,
                    event: CallEvent::Ended(EndReason::Rejected(e.status())),
                });
            }
        }
    }

    fn end(&mut self, id: CallId, reason: EndReason) {
        if let Some(call) = self.calls.get_mut(&id) {
            call.end(reason, &mut self.out);
        }
        self.reap();
    }

    /// RTP packets lost so far by the calls in progress.
    pub fn rtp_lost_live(&self) -> u64 {
        self.calls.values().map(Call::rtp_lost).sum()
    }

    fn reap(&mut self) {
        let calls = &mut self.calls;
        let stats = &mut self.stats;
        self.order.retain(|id| {
            let ended = calls
                .get(id)
                .is_none_or(|c| c.phase() == crate::call::Phase::Ended);
            if ended {
                if let Some(c) = calls.remove(id) {
                    stats.rtp_lost += c.rtp_lost();
                }
            }
            !ended
        });
        if self.calls.is_empty() {
            self.next_tick = None;
        }
    }

    fn on_rtp(&mut self, now: Instant, id: CallId, rtcp: bool, from: SocketAddr, data: &[u8]) {
        let Some(call) = self.calls.get_mut(&id) else {
            self.count_drop(Dropped::NoSession);
            return;
        };
        if rtcp {
            call.on_rtcp(data, now);
            return;
        }
        let received = call.on_rtp(now, from, data, &mut self.out);
        let ended = call.phase() == crate::call::Phase::Ended;
        match received {
            Received::Dropped(d) => self.count_drop(d),
            Received::Event(d) => {
                self.stats.rtp_received += 1;
                if d.is_some() {
                    self.stats.digits += 1;
                }
            }
            Received::Audio => self.stats.rtp_received += 1,
        }
        if ended {
            self.reap();
        }
    }

    fn count_drop(&mut self, d: Dropped) {
        if let Some(i) = Dropped::ALL.iter().position(|x| *x == d) {
            self.stats.dropped[i] += 1;
        }
    }

    fn on_command(&mut self, now: Instant, id: CallId, command: Command) {
        let _ = now;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        match command {
            Command::SendDigits(d) => {
                call.send_digits(&d);
            }
            Command::Hangup => {
                // A call not yet answered is declined (480), not sent BYE.
                let action = if matches!(call.phase(), crate::call::Phase::Ringing { .. }) {
                    SignalAction::Reject {
                        status: 480,
                        reason: "Temporarily Unavailable".into(),
                    }
                } else {
                    SignalAction::Hangup
                };
                self.out.push_back(Output::Signal { call: id, action });
                call.end(EndReason::Hangup, &mut self.out);
                self.reap();
            }
        }
    }

    fn on_timeout(&mut self, now: Instant) {
        let Some(tick) = self.next_tick else {
            return;
        };
        if now < tick {
            return;
        }
        let ntp = ntp_time(self.epoch, now);
        let before = self.out.len();
        for id in &self.order {
            if let Some(call) = self.calls.get_mut(id) {
                call.tick(now, ntp, &mut self.out);
            }
        }
        self.stats.rtp_sent += self
            .out
            .range(before..)
            .filter(|o| matches!(o, Output::Transmit { rtcp: false, .. }))
            .count() as u64;
        let mut next = tick + TICK;
        if now >= next {
            // More than a whole period late: skip ahead rather than burst.
            self.stats.clock_slips += 1;
            next = now + TICK;
        }
        self.next_tick = Some(next);
        self.reap();
    }
}

/// An NTP timestamp (RFC 3550 §4) for `now`, counted from the engine's epoch:
/// only differences matter to the peer's round-trip computation.
fn ntp_time(epoch: Instant, now: Instant) -> u64 {
    let d = now.saturating_duration_since(epoch);
    let frac = ((d.subsec_nanos() as u64) << 32) / 1_000_000_000;
    (d.as_secs() << 32) | frac
}
