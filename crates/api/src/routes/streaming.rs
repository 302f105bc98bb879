//! Mastodon's streaming API over server-sent events: `GET /api/v1/streaming/:stream`
//! (`user`, `user/notification`, `public`, `public/local`, `public/remote`, `hashtag`,
//! `hashtag/local`, each with `?only_media=true` or a `/media` variant where Mastodon
//! has one). Sluice extension: every event carries its id (`id:`), and a client that
//! reconnects with `Last-Event-ID` (or `?last_event_id=`) first gets what it missed.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sluice_streaming::{SseOptions, StreamKind, sse_stream};

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::scopes::{READ_NOTIFICATIONS, READ_STATUSES};

#[derive(Deserialize, Default)]
pub struct StreamQuery {
    tag: Option<String>,
    only_media: Option<String>,
    last_event_id: Option<i64>,
}

/// `GET /api/v1/streaming/health`
pub async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain")], "OK")
}

/// A refusal as Mastodon's streaming server gives it: the status, a JSON error body,
/// and the message again in `X-Error-Message`.
fn refuse(status: StatusCode, message: &str) -> Response {
    let mut res = ApiError::new(status, message).into_response();
    if let Ok(v) = HeaderValue::from_str(message) {
        res.headers_mut().insert("x-error-message", v);
    }
    res
}

/// `GET /api/v1/streaming/*stream`
pub async fn sse(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<String>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(hub) = state.streaming.clone() else {
        return refuse(StatusCode::NOT_FOUND, "Streaming is off");
    };
    let only_media = matches!(q.only_media.as_deref(), Some("true" | "1"));
    let name = path.trim_matches('/').replace('/', ":");
    let Some(stream) = StreamKind::parse(&name, q.tag.as_deref(), only_media) else {
        return refuse(StatusCode::BAD_REQUEST, "Unknown stream type");
    };
    let session = match auth {
        Ok(Auth(Some(s))) => s,
        Ok(Auth(None)) => return refuse(StatusCode::UNAUTHORIZED, "Missing access token"),
        Err(_) => return refuse(StatusCode::UNAUTHORIZED, "Invalid access token"),
    };
    let needed = match stream {
        StreamKind::UserNotification => READ_NOTIFICATIONS,
        _ => READ_STATUSES,
    };
    if !session.scopes.allows_any(needed) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Access token does not have the required scopes",
        );
    }
    if stream.needs_user() && session.account_id.is_none() {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "This stream requires a token of a signed-in user",
        );
    }
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(q.last_event_id);
    let body = sse_stream(
        hub,
        stream,
        session.account_id,
        SseOptions {
            heartbeat: state.config.streaming_heartbeat,
            last_event_id,
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-store"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
