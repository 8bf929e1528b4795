//! The shell's HTTP client: dialplan CRM requests and the LLM fallback.
//!
//! The core decides *what* to ask ([`HttpRequest`], [`LlmRequest`]); this
//! module performs it and answers with an [`HttpOutcome`] / [`LlmOutcome`].
//! It owns the network side of the contract written down in
//! `kefu_core::dialogue::http`:
//!
//! - [`Crm::perform`]: one attempt is bounded by `req.timeout` (connect,
//!   headers and the whole body); timeouts, connection errors and 5xx are
//!   tried again up to `req.retries` times after a short backoff (100 ms,
//!   200 ms, 400 ms … at most 1 s); a 4xx is final. A 2xx reply must be JSON
//!   (whatever its content type says) of at most 1 MiB; `req.map` then picks
//!   the variables out of it ([`map_fields`]). With an empty map any 2xx is a
//!   success and the body is not read.
//! - [`Crm::chat`]: one OpenAI-compatible chat completion, a single attempt
//!   bounded by `req.timeout` (a caller is waiting on the line).
//! - [`BlockingCrm`]: the same for code that is not async (the terminal
//!   simulator).
//!
//! Client: reqwest 0.12 (`default-features = false`, `rustls-tls`). It is the
//! maintained hyper-based client the ecosystem uses, it gives connection
//! pooling and redirects for free, and `rustls-tls` means rustls on *ring*
//! with the webpki root certificates compiled in: HTTPS CRMs are verified
//! without OpenSSL or a system trust store, nothing is downloaded at build
//! time, and plain HTTP works for CRMs on the local network. Proxy settings
//! from the environment are ignored on purpose: a CRM on 127.0.0.1 must not
//! be sent to a corporate proxy because `HTTP_PROXY` happens to be set.
//!
//! Logs: `debug` on success (method, host, status, milliseconds), `warn` on
//! each failed attempt with the reason. Bodies, headers, paths and queries
//! are never logged: they carry phone numbers, names and API keys.

use std::time::{Duration, Instant};

use kefu_core::dialogue::http::{HttpFailure, HttpOutcome, HttpRequest, LlmOutcome, LlmRequest};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde_json::Value;

/// Largest reply body accepted, CRM or LLM.
pub const MAX_REPLY_BYTES: usize = 1 << 20;

/// Backoff before the first retry; doubled for each further one.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// Longest backoff between two attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Why the client could not be set up (a local problem, not a CRM's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrmError {
    /// The HTTP client (TLS configuration) could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The runtime behind [`BlockingCrm`] could not be started.
    #[error("cannot start the HTTP runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// HTTP client for CRM requests and the LLM fallback; cheap to clone (the
/// connection pool is shared).
#[derive(Debug, Clone)]
pub struct Crm {
    client: reqwest::Client,
}

impl Crm {
    /// A client with rustls, the webpki roots and no environment proxy.
    pub fn new() -> Result<Crm, CrmError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .no_proxy()
            .user_agent(concat!("kefu/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| CrmError::Client(e.to_string()))?;
        Ok(Crm { client })
    }

    /// Perform a dialplan request: attempts, retries, JSON, field mapping.
    pub async fn perform(&self, req: &HttpRequest) -> HttpOutcome {
        let prepared = match Prepared::new(req) {
            Ok(p) => p,
            Err(failure) => {
                tracing::warn!(reason = %failure, "CRM request not sent");
                return Err(failure);
            }
        };
        let (method, host) = (&prepared.method, prepared.url.host_str().unwrap_or(""));
        let mut backoff = BACKOFF_FIRST;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let start = Instant::now();
            let result = tokio::time::timeout(req.timeout, self.attempt(&prepared, req)).await;
            let ms = start.elapsed().as_millis() as u64;
            let failure = match result {
                Ok(Ok((status, vars))) => {
                    tracing::debug!(%method, host, status, ms, attempt, "CRM request done");
                    return Ok(vars);
                }
                Ok(Err(failure)) => failure,
                Err(_) => HttpFailure::Timeout,
            };
            let retry = retryable(&failure) && attempt <= req.retries;
            // A 4xx is the CRM's answer ("no such customer"), which the
            // dialplan handles; anything else means the CRM is in trouble.
            if matches!(failure, HttpFailure::Status(s) if (400..500).contains(&s)) {
                tracing::debug!(%method, host, ms, attempt, reason = %failure, "CRM said no");
            } else {
                tracing::warn!(
                    %method, host, ms, attempt, retry, reason = %failure,
                    "CRM request failed"
                );
            }
            if !retry {
                return Err(failure);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One attempt, without its timeout: the status and the mapped fields.
    async fn attempt(
        &self,
        prepared: &Prepared,
        req: &HttpRequest,
    ) -> Result<(u16, Vec<(String, String)>), HttpFailure> {
        let mut builder = self
            .client
            .request(prepared.method.clone(), prepared.url.clone())
            .headers(prepared.headers.clone());
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let resp = builder.send().await.map_err(send_failure)?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            return Err(HttpFailure::Status(status));
        }
        if req.map.is_empty() {
            return Ok((status, Vec::new()));
        }
        let json = read_json(resp).await?;
        Ok((status, map_fields(&json, &req.map)?))
    }

    /// Ask an OpenAI-compatible chat completions endpoint; one attempt.
    pub async fn chat(&self, req: &LlmRequest) -> LlmOutcome {
        let host = Url::parse(&req.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let start = Instant::now();
        let result = match tokio::time::timeout(req.timeout, self.chat_once(req)).await {
            Ok(r) => r,
            Err(_) => Err(HttpFailure::Timeout),
        };
        let ms = start.elapsed().as_millis() as u64;
        match &result {
            Ok(_) => tracing::debug!(%host, ms, "LLM answered"),
            Err(failure) => tracing::warn!(%host, ms, reason = %failure, "LLM request failed"),
        }
        result
    }

    async fn chat_once(&self, req: &LlmRequest) -> LlmOutcome {
        let url = parse_url(&req.url)?;
        let history = req.history.iter().map(|(is_caller, text)| {
            let role = if *is_caller { "user" } else { "assistant" };
            serde_json::json!({ "role": role, "content": text })
        });
        let system = serde_json::json!({ "role": "system", "content": req.system });
        let messages: Vec<Value> = std::iter::once(system).chain(history).collect();
        let body = serde_json::json!({
            "model": req.model,
            "messages": messages,
            "max_tokens": req.max_tokens,
            "temperature": 0.2,
        });
        let mut builder = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.to_string());
        if let Some(key) = &req.key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| HttpFailure::Connect("API key is not a valid header value".into()))?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        let resp = builder.send().await.map_err(send_failure)?;
        if !resp.status().is_success() {
            return Err(HttpFailure::Status(resp.status().as_u16()));
        }
        let json = read_json(resp).await?;
        let content = json
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| HttpFailure::BadReply("no choices[0].message.content".into()))?;
        let answer = content.trim();
        if answer.is_empty() {
            return Err(HttpFailure::BadReply("empty answer".into()));
        }
        Ok(answer.to_owned())
    }
}

/// Pick the variables out of a JSON reply: each `(variable, path)`, where
/// the path's dot-separated segments are object keys or array indices
/// (`items.0.name`). Strings, numbers and booleans become text (integral
/// numbers without a trailing `.0`); a path that is missing or leads to
/// `null`, an object or an array is a [`HttpFailure::BadReply`].
pub fn map_fields(json: &Value, map: &[(String, String)]) -> HttpOutcome {
    map.iter()
        .map(|(var, path)| {
            // `path?`: an optional field, empty text when absent or null.
            let (path, optional) = match path.strip_suffix('?') {
                Some(p) => (p, true),
                None => (path.as_str(), false),
            };
            match lookup(json, path) {
                Some(v) => match scalar_text(v) {
                    Some(text) => Ok((var.clone(), text)),
                    None if optional && v.is_null() => Ok((var.clone(), String::new())),
                    None => Err(HttpFailure::BadReply(format!("field `{path}` missing"))),
                },
                None if optional => Ok((var.clone(), String::new())),
                None => Err(HttpFailure::BadReply(format!("field `{path}` missing"))),
            }
        })
        .collect()
}

fn lookup<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(json, |value, segment| match value {
            Value::Object(fields) => fields.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(number_text(n)),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `42` for 42 and 42.0; `0.5` for 0.5.
fn number_text(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        // Below 2^53 every integral f64 is exact and fits an i64.
        Some(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
            format!("{}", f as i64)
        }
        _ => n.to_string(),
    }
}

/// What is the same for every attempt of a request, checked once.
struct Prepared {
    method: Method,
    url: Url,
    headers: HeaderMap,
}

impl Prepared {
    fn new(req: &HttpRequest) -> Result<Prepared, HttpFailure> {
        let method = match req.method.to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            _ => return Err(HttpFailure::Connect("unsupported method".into())),
        };
        let url = parse_url(&req.url)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &req.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpFailure::Connect(format!("invalid header name `{name}`")))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| HttpFailure::Connect(format!("invalid value for header `{name}`")))?;
            // Keeps keys out of any Debug output of the request.
            value.set_sensitive(true);
            headers.append(name, value);
        }
        if req.body.is_some() && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(Prepared {
            method,
            url,
            headers,
        })
    }
}

fn parse_url(url: &str) -> Result<Url, HttpFailure> {
    let url = Url::parse(url).map_err(|e| HttpFailure::Connect(format!("invalid URL: {e}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        _ => Err(HttpFailure::Connect(
            "URL scheme is not http or https".into(),
        )),
    }
}

/// Timeouts, connection errors and server errors may pass; the rest will not.
fn retryable(failure: &HttpFailure) -> bool {
    match failure {
        HttpFailure::Timeout | HttpFailure::Connect(_) => true,
        HttpFailure::Status(s) => *s >= 500,
        HttpFailure::BadReply(_) => false,
    }
}

/// A send or receive error as a failure: its cause chain without the URL
/// (which may carry a phone number).
fn send_failure(e: reqwest::Error) -> HttpFailure {
    if e.is_timeout() {
        return HttpFailure::Timeout;
    }
    HttpFailure::Connect(error_chain(&e.without_url()))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Read at most [`MAX_REPLY_BYTES`] and parse them as JSON.
async fn read_json(mut resp: reqwest::Response) -> Result<Value, HttpFailure> {
    let too_big = || HttpFailure::BadReply(format!("reply larger than {MAX_REPLY_BYTES} bytes"));
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_REPLY_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(send_failure)? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| HttpFailure::BadReply(format!("not JSON: {e}")))
}

/// [`Crm`] for threads that are not async, such as the terminal simulator.
///
/// It owns a small current-thread tokio runtime that drives the client (so
/// pooled connections live as long as it does). Called from a plain thread,
/// a method blocks that thread. Called from inside a tokio runtime, where
/// blocking on another runtime would panic, it runs the request on a scoped
/// helper thread and waits for it: that blocks the calling worker, so async
/// code should use [`Crm`] instead, but it never panics.
#[derive(Debug)]
pub struct BlockingCrm {
    crm: Crm,
    // `Option` only so that `Drop` can shut it down without blocking.
    rt: Option<tokio::runtime::Runtime>,
}

impl BlockingCrm {
    /// A client and its runtime.
    pub fn new() -> Result<BlockingCrm, CrmError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let crm = {
            let _enter = rt.enter();
            Crm::new()?
        };
        Ok(BlockingCrm { crm, rt: Some(rt) })
    }

    /// [`Crm::perform`], blocking.
    pub fn perform_blocking(&self, req: &HttpRequest) -> HttpOutcome {
        self.block_on(self.crm.perform(req))
            .unwrap_or_else(|reason| Err(HttpFailure::Connect(reason)))
    }

    /// [`Crm::chat`], blocking.
    pub fn chat_blocking(&self, req: &LlmRequest) -> LlmOutcome {
        self.block_on(self.crm.chat(req))
            .unwrap_or_else(|reason| Err(HttpFailure::Connect(reason)))
    }

    fn block_on<F: std::future::Future + Send>(&self, fut: F) -> Result<F::Output, String>
    where
        F::Output: Send,
    {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| "runtime is gone".to_owned())?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(rt.block_on(fut));
        }
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(fut))
                .join()
                .map_err(|_| "HTTP helper thread failed".to_owned())
        })
    }
}

impl Drop for BlockingCrm {
    fn drop(&mut self) {
        // A plain drop would block, and panic if this happens inside an
        // async context; nothing of ours runs on it between calls anyway.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
