//! Shared by the integration tests: the RFC 4475/5118 torture corpus, a
//! real `kefu serve` on loopback, and real recorded speech.
#![allow(dead_code)]

pub mod recordings;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One message of the RFC 4475/5118 corpus with its manifest rule.
pub struct Case {
    pub file: String,
    pub rule: String,
    pub preferred: Vec<u16>,
    pub bytes: Vec<u8>,
}

/// Where CI puts the torture corpus (`../shared/sip-torture`).
pub fn torture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/sip-torture")
}

/// Every message of `manifest.tsv`, read byte-exact.
pub fn cases() -> Vec<Case> {
    let dir = torture_dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap_or_else(|e| {
        panic!(
            "SIP torture corpus not found at {} ({e}); CI provides it as ../shared/sip-torture",
            dir.display()
        )
    });
    let mut lines = manifest.lines();
    let columns: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("manifest.tsv has no `{name}` column"))
    };
    let (file, rule, preferred) = (col("file"), col("rule"), col("preferred_codes"));
    let cases: Vec<Case> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or_default();
            let path = dir.join(field(file));
            Case {
                file: field(file).to_owned(),
                rule: field(rule).to_owned(),
                preferred: field(preferred)
                    .split(',')
                    .filter_map(|c| c.trim().parse().ok())
                    .collect(),
                bytes: std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
            }
        })
        .collect();
    assert!(
        cases.len() >= 60,
        "manifest lists only {} messages",
        cases.len()
    );
    cases
}

/// A running `kefu serve` on loopback, killed on drop.
pub struct Kefu {
    pub child: Child,
    pub sip: SocketAddr,
    pub http: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Kefu {
    /// The admin API key kefu wrote into its data folder at its first start.
    #[allow(dead_code)]
    pub fn api_key(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("admin-api-key"))
            .expect("admin-api-key")
            .trim()
            .to_string()
    }
}

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts kefu on free ports with `extra` flags; waits for its ready line.
pub fn start(extra: &[&str]) -> Kefu {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args([
            "serve",
            "--sip-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .args(["--rtp-ports", "42200-42400", "--data-dir"])
        .arg(dir.path())
        .args(extra)
        .env("KEFU_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kefu");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("kefu ready ").nth(1) {
                let _ = tx.send(rest.to_string());
            }
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("ready line");
    let field = |key: &str| -> SocketAddr {
        ready
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| {
                v.trim_matches(|c: char| !c.is_ascii_digit() && c != '.' && c != ':')
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {key} in the ready line: {ready}"))
    };
    Kefu {
        sip: field("sip="),
        http: field("http="),
        child,
        _dir: dir,
    }
}

/// Sends `msg` and returns the first final response, or "" after 3 s.
pub fn final_response(sock: &UdpSocket, to: SocketAddr, msg: &str) -> String {
    sock.send_to(msg.as_bytes(), to).expect("send");
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !text.starts_with("SIP/2.0 1") {
                return text;
            }
        }
    }
    String::new()
}
