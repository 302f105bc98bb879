//! Direct conversations: `GET /api/v1/conversations` (paged by the newest status, with
//! a `Link` header), `POST /api/v1/conversations/:id/read`, `DELETE
//! /api/v1/conversations/:id`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::IntoResponse;
use serde_json::json;

use super::accounts::path_id;
use super::scopes::{READ_STATUSES, WRITE_CONVERSATIONS};
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT, link_header};
use crate::params::Params;

pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_STATUSES)?;
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let (list, cursors) = state.engine.conversations_page(me.account_id, page).await?;
    let headers = link_header(state.base(), &uri, &page, &cursors);
    Ok((headers, Json(list)))
}

pub async fn read(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_CONVERSATIONS)?;
    Ok(Json(
        state
            .engine
            .mark_conversation_read(me.account_id, path_id(&id)?)
            .await?,
    ))
}

pub async fn destroy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_CONVERSATIONS)?;
    state
        .engine
        .remove_conversation(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}
