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

/// `/api/v1/trends/links`: links shared by the most distinct accounts in recent public
/// posts (`SLUICE_CARDS_TREND_DAYS`), each a card with its daily `history`; `limit`
/// (default 10, at most 20) and `offset` as Mastodon's.
pub async fn trends_links(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    p: crate::params::Params,
) -> ApiResult<impl IntoResponse> {
    #[derive(serde::Deserialize)]
    struct Form {
        #[serde(default, deserialize_with = "crate::form::field::int")]
        limit: Option<i64>,
        #[serde(default, deserialize_with = "crate::form::field::int")]
        offset: Option<i64>,
    }
    let f: Form = p.parse()?;
    let limit = f.limit.unwrap_or(10).clamp(1, 20);
    let offset = f.offset.unwrap_or(0).clamp(0, 10_000);
    Ok(Json(state.engine.link_trends(offset, limit).await?))
}
