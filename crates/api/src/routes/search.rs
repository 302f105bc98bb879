//! `GET /api/v2/search`: accounts by name, posts by their words (Mastodon's scope
//! rules and operators), hashtags by prefix, and — with `resolve=true` — a handle or
//! the URL of an account or post on another server, fetched and stored.
//!
//! As Mastodon: visitors may search accounts and hashtags (posts need a signed-in
//! user), but not page with `offset` nor `resolve` (401); `q` is required (400); a
//! negative `limit` or `offset` is 400, a larger `limit` than [`MAX_LIMIT`] is cut to
//! it; a query with an operator value Sluice cannot use is 422.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use sluice_engine::read::search::SearchAsk;
use sluice_engine::rows::StatusRow;
use sluice_model::{Id, api};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// The largest `offset` honoured; deeper pages are refused (400), as they would read
/// and skip that many rows.
pub const MAX_OFFSET: i64 = 10_000;

#[derive(Debug, Deserialize)]
struct SearchForm {
    #[serde(default, deserialize_with = "field::string")]
    q: Option<String>,
    /// `accounts`, `statuses` or `hashtags`; all when not given.
    #[serde(default, rename = "type", deserialize_with = "field::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "field::int")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "field::int")]
    offset: Option<i64>,
    #[serde(default, deserialize_with = "field::flag")]
    resolve: bool,
    /// Accounts: only those the viewer follows.
    #[serde(default, deserialize_with = "field::flag")]
    following: bool,
    /// Statuses: only this account's.
    #[serde(default, deserialize_with = "field::id")]
    account_id: Option<Id>,
    #[serde(default, deserialize_with = "field::id")]
    min_id: Option<Id>,
    #[serde(default, deserialize_with = "field::id")]
    max_id: Option<Id>,
    /// Hashtags: Mastodon leaves out tags its moderators have not reviewed; Sluice has
    /// no tag review, so every tag counts as reviewed.
    #[serde(default, deserialize_with = "field::flag")]
    #[allow(dead_code)]
    exclude_unreviewed: bool,
}

/// Which result kinds a search fills.
#[derive(Debug, Clone, Copy)]
struct Kinds {
    accounts: bool,
    statuses: bool,
    hashtags: bool,
}

impl Kinds {
    fn parse(kind: Option<&str>) -> ApiResult<Kinds> {
        let only = |a, s, h| Kinds {
            accounts: a,
            statuses: s,
            hashtags: h,
        };
        match kind.unwrap_or_default() {
            "" => Ok(only(true, true, true)),
            "accounts" => Ok(only(true, false, false)),
            "statuses" => Ok(only(false, true, false)),
            "hashtags" => Ok(only(false, false, true)),
            other => Err(ApiError::bad_request(format!(
                "type must be accounts, statuses or hashtags, not {other:?}"
            ))),
        }
    }
}

/// Whether `q` is a URL that `resolve=true` fetches.
fn is_url(q: &str) -> bool {
    (q.starts_with("https://") || q.starts_with("http://")) && !q.contains(char::is_whitespace)
}

pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    // A token, when sent, must allow searching; without one the visitor may still
    // search accounts and hashtags.
    let viewer = match auth.0 {
        Some(_) => auth.token(&["read:search"])?.account_id,
        None => None,
    };
    let form: SearchForm = p.parse()?;
    let q = form.q.as_deref().map(str::trim).unwrap_or_default();
    if q.is_empty() {
        return Err(ApiError::bad_request("q is missing"));
    }
    if form.limit.is_some_and(|l| l < 0) || form.offset.is_some_and(|o| o < 0) {
        return Err(ApiError::bad_request(
            "Pagination values for `offset` and `limit` must be positive",
        ));
    }
    if form.offset.is_some_and(|o| o > MAX_OFFSET) {
        return Err(ApiError::bad_request(format!(
            "offset is at most {MAX_OFFSET}"
        )));
    }
    if viewer.is_none() && form.offset.is_some() {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "Search queries pagination is not supported without authentication",
        ));
    }
    if viewer.is_none() && form.resolve {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "Search queries that resolve remote resources are not supported without authentication",
        ));
    }
    let kinds = Kinds::parse(form.kind.as_deref())?;
    let limit = form.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = form.offset.unwrap_or(0);

    if form.resolve
        && is_url(q)
        && let Some(me) = viewer
    {
        return Ok(Json(resolve_url(&state, me, q, kinds).await?));
    }

    let accounts = if kinds.accounts && !(form.following && viewer.is_none()) {
        let following_of = if form.following { viewer } else { None };
        let mut rows = state
            .engine
            .search_accounts(q, following_of, limit, offset)
            .await?;
        // `resolve=true` with a full handle looks the account up on its server.
        if rows.is_empty()
            && form.resolve
            && let Some(a) = super::activitypub::resolve_remote(&state, q).await
        {
            rows.push(a);
        }
        state.engine.account_entities_of(&rows).await?
    } else {
        vec![]
    };

    let statuses = match viewer {
        Some(me) if kinds.statuses => {
            let query = sluice_model::search::parse(q)
                .map_err(|e| ApiError::unprocessable(e.to_string()))?;
            if let Some(a) = form.account_id
                && state.engine.account(a).await?.is_none()
            {
                return Err(ApiError::not_found());
            }
            let ask = SearchAsk {
                query,
                account_id: form.account_id,
                min_id: form.min_id,
                max_id: form.max_id,
                limit,
                offset,
            };
            state.engine.search_statuses(me, &ask).await?
        }
        _ => vec![],
    };

    let hashtags = if kinds.hashtags {
        state.engine.search_tags(q, viewer, limit, offset).await?
    } else {
        vec![]
    };
    Ok(Json(
        json!({ "accounts": accounts, "statuses": statuses, "hashtags": hashtags }),
    ))
}

/// `resolve=true` with a URL: the account or post it names — ours, already stored, or
/// fetched (as ActivityStreams, through the one SSRF-guarded fetcher) and stored now —
/// and nothing else. A post `me` may not see is not shown.
async fn resolve_url(
    state: &AppState,
    me: Id,
    url: &str,
    kinds: Kinds,
) -> ApiResult<serde_json::Value> {
    let (account, status) = match known(state, url).await? {
        Some(found) => found,
        None => {
            // Fetching is a request to another server: it counts against the write
            // limit, as the web app's "open remote post" does.
            state.limits.check(Bucket::Write, &me.to_string())?;
            fetch(state, url).await?
        }
    };
    let accounts: Vec<api::Account> = match account {
        Some(a) if kinds.accounts => vec![state.engine.account_entity(&a)],
        _ => vec![],
    };
    let statuses = match status {
        Some(s) if kinds.statuses && state.engine.can_see(Some(me), &s).await? => {
            vec![state.engine.status_entity(Some(me), s).await?]
        }
        _ => vec![],
    };
    Ok(json!({ "accounts": accounts, "statuses": statuses, "hashtags": [] }))
}

type Found = (Option<sluice_engine::rows::AccountRow>, Option<StatusRow>);

/// The account or post stored under this id, or shown at this page of ours
/// (`/@name/ID`, `/@name`: the links people copy).
async fn known(state: &AppState, url: &str) -> ApiResult<Option<Found>> {
    use sluice_engine::urls::LocalPage;
    match state.engine.urls.local_page(url) {
        Some(LocalPage::Post { username, id }) => {
            let s = state.engine.status(id).await?;
            let author = state.engine.local_account(&username).await?;
            return Ok(Some(match (s, author) {
                (Some(s), Some(a)) if s.account_id == a.id => (None, Some(s)),
                _ => (None, None),
            }));
        }
        Some(LocalPage::Profile { username }) => {
            let a = state.engine.local_account(&username).await?;
            return Ok(Some((a, None)));
        }
        None => {}
    }
    if let Some(s) = state.engine.status_by_uri(url).await? {
        return Ok(Some((None, Some(s))));
    }
    if let Some(a) = state.engine.account_by_uri(url).await? {
        return Ok(Some((Some(a), None)));
    }
    Ok(None)
}

/// Fetches `url` as a post, else as an actor (the fetcher caches the document between
/// the two); nothing when federation is off or it is neither.
async fn fetch(state: &AppState, url: &str) -> ApiResult<Found> {
    let Some(fed) = state.federation.as_ref() else {
        return Ok((None, None));
    };
    match fed.resolve_post(url).await {
        Ok(Some(s)) => return Ok((None, Some(s))),
        Ok(None) => {}
        Err(e) => tracing::debug!(%url, error = %e, "not resolved as a post"),
    }
    match fed.resolve_actor(url, false).await {
        Ok(a) => Ok((Some(a), None)),
        Err(e) => {
            tracing::debug!(%url, error = %e, "not resolved as an account");
            Ok((None, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_kinds() {
        assert!(is_url("https://example.com/@bob/1"));
        assert!(!is_url("https://example.com/a b"));
        assert!(!is_url("bob@example.com"));
        assert!(Kinds::parse(Some("statuses")).unwrap().statuses);
        assert!(!Kinds::parse(Some("statuses")).unwrap().accounts);
        assert!(Kinds::parse(None).unwrap().hashtags);
        assert!(Kinds::parse(Some("posts")).is_err());
    }
}
