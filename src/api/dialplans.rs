//! Dialplans over HTTP: the running plan's status, checking a draft, and
//! replacing a file of the running plan.
//!
//! A draft is checked where it would run: in a staging folder that links
//! to every other file of the running plan's folder (FAQ files, prompts),
//! so references resolve as they will after the upload. A flow file is
//! loaded as a call would load it; any other file must be valid TOML; and
//! the running plan's main file must still load with the draft in place
//! (a FAQ edit can break it). Errors are `file:line: message`.
//!
//! An accepted upload is written beside the running plan atomically
//! (temporary file, then rename), so the dialplan watcher reloads either
//! the old file or the new one, never half of it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kefu_core::dialogue::syntax;

use super::error::{ApiError, ApiResult, Body, PathParams};
use super::params::Params;
use super::state::ApiState;
use crate::dialplan::flow;
use crate::dialplan::watch::Status;

/// Prefix of kefu's temporary files in a dialplan folder.
const TEMP_PREFIX: &str = ".kefu-upload-";

/// One upload at a time, so each is checked against the files it lands
/// beside.
static UPLOADS: Mutex<()> = Mutex::new(());

/// `GET /api/dialplans`: the running flow dialplan's status (empty when
/// none runs).
pub async fn list(State(state): State<ApiState>) -> Json<Vec<Status>> {
    Json(
        state
            .dialplans
            .iter()
            .filter_map(|s| s.read().ok().map(|s| s.clone()))
            .collect(),
    )
}

/// Checks that `name` is a plain file name ending in `.toml`.
fn check_name(name: &str) -> ApiResult<()> {
    let ok = name.len() <= 128
        && name.len() > ".toml".len()
        && name.ends_with(".toml")
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "file: expected a plain file name ending in .toml (A-Z a-z 0-9 _ . -), got {name:?}"
        )))
    }
}

/// The running plan's folder and main file name.
fn running(state: &ApiState) -> Option<(PathBuf, String)> {
    let main = state.dialplan_file.as_ref()?;
    let dir = match main.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = main.file_name()?.to_string_lossy().into_owned();
    Some((dir, name))
}

/// `POST /api/dialplans/validate?name=FILE`: checks a draft (the body)
/// as the file `name` of the running plan's folder; `{ok, errors}`.
pub async fn validate(
    State(state): State<ApiState>,
    p: Params,
    body: Body,
) -> ApiResult<Json<serde_json::Value>> {
    p.only(&["name"])?;
    let text = body.text()?.to_string();
    let run = running(&state);
    let name = match p.get("name") {
        Some(n) => n.to_string(),
        None => run
            .as_ref()
            .map_or_else(|| "dialplan.toml".to_string(), |(_, n)| n.clone()),
    };
    check_name(&name)?;
    let errors = ApiState::blocking(move || {
        check(
            run.as_ref().map(|(d, _)| d.as_path()),
            &name,
            &text,
            run.as_ref().map(|(_, m)| m.as_str()),
        )
    })
    .await?;
    Ok(Json(
        serde_json::json!({ "ok": errors.is_empty(), "errors": errors }),
    ))
}

/// `PUT /api/dialplans/{file}`: replaces (or adds) a file of the running
/// plan's folder once it checks out; 422 with the errors otherwise, and
/// nothing is written.
pub async fn upload(
    State(state): State<ApiState>,
    PathParams(file): PathParams<String>,
    body: Body,
) -> ApiResult<Response> {
    check_name(&file)?;
    let text = body.text()?.to_string();
    let (dir, main) = running(&state).ok_or_else(|| {
        ApiError::conflict("no flow dialplan file is running; uploads go beside one")
    })?;
    let reply = ApiState::blocking(move || {
        let _one = UPLOADS.lock().unwrap_or_else(|e| e.into_inner());
        let errors = check(Some(&dir), &file, &text, Some(&main))?;
        if !errors.is_empty() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{file} does not load; nothing was written"),
            )
            .with_errors(errors));
        }
        let target = dir.join(&file);
        let created = !target.exists();
        write_atomic(&dir, &target, &text)
            .map_err(|e| ApiError::internal("cannot write the dialplan file", e))?;
        Ok(serde_json::json!({
            "ok": true,
            "file": file,
            "bytes": text.len(),
            "created": created,
        }))
    })
    .await?;
    Ok(Json(reply).into_response())
}

/// Writes `text` to `target` through a temporary file in `dir` and a
/// rename.
fn write_atomic(dir: &Path, target: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = dir.join(format!("{TEMP_PREFIX}{:016x}", rand::random::<u64>()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The problems of `text` as the file `name` of folder `dir` (or alone),
/// with the folder's `main` flow file loaded beside it.
fn check(dir: Option<&Path>, name: &str, text: &str, main: Option<&str>) -> ApiResult<Vec<String>> {
    let stage = Staging::new(dir, name, text)
        .map_err(|e| ApiError::internal("cannot stage the dialplan for checking", e))?;
    let mut errors = Vec::new();
    if syntax::is_flow(text) {
        if let Err(d) = flow::load(&stage.path(name)) {
            errors.extend(d.iter().map(|d| stage.relative(&d.to_string())));
        }
    } else if let Err(e) = text.parse::<toml::Table>() {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or(text).matches('\n').count() + 1)
            .unwrap_or(0);
        errors.push(format!("{name}:{line}: {}", e.message().trim()));
    }
    if let Some(main) = main.filter(|m| *m != name) {
        if let Err(d) = flow::load(&stage.path(main)) {
            errors.extend(d.iter().map(|d| stage.relative(&d.to_string())));
        }
    }
    Ok(errors)
}

/// A temporary folder mirroring a dialplan folder (links to its entries)
/// with one file replaced; removed on drop.
struct Staging {
    root: PathBuf,
}

impl Staging {
    fn new(dir: Option<&Path>, name: &str, text: &str) -> std::io::Result<Staging> {
        let root =
            std::env::temp_dir().join(format!("kefu-dialplan-{:016x}", rand::random::<u64>()));
        std::fs::create_dir(&root)?;
        let stage = Staging { root };
        if let Some(dir) = dir {
            let dir = dir.canonicalize()?;
            for entry in std::fs::read_dir(&dir)?.flatten() {
                let n = entry.file_name();
                let n_str = n.to_string_lossy();
                if n_str == name || n_str.starts_with(TEMP_PREFIX) {
                    continue;
                }
                link(&entry.path(), &stage.root.join(&n))?;
            }
        }
        std::fs::write(stage.root.join(name), text)?;
        Ok(stage)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A diagnostic with the staging folder taken out of its file name.
    fn relative(&self, diagnostic: &str) -> String {
        let prefix = format!("{}{}", self.root.display(), std::path::MAIN_SEPARATOR);
        diagnostic.replace(&prefix, "")
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Removes the links, never what they point to.
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(not(unix))]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    if target.is_dir() {
        Ok(())
    } else {
        std::fs::copy(target, at).map(|_| ())
    }
}
