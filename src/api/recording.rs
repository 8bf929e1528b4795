//! `GET /api/calls/{id}/recording`: the call's WAV file, streamed from
//! disk, whole or one byte range (RFC 9110 §14: `Range: bytes=a-b`,
//! `bytes=a-`, `bytes=-n`). Several ranges in one request get the whole
//! file, as §14.2 allows; a range past the end is 416.

use std::io::SeekFrom;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::error::{ApiError, ApiResult, PathParams};
use super::state::ApiState;

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Span {
    /// The whole file (no range, or one kefu does not serve).
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Nothing satisfiable.
    Unsatisfiable,
}

/// Reads a `Range` header value against a file of `len` bytes.
pub fn span(range: Option<&str>, len: u64) -> Span {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Span::Whole;
    };
    if spec.contains(',') {
        return Span::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Span::Whole;
    };
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let (start, end) = match (a.trim(), b.trim()) {
        ("", "") => return Span::Whole,
        ("", n) => match num(n) {
            // A malformed range is ignored (RFC 9110 §14.2).
            None => return Span::Whole,
            Some(0) => return Span::Unsatisfiable,
            Some(n) => (len.saturating_sub(n), len.saturating_sub(1)),
        },
        (s, "") => match num(s) {
            None => return Span::Whole,
            Some(s) => (s, len.saturating_sub(1)),
        },
        (s, e) => match (num(s), num(e)) {
            (Some(s), Some(e)) if s <= e => (s, e.min(len.saturating_sub(1))),
            _ => return Span::Whole,
        },
    };
    if len == 0 || start >= len {
        return Span::Unsatisfiable;
    }
    Span::Part(start, end)
}

/// Serves the recording of call `id`.
pub async fn get(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let call = id.clone();
    let rec = state.db(move |s| s.recording(&call)).await?;
    let path = PathBuf::from(&rec.path);
    let path = if path.is_relative() {
        state.data_dir.join(path)
    } else {
        path
    };
    let missing = || ApiError::not_found(format!("the recording of call {id} is not on disk"));
    let mut file = tokio::fs::File::open(&path).await.map_err(|_| missing())?;
    let meta = file.metadata().await.map_err(|_| missing())?;
    if !meta.is_file() {
        return Err(missing());
    }
    let len = meta.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, count) = match span(range, len) {
        Span::Whole => (StatusCode::OK, 0, len),
        Span::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Span::Unsatisfiable => {
            let mut res = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("range outside the recording's {len} bytes"),
            )
            .into_response();
            if let Ok(v) = format!("bytes */{len}").parse() {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(res);
        }
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(|e| ApiError::internal("cannot read the recording", e))?;
    }
    let body = Body::from_stream(ReaderStream::new(file.take(count)));
    let mut res = (
        status,
        [
            (header::CONTENT_TYPE, "audio/wav".to_string()),
            (header::CONTENT_LENGTH, count.to_string()),
            (header::ACCEPT_RANGES, "bytes".to_string()),
        ],
        body,
    )
        .into_response();
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = format!("bytes {start}-{}/{len}", start + count - 1).parse() {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(span(None, 100), Span::Whole);
        assert_eq!(span(Some("bytes=0-9"), 100), Span::Part(0, 9));
        assert_eq!(span(Some("bytes=90-"), 100), Span::Part(90, 99));
        assert_eq!(span(Some("bytes=90-500"), 100), Span::Part(90, 99));
        assert_eq!(span(Some("bytes=-10"), 100), Span::Part(90, 99));
        assert_eq!(span(Some("bytes=-500"), 100), Span::Part(0, 99));
        assert_eq!(span(Some("bytes=100-"), 100), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=5-2"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=-0"), 100), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=0-1,5-6"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=x-y"), 100), Span::Whole);
        assert_eq!(span(Some("items=0-1"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=0-0"), 0), Span::Unsatisfiable);
    }
}
