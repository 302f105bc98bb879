//! Mastodon's admin API for federation and sign-up moderation (issue 17):
//! `/api/v1/admin/domain_blocks`, `domain_allows`, `email_domain_blocks`,
//! `canonical_email_blocks` and `ip_blocks`. Each endpoint takes Mastodon's admin
//! sub-scope and permission (`manage_federation` for domains, `manage_blocks` for
//! e-mail and IP blocks): 401 without a token, 403 without the scope or the permission.
//! Lists are paged as Mastodon pages them: newest first, 100 to a page (at most 200),
//! `max_id`/`since_id`/`min_id` and a `Link` header (the rows are few, so a page is cut
//! from the whole list in memory).

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_engine::federation_moderation::{
    DomainBlockChange, IpBlockChange, admin_domain_block_entity,
};
use sluice_engine::moderation::permission;
use sluice_engine::rows::{CanonicalEmailBlockRow, DomainList, DomainRow, IpBlockRow};
use sluice_model::Timestamp;

use super::accounts::path_id;
use crate::AppState;
use crate::auth::{Auth, Staff};
use crate::error::ApiResult;
use crate::form::field;
use crate::params::Params;

/// Rows per page of an admin list, by default and at most (Mastodon's).
const LIST_LIMIT: i64 = 100;
const LIST_MAX: i64 = 200;

/// One page of `rows` (any order), newest first, with its `Link` header.
fn paged<T>(
    state: &AppState,
    uri: &Uri,
    p: &Params,
    mut rows: Vec<T>,
    id: impl Fn(&T) -> sluice_model::Id,
    entity: impl Fn(&T) -> Value,
) -> ApiResult<Response> {
    let page = crate::paging::page(p, LIST_LIMIT, LIST_MAX)?;
    rows.sort_by_key(|r| std::cmp::Reverse(id(r)));
    rows.retain(|r| {
        let i = id(r);
        page.max_id.is_none_or(|m| i < m)
            && page.since_id.is_none_or(|s| i > s)
            && page.min_id.is_none_or(|m| i > m)
    });
    let limit = usize::try_from(page.limit).unwrap_or(1);
    // `min_id`: the page just above it (the oldest rows past it), newest first.
    let skip = if page.min_id.is_some() {
        rows.len().saturating_sub(limit)
    } else {
        0
    };
    let rows: Vec<T> = rows.into_iter().skip(skip).take(limit).collect();
    let ids: Vec<sluice_model::Id> = rows.iter().map(&id).collect();
    Ok((
        crate::paging::link_header(state.base(), uri, &page, &ids),
        Json(Value::Array(rows.iter().map(entity).collect())),
    )
        .into_response())
}

const READ_DOMAIN_BLOCKS: &[&str] = &["admin:read:domain_blocks"];
const WRITE_DOMAIN_BLOCKS: &[&str] = &["admin:write:domain_blocks"];
const READ_DOMAIN_ALLOWS: &[&str] = &["admin:read:domain_allows"];
const WRITE_DOMAIN_ALLOWS: &[&str] = &["admin:write:domain_allows"];
const READ_EMAIL_DOMAIN_BLOCKS: &[&str] = &["admin:read:email_domain_blocks"];
const WRITE_EMAIL_DOMAIN_BLOCKS: &[&str] = &["admin:write:email_domain_blocks"];
const READ_CANONICAL: &[&str] = &["admin:read:canonical_email_blocks"];
const WRITE_CANONICAL: &[&str] = &["admin:write:canonical_email_blocks"];
const READ_IP_BLOCKS: &[&str] = &["admin:read:ip_blocks"];
const WRITE_IP_BLOCKS: &[&str] = &["admin:write:ip_blocks"];

async fn federation(state: &AppState, auth: &Auth, scopes: &[&str]) -> ApiResult<Staff> {
    auth.staff(state, scopes, permission::MANAGE_FEDERATION)
        .await
}

async fn blocks(state: &AppState, auth: &Auth, scopes: &[&str]) -> ApiResult<Staff> {
    auth.staff(state, scopes, permission::MANAGE_BLOCKS).await
}

fn date(ms: i64) -> String {
    Timestamp(ms).to_rfc3339()
}

// ---- domain blocks ----

#[derive(Debug, Deserialize)]
struct DomainBlockForm {
    #[serde(default, deserialize_with = "field::string")]
    domain: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "field::bool")]
    reject_media: Option<bool>,
    #[serde(default, deserialize_with = "field::bool")]
    reject_reports: Option<bool>,
    #[serde(default, deserialize_with = "field::string")]
    private_comment: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    public_comment: Option<String>,
    #[serde(default, deserialize_with = "field::bool")]
    obfuscate: Option<bool>,
}

impl DomainBlockForm {
    fn change(self) -> DomainBlockChange {
        DomainBlockChange {
            domain: self.domain,
            severity: self.severity,
            reject_media: self.reject_media,
            reject_reports: self.reject_reports,
            private_comment: self.private_comment,
            public_comment: self.public_comment,
            obfuscate: self.obfuscate,
        }
    }
}

/// `GET /api/v1/admin/domain_blocks`.
pub async fn domain_blocks(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    p: Params,
) -> ApiResult<Response> {
    federation(&state, &auth, READ_DOMAIN_BLOCKS).await?;
    let list = state.engine.domain_blocks().await?;
    paged(&state, &uri, &p, list, |b| b.id, admin_domain_block_entity)
}

/// `GET /api/v1/admin/domain_blocks/:id`.
pub async fn domain_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    federation(&state, &auth, READ_DOMAIN_BLOCKS).await?;
    let b = state.engine.admin_domain_block(path_id(&id)?).await?;
    Ok(Json(admin_domain_block_entity(&b)))
}

/// `POST /api/v1/admin/domain_blocks`.
pub async fn create_domain_block(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = federation(&state, &auth, WRITE_DOMAIN_BLOCKS).await?;
    let form: DomainBlockForm = p.parse()?;
    let b = state
        .engine
        .create_domain_block(Some(me.account_id), form.change())
        .await?;
    Ok(Json(admin_domain_block_entity(&b)))
}

/// `PUT /api/v1/admin/domain_blocks/:id`.
pub async fn update_domain_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = federation(&state, &auth, WRITE_DOMAIN_BLOCKS).await?;
    let id = path_id(&id)?;
    let form: DomainBlockForm = p.parse()?;
    let b = state
        .engine
        .update_domain_block(Some(me.account_id), id, form.change())
        .await?;
    Ok(Json(admin_domain_block_entity(&b)))
}

/// `DELETE /api/v1/admin/domain_blocks/:id`.
pub async fn delete_domain_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = federation(&state, &auth, WRITE_DOMAIN_BLOCKS).await?;
    state
        .engine
        .delete_domain_block(Some(me.account_id), path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

// ---- domain allows and e-mail domain blocks ----

#[derive(Debug, Deserialize)]
struct DomainForm {
    #[serde(default, deserialize_with = "field::string")]
    domain: Option<String>,
}

fn domain_entity(list: DomainList, r: &DomainRow) -> Value {
    let mut v = json!({
        "id": r.id.to_string(),
        "domain": r.domain,
        "created_at": date(r.created_at),
    });
    if matches!(list, DomainList::EmailBlocks) {
        // Mastodon counts sign-up attempts per day; none are counted here.
        v["history"] = json!([]);
    }
    v
}

fn list_scopes(list: DomainList, write: bool) -> &'static [&'static str] {
    match (list, write) {
        (DomainList::Allows, false) => READ_DOMAIN_ALLOWS,
        (DomainList::Allows, true) => WRITE_DOMAIN_ALLOWS,
        (DomainList::EmailBlocks, false) => READ_EMAIL_DOMAIN_BLOCKS,
        (DomainList::EmailBlocks, true) => WRITE_EMAIL_DOMAIN_BLOCKS,
    }
}

async fn list_staff(
    state: &AppState,
    auth: &Auth,
    list: DomainList,
    write: bool,
) -> ApiResult<Staff> {
    let scopes = list_scopes(list, write);
    match list {
        DomainList::Allows => federation(state, auth, scopes).await,
        DomainList::EmailBlocks => blocks(state, auth, scopes).await,
    }
}

async fn list_index(
    state: AppState,
    uri: Uri,
    auth: Auth,
    p: Params,
    list: DomainList,
) -> ApiResult<Response> {
    list_staff(&state, &auth, list, false).await?;
    let rows = state.engine.domain_list(list).await?;
    paged(&state, &uri, &p, rows, |r| r.id, |r| domain_entity(list, r))
}

async fn list_show(
    state: AppState,
    auth: Auth,
    list: DomainList,
    id: String,
) -> ApiResult<Json<Value>> {
    list_staff(&state, &auth, list, false).await?;
    let r = state.engine.domain_list_row(list, path_id(&id)?).await?;
    Ok(Json(domain_entity(list, &r)))
}

async fn list_create(
    state: AppState,
    auth: Auth,
    list: DomainList,
    p: Params,
) -> ApiResult<Json<Value>> {
    let me = list_staff(&state, &auth, list, true).await?;
    let form: DomainForm = p.parse()?;
    let r = state
        .engine
        .add_domain_list(
            Some(me.account_id),
            list,
            form.domain.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(domain_entity(list, &r)))
}

async fn list_delete(
    state: AppState,
    auth: Auth,
    list: DomainList,
    id: String,
) -> ApiResult<Json<Value>> {
    let me = list_staff(&state, &auth, list, true).await?;
    state
        .engine
        .remove_domain_list(Some(me.account_id), list, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/admin/domain_allows`.
pub async fn domain_allows(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    p: Params,
) -> ApiResult<Response> {
    list_index(state, uri, auth, p, DomainList::Allows).await
}

/// `GET /api/v1/admin/domain_allows/:id`.
pub async fn domain_allow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    list_show(state, auth, DomainList::Allows, id).await
}

/// `POST /api/v1/admin/domain_allows`.
pub async fn create_domain_allow(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<Json<Value>> {
    list_create(state, auth, DomainList::Allows, p).await
}

/// `DELETE /api/v1/admin/domain_allows/:id`.
pub async fn delete_domain_allow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    list_delete(state, auth, DomainList::Allows, id).await
}

/// `GET /api/v1/admin/email_domain_blocks`.
pub async fn email_domain_blocks(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    p: Params,
) -> ApiResult<Response> {
    list_index(state, uri, auth, p, DomainList::EmailBlocks).await
}

/// `GET /api/v1/admin/email_domain_blocks/:id`.
pub async fn email_domain_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    list_show(state, auth, DomainList::EmailBlocks, id).await
}

/// `POST /api/v1/admin/email_domain_blocks`.
pub async fn create_email_domain_block(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<Json<Value>> {
    list_create(state, auth, DomainList::EmailBlocks, p).await
}

/// `DELETE /api/v1/admin/email_domain_blocks/:id`.
pub async fn delete_email_domain_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    list_delete(state, auth, DomainList::EmailBlocks, id).await
}

// ---- canonical e-mail blocks ----

fn canonical_entity(r: &CanonicalEmailBlockRow) -> Value {
    json!({ "id": r.id.to_string(), "canonical_email_hash": r.canonical_email_hash })
}

#[derive(Debug, Deserialize)]
struct CanonicalForm {
    #[serde(default, deserialize_with = "field::string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    canonical_email_hash: Option<String>,
}

/// `GET /api/v1/admin/canonical_email_blocks`.
pub async fn canonical_email_blocks(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    p: Params,
) -> ApiResult<Response> {
    blocks(&state, &auth, READ_CANONICAL).await?;
    let rows = state.engine.canonical_email_blocks().await?;
    paged(&state, &uri, &p, rows, |r| r.id, canonical_entity)
}

/// `GET /api/v1/admin/canonical_email_blocks/:id`.
pub async fn canonical_email_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    blocks(&state, &auth, READ_CANONICAL).await?;
    let r = state.engine.canonical_email_block(path_id(&id)?).await?;
    Ok(Json(canonical_entity(&r)))
}

/// `POST /api/v1/admin/canonical_email_blocks/test`: the blocks `email` matches.
pub async fn test_canonical_email_block(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<Json<Value>> {
    blocks(&state, &auth, READ_CANONICAL).await?;
    let form: CanonicalForm = p.parse()?;
    let rows = state
        .engine
        .canonical_email_blocks_matching(form.email.as_deref().unwrap_or(""))
        .await?;
    Ok(Json(Value::Array(
        rows.iter().map(canonical_entity).collect(),
    )))
}

/// `POST /api/v1/admin/canonical_email_blocks`.
pub async fn create_canonical_email_block(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<Json<Value>> {
    let me = blocks(&state, &auth, WRITE_CANONICAL).await?;
    let form: CanonicalForm = p.parse()?;
    let r = state
        .engine
        .add_canonical_email_block(
            Some(me.account_id),
            form.email.as_deref(),
            form.canonical_email_hash.as_deref(),
        )
        .await?;
    Ok(Json(canonical_entity(&r)))
}

/// `DELETE /api/v1/admin/canonical_email_blocks/:id`.
pub async fn delete_canonical_email_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let me = blocks(&state, &auth, WRITE_CANONICAL).await?;
    state
        .engine
        .remove_canonical_email_block(Some(me.account_id), path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

// ---- IP blocks ----

fn ip_entity(r: &IpBlockRow) -> Value {
    json!({
        "id": r.id.to_string(),
        "ip": r.ip,
        "severity": r.severity,
        "comment": r.comment,
        "created_at": date(r.created_at),
        "expires_at": r.expires_at.map(date),
    })
}

#[derive(Debug, Deserialize)]
struct IpBlockForm {
    #[serde(default, deserialize_with = "field::string")]
    ip: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    comment: Option<String>,
    #[serde(default, deserialize_with = "field::clearable_int")]
    expires_in: Option<Option<i64>>,
}

impl IpBlockForm {
    fn change(self) -> IpBlockChange {
        IpBlockChange {
            ip: self.ip,
            severity: self.severity,
            comment: self.comment,
            expires_in: self.expires_in,
        }
    }
}

/// `GET /api/v1/admin/ip_blocks`.
pub async fn ip_blocks(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    p: Params,
) -> ApiResult<Response> {
    blocks(&state, &auth, READ_IP_BLOCKS).await?;
    let rows = state.engine.ip_blocks().await?;
    paged(&state, &uri, &p, rows, |r| r.id, ip_entity)
}

/// `GET /api/v1/admin/ip_blocks/:id`.
pub async fn ip_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    blocks(&state, &auth, READ_IP_BLOCKS).await?;
    let r = state.engine.ip_block(path_id(&id)?).await?;
    Ok(Json(ip_entity(&r)))
}

/// `POST /api/v1/admin/ip_blocks`.
pub async fn create_ip_block(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<Json<Value>> {
    let me = blocks(&state, &auth, WRITE_IP_BLOCKS).await?;
    let form: IpBlockForm = p.parse()?;
    let r = state
        .engine
        .write_ip_block(Some(me.account_id), None, form.change())
        .await?;
    Ok(Json(ip_entity(&r)))
}

/// `PUT /api/v1/admin/ip_blocks/:id`.
pub async fn update_ip_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let me = blocks(&state, &auth, WRITE_IP_BLOCKS).await?;
    let id = path_id(&id)?;
    let form: IpBlockForm = p.parse()?;
    let r = state
        .engine
        .write_ip_block(Some(me.account_id), Some(id), form.change())
        .await?;
    Ok(Json(ip_entity(&r)))
}

/// `DELETE /api/v1/admin/ip_blocks/:id`.
pub async fn delete_ip_block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let me = blocks(&state, &auth, WRITE_IP_BLOCKS).await?;
    state
        .engine
        .remove_ip_block(Some(me.account_id), path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}
