//! One delivery attempt: the JSON body of an outbox event, its headers and
//! signature, and the POST to the endpoint.
//!
//! The request is `POST <url>` with the body
//! `{"id": <key>, "type": <kind>, "created_at": <ms>, "data": <payload>}`
//! and the headers `Content-Type: application/json`,
//! `User-Agent: kefu/<version>`, `Kefu-Event`, `Idempotency-Key` (the
//! event's key, the same on every attempt), `Kefu-Delivery-Attempt` (1 for
//! the first) and `Kefu-Signature` (see [`mod@super::sign`]). Any 2xx is a
//! delivery; redirects are not followed and count as failures, like every
//! other status, a timeout or a connection error. Retrying is the caller's
//! business.

use std::fmt;

use reqwest::header::{HeaderValue, CONTENT_TYPE};

use super::sign;
use crate::config::WebhookSettings;
use crate::storage::OutboxEvent;

/// Header naming the event kind.
pub const EVENT_HEADER: &str = "Kefu-Event";
/// Header carrying the event's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Header counting attempts at this event, from 1.
pub const ATTEMPT_HEADER: &str = "Kefu-Delivery-Attempt";
/// Header carrying `t=<unix seconds>,v1=<hex HMAC>`.
pub const SIGNATURE_HEADER: &str = "Kefu-Signature";

/// Why an attempt did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The endpoint answered with a status other than 2xx.
    Status(u16),
    /// No complete answer within the endpoint's timeout.
    Timeout,
    /// The connection failed (refused, reset, DNS, TLS); the cause chain,
    /// without the URL.
    Connect(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(s) => write!(f, "HTTP {s}"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Connect(cause) => write!(f, "connection failed: {cause}"),
        }
    }
}

/// The request body of `event`; the same bytes on every attempt.
pub fn body(event: &OutboxEvent) -> Vec<u8> {
    serde_json::json!({
        "id": event.event.key,
        "type": event.event.kind,
        "created_at": event.event.at,
        "data": event.event.payload,
    })
    .to_string()
    .into_bytes()
}

/// Posts events to one endpoint; holds its connection pool.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    url: String,
    secret: String,
}

impl Sender {
    /// A sender for `endpoint`: its timeout per request, no environment
    /// proxy, no redirects. Fails only if the TLS stack cannot start.
    pub fn new(endpoint: &WebhookSettings) -> Result<Sender, String> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .no_proxy()
            .user_agent(concat!("kefu/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(endpoint.timeout)
            .build()
            .map_err(|e| error_chain(&e.without_url()))?;
        Ok(Sender {
            client,
            url: endpoint.url.clone(),
            secret: endpoint.secret.clone(),
        })
    }

    /// One attempt at `event` with the prepared `body`: `attempt` counts
    /// from 1 and `now_secs` (unix seconds) is signed. Returns the 2xx
    /// status on delivery.
    pub async fn post(
        &self,
        event: &OutboxEvent,
        body: &[u8],
        attempt: u32,
        now_secs: i64,
    ) -> Result<u16, Failure> {
        let signature = sign::sign(&self.secret, now_secs, body);
        let reply = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(EVENT_HEADER, header_value(&event.event.kind))
            .header(IDEMPOTENCY_HEADER, header_value(&event.event.key))
            .header(ATTEMPT_HEADER, attempt.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(failure)?;
        let status = reply.status();
        // The reply body is not read: nothing in it changes the outcome.
        drop(reply);
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(Failure::Status(status.as_u16()))
        }
    }
}

/// A header value; characters a header cannot carry become `_` (keys and
/// kinds are kefu's own ASCII, so this only guards against odd payloads).
fn header_value(text: &str) -> HeaderValue {
    let clean: String = text
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '_' })
        .collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("_"))
}

fn failure(e: reqwest::Error) -> Failure {
    if e.is_timeout() {
        return Failure::Timeout;
    }
    Failure::Connect(error_chain(&e.without_url()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::NewOutboxEvent;

    fn event() -> OutboxEvent {
        OutboxEvent {
            seq: 7,
            event: NewOutboxEvent {
                key: "call.ended:0190abc".into(),
                kind: "call.ended".into(),
                payload: serde_json::json!({"call": "0190abc", "outcome": "resolved"}),
                at: 1_700_000_000_123,
            },
        }
    }

    #[test]
    fn body_carries_key_kind_time_and_payload() {
        let v: serde_json::Value = serde_json::from_slice(&body(&event())).expect("json");
        assert_eq!(
            v,
            serde_json::json!({
                "id": "call.ended:0190abc",
                "type": "call.ended",
                "created_at": 1_700_000_000_123_i64,
                "data": {"call": "0190abc", "outcome": "resolved"},
            })
        );
    }

    #[test]
    fn body_is_stable_across_attempts() {
        assert_eq!(body(&event()), body(&event()));
    }

    #[test]
    fn header_values_never_fail() {
        assert_eq!(header_value("call.ended"), "call.ended");
        assert_eq!(header_value("a\r\nb\u{4e2d}"), "a__b_");
    }

    #[test]
    fn failures_read_well_in_logs() {
        assert_eq!(Failure::Status(503).to_string(), "HTTP 503");
        assert_eq!(Failure::Timeout.to_string(), "timed out");
        assert_eq!(
            Failure::Connect("refused".into()).to_string(),
            "connection failed: refused"
        );
    }
}
