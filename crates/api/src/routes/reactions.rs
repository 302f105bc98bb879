//! Pleroma/Akkoma's emoji reactions: `PUT`/`DELETE
//! /api/v1/pleroma/statuses/:id/reactions/:emoji` (answering the Status as the viewer
//! now sees it), `GET /api/v1/pleroma/statuses/:id/reactions[/:emoji]`. The rules are
//! the engine's (`engine/src/reactions.rs`).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use super::accounts::path_id;
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::ratelimit::Bucket;

/// `PUT /api/v1/pleroma/statuses/:id/reactions/:emoji`.
pub async fn react(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, emoji)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    change(state, auth, id, emoji, true).await
}

/// `DELETE /api/v1/pleroma/statuses/:id/reactions/:emoji`.
pub async fn unreact(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, emoji)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    change(state, auth, id, emoji, false).await
}

async fn change(
    state: AppState,
    auth: Auth,
    id: String,
    emoji: String,
    add: bool,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_STATUSES)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let id = path_id(&id)?;
    let out = if add {
        state.engine.react(me.account_id, id, &emoji).await?
    } else {
        state.engine.unreact(me.account_id, id, &emoji).await?
    };
    let status = out.status.ok_or_else(ApiError::not_found)?;
    let s = state
        .engine
        .visible_status(Some(me.account_id), status)
        .await?;
    Ok(Json(
        state.engine.status_entity(Some(me.account_id), s).await?,
    ))
}

/// `GET /api/v1/pleroma/statuses/:id/reactions`.
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id = path_id(&id)?;
    Ok(Json(
        state.engine.reaction_list(auth.viewer(), id, None).await?,
    ))
}

/// `GET /api/v1/pleroma/statuses/:id/reactions/:emoji`.
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, emoji)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let id = path_id(&id)?;
    Ok(Json(
        state
            .engine
            .reaction_list(auth.viewer(), id, Some(&emoji))
            .await?,
    ))
}
