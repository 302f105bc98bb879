//! Whom to follow: `/api/v2/suggestions` (with why), `/api/v1/suggestions` (accounts
//! only), and `DELETE /api/v1/suggestions/:account_id` to dismiss one.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::path_id;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::form::field;
use crate::params::Params;

/// Mastodon asks for `read` (no narrower scope) for suggestions, dismissing included.
const READ: &[&str] = &["read"];

/// Default and maximum suggestions per request (Mastodon: 40/80).
const DEFAULT_SUGGESTIONS: i64 = 40;
const MAX_SUGGESTIONS: i64 = 80;

#[derive(Debug, Deserialize)]
struct LimitForm {
    #[serde(default, deserialize_with = "field::int")]
    limit: Option<i64>,
}

fn limit(p: &Params) -> ApiResult<i64> {
    Ok(p.parse::<LimitForm>()?
        .limit
        .unwrap_or(DEFAULT_SUGGESTIONS)
        .clamp(1, MAX_SUGGESTIONS))
}

/// `GET /api/v2/suggestions`: `[{source, sources, account}]`.
pub async fn v2(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ)?;
    let out: Vec<Value> = state
        .engine
        .follow_suggestions(me.account_id, limit(&p)?)
        .await?
        .into_iter()
        .map(|(source, account)| {
            json!({"source": source.legacy(), "sources": [source.as_str()], "account": account})
        })
        .collect();
    Ok(Json(out))
}

/// `GET /api/v1/suggestions`: the accounts.
pub async fn v1(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ)?;
    let out: Vec<_> = state
        .engine
        .follow_suggestions(me.account_id, limit(&p)?)
        .await?
        .into_iter()
        .map(|(_, account)| account)
        .collect();
    Ok(Json(out))
}

/// `DELETE /api/v1/suggestions/:account_id`: `{}`.
pub async fn dismiss(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ)?;
    state
        .engine
        .dismiss_suggestion(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}
