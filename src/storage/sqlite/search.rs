//! Reading calls back: the filtered, paged call list and everything about
//! one call (transcript, event log, recording, QA, dispositions).

use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{first, from_json, Ctx};
use crate::storage::{
    CallDetail, CallQuery, CallSummary, Direction, Disposition, Event, Line, Outcome, QaFlag,
    QaRecord, QaResult, QaReview, Recording, Speaker, StoreError, StoreResult, StoredLine,
    TalkStats, TransferInfo,
};

/// Emotion levels from calm to angry; a search for one matches it and
/// every level after it.
pub(super) const EMOTIONS: [&str; 4] = ["neutral", "concerned", "upset", "angry"];

/// Calls per page when the query does not say.
const DEFAULT_LIMIT: u32 = 50;
/// The most calls one page may ask for.
const MAX_LIMIT: u32 = 500;

/// The columns [`summary_row`] reads, from `calls c`.
const SUMMARY_COLUMNS: &str = "c.id, c.direction, c.sip_call_id, c.caller, c.called, c.dialplan,
    c.started_at, c.answered_at, c.ended_at, c.end_reason, c.outcome, c.intents,
    c.emotion_start, c.emotion_end, c.emotion_peak, c.transfer_target, c.transfer_reason,
    c.transfer_at, c.csat,
    (SELECT COALESCE(q.review_score, q.score) FROM qa_results q WHERE q.call_id = c.id),
    (SELECT json_group_array(t.tag ORDER BY t.id) FROM call_tags t WHERE t.call_id = c.id),
    c.campaign_id,
    EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id),
    c.talk";

/// `s` as a LIKE pattern matching any text containing it (`\` escapes).
pub(super) fn contains_pattern(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for ch in s.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Calls matching every filter of `q`, newest first.
pub(super) fn search_calls(conn: &Connection, q: &CallQuery) -> StoreResult<Vec<CallSummary>> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(StoreError::Invalid(format!(
            "limit {limit} is above the maximum of {MAX_LIMIT}"
        )));
    }
    let mut sql = format!("SELECT {SUMMARY_COLUMNS} FROM calls c WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |sql: &mut String, clause: &str, v: Value| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(n) = &q.number {
        let p = contains_pattern(n);
        arg(
            &mut sql,
            " AND (c.caller LIKE ? ESCAPE '\\'",
            p.clone().into(),
        );
        arg(&mut sql, " OR c.called LIKE ? ESCAPE '\\')", p.into());
    }
    if let Some(from) = q.from {
        arg(&mut sql, " AND c.started_at >= ?", from.into());
    }
    if let Some(to) = q.to {
        arg(&mut sql, " AND c.started_at < ?", to.into());
    }
    if let Some(intent) = &q.intent {
        arg(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM json_each(c.intents) i WHERE i.value = ?)",
            intent.clone().into(),
        );
    }
    if let Some(level) = &q.emotion {
        let Some(rank) = EMOTIONS.iter().position(|e| e == level) else {
            return Err(StoreError::Invalid(format!(
                "unknown emotion level {level:?} (expected one of {})",
                EMOTIONS.join(", ")
            )));
        };
        sql.push_str(" AND c.emotion_peak IN (");
        for (i, e) in EMOTIONS[rank..].iter().enumerate() {
            arg(
                &mut sql,
                if i == 0 { "?" } else { ", ?" },
                Value::Text((*e).to_owned()),
            );
        }
        sql.push(')');
    }
    if let Some(text) = &q.text {
        arg(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM transcript_lines l
                          WHERE l.call_id = c.id AND l.text LIKE ? ESCAPE '\\')",
            contains_pattern(text).into(),
        );
    }
    if let Some(outcome) = q.outcome {
        arg(
            &mut sql,
            " AND c.outcome = ?",
            Value::Text(outcome.as_str().to_owned()),
        );
    }
    if let Some(dialplan) = &q.dialplan {
        arg(&mut sql, " AND c.dialplan = ?", dialplan.clone().into());
    }
    if let Some(tag) = &q.tag {
        arg(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM call_tags t WHERE t.call_id = c.id AND t.tag = ?)",
            tag.clone().into(),
        );
    }
    arg(
        &mut sql,
        " ORDER BY c.started_at DESC, c.id DESC LIMIT ?",
        i64::from(limit).into(),
    );
    arg(
        &mut sql,
        " OFFSET ?",
        i64::from(q.offset.unwrap_or(0)).into(),
    );

    let mut stmt = conn.prepare(&sql).ctx("preparing the call search")?;
    let rows = stmt
        .query_and_then(rusqlite::params_from_iter(args), |r| {
            summary_row(r).map(|(s, _)| s)
        })
        .ctx("searching calls")?;
    rows.collect()
}

/// Everything about call `id`.
pub(super) fn call(conn: &Connection, id: &str) -> StoreResult<CallDetail> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM calls c WHERE c.id = ?1");
    let found = first(conn, &sql, [id], summary_row, "reading a call")?;
    let Some((summary, talk)) = found else {
        return Err(StoreError::NotFound(format!("call {id}")));
    };
    Ok(CallDetail {
        summary,
        talk,
        lines: lines(conn, id)?,
        events: events(conn, id)?,
        recording: find_recording(conn, id)?,
        qa: qa_record(conn, id)?,
        dispositions: dispositions(conn, id)?,
    })
}

/// A call's recording.
pub(super) fn recording(conn: &Connection, call: &str) -> StoreResult<Recording> {
    find_recording(conn, call)?
        .ok_or_else(|| StoreError::NotFound(format!("recording of call {call}")))
}

/// A call's QA result with its review, if inspected.
pub(super) fn qa_record(conn: &Connection, call: &str) -> StoreResult<Option<QaRecord>> {
    first(
        conn,
        "SELECT score, flags, checks, at, reviewer, review_score, review_note, reviewed_at
         FROM qa_results WHERE call_id = ?1",
        [call],
        |r| {
            let flags: String = r.get(1)?;
            let checks: String = r.get(2)?;
            let auto = QaResult {
                score: r.get(0)?,
                flags: from_json::<Vec<QaFlag>>(&flags, "QA flags")?,
                checks: from_json(&checks, "QA checks")?,
                at: r.get(3)?,
            };
            let review = match r.get::<_, Option<i64>>(7)? {
                Some(at) => Some(QaReview {
                    reviewer: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    score: r.get(5)?,
                    note: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    at,
                }),
                None => None,
            };
            let score = review.as_ref().and_then(|v| v.score).unwrap_or(auto.score);
            Ok(QaRecord {
                call_id: call.to_owned(),
                auto,
                review,
                score,
            })
        },
        "reading a QA result",
    )
}

fn find_recording(conn: &Connection, call: &str) -> StoreResult<Option<Recording>> {
    conn.query_row(
        "SELECT path, format, bytes, duration_ms, at FROM recordings WHERE call_id = ?1",
        [call],
        |r| {
            Ok(Recording {
                call_id: call.to_owned(),
                path: r.get(0)?,
                format: r.get(1)?,
                bytes: r.get(2)?,
                duration_ms: r.get(3)?,
                at: r.get(4)?,
            })
        },
    )
    .optional()
    .ctx(&format!("reading the recording of call {call}"))
}

fn lines(conn: &Connection, call: &str) -> StoreResult<Vec<StoredLine>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, seq, speaker, text, started_at, ended_at, confidence, emotion, intent
             FROM transcript_lines WHERE call_id = ?1 ORDER BY seq",
        )
        .ctx("reading the transcript")?;
    let rows = stmt
        .query_and_then([call], |r| {
            let speaker: String = r.get(2)?;
            Ok(StoredLine {
                id: r.get(0)?,
                seq: r.get(1)?,
                line: Line {
                    speaker: parse_speaker(&speaker)?,
                    text: r.get(3)?,
                    started_at: r.get(4)?,
                    ended_at: r.get(5)?,
                    confidence: r.get::<_, Option<f64>>(6)?.map(|c| c as f32),
                    emotion: r.get(7)?,
                    intent: r.get(8)?,
                },
            })
        })
        .ctx("reading the transcript")?;
    rows.collect()
}

fn events(conn: &Connection, call: &str) -> StoreResult<Vec<Event>> {
    let mut stmt = conn
        .prepare_cached("SELECT at, kind, data FROM call_events WHERE call_id = ?1 ORDER BY at, id")
        .ctx("reading the event log")?;
    let rows = stmt
        .query_and_then([call], |r| {
            let data: String = r.get(2)?;
            Ok(Event {
                at: r.get(0)?,
                kind: r.get(1)?,
                data: from_json(&data, "event data")?,
            })
        })
        .ctx("reading the event log")?;
    rows.collect()
}

fn dispositions(conn: &Connection, call: &str) -> StoreResult<Vec<Disposition>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT campaign_id, contact_id, code, note, at FROM dispositions
             WHERE call_id = ?1 ORDER BY at, id",
        )
        .ctx("reading dispositions")?;
    let rows = stmt
        .query_map(params![call], |r| {
            Ok(Disposition {
                call_id: Some(call.to_owned()),
                campaign_id: r.get(0)?,
                contact_id: r.get(1)?,
                code: r.get(2)?,
                note: r.get(3)?,
                at: r.get(4)?,
            })
        })
        .ctx("reading dispositions")?;
    rows.map(|d| d.ctx("reading a disposition")).collect()
}

/// A row of [`SUMMARY_COLUMNS`]: the summary and the talk statistics.
fn summary_row(r: &Row<'_>) -> StoreResult<(CallSummary, Option<TalkStats>)> {
    let id: String = r.get(0)?;
    let direction: String = r.get(1)?;
    let outcome: String = r.get(10)?;
    let intents: String = r.get(11)?;
    let transfer = match (
        r.get::<_, Option<String>>(15)?,
        r.get::<_, Option<i64>>(17)?,
    ) {
        (Some(target), Some(at)) => Some(TransferInfo {
            target,
            reason: r.get::<_, Option<String>>(16)?.unwrap_or_default(),
            at,
        }),
        _ => None,
    };
    let csat = match r.get::<_, Option<i64>>(18)? {
        Some(v) => Some(u8::try_from(v).map_err(|_| corrupt(&id, "csat"))?),
        None => None,
    };
    let tags: String = r.get(20)?;
    let talk = match r.get::<_, Option<String>>(23)? {
        Some(t) => Some(from_json(&t, "talk statistics")?),
        None => None,
    };
    let summary = CallSummary {
        direction: match direction.as_str() {
            "inbound" => Direction::Inbound,
            "outbound" => Direction::Outbound,
            _ => return Err(corrupt(&id, "direction")),
        },
        sip_call_id: r.get(2)?,
        caller: r.get(3)?,
        called: r.get(4)?,
        dialplan: r.get(5)?,
        started_at: r.get(6)?,
        answered_at: r.get(7)?,
        ended_at: r.get(8)?,
        end_reason: r.get(9)?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt(&id, "outcome"))?,
        intents: from_json(&intents, "intents")?,
        emotion_start: r.get(12)?,
        emotion_end: r.get(13)?,
        emotion_peak: r.get(14)?,
        transfer,
        csat,
        qa_score: r.get(19)?,
        tags: from_json(&tags, "tags")?,
        campaign_id: r.get(21)?,
        recorded: r.get(22)?,
        id,
    };
    Ok((summary, talk))
}

fn parse_speaker(s: &str) -> StoreResult<Speaker> {
    match s {
        "caller" => Ok(Speaker::Caller),
        "bot" => Ok(Speaker::Bot),
        "agent" => Ok(Speaker::Agent),
        _ => Err(StoreError::Backend(format!(
            "stored speaker {s:?} is unknown"
        ))),
    }
}

fn corrupt(call: &str, column: &str) -> StoreError {
    StoreError::Backend(format!("call {call} has an unreadable {column}"))
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(contains_pattern("快递"), "%快递%");
    }
}
