//! The SQLite store: one file in WAL mode, versioned migrations from
//! `migrations/`, one writer connection and a few readers.
//!
//! This module owns opening the file (pragmas, migrations), the connection
//! pool and the mapping of SQLite errors to [`StoreError`]; the queries
//! live in `calls` (writes about calls), `search` (call lists and
//! detail), `admin` (agents, queues, campaigns, customers), `handoffs`
//! (handoff packages, agents' passwords), `access` (outbox, webhook
//! state, API keys) and `reports`.
//!
//! Writes go through the single writer connection behind a mutex, each in
//! one `IMMEDIATE` transaction. Reads take one of the reader connections:
//! in WAL mode a reader sees the last committed state and never waits for
//! the writer, so API reads stay fast while calls are being recorded.
//! `synchronous=NORMAL` keeps every committed transaction across a process
//! kill (only a power loss may drop the last few).

mod access;
mod admin;
mod calls;
mod handoffs;
mod migrate;
mod reports;
mod reports_ops;
mod search;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use migrate::MIGRATIONS;

use super::{
    Agent, AgentLeg, ApiKey, Attempt, CallDetail, CallQuery, CallSummary, Campaign, Contact,
    Customer, EndpointState, Handoff, Millis, OutboxEvent, QaRecord, QaReview, Queue, QueueEntry,
    Recording, Report, ReportKind, ReportQuery, Role, Store, StoreError, StoreResult, Write,
};

/// Reader connections kept open beside the writer.
const READERS: usize = 4;
/// How long a statement waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`] on one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl SqliteStore {
    /// Opens (creating when missing, with its folder) the database at
    /// `path`, brings its schema up to date and refuses a schema newer than
    /// this build knows.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("creating folder {}: {e}", dir.display()))
            })?;
        }
        let shown = path.display();
        let mut writer = Connection::open(path).ctx(&format!("opening {shown}"))?;
        writer
            .busy_timeout(BUSY_TIMEOUT)
            .ctx("setting busy_timeout")?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .ctx(&format!("switching {shown} to WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{shown}: journal mode is {mode}, WAL is needed (is it a regular file?)"
            )));
        }
        writer
            .pragma_update(None, "synchronous", "NORMAL")
            .ctx("setting synchronous")?;
        writer
            .pragma_update(None, "foreign_keys", "ON")
            .ctx("enabling foreign keys")?;
        migrate::run(&mut writer)?;

        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(Mutex::new(open_reader(path)?));
        }
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The highest migration version applied to the file.
    pub fn schema_version(&self) -> StoreResult<i64> {
        self.read(migrate::current_version)
    }

    /// Runs `f` in one write transaction, committed when it returns `Ok`
    /// and rolled back otherwise.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = relock(self.writer.lock());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting a write transaction")?;
        let out = f(&tx)?;
        tx.commit().ctx("committing")?;
        Ok(out)
    }

    /// Runs `f` on a reader connection, waiting only when every reader is
    /// busy with another read.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            if let Ok(conn) = self.readers[(start + i) % n].try_lock() {
                return f(&conn);
            }
        }
        let conn = relock(self.readers[start % n].lock());
        f(&conn)
    }
}

/// A read-only connection for queries.
fn open_reader(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .ctx(&format!("opening {} for reading", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .ctx("setting busy_timeout")?;
    Ok(conn)
}

/// A connection whose previous holder panicked is still sound: an open
/// transaction was rolled back when it was dropped.
fn relock<'a>(
    r: Result<MutexGuard<'a, Connection>, std::sync::PoisonError<MutexGuard<'a, Connection>>>,
) -> MutexGuard<'a, Connection> {
    r.unwrap_or_else(|e| e.into_inner())
}

/// Adds what was being done to a SQLite error.
trait Ctx<T> {
    /// Maps the error to a [`StoreError`] saying `what` failed.
    fn ctx(self, what: &str) -> StoreResult<T>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, what: &str) -> StoreResult<T> {
        self.map_err(|e| map_error(what, e))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        map_error("reading a row", e)
    }
}

/// Constraint failures are the caller's (conflict, unknown reference);
/// everything else is the database's.
fn map_error(what: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return StoreError::Conflict(format!("{what}: {e}"));
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                return StoreError::NotFound(format!("{what}: a referenced record is missing"));
            }
            ffi::SQLITE_CONSTRAINT_NOTNULL | ffi::SQLITE_CONSTRAINT_CHECK => {
                return StoreError::Invalid(format!("{what}: {e}"));
            }
            _ => {}
        }
    }
    StoreError::Backend(format!("{what}: {e}"))
}

/// The first row of a query, mapped by `f`, if any.
fn first<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnMut(&rusqlite::Row<'_>) -> StoreResult<T>,
    what: &str,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).ctx(what)?;
    let mut rows = stmt.query_and_then(params, f).ctx(what)?;
    rows.next().transpose()
}

/// `value` as JSON text for a column.
fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

/// A JSON column read back.
fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored {what} is not valid JSON: {e}")))
}

/// `x` rounded to `places` decimals.
fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// `part / whole` rounded to 4 decimals, 0 when `whole` is 0.
fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round(part as f64 / whole as f64, 4)
    }
}

impl Store for SqliteStore {
    fn apply(&self, batch: &[Write]) -> StoreResult<()> {
        self.write(|tx| calls::apply(tx, batch))
    }

    fn close_interrupted(&self, at: Millis) -> StoreResult<Vec<String>> {
        self.write(|tx| calls::close_interrupted(tx, at))
    }

    fn search_calls(&self, q: &CallQuery) -> StoreResult<Vec<CallSummary>> {
        self.read(|c| search::search_calls(c, q))
    }

    fn call(&self, id: &str) -> StoreResult<CallDetail> {
        self.read(|c| search::call(c, id))
    }

    fn recording(&self, call: &str) -> StoreResult<Recording> {
        self.read(|c| search::recording(c, call))
    }

    fn review_qa(&self, call: &str, review: &QaReview) -> StoreResult<QaRecord> {
        self.write(|tx| calls::review_qa(tx, call, review))
    }

    fn agents(&self) -> StoreResult<Vec<Agent>> {
        self.read(admin::agents)
    }

    fn put_agent(&self, agent: &Agent) -> StoreResult<()> {
        self.write(|tx| admin::put_agent(tx, agent))
    }

    fn delete_agent(&self, id: &str) -> StoreResult<()> {
        self.write(|tx| admin::delete_agent(tx, id))
    }

    fn queues(&self) -> StoreResult<Vec<Queue>> {
        self.read(admin::queues)
    }

    fn put_queue(&self, queue: &Queue) -> StoreResult<()> {
        self.write(|tx| admin::put_queue(tx, queue))
    }

    fn delete_queue(&self, name: &str) -> StoreResult<()> {
        self.write(|tx| admin::delete_queue(tx, name))
    }

    fn put_queue_entry(&self, entry: &QueueEntry) -> StoreResult<()> {
        self.write(|tx| admin::put_queue_entry(tx, entry))
    }

    fn put_agent_leg(&self, leg: &AgentLeg) -> StoreResult<()> {
        self.write(|tx| admin::put_agent_leg(tx, leg))
    }

    fn agent_ha1(&self, id: &str) -> StoreResult<Option<String>> {
        self.read(|c| handoffs::agent_ha1(c, id))
    }

    fn set_agent_password(&self, id: &str, ha1: &str) -> StoreResult<()> {
        self.write(|tx| handoffs::set_agent_password(tx, id, ha1))
    }

    fn put_handoff(&self, h: &Handoff) -> StoreResult<()> {
        self.write(|tx| handoffs::put_handoff(tx, h))
    }

    fn handoff(&self, id: &str) -> StoreResult<Option<Handoff>> {
        self.read(|c| handoffs::handoff(c, id))
    }

    fn handoffs_of_call(&self, call_id: &str) -> StoreResult<Vec<Handoff>> {
        self.read(|c| handoffs::handoffs_of_call(c, call_id))
    }

    fn campaigns(&self) -> StoreResult<Vec<Campaign>> {
        self.read(admin::campaigns)
    }

    fn put_campaign(&self, campaign: &Campaign) -> StoreResult<()> {
        self.write(|tx| admin::put_campaign(tx, campaign))
    }

    fn add_contacts(&self, contacts: &[Contact]) -> StoreResult<Vec<i64>> {
        self.write(|tx| admin::add_contacts(tx, contacts))
    }

    fn contacts(&self, campaign: &str) -> StoreResult<Vec<Contact>> {
        self.read(|c| admin::contacts(c, campaign))
    }

    fn put_attempt(&self, attempt: &Attempt) -> StoreResult<()> {
        self.write(|tx| admin::put_attempt(tx, attempt))
    }

    fn customer(&self, phone: &str) -> StoreResult<Customer> {
        self.read(|c| admin::customer(c, phone))
    }

    fn put_customer(&self, customer: &Customer) -> StoreResult<()> {
        self.write(|tx| admin::put_customer(tx, customer))
    }

    fn report(&self, kind: ReportKind, q: &ReportQuery) -> StoreResult<Report> {
        let range = reports::Range::resolve(q, super::now_millis())?;
        self.read(|c| reports::report(c, kind, &range))
    }

    fn outbox_after(&self, seq: i64, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
        self.read(|c| access::outbox_after(c, seq, limit))
    }

    fn outbox_head(&self) -> StoreResult<i64> {
        self.read(access::outbox_head)
    }

    fn endpoint_state(&self, endpoint: &str) -> StoreResult<Option<EndpointState>> {
        self.read(|c| access::endpoint_state(c, endpoint))
    }

    fn put_endpoint_state(&self, state: &EndpointState) -> StoreResult<()> {
        self.write(|tx| access::put_endpoint_state(tx, state))
    }

    fn webhook_dead(&self, endpoint: &str, seq: i64, error: &str, at: Millis) -> StoreResult<()> {
        self.write(|tx| access::webhook_dead(tx, endpoint, seq, error, at))
    }

    fn create_api_key(
        &self,
        name: &str,
        role: Role,
        secret_sha256: &str,
        at: Millis,
    ) -> StoreResult<ApiKey> {
        self.write(|tx| access::create_api_key(tx, name, role, secret_sha256, at))
    }

    fn api_key_by_hash(&self, secret_sha256: &str, at: Millis) -> StoreResult<Option<ApiKey>> {
        let hash = secret_sha256.to_ascii_lowercase();
        let Some(key) = self.read(|c| access::api_key_by_hash(c, &hash))? else {
            return Ok(None);
        };
        if !access::touch_due(&key, at) {
            return Ok(Some(key));
        }
        // A write only when the recorded use is older than a minute.
        self.write(|tx| access::touch_api_key(tx, key, at))
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.read(access::api_keys)
    }

    fn revoke_api_key(&self, id: i64) -> StoreResult<()> {
        self.write(|tx| access::revoke_api_key(tx, id))
    }
}
