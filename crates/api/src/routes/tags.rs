//! Hashtags: one tag (`/api/v1/tags/:name`), following them (`follow`, `unfollow`,
//! `/api/v1/followed_tags`), featuring them on a profile (`/api/v1/featured_tags`,
//! `/api/v1/accounts/:id/featured_tags`, Mastodon 4.4's `tags/:name/feature`), and
//! trends of tags, posts and links.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::accounts::path_id;
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, link_header};
use crate::params::Params;

/// Default and maximum followed tags per page (Mastodon: 100/200).
const DEFAULT_FOLLOWED_TAGS: i64 = 100;
const MAX_FOLLOWED_TAGS_PAGE: i64 = 200;
/// Default and maximum trending tags per page (Mastodon: 10/20).
const DEFAULT_TREND_TAGS: usize = 10;
const MAX_TREND_TAGS: usize = 20;
/// Default and maximum trending links per page (Mastodon: 10/20).
const DEFAULT_TREND_LINKS: usize = 10;
const MAX_TREND_LINKS: usize = 20;
/// Default and maximum trending posts per page (Mastodon: 20/40).
const DEFAULT_TREND_STATUSES: usize = 20;
const MAX_TREND_STATUSES: usize = 40;

/// `GET /api/v1/tags/:name`: the tag with its recent use and, for a user, whether
/// they follow and feature it. 404 for what cannot be a hashtag.
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(state.engine.tag(auth.viewer(), &name).await?))
}

/// `POST /api/v1/tags/:name/follow`.
pub async fn follow(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FOLLOWS)?;
    Ok(Json(state.engine.follow_tag(me.account_id, &name).await?))
}

/// `POST /api/v1/tags/:name/unfollow`.
pub async fn unfollow(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FOLLOWS)?;
    Ok(Json(state.engine.unfollow_tag(me.account_id, &name).await?))
}

/// `GET /api/v1/followed_tags`, paged with a `Link` header.
pub async fn followed(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FOLLOWS)?;
    let page = paging::page(&p, DEFAULT_FOLLOWED_TAGS, MAX_FOLLOWED_TAGS_PAGE)?;
    let (tags, cursors) = state.engine.followed_tags(me.account_id, page).await?;
    Ok((link_header(state.base(), &uri, &page, &cursors), Json(tags)))
}

/// `POST /api/v1/tags/:name/feature` (Mastodon 4.4): features the tag; the Tag.
pub async fn feature(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    let account = own_account(&state, me.account_id).await?;
    state.engine.feature_tag(&account, &name).await?;
    Ok(Json(state.engine.tag(Some(me.account_id), &name).await?))
}

/// `POST /api/v1/tags/:name/unfeature` (Mastodon 4.4): the Tag.
pub async fn unfeature(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    let account = own_account(&state, me.account_id).await?;
    let tag = state.engine.tag(Some(me.account_id), &name).await?;
    if tag.featuring == Some(true) {
        let featured = state.engine.featured_tags_of(&account).await?;
        if let Some(f) = featured.iter().find(|f| f.name == tag.name) {
            let id = path_id(&f.id)?;
            state.engine.unfeature_tag(&account, id).await?;
        }
    }
    Ok(Json(state.engine.tag(Some(me.account_id), &name).await?))
}

async fn own_account(
    state: &AppState,
    id: sluice_model::Id,
) -> ApiResult<sluice_engine::rows::AccountRow> {
    state
        .engine
        .account(id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/featured_tags`: the user's own.
pub async fn featured(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_ACCOUNTS)?;
    let account = own_account(&state, me.account_id).await?;
    Ok(Json(state.engine.featured_tags_of(&account).await?))
}

#[derive(Debug, Deserialize)]
struct FeatureForm {
    #[serde(default, deserialize_with = "field::string")]
    name: Option<String>,
}

/// `POST /api/v1/featured_tags` with `name`: the FeaturedTag.
pub async fn create_featured(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    let form: FeatureForm = p.parse()?;
    let name = form
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::unprocessable("Validation failed: Tag can't be blank"))?;
    let account = own_account(&state, me.account_id).await?;
    Ok(Json(state.engine.feature_tag(&account, &name).await?))
}

/// `DELETE /api/v1/featured_tags/:id`: `{}`.
pub async fn delete_featured(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    let account = own_account(&state, me.account_id).await?;
    state.engine.unfeature_tag(&account, path_id(&id)?).await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/featured_tags/suggestions`: the user's most used tags not featured yet.
pub async fn suggestions(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_ACCOUNTS)?;
    Ok(Json(
        state.engine.featured_tag_suggestions(me.account_id).await?,
    ))
}

/// `GET /api/v1/accounts/:id/featured_tags`: anyone may read them.
pub async fn of_account(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let account = state
        .engine
        .account(path_id(&id)?)
        .await?
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(state.engine.featured_tags_of(&account).await?))
}

#[derive(Debug, Deserialize)]
struct TrendsForm {
    #[serde(default, deserialize_with = "field::int")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "field::int")]
    offset: Option<i64>,
}

impl TrendsForm {
    fn window(&self, default: usize, max: usize) -> (usize, usize) {
        let limit = self
            .limit
            .map_or(default, |l| l.clamp(1, max as i64) as usize);
        (self.offset.unwrap_or(0).max(0) as usize, limit)
    }
}

/// `GET /api/v1/trends/tags` (and `/api/v1/trends`): anyone may read them.
pub async fn trending_tags(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let (offset, limit) = p
        .parse::<TrendsForm>()?
        .window(DEFAULT_TREND_TAGS, MAX_TREND_TAGS);
    Ok(Json(
        state
            .engine
            .trending_tags(auth.viewer(), offset, limit)
            .await?,
    ))
}

/// `GET /api/v1/trends/statuses`: the posts the reader may see.
pub async fn trending_statuses(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let (offset, limit) = p
        .parse::<TrendsForm>()?
        .window(DEFAULT_TREND_STATUSES, MAX_TREND_STATUSES);
    let statuses = state
        .engine
        .trending_statuses(auth.viewer(), offset, limit)
        .await?;
    Ok((HeaderMap::new(), Json(statuses)))
}

/// `GET /api/v1/trends/links`: links shared by the most distinct accounts in recent
/// public posts (`SLUICE_CARDS_TREND_DAYS`), each a card with its daily `history`.
pub async fn trending_links(
    State(state): State<AppState>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let (offset, limit) = p
        .parse::<TrendsForm>()?
        .window(DEFAULT_TREND_LINKS, MAX_TREND_LINKS);
    Ok(Json(
        state
            .engine
            .link_trends(offset as i64, limit as i64)
            .await?,
    ))
}
