//! The agents' desk over HTTP: console sign-in and sign-out, the desk's
//! snapshot, an agent's presence and the end of their wrap-up.
//!
//! Routing itself is behind the [`Desk`](super::state::Desk) trait; these
//! handlers check who may do what and pass the rest on. Without routing
//! they answer 503. An agent sees their own part of the desk and every
//! queue, and may change only their own presence; supervisors see and
//! change everything.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, ApiResult, Body, PathParams};
use super::state::{ApiState, DeskSnapshot};
use crate::storage::{now_millis, Role};

/// Presences an agent may choose.
const PRESENCES: [&str; 3] = ["ready", "away", "offline"];
/// Longest agent id or password accepted at sign-in.
const MAX_CREDENTIAL: usize = 256;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    agent: String,
    password: String,
}

/// `POST /api/agent/login`: checks the agent's password and opens a
/// console session: `{token, agent, expires_at}`. A wrong agent id or
/// password is 401 without saying which.
pub async fn login(State(state): State<ApiState>, body: Body) -> ApiResult<Response> {
    let b: Login = body.json()?;
    let agent = b.agent.trim().to_string();
    if agent.is_empty() || b.password.is_empty() {
        return Err(ApiError::bad_request("agent and password are needed"));
    }
    if agent.len() > MAX_CREDENTIAL || b.password.len() > MAX_CREDENTIAL {
        return Err(ApiError::bad_request(format!(
            "agent and password: at most {MAX_CREDENTIAL} bytes each"
        )));
    }
    let who = agent.clone();
    let ok = state
        .on_desk(move |d| Ok(d.login(&who, &b.password)))
        .await?;
    if !ok {
        tracing::info!(agent = %agent, "console sign-in refused");
        return Err(ApiError::unauthorized("wrong agent id or password"));
    }
    let (token, session) = state.sessions.open(&agent, now_millis());
    tracing::info!(agent = %agent, "agent signed in to the console");
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({
            "token": token,
            "agent": session.agent,
            "expires_at": session.expires_at,
        })),
    )
        .into_response())
}

/// `POST /api/agent/logout`: ends the session the request carries.
pub async fn logout(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    if caller.agent.is_none() {
        return Err(ApiError::bad_request(
            "this is an API key, not a console session: revoke keys with DELETE /api/keys/{id}",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' ').map(|(_, t)| t.trim().to_string()))
        .or_else(|| {
            headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    state.sessions.close(&token);
    Ok(StatusCode::NO_CONTENT)
}

/// What `caller` may see of `snap`: everything for supervisors; for
/// agents, their own entry, their own calls, and the queues.
pub fn visible(snap: DeskSnapshot, caller: &Caller) -> DeskSnapshot {
    if caller.role >= Role::Supervisor {
        return snap;
    }
    let me = caller.agent.as_deref();
    DeskSnapshot {
        agents: snap
            .agents
            .into_iter()
            .filter(|a| Some(a.id.as_str()) == me)
            .collect(),
        queues: snap.queues,
        calls: snap
            .calls
            .into_iter()
            .filter(|c| me.is_some() && c.agent.as_deref() == me)
            .collect(),
    }
}

/// `GET /api/desk`: agents, queues and live calls (an agent's own part).
pub async fn get(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<DeskSnapshot>> {
    let snap = state.on_desk(|d| Ok(d.snapshot())).await?;
    Ok(Json(visible(snap, &caller)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Presence {
    presence: String,
}

/// Refuses an agent acting for another agent.
fn check_self(caller: &Caller, agent: &str) -> ApiResult<()> {
    if caller.may_act_for(agent) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{:?} may change only their own state, not {agent:?}'s",
            caller.name
        )))
    }
}

/// `POST /api/agents/{id}/presence`: `{"presence": "ready|away|offline"}`.
/// Routing's refusal (unknown agent, on a call) is 409 with its reason.
pub async fn presence(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
    body: Body,
) -> ApiResult<StatusCode> {
    let b: Presence = body.json()?;
    if !PRESENCES.contains(&b.presence.as_str()) {
        return Err(ApiError::bad_request(format!(
            "presence: expected ready, away or offline, got {:?}",
            b.presence
        )));
    }
    check_self(&caller, &id)?;
    state
        .on_desk(move |d| d.set_presence(&id, &b.presence).map_err(ApiError::conflict))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/agents/{id}/ready`: ends the agent's wrap-up.
pub async fn ready(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
) -> ApiResult<StatusCode> {
    check_self(&caller, &id)?;
    state
        .on_desk(move |d| d.wrap_up_done(&id).map_err(ApiError::conflict))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
