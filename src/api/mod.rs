//! The HTTP API: health and readiness, Prometheus metrics, the REST API
//! under `/api` (calls, transcripts, recordings, QA reviews, dispositions,
//! agents, queues, campaigns and contacts, customers, dialplans, reports,
//! API keys, webhook status), the agents' desk (console sign-in, presence,
//! handoff packages) and its live websocket feed, its OpenAPI document and
//! the web console.
//!
//! [`app`] builds the router from [`routes::table`], the single list of
//! (method, path, least role, handler); `/api/openapi.json` documents the
//! same list and a test keeps the two equal. Every `/api` route but the
//! OpenAPI document needs an API key ([`auth`]). Replies are JSON; errors
//! are `{"error": "...", "status": N}` ([`error`]). Request bodies are
//! limited to [`BODY_LIMIT`].
//!
//! What this module does not do: decide anything about calls. It reads
//! and edits the store, and writes dialplan files that the dialplan
//! watcher then reloads.

mod admin;
pub mod auth;
mod calls;
mod console;
mod contacts;
pub mod csv;
pub mod desk;
mod dialplans;
pub mod error;
mod handoffs;
mod keys;
mod live;
pub mod params;
mod recording;
mod reports;
pub mod routes;
pub mod sessions;
pub mod state;
mod status;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub use auth::{ensure_admin_key, ADMIN_KEY_FILE};
pub use state::{ApiState, Desk, DeskSnapshot, OutboxStatus, Readiness, StatusFn, WebhookStatus};

use crate::dialplan::watch::{SharedStatus, Status};
use crate::runtime::metrics::Metrics;

/// Largest request body accepted (a dialplan file, a contact list): 1 MiB.
pub const BODY_LIMIT: usize = 1 << 20;

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The whole HTTP service: every route of [`routes::table`], each behind
/// its role check, the console, and JSON 404/405 replies.
pub fn app(state: ApiState) -> Router {
    let mut router = Router::new();
    for route in routes::table() {
        let mut method = route.method_router();
        if let Some(role) = route.role {
            method = method.route_layer(axum::middleware::from_fn_with_state(
                (state.clone(), role),
                auth::require,
            ));
        }
        router = router.route(route.path, method);
    }
    router
        .method_not_allowed_fallback(error::wrong_method)
        .with_state(state)
        .merge(console::routes())
        .fallback(error::no_route)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The health, metrics and dialplan-status routes alone, with no store
/// behind them.
pub fn router(metrics: Arc<Metrics>, dialplans: Option<SharedStatus>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics_text))
        .with_state(metrics)
        .route(
            "/api/dialplans",
            get(move || {
                let d = dialplans.clone();
                async move {
                    let list: Vec<Status> = d
                        .iter()
                        .filter_map(|s| s.read().ok().map(|s| s.clone()))
                        .collect();
                    axum::Json(list)
                }
            }),
        )
}

async fn metrics_text(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m.render(),
    )
}
