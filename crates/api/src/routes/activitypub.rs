//! ActivityPub documents for other servers: WebFinger and host-meta, actor documents,
//! the instance actor, outbox / followers / following / featured collections, and
//! statuses as Notes. Profile and status URLs negotiate: `application/activity+json` or
//! `application/ld+json` get ActivityStreams JSON, browsers get HTML.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_engine::as2;
use sluice_engine::rows::{AccountRow, Side};
use sluice_federation::inbox::{INBOX_RETRY_AFTER, InboxError};
use sluice_federation::local::{self, CollectionQuery};
use sluice_model::id::parse_id;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};

/// The media type of every ActivityStreams answer.
pub const AS2_CONTENT_TYPE: &str = "application/activity+json; charset=utf-8";

/// Whether the client asked for ActivityStreams (`application/activity+json`, or
/// `application/ld+json` with or without the ActivityStreams profile).
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .any(|t| t.starts_with("application/activity+json") || t.starts_with("application/ld+json"))
}

/// A JSON answer with the ActivityStreams media type, varying on `Accept`.
pub fn as2_response(doc: Value) -> Response {
    let mut res = (StatusCode::OK, doc.to_string()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AS2_CONTENT_TYPE),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60, public"),
    );
    res
}

fn jrd_response(doc: Value) -> Response {
    let mut res = (StatusCode::OK, doc.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jrd+json; charset=utf-8"),
    );
    res
}

#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// Which local account a WebFinger resource names, if any: `acct:name@our.domain`,
/// `name@our.domain`, or one of our actor / profile URLs. `Some(None)` is the instance
/// actor.
fn webfinger_target(state: &AppState, resource: &str) -> Option<Option<String>> {
    let urls = &state.engine.urls;
    let resource = resource.trim();
    let acct = resource.strip_prefix("acct:").unwrap_or(resource);
    if !acct.contains("://") {
        let (name, domain) = acct.trim_start_matches('@').rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(urls.domain()) {
            return None;
        }
        if name.eq_ignore_ascii_case(urls.domain()) {
            return Some(None);
        }
        return Some(Some(name.to_string()));
    }
    if resource == urls.instance_actor() {
        return Some(None);
    }
    let rest = resource.strip_prefix(urls.base())?;
    let name = rest
        .strip_prefix("/users/")
        .or_else(|| rest.strip_prefix("/@"))?;
    (!name.is_empty() && !name.contains('/')).then(|| Some(name.to_string()))
}

/// `GET /.well-known/webfinger?resource=…`
pub async fn webfinger(
    State(state): State<AppState>,
    Query(q): Query<WebfingerQuery>,
) -> ApiResult<Response> {
    let Some(resource) = q.resource.filter(|r| !r.trim().is_empty()) else {
        return Err(ApiError::bad_request("resource parameter is missing"));
    };
    let urls = &state.engine.urls;
    let Some(target) = webfinger_target(&state, &resource) else {
        return Err(ApiError::not_found());
    };
    let Some(name) = target else {
        let actor = urls.instance_actor();
        return Ok(jrd_response(json!({
            "subject": format!("acct:{}@{}", urls.domain(), urls.domain()),
            "aliases": [actor],
            "links": [
                {"rel": "self", "type": "application/activity+json", "href": actor},
            ],
        })));
    };
    // A suspended account is still found (its servers may be told of its return);
    // one gone for good is not.
    let account = match find_local_account(&state, &name).await? {
        Some(LocalAccount::Active(a) | LocalAccount::Suspended(a)) => a,
        Some(LocalAccount::Gone(_)) => {
            return Err(ApiError::new(StatusCode::GONE, "This account is gone"));
        }
        None => return Err(ApiError::not_found()),
    };
    Ok(jrd_response(json!({
        "subject": format!("acct:{}@{}", account.username, urls.domain()),
        "aliases": [account.url, account.uri],
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": account.url},
            {"rel": "self", "type": "application/activity+json", "href": account.uri},
            {"rel": "http://ostatus.org/schema/1.0/subscribe",
             "template": format!("{}/authorize_interaction?uri={{uri}}", urls.base())},
        ],
    })))
}

/// `GET /.well-known/host-meta`: where WebFinger is (XRD, as older servers look it up).
pub async fn host_meta(State(state): State<AppState>) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}/.well-known/webfinger?resource={{uri}}\"/>\n\
         </XRD>\n",
        state.engine.urls.base()
    );
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
    );
    res
}

/// What a local username names.
pub(crate) enum LocalAccount {
    /// An account that is served.
    Active(AccountRow),
    /// Suspended by a moderator, and restorable.
    Suspended(AccountRow),
    /// Gone for good: deleted by its owner, or its data purged after a suspension.
    Gone(AccountRow),
}

/// The local account `name` names, whatever its state (None: no such account).
pub(crate) async fn find_local_account(
    state: &AppState,
    name: &str,
) -> ApiResult<Option<LocalAccount>> {
    if let Some(a) = state.engine.local_account(name).await? {
        return Ok(Some(LocalAccount::Active(a)));
    }
    Ok(state.engine.suspended_local_account(name).await?.map(|a| {
        if a.suspension_origin.as_deref() == Some("deleted") {
            LocalAccount::Gone(a)
        } else {
            LocalAccount::Suspended(a)
        }
    }))
}

/// A local account's documents and pages, by username, as Mastodon answers for an
/// account it does not serve: 410 once it is gone for good, 403 while it is
/// suspended (restorable), 404 when there is no such account.
pub(crate) async fn local_account(state: &AppState, name: &str) -> ApiResult<AccountRow> {
    match find_local_account(state, name).await? {
        Some(LocalAccount::Active(a)) => Ok(a),
        Some(LocalAccount::Suspended(_)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "This account is suspended",
        )),
        Some(LocalAccount::Gone(_)) => Err(ApiError::new(StatusCode::GONE, "This account is gone")),
        None => Err(ApiError::not_found()),
    }
}

/// `GET /users/:name`: the actor document, or (for a browser) the profile page.
pub async fn actor(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if !wants_activity_json(&headers) {
        return Ok(super::see_other(&super::local_path(&["/@"], &[&name])));
    }
    actor_json(&state, &name).await
}

/// The actor document of a local account by username.
pub async fn actor_json(state: &AppState, name: &str) -> ApiResult<Response> {
    let account = match find_local_account(state, name).await? {
        Some(LocalAccount::Active(a)) => a,
        // Suspended: the document says so (servers keep its key and may be told of
        // its return), as Mastodon serves it.
        Some(LocalAccount::Suspended(a)) => a,
        // Deleted by its owner, or its data purged: 410 with a Tombstone.
        Some(LocalAccount::Gone(a)) => {
            let mut tombstone = as2::tombstone(&a.uri);
            tombstone["@context"] = as2::context();
            let mut res = as2_response(tombstone);
            *res.status_mut() = StatusCode::GONE;
            return Ok(res);
        }
        None => return Err(ApiError::not_found()),
    };
    Ok(as2_response(
        local::actor_document(&state.engine, &account).await?,
    ))
}

/// `GET /actor`: the instance actor.
pub async fn instance_actor(State(state): State<AppState>) -> ApiResult<Response> {
    Ok(as2_response(
        local::instance_actor_document(&state.engine).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
    max_id: Option<String>,
    min_id: Option<String>,
}

impl PageQuery {
    pub(crate) fn collection(&self) -> CollectionQuery {
        CollectionQuery {
            page: matches!(self.page.as_deref(), Some("true" | "1")),
            max_id: self.max_id.as_deref().and_then(parse_id),
            min_id: self.min_id.as_deref().and_then(parse_id),
        }
    }
}

/// `GET /users/:name/outbox`: its owner (an ActivityPub client with a token) sees
/// every activity the account made; others the public posts and boosts.
pub async fn outbox(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    auth: Auth,
) -> ApiResult<Response> {
    let account = local_account(&state, &name).await?;
    let owner = auth.viewer() == Some(account.id);
    let doc = local::outbox(&state.engine, &account, q.collection(), owner).await?;
    Ok(for_owner_or_all(doc, owner))
}

/// A collection as its owner sees it (never cached for others), or as anyone does.
fn for_owner_or_all(doc: Value, owner: bool) -> Response {
    if owner {
        super::c2s::as2_private(StatusCode::OK, &doc)
    } else {
        as2_response(doc)
    }
}

/// `GET /users/:name/liked`: the posts the account liked, to its owner; others get
/// the collection without items.
pub async fn liked(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    auth: Auth,
) -> ApiResult<Response> {
    let account = local_account(&state, &name).await?;
    let owner = auth.viewer() == Some(account.id);
    let doc = local::liked(&state.engine, &account, q.collection(), owner).await?;
    Ok(for_owner_or_all(doc, owner))
}

/// `GET /users/:name/followers`
pub async fn followers(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let account = local_account(&state, &name).await?;
    Ok(as2_response(
        local::relation_collection(&state.engine, &account, Side::Sources, q.collection()).await?,
    ))
}

/// `GET /users/:name/following`
pub async fn following(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let account = local_account(&state, &name).await?;
    Ok(as2_response(
        local::relation_collection(&state.engine, &account, Side::Targets, q.collection()).await?,
    ))
}

/// `GET /users/:name/collections/featured`
pub async fn featured(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let account = local_account(&state, &name).await?;
    Ok(as2_response(
        local::featured(&state.engine, &account).await?,
    ))
}

/// `GET /users/:name/collections/tags`: the hashtags the account features.
pub async fn featured_tags(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let account = local_account(&state, &name).await?;
    Ok(as2_response(
        state.engine.featured_tags_collection(&account).await?,
    ))
}

/// `GET /users/:name/statuses/:id`: the Note, or (for a browser) the status page.
/// With a token, a post its bearer may see (a C2S client reading its own).
/// `GET /emojis/:id`: a local custom emoji's own document (the id its `Emoji` tags
/// name).
pub async fn emoji(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id).ok_or_else(ApiError::not_found)?;
    let e = state
        .engine
        .custom_emoji(id)
        .await?
        .filter(|e| e.domain.is_empty())
        .ok_or_else(ApiError::not_found)?;
    let mut doc = state.engine.emoji_tag(&e);
    doc["@context"] = as2::context();
    Ok(as2_response(doc))
}

pub async fn status(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    auth: Auth,
) -> ApiResult<Response> {
    if !wants_activity_json(&headers) {
        return Ok(super::see_other(&super::local_path(
            &["/@", "/"],
            &[&name, &id],
        )));
    }
    if let Some(viewer) = auth.viewer() {
        return private_status_json(&state, &name, &id, viewer).await;
    }
    status_json(&state, &name, &id).await
}

/// The object of a local post its author or another viewer may see (any visibility),
/// not cached for others.
async fn private_status_json(
    state: &AppState,
    name: &str,
    id: &str,
    viewer: sluice_model::Id,
) -> ApiResult<Response> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let account = local_account(state, name).await?;
    if state.engine.status(id).await?.is_none() {
        return gone_or_not_found(state, &account, id).await;
    }
    let s = state.engine.visible_status(Some(viewer), id).await?;
    if s.account_id != account.id || !s.local || s.reblog_of_id.is_some() {
        return Err(ApiError::not_found());
    }
    let mut doc = local::status_object(&state.engine, &s.uri)
        .await?
        .ok_or_else(ApiError::not_found)?;
    local::add_post_collections(&mut doc, &s);
    Ok(super::c2s::as2_private(StatusCode::OK, &doc))
}

/// `GET /users/:name/statuses/:id/replies|likes|shares`: the collections of a public
/// or unlisted local post.
pub async fn status_collection(
    State(state): State<AppState>,
    Path((name, id, which)): Path<(String, String, String)>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let which = match which.as_str() {
        "replies" => local::PostCollection::Replies,
        "likes" => local::PostCollection::Likes,
        "shares" => local::PostCollection::Shares,
        _ => return Err(ApiError::not_found()),
    };
    let id = parse_id(&id).ok_or_else(ApiError::not_found)?;
    let account = local_account(&state, &name).await?;
    let s = state
        .engine
        .status(id)
        .await?
        .filter(|s| {
            s.account_id == account.id
                && s.local
                && s.reblog_of_id.is_none()
                && matches!(s.visibility.as_str(), "public" | "unlisted")
        })
        .ok_or_else(ApiError::not_found)?;
    Ok(as2_response(
        local::post_collection(&state.engine, &s, which, q.collection()).await?,
    ))
}

/// The Note of a public or unlisted local status, by author name and id. Private and
/// direct statuses are not served to anonymous fetches.
pub async fn status_json(state: &AppState, name: &str, id: &str) -> ApiResult<Response> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let account = local_account(state, name).await?;
    let Some(s) = state.engine.status(id).await? else {
        return gone_or_not_found(state, &account, id).await;
    };
    if s.account_id != account.id
        || !s.local
        || s.reblog_of_id.is_some()
        || !matches!(s.visibility.as_str(), "public" | "unlisted")
    {
        return Err(ApiError::not_found());
    }
    let mut doc = local::status_object(&state.engine, &s.uri)
        .await?
        .ok_or_else(ApiError::not_found)?;
    local::add_post_collections(&mut doc, &s);
    Ok(as2_response(doc))
}

/// A deleted post: 410 with a Tombstone (ActivityPub §6.4), as Mastodon answers; a
/// post that never was: 404.
async fn gone_or_not_found(
    state: &AppState,
    account: &AccountRow,
    id: sluice_model::Id,
) -> ApiResult<Response> {
    let uri = state.engine.urls.status(&account.username, id);
    if !state.engine.is_tombstoned(&uri).await? {
        return Err(ApiError::not_found());
    }
    let mut tombstone = as2::tombstone(&uri);
    tombstone["@context"] = as2::context();
    let mut res = as2_response(tombstone);
    *res.status_mut() = StatusCode::GONE;
    Ok(res)
}

/// Looks `user@domain` up on its server (WebFinger, then the actor) when this server
/// federates; None when it cannot be found.
pub async fn resolve_remote(state: &AppState, acct: &str) -> Option<AccountRow> {
    let fed = state.federation.as_ref()?;
    let acct = acct.trim().trim_start_matches('@');
    let (_, domain) = acct.rsplit_once('@')?;
    if domain.eq_ignore_ascii_case(state.engine.urls.domain()) {
        return None;
    }
    match fed.resolve_acct(acct).await {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::debug!(%acct, error = %e, "remote account not resolved");
            None
        }
    }
}

/// `POST /inbox`, `POST /users/:name/inbox`: verify, queue, answer 202.
pub async fn inbox(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(fed) = state.federation.as_ref() else {
        return ApiError::new(StatusCode::NOT_FOUND, "federation is off").into_response();
    };
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut res = receive_answer(fed.receive(target, &headers, &body).await);
    // RFC 9421 §5.1: tell senders that HTTP Message Signatures are verified here, so
    // they may sign that way first (cavage is verified as well).
    res.headers_mut().insert(
        "accept-signature",
        HeaderValue::from_static(sluice_federation::signatures::INBOX_ACCEPT_SIGNATURE),
    );
    res
}

fn receive_answer(result: Result<(), InboxError>) -> Response {
    match result {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() && !e.retry_later() {
                tracing::warn!(error = %e, "inbox failure");
            } else {
                tracing::debug!(error = %e, "inbox refused an activity");
            }
            let mut res = ApiError::new(status, e.to_string()).into_response();
            if e.retry_later() {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(INBOX_RETRY_AFTER.as_secs()),
                );
            }
            res
        }
    }
}

/// Before a signed GET of a local account's documents (`/users/:name…`, `/@name…`):
/// verify who signed it, and answer 403 when the account blocks them (or their domain
/// is suspended). Unsigned GETs, and GETs whose signature cannot be verified, are
/// served as anonymous (public documents only).
pub async fn refuse_blocked_fetchers(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let name = path
        .strip_prefix("/users/")
        .or_else(|| path.strip_prefix("/@"))
        .and_then(|rest| rest.split('/').next())
        .filter(|n| !n.is_empty())
        .map(|n| n.trim_end_matches(".rss").to_string());
    let (Some(fed), Some(name)) = (state.federation.clone(), name) else {
        return next.run(req).await;
    };
    if req.method() != axum::http::Method::GET {
        return next.run(req).await;
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    // A signature that cannot be verified (unknown key, clock skew) counts as no
    // signature: public documents are public, and refusing would protect nothing.
    let fetcher = match fed.signed_fetcher(&target, req.headers()).await {
        Ok(Some(f)) => f,
        Ok(None) => return next.run(req).await,
        Err(e) => {
            tracing::debug!(error = %e, "signed GET not verified; served as anonymous");
            return next.run(req).await;
        }
    };
    if let Ok(owner) = local_account(&state, &name).await {
        match fed.refuses(&owner, &fetcher).await {
            Ok(true) => return ApiError::new(StatusCode::FORBIDDEN, "Forbidden").into_response(),
            Ok(false) => {}
            Err(e) => {
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
                    .into_response();
            }
        }
    }
    next.run(req).await
}
