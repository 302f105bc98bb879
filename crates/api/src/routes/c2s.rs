//! The ActivityPub client-to-server API (docs/c2s.md): a local user's client posts
//! activities to its outbox (`POST /users/:name/outbox`, OAuth bearer token) and reads
//! what it made. The federation crate's `outbox` turns each activity into the same
//! pipeline activity the Mastodon API makes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use sluice_engine::rows::StoredActivity;
use sluice_federation::outbox::C2sError;
use sluice_model::Id;
use sluice_model::visibility::is_public_iri;

use super::activitypub::{AS2_CONTENT_TYPE, local_account};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::params::{check_depth, refuse_nul};
use crate::ratelimit::Bucket;

/// The scopes that allow posting some activity to an outbox; which one an activity
/// needs is [`scopes_for`]'s.
const WRITE: &[&str] = &[
    "write:statuses",
    "write:follows",
    "write:blocks",
    "write:favourites",
    "write:accounts",
];

/// The scopes an activity needs, as the Mastodon API asks them for the same action:
/// a follow `write:follows`, a like `write:favourites`, a block `write:blocks`, a pin or
/// collection change `write:accounts`, posts and everything else `write:statuses`. An
/// `Undo` needs the scope of what it undoes (when it is embedded; by id, any of them).
fn scopes_for(activity: &Value) -> &'static [&'static str] {
    let kind = |v: &Value| -> String {
        let t = match v.get("type") {
            Some(Value::Array(a)) => a.first().and_then(Value::as_str).unwrap_or_default(),
            Some(t) => t.as_str().unwrap_or_default(),
            None => "",
        };
        t.rsplit(['#', ':', '/'])
            .next()
            .unwrap_or_default()
            .to_string()
    };
    match kind(activity).as_str() {
        "Follow" => &["write:follows"],
        "Block" => &["write:blocks"],
        "Like" => &["write:favourites"],
        "Add" | "Remove" => &["write:accounts"],
        "Undo" => match activity.get("object").map(kind).as_deref() {
            Some("Follow") => &["write:follows"],
            Some("Block") => &["write:blocks"],
            Some("Like") => &["write:favourites"],
            Some("Announce") => &["write:statuses"],
            _ => WRITE,
        },
        _ => &["write:statuses"],
    }
}

/// An ActivityStreams answer only its requester may see: never cached by others.
pub fn as2_private(status: StatusCode, doc: &Value) -> Response {
    as2_private_bytes(status, doc.to_string().into_bytes())
}

fn as2_private_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AS2_CONTENT_TYPE),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

fn c2s_error(e: C2sError) -> ApiError {
    match e {
        C2sError::BadRequest(m) => ApiError::bad_request(m),
        C2sError::Forbidden(m) => ApiError::forbidden(m),
        C2sError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
        C2sError::Engine(e) => e.into(),
    }
}

/// `POST /users/:name/outbox`: an activity, or a bare object to wrap in a Create, in
/// JSON whatever the declared media type (clients send `application/activity+json`,
/// `application/ld+json`, or none). 201 with `Location`: the stored activity.
pub async fn post_outbox(
    State(state): State<AppState>,
    Path(name): Path<String>,
    auth: Auth,
    body: Bytes,
) -> ApiResult<Response> {
    let me = auth.user(WRITE)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let account = local_account(&state, &name).await?;
    if account.id != me.account_id {
        return Err(ApiError::forbidden(
            "This outbox belongs to another account",
        ));
    }
    let Some(federation) = state.federation.as_ref() else {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "This server does not federate",
        ));
    };
    check_depth(&body)?;
    let activity: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Malformed JSON body: {e}")))?;
    if let Value::Object(o) = &activity {
        refuse_nul(o)?;
    }
    auth.user(scopes_for(&activity))?;
    let posted = federation
        .client_post(&account, activity, me.app_id)
        .await
        .map_err(c2s_error)?;
    let doc = match state.engine.activity_by_uri(&posted.location).await? {
        Some(a) => serde_json::from_str(&a.json).unwrap_or_default(),
        None => serde_json::json!({ "id": posted.location }),
    };
    let mut res = as2_private(StatusCode::CREATED, &doc);
    if let Ok(v) = HeaderValue::from_str(&posted.location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// Whether `viewer` may read a stored activity: its actor, anyone when it is public,
/// an addressee; the Create of a post follows the post's own visibility.
async fn may_read(state: &AppState, viewer: Option<Id>, a: &StoredActivity) -> ApiResult<bool> {
    if viewer == Some(a.actor_id) {
        return Ok(true);
    }
    if a.kind == "Create"
        && let Some(s) = state.engine.status_by_uri(&a.object_uri).await?
    {
        return Ok(state.engine.can_see(viewer, &s).await?);
    }
    let audience: Vec<String> = [&a.to_json, &a.cc_json]
        .iter()
        .flat_map(|j| serde_json::from_str::<Vec<String>>(j).unwrap_or_default())
        .collect();
    if audience.iter().any(|i| is_public_iri(i)) {
        return Ok(true);
    }
    Ok(match viewer {
        Some(v) => match state.engine.account(v).await? {
            Some(me) => audience.contains(&me.uri),
            None => false,
        },
        None => false,
    })
}

/// The stored activity at `uri`, as JSON whatever the `Accept` (an activity has no
/// page of its own), when `viewer` may read it; 404 otherwise.
async fn activity_document(state: &AppState, viewer: Option<Id>, uri: &str) -> ApiResult<Response> {
    let a = state
        .engine
        .activity_by_uri(uri)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !may_read(state, viewer, &a).await? {
        return Err(ApiError::not_found());
    }
    let doc: Value = serde_json::from_str(&a.json).unwrap_or_default();
    Ok(as2_private(StatusCode::OK, &doc))
}

/// `GET /users/:name/statuses/:id/activity`: the Create of a post.
pub async fn status_activity(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    let uri =
        |urls: &sluice_engine::Urls, name: &str, id| format!("{}/activity", urls.status(name, id));
    activity_at(&state, &name, &id, auth, uri).await
}

/// `GET /users/:name/activities/:id`: an activity a client posted that is not about a
/// post (`Arrive`, `Listen`, …).
pub async fn activity(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    activity_at(&state, &name, &id, auth, |urls, name, id| {
        urls.activity(name, id)
    })
    .await
}

/// The activity whose id `uri` makes of a local account's name and a numeric id.
async fn activity_at(
    state: &AppState,
    name: &str,
    id: &str,
    auth: Auth,
    uri: impl Fn(&sluice_engine::Urls, &str, Id) -> String,
) -> ApiResult<Response> {
    let account = local_account(state, name).await?;
    let id = sluice_model::id::parse_id(id).ok_or_else(ApiError::not_found)?;
    let uri = uri(&state.engine.urls, &account.username, id);
    activity_document(state, auth.viewer(), &uri).await
}

/// `POST /api/ap/proxy`: the object asked for.
#[derive(Debug, Deserialize)]
struct ProxyForm {
    #[serde(default, deserialize_with = "field::string")]
    id: Option<String>,
}

/// `POST /api/ap/proxy` (the actor's `endpoints.proxyUrl`): a signed-in user's client
/// reads an ActivityStreams object (form parameter `id`) through this server: remote
/// ones with the server's signed, SSRF-safe fetcher (and its cache), local ones as the
/// user may see them.
pub async fn proxy(
    State(state): State<AppState>,
    auth: Auth,
    p: crate::params::Params,
) -> ApiResult<Response> {
    let me = auth.user(&["read:statuses"])?;
    let id = p.parse::<ProxyForm>()?.id.unwrap_or_default();
    let url = url::Url::parse(id.trim())
        .map_err(|_| ApiError::bad_request("id must be the URL of an object"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::bad_request("id must be an http(s) URL"));
    }
    let engine = &state.engine;
    if url.as_str().starts_with(engine.urls.base()) {
        let doc = if let Some(s) = engine.status_by_uri(url.as_str()).await? {
            engine.visible_status(Some(me.account_id), s.id).await?;
            sluice_federation::local::status_object(engine, &s.uri).await?
        } else if let Some(a) = engine
            .account_by_uri(url.as_str())
            .await?
            .filter(|a| a.is_local())
        {
            Some(sluice_federation::local::actor_document(engine, &a).await?)
        } else {
            None
        };
        let doc = doc.ok_or_else(ApiError::not_found)?;
        return Ok(as2_private(StatusCode::OK, &doc));
    }
    let federation = state.federation.as_ref().ok_or_else(ApiError::not_found)?;
    // One answer for every failure: the reason (a refused address, a name that does not
    // resolve, a timeout) would tell the client what our network looks like from inside.
    let fetched = federation.get_json(&url, false).await.map_err(|e| {
        tracing::debug!(%url, error = %e, "proxied fetch failed");
        ApiError::new(StatusCode::BAD_GATEWAY, "The object could not be fetched")
    })?;
    Ok(as2_private_bytes(StatusCode::OK, fetched.body.to_vec()))
}

/// `GET /users/:name/inbox`: what the account received, to its owner only (a token of
/// that user with `read`); 401 without a token, 403 with another's.
pub async fn inbox(
    State(state): State<AppState>,
    Path(name): Path<String>,
    axum::extract::Query(q): axum::extract::Query<super::activitypub::PageQuery>,
    auth: Auth,
) -> ApiResult<Response> {
    let me = auth.user(&["read:statuses"])?;
    let account = local_account(&state, &name).await?;
    if account.id != me.account_id {
        return Err(ApiError::forbidden("This inbox belongs to another account"));
    }
    let doc = sluice_federation::local::inbox(&state.engine, &account, q.collection()).await?;
    Ok(as2_private(StatusCode::OK, &doc))
}

/// `GET /users/:name/collections/:id`: a collection the user made, to whoever its
/// audience allows (anyone when public; else its owner and addressees).
pub async fn collection(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<super::activitypub::PageQuery>,
    auth: Auth,
) -> ApiResult<Response> {
    let account = local_account(&state, &name).await?;
    let id = sluice_model::id::parse_id(&id).ok_or_else(ApiError::not_found)?;
    let uri = format!("{}/collections/{id}", account.uri);
    let c = state
        .engine
        .collection_by_uri(&uri)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let audience: Vec<String> = [&c.to_json, &c.cc_json]
        .iter()
        .flat_map(|j| serde_json::from_str::<Vec<String>>(j).unwrap_or_default())
        .collect();
    let public = audience.iter().any(|i| is_public_iri(i));
    let viewer = auth.viewer();
    let allowed = public
        || viewer == Some(account.id)
        || match viewer {
            Some(v) => state
                .engine
                .account(v)
                .await?
                .is_some_and(|me| audience.contains(&me.uri)),
            None => false,
        };
    if !allowed {
        return Err(ApiError::not_found());
    }
    let doc =
        sluice_federation::local::user_collection(&state.engine, &account, &c, q.collection())
            .await?;
    Ok(if public {
        super::activitypub::as2_response(doc)
    } else {
        as2_private(StatusCode::OK, &doc)
    })
}
