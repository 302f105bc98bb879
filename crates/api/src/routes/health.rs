//! `GET /health`: whether this server process is alive and can write, for load
//! balancers, supervisors and monitoring. A process whose reads work but whose writes
//! fail (a full disk) must not look healthy: the answer is the store's write check
//! (`Store::check_writes`: a write probe, reused for a second, and the
//! outcome of recent writes).
//!
//! `200 {"status":"ok"}` or `503 {"status":"error","error":…}`. No authentication, and
//! mounted outside the request layers (see `router_with`) so that checks made many
//! times a second are neither counted nor limited; the probe bounds its own time.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::error::UNAVAILABLE_RETRY_AFTER_SECS;

pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/health", axum::routing::get(health))
}

async fn health(State(state): State<AppState>) -> Response {
    let no_store = (header::CACHE_CONTROL, "no-store");
    match state.engine.check_writes().await {
        Ok(()) => ([no_store], Json(json!({ "status": "ok" }))).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                no_store,
                (
                    header::RETRY_AFTER,
                    &UNAVAILABLE_RETRY_AFTER_SECS.to_string(),
                ),
            ],
            Json(json!({ "status": "error", "error": format!("cannot write: {reason}") })),
        )
            .into_response(),
    }
}
