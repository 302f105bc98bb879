//! Reaching across servers from a page: `/authorize_interaction?uri=` (named in our
//! WebFinger's subscribe template: another server's "follow" or "reply" sends its
//! people here) finds a remote post or account and opens its page here, where
//! following, replying, favouriting and boosting are the usual buttons; and "follow
//! from your server" on our profiles sends a visitor to their own server's follow page.

use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use serde::Deserialize;

use super::{Visitor, WebError, WebResult, page};
use crate::AppState;
use crate::params::Params;
use crate::ratelimit::Bucket;
use crate::web::i18n::Arg;

#[derive(Debug, Default, Deserialize)]
struct InteractQuery {
    #[serde(default)]
    uri: String,
}

fn not_found(state: &AppState, visitor: &Visitor, what: &str) -> WebError {
    WebError::Status(
        StatusCode::NOT_FOUND,
        visitor.tf(state, "interact-not-found", &[("what", Arg::Str(what))]),
    )
}

/// `GET /authorize_interaction?uri=`: `user@domain`, `acct:user@domain`, or the URL
/// of a post or an account, here or elsewhere. Redirects to its page.
pub(super) async fn authorize_interaction(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in(&visitor.here)?.clone();
    let q: InteractQuery = p.parse().unwrap_or_default();
    let uri = q.uri.trim();
    let uri = uri
        .strip_prefix("acct:")
        .unwrap_or(uri)
        .trim_start_matches('@');
    if uri.is_empty() {
        return Err(WebError::Message(
            StatusCode::BAD_REQUEST,
            "interact-missing-uri",
        ));
    }
    // Fetching is a remote request: it counts against the write limit.
    state
        .limits
        .check(Bucket::Write, &format!("web:{}", me.id))?;
    let is_url = uri.starts_with("https://") || uri.starts_with("http://");
    if !is_url {
        let account = match state.engine.account_by_acct(uri).await? {
            Some(a) => Some(a),
            None => crate::routes::activitypub::resolve_remote(&state, uri).await,
        };
        let account = account.ok_or_else(|| not_found(&state, &visitor, uri))?;
        let acct = state.engine.account_entity(&account).acct;
        return Err(WebError::Redirect(format!("/@{acct}")));
    }
    if let Some(s) = state.engine.status_by_uri(uri).await? {
        return status_page(&state, s).await;
    }
    if let Some(a) = state.engine.account_by_uri(uri).await? {
        let acct = state.engine.account_entity(&a).acct;
        return Err(WebError::Redirect(format!("/@{acct}")));
    }
    let fed = state
        .federation
        .as_ref()
        .ok_or_else(|| not_found(&state, &visitor, uri))?;
    match fed.resolve_post(uri).await {
        Ok(Some(s)) => return status_page(&state, s).await,
        Ok(None) => {}
        Err(e) => tracing::debug!(%uri, error = %e, "not resolved as a post"),
    }
    match fed.resolve_actor(uri, false).await {
        Ok(a) => {
            let acct = state.engine.account_entity(&a).acct;
            Err(WebError::Redirect(format!("/@{acct}")))
        }
        Err(e) => {
            tracing::debug!(%uri, error = %e, "not resolved as an account");
            Err(not_found(&state, &visitor, uri))
        }
    }
}

async fn status_page(state: &AppState, s: sluice_engine::rows::StatusRow) -> WebResult {
    let author = state
        .engine
        .account(s.account_id)
        .await?
        .ok_or_else(WebError::not_found)?;
    let acct = state.engine.account_entity(&author).acct;
    Err(WebError::Redirect(format!("/@{acct}/{}", s.id)))
}

#[derive(Debug, Default, Deserialize)]
struct RemoteFollowForm {
    /// Our account to follow.
    #[serde(default)]
    account: String,
    /// The visitor's own handle, `you@your.server`.
    #[serde(default)]
    acct: String,
}

/// `POST /remote_follow`: a visitor from another server gives their handle; their
/// server's follow page for our account is looked up (WebFinger) and offered as a link
/// (a form may not redirect to another site under our CSP's `form-action`).
pub(super) async fn remote_follow(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    visitor.check_csrf(&p)?;
    state
        .limits
        .check(Bucket::Write, &format!("ip:{}", visitor.ip))?;
    let form: RemoteFollowForm = p.parse()?;
    let account = state
        .engine
        .local_account(&form.account)
        .await?
        .ok_or_else(WebError::not_found)?;
    let acct = form.acct.trim().trim_start_matches('@');
    let refused = |why: String| WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, why);
    if !acct
        .rsplit_once('@')
        .is_some_and(|(u, d)| !u.is_empty() && (d.contains('.') || d.contains(':')))
    {
        return Err(refused(visitor.t(&state, "interact-give-handle")));
    }
    let fed = state
        .federation
        .as_ref()
        .ok_or_else(|| refused(visitor.t(&state, "interact-no-federation")))?;
    let template = fed.subscribe_template(acct).await.map_err(|e| {
        refused(visitor.tf(
            &state,
            "interact-server-unreachable",
            &[("error", Arg::Str(&e.to_string()))],
        ))
    })?;
    let target = template.replace(
        "{uri}",
        &form_urlencoded::byte_serialize(account.uri.as_bytes()).collect::<String>(),
    );
    if !(target.starts_with("https://") || target.starts_with("http://")) {
        return Err(refused(visitor.t(&state, "interact-no-follow-page")));
    }
    Ok(page(
        &state,
        &visitor,
        "remote_follow.html",
        context! {
            account => super::val(&state.engine.account_entity(&account)),
            target,
        },
    )
    .await)
}
