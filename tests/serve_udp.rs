//! The real `kefu serve` binary on 127.0.0.1: it prints its ready line,
//! answers OPTIONS, answers malformed requests with 400 naming the problem,
//! keeps answering afterwards, and serves /healthz and /metrics.

mod common;

use common::{final_response, start};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

/// The first final response to `msg`; fails the test after 3 s.
fn request(sock: &UdpSocket, to: SocketAddr, msg: &str) -> String {
    let r = final_response(sock, to, msg);
    assert!(!r.is_empty(), "no final response to:\n{msg}");
    r
}

fn options(port: u16, call_id: &str, extra: &str) -> String {
    format!(
        "OPTIONS sip:kefu@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bK{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@127.0.0.1>;tag=1\r\n\
         To: <sip:kefu@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n"
    )
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    body
}

#[test]
fn answers_options_rejects_garbage_and_stays_up() {
    let k = start(&[]);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(200))).ok();
    let port = sock.local_addr().expect("addr").port();

    let ok = request(&sock, k.sip, &options(port, "opt-1", "CSeq: 1 OPTIONS\r\n"));
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    assert!(ok.contains("INVITE"), "Allow header expected: {ok}");

    // CSeq method differs from the request method: RFC 4475 §3.1.2.17.
    let bad = request(&sock, k.sip, &options(port, "opt-2", "CSeq: 2 INVITE\r\n"));
    assert!(bad.starts_with("SIP/2.0 400 Bad Request (CSeq"), "{bad}");

    // Unknown method: 501.
    let unknown = options(port, "opt-3", "CSeq: 3 FROB\r\n").replacen("OPTIONS", "FROB", 1);
    let r = request(&sock, k.sip, &unknown);
    assert!(r.starts_with("SIP/2.0 501"), "{r}");

    // BYE for a dialog that does not exist: 481.
    let bye = options(port, "opt-4", "CSeq: 4 BYE\r\n")
        .replacen("OPTIONS", "BYE", 1)
        .replace(
            "To: <sip:kefu@127.0.0.1>",
            "To: <sip:kefu@127.0.0.1>;tag=nope",
        );
    let r = request(&sock, k.sip, &bye);
    assert!(r.starts_with("SIP/2.0 481"), "{r}");

    // Pure junk is dropped; the server still answers afterwards.
    sock.send_to(b"\x00\x01garbage\r\n\r\n", k.sip)
        .expect("send");
    let ok = request(&sock, k.sip, &options(port, "opt-5", "CSeq: 5 OPTIONS\r\n"));
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");

    let health = http_get(k.http, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let metrics = http_get(k.http, "/metrics");
    // The 400 and the 501 were answered by the wire check.
    assert!(
        metrics.contains("kefu_sip_invalid_replied_total 2"),
        "{metrics}"
    );
    assert!(metrics.contains("kefu_calls_active 0"), "{metrics}");
}

#[test]
fn bad_flag_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["serve", "--rtp-ports", "9000-100"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--rtp-ports") && err.contains("9000-100"),
        "{err}"
    );
}

#[test]
fn bad_config_file_names_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kefu.toml");
    std::fs::write(
        &path,
        "[sip]\nlisten = \"127.0.0.1:5060\"\n\n[http]\nlisten = \"nowhere\"\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kefu.toml:5: http.listen"), "{err}");
}
