//! The world: one [`Engine`], a [`SimNetwork`], scripted phones and a
//! [`VirtualClock`], stepped like quinn's test `Pair`: [`World::step`] jumps
//! to the earliest thing that happens next (an engine timeout, a datagram
//! arriving, a phone's next packet) and does everything due then.
//!
//! The world plays the shell's part: it turns a phone's offer into
//! [`SignalEvent::Offered`], performs every [`Output`] (datagrams into the
//! network from the call's RTP address, SIP actions and events into per-call
//! logs, recording frames into per-call buffers, speech requests to the
//! scripted recogniser and synthesizer of `voice`) and routes arrivals to
//! the engine or to the phone that owns the address. SIP itself is not
//! simulated: signalling reaches the phone instantly. What the world saw
//! of each call is read back through the accessors in `log`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use kefu_core::dialogue::{Note, Reply, Request};
use kefu_core::engine::CallInfo;
use kefu_core::engine::{
    CallEvent, CallId, Command, Config, Engine, Input, Output, RecordEvent, SignalAction,
    SignalEvent,
};
use kefu_core::playout::Prompts;
use kefu_core::sdp::LocalMedia;

mod log;
mod run;
mod voice;

pub use voice::{SpeechRequest, SpeechServices, WORD_DBFS};

use crate::clock::VirtualClock;
use crate::net::{Delivery, NetConfig, SimNetwork};
use crate::phone::ScriptedPhone;
use crate::rng::Rng;

/// kefu's media address in the world.
pub const KEFU_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
/// RTP port of the first call; each call takes the next even port.
pub const FIRST_PORT: u16 = 20_000;

/// A phone's handle in the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneId(pub usize);

/// An RTP datagram the engine sent, before the network touched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRtp {
    /// When it was sent.
    pub at: Instant,
    /// Destination.
    pub to: SocketAddr,
    /// The datagram.
    pub data: Vec<u8>,
}

/// Everything the world saw of one call.
#[derive(Debug)]
struct CallLog {
    phone: Option<PhoneId>,
    local: SocketAddr,
    signals: Vec<(Instant, SignalAction)>,
    events: Vec<(Instant, CallEvent)>,
    frames: Vec<(Instant, Vec<i16>)>,
    recording_started: bool,
    recording_stopped: bool,
    sent: Vec<SentRtp>,
    speech: Vec<(Instant, SpeechRequest)>,
    requests: Vec<(Instant, Request)>,
    notes: Vec<(Instant, Note)>,
}

/// The simulated world around one engine.
#[derive(Debug)]
pub struct World {
    clock: VirtualClock,
    engine: Engine,
    net: SimNetwork,
    phones: Vec<ScriptedPhone>,
    calls: BTreeMap<CallId, CallLog>,
    by_addr: BTreeMap<SocketAddr, (CallId, bool)>,
    engine_timeout: Option<Instant>,
    next_call: u64,
    rng: Rng,
    undelivered: Vec<Delivery>,
    services: voice::Services,
    call_info: CallInfo,
}

impl World {
    /// A world with the [`crate::fixture`] engine config and prompts.
    pub fn new(net: NetConfig) -> Self {
        Self::with_config(
            crate::fixture::engine_config(),
            crate::fixture::prompts(),
            net,
        )
    }

    /// A world around an engine built from `config` and `prompts`.
    pub fn with_config(config: Config, prompts: Prompts, net: NetConfig) -> Self {
        let clock = VirtualClock::new();
        let rng = Rng::new(net.seed ^ 0xA5A5_A5A5);
        World {
            engine: Engine::new(config, prompts.into(), clock.now()),
            clock,
            net: SimNetwork::new(net),
            phones: Vec::new(),
            calls: BTreeMap::new(),
            by_addr: BTreeMap::new(),
            engine_timeout: None,
            next_call: 1,
            rng,
            undelivered: Vec::new(),
            services: voice::Services::default(),
            call_info: CallInfo::default(),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Virtual time since the world began.
    pub fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }

    /// The engine under test.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The network.
    pub fn net(&self) -> &SimNetwork {
        &self.net
    }

    /// The network, to change its behaviour mid-call.
    pub fn net_mut(&mut self) -> &mut SimNetwork {
        &mut self.net
    }

    /// The world's PRNG (seeded from the network seed), for test data.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Adds a phone.
    pub fn add_phone(&mut self, phone: ScriptedPhone) -> PhoneId {
        self.phones.push(phone);
        PhoneId(self.phones.len() - 1)
    }

    /// A phone.
    ///
    /// # Panics
    /// On an id not from [`World::add_phone`] (a test bug).
    pub fn phone(&self, id: PhoneId) -> &ScriptedPhone {
        &self.phones[id.0]
    }

    /// A phone, to script it.
    ///
    /// # Panics
    /// On an id not from [`World::add_phone`] (a test bug).
    pub fn phone_mut(&mut self, id: PhoneId) -> &mut ScriptedPhone {
        &mut self.phones[id.0]
    }

    /// The phone places a call with its initial offer.
    pub fn dial(&mut self, phone: PhoneId) -> CallId {
        let sdp = self.phone_mut(phone).offer();
        self.dial_with(Some(phone), sdp)
    }

    /// A call offered with `sdp`; `phone`, if any, gets its media.
    pub fn dial_with(&mut self, phone: Option<PhoneId>, sdp: Vec<u8>) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let port = FIRST_PORT + 2 * (id.0 as u16 - 1);
        let local = SocketAddr::new(KEFU_IP, port);
        self.by_addr.insert(local, (id, false));
        self.by_addr
            .insert(SocketAddr::new(KEFU_IP, port + 1), (id, true));
        self.calls.insert(
            id,
            CallLog {
                phone,
                local,
                signals: Vec::new(),
                requests: Vec::new(),
                notes: Vec::new(),
                events: Vec::new(),
                frames: Vec::new(),
                recording_started: false,
                recording_stopped: false,
                sent: Vec::new(),
                speech: Vec::new(),
            },
        );
        let media = LocalMedia {
            address: KEFU_IP,
            rtp_port: port,
            session_id: 7_000 + id.0,
            session_version: 1,
            username: "kefu".into(),
        };
        let info = self.call_info.clone();
        self.signal(
            id,
            SignalEvent::Offered {
                sdp,
                local: media,
                info,
            },
        );
        id
    }

    /// Who calls whom for calls dialled from now on (flow dialplans read
    /// it: caller number, local time, free agents).
    pub fn set_call_info(&mut self, info: CallInfo) {
        self.call_info = info;
    }

    /// Reloads the flow dialplan: calls dialled from now on run `flow`.
    pub fn set_flow(&mut self, flow: std::sync::Arc<kefu_core::dialogue::flow::Flow>) {
        self.engine.set_flow(flow);
    }

    /// Answers a request of `call`'s dialogue now.
    pub fn reply(&mut self, call: CallId, reply: Reply) {
        let now = self.now();
        self.engine.handle_input(Input::Reply { now, call, reply });
        self.drain();
    }

    /// Requests `call`'s dialogue made (CRM, LLM, transfer), in order.
    pub fn requests(&self, call: CallId) -> Vec<Request> {
        self.calls
            .get(&call)
            .map(|l| l.requests.iter().map(|r| r.1.clone()).collect())
            .unwrap_or_default()
    }

    /// Requests with the time each was made.
    pub fn requests_timed(&self, call: CallId) -> Vec<(Instant, Request)> {
        self.calls
            .get(&call)
            .map(|l| l.requests.clone())
            .unwrap_or_default()
    }

    /// Notes `call`'s dialogue put on the record, in order.
    pub fn notes(&self, call: CallId) -> Vec<Note> {
        self.calls
            .get(&call)
            .map(|l| l.notes.iter().map(|r| r.1.clone()).collect())
            .unwrap_or_default()
    }

    /// Feeds a signalling event for `call` now.
    pub fn signal(&mut self, call: CallId, event: SignalEvent) {
        let now = self.now();
        if matches!(
            event,
            SignalEvent::Bye | SignalEvent::Cancelled | SignalEvent::Failed
        ) {
            self.stop_phone(call);
        }
        self.engine.handle_input(Input::Signal { now, call, event });
        self.drain();
    }

    /// The caller hangs up (BYE).
    pub fn bye(&mut self, call: CallId) {
        self.signal(call, SignalEvent::Bye);
    }

    /// The caller cancels before answer.
    pub fn cancel(&mut self, call: CallId) {
        self.signal(call, SignalEvent::Cancelled);
    }

    /// The caller re-offers (re-INVITE).
    pub fn reoffer(&mut self, call: CallId, sdp: Vec<u8>) {
        self.signal(call, SignalEvent::Reoffer { sdp });
    }

    /// An operator command on `call` now.
    pub fn command(&mut self, call: CallId, command: Command) {
        let now = self.now();
        self.engine
            .handle_input(Input::Command { now, call, command });
        self.drain();
    }

    /// Queues `data` from `from` to the call's RTP port, arriving now
    /// (no loss or jitter); it is handled on the next step.
    pub fn inject(&mut self, call: CallId, from: SocketAddr, data: Vec<u8>) {
        if let Some(local) = self.calls.get(&call).map(|c| c.local) {
            let now = self.now();
            self.net.inject(now, from, local, data);
        }
    }

    /// kefu's RTP address for `call`.
    pub fn local_addr(&self, call: CallId) -> Option<SocketAddr> {
        self.calls.get(&call).map(|c| c.local)
    }

    fn stop_phone(&mut self, call: CallId) {
        let phone = self.calls.get(&call).and_then(|c| c.phone);
        if let Some(p) = phone.and_then(|p| self.phones.get_mut(p.0)) {
            p.stop();
        }
    }

    /// Performs every pending output of the engine.
    fn drain(&mut self) {
        let now = self.now();
        loop {
            match self.engine.poll_output() {
                Output::Timeout(t) => {
                    self.engine_timeout = Some(t);
                    return;
                }
                Output::Transmit {
                    call,
                    rtcp,
                    to,
                    data,
                } => {
                    let Some(log) = self.calls.get_mut(&call) else {
                        continue;
                    };
                    let mut from = log.local;
                    if rtcp {
                        from.set_port(from.port() + 1);
                    } else {
                        log.sent.push(SentRtp {
                            at: now,
                            to,
                            data: data.clone(),
                        });
                    }
                    self.net.send(now, from, to, data);
                }
                Output::Signal { call, action } => self.on_signal(now, call, action),
                Output::Request { call, request } => {
                    if let Some(log) = self.calls.get_mut(&call) {
                        log.requests.push((now, request));
                    }
                }
                Output::Note { call, note } => {
                    if let Some(log) = self.calls.get_mut(&call) {
                        log.notes.push((now, note));
                    }
                }
                o @ (Output::Transcribe { .. }
                | Output::Synthesize { .. }
                | Output::CancelSynthesis { .. }
                | Output::CancelTranscription { .. }) => self.on_speech_output(now, o),
                Output::Event { call, event } => {
                    if matches!(event, CallEvent::Ended(_)) {
                        self.stop_phone(call);
                    }
                    if let Some(log) = self.calls.get_mut(&call) {
                        log.events.push((now, event));
                    }
                }
                Output::Record { call, event } => {
                    if let Some(log) = self.calls.get_mut(&call) {
                        match event {
                            RecordEvent::Start { .. } => log.recording_started = true,
                            RecordEvent::Frame(f) => log.frames.push((now, f)),
                            RecordEvent::Stop => log.recording_stopped = true,
                        }
                    }
                }
            }
        }
    }

    fn on_signal(&mut self, now: Instant, call: CallId, action: SignalAction) {
        let Some(log) = self.calls.get_mut(&call) else {
            return;
        };
        let phone = log.phone;
        log.signals.push((now, action.clone()));
        match action {
            SignalAction::Answer { sdp } => {
                if let Some(p) = phone.and_then(|p| self.phones.get_mut(p.0)) {
                    p.on_answer(now, &sdp);
                }
            }
            SignalAction::Hangup | SignalAction::Reject { .. } => self.stop_phone(call),
            _ => {}
        }
    }
}
