//! Notifications (list with type filters, show, dismiss, clear) and read markers.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use sluice_engine::rows::NotificationFilter;
use sluice_model::Id;

use super::accounts::path_id;
use super::scopes::*;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT, link_header};
use crate::params::Params;

/// Notification types Mastodon 4.3 defines (and 4.5's quotes); unknown ones in
/// filters are ignored.
pub(super) const TYPES: &[&str] = &[
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
    "severed_relationships",
    "moderation_warning",
    // Pleroma's and Akkoma's emoji reactions.
    "pleroma:emoji_reaction",
    "quote",
    "quoted_update",
];
const MARKER_TIMELINES: &[&str] = &["home", "notifications"];

/// `GET /api/v1/notifications`'s filters (paging apart).
#[derive(Debug, Deserialize)]
struct NotificationsForm {
    #[serde(default, deserialize_with = "field::list")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "field::list")]
    exclude_types: Vec<String>,
    #[serde(default, deserialize_with = "field::id")]
    account_id: Option<Id>,
}

/// `GET /api/v1/markers`: the timelines asked for.
#[derive(Debug, Deserialize)]
struct MarkersForm {
    #[serde(default, deserialize_with = "field::list")]
    timeline: Vec<String>,
}

/// `POST /api/v1/markers`: `home[last_read_id]`, `notifications[last_read_id]`.
#[derive(Debug, Deserialize)]
struct SetMarkersForm {
    #[serde(default, deserialize_with = "field::object")]
    home: MarkerForm,
    #[serde(default, deserialize_with = "field::object")]
    notifications: MarkerForm,
}

/// One timeline's marker.
#[derive(Debug, Default, Deserialize)]
struct MarkerForm {
    #[serde(default, deserialize_with = "field::id")]
    last_read_id: Option<Id>,
}

/// The types of `list` this server knows, the others dropped.
pub(super) fn known(list: Vec<String>) -> Vec<String> {
    list.into_iter()
        .filter(|t| TYPES.contains(&t.as_str()))
        .collect()
}

pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_NOTIFICATIONS)?;
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let form: NotificationsForm = p.parse()?;
    let types = known(form.types.clone());
    if !form.types.is_empty() && types.is_empty() {
        // Only unknown types asked for: nothing matches.
        return Ok((axum::http::HeaderMap::new(), Json(vec![])));
    }
    let filter = NotificationFilter {
        types,
        exclude_types: known(form.exclude_types),
        account_id: form.account_id,
    };
    let out = state
        .engine
        .notifications_page(me.account_id, &filter, page)
        .await?;
    let headers = link_header(state.base(), &uri, &page, &out.cursors);
    Ok((headers, Json(out.notifications)))
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_NOTIFICATIONS)?;
    let n = state
        .engine
        .notification(me.account_id, path_id(&id)?)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(n))
}

pub async fn dismiss(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_NOTIFICATIONS)?;
    if !state
        .engine
        .dismiss_notification(me.account_id, path_id(&id)?)
        .await?
    {
        return Err(ApiError::not_found());
    }
    Ok(Json(json!({})))
}

pub async fn clear(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_NOTIFICATIONS)?;
    state.engine.clear_notifications(me.account_id).await?;
    Ok(Json(json!({})))
}

pub async fn markers(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(&["read:statuses", "read:notifications"])?;
    let form: MarkersForm = p.parse()?;
    let asked: Vec<&str> = form
        .timeline
        .iter()
        .map(String::as_str)
        .filter(|t| MARKER_TIMELINES.contains(t))
        .collect();
    Ok(Json(state.engine.markers(me.account_id, &asked).await?))
}

pub async fn set_markers(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(&["write:statuses", "write:notifications"])?;
    let form: SetMarkersForm = p.parse()?;
    let mut saved = Vec::new();
    for (timeline, marker) in [("home", form.home), ("notifications", form.notifications)] {
        if let Some(id) = marker.last_read_id {
            state.engine.set_marker(me.account_id, timeline, id).await?;
            saved.push(timeline);
        }
    }
    if saved.is_empty() {
        return Err(ApiError::bad_request(
            "home[last_read_id] or notifications[last_read_id] is required",
        ));
    }
    Ok(Json(state.engine.markers(me.account_id, &saved).await?))
}
