//! Server-sent events: the response's headers, `:)` at once, `id:`/`event:`/`data:`
//! per event, a comment as heartbeat, replay from `Last-Event-ID` first. Served
//! straight on the connection ([`SseStream::serve`]: HTTP/1.1 chunks, one vectored
//! write each) or as a response body for hyper ([`SseStream::body`]).

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use sluice_model::Id;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::feed::{Feed, FeedItem};
use crate::filter::StreamKind;
use crate::hub::Hub;
use crate::stats::{ConnectionGuard, Protocol};

#[derive(Debug, Clone)]
pub struct SseOptions {
    /// A comment line this often keeps proxies from closing an idle stream.
    pub heartbeat: Duration,
    /// Resume after this event id (`Last-Event-ID`).
    pub last_event_id: Option<i64>,
}

/// Longest wait for a client to take one SSE chunk; a client that reads nothing for
/// that long is disconnected (it can resume).
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// The headers of an SSE response besides the status line and the framing.
const SSE_HEADERS: [(HeaderName, &str); 5] = [
    (http::header::CONTENT_TYPE, "text/event-stream"),
    (http::header::CACHE_CONTROL, "no-store"),
    (HeaderName::from_static("x-accel-buffering"), "no"),
    (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (http::header::REFERRER_POLICY, "same-origin"),
];

/// Sets the headers of an SSE response: the one place they are written, for the
/// response hyper sends and the head [`SseStream::serve`] writes.
pub fn sse_headers(h: &mut HeaderMap) {
    for (k, v) in SSE_HEADERS {
        h.insert(k, HeaderValue::from_static(v));
    }
}

/// An HTTP/1.1 response head with `headers`.
pub(crate) fn http1_head(status: StatusCode, headers: &HeaderMap) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    head.extend_from_slice(b"\r\n");
    for (k, v) in headers {
        head.extend_from_slice(k.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(v.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// An SSE stream that passed every check, about to be served.
pub struct SseStream {
    pub hub: Arc<Hub>,
    pub stream: StreamKind,
    /// The token's user (None for an app token).
    pub me: Option<Id>,
    pub options: SseOptions,
}

impl SseStream {
    /// The body for hyper: `:)`, events, heartbeats; it ends on shutdown or when the
    /// connection falls too far behind. The response needs [`sse_headers`].
    pub fn body(self) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
        sse_stream(self.hub, self.stream, self.me, self.options)
    }

    /// Answers on `io`, a connection whose request head was read, and writes the
    /// stream straight to it, one chunk per piece, until the stream ends, the client
    /// goes away or stops reading.
    pub async fn serve<IO>(self, mut io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let mut headers = HeaderMap::new();
        sse_headers(&mut headers);
        headers.insert(
            http::header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(
            http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        // The connection ends with the stream (it ends when the server stops): a
        // client must not send its reconnection on it.
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        let head = http1_head(StatusCode::OK, &headers);
        drop(headers);
        if io.write_all(&head).await.is_err() {
            return;
        }
        drop(head);
        let mut body = std::pin::pin!(self.body());
        let mut probe = [0u8; 64];
        loop {
            tokio::select! {
                chunk = body.next() => {
                    let Some(Ok(chunk)) = chunk else {
                        let _ = tokio::time::timeout(WRITE_TIMEOUT, io.write_all(b"0\r\n\r\n")).await;
                        return;
                    };
                    match tokio::time::timeout(WRITE_TIMEOUT, write_chunk(&mut io, &chunk)).await {
                        Ok(Ok(())) => {}
                        _ => return,
                    }
                }
                // The client sends nothing on a stream; reading tells when it has gone.
                read = io.read(&mut probe) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
            }
        }
    }
}

/// Writes `data` as one HTTP/1.1 chunk: size line, data and end in one vectored
/// write (one system call, no copy; the data is often an event's message shared by
/// every connection), the rest piece by piece when the socket takes only part.
async fn write_chunk<IO>(io: &mut IO, data: &[u8]) -> std::io::Result<()>
where
    IO: AsyncWrite + Unpin,
{
    let mut size = [0u8; 18];
    let size_len = {
        use std::io::Write as _;
        let mut cursor = std::io::Cursor::new(&mut size[..]);
        write!(cursor, "{:x}\r\n", data.len())?;
        cursor.position() as usize
    };
    let parts: [&[u8]; 3] = [&size[..size_len], data, b"\r\n"];
    let slices = parts.map(std::io::IoSlice::new);
    let mut skip = io.write_vectored(&slices).await?;
    if skip == 0 {
        return Err(std::io::ErrorKind::WriteZero.into());
    }
    for part in parts {
        if skip >= part.len() {
            skip -= part.len();
            continue;
        }
        io.write_all(&part[skip..]).await?;
        skip = 0;
    }
    Ok(())
}

struct Conn {
    hub: Arc<Hub>,
    stream: StreamKind,
    me: Option<Id>,
    options: SseOptions,
    feed: Option<Feed>,
    heartbeat: Interval,
    shutdown: watch::Receiver<bool>,
    ended: bool,
    stats: ConnectionGuard,
}

/// Heartbeats and pings of all connections fall on this process-wide grid, so that
/// the runtime wakes once a second for every connection due then, not once for each
/// (thousands of wake-ups a second at 19,000 connections).
const HEARTBEAT_GRID: Duration = Duration::from_secs(1);

/// A heartbeat timer with `period` (rounded up to a whole number of seconds when
/// longer than one) that first fires after about one period, on the process-wide
/// grid ([`HEARTBEAT_GRID`]), and stays on it.
pub fn heartbeat(period: Duration) -> Interval {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let period = period.max(Duration::from_millis(10));
    let grid = HEARTBEAT_GRID.min(period).as_millis();
    let period = Duration::from_millis(period.as_millis().div_ceil(grid) as u64 * grid as u64);
    let due = (Instant::now() + period - epoch).as_millis().div_ceil(grid) * grid;
    let mut timer = tokio::time::interval_at(epoch + Duration::from_millis(due as u64), period);
    // Missed ticks are skipped, which keeps the timer on the grid.
    timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
    timer
}

/// The body of one SSE response. It ends when the server shuts down (clients
/// reconnect and resume) or when the connection falls too far behind.
pub fn sse_stream(
    hub: Arc<Hub>,
    stream: StreamKind,
    me: Option<Id>,
    options: SseOptions,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let mut stats = hub.stats().connect(Protocol::Sse, hub.head());
    stats.subscribe(&stream);
    let conn = Conn {
        stats,
        shutdown: hub.streams_ended(),
        heartbeat: heartbeat(options.heartbeat),
        hub,
        stream,
        me,
        options,
        feed: None,
        ended: false,
    };
    futures_util::stream::unfold(conn, |mut c| async move {
        let chunk = c.next_chunk().await?;
        Some((Ok(chunk), c))
    })
}

impl Conn {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.ended {
            return None;
        }
        let Some(feed) = self.feed.as_mut() else {
            self.feed = Some(
                Box::pin(Feed::new(
                    self.hub.clone(),
                    self.me,
                    self.options.last_event_id,
                ))
                .await,
            );
            return Some(Bytes::from_static(b":)\n\n"));
        };
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.wait_for(|s| *s) => {
                    self.ended = true;
                    return None;
                }
                item = feed.next() => match item {
                    FeedItem::Event(event) => {
                        self.stats.taken(event.id);
                        let Some(payload) = feed.relations().payload(&self.stream, &event) else {
                            continue;
                        };
                        self.stats.sent(1);
                        return Some(event.sse_message(&payload));
                    }
                    FeedItem::Lagged(missed) => {
                        self.ended = true;
                        self.stats.lagged();
                        return Some(Bytes::from(format!(
                            ":fell {missed} events behind; reconnect with Last-Event-ID {}\n\n",
                            feed.last_seen()
                        )));
                    }
                    FeedItem::Unavailable => {
                        self.ended = true;
                        return Some(Bytes::from(format!(
                            ":the server cannot serve this stream now; reconnect with Last-Event-ID {}\n\n",
                            feed.last_seen()
                        )));
                    }
                    FeedItem::Closed => return None,
                },
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b":thump\n\n")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_are_framed_whole_even_when_written_in_pieces() {
        // A pipe that takes at most 5 bytes per write makes every piece go the slow way.
        let (a, mut b) = tokio::io::duplex(5);
        let writer = tokio::spawn(async move {
            let mut a = a;
            write_chunk(&mut a, b"hello, world").await.unwrap();
            write_chunk(&mut a, b"").await.unwrap();
        });
        let mut out = Vec::new();
        b.read_to_end(&mut out).await.unwrap();
        writer.await.unwrap();
        assert_eq!(out, b"c\r\nhello, world\r\n0\r\n\r\n");
    }

    #[test]
    fn response_heads_carry_the_sse_headers() {
        let mut h = HeaderMap::new();
        sse_headers(&mut h);
        let head = String::from_utf8(http1_head(StatusCode::OK, &h)).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains("content-type: text/event-stream\r\n"));
        assert!(head.contains("cache-control: no-store\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
    }
}
