//! Reports over calls: the report range, calls per hour or day (every
//! bucket present, empty ones as zeros), containment, transfers by reason,
//! complaints by category, survey answers and quality findings. The
//! routing and campaign reports are in `reports_ops`.
//!
//! Call-based reports take the calls started in `[from, to)`, of one
//! dialplan when asked. Rates are fractions rounded to 4 decimals, and 0
//! when there is nothing to divide by; averages are rounded to 2 decimals
//! and null when there is nothing to average.

use chrono::DateTime;
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::{rate, reports_ops, round, Ctx};
use crate::storage::{Bucket, Millis, Report, ReportKind, ReportQuery, StoreError, StoreResult};

/// Default length of a report's range: a week.
const DEFAULT_SPAN_MS: Millis = 7 * 86_400_000;
/// The most rows a time series may have.
const MAX_BUCKETS: i128 = 2000;
/// The end of 9999-12-31 UTC: report ranges stay within calendar dates.
const LATEST_TIME: Millis = 253_402_300_800_000;
/// Local time offsets beyond this are not real time zones.
const MAX_TZ_OFFSET_MIN: i32 = 18 * 60;

/// Filter on `calls c` for call-based reports; binds ?1 from, ?2 to,
/// ?3 dialplan (or null).
pub(super) const CALLS_IN_RANGE: &str =
    "c.started_at >= ?1 AND c.started_at < ?2 AND (?3 IS NULL OR c.dialplan = ?3)";

/// A report's resolved range and grouping.
#[derive(Debug, Clone)]
pub(super) struct Range {
    /// Start, inclusive.
    pub from: Millis,
    /// End, exclusive.
    pub to: Millis,
    /// Time series grouping.
    pub bucket: Bucket,
    /// Local time minus UTC.
    pub tz_ms: i64,
    /// Only this dialplan's calls.
    pub dialplan: Option<String>,
}

impl Range {
    /// Fills in the defaults of `q` and checks it.
    pub(super) fn resolve(q: &ReportQuery, now: Millis) -> StoreResult<Range> {
        let to = q.to.unwrap_or(now);
        let from = q.from.unwrap_or(to.saturating_sub(DEFAULT_SPAN_MS));
        if from < 0 || to > LATEST_TIME {
            return Err(StoreError::Invalid(format!(
                "report range {from}..{to} is outside 1970 to 9999"
            )));
        }
        if from >= to {
            return Err(StoreError::Invalid(format!(
                "report range is empty: from {from} is not before to {to}"
            )));
        }
        let tz = q.tz_offset_min.unwrap_or(0);
        if tz.abs() > MAX_TZ_OFFSET_MIN {
            return Err(StoreError::Invalid(format!(
                "tz_offset_min {tz} is beyond ±{MAX_TZ_OFFSET_MIN}"
            )));
        }
        Ok(Range {
            from,
            to,
            bucket: q.bucket.unwrap_or(Bucket::Day),
            tz_ms: i64::from(tz) * 60_000,
            dialplan: q.dialplan.clone(),
        })
    }

    /// Parameters for [`CALLS_IN_RANGE`].
    pub(super) fn params(&self) -> [SqlValue; 3] {
        [
            self.from.into(),
            self.to.into(),
            self.dialplan.clone().map_or(SqlValue::Null, SqlValue::Text),
        ]
    }
}

/// Computes report `kind`.
pub(super) fn report(conn: &Connection, kind: ReportKind, r: &Range) -> StoreResult<Report> {
    match kind {
        ReportKind::Calls => calls(conn, r),
        ReportKind::Containment => containment(conn, r),
        ReportKind::Transfers => transfers(conn, r),
        ReportKind::Queues => reports_ops::queues(conn, r),
        ReportKind::Agents => reports_ops::agents(conn, r),
        ReportKind::Complaints => complaints(conn, r),
        ReportKind::Csat => csat(conn, r),
        ReportKind::Campaigns => reports_ops::campaigns(conn, r),
        ReportKind::Quality => quality(conn, r),
    }
}

/// A report from its parts.
pub(super) fn table(
    kind: ReportKind,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
    summary: Value,
) -> Report {
    Report {
        kind,
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows,
        summary,
    }
}

/// Runs `sql` and maps each row with `f`.
pub(super) fn rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    what: &str,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).ctx(what)?;
    let mapped = stmt.query_map(params, f).ctx(what)?;
    mapped.map(|row| row.ctx(what)).collect()
}

/// Outcome counts, in the order of [`CALL_COLUMNS`] after `bucket`.
const CALL_COUNTS: &str = "COUNT(*), COALESCE(SUM(c.answered_at IS NOT NULL), 0),
    COALESCE(SUM(c.outcome = 'resolved'), 0), COALESCE(SUM(c.outcome = 'abandoned'), 0),
    COALESCE(SUM(c.outcome = 'transferred'), 0), COALESCE(SUM(c.outcome = 'missed'), 0),
    COALESCE(SUM(c.outcome = 'failed'), 0), COALESCE(SUM(c.outcome = 'interrupted'), 0)";
const CALL_COLUMNS: [&str; 9] = [
    "bucket",
    "calls",
    "answered",
    "resolved",
    "abandoned",
    "transferred",
    "missed",
    "failed",
    "interrupted",
];

fn calls(conn: &Connection, r: &Range) -> StoreResult<Report> {
    let size: i64 = match r.bucket {
        Bucket::Hour => 3_600_000,
        Bucket::Day => 86_400_000,
    };
    let first = (r.from.saturating_add(r.tz_ms)).div_euclid(size) * size;
    let last = (r.to.saturating_sub(1).saturating_add(r.tz_ms)).div_euclid(size) * size;
    let n = (i128::from(last) - i128::from(first)) / i128::from(size) + 1;
    if n > MAX_BUCKETS {
        return Err(StoreError::Invalid(format!(
            "the range holds {n} buckets, more than {MAX_BUCKETS}: narrow it or use days"
        )));
    }
    let mut table_rows = Vec::new();
    for i in 0..n as i64 {
        let start = first + i * size;
        let label = DateTime::from_timestamp_millis(start)
            .map(|t| match r.bucket {
                Bucket::Hour => t.format("%Y-%m-%dT%H:00").to_string(),
                Bucket::Day => t.format("%Y-%m-%d").to_string(),
            })
            .ok_or_else(|| StoreError::Invalid(format!("time {start} is out of range")))?;
        let mut row = vec![Value::from(label)];
        row.extend(std::iter::repeat_n(Value::from(0), CALL_COLUMNS.len() - 1));
        table_rows.push(row);
    }
    let sql = format!(
        "SELECT (c.started_at + ?4 - ?5) / ?6 AS b, {CALL_COUNTS}
         FROM calls c WHERE {CALLS_IN_RANGE} GROUP BY b"
    );
    let [p1, p2, p3] = r.params();
    let counted = rows(
        conn,
        &sql,
        rusqlite::params![p1, p2, p3, r.tz_ms, first, size],
        |row| {
            let mut counts = Vec::with_capacity(8);
            for i in 1..=8 {
                counts.push(row.get::<_, i64>(i)?);
            }
            Ok((row.get::<_, i64>(0)?, counts))
        },
        "counting calls per bucket",
    )?;
    let mut totals = [0i64; 8];
    for (b, counts) in counted {
        let Some(row) = usize::try_from(b).ok().and_then(|b| table_rows.get_mut(b)) else {
            continue;
        };
        for (i, v) in counts.into_iter().enumerate() {
            row[i + 1] = Value::from(v);
            totals[i] += v;
        }
    }
    let mut summary = Map::new();
    for (name, v) in CALL_COLUMNS[1..].iter().zip(totals) {
        summary.insert((*name).to_owned(), Value::from(v));
    }
    summary.insert("buckets".into(), Value::from(table_rows.len()));
    Ok(table(
        ReportKind::Calls,
        &CALL_COLUMNS,
        table_rows,
        Value::Object(summary),
    ))
}

/// Answered calls in range, and those transferred.
fn answered_and_transferred(conn: &Connection, r: &Range) -> StoreResult<(i64, i64, i64)> {
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(c.outcome = 'resolved'), 0),
             COALESCE(SUM(c.outcome = 'transferred'), 0)
         FROM calls c WHERE {CALLS_IN_RANGE} AND c.answered_at IS NOT NULL"
    );
    conn.query_row(&sql, r.params(), |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
    .ctx("counting answered calls")
}

fn containment(conn: &Connection, r: &Range) -> StoreResult<Report> {
    let (answered, resolved, transferred) = answered_and_transferred(conn, r)?;
    let contained = answered - transferred;
    let figures = [
        ("calls", json!(answered)),
        ("contained", json!(contained)),
        ("resolved", json!(resolved)),
        ("transferred", json!(transferred)),
        ("containment_rate", json!(rate(contained, answered))),
        ("resolution_rate", json!(rate(resolved, answered))),
        ("transfer_rate", json!(rate(transferred, answered))),
    ];
    let columns: Vec<&str> = figures.iter().map(|f| f.0).collect();
    let row = figures.iter().map(|f| f.1.clone()).collect();
    let summary = figures
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<Map<_, _>>();
    Ok(table(
        ReportKind::Containment,
        &columns,
        vec![row],
        Value::Object(summary),
    ))
}

fn transfers(conn: &Connection, r: &Range) -> StoreResult<Report> {
    let sql = format!(
        "SELECT c.transfer_reason, COUNT(*) FROM calls c
         WHERE {CALLS_IN_RANGE} AND c.transfer_reason IS NOT NULL
         GROUP BY c.transfer_reason ORDER BY COUNT(*) DESC, c.transfer_reason"
    );
    let by_reason: Vec<(String, i64)> = rows(
        conn,
        &sql,
        r.params(),
        |row| Ok((row.get(0)?, row.get(1)?)),
        "counting transfers",
    )?;
    let total: i64 = by_reason.iter().map(|(_, n)| n).sum();
    let (answered, _, _) = answered_and_transferred(conn, r)?;
    let table_rows = by_reason
        .into_iter()
        .map(|(reason, n)| vec![json!(reason), json!(n), json!(rate(n, total))])
        .collect();
    Ok(table(
        ReportKind::Transfers,
        &["reason", "calls", "share"],
        table_rows,
        json!({ "transfers": total, "transfer_rate": rate(total, answered) }),
    ))
}

fn complaints(conn: &Connection, r: &Range) -> StoreResult<Report> {
    // `complaint` (or `complaint:` with nothing after it) is category other.
    let tagged = format!(
        "SELECT DISTINCT t.call_id,
             CASE WHEN t.tag = 'complaint' OR t.tag = 'complaint:' THEN 'other'
                  ELSE substr(t.tag, 11) END AS category
         FROM call_tags t JOIN calls c ON c.id = t.call_id
         WHERE {CALLS_IN_RANGE}
           AND (t.tag = 'complaint' OR substr(t.tag, 1, 10) = 'complaint:')"
    );
    let sql = format!(
        "SELECT category, COUNT(*) FROM ({tagged}) GROUP BY category
         ORDER BY COUNT(*) DESC, category"
    );
    let by_category: Vec<(String, i64)> = rows(
        conn,
        &sql,
        r.params(),
        |row| Ok((row.get(0)?, row.get(1)?)),
        "counting complaints",
    )?;
    let calls: i64 = conn
        .query_row(
            &format!("SELECT COUNT(DISTINCT call_id) FROM ({tagged})"),
            r.params(),
            |row| row.get(0),
        )
        .ctx("counting complaining calls")?;
    let table_rows = by_category
        .iter()
        .map(|(category, n)| vec![json!(category), json!(n)])
        .collect();
    Ok(table(
        ReportKind::Complaints,
        &["category", "calls"],
        table_rows,
        json!({ "calls": calls, "categories": by_category.len() }),
    ))
}

fn csat(conn: &Connection, r: &Range) -> StoreResult<Report> {
    let sql = format!(
        "SELECT c.csat, COUNT(*) FROM calls c
         WHERE {CALLS_IN_RANGE} AND c.csat BETWEEN 1 AND 5 GROUP BY c.csat"
    );
    let answers: Vec<(i64, i64)> = rows(
        conn,
        &sql,
        r.params(),
        |row| Ok((row.get(0)?, row.get(1)?)),
        "counting survey answers",
    )?;
    let count = |score: i64| {
        answers
            .iter()
            .find(|(s, _)| *s == score)
            .map_or(0, |(_, n)| *n)
    };
    let responses: i64 = answers.iter().map(|(_, n)| n).sum();
    let points: i64 = answers.iter().map(|(s, n)| s * n).sum();
    let table_rows = (1..=5)
        .map(|s| vec![json!(s), json!(count(s)), json!(rate(count(s), responses))])
        .collect();
    let average = (responses > 0).then(|| round(points as f64 / responses as f64, 2));
    Ok(table(
        ReportKind::Csat,
        &["score", "responses", "share"],
        table_rows,
        json!({
            "responses": responses,
            "average": average,
            "satisfied_share": rate(count(4) + count(5), responses),
        }),
    ))
}

fn quality(conn: &Connection, r: &Range) -> StoreResult<Report> {
    let sql = format!(
        "SELECT json_extract(f.value, '$.code') AS code, COUNT(DISTINCT q.call_id)
         FROM qa_results q JOIN calls c ON c.id = q.call_id, json_each(q.flags) f
         WHERE {CALLS_IN_RANGE} AND code IS NOT NULL
         GROUP BY code ORDER BY COUNT(DISTINCT q.call_id) DESC, code"
    );
    let by_code: Vec<(String, i64)> = rows(
        conn,
        &sql,
        r.params(),
        |row| Ok((row.get(0)?, row.get(1)?)),
        "counting quality findings",
    )?;
    let sql = format!(
        "SELECT COUNT(*), AVG(COALESCE(q.review_score, q.score)),
             COALESCE(SUM(q.reviewed_at IS NOT NULL), 0)
         FROM qa_results q JOIN calls c ON c.id = q.call_id WHERE {CALLS_IN_RANGE}"
    );
    let (inspected, average, reviewed): (i64, Option<f64>, i64) = conn
        .query_row(&sql, r.params(), |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .ctx("summing quality inspections")?;
    let table_rows = by_code
        .into_iter()
        .map(|(code, n)| vec![json!(code), json!(n)])
        .collect();
    Ok(table(
        ReportKind::Quality,
        &["code", "calls"],
        table_rows,
        json!({
            "inspected": inspected,
            "average_score": average.map(|a| round(a, 2)),
            "reviewed": reviewed,
        }),
    ))
}
