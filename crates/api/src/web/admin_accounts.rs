//! Moderation pages (issue 17), for staff only (others get the 403 page): the accounts
//! (`/admin/accounts`: search and filters, paged), one account (`/admin/accounts/:id`:
//! its profile, role, state, recent posts, its audit history, the action form with a
//! warning, the lifting buttons), and the sign-ups waiting for approval
//! (`/admin/sign-ups`: their reasons, approve and reject). Every form goes through the
//! engine call the admin API makes, so it is checked and audited the same way.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;
use sluice_engine::admin_accounts::{AccountAction, ActionRequest, Undo};
use sluice_engine::moderation::permission;
use sluice_engine::rows::{AccountStatus, AdminAccountFilter, AdminAccountRow, Origin, Page};
use sluice_model::Id;

use super::admin::{Staff, admin_page};
use super::{Visitor, WebError, WebResult};
use crate::AppState;
use crate::error::ApiError;
use crate::form::field;
use crate::params::Params;

/// Accounts on a page of the list.
const PAGE_ACCOUNTS: i64 = 50;
/// Recent posts and history entries shown on an account's page.
const RECENT: i64 = 20;

pub(super) const TEMPLATES: [(&str, &str); 3] = [
    (
        "admin_accounts.html",
        include_str!("../../templates/admin_accounts.html"),
    ),
    (
        "admin_account.html",
        include_str!("../../templates/admin_account.html"),
    ),
    (
        "admin_sign_ups.html",
        include_str!("../../templates/admin_sign_ups.html"),
    ),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/accounts", get(accounts))
        .route("/admin/accounts/{id}", get(account))
        .route("/admin/accounts/{id}/action", post(action))
        .route("/admin/accounts/{id}/{what}", post(lift))
        .route("/admin/sign-ups", get(sign_ups))
}

/// The signed-in staff member who may manage users; 403 for anyone else.
async fn staff(state: &AppState, visitor: &Visitor, here: &str) -> Result<Staff, WebError> {
    super::admin::staff(state, visitor, here, permission::MANAGE_USERS).await
}

/// The account's state in words.
fn state_of(state: &AppState, visitor: &Visitor, r: &AdminAccountRow) -> String {
    let a = &r.account;
    let mut out = Vec::new();
    for (on, id) in [
        (r.user_approved == Some(false), "admin-status-pending"),
        (r.user_disabled == Some(true), "admin-status-disabled"),
        (a.suspended_at.is_some(), "admin-status-suspended"),
        (a.silenced_at.is_some(), "admin-status-silenced"),
        (a.sensitized_at.is_some(), "admin-status-sensitized"),
    ] {
        if on {
            out.push(visitor.t(state, id));
        }
    }
    if out.is_empty() {
        out.push(visitor.t(state, "admin-status-active"));
    }
    out.join(", ")
}

fn row_ctx(state: &AppState, visitor: &Visitor, r: &AdminAccountRow) -> minijinja::Value {
    let a = &r.account;
    context! {
        id => a.id.to_string(),
        acct => a.acct(),
        display_name => &a.display_name,
        url => &a.url,
        email => r.user_email.clone().unwrap_or_default(),
        role => r.user_role.clone().filter(|r| r != "user"),
        reason => r.user_reason.clone().filter(|s| !s.is_empty()),
        state => state_of(state, visitor, r),
        suspended => a.suspended_at.is_some(),
        statuses_count => a.statuses_count,
        created_at => sluice_model::Timestamp(a.created_at).to_rfc3339(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "field::string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    origin: Option<String>,
    #[serde(default, deserialize_with = "field::id")]
    max_id: Option<Id>,
}

const STATUSES: [(&str, &str, Option<AccountStatus>); 7] = [
    ("", "admin-status-any", None),
    ("active", "admin-status-active", Some(AccountStatus::Active)),
    (
        "pending",
        "admin-status-pending",
        Some(AccountStatus::Pending),
    ),
    (
        "disabled",
        "admin-status-disabled",
        Some(AccountStatus::Disabled),
    ),
    (
        "silenced",
        "admin-status-silenced",
        Some(AccountStatus::Silenced),
    ),
    (
        "suspended",
        "admin-status-suspended",
        Some(AccountStatus::Suspended),
    ),
    (
        "sensitized",
        "admin-status-sensitized",
        Some(AccountStatus::Sensitized),
    ),
];

const ORIGINS: [(&str, &str, Option<Origin>); 3] = [
    ("", "admin-origin-any", None),
    ("local", "admin-origin-local", Some(Origin::Local)),
    ("remote", "admin-origin-remote", Some(Origin::Remote)),
];

/// `GET /admin/accounts`.
async fn accounts(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = staff(&state, &visitor, "/admin/accounts").await?;
    let q: ListQuery = p.parse()?;
    let username = q
        .username
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(100).collect::<String>());
    let status = q.status.unwrap_or_default();
    let origin = q.origin.unwrap_or_default();
    let filter = AdminAccountFilter {
        origin: ORIGINS.iter().find(|o| o.0 == origin).and_then(|o| o.2),
        status: STATUSES
            .iter()
            .find(|s| s.0 == status)
            .and_then(|s| s.2)
            .into_iter()
            .collect(),
        username: username.clone(),
        ..Default::default()
    };
    let rows = state
        .engine
        .admin_accounts(
            &filter,
            Page {
                max_id: q.max_id,
                limit: PAGE_ACCOUNTS,
                ..Default::default()
            },
        )
        .await?;
    let next = (rows.len() as i64 >= PAGE_ACCOUNTS)
        .then(|| rows.last().map(|r| r.account.id))
        .flatten()
        .map(|id| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            s.append_pair("username", username.as_deref().unwrap_or(""));
            s.append_pair("status", &status);
            s.append_pair("origin", &origin);
            s.append_pair("max_id", &id.to_string());
            format!("/admin/accounts?{}", s.finish())
        });
    let accounts: Vec<_> = rows.iter().map(|r| row_ctx(&state, &visitor, r)).collect();
    let statuses: Vec<_> = STATUSES
        .iter()
        .map(|s| context! { value => s.0, label => visitor.t(&state, s.1), selected => s.0 == status })
        .collect();
    let origins: Vec<_> = ORIGINS
        .iter()
        .map(|o| context! { value => o.0, label => visitor.t(&state, o.1), selected => o.0 == origin })
        .collect();
    Ok(admin_page(
        &state,
        &visitor,
        &me,
        "admin_accounts.html",
        context! {
            title => visitor.t(&state, "admin-nav-accounts"),
            accounts, statuses, origins, username => username.unwrap_or_default(), next,
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

async fn account_page(
    state: &AppState,
    visitor: &Visitor,
    me: &Staff,
    id: Id,
    saved: bool,
    error: Option<(StatusCode, String)>,
) -> WebResult {
    let row = state.engine.admin_account(id).await?;
    let a = &row.account;
    let mut actions = Vec::new();
    for (value, label, shown) in [
        ("none", "admin-action-none", true),
        (
            "disable",
            "admin-action-disable",
            a.is_local() && row.user_disabled != Some(true),
        ),
        (
            "sensitive",
            "admin-action-sensitive",
            a.sensitized_at.is_none(),
        ),
        ("silence", "admin-action-silence", a.silenced_at.is_none()),
        ("suspend", "admin-action-suspend", a.suspended_at.is_none()),
    ] {
        if shown {
            actions.push(context! { value, label => visitor.t(state, label) });
        }
    }
    let mut lifts = Vec::new();
    for (value, label, shown) in [
        (
            "enable",
            "admin-lift-enable",
            row.user_disabled == Some(true),
        ),
        (
            "unsensitive",
            "admin-lift-unsensitive",
            a.sensitized_at.is_some(),
        ),
        ("unsilence", "admin-lift-unsilence", a.silenced_at.is_some()),
        (
            "unsuspend",
            "admin-lift-unsuspend",
            a.suspended_at.is_some() && a.suspension_origin.as_deref() != Some("deleted"),
        ),
    ] {
        if shown {
            lifts.push(context! { value, label => visitor.t(state, label) });
        }
    }
    let posts: Vec<_> = state
        .engine
        .admin_recent_posts(id, RECENT)
        .await?
        .into_iter()
        .map(|(at, visibility, text)| {
            context! {
                created_at => sluice_model::Timestamp(at).to_rfc3339(),
                visibility,
                text => text.chars().take(500).collect::<String>(),
            }
        })
        .collect();
    let log = state
        .engine
        .audit_log(None, Some(("account", &id.to_string())), RECENT)
        .await?;
    let mut history = Vec::new();
    for e in log {
        let who = match e.account_id {
            Some(by) => state
                .engine
                .account_any(by)
                .await?
                .map_or_else(|| format!("#{by}"), |a| format!("@{}", a.acct())),
            None => visitor.t(state, "admin-command-line"),
        };
        let t = sluice_model::Timestamp(e.created_at).to_rfc3339();
        history.push(context! {
            when => format!("{} UTC", t.get(..16).unwrap_or(&t).replace('T', " ")),
            who,
            action => e.action,
            text => e.text,
        });
    }
    let (status, error) = match error {
        Some((s, m)) => (s, Some(m)),
        None => (StatusCode::OK, None),
    };
    Ok(admin_page(
        state,
        visitor,
        me,
        "admin_account.html",
        context! {
            title => format!("@{}", row.account.acct()),
            account => row_ctx(state, visitor, &row),
            actions, lifts, posts, history, saved, error,
        },
        status,
    )
    .await)
}

fn account_id(s: &str) -> Result<Id, WebError> {
    s.parse::<Id>()
        .map_err(|_| WebError::from(ApiError::not_found()))
}

/// `GET /admin/accounts/:id`.
async fn account(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let id = account_id(&id)?;
    let me = staff(&state, &visitor, &format!("/admin/accounts/{id}")).await?;
    let saved = p.parse::<SavedQuery>().ok().and_then(|q| q.saved).is_some();
    account_page(&state, &visitor, &me, id, saved, None).await
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default, rename = "type", deserialize_with = "field::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    text: Option<String>,
}

/// A refusal to show on the page (4xx), or an error page.
fn refusal(e: sluice_engine::EngineError) -> Result<(StatusCode, String), WebError> {
    let e: ApiError = e.into();
    if e.status.is_client_error() {
        Ok((e.status, e.message().to_string()))
    } else {
        Err(e.into())
    }
}

/// `POST /admin/accounts/:id/action`.
async fn action(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let id = account_id(&id)?;
    let here = format!("/admin/accounts/{id}");
    visitor.posting(&state, &here, &p)?;
    let me = staff(&state, &visitor, &here).await?;
    let f: ActionForm = p.parse()?;
    let kind = f.kind.unwrap_or_else(|| "none".into());
    let Some(action) = AccountAction::parse(&kind) else {
        return account_page(
            &state,
            &visitor,
            &me,
            id,
            false,
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Unknown action: {kind}"),
            )),
        )
        .await;
    };
    let done = state
        .engine
        .moderate_account(
            Some(me.id),
            id,
            &ActionRequest {
                action,
                text: f.text.unwrap_or_default().trim().to_string(),
                report_id: None,
                notify: true,
            },
        )
        .await;
    match done {
        Ok(()) => Ok(crate::routes::see_other(&format!("{here}?saved=1"))),
        Err(e) => account_page(&state, &visitor, &me, id, false, Some(refusal(e)?)).await,
    }
}

/// `POST /admin/accounts/:id/{approve,reject,enable,unsilence,unsuspend,unsensitive}`.
async fn lift(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, what)): Path<(String, String)>,
    p: Params,
) -> WebResult {
    let id = account_id(&id)?;
    let here = format!("/admin/accounts/{id}");
    visitor.posting(&state, &here, &p)?;
    let me = staff(&state, &visitor, &here).await?;
    let e = &state.engine;
    let (done, back) = match what.as_str() {
        "approve" => (e.approve_account(Some(me.id), id).await, "/admin/sign-ups"),
        "reject" => (e.reject_account(Some(me.id), id).await, "/admin/sign-ups"),
        other => {
            let undo = match other {
                "enable" => Undo::Enable,
                "unsilence" => Undo::Unsilence,
                "unsuspend" => Undo::Unsuspend,
                "unsensitive" => Undo::Unsensitive,
                _ => return Err(ApiError::not_found().into()),
            };
            (e.lift_account_action(Some(me.id), id, undo).await, "")
        }
    };
    match done {
        Ok(()) if back.is_empty() => Ok(crate::routes::see_other(&format!("{here}?saved=1"))),
        Ok(()) => Ok(crate::routes::see_other(&format!("{back}?saved=1"))),
        Err(err) => account_page(&state, &visitor, &me, id, false, Some(refusal(err)?)).await,
    }
}

/// `GET /admin/sign-ups`: local users waiting for approval, oldest last.
async fn sign_ups(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = staff(&state, &visitor, "/admin/sign-ups").await?;
    let q: ListQuery = p.parse()?;
    let filter = AdminAccountFilter {
        origin: Some(Origin::Local),
        status: vec![AccountStatus::Pending],
        ..Default::default()
    };
    let rows = state
        .engine
        .admin_accounts(
            &filter,
            Page {
                max_id: q.max_id,
                limit: PAGE_ACCOUNTS,
                ..Default::default()
            },
        )
        .await?;
    let next = (rows.len() as i64 >= PAGE_ACCOUNTS)
        .then(|| {
            rows.last()
                .map(|r| format!("/admin/sign-ups?max_id={}", r.account.id))
        })
        .flatten();
    let accounts: Vec<_> = rows.iter().map(|r| row_ctx(&state, &visitor, r)).collect();
    let saved = p.parse::<SavedQuery>().ok().and_then(|q| q.saved).is_some();
    Ok(admin_page(
        &state,
        &visitor,
        &me,
        "admin_sign_ups.html",
        context! { title => visitor.t(&state, "admin-nav-sign-ups"), accounts, next, saved },
        StatusCode::OK,
    )
    .await)
}
