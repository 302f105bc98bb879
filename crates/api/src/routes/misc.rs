//! Endpoints that apps call on start-up for features Sluice does not have yet
//! (link trends). They answer truthfully — an
//! empty collection — with the scopes Mastodon requires, so clients such as Elk,
//! Phanpy and Tusky start without errors.

use axum::Json;
use axum::response::IntoResponse;
use serde_json::json;

pub async fn trends() -> impl IntoResponse {
    Json(json!([]))
}
