//! `/api/v1/scheduled_statuses`: the posts a user scheduled (made by `POST
//! /api/v1/statuses` with `scheduled_at`), to list, move or cancel before they are
//! published.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::accounts::path_id;
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT};
use crate::params::Params;
use crate::ratelimit::Bucket;

pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_STATUSES)?;
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let rows = state.engine.scheduled_statuses(me.account_id, page).await?;
    let ids: Vec<_> = rows.iter().map(|(id, _)| *id).collect();
    let body: Vec<_> = rows.into_iter().map(|(_, v)| v).collect();
    Ok((
        paging::link_header(state.base(), &uri, &page, &ids),
        Json(body),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_STATUSES)?;
    Ok(Json(
        state
            .engine
            .scheduled_status(me.account_id, path_id(&id)?)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
struct RescheduleForm {
    #[serde(default, deserialize_with = "field::string")]
    scheduled_at: Option<String>,
}

/// `PUT /api/v1/scheduled_statuses/:id`: a new `scheduled_at`.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_STATUSES)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let id = path_id(&id)?;
    let form: RescheduleForm = p.parse()?;
    let at = form
        .scheduled_at
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::unprocessable("Validation failed: Scheduled at can't be blank"))?;
    let at = sluice_model::Timestamp::parse_rfc3339(at).ok_or_else(|| {
        ApiError::unprocessable("Validation failed: Scheduled at is not a valid date")
    })?;
    Ok(Json(
        state
            .engine
            .reschedule_status(me.account_id, id, at.0)
            .await?,
    ))
}

/// `DELETE /api/v1/scheduled_statuses/:id`: cancelled; its uploads are free again.
pub async fn destroy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_STATUSES)?;
    state
        .engine
        .cancel_scheduled_status(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(serde_json::json!({})))
}
