//! CRM requests as the dialogue asks for them and hears their outcome.
//!
//! The dialogue builds an [`HttpRequest`] from a step's [`HttpSpec`] (its
//! templates filled with the call's variables); the shell performs it
//! (timeout, retries, JSON parsing, field mapping) and answers with an
//! [`HttpOutcome`]. Any failure, including a reply that is not JSON or
//! lacks a mapped field, is an [`HttpFailure`]: the dialogue then takes the
//! step's fallback.

use std::time::Duration;

use super::template::{json_escape, Escape, Template};

/// A request as written in the dialplan.
#[derive(Debug, Clone)]
pub struct HttpSpec {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// URL with `{variables}` (their values are percent-encoded).
    pub url: Template,
    /// Headers (values with `{variables}`).
    pub headers: Vec<(String, Template)>,
    /// JSON body; string values with `{variables}` (JSON-escaped).
    pub body: Option<JsonTemplate>,
    /// Each attempt must finish within this.
    pub timeout: Duration,
    /// Further attempts after a failed one (timeouts, 5xx, connection
    /// errors; not 4xx).
    pub retries: u32,
    /// Variable <- dotted path in the JSON reply (`order.status`,
    /// `items.0.name`).
    pub map: Vec<(String, String)>,
}

/// A JSON value whose strings are templates.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(f64),
    /// A string with `{variables}`.
    Str(Template),
    /// An array.
    Array(Vec<JsonTemplate>),
    /// An object, keys in order.
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// The JSON text, variables filled by `lookup`.
    pub fn render(&self, lookup: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        self.write(lookup, &mut out);
        out
    }

    /// Every template in it.
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            JsonTemplate::Str(t) => vec![t],
            JsonTemplate::Array(items) => items.iter().flat_map(|i| i.templates()).collect(),
            JsonTemplate::Object(fields) => {
                fields.iter().flat_map(|(_, v)| v.templates()).collect()
            }
            _ => Vec::new(),
        }
    }

    fn write(&self, lookup: &dyn Fn(&str) -> Option<String>, out: &mut String) {
        match self {
            JsonTemplate::Null => out.push_str("null"),
            JsonTemplate::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JsonTemplate::Number(n) if n.is_finite() => out.push_str(&n.to_string()),
            JsonTemplate::Number(_) => out.push_str("null"),
            JsonTemplate::Str(t) => {
                out.push('"');
                out.push_str(&t.render(lookup, Escape::Json));
                out.push('"');
            }
            JsonTemplate::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(lookup, out);
                }
                out.push(']');
            }
            JsonTemplate::Object(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    json_escape(k, out);
                    out.push_str("\":");
                    v.write(lookup, out);
                }
                out.push('}');
            }
        }
    }
}

/// A request ready to send: templates filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body (JSON text), if any.
    pub body: Option<String>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Further attempts.
    pub retries: u32,
    /// Variable <- JSON path.
    pub map: Vec<(String, String)>,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// No reply within the timeout (after all attempts).
    Timeout,
    /// Could not connect or send.
    Connect(String),
    /// The server answered with this status.
    Status(u16),
    /// The reply was not JSON, or a mapped field was missing or not a
    /// scalar.
    BadReply(String),
}

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpFailure::Timeout => write!(f, "timed out"),
            HttpFailure::Connect(e) => write!(f, "cannot connect: {e}"),
            HttpFailure::Status(s) => write!(f, "HTTP status {s}"),
            HttpFailure::BadReply(e) => write!(f, "bad reply: {e}"),
        }
    }
}

/// What came of a request: the mapped variables, or why it failed.
pub type HttpOutcome = Result<Vec<(String, String)>, HttpFailure>;

/// A question for the LLM fallback, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmRequest {
    /// Chat completions URL.
    pub url: String,
    /// Bearer key.
    pub key: Option<String>,
    /// Model name.
    pub model: String,
    /// System prompt (filled).
    pub system: String,
    /// The conversation so far: (is the caller, text), oldest first.
    pub history: Vec<(bool, String)>,
    /// The whole request must finish within this.
    pub timeout: Duration,
    /// Longest answer, in tokens.
    pub max_tokens: u32,
}

/// The LLM's answer text, or why there is none.
pub type LlmOutcome = Result<String, HttpFailure>;
