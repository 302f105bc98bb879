//! Timelines (home, public, hashtag) and the saved lists (bookmarks, favourites).

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use serde::Deserialize;
use sluice_engine::read::StatusPage;
use sluice_engine::rows::{Locality, Page, Saved};
use sluice_model::{Id, api};

use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::form::field;
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT, link_header};
use crate::params::Params;

/// The public and hashtag timelines' choices (paging apart).
#[derive(Debug, Deserialize)]
struct PublicForm {
    /// Only local posts.
    #[serde(default, deserialize_with = "field::flag")]
    local: bool,
    /// Only remote posts.
    #[serde(default, deserialize_with = "field::flag")]
    remote: bool,
    /// Only posts with media.
    #[serde(default, deserialize_with = "field::flag")]
    only_media: bool,
}

/// A page of statuses as JSON, with its `Link` header.
pub(super) fn render(
    state: &AppState,
    uri: &Uri,
    page: &Page,
    out: StatusPage,
) -> (HeaderMap, Json<Vec<api::Status>>) {
    (
        link_header(state.base(), uri, page, &out.cursors),
        Json(out.statuses),
    )
}

pub async fn home(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_STATUSES)?;
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let out = state.engine.home_timeline(me.account_id, page).await?;
    Ok(render(&state, &uri, &page, out))
}

pub async fn public(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let form: PublicForm = p.parse()?;
    let locality = if form.local {
        Locality::Local
    } else if form.remote {
        Locality::Remote
    } else {
        Locality::All
    };
    let out = state
        .engine
        .public_timeline(auth.viewer(), locality, form.only_media, page)
        .await?;
    Ok(render(&state, &uri, &page, out))
}

pub async fn tag(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(tag): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let form: PublicForm = p.parse()?;
    if form.remote {
        return Ok(render(&state, &uri, &page, StatusPage::default()));
    }
    let out = state
        .engine
        .tag_timeline(
            tag.trim_start_matches('#'),
            auth.viewer(),
            form.local,
            form.only_media,
            page,
        )
        .await?;
    Ok(render(&state, &uri, &page, out))
}

/// `/api/v1/timelines/link?url=`: public posts whose preview card is that URL's
/// (Mastodon 4.3), paged like the other timelines; 404 for a URL without a card.
pub async fn link(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    #[derive(Deserialize)]
    struct LinkForm {
        #[serde(default, deserialize_with = "field::string")]
        url: Option<String>,
    }
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let form: LinkForm = p.parse()?;
    let url = form
        .url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| crate::error::ApiError::bad_request("Missing parameter: url"))?;
    let out = state
        .engine
        .link_timeline(&url, auth.viewer(), page)
        .await?;
    Ok(render(&state, &uri, &page, out))
}

async fn saved(
    state: &AppState,
    uri: &Uri,
    me: Id,
    kind: Saved,
    p: &Params,
) -> ApiResult<(HeaderMap, Json<Vec<api::Status>>)> {
    let page = paging::page(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let out = state.engine.saved_statuses(me, kind, page).await?;
    Ok(render(state, uri, &page, out))
}

pub async fn bookmarks(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_BOOKMARKS)?;
    saved(&state, &uri, me.account_id, Saved::Bookmarks, &p).await
}

pub async fn favourites(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FAVOURITES)?;
    saved(&state, &uri, me.account_id, Saved::Favourites, &p).await
}
