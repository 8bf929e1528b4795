//! The webhook outbox and each endpoint's delivery state, events given up
//! on, and API keys (stored only as the SHA-256 of their secret).

use rusqlite::{params, Connection, Transaction};

use super::{first, from_json, Ctx};
use crate::storage::{
    ApiKey, EndpointState, Millis, NewOutboxEvent, OutboxEvent, Role, StoreError, StoreResult,
};

/// The most outbox events one read returns.
const MAX_OUTBOX_PAGE: u32 = 1000;
/// A key's recorded last use is refreshed at most this often.
const TOUCH_EVERY_MS: Millis = 60_000;

/// Outbox events after `seq`, oldest first.
pub(super) fn outbox_after(
    conn: &Connection,
    seq: i64,
    limit: u32,
) -> StoreResult<Vec<OutboxEvent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, key, kind, payload, at FROM outbox WHERE seq > ?1
             ORDER BY seq LIMIT ?2",
        )
        .ctx("reading the outbox")?;
    let rows = stmt
        .query_and_then(params![seq, limit.min(MAX_OUTBOX_PAGE)], |r| {
            let payload: String = r.get(3)?;
            Ok(OutboxEvent {
                seq: r.get(0)?,
                event: NewOutboxEvent {
                    key: r.get(1)?,
                    kind: r.get(2)?,
                    payload: from_json(&payload, "outbox payload")?,
                    at: r.get(4)?,
                },
            })
        })
        .ctx("reading the outbox")?;
    rows.collect()
}

/// The highest outbox seq, 0 when empty.
pub(super) fn outbox_head(conn: &Connection) -> StoreResult<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM outbox", [], |r| r.get(0))
        .ctx("reading the outbox head")
}

pub(super) fn endpoint_state(
    conn: &Connection,
    endpoint: &str,
) -> StoreResult<Option<EndpointState>> {
    first(
        conn,
        "SELECT delivered_seq, attempts, next_attempt_at, last_error FROM webhook_endpoints
         WHERE endpoint = ?1",
        [endpoint],
        |r| {
            Ok(EndpointState {
                endpoint: endpoint.to_owned(),
                delivered_seq: r.get(0)?,
                attempts: r.get(1)?,
                next_attempt_at: r.get(2)?,
                last_error: r.get(3)?,
            })
        },
        "reading a webhook endpoint's state",
    )
}

pub(super) fn put_endpoint_state(tx: &Transaction<'_>, s: &EndpointState) -> StoreResult<()> {
    if s.endpoint.is_empty() {
        return Err(StoreError::Invalid("webhook endpoint name is empty".into()));
    }
    tx.execute(
        "INSERT INTO webhook_endpoints (endpoint, delivered_seq, attempts, next_attempt_at,
                                        last_error)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (endpoint) DO UPDATE SET delivered_seq = excluded.delivered_seq,
             attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
             last_error = excluded.last_error",
        params![
            s.endpoint,
            s.delivered_seq,
            s.attempts,
            s.next_attempt_at,
            s.last_error
        ],
    )
    .ctx(&format!("saving webhook endpoint {}'s state", s.endpoint))?;
    Ok(())
}

pub(super) fn webhook_dead(
    tx: &Transaction<'_>,
    endpoint: &str,
    seq: i64,
    error: &str,
    at: Millis,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO webhook_dead (endpoint, seq, error, at) VALUES (?1, ?2, ?3, ?4)",
        params![endpoint, seq, error, at],
    )
    .ctx("recording an undeliverable webhook event")?;
    Ok(())
}

/// Columns of `api_keys` that [`key_row`] reads.
const KEY_COLUMNS: &str = "id, name, role, created_at, last_used_at, revoked";

fn key_row(r: &rusqlite::Row<'_>) -> StoreResult<ApiKey> {
    let role: String = r.get(2)?;
    Ok(ApiKey {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Backend(format!("stored API key role {role:?}")))?,
        created_at: r.get(3)?,
        last_used_at: r.get(4)?,
        revoked: r.get(5)?,
    })
}

pub(super) fn create_api_key(
    tx: &Transaction<'_>,
    name: &str,
    role: Role,
    secret_sha256: &str,
    at: Millis,
) -> StoreResult<ApiKey> {
    if name.is_empty() {
        return Err(StoreError::Invalid("API key name is empty".into()));
    }
    if secret_sha256.len() != 64 || !secret_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid(
            "an API key's SHA-256 must be 64 hexadecimal digits".into(),
        ));
    }
    tx.execute(
        "INSERT INTO api_keys (name, role, secret_sha256, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, role.as_str(), secret_sha256.to_ascii_lowercase(), at],
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            StoreError::Conflict("an API key with this secret exists already".into())
        }
        _ => StoreError::Backend(format!("creating API key {name}: {e}")),
    })?;
    Ok(ApiKey {
        id: tx.last_insert_rowid(),
        name: name.to_owned(),
        role,
        created_at: at,
        last_used_at: None,
        revoked: false,
    })
}

/// The live key with this (lowercase) hash.
pub(super) fn api_key_by_hash(conn: &Connection, hash: &str) -> StoreResult<Option<ApiKey>> {
    first(
        conn,
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_sha256 = ?1 AND revoked = 0"),
        [hash],
        key_row,
        "looking up an API key",
    )
}

/// Whether a use at `at` should be recorded.
pub(super) fn touch_due(key: &ApiKey, at: Millis) -> bool {
    key.last_used_at
        .is_none_or(|last| at.saturating_sub(last) >= TOUCH_EVERY_MS)
}

/// Records a use of `key` at `at`, returning it updated.
pub(super) fn touch_api_key(
    tx: &Transaction<'_>,
    mut key: ApiKey,
    at: Millis,
) -> StoreResult<Option<ApiKey>> {
    let n = tx
        .execute(
            "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 AND revoked = 0",
            params![key.id, at],
        )
        .ctx("recording an API key's use")?;
    if n == 0 {
        // Revoked between the look-up and now.
        return Ok(None);
    }
    key.last_used_at = Some(at);
    Ok(Some(key))
}

/// Every key, oldest first.
pub(super) fn api_keys(conn: &Connection) -> StoreResult<Vec<ApiKey>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id"))
        .ctx("reading API keys")?;
    let rows = stmt.query_and_then([], key_row).ctx("reading API keys")?;
    rows.collect()
}

pub(super) fn revoke_api_key(tx: &Transaction<'_>, id: i64) -> StoreResult<()> {
    let n = tx
        .execute("UPDATE api_keys SET revoked = 1 WHERE id = ?1", [id])
        .ctx(&format!("revoking API key {id}"))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("API key {id}")));
    }
    Ok(())
}
