//! Blocked and muted accounts (undone with the profile's own forms,
//! `POST /accounts/{id}/unblock` and `/unmute`, which come back here), and blocked
//! domains (the API's `/api/v1/domain_blocks` calls).

use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use sluice_engine::rows::{Page, Relation, Side};
use sluice_model::Id;

use super::{refusal, saved, saved_to, settings_page};
use crate::AppState;
use crate::form::field;
use crate::params::Params;
use crate::web::{Visitor, WebResult, val};

/// Accounts on a page of blocked or muted accounts.
const PAGE_ACCOUNTS: i64 = 40;
/// Domains on a page of blocked domains.
const PAGE_DOMAINS: i64 = 100;

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default, deserialize_with = "field::id")]
    max_id: Option<Id>,
}

fn page_of(p: &Params, limit: i64) -> Page {
    Page {
        max_id: p.parse::<PageQuery>().unwrap_or_default().max_id,
        limit,
        ..Default::default()
    }
}

/// The link to the next page, when this one is full.
fn next(path: &str, cursors: &[Id], limit: i64) -> Option<String> {
    (cursors.len() as i64 >= limit)
        .then(|| cursors.last().map(|id| format!("{path}?max_id={id}")))
        .flatten()
}

async fn accounts(
    state: &AppState,
    visitor: &Visitor,
    p: &Params,
    relation: Relation,
) -> WebResult {
    let (path, title, undo, button) = match relation {
        Relation::Mute => (
            "/settings/mutes",
            "settings-section-mutes",
            "unmute",
            "settings-unmute",
        ),
        _ => (
            "/settings/blocks",
            "settings-section-blocks",
            "unblock",
            "settings-unblock",
        ),
    };
    let (title, button) = (visitor.t(state, title), visitor.t(state, button));
    let me = visitor.signed_in(path)?;
    let page = page_of(p, PAGE_ACCOUNTS);
    // Muted accounts come with when their mute ends (`mute_expires_at`).
    let (accounts, cursors) = if relation == Relation::Mute {
        let (accounts, cursors) = state.engine.muted_accounts(me.account_id, page).await?;
        (val(&accounts), cursors)
    } else {
        let out = state
            .engine
            .relation_accounts(relation, Side::Targets, me.account_id, page)
            .await?;
        (val(&out.accounts), out.cursors)
    };
    Ok(settings_page(
        state,
        visitor,
        "settings_accounts.html",
        context! {
            title,
            undo,
            button,
            accounts,
            next => next(path, &cursors, PAGE_ACCOUNTS),
        },
        StatusCode::OK,
    )
    .await)
}

/// `GET /settings/blocks`.
pub(super) async fn blocks(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    accounts(&state, &visitor, &p, Relation::Block).await
}

/// `GET /settings/mutes`.
pub(super) async fn mutes(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    accounts(&state, &visitor, &p, Relation::Mute).await
}

async fn domains_page(
    state: &AppState,
    visitor: &Visitor,
    p: &Params,
    domain: &str,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult {
    let me = visitor.signed_in("/settings/domain_blocks")?;
    let (domains, cursors) = state
        .engine
        .blocked_domains(me.account_id, page_of(p, PAGE_DOMAINS))
        .await?;
    Ok(settings_page(
        state,
        visitor,
        "settings_domain_blocks.html",
        context! {
            title => visitor.t(state, "settings-section-domain-blocks"),
            domains,
            domain,
            error,
            saved => saved(p),
            next => next("/settings/domain_blocks", &cursors, PAGE_DOMAINS),
        },
        status,
    )
    .await)
}

/// `GET /settings/domain_blocks`.
pub(super) async fn domain_blocks(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    domains_page(&state, &visitor, &p, "", None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
struct DomainForm {
    #[serde(default)]
    domain: String,
}

/// `POST /settings/domain_blocks`: blocks a domain (hides its posts and
/// notifications, and removes its followers of this account, as the API does).
pub(super) async fn block_domain(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor
        .posting(&state, "/settings/domain_blocks", &p)?
        .clone();
    let form: DomainForm = p.parse()?;
    let domain = form.domain.trim();
    let blocked = if domain.is_empty() {
        Err(Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            visitor.t(&state, "settings-domains-enter"),
        )))
    } else {
        state
            .engine
            .block_domain(me.account_id, domain)
            .await
            .map_err(refusal)
    };
    match blocked {
        Ok(()) => Ok(saved_to("/settings/domain_blocks")),
        Err(refused) => {
            let (status, message) = refused?;
            domains_page(
                &state,
                &visitor,
                &Params::default(),
                domain,
                Some(&message),
                status,
            )
            .await
        }
    }
}

/// `POST /settings/domain_blocks/remove`: unblocks a domain.
pub(super) async fn unblock_domain(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor
        .posting(&state, "/settings/domain_blocks", &p)?
        .clone();
    let form: DomainForm = p.parse()?;
    state
        .engine
        .unblock_domain(me.account_id, &form.domain)
        .await?;
    Ok(saved_to("/settings/domain_blocks"))
}
