//! The REST API over real HTTP on 127.0.0.1, on a real SQLite file:
//! authentication and roles, call search and CSV export, call detail,
//! transcripts, recordings with byte ranges, QA reviews and their effect on
//! the quality report, dispositions, agents and queues, campaign contacts,
//! dialplan checks and uploads, every report, and the first admin key.

use std::path::Path;
use std::sync::Arc;

use kefu::api::{self, ApiState};
use kefu::runtime::metrics::Metrics;
use kefu::storage::sqlite::SqliteStore;
use kefu::storage::*;
use serde_json::{json, Value};

/// 2024-11-11T00:00:00Z.
const DAY0: Millis = 1_731_283_200_000;
const DAY: Millis = 86_400_000;
const HOUR: Millis = 3_600_000;

struct Server {
    base: String,
    store: Arc<SqliteStore>,
    admin: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// A request body.
enum B<'a> {
    None,
    Json(Value),
    Csv(&'a str),
    Text(&'a str),
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> String {
        let v = self
            .headers
            .get(name)
            .map(|v| v.to_str().expect("test fixture"));
        v.unwrap_or_default().to_string()
    }
    /// The `error` of a JSON error reply.
    fn error(&self) -> String {
        let v = self.json();
        assert_eq!(v["status"].as_u64(), Some(u64::from(self.status)), "{v}");
        v["error"].as_str().expect("test fixture").to_string()
    }
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("test fixture");
        let data = dir.path().join("data");
        let store = Arc::new(SqliteStore::open(&dir.path().join("kefu.db")).expect("test fixture"));
        let plans = dir.path().join("plans");
        std::fs::create_dir_all(&plans).expect("test fixture");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans");
        for f in ["shop.toml", "shop.faq.toml"] {
            std::fs::copy(root.join(f), plans.join(f)).expect("test fixture");
        }
        let main = plans.join("shop.toml");
        let loaded = kefu::dialplan::flow::load(&main).expect("test fixture");
        let status = kefu::dialplan::watch::Status::new(&loaded);
        let status = Arc::new(std::sync::RwLock::new(status));
        let path = api::ensure_admin_key(store.as_ref(), &data).expect("test fixture");
        let admin = std::fs::read_to_string(path.expect("test fixture")).expect("test fixture");
        seed(store.as_ref(), &data);
        let state = ApiState::new(store.clone(), Metrics::new(2), data).with_dialplan(status, main);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("test fixture");
        let addr = listener.local_addr().expect("test fixture");
        tokio::spawn(async move { axum::serve(listener, api::app(state)).await });
        Server {
            base: format!("http://{addr}"),
            store,
            admin: admin.trim().to_string(),
            dir,
            http: reqwest::Client::new(),
        }
    }

    /// `route` is `"METHOD /path"`; `key` none when empty; the reply's
    /// status must be `want`.
    async fn req(&self, want: u16, route: &str, key: &str, body: B<'_>) -> Reply {
        let (method, path) = route.split_once(' ').expect("test fixture");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("test fixture");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !key.is_empty() {
            req = req.bearer_auth(key);
        }
        req = match body {
            B::None => req,
            B::Json(v) => req
                .header("content-type", "application/json")
                .body(v.to_string()),
            B::Csv(t) => req.header("content-type", "text/csv").body(t.to_string()),
            B::Text(t) => req.header("content-type", "text/plain").body(t.to_string()),
        };
        let res = req.send().await.expect("test fixture");
        let reply = Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.bytes().await.expect("test fixture").to_vec(),
        };
        assert_eq!(reply.status, want, "{route}: {}", reply.text());
        reply
    }

    /// As the admin.
    async fn adm(&self, want: u16, route: &str, body: B<'_>) -> Reply {
        self.req(want, route, &self.admin, body).await
    }

    /// As the admin, with a JSON body.
    async fn js(&self, want: u16, route: &str, body: Value) -> Reply {
        self.adm(want, route, B::Json(body)).await
    }

    /// As the admin, with a text body.
    async fn tx(&self, want: u16, route: &str, body: &str) -> Reply {
        self.adm(want, route, B::Text(body)).await
    }

    /// As the admin, without a body.
    async fn at(&self, want: u16, route: &str) -> Reply {
        self.adm(want, route, B::None).await
    }

    /// `GET path` as the admin, 200, JSON.
    async fn get(&self, path: &str) -> Value {
        self.at(200, &format!("GET {path}")).await.json()
    }

    /// A new key with `role`, named after it.
    async fn key(&self, role: &str) -> String {
        let body = B::Json(json!({"name": role, "role": role}));
        let r = self.adm(201, "POST /api/keys", body).await.json();
        r["secret"].as_str().expect("test fixture").to_string()
    }
}

// Record constructors, one line per field group.
#[rustfmt::skip]
fn say(call: &str, speaker: Speaker, text: &str, at: Millis) -> Write {
    let line = Line {
        speaker, text: text.into(), started_at: at, ended_at: at + 1500,
        confidence: None, emotion: None, intent: None,
    };
    Write::Line { call: call.into(), line }
}

#[rustfmt::skip]
fn started(id: &str, caller: &str, dialplan: &str, at: Millis) -> Write {
    Write::CallStarted(NewCall {
        id: id.into(), direction: Direction::Inbound, sip_call_id: format!("{id}@sip"),
        caller: caller.into(), called: "4000".into(), dialplan: dialplan.into(),
        started_at: at, campaign_id: None, contact_id: None,
    })
}

#[rustfmt::skip]
fn ended(id: &str, at: Millis, outcome: Outcome, intents: &[&str], peak: &str) -> Write {
    let end = CallEnd {
        ended_at: at, end_reason: "remote_bye".into(), outcome,
        intents: intents.iter().map(|s| s.to_string()).collect(),
        emotion_start: Some("neutral".into()), emotion_end: Some(peak.into()),
        emotion_peak: Some(peak.into()), talk: TalkStats::default(),
    };
    Write::Ended { call: id.into(), end }
}

#[rustfmt::skip]
fn write(call: &str, what: &str, v: &str, at: Millis) -> Write {
    let call = call.to_string();
    match what {
        "answered" => Write::Answered { call, at },
        "intent" => Write::LineIntent { call, intent: v.into() },
        "emotion" => Write::LineEmotion { call, emotion: v.into() },
        "event" => Write::Event { call, event: Event { at, kind: v.into(), data: json!({}) } },
        _ => {
            let transfer = TransferInfo { target: v.into(), reason: "emotion".into(), at };
            Write::Transfer { call, transfer }
        }
    }
}

/// A one-second 8 kHz WAV at `path`; its size.
fn wav(path: &Path) -> i64 {
    std::fs::create_dir_all(path.parent().expect("test fixture")).expect("test fixture");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("test fixture");
    for i in 0..8000 {
        w.write_sample((i % 200) as i16 * 50).expect("test fixture");
    }
    w.finalize().expect("test fixture");
    std::fs::metadata(path).expect("test fixture").len() as i64
}

/// Three calls, newest first: c3 (missed), b2 (Chinese, angry,
/// transferred), a1 (resolved, tagged, recorded, inspected).
#[rustfmt::skip]
fn seed(store: &dyn Store, data: &Path) {
    let (a, b, c) = (DAY0 + HOUR, DAY0 + DAY + HOUR, DAY0 + 2 * DAY + HOUR);
    let bytes = wav(&data.join("recordings/a1.wav"));
    let flags = vec![QaFlag { code: "silence".into(), severity: "warning".into(), detail: "9 s".into() }];
    let recording = Recording {
        call_id: "a1".into(), path: "recordings/a1.wav".into(), format: "wav".into(),
        bytes, duration_ms: 1000, at: a + 90_000,
    };
    let batches = [
        vec![
            started("a1", "+8613800000001", "shop", a),
            write("a1", "answered", "", a + 1000),
            say("a1", Speaker::Bot, "Welcome to Bluebird.", a + 1000),
            say("a1", Speaker::Caller, "Where is my parcel, please?", a + 65_000),
            write("a1", "intent", "order_status", a + 66_000),
            write("a1", "event", "answered", a + 1000),
            Write::Tag { call: "a1".into(), phone: "+8613800000001".into(), tag: "vip".into(), at: a },
            ended("a1", a + 90_000, Outcome::Resolved, &["order_status"], "neutral"),
            Write::Recording(recording),
            Write::Qa { call: "a1".into(), result: QaResult { score: 80.0, flags, checks: json!({}), at: a + 91_000 } },
        ],
        vec![
            started("b2", "+8613900000002", "shop-zh", b),
            write("b2", "answered", "", b + 500),
            say("b2", Speaker::Caller, "我的快递三天了还没到！", b + 2000),
            write("b2", "intent", "complaint", b + 3000),
            write("b2", "emotion", "angry", b + 3000),
            write("b2", "transfer", "queue:after-sales", b + 5000),
            ended("b2", b + 60_000, Outcome::Transferred, &["complaint"], "angry"),
        ],
        vec![
            started("c3", "+15550000003", "shop", c),
            ended("c3", c + 3000, Outcome::Missed, &[], "neutral"),
        ],
    ];
    for batch in batches {
        store.apply(&batch).expect("test fixture");
    }
}

fn ids(v: &Value) -> Vec<&str> {
    let calls = v["calls"].as_array().expect("test fixture");
    calls
        .iter()
        .map(|c| c["id"].as_str().expect("test fixture"))
        .collect()
}

#[tokio::test]
async fn keys_and_roles_guard_every_route() {
    let s = Server::start().await;
    for open in ["/healthz", "/readyz", "/metrics", "/api/openapi.json"] {
        s.req(200, &format!("GET {open}"), "", B::None).await;
    }
    let none = s.req(401, "GET /api/calls", "", B::None).await;
    assert!(none.error().contains("API key"));
    assert!(none.header("www-authenticate").starts_with("Bearer"));
    s.req(401, "GET /api/calls", "kefu_nope", B::None).await;
    let x = s
        .http
        .get(format!("{}/api/status", s.base))
        .header("X-Api-Key", &s.admin);
    assert_eq!(x.send().await.unwrap().status(), 200);

    let reader = s.key("read_only").await;
    let agent = s.key("agent").await;
    s.req(200, "GET /api/calls", &reader, B::None).await;
    let review = || B::Json(json!({"score": 10, "note": "x"}));
    let denied = s.req(403, "PUT /api/calls/a1/qa", &reader, review()).await;
    assert!(denied.error().contains("supervisor"));
    s.req(403, "PUT /api/calls/a1/qa", &agent, review()).await;
    s.req(403, "GET /api/keys", &reader, B::None).await;
    s.req(403, "GET /api/webhooks", &agent, B::None).await;
    let dispo = B::Json(json!({"code": "callback"}));
    s.req(201, "POST /api/calls/a1/dispositions", &agent, dispo)
        .await;

    // Revoked keys stop working; the last admin key cannot be revoked.
    let keys = s.get("/api/keys").await;
    assert!(!keys.to_string().contains(&reader), "a secret was listed");
    let list = keys.as_array().unwrap();
    let id = |name: &str| list.iter().find(|k| k["name"] == name).unwrap()["id"].clone();
    s.at(204, &format!("DELETE /api/keys/{}", id("read_only")))
        .await;
    s.req(401, "GET /api/calls", &reader, B::None).await;
    s.at(409, &format!("DELETE /api/keys/{}", id("admin")))
        .await;
    s.js(400, "POST /api/keys", json!({"name": "x", "role": "root"}))
        .await;

    // Unknown routes, wrong methods and big bodies answer in JSON too.
    s.at(404, "GET /api/nothing").await.error();
    s.at(405, "PATCH /api/calls").await.error();
    let big = "#".repeat(2 << 20);
    let r = s.tx(413, "POST /api/dialplans/validate", &big).await;
    assert!(r.error().contains("too large"));
}

#[tokio::test]
async fn call_search_filters_and_csv_export() {
    let s = Server::start().await;
    assert_eq!(ids(&s.get("/api/calls").await), ["c3", "b2", "a1"]);
    let to_ms = format!("to={}", DAY0 + DAY);
    let cases = [
        ("number=13800", vec!["a1"]),
        ("number=%2B1555", vec!["c3"]),
        ("from=2024-11-12&to=2024-11-12", vec!["b2"]),
        ("from=2024-11-12T00:00:00Z", vec!["c3", "b2"]),
        (
            "from=2024-11-12T07:00:00%2B08:00&to=2024-11-12T10:00:00%2B08:00",
            vec!["b2"],
        ),
        (to_ms.as_str(), vec!["a1"]),
        ("intent=complaint", vec!["b2"]),
        ("emotion=upset", vec!["b2"]),
        ("emotion=neutral", vec!["c3", "b2", "a1"]),
        ("text=%E5%BF%AB%E9%80%92", vec!["b2"]),
        ("text=PARCEL", vec!["a1"]),
        ("outcome=missed", vec!["c3"]),
        ("dialplan=shop-zh", vec!["b2"]),
        ("tag=vip", vec!["a1"]),
        ("limit=1&offset=1", vec!["b2"]),
    ];
    for (q, want) in cases {
        assert_eq!(ids(&s.get(&format!("/api/calls?{q}")).await), want, "{q}");
    }
    let page = s.get("/api/calls?limit=2").await;
    assert_eq!((&page["limit"], &page["offset"]), (&json!(2), &json!(0)));
    let bad = [
        "emotion=furious",
        "from=yesterday",
        "limit=0",
        "limit=501",
        "outcome=won",
        "phone=1",
        "text=%ZZ",
        "from=2024-11-12&to=2024-11-11",
    ];
    for q in bad {
        let r = s.at(400, &format!("GET /api/calls?{q}")).await;
        assert!(!r.error().is_empty(), "{q}");
    }

    let csv = s.at(200, "GET /api/calls?format=csv&from=2024-11-11").await;
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.header("content-disposition").starts_with("attachment"));
    let rows = api::csv::read(&csv.text()).unwrap();
    let col = |name: &str| rows[0].fields.iter().position(|c| c == name).unwrap();
    let got: Vec<[&str; 4]> = rows[1..]
        .iter()
        .map(|r| {
            [col("id"), col("outcome"), col("tags"), col("intents")].map(|i| r.fields[i].as_str())
        })
        .collect();
    let want = [
        ["c3", "missed", "", ""],
        ["b2", "transferred", "", "complaint"],
        ["a1", "resolved", "vip", "order_status"],
    ];
    assert_eq!(got, want);
    assert_eq!(
        rows[2].fields[col("started_at")],
        "2024-11-12T01:00:00.000Z"
    );
    assert_eq!(rows[3].fields[col("duration_s")], "89.0");
    let one = s.at(200, "GET /api/calls?format=csv&text=%E5%BF%AB").await;
    let rows = api::csv::read(&one.text()).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].fields[col("caller")], "+8613900000002");
}

#[tokio::test]
async fn call_detail_transcript_events_and_recording() {
    let s = Server::start().await;
    let d = s.get("/api/calls/a1").await;
    assert_eq!(
        (&d["id"], &d["recording"]["format"]),
        (&json!("a1"), &json!("wav"))
    );
    assert_eq!(d["lines"].as_array().unwrap().len(), 2);
    s.at(404, "GET /api/calls/nope").await.error();

    let t = s.at(200, "GET /api/calls/a1/transcript?format=text").await;
    let want = "[00:00] bot: Welcome to Bluebird.\n[01:04] caller: Where is my parcel, please?\n";
    assert_eq!(t.text(), want);
    let tj = s.get("/api/calls/b2/transcript").await;
    assert_eq!(tj["lines"][0]["text"], "我的快递三天了还没到！");
    assert_eq!(tj["lines"][0]["intent"], "complaint");
    assert_eq!(
        s.get("/api/calls/a1/events").await["events"][0]["kind"],
        "answered"
    );

    let path = s.dir.path().join("data/recordings/a1.wav");
    let file = std::fs::read(&path).unwrap();
    let whole = s.at(200, "GET /api/calls/a1/recording").await;
    assert_eq!(whole.header("content-type"), "audio/wav");
    assert_eq!(whole.header("content-length"), file.len().to_string());
    assert_eq!(whole.body, file);
    let ranged = |range: &'static str| {
        let url = format!("{}/api/calls/a1/recording", s.base);
        s.http
            .get(url)
            .bearer_auth(&s.admin)
            .header("range", range)
            .send()
    };
    let part = ranged("bytes=44-143").await.unwrap();
    assert_eq!(part.status(), 206);
    let len = file.len();
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 44-143/{len}").as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &file[44..144]);
    let tail = ranged("bytes=-10").await.unwrap();
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &file[len - 10..]);
    assert_eq!(ranged("bytes=999999-").await.unwrap().status(), 416);
    s.at(404, "GET /api/calls/b2/recording").await;
    std::fs::remove_file(&path).unwrap();
    let gone = s.at(404, "GET /api/calls/a1/recording").await;
    assert!(gone.error().contains("not on disk"));
}

#[tokio::test]
async fn qa_review_counts_in_the_quality_report_and_dispositions_are_kept() {
    let s = Server::start().await;
    let report = "/api/reports/quality?from=2024-11-11&to=2024-11-20";
    assert_eq!(s.get(report).await["summary"]["average_score"], 80.0);
    assert_eq!(s.get("/api/calls/a1/qa").await["score"], 80.0);
    s.at(404, "GET /api/calls/b2/qa").await;

    let sup = s.key("supervisor").await;
    let body = B::Json(json!({"score": 95, "note": "fine"}));
    let r = s.req(200, "PUT /api/calls/a1/qa", &sup, body).await.json();
    assert_eq!(
        (&r["review"]["reviewer"], &r["score"]),
        (&json!("supervisor"), &json!(95.0))
    );
    for bad in [
        json!({"score": 101, "note": "x"}),
        json!({"note": ""}),
        json!({"score": "high"}),
    ] {
        s.req(400, "PUT /api/calls/a1/qa", &sup, B::Json(bad)).await;
    }
    s.req(
        404,
        "PUT /api/calls/b2/qa",
        &sup,
        B::Json(json!({"note": "x"})),
    )
    .await;
    let after = s.get(report).await;
    assert_eq!(after["summary"]["average_score"], 95.0);
    assert_eq!(after["summary"]["reviewed"], 1);

    let head = s.store.outbox_head().unwrap();
    let body = B::Json(json!({"code": "refund_promised", "note": "call back"}));
    s.adm(201, "POST /api/calls/b2/dispositions", body).await;
    assert_eq!(
        s.get("/api/calls/b2").await["dispositions"][0]["code"],
        "refund_promised"
    );
    let queued = s.store.outbox_after(head, 10).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].event.kind, "disposition");
    assert_eq!(queued[0].event.payload["code"], "refund_promised");
    s.js(
        400,
        "POST /api/calls/b2/dispositions",
        json!({"code": "bad code"}),
    )
    .await;
    s.js(404, "POST /api/calls/zz/dispositions", json!({"code": "x"}))
        .await;
}

#[tokio::test]
async fn agents_and_queues_are_checked_and_stored() {
    let s = Server::start().await;
    let alice = json!({"name": "Alice", "uri": "sip:alice@10.0.0.5", "skills": ["after-sales"],
        "languages": ["zh"], "max_calls": 2});
    s.js(200, "PUT /api/agents/alice", alice.clone()).await;
    assert_eq!(s.get("/api/agents/alice").await["max_calls"], 2);
    assert_eq!(s.get("/api/agents").await.as_array().unwrap().len(), 1);
    for (field, value) in [
        ("max_calls", json!(0)),
        ("uri", json!("http://x")),
        ("skills", json!(["a b"])),
    ] {
        let mut bad = alice.clone();
        bad[field] = value;
        let r = s.js(400, "PUT /api/agents/alice", bad).await;
        assert!(r.error().contains(field), "{field}");
    }
    s.js(400, "PUT /api/agents/a%20b", alice.clone()).await;
    let r = s
        .js(400, "PUT /api/agents/bob", json!({"name": "Bob"}))
        .await;
    assert!(r.error().contains("uri"));
    let sup = s.key("supervisor").await;
    s.req(403, "DELETE /api/agents/alice", &sup, B::None).await;
    s.at(204, "DELETE /api/agents/alice").await;
    s.at(404, "GET /api/agents/alice").await;

    let q = json!({"skills": ["after-sales"], "max_wait_secs": 60});
    s.req(200, "PUT /api/queues/after-sales", &sup, B::Json(q))
        .await;
    assert_eq!(s.get("/api/queues/after-sales").await["max_wait_secs"], 60);
    s.js(
        400,
        "PUT /api/queues/after-sales",
        json!({"max_wait_secs": 0}),
    )
    .await;
    let extra = B::Json(json!({"max_wait_secs": 5, "colour": "red"}));
    assert!(s
        .adm(400, "PUT /api/queues/x", extra)
        .await
        .error()
        .contains("colour"));
    s.at(204, "DELETE /api/queues/after-sales").await;
    assert_eq!(s.get("/api/queues").await, json!([]));
}

#[tokio::test]
async fn contacts_upload_is_all_or_nothing() {
    let s = Server::start().await;
    let d11 = json!({"id": "d11", "name": "Double 11", "dialplan": "shop"});
    let r = s.js(201, "POST /api/campaigns", d11.clone()).await;
    assert_eq!(r.json()["status"], "draft");
    s.js(409, "POST /api/campaigns", d11).await;
    let auto = B::Json(json!({"name": "Auto", "dialplan": "shop"}));
    let made = s.adm(201, "POST /api/campaigns", auto).await.json();
    let id = made["id"].as_str().unwrap();
    assert_eq!(s.get(&format!("/api/campaigns/{id}")).await["name"], "Auto");

    let bad = "phone,name,order\r\n+8613800000001,Wang,A1\r\n12x,Li,A2\r\n+8613800000003,Zhao\r\n";
    let r = s
        .adm(400, "POST /api/campaigns/d11/contacts", B::Csv(bad))
        .await;
    let errors = r.json()["errors"].clone();
    assert!(
        errors[0].as_str().unwrap().starts_with("row 3: phone"),
        "{errors}"
    );
    assert!(
        errors[1].as_str().unwrap().starts_with("row 4:"),
        "{errors}"
    );
    assert_eq!(s.get("/api/campaigns/d11/contacts").await, json!([]));

    let good = "phone,name,order\n+8613800000001,\"Wang, Wei\",A1\n13800000002,李,A2\n";
    let r = s
        .adm(201, "POST /api/campaigns/d11/contacts", B::Csv(good))
        .await;
    assert_eq!(r.json()["added"], 2);
    let list = s.get("/api/campaigns/d11/contacts").await;
    assert_eq!(
        (&list[0]["name"], &list[1]["data"]["order"]),
        (&json!("Wang, Wei"), &json!("A2"))
    );
    let two = B::Json(json!([{"phone": "+15550001"}, {"phone": ""}]));
    let r = s.adm(400, "POST /api/campaigns/d11/contacts", two).await;
    assert!(r.json()["errors"][0]
        .as_str()
        .unwrap()
        .starts_with("item 2"));
    s.js(
        404,
        "POST /api/campaigns/none/contacts",
        json!([{"phone": "123"}]),
    )
    .await;
}

#[tokio::test]
async fn dialplans_are_checked_before_upload() {
    let s = Server::start().await;
    let plans = s.dir.path().join("plans");
    let shop = std::fs::read_to_string(plans.join("shop.toml")).unwrap();
    let ok = s.tx(200, "POST /api/dialplans/validate", &shop).await;
    assert_eq!(ok.json(), json!({"ok": true, "errors": []}));
    let broken = shop.replacen("start = \"greet\"", "start = \"nowhere\"", 1);
    assert_ne!(broken, shop);
    let r = s
        .tx(200, "POST /api/dialplans/validate?name=shop.toml", &broken)
        .await;
    let r = r.json();
    assert_eq!(r["ok"], false);
    let first = r["errors"][0].as_str().unwrap();
    assert!(
        first.starts_with("shop.toml:") && first.contains("nowhere"),
        "{first}"
    );
    let line: usize = first.split(':').nth(1).unwrap().parse().unwrap();
    let want = shop
        .lines()
        .position(|l| l.starts_with("start = "))
        .unwrap()
        + 1;
    assert_eq!(line, want, "{first}");
    let r = s
        .tx(200, "POST /api/dialplans/validate", "a = 1\nstart = [")
        .await;
    assert!(
        r.json()["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("shop.toml:2"),
        "{}",
        r.text()
    );

    // A broken file is refused and nothing changes, a FAQ edit included.
    let r = s.tx(422, "PUT /api/dialplans/shop.toml", &broken).await;
    assert!(!r.json()["errors"].as_array().unwrap().is_empty());
    assert_eq!(
        std::fs::read_to_string(plans.join("shop.toml")).unwrap(),
        shop
    );
    let r = s
        .tx(422, "PUT /api/dialplans/shop.faq.toml", "[[faq]\n")
        .await;
    assert!(r.json()["errors"][0]
        .as_str()
        .unwrap()
        .starts_with("shop.faq.toml:1"));
    let sup = s.key("supervisor").await;
    s.req(403, "PUT /api/dialplans/shop.toml", &sup, B::Text(&shop))
        .await;
    s.tx(400, "PUT /api/dialplans/..%2Fx.toml", &shop).await;
    s.tx(400, "PUT /api/dialplans/x.txt", &shop).await;

    let edited = shop.replacen("shop = \"Bluebird\"", "shop = \"Redbird\"", 1);
    assert_ne!(edited, shop);
    let r = s.tx(200, "PUT /api/dialplans/shop.toml", &edited).await;
    assert_eq!(r.json()["created"], false);
    assert_eq!(
        std::fs::read_to_string(plans.join("shop.toml")).unwrap(),
        edited
    );
    let files: Vec<_> = std::fs::read_dir(&plans)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(s.get("/api/dialplans").await[0]["name"], "shop");
}

#[tokio::test]
async fn every_report_as_json_and_csv() {
    let s = Server::start().await;
    let list = s.get("/api/reports").await;
    let names: Vec<&str> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ReportKind::ALL.map(ReportKind::as_str));
    // The 11th and 12th: `to` as a date includes its day.
    let range = "from=2024-11-11&to=2024-11-12";
    for name in names {
        let j = s.get(&format!("/api/reports/{name}?{range}")).await;
        assert_eq!(j["kind"], name);
        let c = s
            .at(200, &format!("GET /api/reports/{name}?{range}&format=csv"))
            .await;
        assert!(c
            .header("content-disposition")
            .contains(&format!("{name}.csv")));
        let rows = api::csv::read(&c.text()).unwrap();
        let header: Vec<Value> = rows[0].fields.iter().map(|f| json!(f)).collect();
        assert_eq!(Value::Array(header), j["columns"], "{name}");
        assert_eq!(
            rows.len() - 1,
            j["rows"].as_array().unwrap().len(),
            "{name}"
        );
    }
    let calls = s.get(&format!("/api/reports/calls?{range}")).await;
    assert_eq!(calls["rows"].as_array().unwrap().len(), 2, "{calls}");
    let contained = s.get(&format!("/api/reports/containment?{range}")).await;
    assert_eq!(
        (
            &contained["summary"]["calls"],
            &contained["summary"]["transferred"]
        ),
        (&json!(2), &json!(1))
    );
    let hourly = s
        .get(&format!(
            "/api/reports/calls?{range}&bucket=hour&tz_offset_min=480"
        ))
        .await;
    assert_eq!(hourly["rows"].as_array().unwrap().len(), 48);
    s.at(404, "GET /api/reports/nothing").await.error();
    s.at(400, "GET /api/reports/calls?bucket=week").await;
    s.at(400, "GET /api/reports/calls?from=2024-11-13&to=2024-11-11")
        .await;
}

#[tokio::test]
async fn status_and_readiness_are_served() {
    let s = Server::start().await;
    let doc = s
        .req(200, "GET /api/openapi.json", "", B::None)
        .await
        .json();
    assert_eq!(doc["openapi"], "3.1.0");
    let st = s.get("/api/status").await;
    assert_eq!(
        (&st["dialplan"]["name"], &st["active_calls"]),
        (&json!("shop"), &json!(0))
    );
    assert_eq!(
        s.req(200, "GET /readyz", "", B::None).await.json()["ready"],
        true
    );
    let metrics = s.req(200, "GET /metrics", "", B::None).await.text();
    assert!(metrics.contains("kefu_calls_total"));
    assert_eq!(s.get("/api/webhooks").await, json!({"endpoints": []}));
}

#[test]
fn the_first_admin_key_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kefu.db")).unwrap();
    let data = dir.path().join("data");
    let path = api::ensure_admin_key(&store, &data).unwrap().unwrap();
    assert_eq!(path, data.join(api::ADMIN_KEY_FILE));
    let text = std::fs::read_to_string(&path).unwrap();
    let secret = text.strip_suffix('\n').unwrap();
    assert!(secret.starts_with("kefu_") && !secret.contains(char::is_whitespace));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = store
        .api_key_by_hash(&api::auth::secret_hash(secret), 1)
        .unwrap()
        .unwrap();
    assert_eq!((key.name.as_str(), key.role), ("admin", Role::Admin));
    assert_eq!(api::ensure_admin_key(&store, &data).unwrap(), None);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(store.api_keys().unwrap().len(), 1);
}
