//! The API's errors: who is at fault and the HTTP status that says so.
//!
//! Every error leaves as JSON, `{"error": "...", "status": N}` (plus
//! `errors: [...]` when there are several problems, such as the bad rows
//! of a contact list or the `file:line` diagnostics of a dialplan), and
//! never as a panic. Store failures are logged in full and reported to the
//! client without internals. The extractors here replace axum's own, whose
//! rejections are plain text.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::storage::StoreError;

/// An error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub message: String,
    /// Individual problems (bad rows, `file:line: message` diagnostics).
    pub errors: Vec<String>,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// 400: the request is malformed (bad filter, bad body).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no key, or a key that is unknown or revoked.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: the key's role is too low.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 404: no such record or route.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the request conflicts with what exists.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// 500: kefu failed; the details go to the log, not the client.
    pub fn internal(what: &str, detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "{what}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{what}; the server log has the details"),
        )
    }

    /// The same error listing individual problems.
    pub fn with_errors(mut self, errors: Vec<String>) -> ApiError {
        self.errors = errors;
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(m) => ApiError::not_found(format!("not found: {m}")),
            StoreError::Conflict(m) => ApiError::conflict(format!("conflict: {m}")),
            StoreError::Invalid(m) => ApiError::bad_request(m),
            StoreError::Backend(m) => ApiError::internal("storage failed", m),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "error": self.message,
            "status": self.status.as_u16(),
        });
        if !self.errors.is_empty() {
            body["errors"] = serde_json::json!(self.errors);
        }
        let mut res = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kefu\""),
            );
        }
        res
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// A request body of at most the router's limit (1 MiB), as bytes; too
/// large is 413.
#[derive(Debug)]
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body, ApiError> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "request body too large (at most {} bytes)",
                        super::BODY_LIMIT
                    ),
                ),
                s => ApiError::new(s, format!("cannot read the request body: {e}")),
            })
    }
}

impl Body {
    /// The body as JSON of type `T`; a mismatch is 400 naming the field.
    pub fn json<T: DeserializeOwned>(&self) -> ApiResult<T> {
        if self.0.is_empty() {
            return Err(ApiError::bad_request("a JSON request body is needed"));
        }
        serde_json::from_slice(&self.0)
            .map_err(|e| ApiError::bad_request(format!("bad JSON body: {e}")))
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> ApiResult<&str> {
        std::str::from_utf8(&self.0)
            .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8 text: {e}")))
    }
}

/// Path parameters, with JSON errors.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|e| ApiError::bad_request(format!("bad path: {e}")))
    }
}

/// 404 for paths no route serves.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such route")
}

/// 405 for a route asked with a method it does not serve.
pub async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}
