//! Mastodon's streaming API over a WebSocket (`GET /api/v1/streaming`): the
//! handshake's checks and answer, then one loop per socket that reads the client's
//! commands (`subscribe`/`unsubscribe`), sends the events of its subscriptions, pings
//! and closes (1003 on a binary frame, 1008 when it fell behind, 1012 when the server
//! stops, 1013 when the database failed it). tungstenite is driven directly on the
//! connection, with small buffers.
//!
//! Who may subscribe to what (tokens, scopes, list ownership) is the caller's
//! ([`Subscriptions`]): this module only speaks the protocol.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use sluice_model::Id;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

use crate::feed::{Feed, FeedItem};
use crate::filter::StreamKind;
use crate::hub::Hub;
use crate::sse::heartbeat;
use crate::stats::{ConnectionGuard, Protocol};

/// Pings a WebSocket this often; one that answered no ping in two periods is closed.
const PING: Duration = Duration::from_secs(30);
/// Largest client message (subscribe/unsubscribe commands are tiny).
const MAX_MESSAGE: usize = 4096;
/// Bytes read from a WebSocket at once.
const READ_BUFFER: usize = 1024;
/// Most bytes queued for a slow WebSocket reader before the connection fails.
const MAX_WRITE_BUFFER: usize = 1 << 20;
/// Streams one WebSocket may be subscribed to at once.
const MAX_SUBSCRIPTIONS: usize = 32;

/// A refusal: the status and the message, as Mastodon's streaming server gives them.
pub type Refusal = (StatusCode, &'static str);

/// Who may subscribe to what: the caller's checks of the connection's token.
pub trait Subscriptions: Send + Sync + 'static {
    /// The stream `name` (`public:local`, `hashtag` with `tag`, `list` with `list`, …)
    /// when this connection may subscribe to it, or why not.
    fn check(
        &self,
        name: &str,
        tag: Option<&str>,
        list: Option<&str>,
    ) -> impl Future<Output = Result<StreamKind, Refusal>> + Send;
}

/// The WebSocket handshake of a request, checked: what the 101 answers with.
pub struct Handshake {
    /// `Sec-WebSocket-Accept`.
    accept: String,
    /// The first `Sec-WebSocket-Protocol` offered: masto.js sends its token there,
    /// and expects it echoed in the 101.
    pub protocol: Option<String>,
}

impl Handshake {
    /// Checks the upgrade headers (`Connection: upgrade`, `Upgrade: websocket`,
    /// version 13, a key).
    pub fn check(headers: &HeaderMap) -> Result<Handshake, Refusal> {
        let has_token = |name: header::HeaderName, want: &str| {
            headers.get_all(name).iter().any(|v| {
                v.to_str()
                    .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(want)))
            })
        };
        if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
            return Err((
                StatusCode::BAD_REQUEST,
                "A WebSocket upgrade is expected here",
            ));
        }
        if headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|v| v.as_bytes() != b"13")
        {
            return Err((
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Version 13 is required",
            ));
        }
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
            return Err((StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing"));
        };
        let protocol = headers
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        Ok(Handshake {
            accept: derive_accept_key(key.as_bytes()),
            protocol,
        })
    }
}

/// A WebSocket that passed every check, about to be subscribed and answered.
pub struct WsStream<S> {
    pub hub: Arc<Hub>,
    pub handshake: Handshake,
    /// The token's user (None for an app token).
    pub me: Option<Id>,
    /// The stream of `?stream=`, checked.
    pub first: Option<StreamKind>,
    /// Resume after this event id (`?last_event_id=`).
    pub last_event_id: Option<i64>,
    pub subscriptions: S,
}

impl<S: Subscriptions> WsStream<S> {
    /// Subscribes to the events (the user's relations loaded), before the 101 is
    /// sent: whatever is committed once the client has its answer reaches it.
    pub async fn subscribe(self) -> WsReady<S> {
        let feed = Box::pin(Feed::new(self.hub.clone(), self.me, self.last_event_id)).await;
        WsReady { ws: self, feed }
    }
}

/// A WebSocket subscribed to the events, ready to be answered with 101 and served.
pub struct WsReady<S> {
    ws: WsStream<S>,
    feed: Feed,
}

impl<S: Subscriptions> WsReady<S> {
    /// The headers of the 101 answer: `Upgrade`, `Connection`, the accept key and the
    /// echoed protocol.
    pub fn response_headers(&self, h: &mut HeaderMap) {
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        if let Ok(v) = HeaderValue::from_str(&self.ws.handshake.accept) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
        }
        if let Some(v) =
            (self.ws.handshake.protocol.as_deref()).and_then(|p| HeaderValue::from_str(p).ok())
        {
            h.insert(header::SEC_WEBSOCKET_PROTOCOL, v);
        }
    }

    /// Answers 101 on `io`, a connection whose request head was read, and serves the
    /// WebSocket on it.
    pub async fn answer_and_serve<IO>(self, mut io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send,
    {
        // In a block so that the header map is freed here: a variable of this function
        // lives as long as the connection it serves.
        let head = {
            let mut headers = HeaderMap::new();
            self.response_headers(&mut headers);
            crate::sse::http1_head(StatusCode::SWITCHING_PROTOCOLS, &headers)
        };
        if io.write_all(&head).await.is_err() {
            return;
        }
        drop(head);
        self.serve(io).await
    }

    /// Serves the WebSocket on `io`, the connection after the 101.
    pub async fn serve<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config())).await;
        let WsReady { ws, feed } = self;
        Box::pin(serve_socket(socket, ws, feed)).await
    }
}

/// Small, deliberate buffers: clients only send tiny commands, and every open
/// WebSocket holds these. Events do not go through tungstenite's write buffer at all
/// ([`send_frame`]).
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

/// `message` as a whole server frame (final, unmasked text), header included: the
/// same bytes for every connection.
pub(crate) fn text_frame(message: Vec<u8>) -> Bytes {
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    let mut frame = Vec::with_capacity(header.len(message.len() as u64) + message.len());
    // Writing to a Vec does not fail.
    let _ = header.format(message.len() as u64, &mut frame);
    frame.extend_from_slice(&message);
    Bytes::from(frame)
}

/// Sends a frame built once for every connection ([`crate::Event::ws_frame`]) as it
/// is: whatever tungstenite has queued (a pong) goes first, then the frame, in one
/// write, straight to the connection, without a copy into a buffer of the socket's
/// own.
async fn send_frame<IO>(socket: &mut WebSocketStream<IO>, frame: &[u8]) -> bool
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    if socket.flush().await.is_err() {
        return false;
    }
    socket.get_mut().write_all(frame).await.is_ok()
}

async fn serve_socket<IO, S>(mut socket: WebSocketStream<IO>, ws: WsStream<S>, mut feed: Feed)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
    S: Subscriptions,
{
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        }))
    };
    let hub = ws.hub;
    let mut stats = hub.stats().connect(Protocol::WebSocket, hub.head());
    let mut subscriptions: Vec<StreamKind> = ws.first.into_iter().collect();
    for kind in &subscriptions {
        stats.subscribe(kind);
    }
    let mut shutdown = hub.streams_ended();
    let mut ping = heartbeat(PING);
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
                    Box::pin(command(&ws.subscriptions, text.as_str(), &mut subscriptions, &mut stats))
                        .await
                        .map(|e| Message::Text(e.into()))
                }
            },
            item = feed.next() => match item {
                FeedItem::Event(event) => {
                    stats.taken(event.id);
                    // One message per subscription the event belongs to, as Mastodon.
                    for kind in &subscriptions {
                        if let Some(payload) = feed.relations().payload(kind, &event) {
                            stats.sent(1);
                            if !send_frame(&mut socket, &event.ws_frame(kind, &payload)).await {
                                return;
                            }
                        }
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
                if last_pong.elapsed() > PING * 2 + Duration::from_secs(5) {
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
async fn command<S: Subscriptions>(
    allowed: &S,
    text: &str,
    subscriptions: &mut Vec<StreamKind>,
    stats: &mut ConnectionGuard,
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
        Some("subscribe") => match allowed.check(name, tag, list).await {
            Ok(kind) => {
                if subscriptions.len() >= MAX_SUBSCRIPTIONS {
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
        Some("unsubscribe") => match StreamKind::named(name, tag, list, false) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_frames_are_final_unmasked_and_sized() {
        let f = text_frame(b"hi".to_vec());
        assert_eq!(&f[..], &[0x81, 2, b'h', b'i']);
        let long = text_frame(vec![b'a'; 300]);
        assert_eq!(&long[..4], &[0x81, 126, 1, 44]);
        assert_eq!(long.len(), 304);
    }
}
