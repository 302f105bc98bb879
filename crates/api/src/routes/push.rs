//! `/api/v1/push/subscription`: the Web Push subscription of the calling access token
//! (one per token, as Mastodon), made, read, changed and removed; scope `push`.
//! Messages are queued by the engine with each notification and sent by the delivery
//! workers (`sluice_federation::push`).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sluice_engine::push::{ALERTS, MAX_ENDPOINT_LEN, NewPushSubscription};

use crate::AppState;
use crate::auth::{Auth, bearer};
use crate::error::{ApiError, ApiResult};
use crate::form::leaf;
use crate::params::Params;
use crate::ratelimit::Bucket;

const PUSH: &[&str] = &["push"];

/// The access token as sent (the push payload carries it, as Mastodon's does).
pub struct SentToken(Option<String>);

impl FromRequestParts<AppState> for SentToken {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(SentToken(bearer(parts)))
    }
}

/// `a[b][c]` of the parameters: nested objects (form and JSON bodies alike).
fn at<'a>(p: &'a Params, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut v = p.0.get(*first)?;
    for key in rest {
        v = v.as_object()?.get(*key)?;
    }
    Some(v)
}

fn string_at(p: &Params, path: &[&str]) -> ApiResult<Option<String>> {
    match at(p, path) {
        None => Ok(None),
        Some(v) => leaf::string(v).map_err(|why| {
            ApiError::unprocessable(format!("Validation failed: {} {why}", path.join(".")))
        }),
    }
}

/// `data[alerts][name]` as (name, on) pairs, for the alert names Mastodon knows;
/// a value that is not a boolean is a 422.
fn alerts(p: &Params) -> ApiResult<Vec<(String, bool)>> {
    let Some(map) = at(p, &["data", "alerts"]) else {
        return Ok(vec![]);
    };
    let Some(map) = map.as_object() else {
        return Err(ApiError::unprocessable(
            "Validation failed: data.alerts must be a hash",
        ));
    };
    let mut out = Vec::new();
    for (name, v) in map {
        if !ALERTS.contains(&name.as_str()) {
            continue;
        }
        let on = leaf::bool(v)
            .map_err(|why| {
                ApiError::unprocessable(format!("Validation failed: data.alerts.{name} {why}"))
            })?
            .unwrap_or(false);
        out.push((name.clone(), on));
    }
    Ok(out)
}

/// Checks a push endpoint: an https URL with a host and no credentials (plain http
/// only where the server may talk http to peers, `federation.allow_http`: tests and
/// private networks).
fn check_endpoint(state: &AppState, endpoint: &str) -> ApiResult<()> {
    let bad = |why: &str| ApiError::unprocessable(format!("Validation failed: Endpoint {why}"));
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(bad("is too long"));
    }
    let url = url::Url::parse(endpoint).map_err(|_| bad("is not a URL"))?;
    let http_allowed = state
        .federation
        .as_ref()
        .is_some_and(|f| f.settings.allow_http);
    match url.scheme() {
        "https" => {}
        "http" if http_allowed => {}
        _ => return Err(bad("must be an https URL")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    Ok(())
}

/// `POST /api/v1/push/subscription`: subscribes this token (replacing its subscription).
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    SentToken(token): SentToken,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(PUSH)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let token = token.ok_or_else(ApiError::unauthorized)?;
    let endpoint = string_at(&p, &["subscription", "endpoint"])?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::unprocessable("Validation failed: Endpoint can't be blank"))?;
    let endpoint = endpoint.trim().to_string();
    check_endpoint(&state, &endpoint)?;
    let p256dh = string_at(&p, &["subscription", "keys", "p256dh"])?.unwrap_or_default();
    let auth_secret = string_at(&p, &["subscription", "keys", "auth"])?.unwrap_or_default();
    sluice_federation::push::check_keys(&p256dh, &auth_secret)
        .map_err(|why| ApiError::unprocessable(format!("Validation failed: {why}")))?;
    let standard = match at(&p, &["subscription", "standard"]) {
        Some(v) => leaf::bool(v)
            .map_err(|why| {
                ApiError::unprocessable(format!("Validation failed: subscription.standard {why}"))
            })?
            .unwrap_or(false),
        None => false,
    };
    let policy = string_at(&p, &["data", "policy"])?.unwrap_or_else(|| "all".into());
    let on: Vec<String> = alerts(&p)?
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name)
        .collect();
    let row = state
        .engine
        .create_push_subscription(
            me.account_id,
            me.token_id,
            &token,
            NewPushSubscription {
                endpoint,
                p256dh: p256dh.trim().to_string(),
                auth: auth_secret.trim().to_string(),
                alerts: on,
                policy,
                standard,
            },
        )
        .await?;
    Ok(Json(state.engine.push_subscription_entity(&row)))
}

/// `GET /api/v1/push/subscription`: this token's subscription (404 when none).
pub async fn show(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(PUSH)?;
    let row = state
        .engine
        .push_subscription(me.token_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(state.engine.push_subscription_entity(&row)))
}

/// `PUT /api/v1/push/subscription`: changes `data[alerts][…]` and `data[policy]`.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(PUSH)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let changes = alerts(&p)?;
    let policy = string_at(&p, &["data", "policy"])?;
    let row = state
        .engine
        .update_push_subscription(me.token_id, &changes, policy.as_deref())
        .await?;
    Ok(Json(state.engine.push_subscription_entity(&row)))
}

/// `DELETE /api/v1/push/subscription`: unsubscribes this token (`{}`, also when it had
/// no subscription, as Mastodon answers).
pub async fn destroy(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(PUSH)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    state.engine.delete_push_subscription(me.token_id).await?;
    Ok(Json(json!({})))
}
