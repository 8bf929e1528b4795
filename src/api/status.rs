//! The routes about the process itself: liveness (`/healthz`), readiness
//! (`/readyz`), Prometheus metrics, the OpenAPI document and the status
//! line the console shows in its header (`/api/status`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::state::ApiState;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 when the process takes calls, 503 otherwise, with
/// the checks. With the process's readiness (set by `serve`) its checks
/// decide, and the store must also answer; without it, the store must
/// answer and the running dialplan (if any) must have loaded.
pub async fn readyz(State(state): State<ApiState>) -> Response {
    let store = state.db(|s| s.outbox_head()).await.err();
    let (ready, body) = match state.readiness.clone() {
        Some(r) => {
            let checked = tokio::task::spawn_blocking(move || r.check()).await;
            let (ok, mut body) = checked.unwrap_or_else(|_| (false, serde_json::json!({})));
            if let Some(e) = &store {
                body["store_error"] = serde_json::json!(e.message);
            }
            (ok && store.is_none(), body)
        }
        None => {
            let dialplan = dialplan_status(&state);
            let dialplan_ok = state.dialplans.is_none() || dialplan.is_some();
            let body = serde_json::json!({
                "checks": {
                    "store_reachable": store.is_none(),
                    "dialplan_loaded": dialplan_ok,
                },
                "store_error": store.as_ref().map(|e| e.message.clone()),
            });
            (store.is_none() && dialplan_ok, body)
        }
    };
    let mut body = body;
    body["ready"] = serde_json::json!(ready);
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::OPENAPI).into_response()
}

/// `GET /api/status`: version, uptime, calls in progress, and the running
/// dialplan's name and version.
pub async fn status(State(state): State<ApiState>) -> Json<serde_json::Value> {
    let d = dialplan_status(&state);
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": state.started.elapsed().as_secs(),
        "active_calls": state.metrics.calls_active(),
        "dialplan": d.map(|d| serde_json::json!({
            "name": d.name,
            "version": d.version,
            "state": d.state,
            "loaded_at": d.loaded_at,
        })),
    }))
}

fn dialplan_status(state: &ApiState) -> Option<crate::dialplan::watch::Status> {
    state
        .dialplans
        .as_ref()
        .and_then(|s| s.read().ok().map(|s| s.clone()))
}
