//! Handoff packages (what an agent is shown of a call handed to them) and
//! agents' SIP passwords, kept as digest HA1 only.
//!
//! A package is written once, when routing hands a call over, and read by
//! the agent console; it is never updated. Its call is not a foreign key:
//! the package may be made while the call's own rows are still on their
//! way to the store.

use rusqlite::{params, Connection, Transaction};

use super::admin::check_ha1;
use super::{first, from_json, to_json, Ctx};
use crate::storage::{Handoff, StoreError, StoreResult};

const COLUMNS: &str = "id, call_id, created_at, queue, agent_id, package";

/// Stores a new package.
pub(super) fn put_handoff(tx: &Transaction<'_>, h: &Handoff) -> StoreResult<()> {
    if h.id.is_empty() || h.call_id.is_empty() {
        return Err(StoreError::Invalid(
            "a handoff needs an id and a call id".into(),
        ));
    }
    tx.execute(
        "INSERT INTO handoffs (id, call_id, created_at, queue, agent_id, package)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            h.id,
            h.call_id,
            h.created_at,
            h.queue,
            h.agent_id,
            to_json(&h.package, "handoff package")?
        ],
    )
    .ctx(&format!("saving handoff {}", h.id))?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> StoreResult<Handoff> {
    let package: String = r.get(5)?;
    Ok(Handoff {
        id: r.get(0)?,
        call_id: r.get(1)?,
        created_at: r.get(2)?,
        queue: r.get(3)?,
        agent_id: r.get(4)?,
        package: from_json(&package, "handoff package")?,
    })
}

/// One package by id.
pub(super) fn handoff(conn: &Connection, id: &str) -> StoreResult<Option<Handoff>> {
    first(
        conn,
        &format!("SELECT {COLUMNS} FROM handoffs WHERE id = ?1"),
        [id],
        row,
        "reading a handoff",
    )
}

/// A call's packages, oldest first.
pub(super) fn handoffs_of_call(conn: &Connection, call_id: &str) -> StoreResult<Vec<Handoff>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM handoffs WHERE call_id = ?1 ORDER BY created_at, rowid"
        ))
        .ctx("reading a call's handoffs")?;
    let rows = stmt
        .query_and_then([call_id], row)
        .ctx("reading a call's handoffs")?;
    rows.collect()
}

/// An agent's HA1, `None` when no password is set.
pub(super) fn agent_ha1(conn: &Connection, id: &str) -> StoreResult<Option<String>> {
    let found: Option<Option<String>> = first(
        conn,
        "SELECT password_ha1 FROM agents WHERE id = ?1",
        [id],
        |r| Ok(r.get(0)?),
        "reading an agent's password",
    )?;
    found.ok_or_else(|| StoreError::NotFound(format!("agent {id}")))
}

/// Sets an agent's HA1 (stored in lower case).
pub(super) fn set_agent_password(tx: &Transaction<'_>, id: &str, ha1: &str) -> StoreResult<()> {
    check_ha1(ha1)?;
    let n = tx
        .execute(
            "UPDATE agents SET password_ha1 = ?2 WHERE id = ?1",
            params![id, ha1.to_ascii_lowercase()],
        )
        .ctx(&format!("setting agent {id}'s password"))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("agent {id}")));
    }
    Ok(())
}
