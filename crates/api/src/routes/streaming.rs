//! Mastodon's streaming API over server-sent events: `GET /api/v1/streaming/:stream`
//! (`user`, `user/notification`, `direct`, `public`, `public/local`, `public/remote`,
//! `hashtag`, `hashtag/local`, `list?list=ID`, each with `?only_media=true` or a
//! `/media` variant where Mastodon has one). Sluice extension: every event carries its
//! id (`id:`), and a client that
//! reconnects with `Last-Event-ID` (or `?last_event_id=`) first gets what it missed.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sluice_engine::oauth::Session;
use sluice_model::Id;
use sluice_streaming::{Feed, Hub, SseOptions, StreamKind, sse_stream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

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

/// Where the streaming API lives.
pub const STREAMING_PATH: &str = "/api/v1/streaming";

/// Whether `path` is a stream (SSE or the WebSocket endpoint), not `health` or
/// `status`: the front end may take such a request over from hyper.
pub fn is_stream_path(path: &str) -> bool {
    match path.strip_prefix(STREAMING_PATH) {
        Some("") => true,
        Some(rest) => rest.strip_prefix('/').is_some_and(|rest| {
            !rest.is_empty() && !matches!(rest.split('/').next(), Some("health" | "status"))
        }),
        None => false,
    }
}

/// An SSE stream about to be served.
pub struct SsePlan {
    hub: Arc<Hub>,
    stream: StreamKind,
    me: Option<Id>,
    options: SseOptions,
}

/// A WebSocket about to be accepted.
pub struct WsPlan {
    state: AppState,
    hub: Arc<Hub>,
    session: Session,
    first: Option<StreamKind>,
    last_event_id: Option<i64>,
    /// The token offered as subprotocol, echoed in the 101.
    protocol: Option<String>,
    /// `Sec-WebSocket-Accept`.
    accept: String,
}

/// What a streaming request becomes once it passed every check.
pub enum Plan {
    Sse(SsePlan),
    Ws(WsPlan),
}

/// Checks a streaming request (path, token, scopes, stream, list ownership, WebSocket
/// handshake headers) and says how to serve it, or the refusal to send. Shared by the
/// axum routes and the front end ([`crate::front`]), so both answer alike.
pub async fn plan(state: &AppState, parts: &mut Parts) -> Result<Plan, Response> {
    let Some(hub) = state.streaming.clone() else {
        return Err(refuse(StatusCode::NOT_FOUND, "Streaming is off"));
    };
    if !hub.accepts_streams() {
        // This process is stopping and would end the stream in a moment; a client
        // that tries again reaches a process that goes on serving.
        let mut res = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "This server is restarting: connect again",
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Err(res);
    }
    let path = parts.uri.path().to_string();
    let rest = path
        .strip_prefix(STREAMING_PATH)
        .unwrap_or("")
        .trim_matches('/')
        .to_string();
    let auth = Auth::from_request_parts(parts, state).await;
    if rest.is_empty() {
        let q = Query::<WsQuery>::try_from_uri(&parts.uri)
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "Invalid query"))?
            .0;
        return ws_plan(state, hub, auth, &parts.headers, q)
            .await
            .map(Plan::Ws);
    }
    let q = Query::<StreamQuery>::try_from_uri(&parts.uri)
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "Invalid query"))?
        .0;
    let only_media = matches!(q.only_media.as_deref(), Some("true" | "1"));
    let name = rest.replace('/', ":");
    let Some(stream) = parse_stream(&name, q.tag.as_deref(), q.list.as_deref(), only_media) else {
        return Err(refuse(StatusCode::BAD_REQUEST, "Unknown stream type"));
    };
    let session = match auth {
        Ok(Auth(Some(s))) => s,
        Ok(Auth(None)) => return Err(refuse(StatusCode::UNAUTHORIZED, "Missing access token")),
        Err(_) => return Err(refuse(StatusCode::UNAUTHORIZED, "Invalid access token")),
    };
    let needed = match stream {
        StreamKind::UserNotification => READ_NOTIFICATIONS,
        _ => READ_STATUSES,
    };
    if !session.scopes.allows_any(needed) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "Access token does not have the required scopes",
        ));
    }
    if stream.needs_user() && session.account_id.is_none() {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "This stream requires a token of a signed-in user",
        ));
    }
    if let Err((status, message)) = check_list(state, &session, &stream).await {
        return Err(refuse(status, message));
    }
    let last_event_id = parts
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(q.last_event_id);
    Ok(Plan::Sse(SsePlan {
        hub,
        stream,
        me: session.account_id,
        options: SseOptions {
            heartbeat: state.config.streaming_heartbeat,
            last_event_id,
        },
    }))
}

/// The headers of a streaming response besides the status line and framing.
pub const SSE_HEADERS: [(&str, &str); 5] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-store"),
    ("x-accel-buffering", "no"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

impl SsePlan {
    /// The body: `:)`, events, heartbeats; it ends on shutdown or when the connection
    /// falls too far behind.
    pub fn body(
        self,
    ) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::convert::Infallible>> + Send + 'static
    {
        sse_stream(self.hub, self.stream, self.me, self.options)
    }
}

impl WsPlan {
    /// Subscribes to the events (the user's relations loaded), before the 101 is
    /// sent: whatever is committed once the client has its answer reaches it.
    pub async fn subscribe(self) -> WsReady {
        let feed = Box::pin(Feed::new(
            self.hub.clone(),
            self.session.account_id,
            self.last_event_id,
        ))
        .await;
        WsReady { plan: self, feed }
    }
}

/// A WebSocket subscribed to the events, ready to be answered with 101 and served.
pub struct WsReady {
    plan: WsPlan,
    feed: Feed,
}

impl WsReady {
    /// The headers of the 101 answer (besides `Upgrade` and `Connection`).
    pub fn handshake_headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("sec-websocket-accept", self.plan.accept.clone())];
        if let Some(p) = &self.plan.protocol {
            h.push(("sec-websocket-protocol", p.clone()));
        }
        h
    }

    /// Serves the WebSocket on `io`, the connection after the 101.
    pub async fn run<S>(self, io: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config())).await;
        let WsPlan {
            state,
            hub,
            session,
            first,
            ..
        } = self.plan;
        serve_socket(socket, state, hub, session, first, self.feed).await
    }
}

/// Small, deliberate buffers: clients only send tiny commands, and every open
/// WebSocket holds these.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER)
        .max_message_size(Some(WS_MAX_MESSAGE))
        .max_frame_size(Some(WS_MAX_MESSAGE))
}

/// `GET /api/v1/streaming/*stream` and `GET /api/v1/streaming` (WebSocket) when they
/// reach the router: on a connection that served another request first, or when the
/// front end handed the request over (it does for refusals).
pub async fn stream(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    match plan(&state, &mut parts).await {
        Err(refusal) => refusal,
        Ok(Plan::Sse(p)) => {
            let mut res = Body::from_stream(p.body()).into_response();
            for (k, v) in SSE_HEADERS {
                res.headers_mut().insert(
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                );
            }
            res
        }
        Ok(Plan::Ws(p)) => {
            let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "This connection cannot be upgraded",
                );
            };
            let p = p.subscribe().await;
            let mut res = StatusCode::SWITCHING_PROTOCOLS.into_response();
            let h = res.headers_mut();
            h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            for (k, v) in p.handshake_headers() {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(header::HeaderName::from_static(k), v);
                }
            }
            tokio::spawn(async move {
                match on_upgrade.await {
                    Ok(upgraded) => p.run(hyper_util::rt::TokioIo::new(upgraded)).await,
                    Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
                }
            });
            res
        }
    }
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
/// Bytes read from a WebSocket at once.
const WS_READ_BUFFER: usize = 1024;
/// Most bytes queued for a slow WebSocket reader before the connection fails.
const WS_MAX_WRITE_BUFFER: usize = 1 << 20;
/// Streams one WebSocket may be subscribed to at once.
const WS_MAX_SUBSCRIPTIONS: usize = 32;

/// The WebSocket endpoint: the token from `Authorization: Bearer`, `?access_token=`
/// or `Sec-WebSocket-Protocol` (echoed in the 101, as masto.js needs); `?stream=`
/// (and `tag`, `list`) subscribes at once; then
/// `{"type":"subscribe"|"unsubscribe","stream":…,"tag":…}` messages. Each event is
/// `{"stream":[…],"event":…,"payload":"<JSON string>","id":N}`.
async fn ws_plan(
    state: &AppState,
    hub: Arc<Hub>,
    auth: Result<Auth, ApiError>,
    headers: &HeaderMap,
    q: WsQuery,
) -> Result<WsPlan, Response> {
    let has_token = |name: header::HeaderName, want: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(want)))
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "A WebSocket upgrade is expected here",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Version 13 is required",
        ));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Key is missing",
        ));
    };
    let accept = derive_accept_key(key.as_bytes());
    // A token offered as the subprotocol, when none came otherwise.
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let session = match auth {
        Ok(Auth(Some(s))) => Some(s),
        Ok(Auth(None)) => match &protocol {
            Some(t) => match state.engine.session(t).await {
                Ok(Some(s)) => Some(s),
                _ => return Err(refuse(StatusCode::UNAUTHORIZED, "Invalid access token")),
            },
            None => None,
        },
        Err(_) => return Err(refuse(StatusCode::UNAUTHORIZED, "Invalid access token")),
    };
    let Some(session) = session else {
        return Err(refuse(StatusCode::UNAUTHORIZED, "Missing access token"));
    };
    if !session
        .scopes
        .allows_any(&["read:statuses", "read:notifications"])
    {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "Access token does not have the required scopes",
        ));
    }
    let first = match q.stream.as_deref() {
        Some(name) => {
            match subscription(state, &session, name, q.tag.as_deref(), q.list.as_deref()).await {
                Ok(kind) => Some(kind),
                Err((status, message)) => return Err(refuse(status, message)),
            }
        }
        None => None,
    };
    Ok(WsPlan {
        state: state.clone(),
        hub,
        session,
        first,
        last_event_id: q.last_event_id,
        protocol,
        accept,
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

async fn serve_socket<S>(
    mut socket: WebSocketStream<S>,
    state: AppState,
    hub: Arc<Hub>,
    session: Session,
    first: Option<StreamKind>,
    mut feed: Feed,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    use futures_util::{SinkExt as _, StreamExt as _};
    use sluice_streaming::FeedItem;

    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
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
    let mut shutdown = hub.streams_ended();
    let mut ping = sluice_streaming::heartbeat(WS_PING);
    let mut last_pong = tokio::time::Instant::now();
    loop {
        let outgoing: Option<Message> = tokio::select! {
            biased;
            _ = async { drop(shutdown.wait_for(|s| *s).await) } => {
                // 1012: service restart; clients reconnect and resume.
                let _ = socket.send(close(1012, "server restarting")).await;
                return;
            }
            received = socket.next() => match received {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Binary(_))) => {
                    let _ = socket.send(close(1003, "binary messages are not accepted")).await;
                    return;
                }
                Some(Ok(Message::Pong(_))) => {
                    last_pong = tokio::time::Instant::now();
                    None
                }
                Some(Ok(Message::Ping(_) | Message::Frame(_))) => None,
                Some(Ok(Message::Text(text))) => {
                    Box::pin(command(&state, &session, text.as_str(), &mut subscriptions, &mut stats))
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
                            let m = kind.ws_message(&event, &payload);
                            stats.sent(1);
                            if socket.send(Message::Text(m.into())).await.is_err() {
                                sent = false;
                                break;
                            }
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
                FeedItem::Unavailable => {
                    // 1013: try again later.
                    let _ = socket.send(close(1013, "try again later; resume with last_event_id")).await;
                    return;
                }
                FeedItem::Closed => return,
            },
            _ = ping.tick() => {
                if last_pong.elapsed() > WS_PING * 2 + std::time::Duration::from_secs(5) {
                    let _ = socket.send(close(1001, "no answer to pings")).await;
                    return;
                }
                Some(Message::Ping(Default::default()))
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
