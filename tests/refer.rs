//! Blind transfer by REFER against a real `kefu serve` over UDP on
//! 127.0.0.1. The test plays the caller, which is also the transferee: it
//! receives kefu's REFER, answers it, and reports the agent's side in
//! NOTIFYs (RFC 3515). An answered transfer ends kefu's leg with BYE and
//! the call is recorded as transferred; a refused or failed one returns the
//! caller to the dialplan, which apologises (audible RTP) and hangs up.
//!
//! An agent registers first: until agent routing says who is free, kefu
//! counts registered agents as idle, and with none a dialplan transfer goes
//! straight to its `on_busy` step.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dialplans/transfer.toml");

const CONFIG: &str = "[[agents]]\nid = \"alice\"\npassword = \"wonderland\"\n";

fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// kefu with the transfer dialplan and agent `alice` registered (Digest,
/// RFC 2617 §3.2.2, computed here).
fn kefu() -> (common::Kefu, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("kefu.toml");
    std::fs::write(&config, CONFIG).expect("config");
    let kefu = common::start(&[
        "--max-calls",
        "4",
        "--dialplan",
        PLAN,
        "--config",
        config.to_str().expect("utf8"),
    ]);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let uri = format!("sip:{}", kefu.sip);
    let register = |cseq: u32, auth: &str| {
        format!(
            "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-r{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a\r\n\
             To: <sip:alice@127.0.0.1>\r\nCall-ID: reg-alice\r\nCSeq: {cseq} REGISTER\r\n\
             Contact: <sip:alice@127.0.0.1:5999>\r\n{auth}Content-Length: 0\r\n\r\n",
            me = sock.local_addr().expect("addr"),
        )
    };
    let challenge = common::final_response(&sock, kefu.sip, &register(1, ""));
    let nonce = challenge
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("nonce")
        .to_string();
    let ha1 = md5_hex("alice:kefu:wonderland");
    let ha2 = md5_hex(&format!("REGISTER:{uri}"));
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
    let auth = format!(
        "Authorization: Digest username=\"alice\", realm=\"kefu\", nonce=\"{nonce}\", \
         uri=\"{uri}\", response=\"{response}\", qop=auth, nc=00000001, cnonce=\"c0ffee\"\r\n"
    );
    let ok = common::final_response(&sock, kefu.sip, &register(2, &auth));
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    (kefu, dir)
}

struct Caller {
    sock: UdpSocket,
    kefu: SocketAddr,
    call_id: String,
    /// kefu's To header (with its tag) and Contact URI, from the 200 OK.
    remote_to: String,
    remote_target: String,
    cseq: u32,
    loud: Arc<AtomicUsize>,
}

fn header(msg: &str, name: &str) -> Option<String> {
    msg.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

fn status(msg: &str) -> u16 {
    if !msg.starts_with("SIP/2.0 ") {
        return 0;
    }
    msg[8..].get(..3).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Whether a µ-law byte decodes to a sample louder than `limit`.
fn loud(byte: u8, limit: i32) -> bool {
    let u = !byte;
    let exponent = i32::from((u >> 4) & 7);
    let mantissa = i32::from(u & 15);
    (((mantissa << 3) + 0x84) << exponent) - 0x84 > limit
}

impl Caller {
    /// Calls kefu and completes the INVITE (200 OK, ACK).
    fn call(kefu: SocketAddr, name: &str) -> Caller {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let rtp = UdpSocket::bind("127.0.0.1:0").expect("rtp");
        rtp.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let rtp_port = rtp.local_addr().expect("addr").port();
        let loud_packets = Arc::new(AtomicUsize::new(0));
        let counter = loud_packets.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(n) = rtp.recv(&mut buf) {
                    if n > 12 && buf[12..n].iter().any(|b| loud(*b, 1000)) {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        let me = sock.local_addr().expect("addr");
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        );
        let call_id = format!("refer-{name}-{}", std::process::id());
        let invite = format!(
            "INVITE sip:kefu@{kefu} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK-inv-{name};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:+8613800000000@127.0.0.1>;tag=caller-{name}\r\n\
             To: <sip:kefu@127.0.0.1>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:caller@{me}>\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        let ok = common::final_response(&sock, kefu, &invite);
        assert_eq!(status(&ok), 200, "{ok}");
        let remote_to = header(&ok, "To").expect("To");
        let contact = header(&ok, "Contact").expect("Contact");
        let remote_target = contact
            .trim_start_matches('<')
            .split(['>', ';'])
            .next()
            .unwrap_or_default()
            .to_string();
        let caller = Caller {
            sock,
            kefu,
            call_id,
            remote_to,
            remote_target,
            cseq: 1,
            loud: loud_packets,
        };
        let ack = caller.request("ACK", 1, "", "", &format!("ack-{name}"));
        caller.sock.send_to(ack.as_bytes(), kefu).expect("ACK");
        caller
    }

    fn request(&self, method: &str, cseq: u32, extra: &str, body: &str, branch: &str) -> String {
        let me = self.sock.local_addr().expect("addr");
        format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK-{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:+8613800000000@127.0.0.1>;tag=caller-{tag}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             {extra}Content-Length: {len}\r\n\r\n{body}",
            target = self.remote_target,
            tag = self.call_id.split('-').nth(1).unwrap_or_default(),
            to = self.remote_to,
            call_id = self.call_id,
            len = body.len(),
        )
    }

    /// The next request kefu sends (responses and retransmissions of
    /// answered requests are skipped), within `secs`.
    fn next_request(&self, method: &str, secs: u64) -> Option<String> {
        let mut buf = [0u8; 8192];
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                if text.starts_with(&format!("{method} ")) {
                    return Some(text);
                }
            }
        }
        None
    }

    /// Answers a request of kefu's with `code`.
    fn answer(&self, req: &str, code: u16, reason: &str) {
        let mut out = format!("SIP/2.0 {code} {reason}\r\n");
        for line in req.lines() {
            let name = line.split(':').next().unwrap_or("").trim();
            if ["Via", "From", "To", "Call-ID", "CSeq"]
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
            {
                out.push_str(line.trim_end());
                out.push_str("\r\n");
            }
        }
        out.push_str("Content-Length: 0\r\n\r\n");
        self.sock.send_to(out.as_bytes(), self.kefu).expect("send");
    }

    /// Sends a NOTIFY of the refer subscription; returns kefu's answer.
    fn notify(&mut self, sipfrag: &str, state: &str) -> String {
        self.cseq += 1;
        let extra = format!(
            "Event: refer\r\nSubscription-State: {state}\r\nContent-Type: message/sipfrag\r\n"
        );
        let branch = format!("notify-{}-{}", self.cseq, self.call_id);
        let msg = self.request("NOTIFY", self.cseq, &extra, sipfrag, &branch);
        common::final_response(&self.sock, self.kefu, &msg)
    }
}

/// The calls list of kefu's API, once the call with `call_id` has ended.
fn call_record(kefu: &common::Kefu, call_id: &str) -> String {
    let key = kefu.api_key();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = TcpStream::connect(kefu.http).expect("connect");
        write!(
            s,
            "GET /api/calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        let ended = body.contains(call_id) && !body.contains("\"in_progress\"");
        if ended || Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn answered_transfer_ends_kefus_leg() {
    let (kefu, _dir) = kefu();
    let mut caller = Caller::call(kefu.sip, "answered");
    let refer = caller.next_request("REFER", 20).expect("REFER");
    let refer_to = header(&refer, "Refer-To").expect("Refer-To");
    assert_eq!(
        refer_to, "<sip:agent@127.0.0.1:5999>",
        "no handoff id: {refer}"
    );
    let by = header(&refer, "Referred-By").expect("Referred-By");
    assert!(by.starts_with("<sip:kefu@127.0.0.1:"), "{by}");
    caller.answer(&refer, 202, "Accepted");

    let ok = caller.notify("SIP/2.0 100 Trying\r\n", "active;expires=60");
    assert_eq!(status(&ok), 200, "{ok}");
    let ok = caller.notify("SIP/2.0 180 Ringing\r\n", "active;expires=60");
    assert_eq!(status(&ok), 200, "{ok}");
    let ok = caller.notify("SIP/2.0 200 OK\r\n", "terminated;reason=noresource");
    assert_eq!(status(&ok), 200, "{ok}");
    let bye = caller
        .next_request("BYE", 10)
        .expect("kefu hangs up after the transfer");
    caller.answer(&bye, 200, "OK");

    let record = call_record(&kefu, &caller.call_id);
    assert!(record.contains("\"transferred\""), "{record}");
}

#[test]
fn busy_agent_returns_the_caller_to_the_dialplan() {
    let (kefu, _dir) = kefu();
    let mut caller = Caller::call(kefu.sip, "busy");
    let refer = caller.next_request("REFER", 20).expect("REFER");
    caller.answer(&refer, 202, "Accepted");
    let ok = caller.notify("SIP/2.0 100 Trying\r\n", "active;expires=60");
    assert_eq!(status(&ok), 200, "{ok}");
    // A malformed sipfrag is refused, and changes nothing.
    let bad = caller.notify("HELLO\r\n", "active;expires=60");
    assert_eq!(status(&bad), 400, "{bad}");
    let before = caller.loud.load(Ordering::Relaxed);
    let ok = caller.notify("SIP/2.0 486 Busy Here\r\n", "terminated;reason=noresource");
    assert_eq!(status(&ok), 200, "{ok}");
    // The dialplan's `busy` step speaks its apology, then hangs up.
    let bye = caller
        .next_request("BYE", 30)
        .expect("BYE after the apology");
    caller.answer(&bye, 200, "OK");
    let spoken = caller.loud.load(Ordering::Relaxed) - before;
    assert!(
        spoken >= 10,
        "only {spoken} audible RTP packets after the failure"
    );
    let record = call_record(&kefu, &caller.call_id);
    assert!(
        record.contains(&caller.call_id) && !record.contains("\"transferred\""),
        "{record}"
    );
    // No transfer is in progress any more: another NOTIFY matches nothing.
    let late = caller.notify("SIP/2.0 200 OK\r\n", "terminated");
    assert_eq!(status(&late), 481, "{late}");
}

#[test]
fn refused_refer_returns_the_caller_to_the_dialplan() {
    let (kefu, _dir) = kefu();
    let caller = Caller::call(kefu.sip, "declined");
    let before = caller.loud.load(Ordering::Relaxed);
    let refer = caller.next_request("REFER", 20).expect("REFER");
    caller.answer(&refer, 603, "Decline");
    let bye = caller
        .next_request("BYE", 30)
        .expect("BYE after the apology");
    caller.answer(&bye, 200, "OK");
    let spoken = caller.loud.load(Ordering::Relaxed) - before;
    assert!(
        spoken >= 10,
        "only {spoken} audible RTP packets after the refusal"
    );
    let record = call_record(&kefu, &caller.call_id);
    assert!(!record.contains("\"transferred\""), "{record}");
}
