//! `kefu api-key create|list|revoke`: API keys from the command line, on
//! the same database `kefu serve` uses (found through `--config`,
//! `--data-dir` and `--database` exactly as `serve` finds it).
//!
//! `create` prints the new key's secret once, on stdout, alone on its line
//! (so `KEY=$(kefu api-key create --name ci --role read_only)` works); the
//! store keeps only its SHA-256. `revoke` takes the id `list` shows.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::api::auth::{new_secret, secret_hash};
use crate::config::{Overrides, Settings};
use crate::storage::sqlite::SqliteStore;
use crate::storage::{now_millis, Role, Store};

/// `kefu api-key ...`
#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    /// Configuration file (TOML), as given to `kefu serve`.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data folder (default ./data), as given to `kefu serve`.
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// SQLite database file (default DATA_DIR/kefu.db).
    #[arg(long, value_name = "FILE", global = true)]
    pub database: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub cmd: ApiKeyCmd,
}

/// The `api-key` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCmd {
    /// Create a key and print its secret (shown only this once).
    Create {
        /// Who or what the key is for.
        #[arg(long)]
        name: String,
        /// read_only, agent, supervisor or admin.
        #[arg(long)]
        role: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key's id, as `list` shows it.
        id: i64,
    },
}

/// Runs an `api-key` subcommand.
pub fn run(args: &ApiKeyArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        data_dir: args.data_dir.clone(),
        database: args.database.clone(),
        ..Overrides::default()
    };
    let settings = Settings::load(args.config.as_deref(), &overrides)?;
    if let Some(dir) = settings
        .database
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("database folder {}: {e}", dir.display()))?;
    }
    let store = SqliteStore::open(&settings.database)
        .map_err(|e| anyhow::anyhow!("database {}: {e}", settings.database.display()))?;
    match &args.cmd {
        ApiKeyCmd::Create { name, role } => create(&store, name, role),
        ApiKeyCmd::List => list(&store),
        ApiKeyCmd::Revoke { id } => revoke(&store, *id),
    }
}

fn create(store: &dyn Store, name: &str, role: &str) -> anyhow::Result<()> {
    let role = Role::parse(role).ok_or_else(|| {
        anyhow::anyhow!("unknown role {role:?}: read_only, agent, supervisor or admin")
    })?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        anyhow::bail!("--name: 1 to 64 characters, no control characters");
    }
    let secret = new_secret();
    let key = store.create_api_key(name, role, &secret_hash(&secret), now_millis())?;
    eprintln!(
        "created API key {} {:?} ({}); its secret is shown only now:",
        key.id,
        key.name,
        key.role.as_str()
    );
    println!("{secret}");
    Ok(())
}

fn list(store: &dyn Store) -> anyhow::Result<()> {
    let time = |t: Option<i64>| {
        t.and_then(chrono::DateTime::from_timestamp_millis)
            .map_or_else(
                || "-".to_string(),
                |d| d.format("%Y-%m-%d %H:%M").to_string(),
            )
    };
    println!(
        "{:>4}  {:<24} {:<10} {:<16} {:<16} STATE",
        "ID", "NAME", "ROLE", "CREATED", "LAST USED"
    );
    for k in store.api_keys()? {
        println!(
            "{:>4}  {:<24} {:<10} {:<16} {:<16} {}",
            k.id,
            k.name,
            k.role.as_str(),
            time(Some(k.created_at)),
            time(k.last_used_at),
            if k.revoked { "revoked" } else { "active" }
        );
    }
    Ok(())
}

fn revoke(store: &dyn Store, id: i64) -> anyhow::Result<()> {
    let keys = store.api_keys()?;
    let key = keys
        .iter()
        .find(|k| k.id == id)
        .ok_or_else(|| anyhow::anyhow!("no API key {id} (see `kefu api-key list`)"))?;
    store.revoke_api_key(id)?;
    eprintln!("revoked API key {id} {:?}", key.name);
    Ok(())
}
