//! Mastodon's streaming API over server-sent events: `GET /api/v1/streaming/:stream`
//! (`user`, `user/notification`, `direct`, `public`, `public/local`, `public/remote`,
//! `hashtag`, `hashtag/local`, `list?list=ID`, each with `?only_media=true` or a
//! `/media` variant where Mastodon has one). Sluice extension: every event carries its
//! id (`id:`), and a client that
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
    list: Option<String>,
    only_media: Option<String>,
    last_event_id: Option<i64>,
}

/// `GET /api/v1/streaming/health`
pub async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain")], "OK")
}

/// `GET /api/v1/streaming/status`: connections (configured on, metrics token).
pub async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    crate::metrics::streaming_status(&state, &headers, crate::metrics::StatusView::Total).await
}

/// `GET /api/v1/streaming/status/per_timeline`
pub async fn status_per_timeline(State(state): State<AppState>, headers: HeaderMap) -> Response {
    crate::metrics::streaming_status(&state, &headers, crate::metrics::StatusView::PerTimeline)
        .await
}

/// `GET /api/v1/streaming/status/queue`
pub async fn status_queue(State(state): State<AppState>, headers: HeaderMap) -> Response {
    crate::metrics::streaming_status(&state, &headers, crate::metrics::StatusView::Queue).await
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
    let Some(stream) = parse_stream(&name, q.tag.as_deref(), q.list.as_deref(), only_media) else {
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
    if let Err((status, message)) = check_list(&state, &session, &stream).await {
        return refuse(status, message);
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

#[derive(Deserialize, Default)]
pub struct WsQuery {
    stream: Option<String>,
    tag: Option<String>,
    list: Option<String>,
    last_event_id: Option<i64>,
}

/// Pings a WebSocket this often; one that answered no ping in two periods is closed.
const WS_PING: std::time::Duration = std::time::Duration::from_secs(30);
/// Largest client message (subscribe/unsubscribe commands are tiny).
const WS_MAX_MESSAGE: usize = 4096;
/// Streams one WebSocket may be subscribed to at once.
const WS_MAX_SUBSCRIPTIONS: usize = 32;

/// `GET /api/v1/streaming` upgraded to a WebSocket: the token from
/// `Authorization: Bearer`, `?access_token=` or `Sec-WebSocket-Protocol` (echoed in
/// the 101, as masto.js needs); `?stream=` (and `tag`) subscribes at once; then
/// `{"type":"subscribe"|"unsubscribe","stream":…,"tag":…}` messages. Each event is
/// `{"stream":[…],"event":…,"payload":"<JSON string>","id":N}`.
pub async fn websocket(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Query(q): Query<WsQuery>,
    ws: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    let Some(hub) = state.streaming.clone() else {
        return refuse(StatusCode::NOT_FOUND, "Streaming is off");
    };
    // A token offered as the subprotocol, when none came otherwise.
    let protocol_token = ws
        .requested_protocols()
        .next()
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let session = match auth {
        Ok(Auth(Some(s))) => Some(s),
        Ok(Auth(None)) => match &protocol_token {
            Some(t) => match state.engine.session(t).await {
                Ok(Some(s)) => Some(s),
                _ => return refuse(StatusCode::UNAUTHORIZED, "Invalid access token"),
            },
            None => None,
        },
        Err(_) => return refuse(StatusCode::UNAUTHORIZED, "Invalid access token"),
    };
    let Some(session) = session else {
        return refuse(StatusCode::UNAUTHORIZED, "Missing access token");
    };
    if !session
        .scopes
        .allows_any(&["read:statuses", "read:notifications"])
    {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Access token does not have the required scopes",
        );
    }
    let first = match q.stream.as_deref() {
        Some(name) => {
            match subscription(&state, &session, name, q.tag.as_deref(), q.list.as_deref()).await {
                Ok(kind) => Some(kind),
                Err((status, message)) => return refuse(status, message),
            }
        }
        None => None,
    };
    let ws = match protocol_token {
        Some(t) => ws.protocols([t]),
        None => ws,
    };
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(WS_MAX_MESSAGE)
        .max_frame_size(WS_MAX_MESSAGE)
        .on_upgrade(move |socket| {
            serve_socket(
                socket,
                state,
                hub,
                session.account_id,
                session,
                first,
                q.last_event_id,
            )
        })
}

/// A stream by name: `list` takes the `list` parameter, the others `tag`.
fn parse_stream(
    name: &str,
    tag: Option<&str>,
    list: Option<&str>,
    only_media: bool,
) -> Option<StreamKind> {
    if name == "list" {
        StreamKind::list(list)
    } else {
        StreamKind::parse(name, tag, only_media)
    }
}

/// A `list` stream is its owner's only (one query, when the stream is opened).
async fn check_list(
    state: &AppState,
    session: &sluice_engine::oauth::Session,
    kind: &StreamKind,
) -> Result<(), (StatusCode, &'static str)> {
    let StreamKind::List { id } = kind else {
        return Ok(());
    };
    let Some(me) = session.account_id else {
        return Err((StatusCode::NOT_FOUND, "List not found"));
    };
    match state.engine.store.list(me, *id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err((StatusCode::NOT_FOUND, "List not found")),
        Err(e) => {
            tracing::warn!(error = %e, "checking a list stream failed");
            Err((StatusCode::SERVICE_UNAVAILABLE, "Try again later"))
        }
    }
}

/// A stream this session may subscribe to, or why not.
async fn subscription(
    state: &AppState,
    session: &sluice_engine::oauth::Session,
    name: &str,
    tag: Option<&str>,
    list: Option<&str>,
) -> Result<StreamKind, (StatusCode, &'static str)> {
    let kind = parse_stream(name, tag, list, false)
        .ok_or((StatusCode::BAD_REQUEST, "Unknown stream type"))?;
    let needed = match kind {
        StreamKind::UserNotification => READ_NOTIFICATIONS,
        _ => READ_STATUSES,
    };
    if !session.scopes.allows_any(needed) {
        return Err((
            StatusCode::UNAUTHORIZED,
            "Access token does not have the required scopes",
        ));
    }
    if kind.needs_user() && session.account_id.is_none() {
        return Err((
            StatusCode::UNAUTHORIZED,
            "This stream requires a token of a signed-in user",
        ));
    }
    check_list(state, session, &kind).await?;
    Ok(kind)
}

async fn serve_socket(
    mut socket: axum::extract::ws::WebSocket,
    state: AppState,
    hub: std::sync::Arc<sluice_streaming::Hub>,
    me: Option<sluice_model::Id>,
    session: sluice_engine::oauth::Session,
    first: Option<StreamKind>,
    last_event_id: Option<i64>,
) {
    use axum::extract::ws::{CloseFrame, Message};
    use sluice_streaming::{Feed, FeedItem};

    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    let mut stats = hub
        .stats()
        .connect(sluice_streaming::Protocol::WebSocket, hub.head());
    let mut subscriptions: Vec<StreamKind> = first.into_iter().collect();
    for kind in &subscriptions {
        stats.subscribe(kind);
    }
    let mut feed = Feed::new(hub.clone(), me, last_event_id).await;
    let mut shutdown = hub.shutdown();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + WS_PING, WS_PING);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_pong = tokio::time::Instant::now();
    loop {
        let outgoing: Option<Message> = tokio::select! {
            biased;
            _ = async { drop(shutdown.wait_for(|s| *s).await) } => {
                // 1012: service restart; clients reconnect and resume.
                let _ = socket.send(close(1012, "server restarting")).await;
                return;
            }
            received = socket.recv() => match received {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Binary(_))) => {
                    let _ = socket.send(close(1003, "binary messages are not accepted")).await;
                    return;
                }
                Some(Ok(Message::Pong(_))) => {
                    last_pong = tokio::time::Instant::now();
                    None
                }
                Some(Ok(Message::Ping(_))) => None,
                Some(Ok(Message::Text(text))) => {
                    command(&state, &session, text.as_str(), &mut subscriptions, &mut stats)
                        .await
                        .map(|e| Message::Text(e.into()))
                }
            },
            item = feed.next() => match item {
                FeedItem::Event(event) => {
                    stats.taken(event.id);
                    // One message per subscription the event belongs to, as Mastodon.
                    let mut sent = true;
                    for kind in &subscriptions {
                        if let Some(payload) = feed.relations().payload(kind, &event) {
                            let m = kind.ws_message_with(&event, &payload);
                            if socket.send(Message::Text(m.into())).await.is_err() {
                                sent = false;
                                break;
                            }
                            stats.sent(1);
                        }
                    }
                    if !sent {
                        return;
                    }
                    None
                }
                FeedItem::Lagged(_) => {
                    stats.lagged();
                    let _ = socket.send(close(1008, "fell too far behind; resume with last_event_id")).await;
                    return;
                }
                FeedItem::Closed => return,
            },
            _ = ping.tick() => {
                if last_pong.elapsed() > WS_PING * 2 + std::time::Duration::from_secs(5) {
                    let _ = socket.send(close(1001, "no answer to pings")).await;
                    return;
                }
                Some(Message::Ping(axum::body::Bytes::new()))
            }
        };
        if let Some(m) = outgoing
            && socket.send(m).await.is_err()
        {
            return;
        }
    }
}

/// Applies a client command; returns the error message to send, if any.
async fn command(
    state: &AppState,
    session: &sluice_engine::oauth::Session,
    text: &str,
    subscriptions: &mut Vec<StreamKind>,
    stats: &mut sluice_streaming::ConnectionGuard,
) -> Option<String> {
    let error = |status: StatusCode, message: &str| {
        Some(serde_json::json!({"error": message, "status": status.as_u16()}).to_string())
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON");
    };
    let name = v["stream"].as_str().unwrap_or("");
    let tag = v["tag"].as_str();
    // The list id as a string (Mastodon's clients) or a number.
    let list_param = v["list"]
        .as_str()
        .map(str::to_string)
        .or_else(|| v["list"].as_i64().map(|n| n.to_string()));
    let list = list_param.as_deref();
    match v["type"].as_str() {
        Some("subscribe") => match subscription(state, session, name, tag, list).await {
            Ok(kind) => {
                if subscriptions.len() >= WS_MAX_SUBSCRIPTIONS {
                    return error(StatusCode::BAD_REQUEST, "Too many subscriptions");
                }
                if !subscriptions.contains(&kind) {
                    stats.subscribe(&kind);
                    subscriptions.push(kind);
                }
                None
            }
            Err((status, message)) => error(status, message),
        },
        Some("unsubscribe") => match parse_stream(name, tag, list, false) {
            Some(kind) => {
                if subscriptions.contains(&kind) {
                    stats.unsubscribe(&kind);
                    subscriptions.retain(|k| *k != kind);
                }
                None
            }
            None => error(StatusCode::BAD_REQUEST, "Unknown stream type"),
        },
        _ => error(StatusCode::BAD_REQUEST, "Unknown message type"),
    }
}
