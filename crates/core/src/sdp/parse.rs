//! The session description model and its parser (RFC 4566).
//!
//! Owns [`SessionDescription`] and its parts, and
//! [`SessionDescription::parse`]. The parser is strict where a mistake would
//! change what the call does (`v=`, `o=`, `s=`, `c=`, `m=` syntax, RFC 4566
//! §5.1–§5.3, §5.7, §5.14) and tolerant elsewhere: LF-only line ends,
//! trailing whitespace, blank lines, unknown line types (§5: `i=`, `u=`,
//! `e=`, `p=`, `b=`, `r=`, `z=`, `k=` are skipped) and unknown or malformed
//! attributes (kept verbatim in `attributes`). Bodies over [`MAX_SDP_LEN`]
//! bytes or with more than [`MAX_MEDIA`] media descriptions are refused.
//!
//! It does not negotiate (see [`super::negotiate`]), resolve host names or
//! interpret bandwidth, timing repeats or encryption keys. Printing lives in
//! `write.rs` (`impl Display`).

use std::net::IpAddr;

use super::grammar::{
    attribute, malformed, media_attribute, parse_connection, parse_media, parse_origin,
    parse_timing, split_line,
};
use super::SdpError;

/// Largest SDP body accepted, in bytes.
pub const MAX_SDP_LEN: usize = 64 * 1024;
/// Largest number of `m=` lines accepted.
pub const MAX_MEDIA: usize = 64;

/// A parsed session description (RFC 4566 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`: who created the session and its version (§5.2).
    pub origin: Origin,
    /// `s=`: session name; may be empty (tolerated, printed as `s= `).
    pub session_name: String,
    /// Session-level `c=` (§5.7), the default for media without their own.
    pub connection: Option<Connection>,
    /// First `t=` line (§5.9); `0 0` when absent.
    pub timing: Timing,
    /// `m=` sections in order (§5.14).
    pub media: Vec<MediaDescription>,
    /// Session-level `a=` lines, including direction attributes (§6).
    pub attributes: Vec<Attribute>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name on the originating host (`-` when none).
    pub username: String,
    /// Globally unique session identifier.
    pub session_id: u64,
    /// Version, increased on each change (RFC 3264 §8).
    pub version: u64,
    /// Network type, normally `IN`.
    pub net_type: String,
    /// Address type, normally `IP4` or `IP6`.
    pub addr_type: String,
    /// Address or host name of the originating host.
    pub address: String,
}

/// Address family of a `c=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrType {
    /// `IP4`.
    Ip4,
    /// `IP6`.
    Ip6,
}

/// `c=IN <addrtype> <address>` (§5.7); only the `IN` network type exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub addr_type: AddrType,
    /// Address as written, possibly a host name or carrying a multicast
    /// `/ttl` or `/count` suffix.
    pub address: String,
}

/// `t=<start> <stop>` (§5.9), NTP seconds; `0 0` is an unbounded session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// Start time.
    pub start: u64,
    /// Stop time.
    pub stop: u64,
}

/// Kind of media in an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application`.
    Application,
    /// Anything else (`text`, `message`, `image` …), as written.
    Other(String),
}

/// Media direction attributes (RFC 4566 §6, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`, the default.
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]` (§6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// RTP payload type.
    pub pt: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Number of audio channels, when given.
    pub channels: Option<u8>,
}

/// Any `a=<name>[:<value>]` line not modelled by a dedicated field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name.
    pub name: String,
    /// Value after the first `:`, as written.
    pub value: Option<String>,
}

/// One `m=` section (§5.14) with the attributes kefu understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type.
    pub kind: MediaKind,
    /// Transport port; 0 disables the stream (RFC 3264 §5.1).
    pub port: u16,
    /// The `/<number of ports>` suffix, when present.
    pub port_count: Option<u16>,
    /// Transport profile (`RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF` …).
    pub protocol: String,
    /// Media formats (payload types for RTP profiles), in preference order.
    pub formats: Vec<String>,
    /// Media-level `c=`, overriding the session-level one.
    pub connection: Option<Connection>,
    /// `a=rtpmap` lines.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp:<pt> <parameters>` lines.
    pub fmtps: Vec<(u8, String)>,
    /// Media-level direction attribute (the last one wins).
    pub direction: Option<Direction>,
    /// `a=ptime`, in milliseconds.
    pub ptime: Option<u32>,
    /// `a=rtcp:<port> [IN <addrtype> <address>]` (RFC 3605).
    pub rtcp: Option<(u16, Option<Connection>)>,
    /// `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
    /// Every other media-level attribute, in order.
    pub attributes: Vec<Attribute>,
}

impl Connection {
    /// The address as an IP literal matching `addr_type`, without any
    /// multicast suffix; `None` for host names or a family mismatch.
    pub fn ip(&self) -> Option<IpAddr> {
        let literal = self.address.split('/').next().unwrap_or_default();
        let ip: IpAddr = literal.parse().ok()?;
        match (self.addr_type, ip) {
            (AddrType::Ip4, IpAddr::V4(_)) | (AddrType::Ip6, IpAddr::V6(_)) => Some(ip),
            _ => None,
        }
    }

    /// A connection for a local IP address.
    pub fn from_ip(ip: IpAddr) -> Self {
        let addr_type = match ip {
            IpAddr::V4(_) => AddrType::Ip4,
            IpAddr::V6(_) => AddrType::Ip6,
        };
        Self {
            addr_type,
            address: ip.to_string(),
        }
    }

    /// RFC 2543 hold (`c=IN IP4 0.0.0.0`, RFC 3264 §8.4), or its IPv6 twin `::`.
    pub fn is_hold(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

impl AddrType {
    /// The SDP token, `IP4` or `IP6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip4 => "IP4",
            Self::Ip6 => "IP6",
        }
    }
}

impl MediaKind {
    /// The SDP token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Application => "application",
            Self::Other(s) => s,
        }
    }

    pub(super) fn from_token(s: &str) -> Self {
        match s {
            s if s.eq_ignore_ascii_case("audio") => Self::Audio,
            s if s.eq_ignore_ascii_case("video") => Self::Video,
            s if s.eq_ignore_ascii_case("application") => Self::Application,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction an answerer takes for this offered one (RFC 3264 §6.1).
    pub fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            other => other,
        }
    }

    /// Whether the side with this direction sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether the side with this direction receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    pub(super) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }
}

impl MediaDescription {
    /// An empty section: no formats, no attributes.
    pub fn new(kind: MediaKind, port: u16, protocol: impl Into<String>) -> Self {
        Self {
            kind,
            port,
            port_count: None,
            protocol: protocol.into(),
            formats: Vec::new(),
            connection: None,
            rtpmaps: Vec::new(),
            fmtps: Vec::new(),
            direction: None,
            ptime: None,
            rtcp: None,
            rtcp_mux: false,
            attributes: Vec::new(),
        }
    }

    /// The `a=rtpmap` for payload type `pt`, if any.
    pub fn rtpmap(&self, pt: u8) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|m| m.pt == pt)
    }
}

impl Attribute {
    /// An attribute from its name and optional value.
    pub fn new(name: &str, value: Option<&str>) -> Self {
        Self {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        }
    }
}

impl SessionDescription {
    /// Session-level direction attribute, if any (the last one wins).
    pub fn direction(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .rev()
            .filter(|a| a.value.is_none())
            .find_map(|a| Direction::from_name(&a.name))
    }

    /// Parses an SDP body (RFC 4566 §5).
    ///
    /// # Errors
    /// [`SdpError::TooLarge`], [`SdpError::TooManyMedia`],
    /// [`SdpError::MissingLine`] or [`SdpError::Malformed`], all status 400.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        if text.len() > MAX_SDP_LEN {
            return Err(SdpError::TooLarge { len: text.len() });
        }
        let mut lines = text
            .split('\n')
            .map(str::trim_end)
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.is_empty());
        match lines.next() {
            Some((_, "v=0")) => {}
            Some((line, _)) => return Err(malformed(line, "first line must be v=0")),
            None => return Err(SdpError::MissingLine { kind: 'v' }),
        }
        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut timing = None;
        let mut attributes = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();
        for (line, text) in lines {
            let (kind, value) = split_line(line, text)?;
            if kind == 'm' {
                if media.len() == MAX_MEDIA {
                    return Err(SdpError::TooManyMedia { max: MAX_MEDIA });
                }
                media.push(parse_media(value).ok_or(malformed(line, "m= line"))?);
                continue;
            }
            if let Some(m) = media.last_mut() {
                match kind {
                    'c' if m.connection.is_none() => {
                        m.connection = Some(parse_connection(line, value)?);
                    }
                    'a' => attribute(value, |n, v| media_attribute(m, n, v)),
                    'v' | 'o' | 's' | 't' => {
                        return Err(malformed(line, "session-level line after m="))
                    }
                    _ => {}
                }
                continue;
            }
            match kind {
                'v' => return Err(malformed(line, "repeated v=")),
                'o' if origin.is_some() => return Err(malformed(line, "repeated o=")),
                'o' => origin = Some(parse_origin(value).ok_or(malformed(line, "o= line"))?),
                's' if session_name.is_some() => return Err(malformed(line, "repeated s=")),
                's' => session_name = Some(value.trim().to_owned()),
                'c' if connection.is_none() => connection = Some(parse_connection(line, value)?),
                't' if timing.is_none() => timing = parse_timing(value),
                'a' => attribute(value, |n, v| attributes.push(Attribute::new(n, v))),
                _ => {}
            }
        }
        Ok(Self {
            origin: origin.ok_or(SdpError::MissingLine { kind: 'o' })?,
            session_name: session_name.ok_or(SdpError::MissingLine { kind: 's' })?,
            connection,
            timing: timing.unwrap_or_default(),
            media,
            attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINPHONE_LF: &str = "v=0\no=alice 3267 1568 IN IP4 192.168.0.20\ns=Talk\n\
        c=IN IP4 192.168.0.20\nt=0 0\na=record:off\n\
        m=audio 7078 RTP/AVP 96 0 101\na=rtpmap:96 opus/48000/2\n\
        a=fmtp:96 useinbandfec=1\na=rtpmap:101 telephone-event/8000\n\
        a=rtcp:7079 IN IP4 192.168.0.21\na=rtcp-mux\na=rtcp-fb:* trr-int 1000\n";

    fn err_line(text: &str) -> Option<usize> {
        match SessionDescription::parse(text) {
            Err(SdpError::Malformed { line, .. }) => Some(line),
            _ => None,
        }
    }

    #[test]
    fn lf_only_and_every_field() -> Result<(), SdpError> {
        let sdp = SessionDescription::parse(LINPHONE_LF)?;
        assert_eq!(sdp.origin.username, "alice");
        assert_eq!((sdp.origin.session_id, sdp.origin.version), (3267, 1568));
        assert_eq!(sdp.session_name, "Talk");
        assert_eq!(sdp.attributes, vec![Attribute::new("record", Some("off"))]);
        let m = &sdp.media[0];
        assert_eq!(
            (m.kind.clone(), m.port, m.protocol.as_str()),
            (MediaKind::Audio, 7078, "RTP/AVP")
        );
        assert_eq!(m.formats, ["96", "0", "101"]);
        assert_eq!(
            m.rtpmap(96).map(|r| (r.clock_rate, r.channels)),
            Some((48000, Some(2)))
        );
        assert_eq!(m.rtpmap(101).map(|r| r.channels), Some(None));
        assert_eq!(m.fmtps, vec![(96, "useinbandfec=1".to_owned())]);
        let rtcp_ip = m.rtcp.as_ref().and_then(|(_, c)| c.as_ref()?.ip());
        assert_eq!(rtcp_ip, "192.168.0.21".parse().ok());
        assert!(m.rtcp_mux);
        assert_eq!(
            m.attributes,
            vec![Attribute::new("rtcp-fb", Some("* trr-int 1000"))]
        );
        Ok(())
    }

    #[test]
    fn tolerates_trailing_space_blank_lines_and_unknown_lines() -> Result<(), SdpError> {
        let text = "v=0  \r\no=- 1 2 IN IP4 10.0.0.1\t\r\ns=-\r\n\r\ni=info\r\nu=http://x\r\n\
            e=a@b\r\nb=AS:64\r\nX=upper\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nb=TIAS:64000\r\n\
            a=ptime:30 \r\na=weird\r\na=rtpmap:zz nonsense\r\n\r\n";
        let sdp = SessionDescription::parse(text)?;
        assert_eq!(sdp.origin.address, "10.0.0.1");
        let m = &sdp.media[0];
        assert_eq!(m.ptime, Some(30));
        // Malformed known attributes are kept verbatim, not fatal.
        assert_eq!(
            m.attributes[1],
            Attribute::new("rtpmap", Some("zz nonsense"))
        );
        Ok(())
    }

    #[test]
    fn connection_addresses() {
        let c = |t, a: &str| Connection {
            addr_type: t,
            address: a.to_owned(),
        };
        assert_eq!(
            c(AddrType::Ip4, "224.2.1.1/127").ip(),
            "224.2.1.1".parse().ok()
        );
        assert_eq!(
            c(AddrType::Ip6, "2001:db8::1").ip(),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(
            c(AddrType::Ip4, "2001:db8::1").ip(),
            None,
            "family mismatch"
        );
        assert_eq!(c(AddrType::Ip4, "host.example.com").ip(), None);
        assert!(c(AddrType::Ip4, "0.0.0.0").is_hold());
        assert!(!c(AddrType::Ip4, "10.0.0.1").is_hold());
    }

    #[test]
    fn strict_about_required_lines() {
        assert_eq!(
            SessionDescription::parse(""),
            Err(SdpError::MissingLine { kind: 'v' })
        );
        assert_eq!(err_line("v=1\r\n"), Some(1));
        assert_eq!(err_line("\r\nhello\r\n"), Some(2));
        let no_o = "v=0\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\n";
        assert_eq!(
            SessionDescription::parse(no_o),
            Err(SdpError::MissingLine { kind: 'o' })
        );
        let no_s = "v=0\r\no=- 1 1 IN IP4 a\r\n";
        assert_eq!(
            SessionDescription::parse(no_s),
            Err(SdpError::MissingLine { kind: 's' })
        );
        let head = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n";
        for (bad, line) in [
            ("o=- x 1 IN IP4 a", 4),
            ("o=- 1 1 IN IP4", 4),
            ("c=IN IP4", 4),
            ("c=ATM NSAP 1", 4),
            ("m=audio", 4),
            ("m=audio 70000 RTP/AVP 0", 4),
            ("m=audio +5 RTP/AVP 0", 4),
            ("m=audio 5 RTP/AVP", 4),
            ("m=audio 5 RTP/AVP 0\r\ns=again", 5),
            ("m=audio 5 RTP/AVP 0\r\nc=IN IP9 x", 5),
            ("no equals sign", 4),
        ] {
            assert_eq!(err_line(&format!("{head}{bad}\r\n")), Some(line), "{bad}");
        }
        let disabled = format!("{head}m=video 0 RTP/AVP\r\n");
        assert!(
            SessionDescription::parse(&disabled).is_ok(),
            "port 0 may list no format"
        );
    }

    #[test]
    fn size_limits() {
        let head = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n";
        let many = format!("{head}{}", "m=audio 0 RTP/AVP 0\r\n".repeat(MAX_MEDIA + 1));
        assert_eq!(
            SessionDescription::parse(&many),
            Err(SdpError::TooManyMedia { max: MAX_MEDIA })
        );
        let ok = format!("{head}{}", "m=audio 0 RTP/AVP 0\r\n".repeat(MAX_MEDIA));
        assert!(SessionDescription::parse(&ok).is_ok());
        let big = format!("{head}{}", "a=x\r\n".repeat(MAX_SDP_LEN / 5));
        assert!(matches!(
            SessionDescription::parse(&big),
            Err(SdpError::TooLarge { .. })
        ));
        assert_eq!(SdpError::TooLarge { len: 0 }.status(), 400);
    }

    #[test]
    fn display_is_crlf_and_round_trips() -> Result<(), SdpError> {
        let sdp = SessionDescription::parse(LINPHONE_LF)?;
        let text = sdp.to_string();
        assert!(text.starts_with("v=0\r\no=alice 3267 1568 IN IP4 192.168.0.20\r\ns=Talk\r\n"));
        assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'));
        assert!(text.contains("a=rtcp:7079 IN IP4 192.168.0.21\r\na=rtcp-mux\r\n"));
        assert_eq!(SessionDescription::parse(&text)?, sdp);
        Ok(())
    }
}
