//! Versioned schema migrations: the SQL files under `migrations/`, embedded
//! in the binary, each applied once, in version order, in its own
//! transaction, and recorded in `schema_migrations`.
//!
//! A file whose schema is newer than this build knows is refused rather
//! than written to with an older idea of its tables.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::Ctx;
use crate::storage::{now_millis, StoreError, StoreResult};

/// Every migration as (version, name, SQL), in version order. A new
/// migration is one more line here and one more file in `migrations/`.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "records",
        include_str!("../../../migrations/0001_records.sql"),
    ),
    (
        2,
        "handoffs",
        include_str!("../../../migrations/0002_handoffs.sql"),
    ),
];

/// The highest version applied (0 for a new file).
pub(super) fn current_version(conn: &Connection) -> StoreResult<i64> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
    .ctx("reading the schema version")
}

/// Brings the schema up to date.
pub(super) fn run(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at INTEGER NOT NULL
         )",
    )
    .ctx("creating schema_migrations")?;
    let known = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
    let current = current_version(conn)?;
    if current > known {
        return Err(StoreError::Backend(format!(
            "the database schema is at version {current}, newer than the {known} this kefu \
             knows; run a newer kefu or another database file"
        )));
    }
    let mut ordered: Vec<_> = MIGRATIONS.iter().collect();
    ordered.sort_by_key(|m| m.0);
    for &(version, name, sql) in ordered {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting a migration")?;
        // Checked inside the transaction: another process may have just
        // applied it.
        let done: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()
            .ctx("reading schema_migrations")?;
        if done.is_some() {
            continue;
        }
        tx.execute_batch(sql)
            .ctx(&format!("applying migration {version} ({name})"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![version, name, now_millis()],
        )
        .ctx("recording a migration")?;
        tx.commit()
            .ctx(&format!("committing migration {version} ({name})"))?;
        tracing::info!(version, name, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn versions_increase_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0, i as i64 + 1, "migration {} ({})", m.0, m.1);
            assert!(!m.2.trim().is_empty(), "migration {} is empty", m.0);
        }
    }
}
