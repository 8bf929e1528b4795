//! The offer/answer model from the answerer's side (RFC 3264 §6), plus the
//! offer kefu makes for outbound calls (§5).
//!
//! Owns [`Codec`], [`LocalCaps`], [`LocalMedia`], [`Negotiated`],
//! [`answer`], [`offer`] and [`hold_state`].
//!
//! [`answer`] accepts one audio stream: the first `m=audio` with RTP/AVP or
//! RTP/AVPF, a non-zero port and a codec in common. The codec is the first
//! of the *offerer's* formats that kefu supports (§6.1 recommends following
//! the offerer's preference); static payload types 0 and 8 are recognised
//! without `a=rtpmap` (RFC 3551 §6), dynamic ones (Opus, telephone-event) by
//! encoding name and clock rate, case-insensitively, keeping the offerer's
//! payload type numbers (§6.1). Every other `m=` line is rejected with port
//! 0, so the answer has as many media sections as the offer, in the same
//! order (§6). A re-INVITE offer goes through the same function; the caller
//! bumps `LocalMedia::session_version` (§8).
//!
//! Deliberate limits, each one a simplification rather than an oversight:
//! - `a=rtcp-mux` is never accepted (RFC 5761 §5.1.1 lets the answerer
//!   decline by omitting it), so RTCP goes to `a=rtcp` or RTP port + 1.
//! - telephone-event (RFC 4733) is answered only at the chosen codec's clock
//!   rate (§2.1 requires the event clock to match the audio stream's).
//! - Secure profiles (SAVP, SAVPF, DTLS) are refused: kefu has no SRTP.
//! - Host names in `c=` are refused: resolving them would be I/O.
//!
//! Parsing the peer's *answer* to [`offer`] is not implemented yet.

use std::net::{IpAddr, SocketAddr};

use super::parse::{
    Connection, Direction, MediaDescription, MediaKind, Origin, RtpMap, SessionDescription, Timing,
};
use super::SdpError;

/// A voice codec kefu can send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0 (RFC 3551 §4.5.14).
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
    /// Opus, dynamic payload type, `opus/48000/2` (RFC 7587 §7).
    Opus,
}

impl Codec {
    /// The `a=rtpmap` encoding name.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
            Self::Opus => "opus",
        }
    }

    /// RTP clock rate in Hz.
    pub fn clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8000,
            Self::Opus => 48000,
        }
    }

    /// Channel count written in `a=rtpmap` (RFC 7587 §7 mandates `/2`).
    pub fn rtpmap_channels(self) -> Option<u8> {
        match self {
            Self::Pcmu | Self::Pcma => None,
            Self::Opus => Some(2),
        }
    }

    /// Static payload type, if the codec has one (RFC 3551 Table 4).
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Self::Pcmu => Some(0),
            Self::Pcma => Some(8),
            Self::Opus => None,
        }
    }

    /// Payload type kefu uses in its own offers.
    fn offer_payload_type(self) -> u8 {
        self.static_payload_type().unwrap_or(111)
    }

    fn matches(self, map: &RtpMap) -> bool {
        let channels_ok = match self {
            Self::Pcmu | Self::Pcma => matches!(map.channels, None | Some(1)),
            Self::Opus => matches!(map.channels, None | Some(2)),
        };
        map.encoding.eq_ignore_ascii_case(self.encoding_name())
            && map.clock_rate == self.clock_rate()
            && channels_ok
    }
}

/// What this side can do, from validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCaps {
    /// Codecs in kefu's preference order (used when kefu offers).
    pub codecs: Vec<Codec>,
    /// Whether Opus is available in this build; when false, [`Codec::Opus`]
    /// in `codecs` is neither offered nor accepted.
    pub opus: bool,
    /// Whether RFC 4733 telephone-event is offered and accepted.
    pub telephone_event: bool,
    /// Packet time kefu wants to receive, in ms (`a=ptime`); 0 means 20.
    pub ptime_ms: u32,
}

impl Default for LocalCaps {
    fn default() -> Self {
        Self {
            codecs: vec![Codec::Opus, Codec::Pcmu, Codec::Pcma],
            opus: cfg!(feature = "opus"),
            telephone_event: true,
            ptime_ms: 20,
        }
    }
}

impl LocalCaps {
    fn enabled(&self) -> impl Iterator<Item = Codec> + '_ {
        self.codecs
            .iter()
            .copied()
            .filter(|c| *c != Codec::Opus || self.opus)
    }

    fn ptime(&self) -> u32 {
        if self.ptime_ms == 0 {
            20
        } else {
            self.ptime_ms
        }
    }
}

/// Where this side receives media, and the `o=` identity of its SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address written in `c=` and `o=`.
    pub address: IpAddr,
    /// Local RTP port (RTCP is this + 1).
    pub rtp_port: u16,
    /// `o=` session id, fixed for the call.
    pub session_id: u64,
    /// `o=` version; the caller increments it for every new SDP (RFC 3264 §8).
    pub session_version: u64,
    /// `o=` user name, normally `kefu`.
    pub username: String,
}

/// The outcome of answering an offer: what to send, where, and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The codec both sides use.
    pub codec: Codec,
    /// Its payload type, as numbered by the offerer.
    pub payload_type: u8,
    /// RTP clock rate of `codec`, in Hz.
    pub clock_rate: u32,
    /// Payload type of telephone-event, when both sides support it.
    pub telephone_event_pt: Option<u8>,
    /// Where to send RTP; `None` when the peer gave `0.0.0.0` (hold).
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP (`a=rtcp`, else RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
    /// The offerer's direction, `c=0.0.0.0` folded in (it cannot receive).
    pub remote_direction: Direction,
    /// kefu's direction, written in the answer.
    pub local_direction: Direction,
    /// Packet time to send with: the offer's `a=ptime` when sane, else ours.
    pub ptime_ms: u32,
    /// The SDP answer to send.
    pub answer: SessionDescription,
}

/// Whether the peer has put the call on hold: it no longer wants media from
/// us (`sendonly`, `inactive`, or RFC 2543 `c=0.0.0.0`; RFC 3264 §8.4).
pub fn hold_state(neg: &Negotiated) -> bool {
    !neg.remote_direction.receives()
}

/// Answers `offer` (RFC 3264 §6).
///
/// # Errors
/// 488-class errors ([`SdpError::NoAudio`], [`SdpError::AudioDisabled`],
/// [`SdpError::SrtpRequired`], [`SdpError::UnsupportedProfile`],
/// [`SdpError::NoCommonCodec`], [`SdpError::NoConnection`],
/// [`SdpError::UnusableAddress`]) when no audio stream can be accepted, and
/// [`SdpError::NoLocalCodecs`] (500) when `caps` enables no codec.
pub fn answer(
    offer: &SessionDescription,
    caps: &LocalCaps,
    local: &LocalMedia,
) -> Result<Negotiated, SdpError> {
    if caps.enabled().next().is_none() {
        return Err(SdpError::NoLocalCodecs);
    }
    let (index, (codec, payload_type)) = choose_stream(offer, caps)?;
    let m = &offer.media[index];
    let connection = m
        .connection
        .as_ref()
        .or(offer.connection.as_ref())
        .ok_or(SdpError::NoConnection)?;
    let ip = connection.ip().ok_or(SdpError::UnusableAddress)?;

    let offered = m
        .direction
        .or_else(|| offer.direction())
        .unwrap_or(Direction::SendRecv);
    // RFC 3264 §8.4: c=0.0.0.0 means "do not send to me".
    let remote_direction = match (ip.is_unspecified(), offered) {
        (true, Direction::SendRecv) => Direction::SendOnly,
        (true, Direction::RecvOnly) => Direction::Inactive,
        (_, d) => d,
    };
    let local_direction = remote_direction.reversed();
    let (remote_rtp, remote_rtcp) = if ip.is_unspecified() {
        (None, None)
    } else {
        (Some(SocketAddr::new(ip, m.port)), rtcp_address(m, ip))
    };

    let telephone_event_pt = caps
        .telephone_event
        .then(|| telephone_event_pt(m, codec.clock_rate()))
        .flatten();
    let ptime_ms = m
        .ptime
        .filter(|p| (10..=120).contains(p) && p % 10 == 0)
        .unwrap_or(caps.ptime());

    let audio = audio_section(
        m,
        local,
        (codec, payload_type),
        telephone_event_pt,
        local_direction,
        caps.ptime(),
    );
    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, o)| {
            if i == index {
                audio.clone()
            } else {
                rejected(o)
            }
        })
        .collect();
    Ok(Negotiated {
        codec,
        payload_type,
        clock_rate: codec.clock_rate(),
        telephone_event_pt,
        remote_rtp,
        remote_rtcp,
        remote_direction,
        local_direction,
        ptime_ms,
        answer: session(local, media),
    })
}

/// kefu's offer for an outbound call (RFC 3264 §5): one sendrecv audio
/// stream with the enabled codecs in `caps` order and telephone-event.
pub fn offer(caps: &LocalCaps, local: &LocalMedia) -> SessionDescription {
    let mut m = MediaDescription::new(MediaKind::Audio, local.rtp_port, "RTP/AVP");
    for codec in caps.enabled() {
        push_format(&mut m, codec_rtpmap(codec, codec.offer_payload_type()));
    }
    if caps.telephone_event {
        let mut rates = vec![(101, 8000)];
        if caps.enabled().any(|c| c == Codec::Opus) {
            rates.push((102, 48000));
        }
        for (pt, rate) in rates {
            push_format(&mut m, event_rtpmap(pt, rate));
            m.fmtps.push((pt, "0-16".to_owned()));
        }
    }
    m.ptime = Some(caps.ptime());
    m.direction = Some(Direction::SendRecv);
    session(local, vec![m])
}

/// The first acceptable audio stream and its codec, or the most telling
/// reason why there is none.
fn choose_stream(
    offer: &SessionDescription,
    caps: &LocalCaps,
) -> Result<(usize, (Codec, u8)), SdpError> {
    let mut error = SdpError::NoAudio;
    for (i, m) in offer.media.iter().enumerate() {
        if m.kind != MediaKind::Audio {
            continue;
        }
        let profile = m.protocol.to_ascii_uppercase();
        let reason = if m.port == 0 {
            SdpError::AudioDisabled
        } else if profile == "RTP/AVP" || profile == "RTP/AVPF" {
            match choose_codec(m, caps) {
                Some(choice) => return Ok((i, choice)),
                None => SdpError::NoCommonCodec,
            }
        } else if profile.contains("SAVP") {
            SdpError::SrtpRequired {
                profile: m.protocol.clone(),
            }
        } else {
            SdpError::UnsupportedProfile {
                profile: m.protocol.clone(),
            }
        };
        if rank(&reason) > rank(&error) {
            error = reason;
        }
    }
    Err(error)
}

/// How close an audio stream came to being accepted: the error reported
/// for the whole offer is the one from the closest stream.
fn rank(error: &SdpError) -> u8 {
    match error {
        SdpError::NoCommonCodec => 4,
        SdpError::SrtpRequired { .. } => 3,
        SdpError::UnsupportedProfile { .. } => 2,
        SdpError::AudioDisabled => 1,
        _ => 0,
    }
}

/// The first offered format that maps to an enabled codec.
fn choose_codec(m: &MediaDescription, caps: &LocalCaps) -> Option<(Codec, u8)> {
    m.formats.iter().find_map(|f| {
        let pt: u8 = f.parse().ok().filter(|pt| *pt < 128)?;
        let map = offered_rtpmap(m, pt)?;
        caps.enabled().find(|c| c.matches(&map)).map(|c| (c, pt))
    })
}

/// The format's `a=rtpmap`, or the RFC 3551 static assignment for 0 and 8.
fn offered_rtpmap(m: &MediaDescription, pt: u8) -> Option<RtpMap> {
    if let Some(map) = m.rtpmap(pt) {
        return Some(map.clone());
    }
    [Codec::Pcmu, Codec::Pcma]
        .into_iter()
        .find(|c| c.static_payload_type() == Some(pt))
        .map(|c| codec_rtpmap(c, pt))
}

fn telephone_event_pt(m: &MediaDescription, clock_rate: u32) -> Option<u8> {
    m.formats.iter().find_map(|f| {
        let map = m.rtpmap(f.parse().ok()?)?;
        (map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == clock_rate)
            .then_some(map.pt)
    })
}

fn rtcp_address(m: &MediaDescription, rtp_ip: IpAddr) -> Option<SocketAddr> {
    match &m.rtcp {
        Some((port, c)) => {
            let ip = c.as_ref().map_or(Some(rtp_ip), Connection::ip)?;
            Some(SocketAddr::new(ip, *port))
        }
        None => m.port.checked_add(1).map(|p| SocketAddr::new(rtp_ip, p)),
    }
}

fn audio_section(
    offered: &MediaDescription,
    local: &LocalMedia,
    (codec, pt): (Codec, u8),
    event_pt: Option<u8>,
    direction: Direction,
    ptime: u32,
) -> MediaDescription {
    let mut m = MediaDescription::new(MediaKind::Audio, local.rtp_port, offered.protocol.clone());
    push_format(&mut m, codec_rtpmap(codec, pt));
    if let Some(ev) = event_pt {
        push_format(&mut m, event_rtpmap(ev, codec.clock_rate()));
        m.fmtps.push((ev, "0-16".to_owned()));
    }
    m.ptime = Some(ptime);
    m.direction = Some(direction);
    m
}

/// A rejected stream (RFC 3264 §6): port 0, same formats, no attributes.
fn rejected(offered: &MediaDescription) -> MediaDescription {
    let mut m = MediaDescription::new(offered.kind.clone(), 0, offered.protocol.clone());
    m.formats = offered.formats.clone();
    m
}

fn push_format(m: &mut MediaDescription, map: RtpMap) {
    m.formats.push(map.pt.to_string());
    m.rtpmaps.push(map);
}

fn codec_rtpmap(codec: Codec, pt: u8) -> RtpMap {
    RtpMap {
        pt,
        encoding: codec.encoding_name().to_owned(),
        clock_rate: codec.clock_rate(),
        channels: codec.rtpmap_channels(),
    }
}

fn event_rtpmap(pt: u8, clock_rate: u32) -> RtpMap {
    RtpMap {
        pt,
        encoding: "telephone-event".to_owned(),
        clock_rate,
        channels: None,
    }
}

fn session(local: &LocalMedia, media: Vec<MediaDescription>) -> SessionDescription {
    let connection = Connection::from_ip(local.address);
    SessionDescription {
        origin: Origin {
            username: origin_username(&local.username),
            session_id: local.session_id,
            version: local.session_version,
            net_type: "IN".to_owned(),
            addr_type: connection.addr_type.as_str().to_owned(),
            address: connection.address.clone(),
        },
        session_name: "kefu".to_owned(),
        connection: Some(connection),
        timing: Timing::default(),
        media,
        attributes: Vec::new(),
    }
}

/// `o=` user names are non-empty tokens without spaces (RFC 4566 §5.2).
fn origin_username(name: &str) -> String {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
        "-".to_owned()
    } else {
        name.to_owned()
    }
}
