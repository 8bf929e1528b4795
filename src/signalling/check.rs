//! The pre-parser every received SIP message goes through before `rsipstack`
//! sees it. `rsipstack`'s parser is lenient and silently drops what it cannot
//! parse, so the checks RFC 3261 asks a UAS to make, and the framing rules of
//! RFC 3261 §18.3, are made here, on the raw bytes, without allocating more
//! than a header list.
//!
//! [`check`] decides one [`Verdict`] per datagram (or per message framed off
//! a TCP stream):
//! - [`Verdict::Pass`]: hand exactly these bytes to the stack. They are one
//!   message: leading CRLFs and octets after `Content-Length` are cut off
//!   (RFC 3261 §18.3, RFC 4475 §3.1.1.8).
//! - [`Verdict::Reply`]: answer statelessly with
//!   [`build_response`](crate::signalling::reply::build_response) sent to
//!   [`response_destination`](crate::signalling::reply::response_destination);
//!   never give the request to the stack.
//! - [`Verdict::Drop`]: say nothing: keep-alives, responses that are broken
//!   (RFC 3261 §18.1.2 leaves them to be discarded), requests without a Via to
//!   answer to, and ACKs (RFC 3261 §17.2.1: an ACK is never answered).
//!
//! What is checked, in this order (the first failure decides):
//! 1. size (65535 bytes) and keep-alives;
//! 2. a request needs a top Via with a sent-by, or it is dropped;
//! 3. SIP-Version: `SIP/2.0` only, else 505 (RFC 3261 §21.5.6, RFC 4475
//!    §3.1.2.16);
//! 4. Request-Line `Method SP Request-URI SP SIP-Version` with single SPs
//!    (RFC 3261 §7.1; RFC 4475 §3.1.2.5/§3.1.2.10 extra SP are refused);
//! 5. header framing: names are tokens, folding, the empty line, limits;
//! 6. From, To, Call-ID, CSeq present once (RFC 3261 §8.1.1), Max-Forwards,
//!    Content-Length, Content-Type at most once; Max-Forwards may be missing
//!    (RFC 2543 peers, RFC 4475 §3.1.1.13);
//! 7. values: From/To name-addr or addr-spec, CSeq number below 2^31 and
//!    method equal to the request's (RFC 3261 §8.1.1.5, RFC 4475 §3.1.2.7),
//!    Max-Forwards 0..=255, Expires 0..=2^32-1, each Via value, Content-Length;
//! 8. Request-URI: sip/sips with a valid host (RFC 5118: IPv6 in brackets),
//!    tel, else 416 (RFC 3261 §8.2.2.1);
//! 9. body: `Content-Length` larger than what arrived is a 400 (RFC 3261
//!    §18.3), smaller truncates, absent over UDP means "the rest";
//! 10. Require with option tags not in [`CheckConfig::supported`]: 420 with
//!     Unsupported (RFC 3261 §8.2.2.3), except for ACK and CANCEL.
//!
//! It does not check what the stack or the handlers decide (except the
//! methods the server implements, given in [`CheckConfig`]: 501),
//! body types (415), Accept (406), dialog state (481), authentication.

use std::fmt;

pub use crate::signalling::headers::HeaderName;
use crate::signalling::headers::{
    self, is_lws, is_scheme, is_token, parse_decimal, split_commas, trim, uri_chars_ok, Cursor,
    Framing, Head,
};
pub use crate::signalling::reply::Reply;

/// Messages above this size are dropped unread (the largest UDP payload).
pub const MAX_MESSAGE: usize = 65_535;

/// The transport a message came in on; it changes the framing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One datagram is one message; without Content-Length the body is the rest.
    Udp,
    /// A message framed off a stream; a body needs a Content-Length (RFC 3261 §18.3).
    Tcp,
}

/// What kefu supports, as far as the checks need to know.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckConfig {
    /// Option tags kefu implements; any other tag in Require gets a 420.
    pub supported: &'static [&'static str],
    /// Methods the server implements, case-sensitive (RFC 3261 §7.1); any
    /// other gets a 501 with an Allow header (§8.2.1). Empty: all pass.
    pub methods: &'static [&'static str],
}

/// What to do with a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Well-formed enough: hand these bytes, exactly one message, to the SIP stack.
    Pass(&'a [u8]),
    /// Answer this request ourselves with this status; never hand it to the stack.
    Reply(Reply),
    /// Discard silently.
    Drop(DropReason),
}

/// Why a message is discarded without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Only whitespace: a CRLF keep-alive (RFC 5626 §3.5.1) or an empty datagram.
    KeepAlive,
    /// Larger than [`MAX_MESSAGE`].
    TooLarge,
    /// A request whose top Via has no usable sent-by: a response cannot be routed.
    NoRoute,
    /// An ACK that would have been refused; ACK is never answered (RFC 3261 §17.2.1).
    Ack(Rejection),
    /// A response whose status code is not three digits 100–699 (RFC 4475 §3.1.2.18).
    BadStatusCode,
    /// A malformed response: discarded (RFC 3261 §18.1.2, RFC 4475 §3.1.2.19).
    MalformedResponse(Rejection),
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::KeepAlive => f.write_str("keep-alive"),
            DropReason::TooLarge => f.write_str("message too large"),
            DropReason::NoRoute => f.write_str("request without a usable Via"),
            DropReason::Ack(r) => write!(f, "invalid ACK: {r}"),
            DropReason::BadStatusCode => f.write_str("response status code out of range"),
            DropReason::MalformedResponse(r) => write!(f, "malformed response: {r}"),
        }
    }
}

/// What is wrong with a request, always the peer's fault; each maps to the
/// status and reason phrase of the stateless reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// SIP-Version other than SIP/2.0: 505 (RFC 3261 §21.5.6).
    VersionNotSupported,
    /// Request-Line not `Method SP Request-URI SP SIP-Version`: 400.
    MalformedRequestLine,
    /// Request-URI that breaks RFC 3261 §25.1 / RFC 5118 syntax: 400.
    MalformedRequestUri,
    /// Request-URI scheme other than sip, sips, tel: 416 (RFC 3261 §8.2.2.1).
    UnsupportedUriScheme,
    /// A header line without a colon, a name that is not a token, or a stray continuation: 400.
    MalformedHeaderLine,
    /// No empty line after the header fields: 400.
    Unterminated,
    /// More than 256 header fields: 400.
    TooManyHeaders,
    /// A start or header line longer than 16 KiB: 400.
    LineTooLong,
    /// A mandatory header field is absent (RFC 3261 §8.1.1): 400.
    Missing(HeaderName),
    /// A single-valued header field appears more than once: 400.
    Duplicate(HeaderName),
    /// A header value that breaks its grammar or range: 400.
    Malformed(HeaderName),
    /// The CSeq method differs from the request method (RFC 4475 §3.1.2.7): 400.
    CSeqMethodMismatch,
    /// Content-Length says more than arrived (RFC 3261 §18.3, RFC 4475 §3.1.2.2): 400.
    BodyShorterThanContentLength,
    /// Require lists option tags kefu lacks: 420 (RFC 3261 §8.2.2.3).
    BadExtension,
    /// A method the server does not implement: 501 (RFC 3261 §8.2.1).
    NotImplemented,
}

impl Rejection {
    /// The status code of the reply.
    pub fn status(self) -> u16 {
        match self {
            Rejection::VersionNotSupported => 505,
            Rejection::UnsupportedUriScheme => 416,
            Rejection::BadExtension => 420,
            Rejection::NotImplemented => 501,
            _ => 400,
        }
    }

    /// The reason phrase of the reply: the standard phrase, and for 400 what is wrong.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::VersionNotSupported => "Version Not Supported",
            Rejection::MalformedRequestLine => "Bad Request (malformed Request-Line)",
            Rejection::MalformedRequestUri => "Bad Request (malformed Request-URI)",
            Rejection::UnsupportedUriScheme => "Unsupported URI Scheme",
            Rejection::MalformedHeaderLine => "Bad Request (malformed header line)",
            Rejection::Unterminated => "Bad Request (no empty line after the header fields)",
            Rejection::TooManyHeaders => "Bad Request (too many header fields)",
            Rejection::LineTooLong => "Bad Request (line longer than 16 KiB)",
            Rejection::Missing(h) => header_phrase(h).0,
            Rejection::Duplicate(h) => header_phrase(h).1,
            Rejection::Malformed(h) => header_phrase(h).2,
            Rejection::CSeqMethodMismatch => {
                "Bad Request (CSeq method does not match request method)"
            }
            Rejection::BodyShorterThanContentLength => {
                "Bad Request (Content-Length larger than the body)"
            }
            Rejection::BadExtension => "Bad Extension",
            Rejection::NotImplemented => "Not Implemented",
        }
    }

    fn framing(f: Framing) -> Self {
        match f {
            Framing::MalformedLine | Framing::StrayContinuation => Rejection::MalformedHeaderLine,
            Framing::Unterminated => Rejection::Unterminated,
            Framing::TooManyHeaders => Rejection::TooManyHeaders,
            Framing::LineTooLong => Rejection::LineTooLong,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.reason())
    }
}

impl std::error::Error for Rejection {}

/// Reason phrases (missing, more than once, malformed) per header field.
fn header_phrase(h: HeaderName) -> (&'static str, &'static str, &'static str) {
    macro_rules! phrases {
        ($name:literal) => {
            (
                concat!("Bad Request (missing ", $name, ")"),
                concat!("Bad Request (more than one ", $name, ")"),
                concat!("Bad Request (malformed ", $name, ")"),
            )
        };
    }
    match h {
        HeaderName::Via => phrases!("Via"),
        HeaderName::From => phrases!("From"),
        HeaderName::To => phrases!("To"),
        HeaderName::CallId => phrases!("Call-ID"),
        HeaderName::CSeq => phrases!("CSeq"),
        HeaderName::MaxForwards => phrases!("Max-Forwards"),
        HeaderName::ContentLength => phrases!("Content-Length"),
        HeaderName::ContentType => phrases!("Content-Type"),
        HeaderName::Expires => phrases!("Expires"),
        HeaderName::Require => phrases!("Require"),
        HeaderName::Other => phrases!("header field"),
    }
}

/// Header fields every message must carry (RFC 3261 §8.1.1; Max-Forwards is
/// left out for RFC 2543 peers, Via is handled before).
const MANDATORY: [HeaderName; 4] = [
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
];

/// Header fields that may appear at most once (RFC 3261 §7.3.1: only
/// comma-list headers may repeat).
const SINGLE: [HeaderName; 7] = [
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
    HeaderName::MaxForwards,
    HeaderName::ContentLength,
    HeaderName::ContentType,
];

/// Decides what to do with one received message. Never panics.
pub fn check<'a>(datagram: &'a [u8], transport: Transport, cfg: &CheckConfig) -> Verdict<'a> {
    if datagram.len() > MAX_MESSAGE {
        return Verdict::Drop(DropReason::TooLarge);
    }
    if datagram.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Drop(DropReason::KeepAlive);
    }
    let head = headers::parse_head(datagram);
    if headers::is_status_line(head.start_line) {
        return check_response(datagram, &head, transport);
    }
    if headers::top_sent_by(&head).is_none() {
        return Verdict::Drop(DropReason::NoRoute);
    }
    let is_ack = head.start_line.split(|&b| b == b' ').next() == Some(b"ACK");
    match check_request(datagram, &head, transport, cfg) {
        Ok(message) => Verdict::Pass(message),
        Err(reply) if is_ack => Verdict::Drop(DropReason::Ack(reply.rejection)),
        Err(reply) => Verdict::Reply(reply),
    }
}

fn check_request<'a>(
    datagram: &'a [u8],
    head: &Head<'_>,
    transport: Transport,
    cfg: &CheckConfig,
) -> Result<&'a [u8], Reply> {
    let (method, uri) = request_line(head.start_line)?;
    if let Some(problem) = head.problem {
        return Err(Rejection::framing(problem).into());
    }
    let content_length = common_headers(head)?;
    request_headers(head, method)?;
    request_uri(uri)?;
    let message = frame(datagram, head, content_length, transport)?;
    if !cfg.methods.is_empty() && !cfg.methods.iter().any(|m| m.as_bytes() == method) {
        if method == b"ACK" {
            return Ok(message);
        }
        return Err(
            Reply::new(Rejection::NotImplemented).with_header("Allow", cfg.methods.join(", "))
        );
    }
    if method != b"ACK" && method != b"CANCEL" {
        let unsupported = unsupported_tags(head, cfg)?;
        if !unsupported.is_empty() {
            return Err(Reply::new(Rejection::BadExtension)
                .with_header("Unsupported", unsupported.join(", ")));
        }
    }
    Ok(message)
}

fn check_response<'a>(datagram: &'a [u8], head: &Head<'_>, transport: Transport) -> Verdict<'a> {
    let mut parts = head.start_line.splitn(3, |&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.eq_ignore_ascii_case(b"SIP/2.0") {
        return Verdict::Drop(DropReason::MalformedResponse(
            Rejection::VersionNotSupported,
        ));
    }
    if code.len() != 3 || parse_decimal(code).is_none_or(|c| !(100..=699).contains(&c)) {
        return Verdict::Drop(DropReason::BadStatusCode);
    }
    let result = head
        .problem
        .map_or(Ok(()), |p| Err(Rejection::framing(p)))
        .and_then(|()| match head.first(HeaderName::Via) {
            Some(_) => common_headers(head),
            None => Err(Rejection::Missing(HeaderName::Via)),
        })
        .and_then(|content_length| frame(datagram, head, content_length, transport));
    match result {
        Ok(message) => Verdict::Pass(message),
        Err(r) => Verdict::Drop(DropReason::MalformedResponse(r)),
    }
}

/// Method and Request-URI of `Method SP Request-URI SP SIP-Version`.
fn request_line(line: &[u8]) -> Result<(&[u8], &[u8]), Rejection> {
    let last = line.rsplit(|&b| b == b' ').next().unwrap_or(line);
    if sip_version(last).is_some_and(|v| v != b"2.0") {
        return Err(Rejection::VersionNotSupported);
    }
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::MalformedRequestLine);
    };
    if !is_token(method) || uri.is_empty() || sip_version(version) != Some(b"2.0") {
        return Err(Rejection::MalformedRequestLine);
    }
    Ok((method, uri))
}

/// The `1*DIGIT "." 1*DIGIT` after a case-insensitive `SIP/`.
fn sip_version(s: &[u8]) -> Option<&[u8]> {
    let (prefix, number) = (s.get(..4)?, s.get(4..)?);
    let mut halves = number.split(|&b| b == b'.');
    let ok = prefix.eq_ignore_ascii_case(b"SIP/")
        && halves.next().is_some_and(|d| parse_decimal(d).is_some())
        && halves.next().is_some_and(|d| parse_decimal(d).is_some())
        && halves.next().is_none();
    ok.then_some(number)
}

/// Checks shared by requests and responses; returns the Content-Length.
fn common_headers(head: &Head<'_>) -> Result<Option<usize>, Rejection> {
    if let Some(&h) = MANDATORY.iter().find(|&&h| head.first(h).is_none()) {
        return Err(Rejection::Missing(h));
    }
    if let Some(&h) = SINGLE.iter().find(|&&h| head.all(h).nth(1).is_some()) {
        return Err(Rejection::Duplicate(h));
    }
    cseq(head)?;
    head.first(HeaderName::ContentLength)
        .map(|v| {
            parse_decimal(v)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(Rejection::Malformed(HeaderName::ContentLength))
        })
        .transpose()
}

/// CSeq `1*DIGIT LWS Method`, the number below 2^31 (RFC 3261 §8.1.1.5).
fn cseq<'h>(head: &'h Head<'_>) -> Result<&'h [u8], Rejection> {
    let malformed = Rejection::Malformed(HeaderName::CSeq);
    let v = head.first(HeaderName::CSeq).ok_or(malformed)?;
    let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
    let (number, rest) = v.split_at(digits);
    let method = trim(rest);
    if parse_decimal(number).is_none_or(|n| n >= 1 << 31)
        || !rest.first().is_some_and(|&b| is_lws(b))
        || !is_token(method)
    {
        return Err(malformed);
    }
    Ok(method)
}

/// Value checks that only matter for requests.
fn request_headers(head: &Head<'_>, method: &[u8]) -> Result<(), Rejection> {
    for h in [HeaderName::From, HeaderName::To] {
        if !head.all(h).all(name_addr_ok) {
            return Err(Rejection::Malformed(h));
        }
    }
    if !head
        .all(HeaderName::CallId)
        .all(|v| !v.is_empty() && !v.iter().any(|&b| is_lws(b)))
    {
        return Err(Rejection::Malformed(HeaderName::CallId));
    }
    if cseq(head)? != method {
        return Err(Rejection::CSeqMethodMismatch);
    }
    let in_range = |h: HeaderName, max: u64| {
        head.all(h)
            .all(|v| parse_decimal(v).is_some_and(|n| n <= max))
    };
    if !in_range(HeaderName::MaxForwards, 255) {
        return Err(Rejection::Malformed(HeaderName::MaxForwards));
    }
    if !in_range(HeaderName::Expires, u64::from(u32::MAX)) {
        return Err(Rejection::Malformed(HeaderName::Expires));
    }
    let via_ok = |value: &[u8]| {
        split_commas(value).into_iter().all(|one| {
            headers::parse_sent_by(one).is_some_and(|(_, params)| headers::via_params_ok(params))
        })
    };
    if !head.all(HeaderName::Via).all(via_ok) {
        return Err(Rejection::Malformed(HeaderName::Via));
    }
    Ok(())
}

/// From/To: `[display-name] <URI> *(;param)` or `addr-spec *(;param)`
/// (RFC 3261 §20.10). Parameters are not looked into.
fn name_addr_ok(v: &[u8]) -> bool {
    let mut c = Cursor { s: v, i: 0 };
    let quoted = c.peek() == Some(b'"');
    if quoted && c.quoted_string().is_none() {
        return false;
    }
    let (uri, rest) = match v[c.i..].iter().position(|&b| b == b'<') {
        Some(lt) => {
            let display = &v[c.i..c.i + lt];
            let display_ok = if quoted {
                trim(display).is_empty()
            } else {
                display
                    .iter()
                    .all(|&b| headers::is_token_char(b) || is_lws(b))
            };
            let after = &v[c.i + lt + 1..];
            let Some(gt) = after.iter().position(|&b| b == b'>') else {
                return false;
            };
            if !display_ok {
                return false;
            }
            (&after[..gt], trim(&after[gt + 1..]))
        }
        None if quoted => return false,
        None => {
            let semi = v.iter().position(|&b| b == b';').unwrap_or(v.len());
            (trim(&v[..semi]), &v[semi..])
        }
    };
    let scheme_len = uri.iter().position(|&b| b == b':').unwrap_or(0);
    is_scheme(&uri[..scheme_len])
        && uri.iter().all(|&b| b.is_ascii_graphic() || b >= 0x80)
        && (rest.is_empty() || rest.first() == Some(&b';'))
}

/// Request-URI syntax; sip/sips need a valid host (RFC 5118 §4.2, §4.10).
fn request_uri(uri: &[u8]) -> Result<(), Rejection> {
    let malformed = Rejection::MalformedRequestUri;
    let colon = uri.iter().position(|&b| b == b':').ok_or(malformed)?;
    let (scheme, rest) = (&uri[..colon], &uri[colon + 1..]);
    if !is_scheme(scheme) || rest.is_empty() || !uri_chars_ok(rest) {
        return Err(malformed);
    }
    if scheme.eq_ignore_ascii_case(b"sip") || scheme.eq_ignore_ascii_case(b"sips") {
        if !headers::sip_host_ok(rest) {
            return Err(malformed);
        }
        return Ok(());
    }
    if scheme.eq_ignore_ascii_case(b"tel") {
        return Ok(());
    }
    Err(Rejection::UnsupportedUriScheme)
}

/// Cuts the message to its Content-Length (RFC 3261 §18.3).
fn frame<'a>(
    datagram: &'a [u8],
    head: &Head<'_>,
    content_length: Option<usize>,
    transport: Transport,
) -> Result<&'a [u8], Rejection> {
    let body_start = head.body_start.ok_or(Rejection::Unterminated)?;
    let available = datagram.len().saturating_sub(body_start);
    match content_length {
        Some(n) if n > available => Err(Rejection::BodyShorterThanContentLength),
        Some(n) => Ok(&datagram[head.start..body_start + n]),
        // A stream needs Content-Length to frame a body (RFC 3261 §18.3).
        None if transport == Transport::Tcp && available > 0 => {
            Err(Rejection::Missing(HeaderName::ContentLength))
        }
        None => Ok(&datagram[head.start..]),
    }
}

/// Option tags in Require that are not in `cfg.supported`.
fn unsupported_tags(head: &Head<'_>, cfg: &CheckConfig) -> Result<Vec<String>, Rejection> {
    let mut tags = Vec::new();
    for value in head.all(HeaderName::Require) {
        for tag in split_commas(value).into_iter().filter(|t| !t.is_empty()) {
            if !is_token(tag) {
                return Err(Rejection::Malformed(HeaderName::Require));
            }
            if !cfg
                .supported
                .iter()
                .any(|s| s.as_bytes().eq_ignore_ascii_case(tag))
            {
                tags.push(String::from_utf8_lossy(tag).into_owned());
            }
        }
    }
    Ok(tags)
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
