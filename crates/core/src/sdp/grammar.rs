//! Line-level grammar of RFC 4566 §5: one function per production
//! (`o=`, `c=`, `t=`, `m=`, `a=rtpmap`, `a=fmtp`, `a=rtcp` …).
//!
//! Owns the small, total parsing helpers behind
//! [`SessionDescription::parse`](super::SessionDescription::parse): each
//! returns `None` (or a [`SdpError::Malformed`]) instead of panicking. It
//! does not know line order or which lines are required; `parse.rs` does.

use super::parse::{
    AddrType, Attribute, Connection, Direction, MediaDescription, MediaKind, Origin, RtpMap, Timing,
};
use super::SdpError;

/// Stores one media-level attribute in its field, or verbatim in
/// `attributes` when unknown or malformed (RFC 4566 §6).
pub(super) fn media_attribute(m: &mut MediaDescription, name: &str, value: Option<&str>) {
    let parsed = match (name, value) {
        ("rtpmap", Some(v)) => parse_rtpmap(v).map(|r| m.rtpmaps.push(r)),
        ("fmtp", Some(v)) => parse_fmtp(v).map(|f| m.fmtps.push(f)),
        ("ptime", Some(v)) => v.trim().parse().ok().map(|p| m.ptime = Some(p)),
        ("rtcp", Some(v)) => parse_rtcp(v).map(|r| m.rtcp = Some(r)),
        ("rtcp-mux", None) => {
            m.rtcp_mux = true;
            Some(())
        }
        (n, None) => Direction::from_name(n).map(|d| m.direction = Some(d)),
        _ => None,
    };
    if parsed.is_none() {
        m.attributes.push(Attribute::new(name, value));
    }
}

pub(super) fn malformed(line: usize, what: &'static str) -> SdpError {
    SdpError::Malformed { line, what }
}

/// Splits `x=value`; the type must be one ASCII letter (unknown ones,
/// upper-case included, are skipped by the caller).
pub(super) fn split_line(line: usize, text: &str) -> Result<(char, &str), SdpError> {
    match text.as_bytes() {
        [k, b'=', ..] if k.is_ascii_alphabetic() => Ok((char::from(*k), &text[2..])),
        _ => Err(malformed(line, "not a <type>=<value> line")),
    }
}

/// Splits `name[:value]` and hands it on; nameless attributes are dropped.
pub(super) fn attribute(text: &str, mut push: impl FnMut(&str, Option<&str>)) {
    let (name, value) = match text.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    if !name.is_empty() && !name.contains(char::is_whitespace) {
        push(name, value);
    }
}

pub(super) fn parse_origin(value: &str) -> Option<Origin> {
    let mut it = value.split_ascii_whitespace();
    let mut next = || it.next().map(str::to_owned);
    let origin = Origin {
        username: next()?,
        session_id: digits(&next()?)?,
        version: digits(&next()?)?,
        net_type: next()?,
        addr_type: next()?,
        address: next()?,
    };
    it.next().is_none().then_some(origin)
}

/// `1*DIGIT` as u64; `u64::from_str` alone would also take a leading `+`.
pub(super) fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(super) fn parse_connection(line: usize, value: &str) -> Result<Connection, SdpError> {
    parse_connection_tokens(value.split_ascii_whitespace()).ok_or(malformed(line, "c= line"))
}

pub(super) fn parse_connection_tokens<'a>(
    mut it: impl Iterator<Item = &'a str>,
) -> Option<Connection> {
    let (net, addr_type, address) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || !net.eq_ignore_ascii_case("IN") {
        return None;
    }
    let addr_type = match addr_type {
        t if t.eq_ignore_ascii_case("IP4") => AddrType::Ip4,
        t if t.eq_ignore_ascii_case("IP6") => AddrType::Ip6,
        _ => return None,
    };
    Some(Connection {
        addr_type,
        address: address.to_owned(),
    })
}

pub(super) fn parse_timing(value: &str) -> Option<Timing> {
    let mut it = value.split_ascii_whitespace();
    let timing = Timing {
        start: digits(it.next()?)?,
        stop: digits(it.next()?)?,
    };
    it.next().is_none().then_some(timing)
}

/// `m=<media> <port>[/<count>] <proto> <fmt> …`; a disabled (port 0)
/// section may list no format, an enabled one must list at least one.
pub(super) fn parse_media(value: &str) -> Option<MediaDescription> {
    let mut it = value.split_ascii_whitespace();
    let kind = MediaKind::from_token(it.next()?);
    let port_token = it.next()?;
    let (port, port_count) = match port_token.split_once('/') {
        Some((p, n)) => (digits(p)?, Some(digits(n)?)),
        None => (digits(port_token)?, None),
    };
    let mut m = MediaDescription::new(kind, port, it.next()?);
    m.port_count = port_count;
    m.formats = it.map(str::to_owned).collect();
    (port == 0 || !m.formats.is_empty()).then_some(m)
}

pub(super) fn parse_rtpmap(value: &str) -> Option<RtpMap> {
    let (pt, rest) = value.split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?.to_owned();
    let clock_rate = digits(parts.next()?)?;
    let channels = match parts.next() {
        Some(c) => Some(digits(c)?),
        None => None,
    };
    if parts.next().is_some() || encoding.contains(char::is_whitespace) {
        return None;
    }
    Some(RtpMap {
        pt: payload_type(pt)?,
        encoding,
        clock_rate,
        channels,
    })
}

pub(super) fn parse_fmtp(value: &str) -> Option<(u8, String)> {
    let (pt, params) = value.split_once(' ').unwrap_or((value, ""));
    Some((payload_type(pt)?, params.trim().to_owned()))
}

pub(super) fn parse_rtcp(value: &str) -> Option<(u16, Option<Connection>)> {
    let mut it = value.split_ascii_whitespace();
    let port = digits(it.next()?)?;
    let mut rest = it.peekable();
    if rest.peek().is_none() {
        return Some((port, None));
    }
    Some((port, Some(parse_connection_tokens(rest)?)))
}

/// RTP payload types are 7 bits (RFC 3550 §5.1).
pub(super) fn payload_type(s: &str) -> Option<u8> {
    digits::<u8>(s).filter(|pt| *pt < 128)
}
