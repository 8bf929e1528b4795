//! Reports: the list of names with what each shows, and one report over a
//! time range as JSON (`{kind, columns, rows, summary}`) or as a CSV
//! download (a header row, then the rows).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::csv;
use super::error::{ApiError, ApiResult, PathParams};
use super::params::Params;
use super::state::ApiState;
use crate::storage::{Bucket, ReportKind, ReportQuery};

/// What each report shows, as `GET /api/reports` lists it.
pub fn description(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Calls => "Calls per hour or day with their outcomes.",
        ReportKind::Containment => {
            "Bot containment, resolution and transfer rates per hour or day."
        }
        ReportKind::Transfers => "Transfers to people or other numbers, by reason.",
        ReportKind::Queues => {
            "Per queue: callers entered, answered, abandoned, average wait, abandon rate."
        }
        ReportKind::Agents => "Per agent: calls handled, average handle time, average QA score.",
        ReportKind::Complaints => "Complaints by category.",
        ReportKind::Csat => "Post-call survey answers: count, average and distribution.",
        ReportKind::Campaigns => "Per campaign: contacts, attempted, answered, and dispositions.",
        ReportKind::Quality => {
            "Quality inspection: calls inspected, average score (reviews count), flags by code."
        }
    }
}

/// `GET /api/reports`.
pub async fn list() -> Json<serde_json::Value> {
    let reports: Vec<serde_json::Value> = ReportKind::ALL
        .iter()
        .map(|k| serde_json::json!({ "name": k.as_str(), "description": description(*k) }))
        .collect();
    Json(serde_json::json!({ "reports": reports }))
}

/// `GET /api/reports/{name}`: `from`, `to`, `bucket=hour|day`, `dialplan`,
/// `tz_offset_min`, `format=json|csv`.
pub async fn get(
    State(state): State<ApiState>,
    PathParams(name): PathParams<String>,
    p: Params,
) -> ApiResult<Response> {
    let kind = ReportKind::parse(&name).ok_or_else(|| {
        ApiError::not_found(format!(
            "no report {name:?} (reports: {})",
            ReportKind::ALL.map(ReportKind::as_str).join(", ")
        ))
    })?;
    p.only(&[
        "from",
        "to",
        "bucket",
        "dialplan",
        "tz_offset_min",
        "format",
    ])?;
    let tz = p.int("tz_offset_min", -840, 840)?.map(|n| n as i32);
    let q = ReportQuery {
        from: p.time("from", false, tz.unwrap_or(0))?,
        to: p.time("to", true, tz.unwrap_or(0))?,
        bucket: Some(match p.choice("bucket", &["day", "hour"])? {
            "hour" => Bucket::Hour,
            _ => Bucket::Day,
        }),
        dialplan: p.text("dialplan", 128)?,
        tz_offset_min: tz,
    };
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from >= to {
            return Err(ApiError::bad_request("from must be before to"));
        }
    }
    let as_csv = p.choice("format", &["json", "csv"])? == "csv";
    let report = state.db(move |s| s.report(kind, &q)).await?;
    if !as_csv {
        return Ok(Json(report).into_response());
    }
    let mut out = String::new();
    csv::write_record(&mut out, &report.columns);
    for row in &report.rows {
        let cells: Vec<String> = row.iter().map(csv::cell).collect();
        csv::write_record(&mut out, &cells);
    }
    Ok(csv::attachment(&format!("{}.csv", kind.as_str()), out))
}
