//! Lists (`/api/v1/lists`, `/api/v1/accounts/:id/lists`, `/api/v1/timelines/list/:id`)
//! and user-level domain blocks (`/api/v1/domain_blocks`), as Mastodon has them. A
//! list is its owner's only: anyone else gets 404.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_engine::lists::{ListChange, MAX_LIST_ACCOUNTS};
use sluice_engine::rows::{ListRow, Page};
use sluice_model::{Id, id::parse_id};

use super::accounts::{listed_accounts, path_id};
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{
    self, DEFAULT_ACCOUNTS_LIMIT, DEFAULT_LIMIT, MAX_ACCOUNTS_LIMIT, MAX_LIMIT, PageForm,
};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// Domain blocks per page (Mastodon: 100, at most 200).
const DEFAULT_DOMAIN_BLOCKS_LIMIT: i64 = 100;
const MAX_DOMAIN_BLOCKS_LIMIT: i64 = 200;

/// `POST /api/v1/lists` and `PUT /api/v1/lists/:id`: what is not sent is None.
#[derive(Debug, Deserialize)]
struct ListForm {
    #[serde(default, deserialize_with = "field::string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    replies_policy: Option<String>,
    #[serde(default, deserialize_with = "field::bool")]
    exclusive: Option<bool>,
}

/// Mastodon's List entity.
fn entity(l: &ListRow) -> Value {
    json!({
        "id": l.id.to_string(),
        "title": l.title,
        "replies_policy": l.replies_policy,
        "exclusive": l.exclusive,
    })
}

async fn own_list(state: &AppState, owner: Id, id: &str) -> ApiResult<ListRow> {
    state
        .engine
        .list(owner, path_id(id)?)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `POST`/`DELETE /api/v1/lists/:id/accounts`.
#[derive(Debug, Deserialize)]
struct MembersForm {
    #[serde(default, deserialize_with = "field::list")]
    account_ids: Vec<String>,
}

/// `account_ids[]` as ids; a malformed one is not found, as Mastodon's lookup.
fn account_ids(p: &Params) -> ApiResult<Vec<Id>> {
    let raw = p.parse::<MembersForm>()?.account_ids;
    if raw.is_empty() {
        return Err(ApiError::unprocessable(
            "Validation failed: account_ids is missing",
        ));
    }
    if raw.len() as i64 > MAX_LIST_ACCOUNTS {
        return Err(ApiError::unprocessable(format!(
            "Validation failed: at most {MAX_LIST_ACCOUNTS} account_ids at once"
        )));
    }
    raw.iter()
        .map(|s| parse_id(s.trim()).ok_or_else(ApiError::not_found))
        .collect()
}

/// `GET /api/v1/lists`
pub async fn index(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_LISTS)?;
    let lists = state.engine.lists(me.account_id).await?;
    Ok(Json(lists.iter().map(entity).collect::<Vec<_>>()))
}

/// `GET /api/v1/lists/:id`
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_LISTS)?;
    Ok(Json(entity(&own_list(&state, me.account_id, &id).await?)))
}

/// `POST /api/v1/lists`: `title`, optional `replies_policy` and `exclusive`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_LISTS)?;
    state
        .limits
        .check(Bucket::Write, &me.account_id.to_string())?;
    let form: ListForm = p.parse()?;
    let list = state
        .engine
        .create_list(
            me.account_id,
            &form.title.unwrap_or_default(),
            form.replies_policy.as_deref(),
            form.exclusive.unwrap_or(false),
        )
        .await?;
    Ok(Json(entity(&list)))
}

/// `PUT /api/v1/lists/:id`: what is sent changes.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_LISTS)?;
    state
        .limits
        .check(Bucket::Write, &me.account_id.to_string())?;
    let form: ListForm = p.parse()?;
    let change = ListChange {
        title: form.title,
        replies_policy: form.replies_policy,
        exclusive: form.exclusive,
    };
    let list = state
        .engine
        .update_list(me.account_id, path_id(&id)?, change)
        .await?;
    Ok(Json(entity(&list)))
}

/// `DELETE /api/v1/lists/:id`
pub async fn destroy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_LISTS)?;
    state
        .engine
        .delete_list(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/lists/:id/accounts`: paged; `limit=0` gives every member, as Mastodon.
pub async fn accounts(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_LISTS)?;
    let list = own_list(&state, me.account_id, &id).await?;
    let form: PageForm = p.parse()?;
    if form.limit == Some(0) {
        let page = Page {
            limit: MAX_LIST_ACCOUNTS,
            ..Default::default()
        };
        let members = state.engine.list_members(list.id, page).await?;
        return Ok((HeaderMap::new(), Json(members.accounts)));
    }
    let page = form.page(DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT);
    let members = state.engine.list_members(list.id, page).await?;
    Ok(listed_accounts(&state, &uri, &page, members))
}

/// `POST /api/v1/lists/:id/accounts` with `account_ids[]`: accounts the user follows.
pub async fn add_accounts(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_LISTS)?;
    state
        .limits
        .check(Bucket::Write, &me.account_id.to_string())?;
    let list = own_list(&state, me.account_id, &id).await?;
    let ids = account_ids(&p)?;
    state
        .engine
        .add_to_list(me.account_id, list.id, &ids)
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/lists/:id/accounts` with `account_ids[]`.
pub async fn remove_accounts(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_LISTS)?;
    let list = own_list(&state, me.account_id, &id).await?;
    let ids = account_ids(&p)?;
    state
        .engine
        .remove_from_list(me.account_id, list.id, &ids)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/accounts/:id/lists`: the user's lists that hold the account.
pub async fn account_lists(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_LISTS)?;
    let lists = state
        .engine
        .lists_containing(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(lists.iter().map(entity).collect::<Vec<_>>()))
}

/// `GET /api/v1/timelines/list/:list_id`, paged like home.
pub async fn timeline(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_LISTS)?;
    let list = own_list(&state, me.account_id, &id).await?;
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let out = state
        .engine
        .list_timeline(me.account_id, &list, page)
        .await?;
    Ok(super::timelines::render(&state, &uri, &page, out))
}

/// `GET /api/v1/domain_blocks`: the blocked domains, as strings, paged by block.
pub async fn domain_blocks(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_BLOCKS)?;
    let page = paging::page(&p, DEFAULT_DOMAIN_BLOCKS_LIMIT, MAX_DOMAIN_BLOCKS_LIMIT)?;
    let (domains, cursors) = state.engine.blocked_domains(me.account_id, page).await?;
    Ok((
        paging::link_header(state.base(), &uri, &page, &cursors),
        Json(domains),
    ))
}

/// `POST`/`DELETE /api/v1/domain_blocks`.
#[derive(Debug, Deserialize)]
struct DomainForm {
    #[serde(default, deserialize_with = "field::string")]
    domain: Option<String>,
}

fn domain_param(p: &Params) -> ApiResult<String> {
    let domain = p.parse::<DomainForm>()?.domain.unwrap_or_default();
    if domain.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "Validation failed: Domain can't be blank",
        ));
    }
    Ok(domain)
}

/// `POST /api/v1/domain_blocks` with `domain`.
pub async fn block_domain(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_BLOCKS)?;
    state
        .limits
        .check(Bucket::Write, &me.account_id.to_string())?;
    state
        .engine
        .block_domain(me.account_id, &domain_param(&p)?)
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/domain_blocks` with `domain`.
pub async fn unblock_domain(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_BLOCKS)?;
    state
        .engine
        .unblock_domain(me.account_id, &domain_param(&p)?)
        .await?;
    Ok(Json(json!({})))
}
