//! Reports: `POST /api/v1/reports` (a user reports an account and some of its
//! posts) and the admin API of reports, `/api/v1/admin/reports` (Mastodon's
//! Admin::Report): list, show, change the category, assign, resolve, reopen.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use sluice_engine::moderation::permission::MANAGE_REPORTS;
use sluice_engine::reports::ReportInput;
use sluice_engine::rows::ReportFilter;
use sluice_model::Id;

use super::accounts::path_id;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// Mastodon's scopes of the admin report endpoints.
const ADMIN_READ: &[&str] = &["admin:read:reports", "admin:read"];
const ADMIN_WRITE: &[&str] = &["admin:write:reports", "admin:write"];

#[derive(Debug, Deserialize)]
struct ReportForm {
    #[serde(default, deserialize_with = "field::string")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "field::list")]
    status_ids: Vec<String>,
    #[serde(default, deserialize_with = "field::string")]
    comment: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    category: Option<String>,
    #[serde(default, deserialize_with = "field::list")]
    rule_ids: Vec<String>,
    #[serde(default, deserialize_with = "field::bool")]
    forward: Option<bool>,
    #[serde(default, deserialize_with = "field::list")]
    forward_to_domains: Vec<String>,
}

/// `POST /api/v1/reports`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(&["write:reports"])?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let form: ReportForm = p.parse()?;
    let target = form
        .account_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::unprocessable("Validation failed: Account can't be blank"))?;
    let target = path_id(target)?;
    let mut status_ids: Vec<Id> = Vec::with_capacity(form.status_ids.len());
    for s in &form.status_ids {
        let id = sluice_model::id::parse_id(s.trim()).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "Validation failed: Status {s} is not a post of the reported account"
            ))
        })?;
        status_ids.push(id);
    }
    let input = ReportInput {
        target,
        status_ids: &status_ids,
        comment: form.comment.as_deref().unwrap_or(""),
        category: form.category.as_deref(),
        rule_ids: &form.rule_ids,
        forward: form.forward.unwrap_or(false),
        forward_to_domains: &form.forward_to_domains,
    };
    Ok(Json(state.engine.file_report(me.account_id, &input).await?))
}

#[derive(Debug, Deserialize)]
struct FilterForm {
    #[serde(default, deserialize_with = "field::bool")]
    resolved: Option<bool>,
    #[serde(default, deserialize_with = "field::id")]
    account_id: Option<Id>,
    #[serde(default, deserialize_with = "field::id")]
    target_account_id: Option<Id>,
}

/// `GET /api/v1/admin/reports`: open reports unless `resolved=true` (as Mastodon),
/// by reporter or reported account, paged by id with a `Link` header.
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    auth.staff(&state, ADMIN_READ, MANAGE_REPORTS).await?;
    let form: FilterForm = p.parse()?;
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let filter = ReportFilter {
        resolved: Some(form.resolved.unwrap_or(false)),
        account_id: form.account_id,
        target_account_id: form.target_account_id,
    };
    let (reports, ids) = state.engine.admin_reports(filter, page).await?;
    Ok((
        paging::link_header(state.base(), &uri, &page, &ids),
        Json(reports),
    ))
}

/// `GET /api/v1/admin/reports/:id`.
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    auth.staff(&state, ADMIN_READ, MANAGE_REPORTS).await?;
    Ok(Json(state.engine.admin_report(path_id(&id)?).await?))
}

#[derive(Debug, Deserialize)]
struct UpdateForm {
    #[serde(default, deserialize_with = "field::string")]
    category: Option<String>,
    #[serde(default, deserialize_with = "field::opt_list")]
    rule_ids: Option<Vec<String>>,
}

/// `PUT /api/v1/admin/reports/:id`: `category` and/or `rule_ids`.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let staff = auth.staff(&state, ADMIN_WRITE, MANAGE_REPORTS).await?;
    let id = path_id(&id)?;
    let form: UpdateForm = p.parse()?;
    state
        .engine
        .update_report(
            Some(staff.account_id),
            id,
            form.category.as_deref(),
            form.rule_ids.as_deref(),
        )
        .await?;
    Ok(Json(state.engine.admin_report(id).await?))
}

/// `POST /api/v1/admin/reports/:id/{assign_to_self,unassign,resolve,reopen}`.
pub async fn act(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, action)): Path<(String, String)>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let staff = auth.staff(&state, ADMIN_WRITE, MANAGE_REPORTS).await?;
    let id = path_id(&id)?;
    let engine = &state.engine;
    let by = staff.account_id;
    match action.as_str() {
        "assign_to_self" => engine.assign_report(by, id, true).await?,
        "unassign" => engine.assign_report(by, id, false).await?,
        "resolve" => {
            // Not a Mastodon parameter: a note for the audit log, as the pages take.
            #[derive(Debug, Deserialize)]
            struct Note {
                #[serde(default, deserialize_with = "field::string")]
                note: Option<String>,
            }
            let note: Note = p.parse()?;
            let note = note.note.unwrap_or_default();
            if note.chars().count() > sluice_engine::reports::MAX_COMMENT_CHARS {
                return Err(ApiError::unprocessable(format!(
                    "Validation failed: Note is too long (maximum is {} characters)",
                    sluice_engine::reports::MAX_COMMENT_CHARS
                )));
            }
            engine.resolve_report(Some(by), id, note.trim()).await?
        }
        "reopen" => engine.reopen_report(Some(by), id).await?,
        _ => return Err(ApiError::not_found()),
    };
    Ok(Json(engine.admin_report(id).await?))
}
