//! `/api/v1/statuses/*`: posting, editing, deleting, threads, and the favourite,
//! reblog, bookmark and pin actions.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use sluice_engine::{Activity, NewNote, NoteEdit};
use sluice_model::{Visibility, api};

use super::accounts::{listed_accounts, path_id};
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::paging::{self, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// Longest `Idempotency-Key` remembered.
const MAX_IDEMPOTENCY_KEY: usize = 256;

fn visibility(p: &Params) -> ApiResult<Option<Visibility>> {
    match p.str("visibility")?.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Visibility::parse(&v).map(Some).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "Validation failed: Visibility '{v}' is not a valid visibility"
            ))
        }),
    }
}

/// `media_ids[]`: None when not given (an edit keeps the post's media).
fn media_ids(p: &Params) -> ApiResult<Option<Vec<sluice_model::Id>>> {
    if p.get("media_ids").is_none() {
        return Ok(None);
    }
    p.list("media_ids")?
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            sluice_model::id::parse_id(s).ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "Validation failed: Media with IDs {s} not found. Already attached to another post?"
                ))
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Some)
}

fn language(p: &Params) -> ApiResult<Option<String>> {
    Ok(p.str("language")?.filter(|l| !l.is_empty()))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_STATUSES)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    if p.get("poll").is_some() {
        return Err(ApiError::unprocessable(
            "Validation failed: polls are not supported yet",
        ));
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.chars().take(MAX_IDEMPOTENCY_KEY).collect::<String>())
        .filter(|k| !k.is_empty());
    let note = NewNote {
        text: p.string("status")?,
        in_reply_to: p.id("in_reply_to_id")?,
        sensitive: p.flag("sensitive")?,
        spoiler_text: p.string("spoiler_text")?,
        visibility: visibility(&p)?,
        language: language(&p)?,
        application_id: me.app_id,
        idempotency_key: key,
        client: None,
        media_ids: media_ids(&p)?.unwrap_or_default(),
    };
    if p.get("scheduled_at")
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
    {
        return Err(ApiError::unprocessable(
            "Validation failed: scheduled statuses are not supported yet",
        ));
    }
    let out = state
        .engine
        .submit(me.account_id, Activity::CreateNote(note))
        .await?;
    let row = out.row.ok_or_else(ApiError::not_found)?;
    Ok(Json(
        state.engine.status_entity(Some(me.account_id), row).await?,
    ))
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let viewer = auth.viewer();
    let s = state.engine.visible_status(viewer, path_id(&id)?).await?;
    Ok(Json(state.engine.status_entity(viewer, s).await?))
}

pub async fn destroy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_STATUSES)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let s = state
        .engine
        .status(path_id(&id)?)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if s.account_id != me.account_id || s.reblog_of_id.is_some() {
        return Err(ApiError::not_found());
    }
    // Rendered before it is gone, with the source text for "delete and redraft".
    let mut entity = state
        .engine
        .status_entity(Some(me.account_id), s.clone())
        .await?;
    entity.text = Some(s.source_text.clone());
    state
        .engine
        .submit(me.account_id, Activity::DeleteNote { status: s.id })
        .await?;
    Ok(Json(entity))
}

pub async fn edit(
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
    let old = state
        .engine
        .status(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let edit = NoteEdit {
        text: p.str("status")?.unwrap_or(old.source_text.clone()),
        sensitive: p.bool("sensitive")?.unwrap_or(old.sensitive),
        spoiler_text: p.str("spoiler_text")?.unwrap_or(old.spoiler_text.clone()),
        language: language(&p)?,
        client: None,
        media_ids: media_ids(&p)?,
    };
    let out = state
        .engine
        .submit(me.account_id, Activity::UpdateNote { status: id, edit })
        .await?;
    let row = out.row.ok_or_else(ApiError::not_found)?;
    Ok(Json(
        state.engine.status_entity(Some(me.account_id), row).await?,
    ))
}

pub async fn history(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let versions = state
        .engine
        .status_history(auth.viewer(), path_id(&id)?)
        .await?;
    Ok(Json(versions))
}

pub async fn source(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_STATUSES)?;
    let s = state
        .engine
        .visible_status(Some(me.account_id), path_id(&id)?)
        .await?;
    if s.account_id != me.account_id {
        return Err(ApiError::not_found());
    }
    Ok(Json(api::StatusSource {
        id: s.id.to_string(),
        text: s.source_text,
        spoiler_text: s.spoiler_text,
    }))
}

pub async fn context(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let context = state
        .engine
        .thread_context(auth.viewer(), path_id(&id)?)
        .await?;
    Ok(Json(context))
}

/// Runs a status action and answers with the (original) status as the viewer now sees it
/// (the engine's outcome for these activities is the original).
async fn act(
    state: &AppState,
    me: crate::auth::User,
    activity: Activity,
) -> ApiResult<Json<api::Status>> {
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let out = state.engine.submit(me.account_id, activity).await?;
    let s = out.row.ok_or_else(ApiError::not_found)?;
    Ok(Json(
        state.engine.status_entity(Some(me.account_id), s).await?,
    ))
}

pub async fn favourite(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FAVOURITES)?;
    let id = path_id(&id)?;
    act(&state, me, Activity::Like { status: id }).await
}

pub async fn unfavourite(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FAVOURITES)?;
    let id = path_id(&id)?;
    state.engine.visible_status(Some(me.account_id), id).await?;
    act(&state, me, Activity::UndoLike { status: id }).await
}

pub async fn reblog(
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
    let visibility = visibility(&p)?.unwrap_or(Visibility::Public);
    if visibility == Visibility::Direct {
        return Err(ApiError::unprocessable(
            "Validation failed: a reblog cannot be direct",
        ));
    }
    let out = state
        .engine
        .submit(
            me.account_id,
            Activity::Announce {
                status: id,
                visibility,
            },
        )
        .await?;
    let wrapper = out.row.ok_or_else(ApiError::not_found)?;
    Ok(Json(
        state
            .engine
            .status_entity(Some(me.account_id), wrapper)
            .await?,
    ))
}

pub async fn unreblog(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_STATUSES)?;
    let id = path_id(&id)?;
    state.engine.visible_status(Some(me.account_id), id).await?;
    act(&state, me, Activity::UndoAnnounce { status: id }).await
}

/// `POST /api/v1/statuses/:id/pin`: an `Add` to the featured collection. Mastodon's
/// scope for it is `write:accounts` (pins are part of the profile).
pub async fn pin(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_pin(&state, &auth, &id, true).await
}

/// `POST /api/v1/statuses/:id/unpin`: a `Remove` from the featured collection.
pub async fn unpin(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_pin(&state, &auth, &id, false).await
}

async fn set_pin(
    state: &AppState,
    auth: &Auth,
    id: &str,
    on: bool,
) -> ApiResult<Json<api::Status>> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    let id = path_id(id)?;
    let activity = if on {
        Activity::Pin { status: id }
    } else {
        Activity::Unpin { status: id }
    };
    act(state, me, activity).await
}

pub async fn bookmark(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_bookmark(&state, &auth, &id, true).await
}

pub async fn unbookmark(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_bookmark(&state, &auth, &id, false).await
}

/// Bookmarks are private state, not activities: set or clear, then render.
async fn set_bookmark(
    state: &AppState,
    auth: &Auth,
    id: &str,
    on: bool,
) -> ApiResult<Json<api::Status>> {
    let me = auth.user(WRITE_BOOKMARKS)?;
    let s = state
        .engine
        .visible_status(Some(me.account_id), path_id(id)?)
        .await?;
    state.engine.bookmark(me.account_id, s.id, on).await?;
    Ok(Json(
        state.engine.status_entity(Some(me.account_id), s).await?,
    ))
}

pub async fn favourited_by(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let id = path_id(&id)?;
    let page = paging::page(&p, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT)?;
    let out = state.engine.favourited_by(auth.viewer(), id, page).await?;
    Ok(listed_accounts(&state, &uri, &page, out))
}

pub async fn reblogged_by(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let id = path_id(&id)?;
    let page = paging::page(&p, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT)?;
    let out = state.engine.reblogged_by(auth.viewer(), id, page).await?;
    Ok(listed_accounts(&state, &uri, &page, out))
}
