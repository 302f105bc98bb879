//! `/api/v1/statuses/*`: posting, editing, deleting, threads, and the favourite,
//! reblog, bookmark and pin actions.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use sluice_engine::polls::NewPoll;
use sluice_engine::{Activity, NewNote, NoteEdit};
use sluice_model::{Visibility, api};

use super::accounts::{listed_accounts, path_id};
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// Longest `Idempotency-Key` remembered.
const MAX_IDEMPOTENCY_KEY: usize = 256;

/// `POST /api/v1/statuses` and `PUT /api/v1/statuses/:id`; an edit reads `status`,
/// `sensitive`, `spoiler_text`, `language` and `media_ids`, and keeps what is not sent.
#[derive(Debug, Deserialize)]
struct StatusForm {
    #[serde(default, deserialize_with = "field::string")]
    status: Option<String>,
    /// Read as an id by a new post only ([`StatusForm::in_reply_to`]).
    #[serde(default, deserialize_with = "field::string")]
    in_reply_to_id: Option<String>,
    #[serde(default, deserialize_with = "field::bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "field::string")]
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    language: Option<String>,
    /// None when not given (an edit keeps the post's media).
    #[serde(default, deserialize_with = "field::opt_list")]
    media_ids: Option<Vec<String>>,
    /// `poll[options][]`, `poll[expires_in]`, `poll[multiple]`, `poll[hide_totals]`
    /// (or the JSON object); an empty one is none.
    #[serde(default, deserialize_with = "field::object")]
    poll: PollForm,
    /// When to post it (RFC 3339), at least 5 minutes ahead: the answer is then a
    /// ScheduledStatus. Empty is not given.
    #[serde(default, deserialize_with = "field::string")]
    scheduled_at: Option<String>,
    /// The post it quotes (Mastodon 4.5); a malformed id is not found.
    #[serde(default, deserialize_with = "field::string")]
    quoted_status_id: Option<String>,
    /// Who may quote it: `public`, `followers` or `nobody`.
    #[serde(default, deserialize_with = "field::string")]
    quote_approval_policy: Option<String>,
    /// The text's format (Pleroma's parameter): `text/plain` (the default) or
    /// `text/markdown`. Empty is not given.
    #[serde(default, deserialize_with = "field::string")]
    content_type: Option<String>,
}

impl StatusForm {
    /// The `content_type` asked for, checked: None when not given.
    fn content_type(&self) -> ApiResult<Option<String>> {
        match self.content_type.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) if sluice_model::content::CONTENT_TYPES.contains(&t) => Ok(Some(t.into())),
            Some(_) => Err(ApiError::unprocessable(format!(
                "Validation failed: content_type must be one of {}",
                sluice_model::content::CONTENT_TYPES.join(", ")
            ))),
        }
    }
}

/// A post's `poll`.
#[derive(Debug, Default, Deserialize)]
struct PollForm {
    #[serde(default, deserialize_with = "field::list")]
    options: Vec<String>,
    /// Seconds.
    #[serde(default, deserialize_with = "field::int")]
    expires_in: Option<i64>,
    #[serde(default, deserialize_with = "field::bool")]
    multiple: Option<bool>,
    #[serde(default, deserialize_with = "field::bool")]
    hide_totals: Option<bool>,
}

impl PollForm {
    /// The poll asked for: None when nothing was given (Rails' `present?`), 422 when
    /// its length is missing.
    fn new_poll(&self) -> ApiResult<Option<NewPoll>> {
        let given = self.options.iter().any(|o| !o.trim().is_empty());
        if !given && self.expires_in.is_none() {
            return Ok(None);
        }
        let Some(expires_in) = self.expires_in else {
            return Err(ApiError::unprocessable(
                "Validation failed: Poll expires at can't be blank",
            ));
        };
        Ok(Some(NewPoll {
            options: self.options.clone(),
            expires_in,
            multiple: self.multiple.unwrap_or(false),
            hide_totals: self.hide_totals.unwrap_or(false),
        }))
    }
}

/// `POST /api/v1/statuses/:id/reblog`.
#[derive(Debug, Deserialize)]
struct ReblogForm {
    #[serde(default, deserialize_with = "field::string")]
    visibility: Option<String>,
}

/// A `visibility` parameter; empty is not given.
fn visibility(v: Option<&str>) -> ApiResult<Option<Visibility>> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Visibility::parse(v).map(Some).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "Validation failed: Visibility '{v}' is not a valid visibility"
            ))
        }),
    }
}

impl StatusForm {
    /// The post replied to; a malformed id is not found.
    fn in_reply_to(&self) -> ApiResult<Option<sluice_model::Id>> {
        match self.in_reply_to_id.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => sluice_model::id::parse_id(s)
                .map(Some)
                .ok_or_else(ApiError::not_found),
        }
    }

    /// `media_ids[]` as ids; empty ones are skipped.
    fn media_ids(&self) -> ApiResult<Option<Vec<sluice_model::Id>>> {
        let Some(ids) = &self.media_ids else {
            return Ok(None);
        };
        ids.iter()
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

    fn language(&self) -> Option<String> {
        self.language.clone().filter(|l| !l.is_empty())
    }

    /// `scheduled_at` in ms, when given; a value that is not a date is a 422.
    fn scheduled(&self) -> ApiResult<Option<i64>> {
        match self.scheduled_at.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => sluice_model::Timestamp::parse_rfc3339(s)
                .map(|t| Some(t.0))
                .ok_or_else(|| {
                    ApiError::unprocessable("Validation failed: Scheduled at is not a valid date")
                }),
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    p: Params,
) -> ApiResult<axum::response::Response> {
    let me = auth.user(WRITE_STATUSES)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let form: StatusForm = p.parse()?;
    let poll = form.poll.new_poll()?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.chars().take(MAX_IDEMPOTENCY_KEY).collect::<String>())
        .filter(|k| !k.is_empty());
    let scheduled = form.scheduled()?;
    let content_type = form.content_type()?;
    if let Some(text) = form.status.as_deref() {
        crate::mentions::resolve_new_mentions(&state, text).await;
    }
    let note = NewNote {
        in_reply_to: form.in_reply_to()?,
        visibility: visibility(form.visibility.as_deref())?,
        language: form.language(),
        media_ids: form.media_ids()?.unwrap_or_default(),
        text: form.status.unwrap_or_default(),
        sensitive: form.sensitive.unwrap_or(false),
        spoiler_text: form.spoiler_text.unwrap_or_default(),
        application_id: me.app_id,
        idempotency_key: key,
        client: None,
        poll,
        content_type: content_type.filter(|t| t == sluice_model::content::MARKDOWN),
        quoted_status_id: super::quotes::quoted_status_id(form.quoted_status_id.as_deref())?,
        quote_policy: super::quotes::policy(form.quote_approval_policy.as_deref())?,
    };
    if let Some(at) = scheduled {
        let entity = state
            .engine
            .schedule_status(me.account_id, &note, at)
            .await?;
        return Ok(Json(entity).into_response());
    }
    let out = state
        .engine
        .submit(me.account_id, Activity::CreateNote(note))
        .await?;
    let row = out.row.ok_or_else(ApiError::not_found)?;
    let entity = state.engine.status_entity(Some(me.account_id), row).await?;
    Ok(Json(entity).into_response())
}

/// `id[]` of `GET /api/v1/statuses`: malformed ids are skipped, repeated ones read
/// once, at most [`paging::MAX_LIMIT`] of them read (the rest ignored).
#[derive(Debug, Deserialize)]
struct IdsForm {
    #[serde(default, deserialize_with = "field::list")]
    id: Vec<String>,
}

/// `GET /api/v1/statuses?id[]=…`: several statuses at once, those the caller may see,
/// in the order asked (Mastodon 4.3). Anyone may ask; a user token shows what its user
/// may see.
pub async fn many(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let form: IdsForm = p.parse()?;
    let mut ids: Vec<sluice_model::Id> = Vec::new();
    for id in form.id.iter().filter_map(|s| sluice_model::id::parse_id(s)) {
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() >= paging::MAX_LIMIT as usize {
            break;
        }
    }
    let viewer = auth.viewer();
    Ok(Json(state.engine.statuses_by_ids(viewer, &ids).await?))
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
    let form: StatusForm = p.parse()?;
    if let Some(text) = form.status.as_deref() {
        crate::mentions::resolve_new_mentions(&state, text).await;
    }
    // An edit keeps the poll: apps send it back as it is. Changing it (which resets
    // its votes on Mastodon) is not supported.
    if old.account_id == me.account_id
        && let Some(asked) = form.poll.new_poll()?
    {
        let same = state
            .engine
            .status_entity(Some(me.account_id), old.clone())
            .await?
            .poll
            .is_some_and(|p| {
                p.multiple == asked.multiple
                    && p.options.iter().map(|o| o.title.as_str()).eq(asked
                        .options
                        .iter()
                        .map(|o| o.trim())
                        .filter(|o| !o.is_empty()))
            });
        if !same {
            return Err(ApiError::unprocessable(
                "Validation failed: a poll cannot be added or changed by an edit",
            ));
        }
    }
    let content_type = form.content_type()?;
    let edit = NoteEdit {
        language: form.language(),
        media_ids: form.media_ids()?,
        text: form.status.unwrap_or(old.source_text),
        sensitive: form.sensitive.unwrap_or(old.sensitive),
        spoiler_text: form.spoiler_text.unwrap_or(old.spoiler_text),
        client: None,
        content_type,
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
    let content_type = state.engine.content_type_of(s.id).await?;
    Ok(Json(api::StatusSource {
        id: s.id.to_string(),
        text: s.source_text,
        spoiler_text: s.spoiler_text,
        content_type,
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
    let form: ReblogForm = p.parse()?;
    let visibility = visibility(form.visibility.as_deref())?.unwrap_or(Visibility::Public);
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

/// `POST /api/v1/statuses/:id/mute`: no notifications from the status's thread.
pub async fn mute(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_conversation_mute(&state, &auth, &id, true).await
}

/// `POST /api/v1/statuses/:id/unmute`.
pub async fn unmute(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_conversation_mute(&state, &auth, &id, false).await
}

async fn set_conversation_mute(
    state: &AppState,
    auth: &Auth,
    id: &str,
    on: bool,
) -> ApiResult<Json<api::Status>> {
    let me = auth.user(WRITE_MUTES)?;
    let s = state
        .engine
        .mute_conversation(me.account_id, path_id(id)?, on)
        .await?;
    Ok(Json(
        state.engine.status_entity(Some(me.account_id), s).await?,
    ))
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

/// `POST /api/v1/polls/:id/votes`: `choices[]`, option indexes.
#[derive(Debug, Deserialize)]
struct VoteForm {
    #[serde(default, deserialize_with = "field::list")]
    choices: Vec<String>,
}

/// `GET /api/v1/polls/:id`: a poll the caller may see (its id is its post's).
pub async fn poll(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let viewer = auth.viewer();
    Ok(Json(state.engine.poll_view(viewer, path_id(&id)?).await?))
}

/// `POST /api/v1/polls/:id/votes`: votes; answers the poll as the voter sees it now.
pub async fn vote(
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
    let form: VoteForm = p.parse()?;
    if form.choices.is_empty() {
        return Err(ApiError::bad_request(
            "param is missing or the value is empty: choices",
        ));
    }
    let choices = form
        .choices
        .iter()
        .map(|c| c.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            ApiError::unprocessable("Validation failed: The chosen vote option does not exist")
        })?;
    Ok(Json(state.engine.vote(me.account_id, id, &choices).await?))
}
