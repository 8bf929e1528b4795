//! API keys (admin): listing, creating (the secret is shown once, in the
//! reply, and never again), revoking; and the webhooks' delivery status.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::admin::check_text;
use super::auth::{new_secret, secret_hash};
use super::error::{ApiError, ApiResult, Body, PathParams};
use super::state::ApiState;
use crate::storage::{now_millis, ApiKey, Role, StoreError};

/// `GET /api/keys`: every key, revoked ones too (no secrets).
pub async fn list(State(state): State<ApiState>) -> ApiResult<Json<Vec<ApiKey>>> {
    Ok(Json(state.db(|s| s.api_keys()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    role: String,
}

/// `POST /api/keys`: a new key; 201 with `{key, secret}`.
pub async fn create(State(state): State<ApiState>, body: Body) -> ApiResult<Response> {
    let b: NewKey = body.json()?;
    check_text("name", &b.name, 64, true)?;
    let role = Role::parse(&b.role).ok_or_else(|| {
        ApiError::bad_request(format!(
            "role: expected read_only, agent, supervisor or admin, got {:?}",
            b.role
        ))
    })?;
    let secret = new_secret();
    let hash = secret_hash(&secret);
    let name = b.name.trim().to_string();
    let key = state
        .db(move |s| s.create_api_key(&name, role, &hash, now_millis()))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "key": key, "secret": secret })),
    )
        .into_response())
}

/// `DELETE /api/keys/{id}`: revokes a key; the last admin key stays (409).
pub async fn revoke(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("key id: expected a number, got {id:?}")))?;
    state
        .db(move |s| {
            let keys = s.api_keys()?;
            let key = keys
                .iter()
                .find(|k| k.id == id)
                .ok_or_else(|| StoreError::NotFound(format!("API key {id}")))?;
            let admins = keys
                .iter()
                .filter(|k| k.role == Role::Admin && !k.revoked)
                .count();
            if key.role == Role::Admin && !key.revoked && admins <= 1 {
                return Err(StoreError::Conflict(
                    "this is the last admin key; create another admin key first".into(),
                ));
            }
            s.revoke_api_key(id)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/webhooks`: delivery status per endpoint.
pub async fn webhooks(State(state): State<ApiState>) -> ApiResult<Json<serde_json::Value>> {
    let Some(w) = state.webhooks.clone() else {
        return Ok(Json(serde_json::json!({ "endpoints": [] })));
    };
    ApiState::blocking(move || Ok(Json(w.status()))).await
}
