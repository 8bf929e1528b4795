//! Reports over routing and campaigns: queues (from queue entries entered
//! in the range), agents (from legs started in the range) and campaigns
//! (attempts and dispositions in the range). Configured queues, agents
//! and campaigns appear even when idle, with zeros.
//!
//! These are not call-based, so the report's dialplan filter does not
//! apply to them.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::reports::{rows, table, Range};
use super::{rate, round, Ctx};
use crate::storage::{Report, ReportKind, StoreResult};

/// Milliseconds as seconds, 2 decimals.
fn secs(ms: f64) -> f64 {
    round(ms / 1000.0, 2)
}

/// Queue figures: entered, answered, abandoned, overflow, average and
/// longest wait (ms, over entries that left).
type QueueFigures = (i64, i64, i64, i64, Option<f64>, Option<f64>);

const QUEUE_FIGURES: &str = "COUNT(*), COALESCE(SUM(result = 'answered'), 0),
    COALESCE(SUM(result = 'abandoned'), 0), COALESCE(SUM(result = 'overflow'), 0),
    AVG(left_at - entered_at), MAX(left_at - entered_at)";

fn queue_figures(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<QueueFigures> {
    Ok((
        row.get(at)?,
        row.get(at + 1)?,
        row.get(at + 2)?,
        row.get(at + 3)?,
        row.get::<_, Option<f64>>(at + 4)?,
        row.get::<_, Option<f64>>(at + 5)?,
    ))
}

/// Per queue: entered, answered, abandoned, overflow, waits, abandon rate.
pub(super) fn queues(conn: &Connection, r: &Range) -> StoreResult<Report> {
    let mut by_queue: BTreeMap<String, QueueFigures> = BTreeMap::new();
    for name in rows(
        conn,
        "SELECT name FROM queues",
        [],
        |row| row.get::<_, String>(0),
        "reading queues",
    )? {
        by_queue.insert(name, (0, 0, 0, 0, None, None));
    }
    let sql = format!(
        "SELECT queue, {QUEUE_FIGURES} FROM queue_entries
         WHERE entered_at >= ?1 AND entered_at < ?2 GROUP BY queue"
    );
    for (name, figures) in rows(
        conn,
        &sql,
        [r.from, r.to],
        |row| Ok((row.get::<_, String>(0)?, queue_figures(row, 1)?)),
        "counting queue entries",
    )? {
        by_queue.insert(name, figures);
    }
    let total = conn
        .query_row(
            &format!(
                "SELECT {QUEUE_FIGURES} FROM queue_entries
                 WHERE entered_at >= ?1 AND entered_at < ?2"
            ),
            [r.from, r.to],
            |row| queue_figures(row, 0),
        )
        .ctx("summing queue entries")?;
    let table_rows = by_queue
        .into_iter()
        .map(
            |(name, (entered, answered, abandoned, overflow, avg, max))| {
                vec![
                    json!(name),
                    json!(entered),
                    json!(answered),
                    json!(abandoned),
                    json!(overflow),
                    json!(avg.map(secs)),
                    json!(max.map(secs)),
                    json!(rate(abandoned, entered)),
                ]
            },
        )
        .collect();
    let (entered, answered, abandoned, overflow, avg, max) = total;
    Ok(table(
        ReportKind::Queues,
        &[
            "queue",
            "entered",
            "answered",
            "abandoned",
            "overflow",
            "avg_wait_secs",
            "max_wait_secs",
            "abandon_rate",
        ],
        table_rows,
        json!({
            "entered": entered,
            "answered": answered,
            "abandoned": abandoned,
            "overflow": overflow,
            "avg_wait_secs": avg.map(secs),
            "max_wait_secs": max.map(secs),
            "abandon_rate": rate(abandoned, entered),
        }),
    ))
}

/// Per agent: legs handled, handle times, average effective QA score of
/// the calls handled.
pub(super) fn agents(conn: &Connection, r: &Range) -> StoreResult<Report> {
    let sql = "
        SELECT a.id, a.name, COUNT(l.id), AVG(l.ended_at - l.started_at),
               COALESCE(SUM(l.ended_at - l.started_at), 0),
               AVG(COALESCE(q.review_score, q.score))
        FROM (SELECT id, name FROM agents
              UNION SELECT agent_id, '' FROM agent_legs
              WHERE started_at >= ?1 AND started_at < ?2
                AND agent_id NOT IN (SELECT id FROM agents)) a
        LEFT JOIN agent_legs l
               ON l.agent_id = a.id AND l.started_at >= ?1 AND l.started_at < ?2
        LEFT JOIN qa_results q ON q.call_id = l.call_id
        GROUP BY a.id
        ORDER BY COUNT(l.id) DESC, a.id";
    let per_agent = rows(
        conn,
        sql,
        [r.from, r.to],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<f64>>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, Option<f64>>(5)?,
            ))
        },
        "counting agent legs",
    )?;
    let handled: i64 = per_agent.iter().map(|a| a.2).sum();
    let total_ms: i64 = per_agent.iter().map(|a| a.4).sum();
    let table_rows = per_agent
        .iter()
        .map(|(id, name, handled, avg, total, qa)| {
            vec![
                json!(id),
                json!(name),
                json!(handled),
                json!(avg.map(secs)),
                json!(secs(*total as f64)),
                json!(qa.map(|s| round(s, 2))),
            ]
        })
        .collect();
    Ok(table(
        ReportKind::Agents,
        &[
            "agent_id",
            "name",
            "handled",
            "avg_handle_secs",
            "total_handle_secs",
            "avg_qa_score",
        ],
        table_rows,
        json!({
            "agents": per_agent.len(),
            "handled": handled,
            "total_handle_secs": secs(total_ms as f64),
        }),
    ))
}

/// Per campaign: contacts, contacts attempted, answered and completed
/// (given a disposition) in the range; dispositions by code.
pub(super) fn campaigns(conn: &Connection, r: &Range) -> StoreResult<Report> {
    let sql = "
        SELECT k.id, k.name,
            (SELECT COUNT(*) FROM contacts n WHERE n.campaign_id = k.id),
            (SELECT COUNT(DISTINCT a.contact_id) FROM attempts a
             WHERE a.campaign_id = k.id AND a.started_at >= ?1 AND a.started_at < ?2),
            (SELECT COUNT(DISTINCT a.contact_id) FROM attempts a
             WHERE a.campaign_id = k.id AND a.started_at >= ?1 AND a.started_at < ?2
               AND a.result = 'answered'),
            (SELECT COUNT(DISTINCT d.contact_id) FROM dispositions d
             WHERE d.campaign_id = k.id AND d.at >= ?1 AND d.at < ?2)
        FROM campaigns k ORDER BY k.created_at, k.id";
    let per_campaign = rows(
        conn,
        sql,
        [r.from, r.to],
        |row| {
            let mut v = vec![
                json!(row.get::<_, String>(0)?),
                json!(row.get::<_, String>(1)?),
            ];
            for i in 2..6 {
                v.push(json!(row.get::<_, i64>(i)?));
            }
            Ok(v)
        },
        "counting campaign progress",
    )?;
    let sum = |col: usize| -> i64 {
        per_campaign
            .iter()
            .filter_map(|row| row.get(col).and_then(Value::as_i64))
            .sum()
    };
    let codes = rows(
        conn,
        "SELECT code, COUNT(*) FROM dispositions
         WHERE campaign_id IS NOT NULL AND at >= ?1 AND at < ?2
         GROUP BY code ORDER BY code",
        [r.from, r.to],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
        "counting dispositions",
    )?;
    let dispositions: Map<String, Value> = codes.into_iter().map(|(c, n)| (c, json!(n))).collect();
    let summary = json!({
        "campaigns": per_campaign.len(),
        "contacts": sum(2),
        "attempted": sum(3),
        "answered": sum(4),
        "completed": sum(5),
        "dispositions": dispositions,
    });
    Ok(table(
        ReportKind::Campaigns,
        &[
            "campaign_id",
            "name",
            "contacts",
            "attempted",
            "answered",
            "completed",
        ],
        per_campaign,
        summary,
    ))
}
