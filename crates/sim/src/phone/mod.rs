//! A scripted caller's media side, in the spirit of SIPp's RTP stream: it
//! offers SDP, sends G.711 µ-law every 20 ms of virtual time from a PCM
//! source, presses keys as RFC 4733 events, and records everything it
//! receives so tests can check what the caller heard and how it was timed.
//!
//! Sans-IO: the world asks [`ScriptedPhone::next_send`] when it wants to
//! send, takes datagrams from [`ScriptedPhone::poll_transmit`] and feeds
//! arrivals to [`ScriptedPhone::on_datagram`].
//!
//! Not here: SIP (the world turns the phone's offers into engine signals).
//! The offers live in `sdp`, the receive side in `listen`.

mod listen;
mod sdp;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kefu_core::media::g711::{self, Law};
use kefu_core::media::tone::{Tone, ToneGenerator};
use kefu_core::media::Hz;
use kefu_core::rtp::dtmf::{DtmfPayload, DtmfReceiver, DtmfSender};
use kefu_core::rtp::packet::{self, RtpHeader};
use kefu_core::rtp::{SeqNo, Ssrc};

/// Samples per 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;
/// The phone's packet interval.
pub const PTIME: Duration = Duration::from_millis(20);
/// Payload type of PCMU (RFC 3551 static).
pub const PT_PCMU: u8 = 0;
/// Payload type the phone offers for telephone-event.
pub const PT_EVENT: u8 = 101;

pub use sdp::media_addr;

/// What the phone says.
#[derive(Debug, Clone)]
pub enum PcmSource {
    /// A tone, forever.
    Tone(ToneGenerator),
    /// Given samples, once, then silence.
    Samples {
        /// The samples (8 kHz mono).
        data: Vec<i16>,
        /// Next sample to send.
        pos: usize,
    },
}

impl PcmSource {
    fn fill(&mut self, out: &mut [i16]) {
        match self {
            PcmSource::Tone(gen) => gen.fill(out),
            PcmSource::Samples { data, pos } => {
                let n = data.len().saturating_sub(*pos).min(out.len());
                out[..n].copy_from_slice(&data[*pos..*pos + n]);
                out[n..].fill(0);
                *pos += n;
            }
        }
    }
}

/// How key presses are sent.
#[derive(Debug, Clone, Copy)]
pub struct DtmfStyle {
    /// Event duration.
    pub duration_ms: u32,
    /// Keep the marker bit on the first packet of each event.
    pub marker: bool,
    /// Audio frames sent between two events.
    pub gap_frames: usize,
}

impl Default for DtmfStyle {
    fn default() -> Self {
        DtmfStyle {
            duration_ms: 100,
            marker: true,
            gap_frames: 3,
        }
    }
}

/// One RTP packet the phone received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// Arrival time.
    pub at: Instant,
    /// Source address.
    pub from: SocketAddr,
    /// Marker bit.
    pub marker: bool,
    /// Payload type.
    pub pt: u8,
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub ts: u32,
    /// SSRC.
    pub ssrc: u32,
}

/// A caller's RTP endpoint.
#[derive(Debug)]
pub struct ScriptedPhone {
    sdp_addr: SocketAddr,
    addr: SocketAddr,
    source: PcmSource,
    ssrc: u32,
    seq: u16,
    ts: u32,
    remote: Option<SocketAddr>,
    next_send: Option<Instant>,
    events: VecDeque<Option<(DtmfPayload, bool)>>,
    event_ts: u32,
    sdp_version: u64,
    sent_audio: u64,
    sent_events: u64,
    frame: [i16; FRAME],
    rx: Vec<Heard>,
    heard: Vec<i16>,
    dtmf_rx: DtmfReceiver,
    digits: String,
    rtcp: u64,
    garbage: u64,
    sent: Vec<(Instant, Vec<u8>)>,
    echo: Option<Echo>,
    levels: Vec<(Instant, f32)>,
}

/// A line echoing what the phone hears back into what it sends.
#[derive(Debug, Clone)]
struct Echo {
    gain: f32,
    pending: VecDeque<i16>,
}

impl ScriptedPhone {
    /// A phone at `addr` saying a 440 Hz tone.
    pub fn new(addr: SocketAddr) -> Self {
        let tone = Tone::Sine {
            freq: 440,
            level_dbfs: -12.0,
        };
        let ssrc = 0x5150_0000 | u32::from(addr.port());
        ScriptedPhone {
            sdp_addr: addr,
            addr,
            source: PcmSource::Tone(ToneGenerator::new(tone, Hz(8000))),
            ssrc,
            seq: 1000,
            ts: 16_000,
            remote: None,
            next_send: None,
            events: VecDeque::new(),
            event_ts: 0,
            sdp_version: 1,
            sent_audio: 0,
            sent_events: 0,
            frame: [0; FRAME],
            rx: Vec::new(),
            heard: Vec::new(),
            dtmf_rx: DtmfReceiver::new(),
            digits: String::new(),
            rtcp: 0,
            garbage: 0,
            sent: Vec::new(),
            echo: None,
            levels: Vec::new(),
        }
    }

    /// A phone at `addr` that says nothing until told to
    /// ([`ScriptedPhone::say_samples`]).
    pub fn silent(addr: SocketAddr) -> Self {
        Self::new(addr).with_samples(Vec::new())
    }

    /// Echoes what it hears, `loss_db` quieter, into what it sends (a line
    /// without an echo canceller); the delay is the network's round trip
    /// plus one frame.
    pub fn with_echo(mut self, loss_db: f32) -> Self {
        self.echo = Some(Echo {
            gain: 10f32.powf(-loss_db / 20.0),
            pending: VecDeque::new(),
        });
        self
    }

    /// Queues `samples` to say after whatever is still queued (a tone
    /// source is replaced).
    pub fn say_samples(&mut self, samples: &[i16]) {
        match &mut self.source {
            PcmSource::Samples { data, pos } => {
                data.drain(..(*pos).min(data.len()));
                *pos = 0;
                data.extend_from_slice(samples);
            }
            PcmSource::Tone(_) => {
                self.source = PcmSource::Samples {
                    data: samples.to_vec(),
                    pos: 0,
                }
            }
        }
    }

    /// When what is queued to say will have been sent (the end of its last
    /// sample), if the phone is sending.
    pub fn queued_until(&self) -> Option<Instant> {
        let left = match &self.source {
            PcmSource::Samples { data, pos } => data.len().saturating_sub(*pos),
            PcmSource::Tone(_) => return None,
        };
        let micros = left as u64 * 1_000_000 / 8000;
        self.next_send.map(|t| t + Duration::from_micros(micros))
    }

    /// Says `tone` instead.
    pub fn with_tone(mut self, tone: Tone) -> Self {
        self.source = PcmSource::Tone(ToneGenerator::new(tone, Hz(8000)));
        self
    }

    /// Says `samples` once, then silence.
    pub fn with_samples(mut self, samples: Vec<i16>) -> Self {
        self.source = PcmSource::Samples {
            data: samples,
            pos: 0,
        };
        self
    }

    /// Uses this SSRC.
    pub fn with_ssrc(mut self, ssrc: u32) -> Self {
        self.ssrc = ssrc;
        self
    }

    /// Sits behind a NAT: the SDP still advertises the private address given
    /// to [`ScriptedPhone::new`], but packets leave from (and only reach the
    /// phone at) `public`.
    pub fn behind_nat(mut self, public: SocketAddr) -> Self {
        self.addr = public;
        self
    }

    /// Where the phone sends from and receives at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address written in the phone's SDP.
    pub fn sdp_addr(&self) -> SocketAddr {
        self.sdp_addr
    }

    /// The phone's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Handles the engine's SDP answer: starts sending to the address in it
    /// at `now`. Returns false if the answer carries no usable address.
    pub fn on_answer(&mut self, now: Instant, sdp: &str) -> bool {
        match media_addr(sdp) {
            Some(to) => {
                self.start(now, to);
                true
            }
            None => false,
        }
    }

    /// Starts sending to `remote` every 20 ms from `now`.
    pub fn start(&mut self, now: Instant, remote: SocketAddr) {
        self.remote = Some(remote);
        self.next_send = Some(now);
    }

    /// Stops sending (hung up, or muted to starve the engine).
    pub fn stop(&mut self) {
        self.next_send = None;
    }

    /// True while the phone sends.
    pub fn is_sending(&self) -> bool {
        self.next_send.is_some()
    }

    /// Presses `keys` with the default style.
    pub fn press(&mut self, keys: &str) {
        self.press_with(keys, DtmfStyle::default());
    }

    /// Presses `keys`, sent as RFC 4733 events in place of audio frames.
    pub fn press_with(&mut self, keys: &str, style: DtmfStyle) {
        let sender = DtmfSender::new(Hz(8000));
        for k in keys.chars() {
            let Ok(pkts) = sender.packets(k, style.duration_ms, 10) else {
                continue;
            };
            for (i, mut p) in pkts.into_iter().enumerate() {
                p.marker &= style.marker;
                self.events.push_back(Some((p, i == 0)));
            }
            self.events
                .extend(std::iter::repeat_n(None, style.gap_frames));
        }
    }

    /// True once every queued key press has been sent.
    pub fn keys_sent(&self) -> bool {
        self.events.is_empty()
    }

    /// When the phone next sends, if it is sending.
    pub fn next_send(&self) -> Option<Instant> {
        self.next_send
    }

    /// The next datagram `(from, to, data)` due at `now`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
        let due = self.next_send?;
        if due > now {
            return None;
        }
        let to = self.remote?;
        self.next_send = Some(due + PTIME);
        let ts = self.ts;
        self.ts = self.ts.wrapping_add(FRAME as u32);
        let mut out = Vec::with_capacity(12 + FRAME);
        if let Some(Some((ev, first))) = self.events.pop_front() {
            if first {
                self.event_ts = ts;
            }
            let h = self.header(ev.marker, PT_EVENT, self.event_ts);
            packet::write(&h, &ev.payload, &mut out);
            self.sent_events += 1;
        } else {
            self.source.fill(&mut self.frame);
            if let Some(e) = self.echo.as_mut() {
                let n = e.pending.len().min(FRAME);
                for (s, v) in self.frame.iter_mut().zip(e.pending.drain(..n)) {
                    *s = s.saturating_add((f32::from(v) * e.gain) as i16);
                }
            }
            let mut payload = Vec::with_capacity(FRAME);
            g711::encode(Law::Mu, &self.frame, &mut payload);
            let h = self.header(self.sent_audio == 0, PT_PCMU, ts);
            packet::write(&h, &payload, &mut out);
            self.sent_audio += 1;
        }
        self.seq = self.seq.wrapping_add(1);
        self.sent.push((due, out.clone()));
        Some((self.addr, to, out))
    }

    fn header(&self, marker: bool, pt: u8, ts: u32) -> RtpHeader {
        RtpHeader {
            marker,
            payload_type: pt,
            seq: SeqNo(self.seq),
            timestamp: ts,
            ssrc: Ssrc(self.ssrc),
        }
    }
}
