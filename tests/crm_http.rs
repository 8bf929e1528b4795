//! `kefu::crm` against a real HTTP server on 127.0.0.1: field mapping,
//! request shape as the server sees it, timeouts, retries, status codes,
//! bad replies, refused connections, the LLM fallback and the blocking
//! facade.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use kefu::crm::{map_fields, BlockingCrm, Crm};
use kefu_core::dialogue::http::{HttpFailure, HttpRequest, LlmRequest};
use serde_json::{json, Value};

/// What the server saw: hits per path, the last POST.
#[derive(Default)]
struct Seen {
    hits: Mutex<HashMap<String, u32>>,
    post: Mutex<Option<(HeaderMap, String)>>,
}

impl Seen {
    fn hit(&self, path: &str) -> u32 {
        let mut hits = self.hits.lock().expect("lock");
        let n = hits.entry(path.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    fn hits(&self, path: &str) -> u32 {
        self.hits
            .lock()
            .expect("lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

type Shared = State<Arc<Seen>>;

async fn order(State(seen): Shared) -> Json<Value> {
    seen.hit("/order");
    Json(json!({
        "order": { "status": "shipped", "total": 42, "price": 12.5, "weight": 3.0,
                   "paid": true, "note": null, "lines": [1, 2] },
        "items": [ { "name": "kettle" }, { "name": "mug" } ],
    }))
}

async fn echo(State(seen): Shared, headers: HeaderMap, body: String) -> Json<Value> {
    seen.hit("/echo");
    *seen.post.lock().expect("lock") = Some((headers, body));
    Json(json!({ "ok": true, "id": 7 }))
}

async fn slow(State(seen): Shared) -> Json<Value> {
    seen.hit("/slow");
    tokio::time::sleep(Duration::from_secs(3)).await;
    Json(json!({ "status": "late" }))
}

async fn flaky(State(seen): Shared) -> axum::response::Response {
    if seen.hit("/flaky") == 1 {
        return (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response();
    }
    Json(json!({ "status": "ok" })).into_response()
}

async fn missing(State(seen): Shared) -> StatusCode {
    seen.hit("/missing");
    StatusCode::NOT_FOUND
}

async fn html(State(seen): Shared) -> impl IntoResponse {
    seen.hit("/html");
    (
        [("content-type", "text/html")],
        "<html><body>Login</body></html>",
    )
}

async fn empty(State(seen): Shared) -> StatusCode {
    seen.hit("/empty");
    StatusCode::NO_CONTENT
}

async fn big() -> String {
    format!("{{\"pad\":\"{}\"}}", "x".repeat(2 << 20))
}

/// An OpenAI-compatible endpoint that checks what it is sent.
async fn llm(headers: HeaderMap, Json(body): Json<Value>) -> axum::response::Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some("Bearer sk-test") {
        return (StatusCode::UNAUTHORIZED, "no key").into_response();
    }
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["role"].as_str()).collect())
        .unwrap_or_default();
    let ok = roles == ["system", "user", "assistant", "user"]
        && body["messages"][0]["content"] == "You are a shop assistant."
        && body["messages"][3]["content"] == "where is my parcel?"
        && body["model"] == "tiny"
        && body["max_tokens"] == 64
        && body["temperature"] == 0.2;
    if !ok {
        return (StatusCode::BAD_REQUEST, "unexpected request").into_response();
    }
    Json(json!({
        "choices": [ { "message": { "role": "assistant", "content": "  It left today.\n" } } ]
    }))
    .into_response()
}

async fn llm_slow() -> Json<Value> {
    tokio::time::sleep(Duration::from_secs(3)).await;
    Json(json!({ "choices": [ { "message": { "content": "late" } } ] }))
}

async fn llm_bad() -> Json<Value> {
    Json(json!({ "choices": [] }))
}

async fn llm_blank() -> Json<Value> {
    Json(json!({ "choices": [ { "message": { "content": "   " } } ] }))
}

/// Start the test server on 127.0.0.1:0 in the current runtime.
async fn serve() -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/order", get(order))
        .route("/echo", post(echo))
        .route("/slow", any(slow))
        .route("/flaky", get(flaky))
        .route("/missing", get(missing))
        .route("/html", any(html))
        .route("/empty", any(empty))
        .route("/big", get(big))
        .route("/v1/chat/completions", post(llm))
        .route("/llm-slow", post(llm_slow))
        .route("/llm-bad", post(llm_bad))
        .route("/llm-blank", post(llm_blank))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (addr, seen)
}

fn get_req(addr: SocketAddr, path: &str, map: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url: format!("http://{addr}{path}"),
        headers: Vec::new(),
        body: None,
        timeout: Duration::from_secs(2),
        retries: 0,
        map: map
            .iter()
            .map(|(v, p)| (v.to_string(), p.to_string()))
            .collect(),
    }
}

fn llm_req(addr: SocketAddr, path: &str) -> LlmRequest {
    LlmRequest {
        url: format!("http://{addr}{path}"),
        key: Some("sk-test".into()),
        model: "tiny".into(),
        system: "You are a shop assistant.".into(),
        history: vec![
            (true, "hello".into()),
            (false, "Hello, how can I help?".into()),
            (true, "where is my parcel?".into()),
        ],
        timeout: Duration::from_secs(2),
        max_tokens: 64,
    }
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn maps_nested_fields_array_indices_and_numbers() {
    let (addr, seen) = serve().await;
    let crm = Crm::new().expect("client");
    let map = [
        ("status", "order.status"),
        ("total", "order.total"),
        ("price", "order.price"),
        ("weight", "order.weight"),
        ("paid", "order.paid"),
        ("second", "items.1.name"),
    ];
    let got = crm.perform(&get_req(addr, "/order", &map)).await;
    let want = vars(&[
        ("status", "shipped"),
        ("total", "42"),
        ("price", "12.5"),
        ("weight", "3"),
        ("paid", "true"),
        ("second", "mug"),
    ]);
    assert_eq!(got, Ok(want));
    assert_eq!(seen.hits("/order"), 1);
}

#[tokio::test]
async fn post_sends_json_body_and_headers() {
    let (addr, seen) = serve().await;
    let crm = Crm::new().expect("client");
    let req = HttpRequest {
        method: "post".into(),
        headers: vec![("X-Api-Key".into(), "secret-1".into())],
        body: Some(r#"{"phone":"+8613800000000","n":3}"#.into()),
        ..get_req(addr, "/echo", &[("id", "id"), ("ok", "ok")])
    };
    assert_eq!(
        crm.perform(&req).await,
        Ok(vars(&[("id", "7"), ("ok", "true")]))
    );
    let (headers, body) = seen.post.lock().expect("lock").take().expect("a POST");
    assert_eq!(headers["x-api-key"], "secret-1");
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(body, json!({ "phone": "+8613800000000", "n": 3 }));
}

#[tokio::test]
async fn each_attempt_times_out_and_is_retried() {
    let (addr, seen) = serve().await;
    let crm = Crm::new().expect("client");
    let timeout = Duration::from_millis(300);
    let req = HttpRequest {
        timeout,
        retries: 1,
        ..get_req(addr, "/slow", &[("status", "status")])
    };
    let start = Instant::now();
    assert_eq!(crm.perform(&req).await, Err(HttpFailure::Timeout));
    let elapsed = start.elapsed();
    // Two attempts of 300 ms and a 100 ms backoff between them.
    let expected = timeout * 2 + Duration::from_millis(100);
    assert!(elapsed >= expected, "{elapsed:?} < {expected:?}");
    assert!(
        elapsed < expected + Duration::from_millis(500),
        "{elapsed:?}"
    );
    assert_eq!(seen.hits("/slow"), 2);
}

#[tokio::test]
async fn server_error_is_retried() {
    let (addr, seen) = serve().await;
    let crm = Crm::new().expect("client");
    let req = HttpRequest {
        retries: 1,
        ..get_req(addr, "/flaky", &[("status", "status")])
    };
    assert_eq!(crm.perform(&req).await, Ok(vars(&[("status", "ok")])));
    assert_eq!(seen.hits("/flaky"), 2);
}

#[tokio::test]
async fn client_error_is_final() {
    let (addr, seen) = serve().await;
    let crm = Crm::new().expect("client");
    let req = HttpRequest {
        retries: 3,
        ..get_req(addr, "/missing", &[("status", "status")])
    };
    assert_eq!(crm.perform(&req).await, Err(HttpFailure::Status(404)));
    assert_eq!(seen.hits("/missing"), 1);
}

#[tokio::test]
async fn html_reply_is_bad_and_not_retried() {
    let (addr, seen) = serve().await;
    let crm = Crm::new().expect("client");
    let req = HttpRequest {
        retries: 2,
        ..get_req(addr, "/html", &[("status", "status")])
    };
    let got = crm.perform(&req).await;
    assert!(matches!(got, Err(HttpFailure::BadReply(_))), "{got:?}");
    assert_eq!(seen.hits("/html"), 1);
}

#[tokio::test]
async fn missing_null_or_non_scalar_field_is_bad() {
    let (addr, _seen) = serve().await;
    let crm = Crm::new().expect("client");
    for path in [
        "order.eta",
        "order.note",
        "order.lines",
        "items.5.name",
        "items.x",
    ] {
        let got = crm.perform(&get_req(addr, "/order", &[("v", path)])).await;
        assert_eq!(
            got,
            Err(HttpFailure::BadReply(format!("field `{path}` missing")))
        );
    }
}

#[tokio::test]
async fn empty_map_accepts_any_2xx_without_a_body() {
    let (addr, seen) = serve().await;
    let crm = Crm::new().expect("client");
    let req = HttpRequest {
        method: "DELETE".into(),
        ..get_req(addr, "/empty", &[])
    };
    assert_eq!(crm.perform(&req).await, Ok(Vec::new()));
    assert_eq!(seen.hits("/empty"), 1);
}

#[tokio::test]
async fn reply_over_one_mebibyte_is_bad() {
    let (addr, _seen) = serve().await;
    let crm = Crm::new().expect("client");
    let got = crm.perform(&get_req(addr, "/big", &[("v", "pad")])).await;
    assert!(matches!(got, Err(HttpFailure::BadReply(_))), "{got:?}");
}

#[tokio::test]
async fn refused_connection_is_connect() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let crm = Crm::new().expect("client");
    let got = crm.perform(&get_req(addr, "/order", &[("s", "s")])).await;
    assert!(matches!(got, Err(HttpFailure::Connect(_))), "{got:?}");
}

#[tokio::test]
async fn unsupported_method_or_bad_url_is_not_sent() {
    let (addr, seen) = serve().await;
    let crm = Crm::new().expect("client");
    let req = HttpRequest {
        method: "TRACE".into(),
        ..get_req(addr, "/order", &[])
    };
    assert_eq!(
        crm.perform(&req).await,
        Err(HttpFailure::Connect("unsupported method".into()))
    );
    let req = HttpRequest {
        url: "ftp://example.com/x".into(),
        ..get_req(addr, "/order", &[])
    };
    assert!(matches!(
        crm.perform(&req).await,
        Err(HttpFailure::Connect(_))
    ));
    assert_eq!(seen.hits("/order"), 0);
}

#[test]
fn map_fields_works_on_values() {
    // Integral floats beyond 2^53 keep serde_json's own notation.
    let json = json!({ "a": { "b": [ { "c": -3 }, 1.25 ] }, "big": 1e20 });
    let map = vars(&[("c", "a.b.0.c"), ("f", "a.b.1"), ("big", "big")]);
    assert_eq!(
        map_fields(&json, &map),
        Ok(vars(&[("c", "-3"), ("f", "1.25"), ("big", "1e+20")]))
    );
}

#[tokio::test]
async fn llm_answer_is_trimmed() {
    let (addr, _seen) = serve().await;
    let crm = Crm::new().expect("client");
    let got = crm.chat(&llm_req(addr, "/v1/chat/completions")).await;
    assert_eq!(got, Ok("It left today.".to_owned()));
}

#[tokio::test]
async fn llm_without_key_gets_the_status() {
    let (addr, _seen) = serve().await;
    let crm = Crm::new().expect("client");
    let req = LlmRequest {
        key: None,
        ..llm_req(addr, "/v1/chat/completions")
    };
    assert_eq!(crm.chat(&req).await, Err(HttpFailure::Status(401)));
}

#[tokio::test]
async fn llm_times_out_in_one_attempt() {
    let (addr, _seen) = serve().await;
    let crm = Crm::new().expect("client");
    let req = LlmRequest {
        timeout: Duration::from_millis(300),
        ..llm_req(addr, "/llm-slow")
    };
    let start = Instant::now();
    assert_eq!(crm.chat(&req).await, Err(HttpFailure::Timeout));
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(800), "{elapsed:?}");
}

#[tokio::test]
async fn llm_malformed_or_blank_reply_is_bad() {
    let (addr, _seen) = serve().await;
    let crm = Crm::new().expect("client");
    for path in ["/llm-bad", "/llm-blank", "/html"] {
        let got = crm.chat(&llm_req(addr, path)).await;
        assert!(
            matches!(got, Err(HttpFailure::BadReply(_))),
            "{path}: {got:?}"
        );
    }
}

#[test]
fn blocking_facade_from_a_plain_thread() {
    let server_rt = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, seen) = server_rt.block_on(serve());
    let crm = BlockingCrm::new().expect("client");
    let got = std::thread::spawn(move || {
        let http = crm.perform_blocking(&get_req(addr, "/order", &[("s", "order.status")]));
        let llm = crm.chat_blocking(&llm_req(addr, "/v1/chat/completions"));
        (http, llm)
    })
    .join()
    .expect("thread");
    assert_eq!(got.0, Ok(vars(&[("s", "shipped")])));
    assert_eq!(got.1, Ok("It left today.".to_owned()));
    assert_eq!(seen.hits("/order"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_facade_inside_a_runtime_does_not_panic() {
    let (addr, _seen) = serve().await;
    let crm = BlockingCrm::new().expect("client");
    let got = crm.perform_blocking(&get_req(addr, "/order", &[("s", "order.status")]));
    assert_eq!(got, Ok(vars(&[("s", "shipped")])));
    drop(crm);
}
