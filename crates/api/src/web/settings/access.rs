//! Who may act as this account: the apps it authorized (each revocable: every token of
//! the app for the account stops working at once), and its signed-in browsers (each
//! revocable; revoking this browser's session signs it out).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use minijinja::context;
use sluice_model::id::parse_id;

use super::{saved, saved_to, settings_page, when};
use crate::AppState;
use crate::params::Params;
use crate::web::session::clear_session_cookie;
use crate::web::{Visitor, WebError, WebResult};

/// `GET /settings/applications`: the apps with live tokens of this account. A web
/// session's stream token has no app and is not listed (its session is, under
/// Sessions).
pub(super) async fn applications(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/settings/applications")?;
    let apps = state.engine.authorized_apps(me.account_id).await?;
    let apps: Vec<_> = apps
        .iter()
        .map(|a| {
            context! {
                id => a.app_id.to_string(),
                name => &a.name,
                website => a.website.as_deref().filter(|w| w.starts_with("https://") || w.starts_with("http://")),
                scopes => a.scopes.join(" "),
                authorized_at => when(a.authorized_at),
                tokens => a.tokens,
            }
        })
        .collect();
    Ok(settings_page(
        &state,
        &visitor,
        "settings_applications.html",
        context! { title => visitor.t(&state, "settings-section-applications"), apps, saved => saved(&p) },
        StatusCode::OK,
    )
    .await)
}

/// `POST /settings/applications/{id}/revoke`.
pub(super) async fn revoke_application(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let me = visitor
        .posting(&state, "/settings/applications", &p)?
        .clone();
    let app = parse_id(&id).ok_or_else(WebError::not_found)?;
    if !state
        .engine
        .revoke_authorized_app(me.account_id, app)
        .await?
    {
        return Err(WebError::not_found());
    }
    Ok(saved_to("/settings/applications"))
}

/// `GET /settings/sessions`: the account's signed-in browsers, the most recently
/// used first.
pub(super) async fn sessions(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/settings/sessions")?;
    let rows = state.engine.web_sessions(me.account_id).await?;
    let sessions: Vec<_> = rows
        .iter()
        .map(|s| {
            context! {
                id => s.id.to_string(),
                user_agent => &s.user_agent,
                ip => &s.ip,
                created_at => when(s.created_at),
                last_seen_at => when(s.last_seen_at),
                current => s.id == me.id,
            }
        })
        .collect();
    Ok(settings_page(
        &state,
        &visitor,
        "settings_sessions.html",
        context! { title => visitor.t(&state, "settings-section-sessions"), sessions, saved => saved(&p) },
        StatusCode::OK,
    )
    .await)
}

/// `POST /settings/sessions/{id}/revoke`: ends a session (its browser is signed out
/// at its next request, its stream token revoked); this browser's own signs it out
/// now.
pub(super) async fn revoke_session(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/sessions", &p)?.clone();
    let session = parse_id(&id).ok_or_else(WebError::not_found)?;
    if !state.engine.end_web_session(me.account_id, session).await? {
        return Err(WebError::not_found());
    }
    if session == me.id {
        let mut r = crate::routes::see_other("/");
        clear_session_cookie(&state, &mut r);
        return Ok(r);
    }
    Ok(saved_to("/settings/sessions"))
}
