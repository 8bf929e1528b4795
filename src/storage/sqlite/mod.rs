//! The SQLite store: one file in WAL mode, migrations from `migrations/`.

/// A [`super::Store`] on one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    _private: (),
}
