//! The accept loop, and a front end that serves streaming connections itself.
//!
//! Every connection's first request head is read here (bounded in size and time). A
//! `GET` of a stream (`/api/v1/streaming/…` or the WebSocket endpoint) that passes
//! every check ([`streaming::plan`]) is handed to `sluice_streaming`, which serves it
//! on the socket: SSE straight as chunks, a WebSocket driven by tungstenite with small
//! buffers. Anything else — other requests, refusals, HTTP/2 —
//! goes to hyper and the router, with the bytes already read put back in front.
//!
//! Why: an open stream would otherwise keep hyper's per-connection buffers (a read
//! buffer that grows to 16 KiB and an 8 KiB write buffer, not configurable) for as
//! long as it lives; here a stream costs a few hundred bytes of state plus its
//! socket (docs/benchmarks.md, "Streaming").

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tower_service::Service as _;

use crate::AppState;
use crate::routes::streaming::{self, Plan};

/// Largest first request head read here (larger ones go to hyper as they are).
const MAX_HEAD: usize = 16 * 1024;
/// Longest wait for a connection's first request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait, on shutdown, for connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(35);

/// A listener the front end can accept from.
pub trait Accept: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The next connection, and its peer address when it has one.
    fn accept(
        &self,
    ) -> impl Future<Output = std::io::Result<(Self::Io, Option<SocketAddr>)>> + Send;
}

impl Accept for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    async fn accept(&self) -> std::io::Result<(Self::Io, Option<SocketAddr>)> {
        let (s, addr) = tokio::net::TcpListener::accept(self).await?;
        let _ = s.set_nodelay(true);
        Ok((s, Some(addr)))
    }
}

#[cfg(unix)]
impl Accept for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    async fn accept(&self) -> std::io::Result<(Self::Io, Option<SocketAddr>)> {
        let (s, _) = tokio::net::UnixListener::accept(self).await?;
        Ok((s, None))
    }
}

/// Serves `listener` until `shutdown` turns true, then drains in this order, so that a
/// client whose stream ends reconnects to a process that goes on serving (the socket
/// is shared with the supervisor and the other serving processes):
///
/// 1. accepting stops (no accept starts after the signal) and the listener is closed;
///    new stream requests are refused (503, `Retry-After`);
/// 2. for the drain grace, kept-alive connections are still read and each answer
///    closes its connection;
/// 3. the remaining idle connections are closed, and the busy ones after their answer;
/// 4. only then do the streams end (SSE ends, WebSockets get 1012): a client that
///    reconnects at once has no connection to this process left, and the kernel gives
///    its new one to a process that accepts;
/// 5. requests in flight finish (bounded), and the streams' connections close.
pub async fn serve<L: Accept>(
    listener: L,
    app: crate::App,
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Held by every connection served here, until it ends.
    let streams = Arc::new(());
    // Connections served by hyper, and requests there until their answer is sent:
    // connections beyond requests are idle ones.
    let counts = HyperCounts::default();
    // Set once accepting has stopped: responses then carry `Connection: close`.
    let draining = Arc::new(AtomicBool::new(false));
    // True once the drain grace is over: connections that sent nothing are closed.
    let (closing_tx, closing) = watch::channel(false);
    // Held by each connection until its first request head is read.
    let unread = Arc::new(());
    loop {
        let accepted = tokio::select! {
            // The signal first: once it is given, no accept starts.
            biased;
            _ = async { drop(shutdown.wait_for(|s| *s).await) } => break,
            a = listener.accept() => a,
        };
        let (io, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                ) {
                    // Out of descriptors, most likely: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                continue;
            }
        };
        let conn = Connection {
            app: app.clone(),
            state: state.clone(),
            remote,
            watcher: graceful.watcher(),
            live: streams.clone(),
            counts: counts.clone(),
            closing: closing.clone(),
            draining: draining.clone(),
            unread: Some(unread.clone()),
        };
        tokio::spawn(conn.serve(io));
    }
    drop(listener);
    draining.store(true, Ordering::Relaxed);
    if let Some(hub) = &state.streaming {
        hub.refuse_new_streams();
    }
    // A client may be sending a request on a kept-alive connection right now: for a
    // moment every connection is still read, and each answer closes its connection;
    // the grace ends early once no connection is left.
    let grace_end = Instant::now() + state.config.drain_grace;
    while (graceful.count() > 0 || Arc::strong_count(&unread) > 1) && Instant::now() < grace_end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = closing_tx.send(true);
    // Idle connections close at once, busy ones after their answer.
    let finished = tokio::spawn(tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()));
    let deadline = Instant::now() + IDLE_CLOSE_TIMEOUT;
    while counts.idle() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if let Some(hub) = &state.streaming {
        hub.end_streams();
    }
    let _ = finished.await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Arc::strong_count(&streams) > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Longest wait, on shutdown, for idle kept-alive connections to close before the
/// streams end. They close at once; this bounds it on a stalled machine.
const IDLE_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Connections served by hyper and the requests on them not yet answered.
#[derive(Clone, Default)]
struct HyperCounts {
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl HyperCounts {
    /// Connections without a request in flight (HTTP/2 may carry several requests on
    /// one connection: then it is an estimate from below).
    fn idle(&self) -> usize {
        self.connections
            .load(Ordering::Relaxed)
            .saturating_sub(self.requests.load(Ordering::Relaxed))
    }
}

/// Counts one connection or request for as long as it lives.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(counter: &Arc<AtomicUsize>) -> Counted {
        counter.fetch_add(1, Ordering::Relaxed);
        Counted(counter.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that counts as a request in flight until it is sent or dropped.
struct Answering {
    body: axum::body::Body,
    _request: Counted,
}

impl hyper::body::Body for Answering {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

struct Connection {
    app: crate::App,
    state: AppState,
    remote: Option<SocketAddr>,
    watcher: hyper_util::server::graceful::Watcher,
    live: Arc<()>,
    counts: HyperCounts,
    /// Turns true when connections that sent nothing yet are closed.
    closing: watch::Receiver<bool>,
    draining: Arc<AtomicBool>,
    /// Dropped once the first request head is read.
    unread: Option<Arc<()>>,
}

impl Connection {
    async fn serve<IO>(mut self, mut io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let _live = self.live.clone();
        let mut head = Vec::with_capacity(1024);
        let mut closing = self.closing.clone();
        // A connection that has not sent its first request when the server stops is
        // closed (clients open connections ahead of need and may never use them).
        let read = tokio::time::timeout(HEAD_TIMEOUT, async {
            loop {
                if head.len() >= MAX_HEAD {
                    return Ok::<(), std::io::Error>(());
                }
                if head.capacity() == head.len() {
                    head.reserve(2048);
                }
                let n = tokio::select! {
                    n = io.read_buf(&mut head) => n?,
                    _ = async { drop(closing.wait_for(|s| *s).await) } => 0,
                };
                if n == 0 {
                    return Ok(());
                }
                // Only a GET can be a stream: anything else goes to hyper at once.
                let n = head.len().min(4);
                if head[..n] != b"GET "[..n] || find(&head, b"\r\n\r\n").is_some() {
                    return Ok(());
                }
            }
        })
        .await;
        self.unread = None;
        match read {
            Ok(Ok(())) if !head.is_empty() => {}
            _ => return,
        }
        // Each way on is boxed: the task of a long-lived stream then holds only what
        // its own way needs, not the largest of the three.
        let started = Instant::now();
        if let Some((plan, used)) = Box::pin(self.stream_plan(&head)).await {
            let rest = head.split_off(used);
            drop(head);
            self.state.http_metrics.record(
                match plan {
                    Plan::Sse(_) => StatusCode::OK,
                    Plan::Ws(_) => StatusCode::SWITCHING_PROTOCOLS,
                },
                started,
            );
            drop(self);
            match plan {
                Plan::Sse(p) => Box::pin(p.serve(io)).await,
                Plan::Ws(p) => {
                    let ready = Box::pin(p.subscribe()).await;
                    Box::pin(ready.answer_and_serve(Prefixed::new(rest, io))).await
                }
            }
            return;
        }
        Box::pin(self.serve_hyper(io, head)).await
    }

    /// Hands the connection to hyper and the router, with what was read put back.
    async fn serve_hyper<IO>(self, io: IO, head: Vec<u8>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let remote = self.remote;
        let app = self.app;
        let draining = self.draining.clone();
        let _connection = Counted::new(&self.counts.connections);
        let requests = self.counts.requests.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            let request = Counted::new(&requests);
            if let Some(addr) = remote {
                req.extensions_mut().insert(ConnectInfo(addr));
            }
            let mut app = app.clone();
            let draining = draining.clone();
            async move {
                let mut resp = app.call(req.map(axum::body::Body::new)).await?;
                // Stopping: the client's next request goes to a new connection (and a
                // process that accepts).
                if draining.load(Ordering::Relaxed) {
                    resp.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, std::convert::Infallible>(resp.map(|body| Answering {
                    body,
                    _request: request,
                }))
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http2().enable_connect_protocol();
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(Prefixed::new(head, io)), service)
            .into_owned();
        if let Err(e) = self.watcher.watch(conn).await {
            tracing::trace!(error = %e, "connection ended with an error");
        }
    }

    /// The plan for a stream when `head` is a complete `GET` of one that passes every
    /// check, with the head's length; None for anything else.
    async fn stream_plan(&self, head: &[u8]) -> Option<(Plan, usize)> {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(used) = req.parse(head).ok()? else {
            return None;
        };
        if req.method != Some("GET") || req.version != Some(1) {
            return None;
        }
        let path = req.path?;
        let path_only = path.split('?').next().unwrap_or("");
        if !streaming::is_stream_path(path_only) {
            return None;
        }
        let mut builder = Request::builder().method(Method::GET).uri(path);
        for h in req.headers.iter() {
            builder = builder.header(
                HeaderName::from_bytes(h.name.as_bytes()).ok()?,
                HeaderValue::from_bytes(h.value).ok()?,
            );
        }
        let (mut parts, ()) = builder.body(()).ok()?.into_parts();
        if let Some(addr) = self.remote {
            parts.extensions.insert(ConnectInfo(addr));
        }
        // A refusal is left to the router, which answers it the same way.
        let plan = Box::pin(streaming::plan(&self.state, &mut parts))
            .await
            .ok()?;
        Some((plan, used))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A connection with bytes already read from it put back in front.
struct Prefixed<IO> {
    prefix: Option<Vec<u8>>,
    pos: usize,
    inner: IO,
}

impl<IO> Prefixed<IO> {
    fn new(prefix: Vec<u8>, inner: IO) -> Self {
        Prefixed {
            prefix: Some(prefix).filter(|p| !p.is_empty()),
            pos: 0,
            inner,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Prefixed<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if let Some(prefix) = &this.prefix {
            let left = &prefix[this.pos..];
            let n = left.len().min(buf.remaining());
            buf.put_slice(&left[..n]);
            this.pos += n;
            if this.pos >= prefix.len() {
                this.prefix = None;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Prefixed<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    #[test]
    fn stream_paths() {
        assert!(streaming::is_stream_path("/api/v1/streaming"));
        assert!(streaming::is_stream_path("/api/v1/streaming/user"));
        assert!(streaming::is_stream_path("/api/v1/streaming/public/local"));
        assert!(!streaming::is_stream_path("/api/v1/streaming/health"));
        assert!(!streaming::is_stream_path("/api/v1/streaming/status/queue"));
        assert!(!streaming::is_stream_path("/api/v1/streaming/"));
        assert!(!streaming::is_stream_path("/api/v1/streamingx"));
        assert!(!streaming::is_stream_path("/api/v1/timelines/home"));
    }

    #[tokio::test]
    async fn prefixed_reads_the_prefix_first() {
        let (a, mut b) = tokio::io::duplex(64);
        b.write_all(b" world").await.unwrap();
        drop(b);
        let mut p = Prefixed::new(b"hello".to_vec(), a);
        let mut out = String::new();
        p.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "hello world");
    }
}
