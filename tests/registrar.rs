//! Agents register with a real `kefu serve` over UDP on 127.0.0.1: Digest
//! challenge, bindings with their expiry, and the refusals (wrong password,
//! unknown agent, too short an expiry, a replayed nonce count). The digest
//! response is computed here step by step (RFC 2617 §3.2.2), not by kefu's
//! own code.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use md5::{Digest, Md5};

const CONFIG: &str = r#"
[routing]
realm = "kefu"

[[agents]]
id = "alice"
password = "wonderland"

[[agents]]
id = "bob"
# MD5("bob:kefu:builder")
ha1 = "HA1_BOB"
"#;

fn md5_hex(s: &str) -> String {
    let mut h = Md5::new();
    h.update(s.as_bytes());
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

struct Agent {
    sock: UdpSocket,
    kefu: SocketAddr,
    user: String,
    cseq: u32,
    nc: u32,
    nonce: String,
    call_id: String,
}

impl Agent {
    fn new(kefu: SocketAddr, user: &str) -> Agent {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        Agent {
            sock,
            kefu,
            user: user.into(),
            cseq: 0,
            nc: 0,
            nonce: String::new(),
            call_id: format!("reg-{user}-{}", std::process::id()),
        }
    }

    fn uri(&self) -> String {
        format!("sip:{}", self.kefu)
    }

    /// Sends a REGISTER with `extra` header lines; returns the final reply.
    fn send(&mut self, extra: &str) -> String {
        self.cseq += 1;
        let me = self.sock.local_addr().expect("addr");
        let msg = format!(
            "REGISTER {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK-reg-{cseq}-{nc};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@127.0.0.1>;tag=t{user}\r\n\
             To: <sip:{user}@127.0.0.1>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             {extra}\
             Content-Length: 0\r\n\r\n",
            uri = self.uri(),
            cseq = self.cseq,
            nc = self.nc,
            user = self.user,
            call_id = self.call_id,
        );
        common::final_response(&self.sock, self.kefu, &msg)
    }

    /// The Authorization line for `password` at the next nonce count, or
    /// at count `nc` when given.
    fn authorization(&mut self, password: &str, nc: Option<u32>) -> String {
        let nc = nc.unwrap_or_else(|| {
            self.nc += 1;
            self.nc
        });
        let nc = format!("{nc:08x}");
        let cnonce = "0a4f113b";
        let ha1 = md5_hex(&format!("{}:kefu:{password}", self.user));
        let ha2 = md5_hex(&format!("REGISTER:{}", self.uri()));
        let response = md5_hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce));
        format!(
            "Authorization: Digest username=\"{}\", realm=\"kefu\", nonce=\"{}\", \
             uri=\"{}\", response=\"{response}\", algorithm=MD5, cnonce=\"{cnonce}\", \
             qop=auth, nc={nc}\r\n",
            self.user,
            self.nonce,
            self.uri()
        )
    }

    /// Gets a challenge and keeps its nonce.
    fn challenge(&mut self, contact: &str) -> String {
        let reply = self.send(&format!("Contact: {contact}\r\n"));
        assert_eq!(status(&reply), 401, "{reply}");
        let www = header(&reply, "WWW-Authenticate").expect("WWW-Authenticate");
        self.nonce = param(&www, "nonce").expect("nonce");
        reply
    }
}

fn status(reply: &str) -> u16 {
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn header(reply: &str, name: &str) -> Option<String> {
    reply.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

fn headers(reply: &str, name: &str) -> Vec<String> {
    reply
        .lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .collect()
}

fn param(value: &str, name: &str) -> Option<String> {
    let start = value.find(&format!("{name}=\""))? + name.len() + 2;
    let end = value[start..].find('"')? + start;
    Some(value[start..end].to_string())
}

fn kefu() -> (common::Kefu, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kefu.toml");
    let text = CONFIG.replace("HA1_BOB", &md5_hex("bob:kefu:builder"));
    std::fs::write(&path, text).expect("write config");
    let kefu = common::start(&["--max-calls", "4", "--config", path.to_str().expect("utf8")]);
    (kefu, dir)
}

#[test]
fn challenge_register_list_and_unregister() {
    let (kefu, _dir) = kefu();
    let mut alice = Agent::new(kefu.sip, "alice");
    let contact = format!("<sip:alice@{}>", alice.sock.local_addr().expect("addr"));
    let first = alice.challenge(&contact);
    let www = header(&first, "WWW-Authenticate").expect("challenge");
    assert!(www.starts_with("Digest "), "{www}");
    assert_eq!(param(&www, "realm").as_deref(), Some("kefu"));
    assert_eq!(param(&www, "qop").as_deref(), Some("auth"));

    let auth = alice.authorization("wonderland", None);
    let ok = alice.send(&format!("{auth}Contact: {contact}\r\nExpires: 120\r\n"));
    assert_eq!(status(&ok), 200, "{ok}");
    let listed = headers(&ok, "Contact");
    assert_eq!(listed.len(), 1, "{ok}");
    assert!(
        listed[0].contains(&contact) && listed[0].contains("expires=12"),
        "{ok}"
    );
    assert!(
        header(&ok, "Date").is_some_and(|d| d.ends_with("GMT")),
        "{ok}"
    );

    // Without Contact: the bindings are listed.
    let auth = alice.authorization("wonderland", None);
    let list = alice.send(&auth);
    assert_eq!(status(&list), 200, "{list}");
    assert_eq!(headers(&list, "Contact").len(), 1, "{list}");

    // expires=0 removes the binding.
    let auth = alice.authorization("wonderland", None);
    let gone = alice.send(&format!("{auth}Contact: {contact};expires=0\r\n"));
    assert_eq!(status(&gone), 200, "{gone}");
    assert!(headers(&gone, "Contact").is_empty(), "{gone}");

    // The second agent's credentials are configured as HA1 only.
    let mut bob = Agent::new(kefu.sip, "bob");
    bob.challenge("<sip:bob@127.0.0.1:5999>");
    let auth = bob.authorization("builder", None);
    let ok = bob.send(&format!("{auth}Contact: <sip:bob@127.0.0.1:5999>\r\n"));
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(headers(&ok, "Contact")[0].contains("expires=3600"), "{ok}");
}

#[test]
fn refusals() {
    let (kefu, _dir) = kefu();
    let mut alice = Agent::new(kefu.sip, "alice");
    let contact = "<sip:alice@127.0.0.1:5998>";
    alice.challenge(contact);

    let auth = alice.authorization("wrong", None);
    let bad = alice.send(&format!("{auth}Contact: {contact}\r\n"));
    assert!(matches!(status(&bad), 401 | 403), "{bad}");

    let auth = alice.authorization("wonderland", None);
    let short = alice.send(&format!("{auth}Contact: {contact}\r\nExpires: 30\r\n"));
    assert_eq!(status(&short), 423, "{short}");
    assert_eq!(
        header(&short, "Min-Expires").as_deref(),
        Some("60"),
        "{short}"
    );

    // A nonce count already used is a replay, even with a new transaction.
    let used = alice.nc;
    let auth = alice.authorization("wonderland", Some(used));
    let replay = alice.send(&format!("{auth}Contact: {contact}\r\n"));
    assert!(matches!(status(&replay), 401 | 403), "{replay}");
    let auth = alice.authorization("wonderland", None);
    let fine = alice.send(&format!("{auth}Contact: {contact}\r\n"));
    assert_eq!(status(&fine), 200, "{fine}");

    let mut carol = Agent::new(kefu.sip, "carol");
    carol.challenge("<sip:carol@127.0.0.1:5997>");
    let auth = carol.authorization("anything", None);
    let unknown = carol.send(&format!("{auth}Contact: <sip:carol@127.0.0.1:5997>\r\n"));
    assert!(matches!(status(&unknown), 401 | 403), "{unknown}");
}

#[test]
fn without_agents_register_is_not_served() {
    let kefu = common::start(&["--max-calls", "4"]);
    let mut alice = Agent::new(kefu.sip, "alice");
    let reply = alice.send("Contact: <sip:alice@127.0.0.1:5998>\r\n");
    assert_eq!(status(&reply), 405, "{reply}");
    let allow = header(&reply, "Allow").expect("Allow");
    assert!(!allow.contains("REGISTER"), "{allow}");
}
