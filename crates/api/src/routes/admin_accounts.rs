//! Mastodon's admin accounts API (issue 17): `/api/v1/admin/accounts` (v1 filters),
//! `/api/v2/admin/accounts` (v2 filters), one account, and the actions on it:
//! approve, reject, action (none, disable, sensitive, silence, suspend, with a
//! warning), enable, unsilence, unsuspend, unsensitive, delete.
//!
//! Scopes as Mastodon: `admin:read:accounts` (or `admin:read`) to read,
//! `admin:write:accounts` (or `admin:write`) to act; the role needs `manage_users`,
//! deleting `delete_user_data`. 401 without a token, 403 otherwise.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_engine::admin_accounts::{AccountAction, ActionRequest, Undo};
use sluice_engine::moderation::permission;
use sluice_engine::rows::{AccountStatus, AdminAccountFilter, Origin};

use super::accounts::path_id;
use crate::AppState;
use crate::auth::{Auth, Staff};
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, link_header};
use crate::params::Params;

const READ: &[&str] = &["admin:read:accounts", "admin:read"];
const WRITE: &[&str] = &["admin:write:accounts", "admin:write"];

/// Default and maximum page sizes (Mastodon: 100 and 200).
pub const DEFAULT_ADMIN_ACCOUNTS: i64 = 100;
pub const MAX_ADMIN_ACCOUNTS: i64 = 200;
/// The longest text filter (username, display name, e-mail, domain).
pub const MAX_FILTER_CHARS: usize = 200;

async fn reader(state: &AppState, auth: &Auth) -> ApiResult<Staff> {
    auth.staff(state, READ, permission::MANAGE_USERS).await
}

async fn writer(state: &AppState, auth: &Auth) -> ApiResult<Staff> {
    auth.staff(state, WRITE, permission::MANAGE_USERS).await
}

/// The v1 filters.
#[derive(Debug, Default, Deserialize)]
struct V1Form {
    #[serde(default, deserialize_with = "field::flag")]
    local: bool,
    #[serde(default, deserialize_with = "field::flag")]
    remote: bool,
    #[serde(default, deserialize_with = "field::flag")]
    active: bool,
    #[serde(default, deserialize_with = "field::flag")]
    pending: bool,
    #[serde(default, deserialize_with = "field::flag")]
    disabled: bool,
    #[serde(default, deserialize_with = "field::flag")]
    silenced: bool,
    #[serde(default, deserialize_with = "field::flag")]
    suspended: bool,
    #[serde(default, deserialize_with = "field::flag")]
    sensitized: bool,
    #[serde(default, deserialize_with = "field::flag")]
    staff: bool,
    #[serde(default, deserialize_with = "field::string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    by_domain: Option<String>,
}

/// The v2 filters.
#[derive(Debug, Default, Deserialize)]
struct V2Form {
    #[serde(default, deserialize_with = "field::string")]
    origin: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    permissions: Option<String>,
    #[serde(default, deserialize_with = "field::list")]
    role_ids: Vec<String>,
    #[serde(default, deserialize_with = "field::string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    by_domain: Option<String>,
}

/// A text filter: empty is none; longer than [`MAX_FILTER_CHARS`] is 422.
fn text(v: Option<String>, name: &str) -> ApiResult<Option<String>> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_FILTER_CHARS => Err(ApiError::unprocessable(format!(
            "{name} is too long (at most {MAX_FILTER_CHARS} characters)"
        ))),
        other => Ok(other),
    }
}

fn v1_filter(f: V1Form) -> ApiResult<AdminAccountFilter> {
    let mut out = AdminAccountFilter {
        origin: match (f.local, f.remote) {
            (true, false) => Some(Origin::Local),
            (false, true) => Some(Origin::Remote),
            _ => None,
        },
        staff: f.staff,
        username: text(f.username, "username")?,
        display_name: text(f.display_name, "display_name")?,
        email: text(f.email, "email")?,
        domain: text(f.by_domain, "by_domain")?,
        ..Default::default()
    };
    for (on, s) in [
        (f.active, AccountStatus::Active),
        (f.pending, AccountStatus::Pending),
        (f.disabled, AccountStatus::Disabled),
        (f.silenced, AccountStatus::Silenced),
        (f.suspended, AccountStatus::Suspended),
        (f.sensitized, AccountStatus::Sensitized),
    ] {
        if on {
            out.status.push(s);
        }
    }
    Ok(out)
}

fn v2_filter(f: V2Form) -> ApiResult<AdminAccountFilter> {
    let origin = match f.origin.as_deref() {
        None | Some("") => None,
        Some("local") => Some(Origin::Local),
        Some("remote") => Some(Origin::Remote),
        Some(o) => return Err(ApiError::bad_request(format!("Unknown origin: {o}"))),
    };
    let status = match f.status.as_deref() {
        None | Some("") => vec![],
        Some("active") => vec![AccountStatus::Active],
        Some("pending") => vec![AccountStatus::Pending],
        Some("disabled") => vec![AccountStatus::Disabled],
        Some("silenced") => vec![AccountStatus::Silenced],
        Some("suspended") => vec![AccountStatus::Suspended],
        Some("sensitized") => vec![AccountStatus::Sensitized],
        Some(s) => return Err(ApiError::bad_request(format!("Unknown status: {s}"))),
    };
    let staff = match f.permissions.as_deref() {
        None | Some("") => false,
        Some("staff") => true,
        Some(p) => return Err(ApiError::bad_request(format!("Unknown permissions: {p}"))),
    };
    // The role ids of `Role.entity` (Mastodon's seeded ids).
    let mut roles = Vec::new();
    for id in &f.role_ids {
        roles.push(match id.as_str() {
            "-99" => "user",
            "1" => "moderator",
            "3" => "admin",
            _ => return Err(ApiError::bad_request(format!("Unknown role id: {id}"))),
        });
    }
    Ok(AdminAccountFilter {
        origin,
        status,
        staff,
        roles: roles.into_iter().map(str::to_string).collect(),
        username: text(f.username, "username")?,
        display_name: text(f.display_name, "display_name")?,
        email: text(f.email, "email")?,
        domain: text(f.by_domain, "by_domain")?,
    })
}

async fn list(
    state: &AppState,
    uri: &axum::http::Uri,
    p: &Params,
    filter: AdminAccountFilter,
) -> ApiResult<impl IntoResponse + use<>> {
    let page = paging::page(p, DEFAULT_ADMIN_ACCOUNTS, MAX_ADMIN_ACCOUNTS)?;
    let rows = state.engine.admin_accounts(&filter, page).await?;
    let ids: Vec<_> = rows.iter().map(|r| r.account.id).collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(state.engine.admin_account_entity(r).await?);
    }
    Ok((link_header(state.base(), uri, &page, &ids), Json(out)))
}

/// `GET /api/v1/admin/accounts`.
pub async fn index_v1(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    reader(&state, &auth).await?;
    let filter = v1_filter(p.parse()?)?;
    list(&state, &uri, &p, filter).await
}

/// `GET /api/v2/admin/accounts`.
pub async fn index_v2(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    reader(&state, &auth).await?;
    let filter = v2_filter(p.parse()?)?;
    list(&state, &uri, &p, filter).await
}

async fn entity(state: &AppState, id: sluice_model::Id) -> ApiResult<Json<Value>> {
    let row = state.engine.admin_account(id).await?;
    Ok(Json(state.engine.admin_account_entity(&row).await?))
}

/// `GET /api/v1/admin/accounts/:id`.
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    reader(&state, &auth).await?;
    entity(&state, path_id(&id)?).await
}

/// `POST /api/v1/admin/accounts/:id/approve`.
pub async fn approve(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let staff = writer(&state, &auth).await?;
    let id = path_id(&id)?;
    state
        .engine
        .approve_account(Some(staff.account_id), id)
        .await?;
    entity(&state, id).await
}

/// `POST /api/v1/admin/accounts/:id/reject`: the pending user is deleted; the answer
/// is the account as it was.
pub async fn reject(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let staff = writer(&state, &auth).await?;
    let id = path_id(&id)?;
    let before = state.engine.admin_account(id).await?;
    let shown = state.engine.admin_account_entity(&before).await?;
    state
        .engine
        .reject_account(Some(staff.account_id), id)
        .await?;
    Ok(Json(shown))
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default, rename = "type", deserialize_with = "field::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    text: Option<String>,
    #[serde(default, deserialize_with = "field::id")]
    report_id: Option<sluice_model::Id>,
    #[serde(default, deserialize_with = "field::bool")]
    send_email_notification: Option<bool>,
}

/// `POST /api/v1/admin/accounts/:id/action`: `{}`.
pub async fn action(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let staff = writer(&state, &auth).await?;
    let id = path_id(&id)?;
    let f: ActionForm = p.parse()?;
    let action = match f.kind.as_deref() {
        None | Some("") => AccountAction::None,
        Some(k) => AccountAction::parse(k)
            .ok_or_else(|| ApiError::unprocessable(format!("Unknown type: {k}")))?,
    };
    state
        .engine
        .moderate_account(
            Some(staff.account_id),
            id,
            &ActionRequest {
                action,
                text: f.text.unwrap_or_default(),
                report_id: f.report_id,
                notify: f.send_email_notification.unwrap_or(true),
            },
        )
        .await?;
    Ok(Json(json!({})))
}

async fn lift(state: &AppState, auth: &Auth, id: &str, undo: Undo) -> ApiResult<Json<Value>> {
    let staff = writer(state, auth).await?;
    let id = path_id(id)?;
    state
        .engine
        .lift_account_action(Some(staff.account_id), id, undo)
        .await?;
    entity(state, id).await
}

/// One handler per lifting action, each answered with the account.
macro_rules! lifting {
    ($($(#[$doc:meta])* $name:ident => $undo:expr;)*) => {$(
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            auth: Auth,
            Path(id): Path<String>,
        ) -> ApiResult<Json<Value>> {
            lift(&state, &auth, &id, $undo).await
        }
    )*};
}

lifting! {
    /// `POST /api/v1/admin/accounts/:id/enable`.
    enable => Undo::Enable;
    /// `POST /api/v1/admin/accounts/:id/unsilence`.
    unsilence => Undo::Unsilence;
    /// `POST /api/v1/admin/accounts/:id/unsuspend`.
    unsuspend => Undo::Unsuspend;
    /// `POST /api/v1/admin/accounts/:id/unsensitive`.
    unsensitive => Undo::Unsensitive;
}

/// `DELETE /api/v1/admin/accounts/:id`: only a suspended account, and only with
/// `delete_user_data` (admins; Mastodon's moderators lack it).
pub async fn destroy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let staff = auth
        .staff(&state, WRITE, permission::DELETE_USER_DATA)
        .await?;
    let id = path_id(&id)?;
    let before = state.engine.admin_account(id).await?;
    let shown = state.engine.admin_account_entity(&before).await?;
    state
        .engine
        .delete_account_data(Some(staff.account_id), id)
        .await?;
    Ok(Json(shown))
}
