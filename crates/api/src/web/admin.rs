//! The moderators' pages, under `/admin` (staff only: a signed-in user without the
//! page's permission gets a 403 page): the report queue and each report with the
//! reported posts in their threads, and the audit log. Every action is a form POST
//! that goes through the same engine call as the admin API and redirects back.
//!
//! `admin_base.html` is the shared layout of the admin pages, with their navigation
//! (reports, accounts, sign-ups, domains, the audit log).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;
use sluice_engine::moderation::{Role, permission};
use sluice_engine::rows::{Page, ReportFilter};
use sluice_model::Id;

use super::i18n::Arg;
use super::{Visitor, WebError, WebResult, page, val};
use crate::AppState;
use crate::form::field;
use crate::params::Params;

/// Reports on a page of the queue.
const PAGE_REPORTS: i64 = 20;
/// Entries on a page of the audit log.
const PAGE_AUDIT: i64 = 50;
/// Entries of a report's own history shown on its page.
const REPORT_HISTORY: i64 = 50;

/// The admin pages' templates, registered with the others (`Pages::env`).
pub(super) const TEMPLATES: [(&str, &str); 5] = [
    (
        "admin_base.html",
        include_str!("../../templates/admin_base.html"),
    ),
    (
        "admin_reports.html",
        include_str!("../../templates/admin_reports.html"),
    ),
    (
        "admin_report.html",
        include_str!("../../templates/admin_report.html"),
    ),
    (
        "admin_status.html",
        include_str!("../../templates/admin_status.html"),
    ),
    (
        "admin_audit.html",
        include_str!("../../templates/admin_audit.html"),
    ),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/reports", get(reports))
        .route("/admin/reports/{id}", get(report))
        .route("/admin/reports/{id}/{action}", post(act))
        .route("/admin/audit", get(audit))
}

/// The moderation navigation: `(path, message id, the permission its page needs)`.
/// A staff member sees the tabs their role opens.
const NAV: [(&str, &str, u64); 6] = [
    (
        "/admin/reports",
        "admin-reports",
        permission::MANAGE_REPORTS,
    ),
    (
        "/admin/accounts",
        "admin-accounts",
        permission::MANAGE_USERS,
    ),
    (
        "/admin/sign-ups",
        "admin-sign-ups",
        permission::MANAGE_USERS,
    ),
    (
        "/admin/domains",
        "admin-domains",
        permission::MANAGE_FEDERATION,
    ),
    ("/admin/rules", "admin-nav-rules", permission::MANAGE_RULES),
    ("/admin/audit", "admin-audit", permission::VIEW_AUDIT_LOG),
];

/// A signed-in staff member, on a page their role allows.
pub(super) struct Staff {
    pub(super) id: Id,
    role: Role,
}

/// The signed-in visitor, when their role allows `permission`: else a redirect to sign
/// in (coming back to `path`), or the 403 page (the same words on every admin page).
pub(super) async fn staff(
    state: &AppState,
    visitor: &Visitor,
    path: &str,
    permission: u64,
) -> Result<Staff, WebError> {
    let id = visitor.signed_in(path)?.account_id;
    let role = state.engine.role_of(id).await?;
    if !role.allows(permission) {
        return Err(WebError::Message(StatusCode::FORBIDDEN, "admin-forbidden"));
    }
    Ok(Staff { id, role })
}

/// An admin page: `name` with `ctx` (which has its `title`) in the admin layout, with
/// the moderation navigation of `staff`'s role, the current tab marked.
pub(super) async fn admin_page(
    state: &AppState,
    visitor: &Visitor,
    staff: &Staff,
    name: &str,
    ctx: minijinja::Value,
    status: StatusCode,
) -> Response {
    let path = visitor.here.split('?').next().unwrap_or_default();
    let admin_nav: Vec<_> = NAV
        .iter()
        .filter(|&&(_, _, needs)| staff.role.allows(needs))
        .map(|&(href, id, _)| {
            let current = path == href || path.starts_with(&format!("{href}/"));
            context! { href, title => visitor.t(state, id), current }
        })
        .collect();
    let mut r = page(state, visitor, name, context! { admin_nav, ..ctx }).await;
    *r.status_mut() = status;
    r
}

/// `GET /admin`: the report queue is the moderators' first page.
async fn index(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    staff(&state, &visitor, "/admin", permission::MANAGE_REPORTS).await?;
    Ok(crate::routes::see_other("/admin/reports"))
}

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    #[serde(default, deserialize_with = "field::bool")]
    resolved: Option<bool>,
    #[serde(default, deserialize_with = "field::id")]
    max_id: Option<Id>,
}

/// `GET /admin/reports`: the open reports, newest first (`?resolved=1`: the
/// resolved ones).
async fn reports(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = staff(
        &state,
        &visitor,
        "/admin/reports",
        permission::MANAGE_REPORTS,
    )
    .await?;
    let q: QueueQuery = p.parse().unwrap_or_default();
    let resolved = q.resolved.unwrap_or(false);
    let page_asked = Page {
        max_id: q.max_id,
        limit: PAGE_REPORTS,
        ..Default::default()
    };
    let (reports, ids) = state
        .engine
        .admin_reports(
            ReportFilter {
                resolved: Some(resolved),
                ..Default::default()
            },
            page_asked,
        )
        .await?;
    let next = (ids.len() as i64 >= PAGE_REPORTS)
        .then(|| ids.last())
        .flatten()
        .map(|last| {
            format!(
                "/admin/reports?{}max_id={last}",
                if resolved { "resolved=1&" } else { "" }
            )
        });
    Ok(admin_page(
        &state,
        &visitor,
        &me,
        "admin_reports.html",
        context! {
            title => visitor.t(&state, "admin-reports"),
            reports => val(&reports),
            resolved,
            next,
        },
        StatusCode::OK,
    )
    .await)
}

/// `GET /admin/reports/{id}`: one report, its reported posts in their threads, its
/// history, and the moderators' buttons.
async fn report(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let path = format!("/admin/reports/{id}");
    let me = staff(&state, &visitor, &path, permission::MANAGE_REPORTS).await?;
    let id = sluice_model::id::parse_id(&id).ok_or_else(WebError::not_found)?;
    let row = state.engine.report_row(id).await?;
    let entity = state
        .engine
        .admin_report_entities(std::slice::from_ref(&row))
        .await?
        .pop();
    let posts = state.engine.reported_posts(&row).await?;
    let history = audit_entries(
        &state,
        state
            .engine
            .audit_log(None, Some(("report", &id.to_string())), REPORT_HISTORY)
            .await?,
    )
    .await?;
    let saved = p.parse::<SavedQuery>().ok().and_then(|q| q.saved).is_some();
    Ok(admin_page(
        &state,
        &visitor,
        &me,
        "admin_report.html",
        context! {
            title => visitor.tf(&state, "admin-report-title", &[("id", Arg::Str(&id.to_string()))]),
            r => entity.as_ref().map(val),
            posts => val(&posts),
            history => val(&history),
            saved,
        },
        StatusCode::OK,
    )
    .await)
}

#[derive(Debug, Default, Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ActForm {
    #[serde(default)]
    note: String,
}

/// `POST /admin/reports/{id}/{assign,unassign,resolve,reopen}`.
async fn act(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, action)): Path<(String, String)>,
    p: Params,
) -> WebResult {
    let path = format!("/admin/reports/{id}");
    visitor.posting(&state, &path, &p)?;
    let me = staff(&state, &visitor, &path, permission::MANAGE_REPORTS)
        .await?
        .id;
    let id = sluice_model::id::parse_id(&id).ok_or_else(WebError::not_found)?;
    let form: ActForm = p.parse()?;
    let engine = &state.engine;
    match action.as_str() {
        "assign" => engine.assign_report(me, id, true).await?,
        "unassign" => engine.assign_report(me, id, false).await?,
        "resolve" => {
            let note = form.note.trim();
            if note.chars().count() > sluice_engine::reports::MAX_COMMENT_CHARS {
                return Err(WebError::Message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "admin-note-too-long",
                ));
            }
            engine.resolve_report(Some(me), id, note).await?
        }
        "reopen" => engine.reopen_report(Some(me), id).await?,
        _ => return Err(WebError::not_found()),
    };
    Ok(crate::routes::see_other(&format!("{path}?saved=1")))
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    #[serde(default, deserialize_with = "field::id")]
    max_id: Option<Id>,
}

/// One audit log entry as the pages show it.
#[derive(Debug, serde::Serialize)]
struct AuditEntry {
    id: String,
    /// Who: `@name`, or None for the command line.
    by: Option<String>,
    action: String,
    target_type: String,
    target_id: String,
    target_label: String,
    text: String,
    when: String,
}

async fn audit_entries(
    state: &AppState,
    rows: Vec<sluice_engine::rows::AdminActionRow>,
) -> Result<Vec<AuditEntry>, WebError> {
    let mut ids: Vec<Id> = rows.iter().filter_map(|r| r.account_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<Id, String> = state
        .engine
        .cached_accounts(&ids)
        .await?
        .iter()
        .map(|a| (a.id, a.acct()))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id.to_string(),
            by: r
                .account_id
                .map(|a| names.get(&a).cloned().unwrap_or_else(|| a.to_string())),
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            target_label: r.target_label,
            text: r.text,
            when: when(r.created_at),
        })
        .collect())
}

/// `GET /admin/audit`: the audit log, newest first, paged.
async fn audit(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = staff(&state, &visitor, "/admin/audit", permission::VIEW_AUDIT_LOG).await?;
    let q: AuditQuery = p.parse().unwrap_or_default();
    let rows = state.engine.audit_log(q.max_id, None, PAGE_AUDIT).await?;
    let next = (rows.len() as i64 >= PAGE_AUDIT)
        .then(|| rows.last().map(|r| format!("/admin/audit?max_id={}", r.id)))
        .flatten();
    let entries = audit_entries(&state, rows).await?;
    Ok(admin_page(
        &state,
        &visitor,
        &me,
        "admin_audit.html",
        context! {
            title => visitor.t(&state, "admin-audit"),
            entries => val(&entries),
            next,
        },
        StatusCode::OK,
    )
    .await)
}

/// A time (ms) as pages show it: `2026-12-07 09:31 UTC`.
fn when(ms: i64) -> String {
    let t = sluice_model::Timestamp(ms).to_rfc3339();
    format!("{} UTC", t.get(..16).unwrap_or(&t).replace('T', " "))
}
