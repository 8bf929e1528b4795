//! API keys: their secrets, the roles they carry, and the check every
//! protected route makes.
//!
//! A secret is `kefu_` and 64 hex digits (32 random bytes). Only its
//! SHA-256 (hex) is stored; a request presents the secret as
//! `Authorization: Bearer <secret>` or `X-Api-Key: <secret>`, and is let
//! through when the key exists, is not revoked, and its role is at least
//! the route's (`read_only` < `agent` < `supervisor` < `admin`). No key or
//! an unknown one is 401; a role too low is 403.
//!
//! An agent's console session token ([`super::sessions`]) is presented the
//! same way and counts as the `agent` role bound to that agent. Browsers
//! cannot set headers on a websocket, so a websocket upgrade may instead
//! carry the secret as `?token=` or `?key=`.
//!
//! On first start [`ensure_admin_key`] creates an `admin` key and writes
//! its secret to `DATA_DIR/admin-api-key` (mode 0600), since otherwise no
//! one could create the first key through the API.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::state::ApiState;
use crate::storage::{now_millis, Role, Store};

/// The name of the file holding the first admin key's secret.
pub const ADMIN_KEY_FILE: &str = "admin-api-key";

/// The key a request authenticated with, for handlers that record who
/// acted (a QA review's reviewer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Key id.
    pub key_id: i64,
    /// Key name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The agent signed in, for a console session (none for API keys).
    pub agent: Option<String>,
}

impl Caller {
    /// Whether the caller may act for `agent`: that agent's own session,
    /// or a supervisor or admin key.
    pub fn may_act_for(&self, agent: &str) -> bool {
        self.role >= Role::Supervisor || self.agent.as_deref() == Some(agent)
    }
}

/// A new random secret: `kefu_` and 64 hex digits.
pub fn new_secret() -> String {
    format!("kefu_{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// The SHA-256 (hex) under which a secret's key is stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// When the store has no API keys at all, creates an admin key named
/// `admin`, writes its secret (and a newline) to `DATA_DIR/admin-api-key`
/// with mode 0600 and returns that file's path; otherwise `None`. The
/// caller logs the path, never the secret.
pub fn ensure_admin_key(store: &dyn Store, data_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if !store.api_keys()?.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| anyhow::anyhow!("data dir {}: {e}", data_dir.display()))?;
    let path = data_dir.join(ADMIN_KEY_FILE);
    let secret = new_secret();
    // The file first: a key whose secret is nowhere would lock the API.
    write_private(&path, &format!("{secret}\n"))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    if let Err(e) = store.create_api_key("admin", Role::Admin, &secret_hash(&secret), now_millis())
    {
        let _ = std::fs::remove_file(&path);
        return Err(e.into());
    }
    Ok(Some(path))
}

/// Writes `text` to `path` readable by the owner only, replacing it.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let mut f = opts.open(path)?;
        // An older file keeps its mode on open: set it.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut f = opts.open(path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    }
}

/// The secret a request presents, if any.
fn presented(req: &Request) -> Result<Option<String>, ApiError> {
    let headers = req.headers();
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v
            .to_str()
            .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
        let (scheme, token) = v.trim().split_once(' ').unwrap_or((v, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::unauthorized(
                "Authorization must be `Bearer <api key>`",
            ));
        }
        return Ok(Some(token.trim().to_string()));
    }
    match headers.get("x-api-key") {
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim().to_string()))
            .map_err(|_| ApiError::unauthorized("malformed X-Api-Key header")),
        None if is_websocket(req) => Ok(query_secret(req.uri().query().unwrap_or(""))),
        None => Ok(None),
    }
}

/// Whether the request asks to become a websocket.
fn is_websocket(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The `token=` or `key=` of a query string.
fn query_secret(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        // Secrets are `kefu_` and hex digits: nothing to percent-decode.
        (name == "token" || name == "key")
            .then(|| value.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// Checks the request's key against `need`; on success the handler finds
/// the [`Caller`] among the request's extensions.
pub async fn require(
    State((state, need)): State<(ApiState, Role)>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(secret) = presented(&req)? else {
        return Err(ApiError::unauthorized(
            "an API key is needed: `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
        ));
    };
    if secret.starts_with(super::sessions::PREFIX) {
        let session = state
            .sessions
            .check(&secret, now_millis())
            .ok_or_else(|| ApiError::unauthorized("unknown or expired session; sign in again"))?;
        if Role::Agent < need {
            return Err(ApiError::forbidden(format!(
                "this needs the {} role; agent {:?} is signed in as agent",
                need.as_str(),
                session.agent
            )));
        }
        req.extensions_mut().insert(Caller {
            key_id: 0,
            name: session.agent.clone(),
            role: Role::Agent,
            agent: Some(session.agent),
        });
        return Ok(next.run(req).await);
    }
    let hash = secret_hash(&secret);
    let key = state
        .db(move |s| s.api_key_by_hash(&hash, now_millis()))
        .await?
        .filter(|k| !k.revoked)
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
    if key.role < need {
        return Err(ApiError::forbidden(format!(
            "this needs the {} role; key {:?} is {}",
            need.as_str(),
            key.name,
            key.role.as_str()
        )));
    }
    req.extensions_mut().insert(Caller {
        key_id: key.id,
        name: key.name,
        role: key.role,
        agent: None,
    });
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hash_to_hex() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert!(a.starts_with("kefu_") && a.len() == 69);
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn websocket_secrets_come_from_the_query() {
        assert_eq!(query_secret("a=1&token=kefu_x"), Some("kefu_x".into()));
        assert_eq!(query_secret("key=kefu_y"), Some("kefu_y".into()));
        assert_eq!(query_secret("token="), None);
        assert_eq!(query_secret(""), None);
    }
}
