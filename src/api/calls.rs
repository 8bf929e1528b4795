//! Calls: the filtered list (JSON or CSV), one call's detail, transcript,
//! event log and QA record, a supervisor's QA review, and dispositions.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::auth::Caller;
use super::csv;
use super::error::{ApiError, ApiResult, Body, PathParams};
use super::params::Params;
use super::state::ApiState;
use crate::storage::{
    now_millis, CallQuery, CallSummary, Disposition, Millis, NewOutboxEvent, Outcome, QaReview,
    Write,
};

/// Emotion levels from calm to angry (a filter matches that level or higher).
const EMOTIONS: [&str; 4] = ["neutral", "concerned", "upset", "angry"];
/// Calls per page unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 50;
/// Most calls per page.
const MAX_LIMIT: u32 = 500;
/// Most calls one CSV export without `limit` holds.
const MAX_EXPORT: usize = 100_000;

const LIST_PARAMS: [&str; 13] = [
    "number",
    "from",
    "to",
    "intent",
    "emotion",
    "text",
    "outcome",
    "dialplan",
    "tag",
    "limit",
    "offset",
    "format",
    "tz_offset_min",
];

/// The call filters of a query string.
pub fn call_query(p: &Params) -> ApiResult<CallQuery> {
    p.only(&LIST_PARAMS)?;
    let tz = p.int("tz_offset_min", -840, 840)?.unwrap_or(0) as i32;
    let emotion = p.text("emotion", 32)?;
    if let Some(e) = &emotion {
        if !EMOTIONS.contains(&e.as_str()) {
            return Err(ApiError::bad_request(format!(
                "emotion: expected one of {}, got {e:?}",
                EMOTIONS.join(", ")
            )));
        }
    }
    let outcome = match p.get("outcome") {
        None => None,
        Some(o) => Some(Outcome::parse(o).ok_or_else(|| {
            ApiError::bad_request(format!(
                "outcome: expected in_progress, resolved, abandoned, transferred, missed, \
                 failed or interrupted, got {o:?}"
            ))
        })?),
    };
    let q = CallQuery {
        number: p.text("number", 64)?,
        from: p.time("from", false, tz)?,
        to: p.time("to", true, tz)?,
        intent: p.text("intent", 128)?,
        emotion,
        text: p.text("text", 256)?,
        outcome,
        dialplan: p.text("dialplan", 128)?,
        tag: p.text("tag", 128)?,
        limit: p.int("limit", 1, i64::from(MAX_LIMIT))?.map(|n| n as u32),
        offset: p.int("offset", 0, i64::from(u32::MAX))?.map(|n| n as u32),
    };
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from >= to {
            return Err(ApiError::bad_request("from must be before to"));
        }
    }
    Ok(q)
}

/// `GET /api/calls`: calls matching the filters, newest first; with
/// `format=csv` a CSV download (every match when no `limit` is given).
pub async fn list(State(state): State<ApiState>, p: Params) -> ApiResult<Response> {
    let q = call_query(&p)?;
    let csv = p.choice("format", &["json", "csv"])? == "csv";
    if csv {
        let all = q.limit.is_none();
        let calls = state
            .db(move |s| {
                if !all {
                    return s.search_calls(&q);
                }
                let mut out = Vec::new();
                let mut page = CallQuery {
                    limit: Some(MAX_LIMIT),
                    offset: Some(q.offset.unwrap_or(0)),
                    ..q.clone()
                };
                loop {
                    let got = s.search_calls(&page)?;
                    let n = got.len();
                    out.extend(got);
                    if n < MAX_LIMIT as usize || out.len() >= MAX_EXPORT {
                        out.truncate(MAX_EXPORT);
                        return Ok(out);
                    }
                    page.offset = Some(page.offset.unwrap_or(0).saturating_add(MAX_LIMIT));
                }
            })
            .await?;
        return Ok(csv::attachment("calls.csv", calls_csv(&calls)));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let offset = q.offset.unwrap_or(0);
    let calls = state.db(move |s| s.search_calls(&q)).await?;
    Ok(Json(serde_json::json!({
        "calls": calls,
        "limit": limit,
        "offset": offset,
    }))
    .into_response())
}

/// Column names of the call CSV export.
pub const CSV_COLUMNS: [&str; 23] = [
    "id",
    "direction",
    "sip_call_id",
    "caller",
    "called",
    "dialplan",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_s",
    "end_reason",
    "outcome",
    "intents",
    "emotion_start",
    "emotion_end",
    "emotion_peak",
    "transfer_target",
    "transfer_reason",
    "csat",
    "qa_score",
    "tags",
    "campaign_id",
    "recorded",
];

fn calls_csv(calls: &[CallSummary]) -> String {
    let mut out = String::new();
    csv::write_record(&mut out, &CSV_COLUMNS);
    let time = |t: Option<Millis>| t.map(rfc3339).unwrap_or_default();
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    for c in calls {
        let duration = match (c.answered_at, c.ended_at) {
            (Some(a), Some(e)) => format!("{:.1}", (e - a).max(0) as f64 / 1000.0),
            _ => String::new(),
        };
        let transfer = c.transfer.as_ref();
        csv::write_record(
            &mut out,
            &[
                c.id.clone(),
                serde_json::to_value(c.direction)
                    .map(|v| csv::cell(&v))
                    .unwrap_or_default(),
                c.sip_call_id.clone(),
                c.caller.clone(),
                c.called.clone(),
                c.dialplan.clone(),
                rfc3339(c.started_at),
                time(c.answered_at),
                time(c.ended_at),
                duration,
                opt(&c.end_reason),
                c.outcome.as_str().to_string(),
                c.intents.join(";"),
                opt(&c.emotion_start),
                opt(&c.emotion_end),
                opt(&c.emotion_peak),
                transfer.map(|t| t.target.clone()).unwrap_or_default(),
                transfer.map(|t| t.reason.clone()).unwrap_or_default(),
                c.csat.map(|n| n.to_string()).unwrap_or_default(),
                c.qa_score.map(|n| n.to_string()).unwrap_or_default(),
                c.tags.join(";"),
                opt(&c.campaign_id),
                c.recorded.to_string(),
            ],
        );
    }
    out
}

/// `2024-11-11T08:00:00.000Z`.
pub fn rfc3339(t: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(t)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// `GET /api/calls/{id}`: everything about one call.
pub async fn detail(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let call = state.db(move |s| s.call(&id)).await?;
    Ok(Json(call).into_response())
}

/// `GET /api/calls/{id}/transcript`: the lines as JSON, or with
/// `format=text` one `[mm:ss] speaker: text` line each, timed from the
/// answer.
pub async fn transcript(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
    p: Params,
) -> ApiResult<Response> {
    p.only(&["format"])?;
    let text = p.choice("format", &["json", "text"])? == "text";
    let call = state.db(move |s| s.call(&id)).await?;
    if !text {
        return Ok(Json(serde_json::json!({
            "call_id": call.summary.id,
            "lines": call.lines,
        }))
        .into_response());
    }
    let zero = call.summary.answered_at.unwrap_or(call.summary.started_at);
    let mut out = String::new();
    for l in &call.lines {
        let secs = (l.line.started_at - zero).max(0) / 1000;
        let speaker = serde_json::to_value(l.line.speaker)
            .map(|v| csv::cell(&v))
            .unwrap_or_default();
        out.push_str(&format!(
            "[{:02}:{:02}] {speaker}: {}\n",
            secs / 60,
            secs % 60,
            l.line.text.replace('\n', " ")
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out).into_response())
}

/// `GET /api/calls/{id}/events`: the call's event log in order.
pub async fn events(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let call = state.db(move |s| s.call(&id)).await?;
    Ok(Json(serde_json::json!({
        "call_id": call.summary.id,
        "events": call.events,
    }))
    .into_response())
}

/// `GET /api/calls/{id}/qa`: the call's quality inspection and review.
pub async fn qa(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let call = state.db(move |s| s.call(&id)).await?;
    match call.qa {
        Some(qa) => Ok(Json(qa).into_response()),
        None => Err(ApiError::not_found(format!(
            "call {} has no quality inspection",
            call.summary.id
        ))),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    score: Option<f64>,
    #[serde(default)]
    note: String,
}

/// `PUT /api/calls/{id}/qa`: a supervisor's review; its score (0..=100),
/// when given, replaces the automatic one in reports.
pub async fn review(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
    body: Body,
) -> ApiResult<Response> {
    let b: ReviewBody = body.json()?;
    if let Some(s) = b.score {
        if !(0.0..=100.0).contains(&s) {
            return Err(ApiError::bad_request(format!(
                "score: expected 0 to 100, got {s}"
            )));
        }
    }
    if b.note.chars().count() > 10_000 {
        return Err(ApiError::bad_request("note: at most 10000 characters"));
    }
    if b.score.is_none() && b.note.trim().is_empty() {
        return Err(ApiError::bad_request("a review needs a score or a note"));
    }
    let review = QaReview {
        reviewer: caller.name,
        score: b.score,
        note: b.note,
        at: now_millis(),
    };
    let record = state.db(move |s| s.review_qa(&id, &review)).await?;
    Ok(Json(record).into_response())
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DispositionBody {
    code: String,
    #[serde(default)]
    note: String,
    contact_id: Option<i64>,
}

/// `POST /api/calls/{id}/dispositions`: records an outcome code for the
/// call (and its campaign), and queues the `disposition` webhook event in
/// the same transaction.
pub async fn dispose(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
    body: Body,
) -> ApiResult<Response> {
    let b: DispositionBody = body.json()?;
    super::admin::check_id("code", &b.code)?;
    if b.note.chars().count() > 10_000 {
        return Err(ApiError::bad_request("note: at most 10000 characters"));
    }
    let d = state
        .db(move |s| {
            let call = s.call(&id)?;
            let d = Disposition {
                call_id: Some(call.summary.id.clone()),
                campaign_id: call.summary.campaign_id.clone(),
                contact_id: b.contact_id,
                code: b.code,
                note: b.note,
                at: now_millis(),
            };
            let event = NewOutboxEvent {
                key: format!("disposition:{}:{}", call.summary.id, d.at),
                kind: "disposition".into(),
                payload: serde_json::to_value(&d).unwrap_or_default(),
                at: d.at,
            };
            s.apply(&[Write::Disposition(d.clone()), Write::Outbox(event)])?;
            Ok(d)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}
