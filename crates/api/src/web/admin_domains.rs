//! Staff pages (issue 17): `/admin/domains` (domain blocks: list with the purge's
//! progress, add, edit, remove; `manage_federation`) and `/admin/rules` (the
//! instance's rules; `manage_rules`). Each page is shown only to staff whose role
//! allows it (a 403 page for anyone else); each change goes through the same engine
//! call as the admin API and is audited there.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;
use sluice_engine::federation_moderation::DomainBlockChange;
use sluice_engine::moderation::permission;

use super::admin::{Staff, admin_page};
use super::{Visitor, WebError, WebResult};
use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

/// The staff pages' templates, registered with the others (`Pages::env`).
pub(super) const TEMPLATES: [(&str, &str); 4] = [
    (
        "admin_domain_fields.html",
        include_str!("../../templates/admin_domain_fields.html"),
    ),
    (
        "admin_domains.html",
        include_str!("../../templates/admin_domains.html"),
    ),
    (
        "admin_domain.html",
        include_str!("../../templates/admin_domain.html"),
    ),
    (
        "admin_rules.html",
        include_str!("../../templates/admin_rules.html"),
    ),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/domains", get(domains).post(create_domain))
        .route("/admin/domains/{id}", get(domain).post(update_domain))
        .route("/admin/domains/{id}/delete", post(delete_domain))
        .route("/admin/rules", get(rules).post(add_rule))
        .route("/admin/rules/{id}/delete", post(delete_rule))
}

/// The signed-in staff member allowed `permission` (else a 403 page; not signed in:
/// to sign in, then back to `here`); for a form's POST, its CSRF token checked first.
async fn staff(
    state: &AppState,
    visitor: &Visitor,
    here: &str,
    permission: u64,
    post: Option<&Params>,
) -> Result<Staff, WebError> {
    if let Some(p) = post {
        visitor.posting(state, here, p)?;
    }
    super::admin::staff(state, visitor, here, permission).await
}

#[derive(Debug, Default, Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// `?saved=1`: the page was reached by a change that worked.
fn saved(p: &Params) -> bool {
    p.parse::<SavedQuery>().ok().and_then(|q| q.saved).is_some()
}

#[derive(Debug, Default, Deserialize)]
struct DomainForm {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    reject_media: Option<String>,
    #[serde(default)]
    reject_reports: Option<String>,
    #[serde(default)]
    obfuscate: Option<String>,
    #[serde(default)]
    private_comment: String,
    #[serde(default)]
    public_comment: String,
}

impl DomainForm {
    fn change(&self) -> DomainBlockChange {
        DomainBlockChange {
            domain: Some(self.domain.clone()),
            severity: Some(self.severity.clone()),
            reject_media: Some(self.reject_media.is_some()),
            reject_reports: Some(self.reject_reports.is_some()),
            obfuscate: Some(self.obfuscate.is_some()),
            private_comment: Some(self.private_comment.clone()),
            public_comment: Some(self.public_comment.clone()),
        }
    }
}

async fn domains_page(
    state: &AppState,
    visitor: &Visitor,
    me: &Staff,
    p: &Params,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult {
    let mut blocks = Vec::new();
    for b in state.engine.domain_blocks().await? {
        let progress = state.engine.purge_progress(&b).await?;
        blocks.push(context! {
            id => b.id.to_string(),
            domain => b.domain,
            severity => b.severity,
            reject_media => b.reject_media,
            reject_reports => b.reject_reports,
            public_comment => b.reason,
            private_comment => b.private_comment,
            purged => progress.purged,
            left => progress.left,
        });
    }
    Ok(admin_page(
        state,
        visitor,
        me,
        "admin_domains.html",
        context! {
            title => visitor.t(state, "admin-domains-title"),
            blocks,
            error,
            saved => saved(p),
        },
        status,
    )
    .await)
}

/// `GET /admin/domains`.
async fn domains(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = staff(
        &state,
        &visitor,
        "/admin/domains",
        permission::MANAGE_FEDERATION,
        None,
    )
    .await?;
    domains_page(&state, &visitor, &me, &p, None, StatusCode::OK).await
}

/// `POST /admin/domains`: blocks a domain.
async fn create_domain(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = staff(
        &state,
        &visitor,
        "/admin/domains",
        permission::MANAGE_FEDERATION,
        Some(&p),
    )
    .await?;
    let form: DomainForm = p.parse()?;
    match state
        .engine
        .create_domain_block(Some(me.id), form.change())
        .await
    {
        Ok(_) => Ok(crate::routes::see_other("/admin/domains?saved=1")),
        Err(e) => {
            let e = ApiError::from(e);
            if !e.status.is_client_error() {
                return Err(e.into());
            }
            domains_page(
                &state,
                &visitor,
                &me,
                &Params::default(),
                Some(e.message()),
                e.status,
            )
            .await
        }
    }
}

fn block_id(id: &str) -> Result<sluice_model::Id, WebError> {
    id.parse()
        .map_err(|_| WebError::Message(StatusCode::NOT_FOUND, "error-not-found"))
}

async fn domain_page(
    state: &AppState,
    visitor: &Visitor,
    me: &Staff,
    id: sluice_model::Id,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult {
    let b = state.engine.admin_domain_block(id).await?;
    let progress = state.engine.purge_progress(&b).await?;
    Ok(admin_page(
        state,
        visitor,
        me,
        "admin_domain.html",
        context! {
            title => b.domain.clone(),
            id => b.id.to_string(),
            domain => b.domain,
            severity => b.severity,
            reject_media => b.reject_media,
            reject_reports => b.reject_reports,
            obfuscate => b.obfuscate,
            public_comment => b.reason,
            private_comment => b.private_comment,
            purged => progress.purged,
            left => progress.left,
            error,
        },
        status,
    )
    .await)
}

/// `GET /admin/domains/:id`: the block's form.
async fn domain(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> WebResult {
    let here = format!("/admin/domains/{id}");
    let me = staff(&state, &visitor, &here, permission::MANAGE_FEDERATION, None).await?;
    domain_page(&state, &visitor, &me, block_id(&id)?, None, StatusCode::OK).await
}

/// `POST /admin/domains/:id`: changes the block.
async fn update_domain(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let here = format!("/admin/domains/{id}");
    let me = staff(
        &state,
        &visitor,
        &here,
        permission::MANAGE_FEDERATION,
        Some(&p),
    )
    .await?;
    let id = block_id(&id)?;
    let form: DomainForm = p.parse()?;
    match state
        .engine
        .update_domain_block(Some(me.id), id, form.change())
        .await
    {
        Ok(_) => Ok(crate::routes::see_other("/admin/domains?saved=1")),
        Err(e) => {
            let e = ApiError::from(e);
            if !e.status.is_client_error() || e.status == StatusCode::NOT_FOUND {
                return Err(e.into());
            }
            domain_page(&state, &visitor, &me, id, Some(e.message()), e.status).await
        }
    }
}

/// `POST /admin/domains/:id/delete`: lifts the block.
async fn delete_domain(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let me = staff(
        &state,
        &visitor,
        "/admin/domains",
        permission::MANAGE_FEDERATION,
        Some(&p),
    )
    .await?;
    state
        .engine
        .delete_domain_block(Some(me.id), block_id(&id)?)
        .await?;
    Ok(crate::routes::see_other("/admin/domains?saved=1"))
}

async fn rules_page(
    state: &AppState,
    visitor: &Visitor,
    me: &Staff,
    p: &Params,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult {
    let rules: Vec<minijinja::Value> = state
        .engine
        .instance_rules()
        .await?
        .into_iter()
        .map(|r| context! { id => r.id.to_string(), text => r.text, hint => r.hint })
        .collect();
    Ok(admin_page(
        state,
        visitor,
        me,
        "admin_rules.html",
        context! {
            title => visitor.t(state, "admin-rules-title"),
            rules,
            error,
            saved => saved(p),
        },
        status,
    )
    .await)
}

/// `GET /admin/rules`.
async fn rules(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = staff(
        &state,
        &visitor,
        "/admin/rules",
        permission::MANAGE_RULES,
        None,
    )
    .await?;
    rules_page(&state, &visitor, &me, &p, None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
struct RuleForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    hint: String,
}

/// `POST /admin/rules`: adds a rule at the end.
async fn add_rule(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = staff(
        &state,
        &visitor,
        "/admin/rules",
        permission::MANAGE_RULES,
        Some(&p),
    )
    .await?;
    let form: RuleForm = p.parse()?;
    match state
        .engine
        .add_rule(Some(me.id), &form.text, &form.hint)
        .await
    {
        Ok(_) => Ok(crate::routes::see_other("/admin/rules?saved=1")),
        Err(e) => {
            let e = ApiError::from(e);
            if !e.status.is_client_error() {
                return Err(e.into());
            }
            rules_page(
                &state,
                &visitor,
                &me,
                &Params::default(),
                Some(e.message()),
                e.status,
            )
            .await
        }
    }
}

/// `POST /admin/rules/:id/delete`.
async fn delete_rule(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let me = staff(
        &state,
        &visitor,
        "/admin/rules",
        permission::MANAGE_RULES,
        Some(&p),
    )
    .await?;
    state
        .engine
        .remove_rule(Some(me.id), block_id(&id)?)
        .await?;
    Ok(crate::routes::see_other("/admin/rules?saved=1"))
}
