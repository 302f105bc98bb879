//! Settings: what a signed-in person changes about their account, each a page with
//! forms that post back to it and redirect to it (`?saved=1` shows that it worked).
//!
//! - [`profile`]: the profile (name, bio, fields, avatar and header, locked, bot,
//!   discoverable), posting preferences, the password;
//! - [`filters`]: keyword filters (Mastodon's v2 filters);
//! - [`relations`]: blocked and muted accounts, blocked domains;
//! - [`access`]: the apps the person authorized, and their signed-in browsers;
//! - [`two_factor`]: two-factor sign-in (TOTP and recovery codes);
//! - [`portability`]: aliases, moving the account, exports.
//!
//! Each change goes through the same engine call as the Mastodon API's endpoint for
//! it; a refused change shows the form again, with what was typed and why, under a 4xx
//! status, and writes nothing.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;

use super::{Visitor, WebError, WebResult, page};
use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

mod access;
mod filters;
mod portability;
mod profile;
mod relations;
mod two_factor;

/// The settings pages, as `(path, title's message id)`, in the order the index and
/// the settings navigation list them.
const SECTIONS: [(&str, &str); 15] = [
    ("/settings/profile", "settings-section-profile"),
    ("/settings/preferences", "settings-section-preferences"),
    ("/settings/password", "settings-section-password"),
    ("/settings/two_factor", "settings-section-two-factor"),
    ("/settings/filters", "settings-section-filters"),
    ("/settings/blocks", "settings-section-blocks"),
    ("/settings/mutes", "settings-section-mutes"),
    ("/settings/domain_blocks", "settings-section-domain-blocks"),
    ("/settings/applications", "settings-section-applications"),
    ("/settings/sessions", "settings-section-sessions"),
    ("/settings/aliases", "settings-section-aliases"),
    ("/settings/migration", "settings-section-migration"),
    ("/settings/export", "settings-section-export"),
    ("/settings/import", "settings-section-import"),
    ("/settings/delete", "settings-section-delete"),
];

/// The settings pages' templates, registered with the others (`Pages::env`).
pub(super) const TEMPLATES: [(&str, &str); 17] = [
    (
        "settings_base.html",
        include_str!("../../../templates/settings_base.html"),
    ),
    (
        "settings.html",
        include_str!("../../../templates/settings.html"),
    ),
    (
        "settings_profile.html",
        include_str!("../../../templates/settings_profile.html"),
    ),
    (
        "settings_preferences.html",
        include_str!("../../../templates/settings_preferences.html"),
    ),
    (
        "settings_password.html",
        include_str!("../../../templates/settings_password.html"),
    ),
    (
        "settings_filters.html",
        include_str!("../../../templates/settings_filters.html"),
    ),
    (
        "settings_filter.html",
        include_str!("../../../templates/settings_filter.html"),
    ),
    (
        "settings_accounts.html",
        include_str!("../../../templates/settings_accounts.html"),
    ),
    (
        "settings_domain_blocks.html",
        include_str!("../../../templates/settings_domain_blocks.html"),
    ),
    (
        "settings_applications.html",
        include_str!("../../../templates/settings_applications.html"),
    ),
    (
        "settings_sessions.html",
        include_str!("../../../templates/settings_sessions.html"),
    ),
    (
        "settings_two_factor.html",
        include_str!("../../../templates/settings_two_factor.html"),
    ),
    (
        "settings_aliases.html",
        include_str!("../../../templates/settings_aliases.html"),
    ),
    (
        "settings_migration.html",
        include_str!("../../../templates/settings_migration.html"),
    ),
    (
        "settings_export.html",
        include_str!("../../../templates/settings_export.html"),
    ),
    (
        "settings_import.html",
        include_str!("../../../templates/settings_import.html"),
    ),
    (
        "settings_delete.html",
        include_str!("../../../templates/settings_delete.html"),
    ),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(index))
        .route("/settings/profile", get(profile::show).post(profile::save))
        .route(
            "/settings/preferences",
            get(profile::preferences).post(profile::save_preferences),
        )
        .route(
            "/settings/password",
            get(profile::password).post(profile::change_password),
        )
        .route(
            "/settings/two_factor",
            get(two_factor::show).post(two_factor::start),
        )
        .route("/settings/two_factor/confirm", post(two_factor::confirm))
        .route("/settings/two_factor/disable", post(two_factor::disable))
        .route(
            "/settings/two_factor/recovery_codes",
            post(two_factor::regenerate),
        )
        .route(
            "/settings/filters",
            get(filters::index).post(filters::create),
        )
        .route("/settings/filters/new", get(filters::new))
        .route(
            "/settings/filters/{id}",
            get(filters::edit).post(filters::update),
        )
        .route("/settings/filters/{id}/delete", post(filters::delete))
        .route("/settings/blocks", get(relations::blocks))
        .route("/settings/mutes", get(relations::mutes))
        .route(
            "/settings/domain_blocks",
            get(relations::domain_blocks).post(relations::block_domain),
        )
        .route(
            "/settings/domain_blocks/remove",
            post(relations::unblock_domain),
        )
        .route("/settings/applications", get(access::applications))
        .route(
            "/settings/applications/{id}/revoke",
            post(access::revoke_application),
        )
        .route(
            "/settings/aliases",
            get(portability::aliases).post(portability::add_alias),
        )
        .route("/settings/aliases/remove", post(portability::remove_alias))
        .route(
            "/settings/migration",
            get(portability::migration).post(portability::start_migration),
        )
        .route("/settings/export", get(portability::export))
        .route("/settings/export/{file}", get(portability::export_file))
        .route(
            "/settings/export/archive",
            post(portability::request_archive),
        )
        .route(
            "/settings/export/archives/{id}",
            get(portability::download_archive),
        )
        .route(
            "/settings/import",
            get(portability::import).post(portability::start_import),
        )
        .route(
            "/settings/delete",
            get(portability::delete).post(portability::delete_account),
        )
        .route("/settings/sessions", get(access::sessions))
        .route(
            "/settings/sessions/{id}/revoke",
            post(access::revoke_session),
        )
}

/// `GET /settings`: the list of settings pages, and for staff the way to the
/// moderation pages (`/admin`).
async fn index(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    let me = visitor.signed_in("/settings")?.account_id;
    let staff = state.engine.role_of(me).await?.is_staff();
    Ok(settings_page(
        &state,
        &visitor,
        "settings.html",
        context! { staff },
        StatusCode::OK,
    )
    .await)
}

/// A settings page: `name` with `ctx`, the settings navigation, and `status`.
async fn settings_page(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    ctx: minijinja::Value,
    status: StatusCode,
) -> Response {
    let path = visitor.here.split('?').next().unwrap_or_default();
    let sections: Vec<_> = SECTIONS
        .iter()
        .map(|&(href, id)| {
            let current = path == href || path.starts_with(&format!("{href}/"));
            context! { href, title => visitor.t(state, id), current }
        })
        .collect();
    let mut r = page(state, visitor, name, context! { sections, ..ctx }).await;
    *r.status_mut() = status;
    r
}

/// A refusal to show on the form that was sent (its status and message), when it is
/// the sender's to fix (4xx); anything else is an error page.
fn refusal(e: impl Into<ApiError>) -> Result<(StatusCode, String), WebError> {
    let e: ApiError = e.into();
    if e.status.is_client_error() {
        Ok((e.status, e.message().to_string()))
    } else {
        Err(e.into())
    }
}

/// `?saved=1`: the page was reached by a change that worked.
#[derive(Debug, Default, Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

fn saved(p: &Params) -> bool {
    p.parse::<SavedQuery>().ok().and_then(|q| q.saved).is_some()
}

/// Where a form goes after a change that worked.
fn saved_to(path: &str) -> Response {
    crate::routes::see_other(&format!("{path}?saved=1"))
}

/// A time (ms) as pages show it: `2026-12-07 09:31 UTC`.
fn when(ms: i64) -> String {
    let t = sluice_model::Timestamp(ms).to_rfc3339();
    format!("{} UTC", t.get(..16).unwrap_or(&t).replace('T', " "))
}
