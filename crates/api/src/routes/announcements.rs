//! `/api/v1/announcements`: what the admin announced (`sluice admin announce`), as a
//! signed-in user sees it, with dismissals and emoji reactions.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::accounts::path_id;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::form::field;
use crate::params::Params;
use crate::ratelimit::Bucket;

#[derive(Debug, Deserialize)]
struct IndexForm {
    #[serde(default, deserialize_with = "field::bool")]
    with_dismissed: Option<bool>,
}

pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(&["read"])?;
    let form: IndexForm = p.parse()?;
    Ok(Json(
        state
            .engine
            .announcements_for(me.account_id, form.with_dismissed.unwrap_or(false))
            .await?,
    ))
}

pub async fn dismiss(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(&["write:accounts"])?;
    state
        .engine
        .dismiss_announcement(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `PUT` (add) and `DELETE` (remove) `/api/v1/announcements/:id/reactions/:name`.
pub async fn add_reaction(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    react(&state, &auth, &id, &name, true).await
}

pub async fn remove_reaction(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    react(&state, &auth, &id, &name, false).await
}

async fn react(
    state: &AppState,
    auth: &Auth,
    id: &str,
    name: &str,
    on: bool,
) -> ApiResult<Json<serde_json::Value>> {
    let me = auth.user(&["write:favourites"])?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    state
        .engine
        .react_to_announcement(me.account_id, path_id(id)?, name, on)
        .await?;
    Ok(Json(json!({})))
}
