//! What the SIP stack gets after kefu's wire check and `signalling::normalize`:
//! every RFC 4475 / RFC 5118 torture request that passes the check is one the
//! stack can file under a transaction and a dialog (folded and spaced From
//! tags, RFC 2543 requests without one) and whose whole body it reads (no
//! Content-Length over UDP), an RFC 2543 INVITE gets a Contact, the body
//! bytes are untouched, and the
//! rewrite changes nothing the stack already read right. Then the real binary
//! answers such requests.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

mod common;

use common::{cases, final_response, start};
use kefu::signalling::check::{check, CheckConfig, Transport, Verdict};
use kefu::signalling::normalize::{normalize, stack_keys, synthetic_tag, SYNTHETIC_TAG_PREFIX};

/// As the live UDP path configures the check (`signalling::guard`).
const CFG: CheckConfig = CheckConfig {
    supported: &[],
    methods: kefu::signalling::uas::METHODS,
};

fn source() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 200], 5060))
}

/// (file, rule, bytes) of every message in `manifest.tsv`.
fn corpus() -> Vec<(String, String, Vec<u8>)> {
    cases()
        .into_iter()
        .map(|c| (c.file, c.rule, c.bytes))
        .collect()
}

fn corpus_file(name: &str) -> Vec<u8> {
    std::fs::read(common::torture_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The bytes after the empty line that ends the header section.
fn body(msg: &[u8]) -> &[u8] {
    msg.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&msg[msg.len()..], |i| &msg[i + 4..])
}

/// check → normalize, as `guard` does; `None` when the check does not pass it.
fn admitted(datagram: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    match check(datagram, Transport::Udp, &CFG) {
        Verdict::Pass(message) => Some((message.to_vec(), normalize(message).into_owned())),
        _ => None,
    }
}

#[test]
fn every_admitted_torture_request_gets_stack_keys() {
    let mut failures = Vec::new();
    let mut requests = 0;
    for (file, rule, datagram) in corpus() {
        let Some((passed, normalized)) = admitted(&datagram) else {
            continue;
        };
        if passed.starts_with(b"SIP/") {
            continue;
        }
        requests += 1;
        match stack_keys(&normalized, source()) {
            Ok(Some(keys)) if keys.body_len == body(&passed).len() => {}
            Ok(Some(keys)) => failures.push(format!(
                "{file} ({rule}): stack read a {}-byte body, {} arrived",
                keys.body_len,
                body(&passed).len()
            )),
            Ok(None) => failures.push(format!("{file} ({rule}): read as a response")),
            Err(e) => failures.push(format!("{file} ({rule}): stack refuses it: {e}")),
        }
    }
    assert!(
        requests >= 30,
        "only {requests} torture requests passed the check"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rewrite_keeps_the_body_and_what_the_stack_read_right() {
    for (file, _, datagram) in corpus() {
        let Some((passed, normalized)) = admitted(&datagram) else {
            continue;
        };
        assert_eq!(body(&normalized), body(&passed), "{file}: body changed");
        assert!(
            matches!(check(&normalized, Transport::Udp, &CFG), Verdict::Pass(m) if m == &normalized[..]),
            "{file}: the rewrite no longer passes the check whole"
        );
        assert_eq!(
            normalize(&normalized).as_ref(),
            &normalized[..],
            "{file}: not idempotent"
        );
        if let Ok(Some(before)) = stack_keys(&passed, source()) {
            assert_eq!(
                stack_keys(&normalized, source()),
                Ok(Some(before)),
                "{file}: the rewrite changed how the stack files it"
            );
        }
    }
}

#[test]
fn folded_and_spaced_tags_are_read() {
    let (passed, normalized) = admitted(&corpus_file("rfc4475/wsinv.dat")).expect("wsinv passes");
    assert!(stack_keys(&passed, source()).is_err_and(|e| e.contains("from tag")));
    let keys = stack_keys(&normalized, source())
        .expect("stack reads it")
        .expect("request");
    assert!(keys.dialog.contains("98asjd8"), "{keys:?}");
    assert!(keys.dialog.contains("1918181833n"), "{keys:?}");
    let text = String::from_utf8_lossy(&normalized);
    assert!(
        text.contains(
            "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>;tag=98asjd8\r\n"
        ),
        "{text}"
    );
    assert!(text.contains("cseq: 0009 INVITE\r\n"), "{text}");
}

#[test]
fn rfc2543_requests_of_one_call_share_a_synthetic_tag() {
    let invite = corpus_file("rfc4475/inv2543.dat");
    let (passed, normalized) = admitted(&invite).expect("inv2543 passes");
    assert!(stack_keys(&passed, source()).is_err_and(|e| e.contains("from tags missing")));
    let tag = synthetic_tag(
        b"inv2543.1717@ift.client.example.com",
        b"sip:+13035551111@ift.client.example.net;user=phone",
    );
    assert!(tag.starts_with(SYNTHETIC_TAG_PREFIX));
    let text = String::from_utf8_lossy(&normalized);
    assert!(text.contains(&format!(
        "From: <sip:+13035551111@ift.client.example.net;user=phone>;tag={tag}\r\n"
    )));
    // No Contact: the stack could not make the dialog (a 500).
    assert!(
        text.contains(
            "\r\nContact: <sip:+13035551111@ift.client.example.net;user=phone>\r\n\
             Content-Length: 105\r\n\r\nv=0\r\n"
        ),
        "{text}"
    );
    let invite_keys = stack_keys(&normalized, source())
        .expect("read")
        .expect("request");

    // The ACK of a non-2xx answer (RFC 3261 §17.1.1.3 / RFC 2543): same Via,
    // no branch, To with the UAS tag; it must hit the INVITE transaction.
    let ack = String::from_utf8_lossy(&passed)
        .replace("INVITE sip:UserB", "ACK sip:UserB")
        .replace("CSeq: 56 INVITE", "CSeq: 56 ACK")
        .replace(";user=phone\r\nCall-ID", ";user=phone;tag=uas1\r\nCall-ID");
    let ack = admitted(ack.as_bytes()).expect("ACK passes").1;
    let ack_keys = stack_keys(&ack, source()).expect("read").expect("request");
    assert_eq!(ack_keys.transaction, invite_keys.transaction);
    assert!(ack_keys.dialog.contains(&tag), "{ack_keys:?}");
}

#[test]
fn server_answers_options_without_or_with_folded_from_tag() {
    let kefu = start(&[]);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let port = sock.local_addr().expect("addr").port();
    let options = |call_id: &str, from: &str| {
        format!(
            "OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{call_id};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: <sip:probe@127.0.0.1>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    let tagless = final_response(&sock, kefu.sip, &options("n1", "<sip:old@127.0.0.1>"));
    assert!(tagless.starts_with("SIP/2.0 200 "), "{tagless:?}");
    let tag = synthetic_tag(b"n1", b"sip:old@127.0.0.1");
    assert!(tagless.contains(&format!("tag={tag}")), "{tagless}");

    let folded = final_response(
        &sock,
        kefu.sip,
        &options("n2", "<sip:new@127.0.0.1>\r\n ;\r\n tag = x7"),
    );
    assert!(folded.starts_with("SIP/2.0 200 "), "{folded:?}");
    assert!(folded.contains("tag=x7"), "{folded}");
}

#[test]
fn cut_and_damaged_messages_never_panic() {
    for (_, _, datagram) in corpus() {
        for n in 0..=datagram.len() {
            let cut = &datagram[..n];
            let _ = normalize(cut);
            let mut damaged = datagram.clone();
            damaged[n.min(datagram.len().saturating_sub(1))] =
                [b'\n', b' ', b';', b'"', b'<'][n % 5];
            let _ = normalize(&damaged);
        }
    }
}
