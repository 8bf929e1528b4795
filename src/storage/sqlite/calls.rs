//! Writes about calls: [`Write`] batches applied in order inside the
//! caller's transaction, closing calls left in progress by a stopped
//! process, and supervisors' QA reviews.
//!
//! Every write naming a call checks that the call exists, so a batch that
//! refers to an unknown call fails as a whole with
//! [`StoreError::NotFound`]. `call_events` is only ever inserted into.

use rusqlite::{params, OptionalExtension, Transaction};

use super::{search, to_json, Ctx};
use crate::storage::{
    CallEnd, Direction, Disposition, Event, Line, Millis, NewCall, NewOutboxEvent, Outcome,
    QaRecord, QaResult, QaReview, Recording, Speaker, StoreError, StoreResult, TransferInfo, Write,
};

/// Applies `batch` in order.
pub(super) fn apply(tx: &Transaction<'_>, batch: &[Write]) -> StoreResult<()> {
    for w in batch {
        apply_one(tx, w)?;
    }
    Ok(())
}

fn apply_one(tx: &Transaction<'_>, w: &Write) -> StoreResult<()> {
    match w {
        Write::CallStarted(c) => start(tx, c),
        Write::Answered { call, at } => update_call(
            tx,
            call,
            "UPDATE calls SET answered_at = ?2 WHERE id = ?1",
            params![call, at],
        ),
        Write::Line { call, line } => add_line(tx, call, line),
        Write::LineEmotion { call, emotion } => {
            set_latest_caller_line(tx, call, "emotion", emotion)
        }
        Write::LineIntent { call, intent } => set_latest_caller_line(tx, call, "intent", intent),
        Write::Event { call, event } => add_event(tx, call, event),
        Write::Transfer { call, transfer } => set_transfer(tx, call, transfer),
        Write::Tag {
            call,
            phone,
            tag,
            at,
        } => add_tag(tx, call, phone, tag, *at),
        Write::Csat { call, score, at } => {
            if !(1..=5).contains(score) {
                return Err(StoreError::Invalid(format!(
                    "survey score {score} for call {call} is not 1..=5"
                )));
            }
            update_call(
                tx,
                call,
                "UPDATE calls SET csat = ?2, csat_at = ?3 WHERE id = ?1",
                params![call, score, at],
            )
        }
        Write::Ended { call, end } => end_call(tx, call, end),
        Write::Recording(r) => put_recording(tx, r),
        Write::Qa { call, result } => put_qa(tx, call, result),
        Write::Disposition(d) => add_disposition(tx, d),
        Write::Outbox(e) => add_outbox(tx, e),
    }
}

/// Stored name of a direction.
pub(super) fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

/// Stored name of a speaker.
pub(super) fn speaker_str(s: Speaker) -> &'static str {
    match s {
        Speaker::Caller => "caller",
        Speaker::Bot => "bot",
        Speaker::Agent => "agent",
    }
}

/// Fails with NotFound unless the call exists.
fn require_call(tx: &Transaction<'_>, call: &str) -> StoreResult<()> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM calls WHERE id = ?1")
        .and_then(|mut s| s.query_row([call], |r| r.get(0)).optional())
        .ctx("looking up a call")?;
    match found {
        Some(_) => Ok(()),
        None => Err(unknown_call(call)),
    }
}

fn unknown_call(call: &str) -> StoreError {
    StoreError::NotFound(format!("call {call}"))
}

/// Runs an UPDATE of one call row; NotFound when no row matched.
fn update_call(
    tx: &Transaction<'_>,
    call: &str,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<()> {
    let n = tx
        .prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .ctx(&format!("updating call {call}"))?;
    if n == 0 {
        return Err(unknown_call(call));
    }
    Ok(())
}

fn start(tx: &Transaction<'_>, c: &NewCall) -> StoreResult<()> {
    if c.id.is_empty() {
        return Err(StoreError::Invalid("a call needs an id".into()));
    }
    tx.prepare_cached(
        "INSERT INTO calls (id, direction, sip_call_id, caller, called, dialplan, started_at,
                            campaign_id, contact_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            c.id,
            direction_str(c.direction),
            c.sip_call_id,
            c.caller,
            c.called,
            c.dialplan,
            c.started_at,
            c.campaign_id,
            c.contact_id,
        ])
    })
    .ctx(&format!("recording call {}", c.id))?;
    // The customer is the party on the far end: the caller of an inbound
    // call, the called number of an outbound one.
    let phone = match c.direction {
        Direction::Inbound => &c.caller,
        Direction::Outbound => &c.called,
    };
    if phone.is_empty() {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO customers (phone, calls, first_seen, last_seen) VALUES (?1, 1, ?2, ?2)
         ON CONFLICT (phone) DO UPDATE SET
             calls = calls + 1,
             first_seen = MIN(COALESCE(first_seen, excluded.first_seen), excluded.first_seen),
             last_seen = MAX(COALESCE(last_seen, excluded.last_seen), excluded.last_seen)",
    )
    .and_then(|mut s| s.execute(params![phone, c.started_at]))
    .ctx("counting the customer's call")?;
    Ok(())
}

fn add_line(tx: &Transaction<'_>, call: &str, line: &Line) -> StoreResult<()> {
    require_call(tx, call)?;
    tx.prepare_cached(
        "INSERT INTO transcript_lines
             (call_id, seq, speaker, text, started_at, ended_at, confidence, emotion, intent)
         VALUES (?1,
                 (SELECT COALESCE(MAX(seq) + 1, 0) FROM transcript_lines WHERE call_id = ?1),
                 ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            call,
            speaker_str(line.speaker),
            line.text,
            line.started_at,
            line.ended_at,
            line.confidence.map(f64::from),
            line.emotion,
            line.intent,
        ])
    })
    .ctx(&format!("adding a transcript line to call {call}"))?;
    Ok(())
}

/// Sets `column` (emotion or intent) of the call's latest caller line;
/// nothing when the caller has not spoken yet.
fn set_latest_caller_line(
    tx: &Transaction<'_>,
    call: &str,
    column: &str,
    value: &str,
) -> StoreResult<()> {
    require_call(tx, call)?;
    let sql = format!(
        "UPDATE transcript_lines SET {column} = ?2 WHERE id = (
             SELECT id FROM transcript_lines WHERE call_id = ?1 AND speaker = 'caller'
             ORDER BY seq DESC LIMIT 1)"
    );
    tx.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params![call, value]))
        .ctx(&format!(
            "setting the {column} of call {call}'s latest line"
        ))?;
    Ok(())
}

fn add_event(tx: &Transaction<'_>, call: &str, e: &Event) -> StoreResult<()> {
    require_call(tx, call)?;
    let data = to_json(&e.data, "event data")?;
    tx.prepare_cached("INSERT INTO call_events (call_id, at, kind, data) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| s.execute(params![call, e.at, e.kind, data]))
        .ctx(&format!("adding an event to call {call}"))?;
    Ok(())
}

fn set_transfer(tx: &Transaction<'_>, call: &str, t: &TransferInfo) -> StoreResult<()> {
    update_call(
        tx,
        call,
        "UPDATE calls SET transfer_target = ?2, transfer_reason = ?3, transfer_at = ?4
         WHERE id = ?1",
        params![call, t.target, t.reason, t.at],
    )
}

fn add_tag(
    tx: &Transaction<'_>,
    call: &str,
    phone: &str,
    tag: &str,
    at: Millis,
) -> StoreResult<()> {
    if tag.is_empty() {
        return Err(StoreError::Invalid(format!("empty tag for call {call}")));
    }
    require_call(tx, call)?;
    tx.prepare_cached(
        "INSERT INTO call_tags (call_id, tag, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (call_id, tag) DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![call, tag, at]))
    .ctx(&format!("tagging call {call}"))?;
    if phone.is_empty() {
        return Ok(());
    }
    tx.prepare_cached("INSERT INTO customers (phone) VALUES (?1) ON CONFLICT (phone) DO NOTHING")
        .and_then(|mut s| s.execute([phone]))
        .ctx("recording the tagged customer")?;
    tx.prepare_cached(
        "INSERT INTO customer_tags (phone, tag) VALUES (?1, ?2)
         ON CONFLICT (phone, tag) DO NOTHING",
    )
    .and_then(|mut s| s.execute([phone, tag]))
    .ctx("tagging the customer")?;
    Ok(())
}

fn end_call(tx: &Transaction<'_>, call: &str, end: &CallEnd) -> StoreResult<()> {
    if end.outcome == Outcome::InProgress {
        return Err(StoreError::Invalid(format!(
            "call {call} cannot end with outcome in_progress"
        )));
    }
    let intents = to_json(&end.intents, "intents")?;
    let talk = to_json(&end.talk, "talk statistics")?;
    update_call(
        tx,
        call,
        "UPDATE calls SET ended_at = ?2, end_reason = ?3, outcome = ?4, intents = ?5,
             emotion_start = ?6, emotion_end = ?7, emotion_peak = ?8, talk = ?9
         WHERE id = ?1",
        params![
            call,
            end.ended_at,
            end.end_reason,
            end.outcome.as_str(),
            intents,
            end.emotion_start,
            end.emotion_end,
            end.emotion_peak,
            talk,
        ],
    )
}

fn put_recording(tx: &Transaction<'_>, r: &Recording) -> StoreResult<()> {
    require_call(tx, &r.call_id)?;
    tx.prepare_cached(
        "INSERT INTO recordings (call_id, path, format, bytes, duration_ms, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (call_id) DO UPDATE SET path = excluded.path, format = excluded.format,
             bytes = excluded.bytes, duration_ms = excluded.duration_ms, at = excluded.at",
    )
    .and_then(|mut s| {
        s.execute(params![
            r.call_id,
            r.path,
            r.format,
            r.bytes,
            r.duration_ms,
            r.at
        ])
    })
    .ctx(&format!("recording the recording of call {}", r.call_id))?;
    Ok(())
}

/// Stores the automatic inspection; a review already given is kept.
fn put_qa(tx: &Transaction<'_>, call: &str, q: &QaResult) -> StoreResult<()> {
    if !q.score.is_finite() {
        return Err(StoreError::Invalid(format!(
            "QA score of call {call} is not a number"
        )));
    }
    require_call(tx, call)?;
    let flags = to_json(&q.flags, "QA flags")?;
    let checks = to_json(&q.checks, "QA checks")?;
    tx.prepare_cached(
        "INSERT INTO qa_results (call_id, score, flags, checks, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (call_id) DO UPDATE SET score = excluded.score, flags = excluded.flags,
             checks = excluded.checks, at = excluded.at",
    )
    .and_then(|mut s| s.execute(params![call, q.score, flags, checks, q.at]))
    .ctx(&format!("recording the QA of call {call}"))?;
    Ok(())
}

fn add_disposition(tx: &Transaction<'_>, d: &Disposition) -> StoreResult<()> {
    if d.code.is_empty() {
        return Err(StoreError::Invalid("a disposition needs a code".into()));
    }
    if let Some(call) = &d.call_id {
        require_call(tx, call)?;
    }
    tx.prepare_cached(
        "INSERT INTO dispositions (call_id, campaign_id, contact_id, code, note, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            d.call_id,
            d.campaign_id,
            d.contact_id,
            d.code,
            d.note,
            d.at
        ])
    })
    .ctx("recording a disposition")?;
    Ok(())
}

/// Queues a webhook event; a key seen before is ignored so that a retried
/// batch does not queue it twice.
fn add_outbox(tx: &Transaction<'_>, e: &NewOutboxEvent) -> StoreResult<()> {
    if e.key.is_empty() {
        return Err(StoreError::Invalid("an outbox event needs a key".into()));
    }
    let payload = to_json(&e.payload, "outbox payload")?;
    tx.prepare_cached(
        "INSERT INTO outbox (key, kind, payload, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![e.key, e.kind, payload, e.at]))
    .ctx("queueing a webhook event")?;
    Ok(())
}

/// Marks every call still in progress as interrupted at `at`.
pub(super) fn close_interrupted(tx: &Transaction<'_>, at: Millis) -> StoreResult<Vec<String>> {
    let mut ids = Vec::new();
    {
        let mut stmt = tx
            .prepare("SELECT id FROM calls WHERE outcome = 'in_progress' ORDER BY started_at, id")
            .ctx("finding calls in progress")?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .ctx("finding calls in progress")?;
        for id in rows {
            ids.push(id.ctx("reading a call id")?);
        }
    }
    tx.execute(
        "UPDATE calls SET outcome = 'interrupted', end_reason = 'interrupted',
             ended_at = COALESCE(ended_at, ?1)
         WHERE outcome = 'in_progress'",
        [at],
    )
    .ctx("closing interrupted calls")?;
    Ok(ids)
}

/// Records a review and returns the updated QA record.
pub(super) fn review_qa(
    tx: &Transaction<'_>,
    call: &str,
    review: &QaReview,
) -> StoreResult<QaRecord> {
    if review.score.is_some_and(|s| !s.is_finite()) {
        return Err(StoreError::Invalid("review score is not a number".into()));
    }
    let n = tx
        .execute(
            "UPDATE qa_results SET reviewer = ?2, review_score = ?3, review_note = ?4,
                 reviewed_at = ?5
             WHERE call_id = ?1",
            params![call, review.reviewer, review.score, review.note, review.at],
        )
        .ctx(&format!("reviewing the QA of call {call}"))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("QA result of call {call}")));
    }
    search::qa_record(tx, call)?
        .ok_or_else(|| StoreError::NotFound(format!("QA result of call {call}")))
}
