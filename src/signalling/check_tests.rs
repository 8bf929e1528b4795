//! Unit tests of the wire check, one per rule.
use super::*;

const CFG: CheckConfig = CheckConfig {
    supported: &[],
    methods: &[],
};

/// A valid OPTIONS with `extra` header lines inserted and `replace` applied.
fn options(replace: &[(&str, &str)], extra: &str) -> Vec<u8> {
    let mut m = String::from(
        "OPTIONS sip:user@example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKa\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:caller@example.net>;tag=1\r\n\
         To: sip:user@example.com\r\n\
         Call-ID: abc@host\r\n\
         CSeq: 8 OPTIONS\r\n",
    );
    m.push_str(extra);
    m.push_str("Content-Length: 0\r\n\r\n");
    for (from, to) in replace {
        m = m.replacen(from, to, 1);
    }
    m.into_bytes()
}

fn verdict(m: &[u8]) -> Verdict<'_> {
    check(m, Transport::Udp, &CFG)
}

fn rejected(m: &[u8]) -> Option<Rejection> {
    match verdict(m) {
        Verdict::Reply(r) => Some(r.rejection),
        _ => None,
    }
}

#[test]
fn valid_request_passes_whole() {
    let m = options(&[], "");
    assert_eq!(verdict(&m), Verdict::Pass(&m[..]));
}

#[test]
fn keep_alive_and_oversize_are_dropped() {
    assert_eq!(verdict(b"\r\n\r\n"), Verdict::Drop(DropReason::KeepAlive));
    assert_eq!(verdict(b""), Verdict::Drop(DropReason::KeepAlive));
    let big = vec![b'a'; MAX_MESSAGE + 1];
    assert_eq!(verdict(&big), Verdict::Drop(DropReason::TooLarge));
}

#[test]
fn version_other_than_2_0_is_505() {
    let m = options(&[("SIP/2.0\r\n", "SIP/7.0\r\n")], "");
    assert_eq!(rejected(&m), Some(Rejection::VersionNotSupported));
    let m = options(&[("SIP/2.0\r\n", "sip/2.0\r\n")], "");
    assert_eq!(verdict(&m), Verdict::Pass(&m[..]));
}

#[test]
fn request_line_spacing_and_method_token() {
    for (from, to) in [
        ("OPTIONS sip:", "OPTIONS  sip:"),
        ("SIP/2.0\r\nVia", "SIP/2.0 \r\nVia"),
        ("SIP/2.0\r\nVia", "SIP/2.0\tx\r\nVia"),
        ("OPTIONS sip:", "OPT\"IONS sip:"),
    ] {
        let m = options(&[(from, to)], "");
        assert_eq!(rejected(&m), Some(Rejection::MalformedRequestLine), "{to}");
    }
    let m = options(
        &[("OPTIONS", "RE%47IST%45R"), ("8 OPTIONS", "8 RE%47IST%45R")],
        "",
    );
    assert_eq!(verdict(&m), Verdict::Pass(&m[..]));
}

#[test]
fn request_uri_scheme_and_hosts() {
    let uri = |u: &str| {
        rejected(&options(
            &[("sip:user@example.com SIP", &format!("{u} SIP"))],
            "",
        ))
    };
    assert_eq!(
        uri("nobodyKnowsThisScheme:totallyopaquecontent"),
        Some(Rejection::UnsupportedUriScheme)
    );
    assert_eq!(
        uri("soap.beep://192.0.2.103:3002"),
        Some(Rejection::UnsupportedUriScheme)
    );
    assert_eq!(
        uri("sip:2001:db8::10"),
        Some(Rejection::MalformedRequestUri)
    );
    assert_eq!(
        uri("<sip:user@example.com>"),
        Some(Rejection::MalformedRequestUri)
    );
    assert_eq!(
        uri("sip:user@[2001:db8:::192.0.2.1]"),
        Some(Rejection::MalformedRequestUri)
    );
    assert_eq!(
        uri("sip:a%zz@example.com"),
        Some(Rejection::MalformedRequestUri)
    );
    for ok in [
        "sip:[2001:db8::10:5070]",
        "sip:[2001:db8::10]:5070",
        "sip:user@[2001:db8::192.0.2.1]",
        "sip:user;par=u%40example.net@example.com",
        "sips:sips%3Auser%40example.com@example.net",
        "sip:null-%00-null@example.com;lr?Subject=x",
        "tel:+15551234",
    ] {
        assert_eq!(uri(ok), None, "{ok}");
    }
}

#[test]
fn missing_headers_are_400_and_missing_via_drops() {
    let m = options(&[("Call-ID: abc@host\r\n", "")], "");
    assert_eq!(rejected(&m), Some(Rejection::Missing(HeaderName::CallId)));
    let m = options(&[("From: <sip:caller@example.net>;tag=1\r\n", "")], "");
    assert_eq!(rejected(&m), Some(Rejection::Missing(HeaderName::From)));
    let m = options(
        &[("Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKa\r\n", "")],
        "",
    );
    assert_eq!(verdict(&m), Verdict::Drop(DropReason::NoRoute));
    // RFC 2543 peers send no Max-Forwards.
    let m = options(&[("Max-Forwards: 70\r\n", "")], "");
    assert_eq!(verdict(&m), Verdict::Pass(&m[..]));
}

#[test]
fn single_valued_headers_once() {
    let m = options(&[], "Call-ID: other@host\r\n");
    assert_eq!(rejected(&m), Some(Rejection::Duplicate(HeaderName::CallId)));
    let m = options(&[], "l: 0\r\n");
    assert_eq!(
        rejected(&m),
        Some(Rejection::Duplicate(HeaderName::ContentLength))
    );
    let m = options(&[], "Max-Forwards: 5\r\n");
    assert_eq!(
        rejected(&m),
        Some(Rejection::Duplicate(HeaderName::MaxForwards))
    );
}

#[test]
fn cseq_number_and_method() {
    let c = |v: &str| rejected(&options(&[("CSeq: 8 OPTIONS", v)], ""));
    assert_eq!(c("CSeq: 8 INVITE"), Some(Rejection::CSeqMethodMismatch));
    assert_eq!(c("CSeq: 8 options"), Some(Rejection::CSeqMethodMismatch));
    assert_eq!(
        c("CSeq: 2147483648 OPTIONS"),
        Some(Rejection::Malformed(HeaderName::CSeq))
    );
    assert_eq!(
        c("CSeq: 36893488147419103232 OPTIONS"),
        Some(Rejection::Malformed(HeaderName::CSeq))
    );
    assert_eq!(
        c("CSeq: OPTIONS"),
        Some(Rejection::Malformed(HeaderName::CSeq))
    );
    assert_eq!(
        c("CSeq: 8OPTIONS"),
        Some(Rejection::Malformed(HeaderName::CSeq))
    );
    assert_eq!(c("cseq: 0009\r\n  OPTIONS"), None);
    assert_eq!(c("CSeq: 2147483647 OPTIONS"), None);
}

#[test]
fn scalar_ranges() {
    let mf = |v: &str| rejected(&options(&[("Max-Forwards: 70", v)], ""));
    assert_eq!(
        mf("Max-Forwards: 300"),
        Some(Rejection::Malformed(HeaderName::MaxForwards))
    );
    assert_eq!(
        mf("Max-Forwards: -1"),
        Some(Rejection::Malformed(HeaderName::MaxForwards))
    );
    assert_eq!(mf("Max-Forwards: 0"), None);
    assert_eq!(mf("MaX-fOrWaRdS: 0068"), None);
    let m = options(&[], "Expires: 10000000000000000000000\r\n");
    assert_eq!(
        rejected(&m),
        Some(Rejection::Malformed(HeaderName::Expires))
    );
    let m = options(&[], "Expires: 4294967295\r\n");
    assert_eq!(verdict(&m), Verdict::Pass(&m[..]));
}

#[test]
fn content_length_framing_udp() {
    let cl = |v: &str, body: &str| {
        let mut m = options(&[("Content-Length: 0", v)], "");
        m.extend_from_slice(body.as_bytes());
        m
    };
    let m = cl("Content-Length: -999", "x");
    assert_eq!(
        rejected(&m),
        Some(Rejection::Malformed(HeaderName::ContentLength))
    );
    let m = cl("Content-Length: 9999", "short");
    assert_eq!(rejected(&m), Some(Rejection::BodyShorterThanContentLength));
    let m = cl("Content-Length: 2", "abJUNK");
    assert_eq!(verdict(&m), Verdict::Pass(&m[..m.len() - 4]));
    let m = cl("X-No-Length: 1", "whole body");
    assert_eq!(verdict(&m), Verdict::Pass(&m[..]));
}

#[test]
fn content_length_framing_tcp() {
    let mut m = options(&[("Content-Length: 0\r\n", "")], "");
    assert!(matches!(check(&m, Transport::Tcp, &CFG), Verdict::Pass(_)));
    m.extend_from_slice(b"body");
    assert_eq!(
        check(&m, Transport::Tcp, &CFG),
        Verdict::Reply(Reply::new(Rejection::Missing(HeaderName::ContentLength)))
    );
}

#[test]
fn framing_errors_are_400() {
    let m = options(&[], "Bogus line\r\n");
    assert_eq!(rejected(&m), Some(Rejection::MalformedHeaderLine));
    let mut m = options(&[], "");
    m.truncate(m.len() - 2);
    assert_eq!(rejected(&m), Some(Rejection::Unterminated));
    let m = options(&[], &"X-Pad: 1\r\n".repeat(headers::MAX_HEADERS));
    assert_eq!(rejected(&m), Some(Rejection::TooManyHeaders));
    let m = options(
        &[],
        &format!("X-Long: {}\r\n", "a".repeat(headers::MAX_LINE)),
    );
    assert_eq!(rejected(&m), Some(Rejection::LineTooLong));
    let long_uri = format!("sip:{}@example.com SIP", "a".repeat(headers::MAX_LINE));
    let m = options(&[("sip:user@example.com SIP", &long_uri)], "");
    assert_eq!(rejected(&m), Some(Rejection::LineTooLong));
}

#[test]
fn via_values() {
    let v = |via: &str| {
        rejected(&options(
            &[("Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKa", via)],
            "",
        ))
    };
    assert_eq!(
        v("Via: SIP/2.0/UDP 192.0.2.15;;,;,,"),
        Some(Rejection::Malformed(HeaderName::Via))
    );
    assert_eq!(
        v("Via: SIP/2.0/UDP h.example.com;branch=a,"),
        Some(Rejection::Malformed(HeaderName::Via))
    );
    assert_eq!(
        v("Via: SIP/2.0/UNKNOWN t4.example.com;branch=a, SIP/2.0/SCTP t2.example.com"),
        None
    );
    assert_eq!(v("v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9 ,\r\n SIP/2.0/UDP 192.168.255.111"), None);
    assert_eq!(
        v("Via: SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z"),
        None
    );
}

#[test]
fn from_to_syntax() {
    let f = |from: &str| {
        rejected(&options(
            &[("From: <sip:caller@example.net>;tag=1", from)],
            "",
        ))
    };
    assert_eq!(
        f("From: \"Mr. J. User <sip:j@example.com>;tag=1"),
        Some(Rejection::Malformed(HeaderName::From))
    );
    assert_eq!(
        f("From: Bell, Alexander <sip:a@example.com>;tag=1"),
        Some(Rejection::Malformed(HeaderName::From))
    );
    assert_eq!(
        f("From: < sip:a@example.com >;tag=1"),
        Some(Rejection::Malformed(HeaderName::From))
    );
    assert_eq!(f("From: caller<sip:caller@example.com>;tag=1"), None);
    assert_eq!(
        f("From: \"J \\\"R\\\"\"   <sip:j@example.com> ; tag = 9"),
        None
    );
    assert_eq!(f("From: <http://www.example.com>;tag=1"), None);
}

#[test]
fn require_gets_420_unless_supported_or_ack() {
    let m = options(&[], "Require: foo, bar\r\nProxy-Require: baz\r\n");
    assert_eq!(
        verdict(&m),
        Verdict::Reply(
            Reply::new(Rejection::BadExtension).with_header("Unsupported", "foo, bar".into())
        )
    );
    let cfg = CheckConfig {
        supported: &["foo", "BAR"],
        methods: &[],
    };
    assert_eq!(check(&m, Transport::Udp, &cfg), Verdict::Pass(&m[..]));
    let m = options(
        &[("OPTIONS sip", "CANCEL sip"), ("8 OPTIONS", "8 CANCEL")],
        "Require: foo\r\n",
    );
    assert_eq!(verdict(&m), Verdict::Pass(&m[..]));
}

#[test]
fn ack_is_never_answered() {
    let m = options(&[("OPTIONS sip", "ACK sip"), ("8 OPTIONS", "8 INVITE")], "");
    assert_eq!(
        verdict(&m),
        Verdict::Drop(DropReason::Ack(Rejection::CSeqMethodMismatch))
    );
    let m = options(&[("OPTIONS sip", "ACK sip"), ("8 OPTIONS", "8 ACK")], "");
    assert_eq!(verdict(&m), Verdict::Pass(&m[..]));
}

#[test]
fn responses_pass_or_drop() {
    let r = |start: &str| {
        format!(
            "{start}\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n\
             To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    };
    let ok = r("SIP/2.0 100 ");
    assert_eq!(verdict(&ok), Verdict::Pass(&ok[..]));
    assert_eq!(
        verdict(&r("SIP/2.0 4294967301 big")),
        Verdict::Drop(DropReason::BadStatusCode)
    );
    assert_eq!(
        verdict(&r("SIP/2.0 099 low")),
        Verdict::Drop(DropReason::BadStatusCode)
    );
    assert!(matches!(
        verdict(&r("SIP/3.0 200 OK")),
        Verdict::Drop(DropReason::MalformedResponse(_))
    ));
    let bad_cseq = String::from_utf8_lossy(&r("SIP/2.0 503 x"))
        .replace("CSeq: 1", "CSeq: 9292394834772304023312");
    assert!(matches!(
        verdict(bad_cseq.as_bytes()),
        Verdict::Drop(DropReason::MalformedResponse(_))
    ));
}

#[test]
fn reasons_name_the_problem() {
    assert_eq!(
        Rejection::Missing(HeaderName::CallId).reason(),
        "Bad Request (missing Call-ID)"
    );
    assert_eq!(
        Rejection::Duplicate(HeaderName::ContentLength).reason(),
        "Bad Request (more than one Content-Length)"
    );
    assert_eq!(
        Rejection::VersionNotSupported.to_string(),
        "505 Version Not Supported"
    );
    assert_eq!(Rejection::UnsupportedUriScheme.status(), 416);
}

#[test]
fn unimplemented_method_gets_501_with_allow() {
    let cfg = CheckConfig {
        supported: &[],
        methods: &["INVITE", "ACK", "OPTIONS"],
    };
    let m = options(&[("OPTIONS", "FROB"), ("8 OPTIONS", "8 FROB")], "");
    match check(&m, Transport::Udp, &cfg) {
        Verdict::Reply(r) => {
            assert_eq!(r.status, 501);
            assert!(r
                .headers
                .iter()
                .any(|(n, v)| *n == "Allow" && v.contains("INVITE")));
        }
        other => panic!("{other:?}"),
    }
    // Methods are case-sensitive (RFC 3261 §7.1).
    let m = options(&[("OPTIONS", "options"), ("8 OPTIONS", "8 options")], "");
    assert!(matches!(check(&m, Transport::Udp, &cfg), Verdict::Reply(r) if r.status == 501));
    let m = options(&[], "");
    assert!(matches!(check(&m, Transport::Udp, &cfg), Verdict::Pass(_)));
}
