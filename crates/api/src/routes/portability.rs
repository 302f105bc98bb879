//! Leaving and arriving, for apps: Akkoma's (and Pleroma's) account aliases
//! (`GET`/`PUT`/`DELETE /api/pleroma/aliases`) and move (`POST
//! /api/pleroma/move_account`). Mastodon has no REST endpoint for either (its web
//! settings do them: `/settings/aliases`, `/settings/migration` here too). Answers
//! are Akkoma's: `{"aliases": [...]}`, `{"status": "success"}`, `{"error": …}` with
//! 400 (refused), 403 (wrong password), 404 (no such account). The rules are the
//! engine's (`engine/src/portability.rs`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use sluice_engine::rows::AccountRow;
use sluice_engine::sign_in::SignInClient;

use super::scopes::*;
use crate::AppState;
use crate::auth::{Auth, ClientIp};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// The account a handle names: `user`, `@user@domain`, `user@domain` or an actor's
/// IRI. A local one is read; a remote one is found with WebFinger through
/// federation's one fetcher (SSRF rules) and, when `fresh`, its actor document is
/// fetched again (a move checks the target's aliases as they are now). None when
/// there is no such account or it cannot be reached.
pub(crate) async fn resolve_handle(
    state: &AppState,
    handle: &str,
    fresh: bool,
) -> ApiResult<Option<AccountRow>> {
    let h = handle.trim().trim_start_matches('@');
    if h.is_empty() || h.len() > 2048 {
        return Ok(None);
    }
    let engine = &state.engine;
    if h.starts_with("https://") || h.starts_with("http://") {
        if let Some(a) = engine.account_by_uri(h).await?
            && (a.is_local() || !fresh)
        {
            return Ok(Some(a));
        }
        let Some(fed) = state.federation.as_ref() else {
            return Ok(None);
        };
        return Ok(fed.resolve_actor(h, fresh).await.ok());
    }
    let local = match h.rsplit_once('@') {
        None => true,
        Some((_, domain)) => domain.eq_ignore_ascii_case(engine.urls.domain()),
    };
    if local {
        let name = h.split('@').next().unwrap_or_default();
        return Ok(engine.local_account(name).await?);
    }
    let Some(fed) = state.federation.as_ref() else {
        return Ok(engine.account_by_acct(h).await?);
    };
    let found = match fed.resolve_acct(h).await {
        Ok(a) => a,
        Err(e) => {
            tracing::debug!(handle = %h, error = %e, "handle not resolved");
            return Ok(None);
        }
    };
    if !fresh {
        return Ok(Some(found));
    }
    match fed.resolve_actor(&found.uri, true).await {
        Ok(a) => Ok(Some(a)),
        Err(e) => {
            tracing::debug!(handle = %h, error = %e, "actor not fetched again");
            Ok(None)
        }
    }
}

/// Akkoma answers a refusal with 400 where Mastodon says 422.
fn akkoma(e: ApiError) -> ApiError {
    if e.status == StatusCode::UNPROCESSABLE_ENTITY {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            ..e
        }
    } else {
        e
    }
}

fn success() -> Json<serde_json::Value> {
    Json(json!({"status": "success"}))
}

/// `GET /api/pleroma/aliases`: the account's aliases, as handles (an alias not known
/// here as its IRI).
pub async fn aliases(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_ACCOUNTS)?;
    let aliases: Vec<String> = state
        .engine
        .aliases(me.account_id)
        .await?
        .into_iter()
        .map(|a| a.acct.unwrap_or(a.uri))
        .collect();
    Ok(Json(json!({ "aliases": aliases })))
}

#[derive(Debug, Default, Deserialize)]
struct AliasForm {
    #[serde(default)]
    alias: Option<String>,
}

/// `PUT /api/pleroma/aliases` (`alias`: a handle): adds an alias.
pub async fn add_alias(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let alias = p.parse::<AliasForm>()?.alias.unwrap_or_default();
    if alias.trim().is_empty() {
        return Err(ApiError::bad_request("Missing field: alias."));
    }
    let target = resolve_handle(&state, &alias, false)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Account not found"))?;
    state
        .engine
        .add_alias(me.account_id, &target)
        .await
        .map_err(|e| akkoma(e.into()))?;
    Ok(success())
}

/// `DELETE /api/pleroma/aliases` (`alias`: a handle or IRI): removes an alias; 404
/// when it is not one.
pub async fn remove_alias(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let alias = p.parse::<AliasForm>()?.alias.unwrap_or_default();
    if alias.trim().is_empty() {
        return Err(ApiError::bad_request("Missing field: alias."));
    }
    let uri = alias_uri(&state, me.account_id, &alias).await?;
    let removed = match uri {
        Some(uri) => state.engine.remove_alias(me.account_id, &uri).await?,
        None => false,
    };
    if !removed {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Account has no such alias.",
        ));
    }
    Ok(success())
}

/// The IRI of the alias `alias` names (its IRI, or a handle matched against the
/// account's aliases as they are known here; nothing is fetched).
pub(crate) async fn alias_uri(
    state: &AppState,
    account: sluice_model::id::Id,
    alias: &str,
) -> ApiResult<Option<String>> {
    let want = alias.trim().trim_start_matches('@').to_ascii_lowercase();
    let with_domain = if want.contains('@') {
        want.clone()
    } else {
        format!("{want}@{}", state.engine.urls.domain())
    };
    Ok(state
        .engine
        .aliases(account)
        .await?
        .into_iter()
        .find(|a| {
            a.uri == alias.trim()
                || a.acct
                    .as_deref()
                    .is_some_and(|h| h.to_ascii_lowercase() == with_domain)
        })
        .map(|a| a.uri))
}

#[derive(Debug, Default, Deserialize)]
struct MoveForm {
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    target_account: Option<String>,
}

/// `POST /api/pleroma/move_account` (`password`, `target_account`: a handle).
pub async fn move_account(
    State(state): State<AppState>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    state.limits.check(Bucket::SignIn, &ip)?;
    let form = p.parse::<MoveForm>()?;
    let (Some(password), Some(target)) = (form.password, form.target_account) else {
        return Err(ApiError::bad_request(
            "Missing field: password and target_account are required.",
        ));
    };
    let target = resolve_handle(&state, &target, true)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Target account not found."))?;
    let client = SignInClient { ip, device: None };
    state
        .engine
        .move_account(me.account_id, &target, &password, &client)
        .await
        .map_err(|e| akkoma(e.into()))?;
    Ok(success())
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: Option<String>,
}

/// `POST /api/pleroma/delete_account` (`password`): deletes the account (its
/// `Delete` goes to every server that knows it; its data is purged in the
/// background; its username stays taken).
pub async fn delete_account(
    State(state): State<AppState>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    state.limits.check(Bucket::SignIn, &ip)?;
    let Some(password) = p.parse::<PasswordForm>()?.password else {
        return Err(ApiError::bad_request("Missing field: password."));
    };
    let client = SignInClient { ip, device: None };
    state
        .engine
        .delete_own_account(me.account_id, &password, &client)
        .await
        .map_err(|e| akkoma(e.into()))?;
    Ok(success())
}
