//! One call's RTP session (RFC 3550): what arrives is checked, latched,
//! de-jittered and decoded; what the agent says is encoded and sent on kefu's
//! own 20 ms clock.
//!
//! Symmetric RTP (RFC 4961, "comedia"): once packets of the expected stream
//! arrive from an address other than the one in the SDP (a caller behind
//! NAT), kefu sends to where they come from. The receive side latches onto
//! one SSRC; packets of any other SSRC are dropped and counted, unless a new
//! SSRC keeps arriving from the latched address (a re-originated stream), in
//! which case the session switches to it.
//!
//! Not here: SDP (see [`crate::sdp`]), deciding what to play (the dialogue).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::media::codec::AudioCodec;
use crate::media::g711::Law;
use crate::media::Hz;
use crate::rtp::dtmf::{DtmfPayload, DtmfReceiver, DtmfSender};
use crate::rtp::jitter::{JitterBuffer, JitterConfig, Playout as JitterOut, PushOutcome};
use crate::rtp::packet::{self, RtpError, RtpHeader, RtpPacket};
use crate::rtp::rtcp::{self, NtpTime, ReceptionStats, SenderInfo};
use crate::rtp::{SeqNo, Ssrc};
use crate::sdp::{Codec, Direction, Negotiated};

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;
/// Consecutive packets of a new SSRC from the latched address that switch
/// the session over to it.
const SSRC_SWITCH_AFTER: u32 = 5;
/// RTCP report interval (RFC 3550 §6.2 minimum of 5 s).
const RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// Why a received datagram was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dropped {
    /// Shorter than an RTP header.
    Short,
    /// RTP version is not 2.
    Version,
    /// Padding, CSRC list or header extension run past the packet, or the
    /// payload is not a valid packet of the negotiated codec.
    Malformed,
    /// A payload type that was not negotiated.
    PayloadType,
    /// A synchronization source other than the one the session latched.
    Ssrc,
    /// Arrived before media was negotiated, or while the call is on hold
    /// with receiving disabled.
    NoSession,
    /// Same timestamp as a packet already buffered.
    Duplicate,
    /// Arrived after its playout time.
    Late,
    /// The jitter buffer was full.
    Overflow,
}

impl Dropped {
    /// Every reason, for metrics.
    pub const ALL: [Dropped; 9] = [
        Dropped::Short,
        Dropped::Version,
        Dropped::Malformed,
        Dropped::PayloadType,
        Dropped::Ssrc,
        Dropped::NoSession,
        Dropped::Duplicate,
        Dropped::Late,
        Dropped::Overflow,
    ];

    /// A short stable name for metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Dropped::Short => "short",
            Dropped::Version => "version",
            Dropped::Malformed => "malformed",
            Dropped::PayloadType => "payload_type",
            Dropped::Ssrc => "ssrc",
            Dropped::NoSession => "no_session",
            Dropped::Duplicate => "duplicate",
            Dropped::Late => "late",
            Dropped::Overflow => "overflow",
        }
    }
}

impl From<RtpError> for Dropped {
    fn from(e: RtpError) -> Self {
        match e {
            RtpError::TooShort => Dropped::Short,
            RtpError::BadVersion(_) => Dropped::Version,
            _ => Dropped::Malformed,
        }
    }
}

/// What one received RTP datagram amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Audio, buffered for playout.
    Audio,
    /// A telephone event; `Some` once per key press.
    Event(Option<char>),
    /// Not used, and why.
    Dropped(Dropped),
}

/// The RTP session of one call.
pub struct MediaSession {
    codec: AudioCodec,
    audio_pt: u8,
    event_pt: Option<u8>,
    remote_rtp: Option<SocketAddr>,
    sdp_rtp: Option<SocketAddr>,
    remote_rtcp: Option<SocketAddr>,
    latched: bool,
    symmetric: bool,
    sending: bool,
    receiving: bool,
    rx_ssrc: Option<Ssrc>,
    rx_from: Option<SocketAddr>,
    candidate: Option<(Ssrc, u32)>,
    jitter: JitterBuffer,
    dtmf_rx: DtmfReceiver,
    reception: Option<ReceptionStats>,
    /// Packets lost by sources before the current one (SSRC or codec
    /// changes start a new reception count).
    lost_before: u64,
    tx_ssrc: Ssrc,
    tx_seq: u16,
    tx_ts: u32,
    tx_packets: u32,
    tx_octets: u32,
    events_out: std::collections::VecDeque<Option<DtmfPayload>>,
    event_ts: u32,
    next_rtcp: Instant,
    scratch: Vec<u8>,
    pcm: Vec<i16>,
    cname: String,
    started: Instant,
}

impl std::fmt::Debug for MediaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSession")
            .field("pt", &self.audio_pt)
            .field("remote", &self.remote_rtp)
            .field("latched", &self.latched)
            .finish()
    }
}

impl MediaSession {
    /// A session for negotiated media; `ssrc` and `seq` come from the
    /// engine's seeded generator (RFC 3550 §5.1: random initial values).
    pub fn new(
        neg: &Negotiated,
        jitter_depth: u32,
        symmetric: bool,
        ssrc: u32,
        seq: u16,
        now: Instant,
    ) -> Self {
        let mut s = MediaSession {
            codec: AudioCodec::G711(Law::Mu),
            audio_pt: 0,
            event_pt: None,
            remote_rtp: None,
            sdp_rtp: None,
            remote_rtcp: None,
            latched: false,
            symmetric,
            sending: true,
            receiving: true,
            rx_ssrc: None,
            rx_from: None,
            candidate: None,
            jitter: JitterBuffer::new(JitterConfig {
                clock_rate: Hz(8000),
                frame_samples: FRAME as u32,
                depth_frames: jitter_depth.max(1),
                max_frames: 50,
            }),
            dtmf_rx: DtmfReceiver::new(),
            reception: None,
            lost_before: 0,
            tx_ssrc: Ssrc(ssrc),
            tx_seq: seq,
            tx_ts: ssrc.rotate_left(7),
            tx_packets: 0,
            tx_octets: 0,
            events_out: Default::default(),
            event_ts: 0,
            next_rtcp: now + RTCP_INTERVAL,
            scratch: Vec::with_capacity(12 + FRAME),
            pcm: Vec::with_capacity(FRAME),
            cname: format!("kefu-{ssrc:08x}"),
            started: now,
        };
        s.apply(neg);
        s
    }

    /// Applies a (re-)negotiation: codec, payload types, remote address and
    /// direction. A changed remote address undoes symmetric latching.
    pub fn apply(&mut self, neg: &Negotiated) {
        if neg.codec != self.codec.codec() {
            self.set_codec(neg.codec);
        }
        self.audio_pt = neg.payload_type;
        self.event_pt = neg.telephone_event_pt;
        if neg.remote_rtp != self.sdp_rtp || !self.latched {
            self.sdp_rtp = neg.remote_rtp;
            self.remote_rtp = neg.remote_rtp;
            self.remote_rtcp = neg.remote_rtcp;
            self.latched = false;
        }
        self.sending = matches!(
            neg.local_direction,
            Direction::SendRecv | Direction::SendOnly
        ) && neg.remote_rtp.is_some();
        self.receiving = matches!(
            neg.local_direction,
            Direction::SendRecv | Direction::RecvOnly
        );
    }

    /// Packets lost so far (sequence gaps, RFC 3550 A.3), over every
    /// source the call has had.
    pub fn rtp_lost(&self) -> u64 {
        self.lost_before
            + self
                .reception
                .as_ref()
                .map_or(0, |r| r.lost().max(0) as u64)
    }

    /// Ends the current reception count, keeping its losses.
    fn retire_reception(&mut self) {
        if let Some(r) = self.reception.take() {
            self.lost_before += r.lost().max(0) as u64;
        }
    }

    /// Switches to `codec`, re-clocking the jitter buffer and the reception
    /// statistics when its RTP clock rate differs. A codec this build cannot
    /// run (Opus without the `opus` feature) falls back to PCMU; it is only
    /// negotiated if `LocalCaps::opus` was forced on in such a build.
    fn set_codec(&mut self, codec: Codec) {
        let next = AudioCodec::new(codec).unwrap_or(AudioCodec::G711(Law::Mu));
        let cfg = self.jitter.config();
        if next.clock_rate() != cfg.clock_rate.0 || next.frame_samples() != cfg.frame_samples {
            self.jitter = JitterBuffer::new(JitterConfig {
                clock_rate: Hz(next.clock_rate()),
                frame_samples: next.frame_samples(),
                ..cfg
            });
            self.retire_reception();
        }
        self.codec = next;
    }

    /// Where RTP goes now (after latching), if anywhere.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote_rtp
    }

    /// True while kefu sends audio (not on hold).
    pub fn is_sending(&self) -> bool {
        self.sending
    }

    /// Handles one received RTP datagram.
    pub fn on_rtp(&mut self, from: SocketAddr, data: &[u8], arrival: Instant) -> Received {
        let pkt = match RtpPacket::parse(data) {
            Ok(p) => p,
            Err(e) => return Received::Dropped(e.into()),
        };
        if !self.receiving {
            return Received::Dropped(Dropped::NoSession);
        }
        let pt = pkt.header.payload_type;
        let is_event = Some(pt) == self.event_pt;
        if pt != self.audio_pt && !is_event {
            return Received::Dropped(Dropped::PayloadType);
        }
        if let Some(d) = self.check_ssrc(pkt.header.ssrc, from) {
            return Received::Dropped(d);
        }
        self.latch(from);
        // Arrival time in RTP clock units, for the jitter estimate (RFC 3550 §6.4.1).
        let ts_units = arrival.saturating_duration_since(self.started).as_micros()
            * u128::from(self.codec.clock_rate())
            / 1_000_000;
        let ssrc = pkt.header.ssrc;
        let reception = self
            .reception
            .get_or_insert_with(|| ReceptionStats::new(ssrc));
        reception.on_packet(pkt.header.seq, pkt.header.timestamp, ts_units as u32);
        if !is_event && self.codec.check(pkt.payload).is_err() {
            return Received::Dropped(Dropped::Malformed);
        }
        if is_event {
            return match self.dtmf_rx.on_packet(
                pkt.header.marker,
                pkt.header.timestamp,
                pkt.payload,
            ) {
                Ok(d) => Received::Event(d.map(|d| d.digit)),
                Err(_) => Received::Dropped(Dropped::Malformed),
            };
        }
        match self
            .jitter
            .push(pkt.header.seq, pkt.header.timestamp, pkt.payload)
        {
            PushOutcome::Duplicate => Received::Dropped(Dropped::Duplicate),
            PushOutcome::Late => Received::Dropped(Dropped::Late),
            PushOutcome::Overflow => Received::Dropped(Dropped::Overflow),
            _ => Received::Audio,
        }
    }

    fn check_ssrc(&mut self, ssrc: Ssrc, from: SocketAddr) -> Option<Dropped> {
        match self.rx_ssrc {
            None => {
                self.rx_ssrc = Some(ssrc);
                self.rx_from = Some(from);
                None
            }
            Some(cur) if cur == ssrc => {
                self.candidate = None;
                None
            }
            Some(_) => {
                if self.rx_from != Some(from) {
                    return Some(Dropped::Ssrc);
                }
                let count = match self.candidate {
                    Some((c, n)) if c == ssrc => n + 1,
                    _ => 1,
                };
                if count >= SSRC_SWITCH_AFTER {
                    self.rx_ssrc = Some(ssrc);
                    self.candidate = None;
                    self.jitter.reset();
                    self.dtmf_rx.reset();
                    self.retire_reception();
                    None
                } else {
                    self.candidate = Some((ssrc, count));
                    Some(Dropped::Ssrc)
                }
            }
        }
    }

    fn latch(&mut self, from: SocketAddr) {
        if self.symmetric && !self.latched {
            if self.remote_rtp != Some(from) {
                self.remote_rtp = Some(from);
                self.remote_rtcp = Some(SocketAddr::new(from.ip(), from.port().wrapping_add(1)));
            }
            self.latched = true;
        }
    }

    /// Handles a received RTCP datagram; returns false if it did not parse.
    pub fn on_rtcp(&mut self, data: &[u8], now: Instant) -> bool {
        let Ok(packets) = rtcp::parse(data) else {
            return false;
        };
        for p in packets {
            if let (rtcp::RtcpPacket::SenderReport { ntp, .. }, Some(r)) =
                (p, self.reception.as_mut())
            {
                r.on_sender_report(ntp, now);
            }
        }
        true
    }

    /// Queues RFC 4733 events for `digits`, sent instead of audio frames.
    pub fn send_digits(&mut self, digits: &str, duration_ms: u32) -> usize {
        let sender = DtmfSender::new(Hz(self.codec.clock_rate()));
        let mut queued = 0;
        for d in digits.chars() {
            if let Ok(pkts) = sender.packets(d, duration_ms, 10) {
                self.events_out.extend(pkts.into_iter().map(Some));
                // A 60 ms pause of plain audio between key presses.
                self.events_out.extend([None, None, None]);
                queued += 1;
            }
        }
        queued
    }

    /// One tick of the 20 ms clock: the caller's decoded frame goes into
    /// `caller` (the codec's concealment for a lost packet, silence while
    /// nothing plays), and the agent's `agent`
    /// frame is encoded into the returned datagram, if the session sends.
    pub fn tick(&mut self, agent: &[i16], caller: &mut [i16]) -> Option<(SocketAddr, Vec<u8>)> {
        self.pcm.clear();
        match self.jitter.pop() {
            JitterOut::Frame(payload) => {
                // `on_rtp` already dropped payloads that fail `check`.
                if self.codec.decode(payload, &mut self.pcm).is_err() {
                    self.pcm.clear();
                    self.codec.conceal(&mut self.pcm);
                }
            }
            JitterOut::Lost => self.codec.conceal(&mut self.pcm),
            JitterOut::Buffering => {}
        }
        let n = self.pcm.len().min(caller.len());
        caller[..n].copy_from_slice(&self.pcm[..n]);
        caller[n..].fill(0);
        let ts = self.tx_ts;
        self.tx_ts = self.tx_ts.wrapping_add(self.codec.frame_samples());
        if !self.sending {
            return None;
        }
        let to = self.remote_rtp?;
        let mut out = Vec::with_capacity(12 + FRAME);
        let event = self.events_out.pop_front().flatten();
        if let (Some(pt), Some(ev)) = (self.event_pt, event) {
            if ev.marker {
                self.event_ts = ts;
            }
            let header = RtpHeader {
                marker: ev.marker,
                payload_type: pt,
                seq: SeqNo(self.tx_seq),
                timestamp: self.event_ts,
                ssrc: self.tx_ssrc,
            };
            packet::write(&header, &ev.payload, &mut out);
        } else {
            self.scratch.clear();
            // Only a frame length Opus cannot packetise fails; send nothing.
            self.codec.encode(agent, &mut self.scratch).ok()?;
            let header = RtpHeader {
                marker: self.tx_packets == 0,
                payload_type: self.audio_pt,
                seq: SeqNo(self.tx_seq),
                timestamp: ts,
                ssrc: self.tx_ssrc,
            };
            packet::write(&header, &self.scratch, &mut out);
        }
        self.tx_seq = self.tx_seq.wrapping_add(1);
        self.tx_packets = self.tx_packets.wrapping_add(1);
        self.tx_octets = self.tx_octets.wrapping_add((out.len() - 12) as u32);
        Some((to, out))
    }

    /// An RTCP compound report when one is due (every 5 s).
    pub fn rtcp_due(&mut self, now: Instant, ntp: u64) -> Option<(SocketAddr, Vec<u8>)> {
        if now < self.next_rtcp {
            return None;
        }
        self.next_rtcp = now + RTCP_INTERVAL;
        let to = self.remote_rtcp?;
        let blocks: Vec<_> = self
            .reception
            .as_mut()
            .map(|r| r.report_block(now))
            .into_iter()
            .collect();
        let mut out = Vec::with_capacity(128);
        let written = if self.tx_packets > 0 {
            let info = SenderInfo {
                ntp: NtpTime(ntp),
                rtp_ts: self.tx_ts,
                packets: self.tx_packets,
                octets: self.tx_octets,
            };
            rtcp::write_sender_report(self.tx_ssrc, &info, &blocks, &self.cname, &mut out)
        } else {
            rtcp::write_receiver_report(self.tx_ssrc, &blocks, &self.cname, &mut out)
        };
        written.ok()?;
        Some((to, out))
    }
}
