//! The HTTP API: health, Prometheus metrics and the running dialplan's
//! status (`GET /api/dialplans`: version, and the errors of files on disk
//! that failed to reload); the REST API and the console's feed join here.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::dialplan::watch::{SharedStatus, Status};
use crate::runtime::metrics::Metrics;

/// The router, with its state.
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
