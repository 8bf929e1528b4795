//! Byte-level framing of a SIP message for the pre-parser in [`check`]:
//! start line, header fields (RFC 3261 §7.3: folding, compact forms,
//! case-insensitive names, whitespace before the colon), the empty line that
//! ends them, and the lexical pieces the checks share (tokens, hosts, the Via
//! sent-by of RFC 3261 §18.2.2 and §20.42).
//!
//! It works on bytes, never on `str`: header values may carry UTF-8, NUL
//! inside quoted strings (RFC 4475 §3.1.1.4) or anything else, and a bad byte
//! must cost a 400, not a panic. Bare LF line ends are accepted as well as
//! CRLF (RFC 3261 §7.5 asks for CRLF; being liberal costs nothing here).
//!
//! It does not interpret header values beyond what [`check`] and [`reply`]
//! need; the SIP stack parses the message again once it passes.
//!
//! [`check`]: crate::signalling::check
//! [`reply`]: crate::signalling::reply

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv6Addr;

/// At most this many header fields per message; more is treated as an attack.
pub const MAX_HEADERS: usize = 256;
/// At most this many bytes in one physical header line.
pub const MAX_LINE: usize = 16 * 1024;

/// The header fields the checks care about; everything else is [`HeaderName::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderName {
    /// `Via` / `v` (RFC 3261 §20.42).
    Via,
    /// `From` / `f` (RFC 3261 §20.20).
    From,
    /// `To` / `t` (RFC 3261 §20.39).
    To,
    /// `Call-ID` / `i` (RFC 3261 §20.8).
    CallId,
    /// `CSeq` (RFC 3261 §20.16).
    CSeq,
    /// `Max-Forwards` (RFC 3261 §20.22).
    MaxForwards,
    /// `Content-Length` / `l` (RFC 3261 §20.14).
    ContentLength,
    /// `Content-Type` / `c` (RFC 3261 §20.15).
    ContentType,
    /// `Expires` (RFC 3261 §20.19).
    Expires,
    /// `Require` (RFC 3261 §20.32).
    Require,
    /// Any other header field, including unknown extension headers.
    Other,
}

impl HeaderName {
    /// Classifies a header name as received: case-insensitive, compact forms
    /// (RFC 3261 §7.3.3) included.
    pub fn parse(name: &[u8]) -> Self {
        const NAMES: &[(&str, HeaderName)] = &[
            ("via", HeaderName::Via),
            ("v", HeaderName::Via),
            ("from", HeaderName::From),
            ("f", HeaderName::From),
            ("to", HeaderName::To),
            ("t", HeaderName::To),
            ("call-id", HeaderName::CallId),
            ("i", HeaderName::CallId),
            ("cseq", HeaderName::CSeq),
            ("max-forwards", HeaderName::MaxForwards),
            ("content-length", HeaderName::ContentLength),
            ("l", HeaderName::ContentLength),
            ("content-type", HeaderName::ContentType),
            ("c", HeaderName::ContentType),
            ("expires", HeaderName::Expires),
            ("require", HeaderName::Require),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map_or(HeaderName::Other, |&(_, h)| h)
    }

    /// The long form, as written in replies and reason phrases.
    pub fn as_str(self) -> &'static str {
        match self {
            HeaderName::Via => "Via",
            HeaderName::From => "From",
            HeaderName::To => "To",
            HeaderName::CallId => "Call-ID",
            HeaderName::CSeq => "CSeq",
            HeaderName::MaxForwards => "Max-Forwards",
            HeaderName::ContentLength => "Content-Length",
            HeaderName::ContentType => "Content-Type",
            HeaderName::Expires => "Expires",
            HeaderName::Require => "Require",
            HeaderName::Other => "extension header",
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field, folded lines joined.
#[derive(Debug, Clone)]
pub(crate) struct Header<'a> {
    pub name: HeaderName,
    /// Unfolded value with surrounding whitespace removed; each fold became one SP.
    pub value: Cow<'a, [u8]>,
}

/// What is wrong with the framing of the header section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A line that is neither `name: value` nor a continuation.
    MalformedLine,
    /// A continuation line (leading SP/HTAB) with no header before it.
    StrayContinuation,
    /// No empty line after the headers.
    Unterminated,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// A physical line (start line included) longer than [`MAX_LINE`].
    LineTooLong,
}

/// A message split into start line, headers and the body offset.
#[derive(Debug)]
pub(crate) struct Head<'a> {
    /// Offset of the start line (leading CRLFs are skipped, RFC 3261 §7.5).
    pub start: usize,
    pub start_line: &'a [u8],
    /// Header fields in order, malformed lines left out.
    pub headers: Vec<Header<'a>>,
    /// Offset of the first body byte, when the empty line was found.
    pub body_start: Option<usize>,
    /// The first framing problem, if any.
    pub problem: Option<Framing>,
}

impl<'a> Head<'a> {
    /// Values of every header field called `name`, in order.
    pub fn all(&self, name: HeaderName) -> impl Iterator<Item = &[u8]> + '_ {
        self.headers
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| h.value.as_ref())
    }

    /// The first header field called `name`.
    pub fn first(&self, name: HeaderName) -> Option<&[u8]> {
        self.all(name).next()
    }
}

/// Splits `msg` into start line and header fields. Never fails: problems are
/// recorded in [`Head::problem`] so the caller can still find a Via to reply to.
pub(crate) fn parse_head(msg: &[u8]) -> Head<'_> {
    let start = msg
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(msg.len());
    let (start_line, mut pos, mut ended) = next_line(msg, start);
    let mut head = Head {
        start,
        start_line,
        headers: Vec::new(),
        body_start: None,
        problem: (start_line.len() > MAX_LINE).then_some(Framing::LineTooLong),
    };
    // Raw value spans (start, end) of the headers, unfolded at the end.
    let mut spans: Vec<(HeaderName, usize, usize, bool)> = Vec::new();
    let mut last_ok = false;
    while ended && pos < msg.len() {
        let line_start = pos;
        let (line, next, nl) = next_line(msg, pos);
        pos = next;
        ended = nl;
        if line.is_empty() && nl {
            head.body_start = Some(next);
            break;
        }
        if line.len() > MAX_LINE {
            head.problem.get_or_insert(Framing::LineTooLong);
        }
        if line.first().is_some_and(|&b| is_lws(b)) {
            // RFC 3261 §7.3.1: a line starting with whitespace continues the previous one.
            match spans.last_mut() {
                Some(span) if last_ok => {
                    span.2 = line_start + line.len();
                    span.3 = true;
                }
                Some(_) => {}
                None => {
                    head.problem.get_or_insert(Framing::StrayContinuation);
                }
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            head.problem.get_or_insert(Framing::MalformedLine);
            last_ok = false;
            continue;
        };
        let name = trim(&line[..colon]);
        if !is_token(name) {
            head.problem.get_or_insert(Framing::MalformedLine);
            last_ok = false;
            continue;
        }
        if spans.len() == MAX_HEADERS {
            head.problem.get_or_insert(Framing::TooManyHeaders);
            break;
        }
        let value_start = line_start + colon + 1;
        spans.push((
            HeaderName::parse(name),
            value_start,
            line_start + line.len(),
            false,
        ));
        last_ok = true;
    }
    if head.body_start.is_none() {
        head.problem.get_or_insert(Framing::Unterminated);
    }
    head.headers = spans
        .into_iter()
        .map(|(name, s, e, folded)| Header {
            name,
            value: if folded {
                Cow::Owned(unfold(&msg[s..e]))
            } else {
                Cow::Borrowed(trim(&msg[s..e]))
            },
        })
        .collect();
    head
}

/// A start line beginning `SIP/` is a Status-Line (a method cannot contain `/`).
pub(crate) fn is_status_line(line: &[u8]) -> bool {
    line.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

/// The line at `pos` without its CRLF/LF, the offset after it, and whether a LF ended it.
fn next_line(msg: &[u8], pos: usize) -> (&[u8], usize, bool) {
    let rest = msg.get(pos..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let line = &rest[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line, pos + i + 1, true)
        }
        None => (rest, msg.len(), false),
    }
}

/// Joins folded lines: each line is trimmed and they are joined by one SP.
fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for line in raw.split(|&b| b == b'\n') {
        let line = trim(line.strip_suffix(b"\r").unwrap_or(line));
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(line);
    }
    out
}

/// SP or HTAB.
pub(crate) fn is_lws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Removes leading and trailing SP/HTAB.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_lws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_lws(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// RFC 3261 §25.1 `token` character.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// A non-empty RFC 3261 `token`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token_char(b))
}

/// Whether two URIs are the same once their parameters are dropped,
/// compared case-insensitively (RFC 3261 §19.1.4, simplified: stacks
/// reorder parameters; scheme, user, host and port decide).
pub(crate) fn same_uri(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        s.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    key(a) == key(b)
}

/// Splits a header value at top-level commas (not inside quoted strings or `<...>`).
pub(crate) fn split_commas(v: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut quoted, mut escaped, mut angle, mut from) = (false, false, false, 0);
    for (i, &b) in v.iter().enumerate() {
        if quoted {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'<' => angle = true,
            b'>' => angle = false,
            b',' if !angle => {
                parts.push(trim(&v[from..i]));
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(trim(&v[from..]));
    parts
}

/// RFC 3261 §25.1 `host`: hostname, IPv4address or `[` IPv6address `]`
/// (RFC 5118 §4.2: an IPv6 address must be bracketed).
pub(crate) fn is_host(h: &[u8]) -> bool {
    if let Some(inner) = h.strip_prefix(b"[").and_then(|r| r.strip_suffix(b"]")) {
        return is_ipv6(inner);
    }
    is_ipv4(h) || is_hostname(h)
}

/// An IPv6address, as in RFC 5118 §4.10 (two colons before the embedded IPv4).
pub(crate) fn is_ipv6(s: &[u8]) -> bool {
    std::str::from_utf8(s).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok())
}

/// RFC 3261 `IPv4address`: four groups of 1–3 digits; each at most 255.
pub(crate) fn is_ipv4(s: &[u8]) -> bool {
    let mut groups = 0;
    for g in s.split(|&b| b == b'.') {
        groups += 1;
        if g.is_empty() || g.len() > 3 || !g.iter().all(u8::is_ascii_digit) {
            return false;
        }
        if parse_decimal(g).is_none_or(|n| n > 255) {
            return false;
        }
    }
    groups == 4
}

/// RFC 3261 `hostname`: dot-separated labels of alphanumerics and `-`, the
/// last starting with a letter. `_` is tolerated, as deployed devices use it.
pub(crate) fn is_hostname(s: &[u8]) -> bool {
    let s = s.strip_suffix(b".").unwrap_or(s);
    if s.is_empty() || s.len() > 255 {
        return false;
    }
    let label_ok = |l: &[u8]| {
        !l.is_empty()
            && l.len() <= 63
            && l.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && l.first() != Some(&b'-')
            && l.last() != Some(&b'-')
    };
    let mut last = &s[..0];
    for l in s.split(|&b| b == b'.') {
        if !label_ok(l) {
            return false;
        }
        last = l;
    }
    last.first().is_some_and(u8::is_ascii_alphabetic)
}

/// A `1*DIGIT` value, `None` if empty, not all digits or above `u64::MAX`.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// A `port`: digits, at most 65535.
pub(crate) fn parse_port(s: &[u8]) -> Option<u16> {
    parse_decimal(s).and_then(|p| u16::try_from(p).ok())
}

/// Splits `hostport` into host and optional port; brackets stay on IPv6 hosts.
pub(crate) fn split_hostport(hp: &[u8]) -> Option<(&[u8], Option<u16>)> {
    let (host, port) = if hp.first() == Some(&b'[') {
        let close = hp.iter().position(|&b| b == b']')?;
        let (host, rest) = hp.split_at(close + 1);
        match rest {
            [] => (host, None),
            [b':', port @ ..] => (host, Some(port)),
            _ => return None,
        }
    } else {
        match hp.iter().position(|&b| b == b':') {
            Some(i) => (&hp[..i], Some(&hp[i + 1..])),
            None => (hp, None),
        }
    };
    if !is_host(host) {
        return None;
    }
    match port {
        None => Some((host, None)),
        Some(p) => Some((host, Some(parse_port(p)?))),
    }
}

/// RFC 3261 `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
pub(crate) fn is_scheme(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Characters RFC 3261 §25.1 allows in a URI after the scheme, `%` followed by two hex digits.
pub(crate) fn uri_chars_ok(s: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            if !s
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        let ok = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
                    | b'('
                    | b')'
                    | b';'
                    | b'/'
                    | b'?'
                    | b':'
                    | b'@'
                    | b'&'
                    | b'='
                    | b'+'
                    | b'$'
                    | b','
                    | b'['
                    | b']'
            );
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// The host part of a sip/sips URI after `sip:` is a valid `hostport`
/// (RFC 3261 §19.1.1; RFC 5118 §4.2: IPv6 only in brackets).
pub(crate) fn sip_host_ok(rest: &[u8]) -> bool {
    // `@` only occurs unescaped in userinfo, so the last one ends it.
    let host_part = match rest.iter().rposition(|&b| b == b'@') {
        Some(0) => return false,
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let end = host_part
        .iter()
        .position(|&b| b == b';' || b == b'?')
        .unwrap_or(host_part.len());
    split_hostport(&host_part[..end]).is_some()
}

/// The parts of one Via value that route a response (RFC 3261 §18.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SentBy<'a> {
    pub transport: &'a [u8],
    pub host: &'a [u8],
    pub port: Option<u16>,
    /// RFC 3581 `rport` is present.
    pub rport: bool,
}

/// `sent-protocol LWS sent-by` of one Via value, and the bytes after it
/// (the via-params). LWS is allowed around the slashes (RFC 4475 §3.1.1.1).
pub(crate) fn parse_sent_by(v: &[u8]) -> Option<(SentBy<'_>, &[u8])> {
    let mut c = Cursor { s: v, i: 0 };
    c.skip_lws();
    for _ in 0..2 {
        c.token()?;
        c.skip_lws();
        c.eat(b'/')?;
        c.skip_lws();
    }
    let transport = c.token()?;
    if c.skip_lws() == 0 {
        return None;
    }
    let from = c.i;
    if c.peek() == Some(b'[') {
        while c.peek().is_some_and(|b| b != b']') {
            c.i += 1;
        }
        c.eat(b']')?;
    }
    while c
        .peek()
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
    {
        c.i += 1;
    }
    let (host, port) = split_hostport(&v[from..c.i])?;
    let params = &v[c.i..];
    let rport = params.split(|&b| b == b';').skip(1).any(|p| {
        let name = p.split(|&b| b == b'=').next().unwrap_or_default();
        trim(name).eq_ignore_ascii_case(b"rport")
    });
    let sent_by = SentBy {
        transport,
        host,
        port,
        rport,
    };
    Some((sent_by, params))
}

/// The sent-by of the first value of the first Via: where responses go.
pub(crate) fn top_sent_by<'h>(head: &'h Head<'_>) -> Option<SentBy<'h>> {
    let via = head.first(HeaderName::Via)?;
    let top = split_commas(via).into_iter().next()?;
    parse_sent_by(top).map(|(sent_by, _)| sent_by)
}

/// RFC 3261 `*( SEMI via-params )`: each `;name[=value]`, value a token, a
/// quoted string or an address (RFC 5118 §4.5 allows `received=[...]` too).
pub(crate) fn via_params_ok(params: &[u8]) -> bool {
    let mut c = Cursor { s: params, i: 0 };
    c.skip_lws();
    while c.peek().is_some() {
        if c.eat(b';').is_none() {
            return false;
        }
        c.skip_lws();
        if c.token().is_none() {
            return false;
        }
        c.skip_lws();
        if c.eat(b'=').is_some() {
            c.skip_lws();
            if c.peek() == Some(b'"') {
                if c.quoted_string().is_none() {
                    return false;
                }
            } else {
                let from = c.i;
                while c
                    .peek()
                    .is_some_and(|b| is_token_char(b) || matches!(b, b':' | b'[' | b']'))
                {
                    c.i += 1;
                }
                if c.i == from {
                    return false;
                }
            }
            c.skip_lws();
        }
    }
    true
}

/// A read position in a byte string.
pub(crate) struct Cursor<'a> {
    pub s: &'a [u8],
    pub i: usize,
}

impl<'a> Cursor<'a> {
    pub fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips SP/HTAB, returning how many.
    pub fn skip_lws(&mut self) -> usize {
        let from = self.i;
        while self.peek().is_some_and(is_lws) {
            self.i += 1;
        }
        self.i - from
    }

    pub fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.i += 1)
    }

    /// A non-empty token.
    pub fn token(&mut self) -> Option<&'a [u8]> {
        let from = self.i;
        while self.peek().is_some_and(is_token_char) {
            self.i += 1;
        }
        (self.i > from).then(|| &self.s[from..self.i])
    }

    /// A quoted string starting at the cursor, with `\` escapes (RFC 3261 §25.1).
    pub fn quoted_string(&mut self) -> Option<&'a [u8]> {
        let from = self.i;
        self.eat(b'"')?;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(&self.s[from..self.i]);
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_compact_forms_and_space_before_colon() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nTO :\r\n sip:x@y ;\r\n\ttag=1\r\ni:abc\r\nCall-ID   : z\r\n\r\nbody";
        let head = parse_head(msg);
        assert_eq!(head.problem, None);
        assert_eq!(head.first(HeaderName::To), Some(&b"sip:x@y ; tag=1"[..]));
        assert_eq!(head.all(HeaderName::CallId).count(), 2);
        assert_eq!(head.body_start.map(|b| &msg[b..]), Some(&b"body"[..]));
    }

    #[test]
    fn bare_lf_and_leading_crlf() {
        let msg = b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\nVia: x\n\n";
        let head = parse_head(msg);
        assert_eq!(head.start, 4);
        assert_eq!(head.start_line, b"OPTIONS sip:a@b SIP/2.0");
        assert_eq!(head.problem, None);
        assert_eq!(head.body_start, Some(msg.len()));
    }

    #[test]
    fn framing_problems() {
        let p = |m: &[u8]| parse_head(m).problem;
        assert_eq!(p(b"A b c\r\nVia x\r\n\r\n"), Some(Framing::MalformedLine));
        assert_eq!(
            p(b"A b c\r\n folded\r\n\r\n"),
            Some(Framing::StrayContinuation)
        );
        assert_eq!(p(b"A b c\r\nVia: x\r\n"), Some(Framing::Unterminated));
        let many = format!("A b c\r\n{}\r\n", "X: y\r\n".repeat(MAX_HEADERS + 1));
        assert_eq!(p(many.as_bytes()), Some(Framing::TooManyHeaders));
        let long = format!("A b c\r\nX: {}\r\n\r\n", "y".repeat(MAX_LINE));
        assert_eq!(p(long.as_bytes()), Some(Framing::LineTooLong));
    }

    #[test]
    fn hosts() {
        assert!(is_host(b"example.com"));
        assert!(is_host(b"192.0.2.1"));
        assert!(is_host(b"[2001:db8::10]"));
        assert!(is_host(b"[2001:db8::192.0.2.1]"));
        assert!(is_host(b"[2001:db8::10:5070]"));
        assert!(!is_host(b"[2001:db8:::192.0.2.1]"));
        assert!(!is_host(b"2001"));
        assert!(!is_host(b"-a.com"));
        assert!(!is_host(b""));
        assert_eq!(
            split_hostport(b"[2001:db8::10]:5070").map(|h| h.1),
            Some(Some(5070))
        );
        assert_eq!(split_hostport(b"2001:db8::10"), None);
        assert_eq!(split_hostport(b"a.com:99999"), None);
    }

    #[test]
    fn uri_grammar() {
        assert!(is_scheme(b"soap.beep") && !is_scheme(b"<sip") && !is_scheme(b""));
        assert!(uri_chars_ok(
            b"1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&a=1@x.com"
        ));
        assert!(uri_chars_ok(b"null-%00-null@example.com"));
        assert!(!uri_chars_ok(b"a%zz@example.com") && !uri_chars_ok(b"a%4"));
        assert!(!uri_chars_ok(b"user@example.com>") && !uri_chars_ok(b"a b"));
        assert!(sip_host_ok(b"user;par=u%40example.net@example.com;lr?X=y"));
        assert!(sip_host_ok(b"[2001:db8::10]:5070"));
        assert!(!sip_host_ok(b"2001:db8::10"));
        assert!(!sip_host_ok(b"@example.com") && !sip_host_ok(b"user@"));
    }

    #[test]
    fn via_sent_by_with_lws_and_rport() {
        let (sb, params) =
            parse_sent_by(b"SIP  /   2.0  /UDP 192.0.2.2;branch=x;rport").expect("via");
        assert_eq!(sb.transport, b"UDP");
        assert_eq!(sb.host, b"192.0.2.2");
        assert!(sb.rport);
        assert!(via_params_ok(params));
        let (sb, _) = parse_sent_by(b"SIP/2.0/TLS [2001:db8::9:1]:6050").expect("via");
        assert_eq!(
            (sb.host, sb.port, sb.rport),
            (&b"[2001:db8::9:1]"[..], Some(6050), false)
        );
        assert!(parse_sent_by(b"SIP/2.0/UDP").is_none());
        assert!(parse_sent_by(b"SIP/2.0 host").is_none());
        assert!(!via_params_ok(b";;"));
        assert!(via_params_ok(b";received=[2001:db8::9:255];branch=z"));
        assert!(via_params_ok(b" ; branch = \"q;x\""));
    }

    #[test]
    fn commas_respect_quotes_and_brackets() {
        assert_eq!(
            split_commas(b"\"a,b\" <sip:x,y>, c"),
            vec![&b"\"a,b\" <sip:x,y>"[..], &b"c"[..]]
        );
    }
}
