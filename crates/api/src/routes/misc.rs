//! Endpoints that apps call on start-up for features Sluice does not have yet
//! (trends, followed tags, suggestions). They answer truthfully — an
//! empty collection — with the scopes Mastodon requires, so clients such as Elk,
//! Phanpy and Tusky start without errors. `GET /api/v2/search`
//! searches local accounts.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::form::field;
use crate::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::params::Params;

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

/// `GET /api/v2/search`'s parameters.
#[derive(Debug, Deserialize)]
struct SearchForm {
    #[serde(default, deserialize_with = "field::string")]
    q: Option<String>,
    /// `accounts`, `statuses` or `hashtags`; all when not given.
    #[serde(default, rename = "type", deserialize_with = "field::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "field::int")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "field::int")]
    offset: Option<i64>,
    #[serde(default, deserialize_with = "field::flag")]
    resolve: bool,
}

/// `GET /api/v2/search`: local accounts by name; statuses and hashtags are not indexed
/// yet and come back empty.
pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    auth.user(&["read:search"])?;
    let form: SearchForm = p.parse()?;
    let q = form.q.unwrap_or_default();
    let kind = form.kind.unwrap_or_default();
    let limit = form.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = form.offset.unwrap_or(0).clamp(0, 10_000);
    let accounts = if q.trim().is_empty() || !(kind.is_empty() || kind == "accounts") {
        vec![]
    } else {
        let mut rows = state
            .engine
            .search_accounts(q.trim(), limit, offset)
            .await?;
        // `resolve=true` with a full handle looks the account up on its server.
        if rows.is_empty()
            && form.resolve
            && let Some(a) = super::activitypub::resolve_remote(&state, q.trim()).await
        {
            rows.push(a);
        }
        rows.iter()
            .map(|a| state.engine.account_entity(a))
            .collect()
    };
    Ok(Json(
        json!({ "accounts": accounts, "statuses": [], "hashtags": [] }),
    ))
}
