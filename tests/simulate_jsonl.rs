//! `kefu simulate --jsonl` as a script sees it: one JSON object per line
//! read, with the stable fields, against the bundled plans and a real CRM
//! on 127.0.0.1 (or a closed port); world commands (`/emotion`, `/agents`),
//! malformed commands, silence, and a broken dialplan (exit code 2).

mod child;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use child::Finished;

const CALLER: &str = "+8613800000000";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn plan_path(name: &str) -> PathBuf {
    root().join("dialplans").join(name)
}

/// A text of the bundled plan: `steps.STEP.KEY` (so the tests follow the
/// operator's wording instead of copying it).
fn plan_text(plan: &str, step: &str, key: &str) -> String {
    let path = plan_path(plan);
    let text = std::fs::read_to_string(&path).expect("read the plan");
    let table: toml::Table = toml::from_str(&text).expect("the plan is TOML");
    table["steps"][step][key]
        .as_str()
        .unwrap_or_else(|| panic!("{plan}: no steps.{step}.{key}"))
        .to_string()
}

// ---------------------------------------------------------------- the CRM

/// A CRM on 127.0.0.1 with the routes the shop plans use; it notes every
/// request path it gets.
struct Crm {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Crm {
    fn start() -> Crm {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind the CRM");
                let addr = listener.local_addr().expect("CRM address");
                let app = axum::Router::new().fallback(move |req: Request| {
                    let log = Arc::clone(&log);
                    async move {
                        let path = kefu::dialplan::cases::percent_decode(req.uri().path());
                        log.lock().expect("lock").push(path.clone());
                        route(&path)
                    }
                });
                ready_tx.send(format!("http://{addr}")).expect("ready");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("serve the CRM");
            });
        });
        let base = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the CRM started");
        Crm {
            base,
            seen,
            _stop: stop_tx,
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

fn route(path: &str) -> Response {
    let body = match path {
        "/orders/12345678" => json!({
            "status": "shipped",
            "delivery": { "eta": "Tuesday", "carrier": "UPS" }
        }),
        "/customers/+8613800000000" => json!({ "vip_level": 0, "tags": "" }),
        "/customers/+8613900000003" => json!({ "vip_level": 3, "tags": "vip" }),
        _ => return (StatusCode::NOT_FOUND, "{\"error\":\"not found\"}").into_response(),
    };
    axum::Json(body).into_response()
}

/// A CRM address where nothing listens.
fn closed_crm() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("address");
    drop(l);
    format!("http://{addr}")
}

// ---------------------------------------------------------------- running it

/// Runs `kefu simulate --jsonl PLAN --var crm=CRM --caller CALLER EXTRA...`
/// with `lines` on stdin; checks the exit code (0) and that there is one
/// well-formed object per line, in order; returns them.
fn simulate(plan: &str, crm: &str, caller: &str, extra: &[&str], lines: &[&str]) -> Vec<Value> {
    let plan = plan_path(plan).display().to_string();
    let var = format!("crm={crm}");
    let mut args = vec![
        "simulate",
        "--jsonl",
        plan.as_str(),
        "--var",
        var.as_str(),
        "--caller",
        caller,
    ];
    args.extend_from_slice(extra);
    let stdin: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = child::kefu(root(), &args, &stdin);
    assert_eq!(out.code, Some(0), "exit code; stderr:\n{}", out.stderr);
    let objects: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{out:?}")))
        .collect();
    assert_eq!(
        objects.len(),
        lines.len(),
        "one object per line read; stdout:\n{}",
        out.stdout
    );
    for (i, (obj, line)) in objects.iter().zip(lines).enumerate() {
        assert_schema(obj, i + 1, line);
    }
    objects
}

/// The stable fields, with their types.
fn assert_schema(obj: &Value, n: usize, line: &str) {
    let o = obj
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {obj}"));
    let field = |name: &str| {
        o.get(name)
            .unwrap_or_else(|| panic!("line {n}: no `{name}` in {obj}"))
    };
    let null_or = |v: &Value, ok: fn(&Value) -> bool| v.is_null() || ok(v);
    assert_eq!(field("line").as_u64(), Some(n as u64), "line number: {obj}");
    assert_eq!(field("input").as_str(), Some(line), "input: {obj}");
    assert!(null_or(field("intent"), Value::is_string), "intent: {obj}");
    let confidence = field("confidence")
        .as_f64()
        .expect("confidence is a number");
    assert!((0.0..=1.0).contains(&confidence), "confidence: {obj}");
    assert!(null_or(field("step"), Value::is_string), "step: {obj}");
    assert!(field("reply").is_string(), "reply: {obj}");
    let emotion = field("emotion").as_str().expect("emotion is text");
    assert!(
        ["neutral", "concerned", "upset", "angry"].contains(&emotion),
        "emotion: {obj}"
    );
    let score = field("emotion_score")
        .as_f64()
        .expect("emotion_score is a number");
    assert!((0.0..=1.0).contains(&score), "emotion_score: {obj}");
    assert!(
        null_or(field("transfer"), Value::is_string),
        "transfer: {obj}"
    );
    assert!(field("hangup").is_boolean(), "hangup: {obj}");
    assert!(null_or(field("faq"), Value::is_string), "faq: {obj}");
    assert!(null_or(field("slot"), Value::is_object), "slot: {obj}");
    assert!(field("tags").is_array(), "tags: {obj}");
    assert!(field("ended").is_boolean(), "ended: {obj}");
    let errors = field("errors").as_array().expect("errors is an array");
    assert!(errors.iter().all(Value::is_string), "errors: {obj}");
    if n == 1 {
        assert!(field("greeting").is_string(), "greeting: {obj}");
    } else {
        assert!(o.get("greeting").is_none(), "greeting after line 1: {obj}");
    }
}

fn text<'a>(obj: &'a Value, name: &str) -> &'a str {
    obj[name]
        .as_str()
        .unwrap_or_else(|| panic!("`{name}` is not text in {obj}"))
}

fn errors(obj: &Value) -> usize {
    obj["errors"].as_array().map_or(0, Vec::len)
}

// ---------------------------------------------------------------- the tests

#[test]
fn order_status_from_a_real_crm_then_a_person() {
    let crm = Crm::start();
    let out = simulate(
        "shop.toml",
        &crm.base,
        CALLER,
        &[],
        &[
            "where is my order",
            "/dtmf 12345678#",
            "I want to talk to a person",
        ],
    );
    let [asked, looked_up, person] = &out[..] else {
        unreachable!("simulate checked the count")
    };
    assert_eq!(asked["intent"], "order_status", "{asked}");
    assert_eq!(asked["step"], "ask_order", "{asked}");
    assert!(asked["transfer"].is_null(), "{asked}");
    assert!(!text(asked, "greeting").is_empty(), "{asked}");

    // The CRM's answer is read out: status shipped, its carrier and date.
    let reply = text(looked_up, "reply");
    let shipped = plan_text("shop.toml", "status_shipped", "say")
        .replace("{order_id:digits}", "1 2 3 4 5 6 7 8")
        .replace("{order_id}", "12345678")
        .replace("{carrier}", "UPS")
        .replace("{eta}", "Tuesday");
    assert!(
        reply.contains(&shipped),
        "not the shipped reply: {looked_up}"
    );
    assert!(
        reply.contains("UPS") && reply.contains("Tuesday"),
        "{looked_up}"
    );
    assert_eq!(
        looked_up["slot"],
        json!({"name": "order_id", "value": "12345678"})
    );
    assert!(looked_up["transfer"].is_null(), "{looked_up}");
    assert_eq!(errors(looked_up), 0, "{looked_up}");
    let seen = crm.seen();
    assert!(
        seen.iter().any(|p| p == "/orders/12345678"),
        "the CRM never got the order request: {seen:?}"
    );
    assert!(
        seen.iter().any(|p| p == "/customers/+8613800000000"),
        "the CRM never got the profile request: {seen:?}"
    );

    assert_eq!(person["intent"], "human_agent", "{person}");
    assert_eq!(person["transfer"], "queue:after_sales", "{person}");
    assert_eq!(person["hangup"], false, "{person}");
}

#[test]
fn vip_profile_from_the_crm_changes_the_greeting() {
    let crm = Crm::start();
    let out = simulate("shop.toml", &crm.base, "+8613900000003", &[], &["/vars"]);
    let vip = plan_text("shop.toml", "greet_vip", "say");
    let first = vip.split('.').next().expect("a sentence");
    assert!(
        text(&out[0], "greeting").contains(first),
        "no VIP greeting: {}",
        out[0]
    );
}

#[test]
fn crm_down_gives_the_apology_and_no_crash() {
    let out = simulate(
        "shop.toml",
        &closed_crm(),
        CALLER,
        &[],
        &["where is my order", "/dtmf 12345678#"],
    );
    let apology = plan_text("shop.toml", "crm_down", "say");
    assert!(
        text(&out[1], "reply").contains(&apology),
        "no CRM apology: {}",
        out[1]
    );
    assert_eq!(out[1]["step"], "crm_down", "{}", out[1]);
    assert!(out[1]["transfer"].is_null(), "{}", out[1]);
    assert_eq!(out[1]["ended"], false, "{}", out[1]);
    assert_eq!(errors(&out[1]), 0, "{}", out[1]);
}

#[test]
fn angry_complaint_is_transferred() {
    let out = simulate(
        "shop.toml",
        &closed_crm(),
        CALLER,
        &[],
        &[
            "/emotion angry",
            "this is unacceptable, I want to make a complaint",
        ],
    );
    assert_eq!(out[0]["emotion"], "angry", "{}", out[0]);
    assert_eq!(
        out[0]["reply"], "",
        "a world command says nothing: {}",
        out[0]
    );
    assert_eq!(out[1]["intent"], "complaint", "{}", out[1]);
    assert_eq!(out[1]["transfer"], "queue:after_sales", "{}", out[1]);
}

#[test]
fn calm_complaint_is_offered_a_colleague_first() {
    let out = simulate(
        "shop.toml",
        &closed_crm(),
        CALLER,
        &[],
        &["I want to make a complaint"],
    );
    assert_eq!(out[0]["intent"], "complaint", "{}", out[0]);
    assert!(out[0]["transfer"].is_null(), "{}", out[0]);
    let offer = plan_text("shop.toml", "complaint_offer", "confirm");
    assert!(text(&out[0], "reply").contains(&offer), "{}", out[0]);
}

#[test]
fn busy_agents_keep_the_caller_until_asked_twice() {
    let out = simulate(
        "shop.toml",
        &closed_crm(),
        CALLER,
        &[],
        &[
            "/agents busy",
            "I want to talk to a person",
            "I want to talk to a person",
        ],
    );
    assert_eq!(out[1]["intent"], "human_agent", "{}", out[1]);
    assert!(
        out[1]["transfer"].is_null(),
        "transferred while busy: {}",
        out[1]
    );
    assert_eq!(out[1]["ended"], false, "{}", out[1]);
    assert_eq!(out[1]["hangup"], false, "{}", out[1]);
    assert_ne!(out[1]["step"], "agent", "{}", out[1]);
    assert_eq!(out[2]["intent"], "human_agent", "{}", out[2]);
    assert_eq!(out[2]["transfer"], "queue:after_sales", "{}", out[2]);
}

#[test]
fn agents_busy_flag_is_the_same_as_the_command() {
    let out = simulate(
        "shop.toml",
        &closed_crm(),
        CALLER,
        &["--agents-busy"],
        &["I want to talk to a person"],
    );
    assert!(
        out[0]["transfer"].is_null(),
        "transferred while busy: {}",
        out[0]
    );
    assert_eq!(out[0]["ended"], false, "{}", out[0]);
}

#[test]
fn chinese_plan_understands_where_is_my_parcel() {
    let out = simulate(
        "shop-zh.toml",
        &closed_crm(),
        CALLER,
        &[],
        &["我的快递到哪了"],
    );
    assert_eq!(out[0]["intent"], "order_status", "{}", out[0]);
    assert_eq!(out[0]["step"], "ask_order", "{}", out[0]);
    let ask = plan_text("shop-zh.toml", "ask_order", "ask");
    assert!(text(&out[0], "reply").contains(&ask), "{}", out[0]);
}

#[test]
fn chinese_plan_apologises_when_the_crm_is_down() {
    let out = simulate(
        "shop-zh.toml",
        &closed_crm(),
        CALLER,
        &[],
        &["我的快递到哪了", "/dtmf 12345678#"],
    );
    let apology = plan_text("shop-zh.toml", "crm_down", "say");
    assert!(text(&out[1], "reply").contains(&apology), "{}", out[1]);
}

#[test]
fn malformed_commands_are_reported_and_the_call_goes_on() {
    let out = simulate(
        "shop.toml",
        &closed_crm(),
        CALLER,
        &[],
        &[
            "/dtmf abc",
            "/emotion sideways",
            "/agents maybe",
            "/frobnicate",
            "where is my order",
        ],
    );
    for obj in &out[..4] {
        assert!(errors(obj) > 0, "no error: {obj}");
        assert!(
            obj["errors"][0].as_str().is_some_and(|e| !e.is_empty()),
            "empty error: {obj}"
        );
        assert_eq!(obj["reply"], "", "{obj}");
        assert_eq!(obj["step"], "menu", "{obj}");
    }
    assert!(
        out[0]["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("abc")),
        "the error should quote the bad keys: {}",
        out[0]
    );
    assert_eq!(errors(&out[4]), 0, "{}", out[4]);
    assert_eq!(out[4]["intent"], "order_status", "{}", out[4]);
}

#[test]
fn empty_line_is_silence() {
    let out = simulate("shop.toml", &closed_crm(), CALLER, &[], &["", "/silence"]);
    let no_input = plan_text("shop.toml", "menu", "no_input");
    assert_eq!(out[0]["reply"], no_input.as_str(), "{}", out[0]);
    assert!(out[0]["intent"].is_null(), "{}", out[0]);
    assert_eq!(errors(&out[0]), 0, "{}", out[0]);
    // A second silence uses up the menu's retries: a colleague takes over.
    assert_eq!(out[1]["transfer"], "queue:after_sales", "{}", out[1]);
}

#[test]
fn lines_after_the_end_still_get_an_object() {
    let out = simulate(
        "shop.toml",
        &closed_crm(),
        CALLER,
        &[],
        &["I want to talk to a person", "hello?", "/dtmf 1"],
    );
    assert_eq!(out[0]["ended"], true, "{}", out[0]);
    for obj in &out[1..] {
        assert_eq!(obj["ended"], true, "{obj}");
        assert_eq!(obj["reply"], "", "{obj}");
        assert!(obj["transfer"].is_null(), "{obj}");
    }
}

#[test]
fn broken_dialplan_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "language = \"en\"\nstart = \"greet\"\n\n[steps.greet]\nsay = \"Hello.\"\nnext = \"menuu\"\n\n[steps.menu]\nask = \"How can I help?\"\n";
    std::fs::write(dir.path().join("plan.toml"), text).expect("write");
    let out: Finished = child::kefu(dir.path(), &["simulate", "--jsonl", "plan.toml"], "hello\n");
    assert_eq!(out.code, Some(2), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("plan.toml:6: unknown step `menuu`"),
        "stderr:\n{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "stdout:\n{}", out.stdout);
}

#[test]
fn bad_var_option_exits_2() {
    let plan = plan_path("shop.toml").display().to_string();
    let out = child::kefu(
        root(),
        &["simulate", "--jsonl", plan.as_str(), "--var", "crm"],
        "",
    );
    assert_eq!(out.code, Some(2), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("NAME=VALUE"), "stderr:\n{}", out.stderr);
}
