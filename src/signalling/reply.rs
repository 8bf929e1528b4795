//! Stateless responses to the requests [`check`] refuses: the [`Reply`] it
//! decides, the response bytes (RFC 3261 §8.2.6) and the address they go to
//! (RFC 3261 §18.2.2 with RFC 3581 `rport`).
//!
//! These responses are sent without a server transaction: the request never
//! reaches the SIP stack, so a retransmission is checked and answered again,
//! which is what a stateless UAS does (RFC 3261 §8.2.7).
//!
//! It does not add `received`/`rport` values to the top Via (RFC 3581 §4):
//! the client matches the response by branch and Call-ID, not by them.
//!
//! [`check`]: crate::signalling::check

use std::net::SocketAddr;

use crate::signalling::check::Rejection;
use crate::signalling::headers::{self, is_token, trim, HeaderName};

/// A stateless answer to a request: status, a reason phrase that says what is
/// wrong, and header fields the status calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Why the request was refused.
    pub rejection: Rejection,
    /// Status code, 100–699.
    pub status: u16,
    /// Reason phrase, e.g. `Bad Request (missing Call-ID)`.
    pub reason: &'static str,
    /// Extra header fields, e.g. `Unsupported` for a 420 (RFC 3261 §8.2.2.3).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// The reply for `rejection`, with its status and reason phrase.
    pub fn new(rejection: Rejection) -> Self {
        Reply {
            rejection,
            status: rejection.status(),
            reason: rejection.reason(),
            headers: Vec::new(),
        }
    }

    /// Adds a header field to the response.
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl From<Rejection> for Reply {
    fn from(rejection: Rejection) -> Self {
        Reply::new(rejection)
    }
}

/// Builds the response to `request` (RFC 3261 §8.2.6.1): Via values in order,
/// From, To (with `local_tag` added if it has no tag, except for 100), Call-ID
/// and CSeq copied, then `Server`, the reply's header fields and
/// `Content-Length: 0`.
///
/// `None` when no response may be sent: the message is a response or an ACK,
/// it has no Via, the status is outside 100–699, or `local_tag` is not a token.
pub fn build_response(
    request: &[u8],
    reply: &Reply,
    local_tag: &str,
    server: &str,
) -> Option<Vec<u8>> {
    if !(100..=699).contains(&reply.status) || !is_token(local_tag.as_bytes()) {
        return None;
    }
    let head = headers::parse_head(request);
    let method = head
        .start_line
        .split(|&b| b == b' ')
        .next()
        .unwrap_or_default();
    if headers::is_status_line(head.start_line) || method == b"ACK" {
        return None;
    }
    head.first(HeaderName::Via)?;
    let mut out = Vec::with_capacity(256 + request.len() / 2);
    out.extend_from_slice(format!("SIP/2.0 {} ", reply.status).as_bytes());
    push_clean(&mut out, reply.reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    for via in head.all(HeaderName::Via) {
        push_header(&mut out, "Via", via);
    }
    if let Some(from) = head.first(HeaderName::From) {
        push_header(&mut out, "From", from);
    }
    if let Some(to) = head.first(HeaderName::To) {
        if has_tag(to) || reply.status == 100 {
            push_header(&mut out, "To", to);
        } else {
            let mut tagged = to.to_vec();
            tagged.extend_from_slice(b";tag=");
            tagged.extend_from_slice(local_tag.as_bytes());
            push_header(&mut out, "To", &tagged);
        }
    }
    for h in [HeaderName::CallId, HeaderName::CSeq] {
        if let Some(v) = head.first(h) {
            push_header(&mut out, h.as_str(), v);
        }
    }
    if !server.is_empty() {
        push_header(&mut out, "Server", server.as_bytes());
    }
    for (name, value) in &reply.headers {
        if is_token(name.as_bytes()) {
            push_header(&mut out, name, value.as_bytes());
        }
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    Some(out)
}

/// Where the response to `request`, received over UDP from `source`, goes
/// (RFC 3261 §18.2.2, RFC 3581 §4): always the source IP (the `received`
/// rule); the source port if the top Via has `rport`, else the sent-by
/// port, else 5060. The response goes back over UDP, the transport the
/// request came on, whatever transport the Via names: a `SIP/2.0/TLS` Via
/// on a datagram does not move the default to 5061 (RFC 4475 §3.3.5). Over
/// TCP/TLS answer on the connection the request came in on instead. `None`
/// without a usable top Via.
pub fn response_destination(request: &[u8], source: SocketAddr) -> Option<SocketAddr> {
    let head = headers::parse_head(request);
    if headers::is_status_line(head.start_line) {
        return None;
    }
    let sent_by = headers::top_sent_by(&head)?;
    let port = if sent_by.rport {
        source.port()
    } else {
        sent_by.port.unwrap_or(5060)
    };
    Some(SocketAddr::new(source.ip(), port))
}

/// Appends `name: value CRLF`.
fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    push_clean(out, value);
    out.extend_from_slice(b"\r\n");
}

/// Appends `value` with CR and LF turned into SP, so nothing copied can end a line.
fn push_clean(out: &mut Vec<u8>, value: &[u8]) {
    out.extend(
        value
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

/// Whether a From/To value carries a `tag` header parameter (RFC 3261 §19.3).
fn has_tag(v: &[u8]) -> bool {
    header_params(v).split(|&b| b == b';').any(|param| {
        let name = param.split(|&b| b == b'=').next().unwrap_or_default();
        trim(name).eq_ignore_ascii_case(b"tag")
    })
}

/// The `*( SEMI param )` part of a name-addr or addr-spec value.
fn header_params(v: &[u8]) -> &[u8] {
    let (mut quoted, mut escaped) = (false, false);
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
            b'<' => {
                let after = &v[i..];
                return after
                    .iter()
                    .position(|&c| c == b'>')
                    .map_or(&after[..0], |gt| &after[gt + 1..]);
            }
            b';' => return &v[i..],
            _ => {}
        }
    }
    &v[..0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::check::HeaderName as H;

    const REQUEST: &[u8] = b"INVITE sip:u@example.com SIP/2.0\r\n\
        v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1,\r\n SIP/2.0/TCP b.example.com\r\n\
        Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n\
        f: \"A;B\" <sip:a@example.com>;tag=9\r\n\
        t: <sip:u@example.com;x=y>\r\n\
        i: call-1\r\n\
        CSeq: 7 INVITE\r\n\
        l: 0\r\n\r\n";

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn response_copies_headers_and_adds_tag() {
        let reply = Reply::new(Rejection::Missing(H::MaxForwards));
        let out = build_response(REQUEST, &reply, "k1", "kefu/0.1").map(|b| text(&b));
        let expected = "SIP/2.0 400 Bad Request (missing Max-Forwards)\r\n\
            Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com\r\n\
            Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n\
            From: \"A;B\" <sip:a@example.com>;tag=9\r\n\
            To: <sip:u@example.com;x=y>;tag=k1\r\n\
            Call-ID: call-1\r\n\
            CSeq: 7 INVITE\r\n\
            Server: kefu/0.1\r\n\
            Content-Length: 0\r\n\r\n";
        assert_eq!(out.as_deref(), Some(expected));
    }

    #[test]
    fn existing_to_tag_is_kept_and_extra_headers_added() {
        let req = text(REQUEST).replace(
            "t: <sip:u@example.com;x=y>",
            "t: sip:u@example.com ; TAG = 5",
        );
        let reply = Reply::new(Rejection::BadExtension).with_header("Unsupported", "foo".into());
        let out = build_response(req.as_bytes(), &reply, "k1", "")
            .map(|b| text(&b))
            .unwrap_or_default();
        assert!(out.starts_with("SIP/2.0 420 Bad Extension\r\n"));
        assert!(out.contains("\r\nTo: sip:u@example.com ; TAG = 5\r\n"));
        assert!(out.contains("\r\nUnsupported: foo\r\n"));
        assert!(!out.contains("Server:"));
    }

    #[test]
    fn no_response_to_ack_responses_or_without_via() {
        let reply = Reply::new(Rejection::MalformedRequestLine);
        let ack = text(REQUEST).replacen("INVITE sip", "ACK sip", 1);
        assert_eq!(build_response(ack.as_bytes(), &reply, "t", "s"), None);
        assert_eq!(
            build_response(
                b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n",
                &reply,
                "t",
                "s"
            ),
            None
        );
        assert_eq!(
            build_response(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n", &reply, "t", "s"),
            None
        );
        assert_eq!(build_response(REQUEST, &reply, "bad tag", "s"), None);
        let mut odd = reply.clone();
        odd.status = 7;
        assert_eq!(build_response(REQUEST, &odd, "t", "s"), None);
    }

    #[test]
    fn copied_values_cannot_break_lines() {
        let reply =
            Reply::new(Rejection::BadExtension).with_header("Unsupported", "a\r\nX: y".into());
        let out = build_response(REQUEST, &reply, "t", "evil\r\nX: 1").unwrap_or_default();
        assert_eq!(text(&out).matches("\r\n").count(), 11);
    }

    #[test]
    fn destination_follows_via_and_rport() {
        let src: SocketAddr = "198.51.100.7:40000".parse().expect("addr");
        let dest = |via: &str| {
            let req = format!("OPTIONS sip:a@b.com SIP/2.0\r\nVia: {via}\r\n\r\n");
            response_destination(req.as_bytes(), src).map(|a| a.to_string())
        };
        assert_eq!(
            dest("SIP/2.0/UDP h.example.com").as_deref(),
            Some("198.51.100.7:5060")
        );
        assert_eq!(
            dest("SIP/2.0/UDP h.example.com:5070;branch=x").as_deref(),
            Some("198.51.100.7:5070")
        );
        assert_eq!(
            dest("SIP/2.0/UDP h.example.com:5070;rport;branch=x").as_deref(),
            Some("198.51.100.7:40000")
        );
        // Received over UDP: the Via transport does not change the port.
        assert_eq!(
            dest("SIP/2.0/TLS h.example.com").as_deref(),
            Some("198.51.100.7:5060")
        );
        assert_eq!(
            dest("SIP/2.0/TLS h.example.com:5071").as_deref(),
            Some("198.51.100.7:5071")
        );
        assert_eq!(
            dest("SIP/2.0/TCP h.example.com;rport").as_deref(),
            Some("198.51.100.7:40000")
        );
        assert_eq!(
            dest("SIP/2.0/UDP [2001:db8::9:1]:6050, SIP/2.0/UDP x:1").as_deref(),
            Some("198.51.100.7:6050")
        );
        assert_eq!(dest("garbage"), None);
        assert_eq!(
            response_destination(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n", src),
            None
        );
        let v6: SocketAddr = "[2001:db8::1]:5080".parse().expect("addr");
        let req = b"OPTIONS sip:a@b.com SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::1]\r\n\r\n";
        assert_eq!(response_destination(req, v6).map(|a| a.port()), Some(5060));
    }
}
