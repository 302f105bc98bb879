//! Quote posts (Mastodon 4.5): the quotes of a post, revoking one, and changing who
//! may quote a post. Posting a quote is `POST /api/v1/statuses` (`quoted_status_id`,
//! `quote_approval_policy`, in `statuses.rs`); the rules are `sluice_engine::quotes`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use sluice_engine::quotes::QuotePolicy;

use super::accounts::path_id;
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// `quoted_status_id`: empty is not given, a malformed id is not found (404, as a
/// post that does not exist).
pub(super) fn quoted_status_id(v: Option<&str>) -> ApiResult<Option<sluice_model::Id>> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => sluice_model::id::parse_id(s)
            .map(Some)
            .ok_or_else(ApiError::not_found),
    }
}

/// `quote_approval_policy`: empty is not given, anything but `public`, `followers`
/// and `nobody` is 422.
pub(super) fn policy(v: Option<&str>) -> ApiResult<Option<QuotePolicy>> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => QuotePolicy::parse(s).map(Some).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "Validation failed: Quote approval policy '{s}' is not one of public, followers, nobody"
            ))
        }),
    }
}

/// `GET /api/v1/statuses/:id/quotes`: the accepted quotes of one of the caller's
/// posts, newest first, paged by the quoting post's id.
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_STATUSES)?;
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let out = state
        .engine
        .quotes_of(me.account_id, path_id(&id)?, page)
        .await?;
    Ok(super::timelines::render(&state, &uri, &page, out))
}

/// `POST /api/v1/statuses/:id/quotes/:quoting_status_id/revoke`: answers the quoting
/// post, its quote now `revoked`.
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, quoting)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_STATUSES)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let s = state
        .engine
        .revoke_quote(me.account_id, path_id(&id)?, path_id(&quoting)?)
        .await?;
    Ok(Json(
        state.engine.status_entity(Some(me.account_id), s).await?,
    ))
}

#[derive(Debug, Deserialize)]
struct PolicyForm {
    #[serde(default, deserialize_with = "field::string")]
    quote_approval_policy: Option<String>,
}

/// `PUT /api/v1/statuses/:id/interaction_policy`: who may quote one of the caller's
/// posts from now on (past quotes stay).
pub async fn interaction_policy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_STATUSES)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let form: PolicyForm = p.parse()?;
    let Some(policy) = policy(form.quote_approval_policy.as_deref())? else {
        return Err(ApiError::unprocessable(
            "Validation failed: Quote approval policy can't be blank",
        ));
    };
    let s = state
        .engine
        .set_quote_policy(me.account_id, path_id(&id)?, policy)
        .await?;
    Ok(Json(
        state.engine.status_entity(Some(me.account_id), s).await?,
    ))
}

/// `GET /users/:name/quote_authorizations/:id`: the QuoteAuthorization stamp (FEP-044f)
/// `name` gave the quote made by status `id`, while it stands (404 once revoked).
pub async fn authorization(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<axum::response::Response> {
    let id = sluice_model::id::parse_id(&id).ok_or_else(ApiError::not_found)?;
    match state.engine.quote_authorization_document(&name, id).await? {
        Some(doc) => Ok(super::activitypub::as2_response(doc)),
        None => Err(ApiError::not_found()),
    }
}
