//! Rewrites a message that passed [`check`] into the plain form the SIP stack
//! parses, without changing what it means. Applied by [`guard`] to every UDP
//! datagram the check lets through, before rsipstack sees it.
//!
//! rsipstack 0.7.14 drops three kinds of valid requests with
//! `from tags missing` (its `TransactionKey::from_request` and
//! `DialogId::try_from` need the From tag); RFC 4475 has an example of each:
//! - a folded header line (RFC 3261 §7.3.1) in From: the stack joins the
//!   lines but then misreads the parameters (RFC 4475 §3.1.1.1 `wsinv`);
//! - LWS around `=` and `;` in From/To header parameters, allowed by
//!   RFC 3261 §25.1 (`EQUAL = SWS "=" SWS`, `SEMI = SWS ";" SWS`): the stack
//!   finds no `tag` in `<sip:a@b> ; tag = 98asjd8` (`wsinv` again);
//! - a From without a tag, from an RFC 2543 peer (RFC 3261 §8.2.6.2, §12.1.1;
//!   RFC 4475 §3.4.1 `inv2543`).
//!
//! And it reads a body as empty when there is no Content-Length, where over
//! UDP the body is the rest of the datagram (RFC 3261 §18.3, §20.14): the
//! SDP of `inv2543` was lost and the INVITE got a 488. With the SDP read,
//! its dialog could not be made (`missing Contact header`, a 500): RFC 3261
//! §8.1.1.8 requires Contact in an INVITE, RFC 2543 did not (its callee
//! then reaches the caller at the From address).
//!
//! So [`normalize`]:
//! 1. unfolds the header section: `[CR]LF 1*(SP / HTAB)` becomes one SP
//!    (RFC 3261 §7.3.1); the body is never touched, so `Content-Length`
//!    stays right;
//! 2. in From and To (`f`/`t`) removes LWS around `;` and `=` outside quoted
//!    strings and outside `<…>`, i.e. in the header parameters;
//! 3. gives a request whose From has no tag a synthetic one,
//!    `tag=2543-<FNV-1a 64 of Call-ID and From URI, hex>`: every request of
//!    one RFC 2543 call (INVITE, ACK, BYE, CANCEL) gets the same tag, so the
//!    stack's transaction and dialog matching work as for an RFC 3261 peer;
//! 4. adds `Contact: <From URI>` to an INVITE without a Contact;
//! 5. adds `Content-Length: <body length>` after the last header field when
//!    there is a body and no Content-Length (the check has already cut the
//!    message to one: the body is what follows the empty line).
//!
//! A Via without a `branch` (RFC 2543) is left alone: rsipstack keys such a
//! transaction by Call-ID, CSeq, From tag and the Via sent-by, as RFC 3261
//! §17.2.3 asks for RFC 2543 matching.
//!
//! The stack builds responses from the message it parsed, so a response to
//! an RFC 2543 peer carries the synthetic From tag, although RFC 3261 §8.2.6.2
//! says From is copied as received. RFC 2543 did not require a From tag, so
//! its UAs match responses by Call-ID, CSeq and the From URI, and a tag they
//! did not send does not stop them; their later requests (ACK, BYE, CANCEL)
//! lack it again and get the same synthetic tag here.
//!
//! Over TCP the stack frames messages itself and this module is not applied.
//!
//! It is std only and allocates nothing when the message is already plain
//! (the usual case): two scans of the header section (folds; From, To,
//! Call-ID, Contact, Content-Length) and one of the From/To values. [`stack_keys`] is the one function here that knows
//! rsipstack: tests use it to show what the stack makes of a message.
//!
//! [`check`]: crate::signalling::check
//! [`guard`]: crate::signalling::guard

use std::borrow::Cow;
use std::net::SocketAddr;

use crate::signalling::headers::{is_lws, trim, HeaderName};

/// The prefix of a synthetic From tag; the rest is 16 hex digits.
pub const SYNTHETIC_TAG_PREFIX: &str = "2543-";

/// `msg`, one message, in the form the stack parses: the header section
/// unfolded, LWS around `;`/`=` removed from From/To header parameters, a
/// synthetic From tag for a request without one, a Contact (the From URI)
/// for an INVITE without one, a Content-Length for a body without one. Borrowed when nothing changes; a message without the empty
/// line after its headers is returned as is.
pub fn normalize(msg: &[u8]) -> Cow<'_, [u8]> {
    let Some(body_start) = body_start(msg) else {
        return Cow::Borrowed(msg);
    };
    let (head, body) = msg.split_at(body_start);
    let unfolded = unfold(head);
    let fixed = fix_headers(&unfolded, body.len());
    match (unfolded, fixed) {
        (Cow::Borrowed(_), None) => Cow::Borrowed(msg),
        (unfolded, fixed) => {
            let head = fixed.as_deref().unwrap_or(&unfolded);
            let mut out = Vec::with_capacity(head.len() + body.len());
            out.extend_from_slice(head);
            out.extend_from_slice(body);
            Cow::Owned(out)
        }
    }
}

/// The synthetic From tag value (without `tag=`) for a call: FNV-1a 64 of
/// the Call-ID, a NUL and the From URI.
pub fn synthetic_tag(call_id: &[u8], from_uri: &[u8]) -> String {
    let mut h = Fnv64::new();
    h.write(trim(call_id));
    h.write(&[0]);
    h.write(from_uri);
    format!("{SYNTHETIC_TAG_PREFIX}{:016x}", h.0)
}

/// One physical line at `pos`: (content end, without CR; next line start).
/// The last line may lack its LF.
fn line_at(msg: &[u8], pos: usize) -> (usize, usize) {
    match msg[pos..].iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let end = pos + lf;
            let content_end = if end > pos && msg[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            (content_end, end + 1)
        }
        None => (msg.len(), msg.len()),
    }
}

/// Offset of the first body byte: just after the first empty line that
/// follows the start line (leading CR/LF skipped, RFC 3261 §7.5).
fn body_start(msg: &[u8]) -> Option<usize> {
    let mut pos = msg
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(msg.len());
    let mut first = true;
    while pos < msg.len() {
        let (content_end, next) = line_at(msg, pos);
        if !first && content_end == pos && next > content_end {
            return Some(next);
        }
        first = false;
        pos = next;
    }
    None
}

/// Joins continuation lines (RFC 3261 §7.3.1): each line end followed by
/// SP/HTAB becomes one SP together with the whitespace after it. `head` is
/// the start line and header fields with the empty line; the start line
/// cannot be continued (the check refuses that).
fn unfold(head: &[u8]) -> Cow<'_, [u8]> {
    let is_fold = |lf: usize| head.get(lf + 1).is_some_and(|&b| is_lws(b));
    let first_lf = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let Some(fold) = (first_lf + 1..head.len()).find(|&i| head[i] == b'\n' && is_fold(i)) else {
        return Cow::Borrowed(head);
    };
    let mut out = Vec::with_capacity(head.len());
    let mut copied = 0;
    let mut i = fold;
    while i < head.len() {
        if head[i] == b'\n' && is_fold(i) {
            let line_end = if i > copied && head[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            out.extend_from_slice(&head[copied..line_end]);
            out.push(b' ');
            i += 1;
            while head.get(i).is_some_and(|&b| is_lws(b)) {
                i += 1;
            }
            copied = i;
        } else {
            i += 1;
        }
    }
    out.extend_from_slice(&head[copied..]);
    Cow::Owned(out)
}

/// One change to the header section: bytes `start..end` become `value`.
type Edit = (usize, usize, Vec<u8>);

/// What one pass over the header fields finds.
struct Fields<'h> {
    /// From/To values with loose parameters, rewritten.
    edits: Vec<Edit>,
    /// The value span of the first From.
    from: Option<(usize, usize)>,
    /// The first Call-ID value.
    call_id: &'h [u8],
    /// Whether a Content-Length (`l`) is present.
    content_length: bool,
    /// Whether a Contact (`m`) is present.
    contact: bool,
    /// Offset of the empty line that ends the header section.
    end: usize,
}

fn fields(head: &[u8]) -> Fields<'_> {
    let mut f = Fields {
        edits: Vec::new(),
        from: None,
        call_id: &[],
        content_length: false,
        contact: false,
        end: head.len(),
    };
    let (_, mut pos) = line_at(head, 0);
    while pos < head.len() {
        let (content_end, next) = line_at(head, pos);
        if content_end == pos {
            f.end = pos;
            break;
        }
        let line = &head[pos..content_end];
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let (start, end) = (pos + colon + 1, content_end);
            let raw_name = trim(&line[..colon]);
            if raw_name.eq_ignore_ascii_case(b"contact") || raw_name.eq_ignore_ascii_case(b"m") {
                f.contact = true;
            }
            match HeaderName::parse(raw_name) {
                name @ (HeaderName::From | HeaderName::To) => {
                    if name == HeaderName::From && f.from.is_none() {
                        f.from = Some((start, end));
                    }
                    if let Cow::Owned(v) = tight_params(&head[start..end]) {
                        f.edits.push((start, end, v));
                    }
                }
                HeaderName::CallId if f.call_id.is_empty() => f.call_id = &head[start..end],
                HeaderName::ContentLength => f.content_length = true,
                _ => {}
            }
        }
        pos = next;
    }
    f
}

/// The unfolded header section `head` with From/To rewritten, a synthetic
/// From tag, a Contact for an INVITE without one, and a Content-Length for a
/// body of `body_len` bytes when absent (RFC 3261 §18.3: over UDP the body
/// is then the rest of the datagram; rsipstack takes it as empty). `None`
/// when nothing changes.
fn fix_headers(head: &[u8], body_len: usize) -> Option<Vec<u8>> {
    let mut f = fields(head);
    let eol: &[u8] = if head[f.end..].starts_with(b"\r") {
        b"\r\n"
    } else {
        b"\n"
    };
    if let (false, Some((start, end))) = (head.starts_with(b"SIP/"), f.from) {
        let edited = f.edits.iter().position(|e| e.0 == start);
        let value = edited.map_or(&head[start..end], |i| &f.edits[i].2[..]);
        let uri = uri_of(value).to_vec();
        let contact = (head.starts_with(b"INVITE ") && !f.contact && !uri.is_empty()).then(|| {
            let mut line = b"Contact: <".to_vec();
            line.extend_from_slice(&uri);
            line.push(b'>');
            line.extend_from_slice(eol);
            line
        });
        if !has_tag(value) {
            let mut tagged = value[..trim_end(value)].to_vec();
            tagged.extend_from_slice(b";tag=");
            tagged.extend_from_slice(synthetic_tag(f.call_id, &uri).as_bytes());
            match edited {
                Some(i) => f.edits[i].2 = tagged,
                None => {
                    f.edits.push((start, end, tagged));
                    f.edits.sort_by_key(|e| e.0);
                }
            }
        }
        if let Some(line) = contact {
            f.edits.push((f.end, f.end, line));
        }
    }
    if !f.content_length && body_len > 0 {
        let mut line = format!("Content-Length: {body_len}").into_bytes();
        line.extend_from_slice(eol);
        f.edits.push((f.end, f.end, line));
    }
    if f.edits.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(head.len() + 64);
    let mut copied = 0;
    for (start, end, value) in &f.edits {
        out.extend_from_slice(&head[copied..*start]);
        out.extend_from_slice(value);
        copied = *end;
    }
    out.extend_from_slice(&head[copied..]);
    Some(out)
}

/// Where a byte of a From/To value stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Outside quoted strings and `<…>`: header parameters, addr-spec, display name.
    Open,
    /// In a quoted string; `escaped` after a backslash.
    Quoted { escaped: bool },
    /// Between `<` and `>`: the URI, whose own parameters are not touched.
    Angle,
}

impl Place {
    fn next(self, b: u8) -> Place {
        match (self, b) {
            (Place::Open, b'"') => Place::Quoted { escaped: false },
            (Place::Open, b'<') => Place::Angle,
            (Place::Quoted { escaped: true }, _) => Place::Quoted { escaped: false },
            (Place::Quoted { escaped: false }, b'\\') => Place::Quoted { escaped: true },
            (Place::Quoted { escaped: false }, b'"') | (Place::Angle, b'>') => Place::Open,
            (p, _) => p,
        }
    }
}

/// `v` with the LWS around `;` and `=` outside quoted strings and `<…>`
/// removed (RFC 3261 §25.1 SEMI, EQUAL); borrowed when there is none.
fn tight_params(v: &[u8]) -> Cow<'_, [u8]> {
    let mut place = Place::Open;
    let mut loose = false;
    for (i, &b) in v.iter().enumerate() {
        if place == Place::Open && (b == b';' || b == b'=') {
            let before = i > 0 && is_lws(v[i - 1]);
            let after = v.get(i + 1).is_some_and(|&c| is_lws(c));
            if before || after {
                loose = true;
                break;
            }
        }
        place = place.next(b);
    }
    if !loose {
        return Cow::Borrowed(v);
    }
    let mut out: Vec<u8> = Vec::with_capacity(v.len());
    let mut place = Place::Open;
    let mut skip_lws = false;
    for &b in v {
        if place == Place::Open {
            if skip_lws && is_lws(b) {
                continue;
            }
            skip_lws = false;
            if b == b';' || b == b'=' {
                while out.last().is_some_and(|&c| is_lws(c)) {
                    out.pop();
                }
                skip_lws = true;
            }
        }
        out.push(b);
        place = place.next(b);
    }
    Cow::Owned(out)
}

/// Offset where the header parameters of a name-addr or addr-spec value
/// start (the first `;` after `>`, or the first `;` of an addr-spec, which
/// cannot carry `;` in its URI, RFC 3261 §20.10), or `v.len()`.
fn params_start(v: &[u8]) -> usize {
    let mut place = Place::Open;
    let mut angle_seen = false;
    for (i, &b) in v.iter().enumerate() {
        if place == Place::Open && b == b';' {
            return i;
        }
        if place == Place::Angle && b == b'>' {
            angle_seen = true;
        }
        place = place.next(b);
        if angle_seen && place == Place::Open {
            let rest = &v[i + 1..];
            return i + 1 + rest.iter().position(|&c| c == b';').unwrap_or(rest.len());
        }
    }
    v.len()
}

/// Whether a From/To value has a `tag` header parameter with a value.
fn has_tag(v: &[u8]) -> bool {
    v[params_start(v)..].split(|&b| b == b';').any(|param| {
        match param.iter().position(|&b| b == b'=') {
            Some(eq) => {
                trim(&param[..eq]).eq_ignore_ascii_case(b"tag")
                    && !trim(&param[eq + 1..]).is_empty()
            }
            None => false,
        }
    })
}

/// The URI of a From/To value: between `<` and `>`, else the addr-spec.
fn uri_of(v: &[u8]) -> &[u8] {
    let mut place = Place::Open;
    let mut lt = None;
    for (i, &b) in v.iter().enumerate() {
        let was = place;
        place = place.next(b);
        match (was, place) {
            (Place::Open, Place::Angle) => lt = Some(i + 1),
            (Place::Angle, Place::Open) => return lt.map_or(&v[..0], |s| &v[s..i]),
            _ => {}
        }
    }
    trim(&v[..params_start(v)])
}

/// Length of `v` without trailing SP/HTAB.
fn trim_end(v: &[u8]) -> usize {
    v.iter().rposition(|&b| !is_lws(b)).map_or(0, |i| i + 1)
}

/// FNV-1a, 64 bit: stable across builds and platforms, unlike `std`'s hasher.
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The keys the SIP stack files a request under, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackKeys {
    /// The server transaction key (RFC 3261 §17.2.3).
    pub transaction: String,
    /// The dialog ID (RFC 3261 §12): Call-ID and tags.
    pub dialog: String,
    /// The length of the body the stack read.
    pub body_len: usize,
}

/// What rsipstack makes of `message` received over UDP from `source`, as the
/// live path does: parse, add `received` to the top Via, then the
/// transaction key and dialog ID. `Ok(None)` for a response; `Err` with the
/// stack's error text when it would drop the message.
pub fn stack_keys(message: &[u8], source: SocketAddr) -> Result<Option<StackKeys>, String> {
    use rsipstack::dialog::DialogId;
    use rsipstack::sip::SipMessage;
    use rsipstack::transaction::key::{TransactionKey, TransactionRole};
    use rsipstack::transport::SipConnection;

    let msg = SipMessage::try_from(message).map_err(|e| e.to_string())?;
    let msg = SipConnection::update_msg_received(msg, source, rsipstack::sip::Transport::Udp)
        .map_err(|e| e.to_string())?;
    let SipMessage::Request(req) = msg else {
        return Ok(None);
    };
    let transaction = TransactionKey::from_request(&req, TransactionRole::Server)
        .map_err(|e| e.to_string())?
        .to_string();
    let dialog = DialogId::try_from((&req, TransactionRole::Server))
        .map_err(|e| e.to_string())?
        .to_string();
    Ok(Some(StackKeys {
        transaction,
        dialog,
        body_len: req.body.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        String::from_utf8_lossy(&normalize(s.as_bytes())).into_owned()
    }

    const PLAIN: &str = "INVITE sip:u@example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n\
        From: \"A ; B = C\" <sip:a@example.com;x=y>;tag=9\r\n\
        t: sip:u@example.com\r\n\
        Call-ID: c1\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:a@h.example.com>\r\n\
        Content-Length: 4\r\n\r\n\
        a\r\n \tb";

    #[test]
    fn plain_message_is_borrowed() {
        assert!(matches!(normalize(PLAIN.as_bytes()), Cow::Borrowed(_)));
        let resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\n\r\n";
        assert!(matches!(normalize(resp.as_bytes()), Cow::Borrowed(_)));
        assert!(matches!(
            normalize(b"OPTIONS sip:a@b SIP/2.0\r\nFrom: <sip:a@b>\r\n"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(normalize(b""), Cow::Borrowed(_)));
    }

    #[test]
    fn folds_are_joined_in_the_head_only() {
        let msg = PLAIN
            .replace("CSeq: 1 INVITE", "CSeq: 1\r\n\t  INVITE")
            .replace("Via: SIP/2.0/UDP h", "Via: SIP/2.0/UDP\n h");
        assert_eq!(norm(&msg), PLAIN);
        assert!(norm(&msg).ends_with("\r\n\r\na\r\n \tb"));
    }

    #[test]
    fn lws_around_semi_and_equal_goes_in_from_and_to() {
        let msg = PLAIN.replace(";tag=9", "\r\n  ;\r\n  tag = 9 ").replace(
            "t: sip:u@example.com",
            "TO :\r\n sip:u@example.com ;   tag    = 1n ; x",
        );
        let want = PLAIN
            .replace(";tag=9", ";tag=9 ")
            .replace("t: sip:u@example.com", "TO : sip:u@example.com;tag=1n;x");
        assert_eq!(norm(&msg), want);
    }

    #[test]
    fn quoted_strings_and_uris_are_left_alone() {
        let msg = PLAIN.replace(
            "From: \"A ; B = C\" <sip:a@example.com;x=y>;tag=9",
            "f: \"A ; \\\" = C\" <sip:a@example.com;x=y> ; p = \"q ; r\";tag=9",
        );
        let want = PLAIN.replace(
            "From: \"A ; B = C\" <sip:a@example.com;x=y>;tag=9",
            "f: \"A ; \\\" = C\" <sip:a@example.com;x=y>;p=\"q ; r\";tag=9",
        );
        assert_eq!(norm(&msg), want);
    }

    #[test]
    fn request_without_from_tag_gets_a_stable_synthetic_one() {
        let tag = synthetic_tag(b"c1", b"sip:a@example.com;x=y");
        assert!(tag.starts_with(SYNTHETIC_TAG_PREFIX) && tag.len() == 21);
        let msg = PLAIN.replace(";tag=9", "");
        assert_eq!(norm(&msg), PLAIN.replace(";tag=9", &format!(";tag={tag}")));
        // Same call, other request, folded and spaced: same tag.
        let bye = msg
            .replace("INVITE", "BYE")
            .replace("Call-ID: c1", "Call-ID:\r\n  c1 ")
            .replace("<sip:a@example.com;x=y>", "<sip:a@example.com;x=y> ");
        assert!(norm(&bye).contains(&format!("<sip:a@example.com;x=y>;tag={tag}\r\n")));
        // addr-spec form; a tag-less `tag`; a response is left without one.
        let spec = msg.replace(
            "\"A ; B = C\" <sip:a@example.com;x=y>",
            "sip:a@example.com ;tag",
        );
        let tag2 = synthetic_tag(b"c1", b"sip:a@example.com");
        assert!(norm(&spec).contains(&format!("From: sip:a@example.com;tag;tag={tag2}\r\n")));
        let resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\n\r\n";
        assert_eq!(norm(resp), resp);
        assert_ne!(tag, synthetic_tag(b"c2", b"sip:a@example.com;x=y"));
    }

    #[test]
    fn body_without_content_length_gets_one() {
        let msg = PLAIN.replace("Content-Length: 4\r\n", "");
        let want = PLAIN
            .replace("Content-Length: 4\r\n", "")
            .replace("\r\n\r\na", "\r\nContent-Length: 6\r\n\r\na");
        assert_eq!(norm(&msg), want);
        let lf = "OPTIONS sip:a@b SIP/2.0\nFrom: <sip:a@b>;tag=1\n\nxy";
        assert_eq!(norm(lf), lf.replace("\n\nxy", "\nContent-Length: 2\n\nxy"));
        let compact = msg.replace("\r\n\r\na", "\r\nl: 6\r\n\r\na");
        assert!(matches!(normalize(compact.as_bytes()), Cow::Borrowed(_)));
        let empty = PLAIN
            .replace("Content-Length: 4\r\n", "")
            .replace("a\r\n \tb", "");
        assert!(matches!(normalize(empty.as_bytes()), Cow::Borrowed(_)));
    }

    #[test]
    fn invite_without_contact_gets_the_from_uri() {
        let msg = PLAIN.replace("Contact:", "m:");
        assert!(matches!(normalize(msg.as_bytes()), Cow::Borrowed(_)));
        let msg = PLAIN
            .replace(";tag=9", "")
            .replace("Contact: <sip:a@h.example.com>\r\n", "")
            .replace("Content-Length: 4\r\n", "");
        let tag = synthetic_tag(b"c1", b"sip:a@example.com;x=y");
        let want = PLAIN
            .replace(";tag=9", &format!(";tag={tag}"))
            .replace("Contact: <sip:a@h.example.com>\r\n", "")
            .replace(
                "Content-Length: 4\r\n",
                "Contact: <sip:a@example.com;x=y>\r\nContent-Length: 6\r\n",
            );
        assert_eq!(norm(&msg), want);
        let options = msg.replace("INVITE", "OPTIONS");
        assert!(!norm(&options).contains("Contact"));
    }

    #[test]
    fn uri_and_params_are_found() {
        assert_eq!(uri_of(b"\"a<b>\" <sip:x@y;p>;tag=1"), b"sip:x@y;p");
        assert_eq!(uri_of(b" sip:x@y ;tag=1"), b"sip:x@y");
        assert!(has_tag(b"<sip:x@y;tag=1>;TAG=2"));
        assert!(!has_tag(b"<sip:x@y;tag=1>;tagx=2"));
        assert!(!has_tag(b"<sip:x@y;tag=1>"));
        assert!(has_tag(b"sip:x@y;tag=2"));
    }

    #[test]
    fn odd_input_never_panics() {
        for s in [
            "\r\n",
            "\n\n",
            "X\r\n\r\n",
            "A\r\nFrom:\r\n\r\n",
            "A\r\nf: \"\\\r\n\r\n",
            "A\r\nf: <\r\n \r\n\r\n",
            "A\r\nf: ;=; =\r\n\r\n",
            "A\n \nf:x\n\nbody",
        ] {
            let _ = normalize(s.as_bytes());
        }
    }
}
