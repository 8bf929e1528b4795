//! The web console in a real headless Chromium against the real `kefu
//! serve`: a SQLite database seeded with a realistic week of calls (English
//! and Chinese transcripts, transfers, surveys, QA findings, queues,
//! agents, a campaign, a recording), an admin API key, then each page
//! loaded twice — its rendered DOM checked (charts with data points, the
//! calls listed, the Chinese transcript) and a screenshot decoded to check
//! that the charts' colours really cover the page. A wrong key lands on the
//! sign-in form. Screenshots stay under `target/console-shots/`.
//!
//! The agent desk and the supervisor floor run against the real router
//! in this process with a live hub and a routing stand-in, in a Chromium
//! driven over the DevTools protocol: the agent signs in, an offer pops up
//! the stored handoff package before any answer, live lines follow; the
//! supervisor sees a caller join a queue and an agent change state live.
//!
//! Needs `/usr/bin/chromium` (CI: `apt-get install -y chromium`); without
//! it the test says so and does nothing.

#[path = "console/browser.rs"]
mod browser;
#[path = "console/dataset.rs"]
mod dataset;
#[path = "console/desk.rs"]
mod desk;
#[path = "console/devtools.rs"]
mod devtools;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use browser::{chart_points, dump_dom, screenshot, shots_dir, CHROMIUM};
use dataset::{caller_of, seed, ZH_TEXT};
use kefu::storage::sqlite::SqliteStore;
use kefu::storage::{Role, Store};
use sha2::{Digest, Sha256};

const SECRET: &str = "kefu_console_test_0123456789abcdef";
const REPORTS: [&str; 9] = [
    "calls",
    "containment",
    "transfers",
    "queues",
    "agents",
    "complaints",
    "csat",
    "campaigns",
    "quality",
];

/// The real `kefu serve` on loopback, killed on drop.
struct Kefu {
    child: Child,
    http: SocketAddr,
}

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The raw HTTP/1.1 answer to `GET path` (headers lower-cased by hyper).
fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
}

/// Starts `kefu serve` on `data` and waits for its ready line.
fn start_kefu(data: &Path) -> Kefu {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args([
            "serve",
            "--dialplan",
            "default",
            "--sip-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .args(["--rtp-ports", "44600-44700", "--data-dir"])
        .arg(data)
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
        .recv_timeout(Duration::from_secs(60))
        .expect("kefu printed no ready line");
    let http = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http="))
        .and_then(|v| {
            v.trim_matches(|c: char| !c.is_ascii_digit() && c != '.' && c != ':')
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no http= in the ready line: {ready}"));
    Kefu { child, http }
}

// ---------------------------------------------------------------- chromium
#[test]
fn console_pages_render_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("SKIPPED console_pages_render_in_chromium: {CHROMIUM} is missing (install it with `apt-get install -y chromium`); the console was not tested");
        return;
    }
    let data = tempfile::tempdir().expect("data dir");
    let now = kefu::storage::now_millis();
    let seeded = {
        let store = SqliteStore::open(&data.path().join("kefu.db")).expect("open the store");
        let seeded = seed(&store, data.path(), now);
        let hash = hex::encode(Sha256::digest(SECRET.as_bytes()));
        store
            .create_api_key("console test", Role::Admin, &hash, now)
            .expect("api key");
        seeded
    };
    let kefu = start_kefu(data.path());
    let base = format!("http://{}/console/", kefu.http);
    let redirect = http_get(kefu.http, "/console");
    assert!(
        redirect.starts_with("HTTP/1.1 308") && redirect.contains("location: /console/\r\n"),
        "/console does not redirect to /console/:\n{redirect}"
    );
    let script = http_get(kefu.http, "/console/charts.js");
    assert!(
        script.starts_with("HTTP/1.1 200")
            && script.contains("content-type: text/javascript; charset=utf-8\r\n")
            && script.contains("export function barChart"),
        "/console/charts.js is not served as JavaScript:\n{}",
        &script[..script.len().min(400)]
    );
    let shots = shots_dir();
    let page = |route: &str| {
        format!(
            "{base}#{route}{}key={SECRET}",
            if route.contains('?') {
                "&"
            } else if route.is_empty() {
                ""
            } else {
                "?"
            }
        )
    };

    // A wrong key: the sign-in form, with the reason.
    let dom = dump_dom(&format!("{base}#key=kefu_wrong"));
    assert!(
        dom.contains("id=\"sign-in\""),
        "no sign-in form for a wrong key:\n{dom}"
    );
    assert!(
        dom.contains("not accepted"),
        "no message about the refused key:\n{dom}"
    );
    assert!(
        chart_points(&dom).is_empty(),
        "charts shown to a refused key"
    );

    // The dashboard: today's calls per hour and transfer reasons, drawn.
    let dom = dump_dom(&page(""));
    let points = chart_points(&dom);
    assert!(
        points.len() >= 2 && points.iter().all(|p| *p > 0),
        "dashboard charts without data: {points:?}\n{dom}"
    );
    assert!(
        dom.contains("Recent calls") && dom.contains(&caller_of(0)),
        "recent calls missing:\n{dom}"
    );
    let shot = screenshot(&page(""), &shots.join("dashboard.png"));
    assert_eq!((shot.width, shot.height), (1280, 1000));
    let coloured = shot.chart_pixels();
    eprintln!("dashboard: {coloured} pixels of chart colours");
    assert!(
        coloured > 8000,
        "the dashboard's charts cover only {coloured} pixels"
    );

    // Every report: a chart with points, and the colours on screen.
    for name in REPORTS {
        let url = page(&format!("/reports/{name}"));
        let dom = dump_dom(&url);
        let points = chart_points(&dom);
        assert!(
            points.len() == 1 && points[0] > 0,
            "report {name}: chart points {points:?}\n{dom}"
        );
        let shot = screenshot(&url, &shots.join(format!("report-{name}.png")));
        let coloured = shot.chart_pixels();
        eprintln!("report {name}: {coloured} pixels of chart colours");
        assert!(
            coloured > 4000,
            "report {name}: its chart covers only {coloured} pixels"
        );
    }

    // A period without calls: a "no data" note in place of the chart.
    let dom = dump_dom(&page("/reports/transfers?from=2001-01-01&to=2001-01-07"));
    assert_eq!(chart_points(&dom), vec![0], "empty report:\n{dom}");
    assert!(
        dom.contains("chart-empty") && dom.contains("No data for this period"),
        "empty report:\n{dom}"
    );

    // The calls page lists the newest page of calls; a Chinese text search
    // lists exactly the calls that said it.
    let dom = dump_dom(&page("/calls"));
    assert_eq!(
        dom.matches("class=\"call-link\"").count(),
        25,
        "calls page:\n{dom}"
    );
    assert!(
        dom.contains(&caller_of(0)) && dom.contains(&caller_of(5)),
        "seeded callers missing:\n{dom}"
    );
    let dom = dump_dom(&page(&format!("/calls?text={ZH_TEXT}")));
    assert_eq!(
        dom.matches("class=\"call-link\"").count(),
        seeded.zh_text_calls,
        "text search:\n{dom}"
    );

    // A call: its Chinese transcript, QA finding and recording player.
    let url = page(&format!("/calls/{}", seeded.zh_call));
    let dom = dump_dom(&url);
    assert!(
        dom.contains(ZH_TEXT) && dom.contains("非常抱歉，您的包裹正在派送中"),
        "transcript missing:\n{dom}"
    );
    assert!(
        dom.contains("from-caller") && dom.contains("from-bot"),
        "speakers not shown:\n{dom}"
    );
    assert!(
        dom.contains("silence") && dom.contains("complaint:delivery"),
        "QA flag or tag missing:\n{dom}"
    );
    assert!(
        dom.contains("id=\"recording-player\"") && dom.contains("src=\"blob:"),
        "recording not loaded:\n{dom}"
    );
    screenshot(&url, &shots.join("call.png"));
    drop(kefu);
}

// ------------------------------------------------------- desk and floor
const SUPERVISOR: &str = "kefu_console_supervisor_0123456789";
const SUMMARY: &str = "王芳（VIP 2）询问快递 4417 的下落；自 0:42 起情绪不满。";

/// A handoff package as routing stores it, in Chinese.
fn package() -> kefu::storage::Handoff {
    kefu::storage::Handoff {
        id: "h-zh-0001".into(),
        call_id: "call-zh".into(),
        created_at: kefu::storage::now_millis(),
        queue: Some("after-sales".into()),
        agent_id: Some("alice".into()),
        package: serde_json::json!({
            "caller": "+8613800138000",
            "summary": SUMMARY,
            "customer": {"name": "王芳", "vip_level": 2, "region": "上海", "tags": ["complaint:delivery"]},
            "intent": "order_status",
            "slots": {"order": "4417"},
            "reason": "emotion",
            "emotion": [{"at_ms": 0, "level": "neutral", "score": 0.1}, {"at_ms": 42000, "level": "upset", "score": 0.7}],
            "transcript": [
                {"at_ms": 3000, "speaker": "bot", "text": "您好，这里是客服助手。"},
                {"at_ms": 9000, "speaker": "caller", "text": ZH_TEXT},
            ],
        }),
    }
}

#[test]
fn agent_desk_and_supervisor_floor_follow_the_live_feed() {
    use kefu::api::Desk as _;
    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "SKIPPED agent_desk_and_supervisor_floor_follow_the_live_feed: {CHROMIUM} is missing"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("data dir");
    let store = SqliteStore::open(&dir.path().join("kefu.db")).expect("open the store");
    let hash = hex::encode(Sha256::digest(SUPERVISOR.as_bytes()));
    let now = kefu::storage::now_millis();
    store
        .create_api_key("floor", Role::Supervisor, &hash, now)
        .expect("key");
    store.put_handoff(&package()).expect("handoff");
    let live = kefu::live::Live::new();
    let desk = desk::FakeDesk::new(
        live.clone(),
        &[("alice", "Alice", "s3cret-pw"), ("bob", "Bob", "pw")],
    );
    let metrics = kefu::runtime::metrics::Metrics::new(1);
    let state = kefu::api::ApiState::new(
        std::sync::Arc::new(store),
        metrics,
        dir.path().to_path_buf(),
    )
    .with_desk(desk.clone(), live.clone());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    rt.spawn(async move { axum::serve(listener, kefu::api::app(state)).await });
    let shots = shots_dir();
    let mut page = devtools::Devtools::start();

    // The agent signs in; the snapshot shows them offline.
    page.navigate(&format!("http://{addr}/console/agent.html"));
    page.wait_for(
        "sign-in form",
        "!document.getElementById('sign-in-box').hidden",
    );
    page.eval("document.getElementById('sign-in-agent').value = 'alice'; document.getElementById('sign-in-password').value = 'wrong'; document.getElementById('sign-in').requestSubmit()");
    page.wait_for("refusal", "document.getElementById('sign-in-message').textContent.includes('wrong agent id or password')");
    page.eval("document.getElementById('sign-in-password').value = 's3cret-pw'; document.getElementById('sign-in').requestSubmit()");
    page.wait_for(
        "the desk, offline",
        "document.getElementById('agent-state').textContent === 'offline'",
    );
    page.wait_for(
        "the live feed",
        "document.getElementById('live-status')?.textContent === 'live'",
    );
    page.eval("document.getElementById('set-ready').click()");
    page.wait_for(
        "ready",
        "document.getElementById('agent-state').textContent === 'ready'",
    );
    assert_eq!(desk.state_of("alice").as_deref(), Some("ready"));

    // An offer: the package pops up before any answer.
    live.publish(kefu::live::LiveEvent::Offer {
        agent: "bob".into(),
        call_id: "call-b".into(),
        handoff_id: "h-none".into(),
    });
    live.publish(kefu::live::LiveEvent::Offer {
        agent: "alice".into(),
        call_id: "call-zh".into(),
        handoff_id: "h-zh-0001".into(),
    });
    page.wait_for(
        "the screen-pop",
        &format!("document.getElementById('pop-summary')?.textContent === {SUMMARY:?}"),
    );
    let pop = page.eval("document.getElementById('screen-pop').innerText");
    let pop = pop.as_str().unwrap_or_default();
    for want in [
        "王芳",
        "VIP 2",
        "上海",
        "complaint:delivery",
        "order_status",
        "order: 4417",
        "0:03",
        "0:09",
        "您好，这里是客服助手。",
        ZH_TEXT,
    ] {
        assert!(pop.contains(want), "screen-pop lacks {want:?}:\n{pop}");
    }
    assert_eq!(
        page.eval("document.querySelectorAll('#emotion-strip .emo-cell').length"),
        serde_json::json!(2)
    );
    live.publish(kefu::live::LiveEvent::Line {
        call_id: "call-b".into(),
        speaker: "caller".into(),
        text: "not for alice".into(),
        at: now,
    });
    live.publish(kefu::live::LiveEvent::Line {
        call_id: "call-zh".into(),
        speaker: "agent".into(),
        text: "您好，我是 Alice。".into(),
        at: now,
    });
    page.wait_for(
        "the live line",
        "document.getElementById('live-transcript').innerText.includes('您好，我是 Alice。')",
    );
    assert!(!page.text().contains("not for alice"));
    desk.set_presence("alice", "wrap_up").expect("wrap-up");
    page.wait_for(
        "the wrap-up countdown",
        "document.getElementById('wrap-up-countdown').textContent.startsWith('ready in')",
    );
    page.screenshot(&shots.join("agent-desk.png"));

    // The supervisor: a caller joins a queue, an agent changes state.
    page.navigate(&format!(
        "http://{addr}/console/supervisor.html#key={SUPERVISOR}"
    ));
    page.wait_for(
        "the floor",
        "document.getElementById('live-status')?.textContent === 'live'",
    );
    page.wait_for(
        "alice in wrap-up",
        "document.querySelector('[data-agent=alice]')?.textContent === 'wrap up'",
    );
    desk.enqueue("after-sales", "call-q", "+8613900139000");
    page.wait_for("the queued caller", "[...document.querySelectorAll('.waiting-caller')].some(e => e.textContent === '+8613900139000')");
    desk.set_presence("bob", "ready").expect("bob ready");
    page.wait_for(
        "bob ready",
        "document.querySelector('[data-agent=bob]')?.textContent === 'ready'",
    );
    page.eval("document.querySelector('.call-follow').click()");
    live.publish(kefu::live::LiveEvent::Line {
        call_id: "call-q".into(),
        speaker: "caller".into(),
        text: "还要等多久？".into(),
        at: now,
    });
    page.wait_for(
        "the followed call's line",
        "document.getElementById('call-transcript').innerText.includes('还要等多久？')",
    );
    page.screenshot(&shots.join("supervisor.png"));
    drop(page);
    drop(rt);
}
