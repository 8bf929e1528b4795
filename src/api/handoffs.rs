//! Handoff packages over HTTP: what an agent is shown of a call handed to
//! them (the console's screen-pop), one by id or every one of a call.
//!
//! Packages are written by routing when it hands a call over and never
//! change; these routes only read them.

use axum::extract::State;
use axum::Json;

use super::error::{ApiError, ApiResult, PathParams};
use super::state::ApiState;
use crate::storage::Handoff;

/// `GET /api/handoffs/{id}`: one package; 404 when unknown.
pub async fn get(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<Handoff>> {
    super::admin::check_id("handoff id", &id)?;
    let key = id.clone();
    state
        .db(move |s| s.handoff(&key))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no handoff package {id:?}")))
}

/// `GET /api/calls/{id}/handoffs`: a call's packages, oldest first (an
/// empty list for a call never handed over).
pub async fn of_call(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<Vec<Handoff>>> {
    Ok(Json(state.db(move |s| s.handoffs_of_call(&id)).await?))
}
