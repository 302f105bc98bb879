//! Blocks, mutes and follow requests: the lists and the answers to requests.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::IntoResponse;
use sluice_engine::Activity;
use sluice_engine::rows::{Relation, Side};

use super::accounts::{account_list, path_id};
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::paging::{self, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT, link_header};
use crate::params::Params;

pub async fn blocks(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_BLOCKS)?;
    account_list(
        &state,
        &uri,
        Relation::Block,
        Side::Targets,
        me.account_id,
        &p,
    )
    .await
}

pub async fn mutes(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_MUTES)?;
    let page = paging::page(&p, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT)?;
    // Each account with `mute_expires_at`, as Mastodon lists them.
    let (accounts, cursors) = state.engine.muted_accounts(me.account_id, page).await?;
    Ok((
        link_header(state.base(), &uri, &page, &cursors),
        Json(accounts),
    ))
}

pub async fn follow_requests(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FOLLOWS)?;
    account_list(
        &state,
        &uri,
        Relation::FollowRequest,
        Side::Sources,
        me.account_id,
        &p,
    )
    .await
}

pub async fn authorize(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FOLLOWS)?;
    let follower = path_id(&id)?;
    state
        .engine
        .submit(me.account_id, Activity::AcceptFollow { follower })
        .await?;
    Ok(Json(
        state.engine.relationship(me.account_id, follower).await?,
    ))
}

pub async fn reject(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FOLLOWS)?;
    let follower = path_id(&id)?;
    state
        .engine
        .submit(me.account_id, Activity::RejectFollow { follower })
        .await?;
    Ok(Json(
        state.engine.relationship(me.account_id, follower).await?,
    ))
}
