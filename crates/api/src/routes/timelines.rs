//! Timelines (home, public, hashtag) and the saved lists (bookmarks, favourites).

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use sluice_model::filter::FilterContext;
use sluice_model::{Id, api};
use sluice_store::{ListedId, Locality, Page, Saved, StatusRow, StatusView};

use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT, link_header};
use crate::params::Params;

/// Above this many follows, the home timeline walks statuses newest-first instead of
/// reading each followed account's index (measured: docs/benchmarks.md).
const HOME_SCAN_FOLLOWS: i64 = 20;

/// A page of statuses with its `Link` header (cursors from the page as read, before
/// the viewer's `hide` filters for `context` take statuses out).
pub(super) async fn render(
    state: &AppState,
    uri: &Uri,
    viewer: Option<Id>,
    page: &Page,
    views: Vec<StatusView>,
    context: FilterContext,
) -> ApiResult<(HeaderMap, Json<Vec<api::Status>>)> {
    let ids: Vec<Id> = views
        .iter()
        .filter(|v| v.requested)
        .map(|v| v.status.id)
        .collect();
    let headers = link_header(state.base(), uri, page, &ids);
    let mut statuses = state.engine.page_entities(viewer, views).await?;
    state
        .engine
        .apply_filters(viewer, context, &mut statuses)
        .await?;
    Ok((headers, Json(statuses)))
}

pub async fn home(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_STATUSES)?;
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    // Which plan is cheaper depends on how many accounts the viewer follows.
    let follows = state
        .engine
        .cached_accounts(&[me.account_id])
        .await?
        .first()
        .map_or(0, |a| a.following_count);
    let rows = state
        .engine
        .store
        .home_timeline(me.account_id, follows > HOME_SCAN_FOLLOWS, page)
        .await?;
    render(
        &state,
        &uri,
        Some(me.account_id),
        &page,
        rows,
        FilterContext::Home,
    )
    .await
}

pub async fn public(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let locality = if p.flag("local")? {
        Locality::Local
    } else if p.flag("remote")? {
        Locality::Remote
    } else {
        Locality::All
    };
    let rows = state
        .engine
        .store
        .public_timeline(auth.viewer(), locality, p.flag("only_media")?, page)
        .await?;
    render(
        &state,
        &uri,
        auth.viewer(),
        &page,
        rows,
        FilterContext::Public,
    )
    .await
}

pub async fn tag(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(tag): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    if p.flag("remote")? {
        return render(
            &state,
            &uri,
            auth.viewer(),
            &page,
            vec![],
            FilterContext::Public,
        )
        .await;
    }
    let rows = state
        .engine
        .store
        .tag_timeline(
            tag.trim_start_matches('#'),
            auth.viewer(),
            p.flag("local")?,
            p.flag("only_media")?,
            page,
        )
        .await?;
    render(
        &state,
        &uri,
        auth.viewer(),
        &page,
        rows,
        FilterContext::Public,
    )
    .await
}

async fn saved(
    state: &AppState,
    uri: &Uri,
    me: Id,
    kind: Saved,
    p: &Params,
) -> ApiResult<(HeaderMap, Json<Vec<api::Status>>)> {
    let page = paging::page(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let listed: Vec<ListedId> = state.engine.store.saved_statuses(me, kind, page).await?;
    let cursors: Vec<Id> = listed.iter().map(|l| l.rel_id).collect();
    let ids: Vec<Id> = listed.iter().map(|l| l.item_id).collect();
    let rows = state.engine.store.statuses(&ids).await?;
    let mut by_id: std::collections::HashMap<Id, StatusRow> =
        rows.into_iter().map(|s| (s.id, s)).collect();
    let ordered: Vec<StatusRow> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    let mut visible = Vec::with_capacity(ordered.len());
    for s in ordered {
        if state.engine.can_see(Some(me), &s).await? {
            visible.push(s);
        }
    }
    let headers = link_header(state.base(), uri, &page, &cursors);
    Ok((
        headers,
        Json(state.engine.status_entities(Some(me), visible).await?),
    ))
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
