//! Observability of the real `kefu serve` on 127.0.0.1, through a real SIP
//! call from a caller with a distinctive number: `/metrics` is valid
//! Prometheus text (every sample under its family's HELP and TYPE,
//! histograms cumulative up to `+Inf` with `_count` equal to it) with the
//! families operators alert on, active calls go back to 0 after the call,
//! `--log-json` makes every log line a JSON object, and the caller's number
//! reaches the logs only with `--log-pii`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The caller's number: it must not reach the logs without `--log-pii`.
const CALLER: &str = "13812345678";

/// A running `kefu serve` whose every output line is kept; killed on drop.
struct Server {
    child: Child,
    sip: SocketAddr,
    http: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Every line written so far, standard output and error together.
    fn log(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stops the process (so its last lines are written) and returns them.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The readers end with the pipes; give them a moment to store the
        // last lines.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.lines) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.log()
    }
}

/// Starts kefu with the default dialplan on free ports, with `extra` flags.
fn serve(rtp_ports: &str, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["serve", "--sip-listen", "127.0.0.1:0"])
        .args(["--http-listen", "127.0.0.1:0", "--dialplan", "default"])
        .args(["--max-calls", "4", "--rtp-ports", rtp_ports, "--data-dir"])
        .arg(dir.path())
        .args(extra)
        // The configured filter, not a developer's override.
        .env_remove("KEFU_LOG")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kefu");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("stdout"));
    let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("stderr"));
    for pipe in [out, err] {
        let (lines, tx) = (lines.clone(), tx.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("kefu ready ").nth(1) {
                    let _ = tx.send(rest.to_owned());
                }
                if let Ok(mut l) = lines.lock() {
                    l.push(line);
                }
            }
        });
    }
    let ready = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            panic!(
                "no ready line; output: {:?}",
                lines.lock().map(|l| l.clone())
            )
        });
    let field = |key: &str| -> SocketAddr {
        ready
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| {
                // Text or JSON lines: the address is the run of address
                // characters after the key.
                let addr: String = v
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                addr.parse().ok()
            })
            .unwrap_or_else(|| panic!("no {key} in the ready line: {ready}"))
    };
    Server {
        sip: field("sip="),
        http: field("http="),
        child,
        lines,
        _dir: dir,
    }
}

/// `GET path`: the status line, the headers and the body.
fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("read");
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    (head.to_owned(), body.to_owned())
}

// ---------------------------------------------------------------- a caller

/// One SIP caller over UDP with its RTP socket.
struct Caller {
    sip: UdpSocket,
    rtp: UdpSocket,
    server: SocketAddr,
    call_id: String,
}

/// What the 200 to the INVITE told the caller.
struct Dialog {
    to: String,
    target: String,
    media: SocketAddr,
}

impl Caller {
    fn new(server: SocketAddr, call_id: &str) -> Caller {
        let sip = UdpSocket::bind("127.0.0.1:0").expect("bind sip");
        sip.set_read_timeout(Some(Duration::from_millis(200))).ok();
        Caller {
            sip,
            rtp: UdpSocket::bind("127.0.0.1:0").expect("bind rtp"),
            server,
            call_id: call_id.to_owned(),
        }
    }

    fn port(&self) -> u16 {
        self.sip.local_addr().expect("addr").port()
    }

    /// A request of this call, with `branch`, CSeq and extra headers.
    fn request(
        &self,
        line: &str,
        branch: &str,
        cseq: &str,
        to: &str,
        extra: &str,
        body: &str,
    ) -> String {
        format!(
            "{line} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{CALLER}@127.0.0.1:{port}>;tag=obs{port}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq}\r\n\
             Contact: <sip:{CALLER}@127.0.0.1:{port}>\r\n\
             {extra}\
             Content-Length: {len}\r\n\r\n{body}",
            port = self.port(),
            call_id = self.call_id,
            len = body.len(),
        )
    }

    /// Sends `msg` until a final response comes (retransmitting like a UAC
    /// over UDP, RFC 3261 §17.1.1.2), and returns it.
    fn transact(&self, msg: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 8192];
        let mut next_send = Instant::now();
        while Instant::now() < deadline {
            if Instant::now() >= next_send {
                self.sip.send_to(msg.as_bytes(), self.server).expect("send");
                next_send = Instant::now() + Duration::from_millis(500);
            }
            if let Ok((n, _)) = self.sip.recv_from(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                if text.starts_with("SIP/2.0 ") && !text.starts_with("SIP/2.0 1") {
                    return text;
                }
                if text.starts_with("SIP/2.0 1") {
                    // Provisional: the server has it; stop retransmitting.
                    next_send = deadline;
                }
            }
        }
        panic!("no final response to:\n{msg}");
    }

    /// INVITE with a PCMU offer; returns the dialog once answered.
    fn invite(&self) -> Dialog {
        let rtp = self.rtp.local_addr().expect("rtp addr").port();
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {rtp} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
        );
        let msg = self.request(
            "INVITE sip:kefu@127.0.0.1",
            "inv",
            "1 INVITE",
            "<sip:kefu@127.0.0.1>",
            "Content-Type: application/sdp\r\n",
            &sdp,
        );
        let ok = self.transact(&msg, Duration::from_secs(10));
        assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
        let header = |name: &str| {
            ok.lines()
                .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_else(|| panic!("no {name} in:\n{ok}"))
        };
        let to = header("to");
        let contact = header("contact");
        let target = contact
            .trim_start_matches('<')
            .split(['>', ';'])
            .next()
            .unwrap_or_default()
            .to_owned();
        let port = ok
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("no m=audio in:\n{ok}"));
        Dialog {
            to,
            target,
            media: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn ack(&self, d: &Dialog) {
        let msg = self.request(&format!("ACK {}", d.target), "ack", "1 ACK", &d.to, "", "");
        self.sip.send_to(msg.as_bytes(), self.server).expect("ack");
    }

    /// `n` packets of PCMU silence, 20 ms apart.
    fn talk(&self, d: &Dialog, n: u16) {
        for seq in 0..n {
            let mut pkt = vec![0x80, 0x00];
            pkt.extend_from_slice(&seq.to_be_bytes());
            pkt.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            pkt.extend_from_slice(&0x0bad_cafe_u32.to_be_bytes());
            pkt.extend(std::iter::repeat_n(0xFF, 160));
            self.rtp.send_to(&pkt, d.media).expect("rtp");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn bye(&self, d: &Dialog) {
        let msg = self.request(&format!("BYE {}", d.target), "bye", "2 BYE", &d.to, "", "");
        let ok = self.transact(&msg, Duration::from_secs(10));
        assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    }
}

/// One whole call: INVITE, ACK, a second of audio, BYE. Returns the
/// metrics scraped while it was up.
fn call(server: &Server, call_id: &str) -> Exposition {
    let caller = Caller::new(server.sip, call_id);
    let dialog = caller.invite();
    caller.ack(&dialog);
    caller.talk(&dialog, 50);
    let during = scrape(server);
    caller.bye(&dialog);
    during
}

// ------------------------------------------------------- Prometheus text

/// One sample line.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// One family: its TYPE and samples, in order.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    samples: Vec<Sample>,
}

type Exposition = HashMap<String, Family>;

/// Parses `name{a="b",…} value`; label values may hold escaped `"`, `\`
/// and line feeds.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(format!("bad metric name `{name}`"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        let mut key = String::new();
        let end = loop {
            let (i, c) = chars.next().ok_or("unclosed labels")?;
            match c {
                '}' if key.is_empty() => break i,
                ',' if key.is_empty() => {}
                '=' => {
                    if chars.next().map(|(_, c)| c) != Some('"') {
                        return Err("label value not quoted".into());
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next().ok_or("unterminated label value")?.1 {
                            '"' => break,
                            '\\' => match chars.next().ok_or("dangling escape")?.1 {
                                'n' => value.push('\n'),
                                c @ ('\\' | '"') => value.push(c),
                                c => return Err(format!("bad escape \\{c}")),
                            },
                            '\n' => return Err("raw line feed in label".into()),
                            c => value.push(c),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                c if c.is_ascii_alphanumeric() || c == '_' => key.push(c),
                c => return Err(format!("bad character `{c}` in labels")),
            }
        };
        rest = &body[end + 1..];
    }
    let value = rest.strip_prefix(' ').ok_or("no space before value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|e| format!("bad value `{v}`: {e}"))?,
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Parses the whole exposition, checking that every sample follows the
/// HELP and TYPE of its own family and that histograms are well formed.
fn parse_exposition(text: &str) -> Result<Exposition, String> {
    let mut families = Exposition::new();
    let mut helped: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            helped.push(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or_else(|| at("no kind".into()))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at(format!("unknown type {kind}")));
            }
            if helped.last().map(String::as_str) != Some(name) {
                return Err(at("TYPE without its HELP just before".into()));
            }
            if families.contains_key(name) {
                return Err(at("family declared twice".into()));
            }
            families.insert(
                name.to_owned(),
                Family {
                    kind: kind.to_owned(),
                    ..Family::default()
                },
            );
            current = Some(name.to_owned());
        } else if line.starts_with('#') || line.is_empty() {
            continue;
        } else {
            let sample = parse_sample(line).map_err(at)?;
            let family = current
                .clone()
                .ok_or_else(|| at("sample before any TYPE".into()))?;
            let kind = families
                .get(&family)
                .map(|f| f.kind.clone())
                .unwrap_or_default();
            let own = match kind.as_str() {
                "histogram" => ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| sample.name == format!("{family}{s}")),
                "summary" => {
                    sample.name == family
                        || ["_sum", "_count"]
                            .iter()
                            .any(|s| sample.name == format!("{family}{s}"))
                }
                _ => sample.name == family,
            };
            if !own {
                return Err(at(format!("sample outside its family (current: {family})")));
            }
            if let Some(f) = families.get_mut(&family) {
                f.samples.push(sample);
            }
        }
    }
    for (name, f) in &families {
        if f.kind == "histogram" {
            check_histogram(name, f)?;
        }
    }
    Ok(families)
}

/// Buckets cumulative with increasing `le`, the last `+Inf`, and
/// `_count` equal to it.
fn check_histogram(name: &str, f: &Family) -> Result<(), String> {
    let buckets: Vec<(f64, f64)> = f
        .samples
        .iter()
        .filter(|s| s.name.ends_with("_bucket"))
        .map(|s| {
            let le = s
                .labels
                .iter()
                .find(|(k, _)| k == "le")
                .map(|(_, v)| v.as_str());
            let le = match le {
                Some("+Inf") => Ok(f64::INFINITY),
                Some(v) => v.parse::<f64>().map_err(|e| format!("{name}: le {v}: {e}")),
                None => Err(format!("{name}: bucket without le")),
            }?;
            Ok((le, s.value))
        })
        .collect::<Result<_, String>>()?;
    if buckets.len() < 2 {
        return Err(format!("{name}: {} buckets", buckets.len()));
    }
    if !buckets
        .windows(2)
        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
    {
        return Err(format!("{name}: buckets not cumulative: {buckets:?}"));
    }
    let inf = buckets.last().copied().unwrap_or_default();
    if inf.0 != f64::INFINITY {
        return Err(format!("{name}: last bucket is not +Inf"));
    }
    let value = |suffix: &str| {
        f.samples
            .iter()
            .find(|s| s.name == format!("{name}{suffix}"))
            .map(|s| s.value)
            .ok_or_else(|| format!("{name}: no {suffix}"))
    };
    if value("_count")? != inf.1 {
        return Err(format!("{name}: _count differs from the +Inf bucket"));
    }
    value("_sum")?;
    Ok(())
}

fn scrape(server: &Server) -> Exposition {
    let (head, body) = http_get(server.http, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    parse_exposition(&body).unwrap_or_else(|e| panic!("{e}\n{body}"))
}

/// The value of an unlabelled sample.
fn value(m: &Exposition, name: &str) -> f64 {
    m.get(name)
        .and_then(|f| f.samples.iter().find(|s| s.name == name))
        .map(|s| s.value)
        .unwrap_or_else(|| panic!("no sample {name}"))
}

// ------------------------------------------------------------------ tests

#[test]
fn metrics_are_valid_prometheus_text_through_a_call() {
    let server = serve("42600-42699", &[]);
    let before = scrape(&server);
    for (family, kind) in [
        ("kefu_active_calls", "gauge"),
        ("kefu_calls_per_second", "gauge"),
        ("kefu_rtp_lost_packets_total", "counter"),
        ("kefu_rtp_loss_ratio", "gauge"),
        ("kefu_asr_seconds", "histogram"),
        ("kefu_tts_first_audio_seconds", "histogram"),
        ("kefu_asr_queue_length", "gauge"),
        ("kefu_tts_queue_length", "gauge"),
        ("kefu_queue_waiting", "gauge"),
        ("kefu_webhook_backlog", "gauge"),
        ("kefu_store_writes_total", "counter"),
        ("kefu_store_write_errors_total", "counter"),
    ] {
        let f = before
            .get(family)
            .unwrap_or_else(|| panic!("no family {family}"));
        assert_eq!(f.kind, kind, "{family}");
    }
    assert_eq!(value(&before, "kefu_active_calls"), 0.0);

    let during = call(&server, "obs-metrics-1");
    assert_eq!(value(&during, "kefu_active_calls"), 1.0);
    // One INVITE within the last 10 s.
    assert!((value(&during, "kefu_calls_per_second") - 0.1).abs() < 1e-9);
    assert!(value(&during, "kefu_rtp_packets_received_total") > 0.0);
    let ratio = value(&during, "kefu_rtp_loss_ratio");
    assert!((0.0..=1.0).contains(&ratio), "{ratio}");

    // The call's end reaches the gauge once the media worker has seen it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let m = scrape(&server);
        if value(&m, "kefu_active_calls") == 0.0 || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(value(&after, "kefu_active_calls"), 0.0);
    assert_eq!(value(&after, "kefu_calls_total"), 1.0);
    assert_eq!(value(&after, "kefu_calls_answered_total"), 1.0);
}

#[test]
fn json_logs_are_one_object_per_line_without_the_callers_number() {
    let server = serve("42700-42799", &["--log-json"]);
    call(&server, "obs-json-1");
    let lines = server.stop();
    assert!(
        lines.iter().any(|l| l.contains("\"answered\"")),
        "the call left no log: {lines:#?}"
    );
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(v.is_object(), "{line}");
        assert!(v["level"].is_string(), "no level: {line}");
        assert!(v["timestamp"].is_string(), "no timestamp: {line}");
        assert!(v["fields"]["message"].is_string(), "no message: {line}");
        assert!(!line.contains(CALLER), "caller's number in the log: {line}");
    }
}

#[test]
fn callers_number_is_logged_only_with_log_pii() {
    let quiet = serve("42800-42849", &[]);
    call(&quiet, "obs-pii-0");
    let lines = quiet.stop();
    assert!(lines.iter().any(|l| l.contains("answered")), "{lines:#?}");
    let leaks: Vec<&String> = lines.iter().filter(|l| l.contains(CALLER)).collect();
    assert!(
        leaks.is_empty(),
        "caller's number without --log-pii: {leaks:#?}"
    );

    let open = serve("42850-42899", &["--log-pii"]);
    call(&open, "obs-pii-1");
    let lines = open.stop();
    assert!(
        lines.iter().any(|l| l.contains(CALLER)),
        "--log-pii shows the caller's number: {lines:#?}"
    );
}

#[test]
fn parser_rejects_what_prometheus_would() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\n\"} 3\n";
    assert!(parse_exposition(ok).is_ok());
    let orphan = "# HELP a A.\n# TYPE a gauge\nb 1\n";
    assert!(parse_exposition(orphan).is_err());
    let no_help = "# TYPE a gauge\na 1\n";
    assert!(parse_exposition(no_help).is_err());
    let hist = |inf: &str, count: &str| {
        format!(
            "# HELP h H.\n# TYPE h histogram\nh_bucket{{le=\"1\"}} 2\n\
             h_bucket{{le=\"+Inf\"}} {inf}\nh_sum 3\nh_count {count}\n"
        )
    };
    assert!(parse_exposition(&hist("3", "3")).is_ok());
    assert!(parse_exposition(&hist("1", "1")).is_err(), "not cumulative");
    assert!(parse_exposition(&hist("3", "4")).is_err(), "count differs");
}
