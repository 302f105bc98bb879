//! Mastodon 4.3's grouped notifications (`/api/v2/notifications`, one group, its
//! accounts, dismissing it), unread counts (v1 and v2), and the notification policy
//! and requests. The grouping is the engine's (`read/notification_groups.rs`).
//!
//! This server never filters notifications into requests: every notification goes to
//! the list. So the policy accepts everything, its summary counts are 0, the requests
//! list is empty (correct only because nothing is ever filtered) and a request id is
//! never found; `include_filtered` changes nothing. A policy asking to filter or drop
//! is refused (422) rather than stored and then not applied.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_engine::read::notification_groups::GROUPABLE_TYPES;
use sluice_engine::rows::NotificationFilter;
use sluice_model::{Id, api};

use super::notifications::known;
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, link_header_span};
use crate::params::Params;

/// Groups per page (Mastodon: 40, at most 80).
const DEFAULT_GROUPS: i64 = 40;
const MAX_GROUPS: i64 = 80;
/// What an unread count counts up to (Mastodon: 100, at most 1000).
const DEFAULT_UNREAD: i64 = 100;
const MAX_UNREAD: i64 = 1000;
/// The policy values Mastodon takes; only `accept` is honoured here.
const POLICY_VALUES: &[&str] = &["accept", "filter", "drop"];
const POLICY_FIELDS: &[&str] = &[
    "for_not_following",
    "for_not_followers",
    "for_new_accounts",
    "for_private_mentions",
    "for_limited_accounts",
];
const V1_POLICY_FIELDS: &[&str] = &[
    "filter_not_following",
    "filter_not_followers",
    "filter_new_accounts",
    "filter_private_mentions",
];

/// The filters of the notification lists and counts (paging apart).
#[derive(Debug, Deserialize)]
struct ListForm {
    #[serde(default, deserialize_with = "field::list")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "field::list")]
    exclude_types: Vec<String>,
    #[serde(default, deserialize_with = "field::id")]
    account_id: Option<Id>,
    #[serde(default, deserialize_with = "field::list")]
    grouped_types: Vec<String>,
    #[serde(default, deserialize_with = "field::string")]
    expand_accounts: Option<String>,
    /// Accepted and without effect: nothing is ever filtered into requests.
    #[serde(default, deserialize_with = "field::bool")]
    #[allow(dead_code)]
    include_filtered: Option<bool>,
    #[serde(default, deserialize_with = "field::int")]
    limit: Option<i64>,
}

impl ListForm {
    /// The store's filter; None when only unknown types are asked for (nothing
    /// matches).
    fn filter(&self) -> Option<NotificationFilter> {
        let types = known(self.types.clone());
        if !self.types.is_empty() && types.is_empty() {
            return None;
        }
        Some(NotificationFilter {
            types,
            exclude_types: known(self.exclude_types.clone()),
            account_id: self.account_id,
        })
    }

    /// The types to group: those asked for that can be grouped, all of those when
    /// none is asked for.
    fn grouped(&self) -> Vec<String> {
        let asked: Vec<String> = self
            .grouped_types
            .iter()
            .filter(|t| GROUPABLE_TYPES.contains(&t.as_str()))
            .cloned()
            .collect();
        if self.grouped_types.is_empty() {
            GROUPABLE_TYPES.iter().map(|t| t.to_string()).collect()
        } else {
            asked
        }
    }

    fn partial(&self) -> bool {
        self.expand_accounts.as_deref() == Some("partial_avatars")
    }
}

/// `GET /api/v2/notifications`.
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_NOTIFICATIONS)?;
    let page = paging::page(&p, DEFAULT_GROUPS, MAX_GROUPS)?;
    let form: ListForm = p.parse()?;
    let Some(filter) = form.filter() else {
        let empty = api::GroupedNotifications {
            partial_accounts: form.partial().then(Vec::new),
            ..Default::default()
        };
        return Ok((HeaderMap::new(), Json(empty)));
    };
    let out = state
        .engine
        .grouped_notifications_page(
            me.account_id,
            &filter,
            &form.grouped(),
            form.partial(),
            page,
        )
        .await?;
    let headers = match (out.newest, out.oldest) {
        (Some(newest), Some(oldest)) => {
            link_header_span(state.base(), &uri, newest, oldest, out.more)
        }
        _ => HeaderMap::new(),
    };
    Ok((headers, Json(out.body)))
}

/// `GET /api/v2/notifications/:group_key`.
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_NOTIFICATIONS)?;
    let group = state
        .engine
        .notification_group(me.account_id, &key)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(group))
}

/// `GET /api/v2/notifications/:group_key/accounts`.
pub async fn accounts(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_NOTIFICATIONS)?;
    let accounts = state
        .engine
        .notification_group_accounts(me.account_id, &key)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(accounts))
}

/// `POST /api/v2/notifications/:group_key/dismiss`.
pub async fn dismiss(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_NOTIFICATIONS)?;
    if !state
        .engine
        .dismiss_notification_group(me.account_id, &key)
        .await?
    {
        return Err(ApiError::not_found());
    }
    Ok(Json(json!({})))
}

/// `GET /api/v1/notifications/unread_count`: notifications newer than the
/// `notifications` read marker.
pub async fn unread_count_v1(
    state: State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    unread_count(state, auth, p, false).await
}

/// `GET /api/v2/notifications/unread_count`: notification groups newer than the
/// `notifications` read marker.
pub async fn unread_count_v2(
    state: State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    unread_count(state, auth, p, true).await
}

async fn unread_count(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
    grouped: bool,
) -> ApiResult<Json<Value>> {
    let me = auth.user(READ_NOTIFICATIONS)?;
    let form: ListForm = p.parse()?;
    let limit = form.limit.unwrap_or(DEFAULT_UNREAD).clamp(1, MAX_UNREAD);
    let Some(filter) = form.filter() else {
        return Ok(Json(json!({ "count": 0 })));
    };
    let types = form.grouped();
    let count = state
        .engine
        .unread_notifications_count(
            me.account_id,
            &filter,
            grouped.then_some(types.as_slice()),
            limit,
        )
        .await?;
    Ok(Json(json!({ "count": count })))
}

/// The policy's summary: nothing is ever pending.
fn summary() -> Value {
    json!({ "pending_requests_count": 0, "pending_notifications_count": 0 })
}

/// `GET /api/v2/notifications/policy`.
pub async fn policy_v2(auth: Auth) -> ApiResult<impl IntoResponse> {
    auth.user(READ_NOTIFICATIONS)?;
    Ok(Json(policy_v2_body()))
}

fn policy_v2_body() -> Value {
    let mut body = serde_json::Map::new();
    for f in POLICY_FIELDS {
        body.insert(f.to_string(), json!("accept"));
    }
    body.insert("summary".into(), summary());
    Value::Object(body)
}

/// `PATCH /api/v2/notifications/policy`: `accept` is what this server does; `filter`
/// and `drop` are refused (422), as it does not filter notifications.
pub async fn update_policy_v2(auth: Auth, p: Params) -> ApiResult<impl IntoResponse> {
    auth.user(WRITE_NOTIFICATIONS)?;
    let form: serde_json::Map<String, Value> = p.parse()?;
    for f in POLICY_FIELDS {
        let Some(v) = form.get(*f) else { continue };
        let v = crate::form::leaf::string(v)
            .map_err(|e| ApiError::unprocessable(format!("Validation failed: {f} {e}")))?
            .unwrap_or_default();
        if !POLICY_VALUES.contains(&v.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "Validation failed: {f} is not included in the list"
            )));
        }
        if v != "accept" {
            return Err(ApiError::unprocessable(format!(
                "Validation failed: {f}: this server does not filter notifications"
            )));
        }
    }
    Ok(Json(policy_v2_body()))
}

/// `GET /api/v1/notifications/policy`.
pub async fn policy_v1(auth: Auth) -> ApiResult<impl IntoResponse> {
    auth.user(READ_NOTIFICATIONS)?;
    Ok(Json(policy_v1_body()))
}

fn policy_v1_body() -> Value {
    let mut body = serde_json::Map::new();
    for f in V1_POLICY_FIELDS {
        body.insert(f.to_string(), json!(false));
    }
    body.insert("summary".into(), summary());
    Value::Object(body)
}

/// `PATCH /api/v1/notifications/policy`: false is what this server does; true is
/// refused (422).
pub async fn update_policy_v1(auth: Auth, p: Params) -> ApiResult<impl IntoResponse> {
    auth.user(WRITE_NOTIFICATIONS)?;
    let form: serde_json::Map<String, Value> = p.parse()?;
    for f in V1_POLICY_FIELDS {
        let Some(v) = form.get(*f) else { continue };
        let on = crate::form::leaf::bool(v)
            .map_err(|e| ApiError::unprocessable(format!("Validation failed: {f} {e}")))?;
        if on == Some(true) {
            return Err(ApiError::unprocessable(format!(
                "Validation failed: {f}: this server does not filter notifications"
            )));
        }
    }
    Ok(Json(policy_v1_body()))
}

/// `GET /api/v1/notifications/requests`: always empty, as no notification is ever
/// filtered into a request here.
pub async fn requests(auth: Auth) -> ApiResult<impl IntoResponse> {
    auth.user(READ_NOTIFICATIONS)?;
    Ok(Json(json!([])))
}

/// `GET /api/v1/notifications/requests/:id` and its accept and dismiss: there are no
/// requests, so none is found.
pub async fn request(auth: Auth, Path(_id): Path<String>) -> ApiResult<Json<Value>> {
    auth.user(READ_NOTIFICATIONS)?;
    Err(ApiError::not_found())
}

/// `POST /api/v1/notifications/requests/:id/accept` and `…/dismiss`.
pub async fn act_on_request(auth: Auth, Path(_id): Path<String>) -> ApiResult<Json<Value>> {
    auth.user(WRITE_NOTIFICATIONS)?;
    Err(ApiError::not_found())
}

/// `POST /api/v1/notifications/requests/accept` and `…/dismiss` (by `id[]`): there
/// is nothing to act on.
pub async fn act_on_requests(auth: Auth) -> ApiResult<impl IntoResponse> {
    auth.user(WRITE_NOTIFICATIONS)?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/notifications/requests/merged`: accepted requests are always merged,
/// there being none.
pub async fn requests_merged(auth: Auth) -> ApiResult<impl IntoResponse> {
    auth.user(READ_NOTIFICATIONS)?;
    Ok(Json(json!({ "merged": true })))
}
