//! A person's own profile and what it features: `/api/v1/profile` (Mastodon 4.6's
//! Profile entity: the editable values as typed), endorsed accounts
//! (`/accounts/:id/pin`, `/api/v1/endorsements`), and the profile directory.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_model::api;

use super::accounts::{change_profile, listed_accounts, path_id, profile_change};
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// The Profile entity from the credential account: raw note and fields, and no
/// avatar or header URL when the default image is shown.
async fn profile_entity(state: &AppState, a: &api::Account) -> ApiResult<Value> {
    let featured_tags = match state
        .engine
        .account(a.id.parse().unwrap_or_default())
        .await?
    {
        Some(row) => state.engine.featured_tags_of(&row).await?,
        None => vec![],
    };
    let urls = &state.engine.urls;
    let image = |url: &str, default: String| (url != default).then(|| url.to_string());
    let avatar = image(&a.avatar, urls.default_avatar());
    let header = image(&a.header, urls.default_header());
    let source = a.source.as_ref();
    Ok(json!({
        "id": a.id,
        "display_name": a.display_name,
        "note": source.map(|s| s.note.clone()).unwrap_or_default(),
        "fields": source.map(|s| s.fields.clone()).unwrap_or_default(),
        "avatar": avatar,
        "avatar_static": avatar,
        "avatar_description": "",
        "header": header,
        "header_static": header,
        "header_description": "",
        "locked": a.locked,
        "bot": a.bot,
        "hide_collections": a.hide_collections,
        "discoverable": a.discoverable,
        "indexable": a.indexable,
        "show_media": true,
        "show_media_replies": true,
        "show_featured": true,
        "attribution_domains": source.map(|s| s.attribution_domains.clone()).unwrap_or_default(),
        "featured_tags": featured_tags,
    }))
}

/// `GET /api/v1/profile`.
pub async fn show(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(PROFILE)?;
    let a = state
        .engine
        .account(me.account_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let u = state
        .engine
        .user(me.account_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let entity = state.engine.credential_account(&a, &u).await?;
    Ok(Json(profile_entity(&state, &entity).await?))
}

/// `PATCH /api/v1/profile`: the same change as `update_credentials`, answered with
/// the Profile entity.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    up: crate::params::Upload,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let change = profile_change(&up)?;
    let Json(entity) = change_profile(&state, me.account_id, change).await?;
    Ok(Json(profile_entity(&state, &entity).await?))
}

/// `POST /api/v1/accounts/:id/pin`: endorse an account one follows.
pub async fn endorse(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_endorsement(&state, &auth, &id, true).await
}

/// `POST /api/v1/accounts/:id/unpin`.
pub async fn unendorse(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_endorsement(&state, &auth, &id, false).await
}

async fn set_endorsement(
    state: &AppState,
    auth: &Auth,
    id: &str,
    on: bool,
) -> ApiResult<Json<api::Relationship>> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let target = path_id(id)?;
    state.engine.endorse(me.account_id, target, on).await?;
    Ok(Json(
        state.engine.relationship(me.account_id, target).await?,
    ))
}

/// `GET /api/v1/endorsements`: the accounts the user endorses.
pub async fn endorsements(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_ACCOUNTS)?;
    let page = paging::page(&p, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT)?;
    let out = state.engine.endorsements(me.account_id, page).await?;
    Ok(listed_accounts(&state, &uri, &page, out))
}

/// `GET /api/v1/accounts/:id/endorsements`: whom an account features (Mastodon 4.4),
/// unless it hides its collections.
pub async fn account_endorsements(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let target = state
        .engine
        .account(path_id(&id)?)
        .await?
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    let page = paging::page(&p, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT)?;
    if target.hide_collections && auth.viewer() != Some(target.id) {
        return Ok((axum::http::HeaderMap::new(), Json(vec![])));
    }
    let out = state.engine.endorsements(target.id, page).await?;
    Ok(listed_accounts(&state, &uri, &page, out))
}

#[derive(Debug, Deserialize)]
struct DirectoryForm {
    #[serde(default, deserialize_with = "field::int")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "field::int")]
    offset: Option<i64>,
    /// `active` (default) or `new`.
    #[serde(default, deserialize_with = "field::string")]
    order: Option<String>,
    #[serde(default, deserialize_with = "field::bool")]
    local: Option<bool>,
}

/// `GET /api/v1/directory`: accounts that opted into discovery. Anyone may read it
/// (as Mastodon); a signed-in reader does not see whom they block or mute.
pub async fn directory(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let form: DirectoryForm = p.parse()?;
    let by_activity = match form.order.as_deref() {
        None | Some("") | Some("active") => true,
        Some("new") => false,
        Some(_) => {
            return Err(ApiError::bad_request("order must be one of: active, new"));
        }
    };
    let rows = state
        .engine
        .directory(
            auth.viewer(),
            form.local.unwrap_or(false),
            by_activity,
            form.limit.unwrap_or(DEFAULT_ACCOUNTS_LIMIT),
            form.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(state.engine.account_entities_of(&rows).await?))
}
