//! Mastodon's streaming API, routing and authorization: `GET /api/v1/streaming/:stream`
//! (server-sent events: `user`, `user/notification`, `direct`, `public`,
//! `public/local`, `public/remote`, `hashtag`, `hashtag/local`, `list?list=ID`, each
//! with `?only_media=true` or a `/media` variant where Mastodon has one) and
//! `GET /api/v1/streaming` (WebSocket). [`plan`] checks tokens and scopes as Mastodon's
//! streaming server does; the protocols themselves (SSE framing and headers, the
//! WebSocket handshake and loop) are `sluice_streaming`'s.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sluice_engine::oauth::Session;
use sluice_streaming::{
    Handshake, Hub, Refusal, SseOptions, SseStream, StreamKind, Subscriptions, WsStream,
};

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

/// What a streaming request becomes once it passed every check.
pub enum Plan {
    Sse(SseStream),
    Ws(WsStream<Subscriber>),
}

/// What a WebSocket's token may subscribe to ([`Subscriptions`]): the checks of
/// [`plan`], again for each `subscribe` command.
pub struct Subscriber {
    state: AppState,
    session: Session,
}

impl Subscriptions for Subscriber {
    async fn check(
        &self,
        name: &str,
        tag: Option<&str>,
        list: Option<&str>,
    ) -> Result<StreamKind, Refusal> {
        subscription(&self.state, &self.session, name, tag, list).await
    }
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
    let Some(stream) = StreamKind::named(&name, q.tag.as_deref(), q.list.as_deref(), only_media)
    else {
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
    Ok(Plan::Sse(SseStream {
        hub,
        stream,
        me: session.account_id,
        options: SseOptions {
            heartbeat: state.config.streaming_heartbeat,
            last_event_id,
        },
    }))
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
            sluice_streaming::sse_headers(res.headers_mut());
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
            p.response_headers(res.headers_mut());
            tokio::spawn(async move {
                match on_upgrade.await {
                    Ok(upgraded) => p.serve(hyper_util::rt::TokioIo::new(upgraded)).await,
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
) -> Result<WsStream<Subscriber>, Response> {
    let handshake =
        Handshake::check(headers).map_err(|(status, message)| refuse(status, message))?;
    let session = match auth {
        Ok(Auth(Some(s))) => Some(s),
        Ok(Auth(None)) => match &handshake.protocol {
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
    Ok(WsStream {
        hub,
        handshake,
        me: session.account_id,
        first,
        last_event_id: q.last_event_id,
        subscriptions: Subscriber {
            state: state.clone(),
            session,
        },
    })
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
    match state.engine.list(me, *id).await {
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
    let kind = StreamKind::named(name, tag, list, false)
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
