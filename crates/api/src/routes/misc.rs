//! Endpoints that apps call on start-up for features Sluice does not have yet
//! (trends, followed tags, suggestions). They answer truthfully — an
//! empty collection — with the scopes Mastodon requires, so clients such as Elk,
//! Phanpy and Tusky start without errors.

use axum::Json;
use axum::response::IntoResponse;
use serde_json::json;

use crate::auth::Auth;
use crate::error::ApiResult;

/// An empty list for an authenticated user holding one of `scopes`.
pub async fn empty_for_user(
    auth: &Auth,
    scopes: &[&str],
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    auth.user(scopes)?;
    Ok(Json(vec![]))
}

pub async fn followed_tags(auth: Auth) -> ApiResult<impl IntoResponse> {
    empty_for_user(&auth, &["read:follows"]).await
}

pub async fn suggestions(auth: Auth) -> ApiResult<impl IntoResponse> {
    empty_for_user(&auth, &["read"]).await
}

pub async fn trends() -> impl IntoResponse {
    Json(json!([]))
}
