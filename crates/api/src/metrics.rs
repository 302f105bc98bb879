//! Prometheus `/metrics` and the streaming status endpoints
//! (`/api/v1/streaming/status`, `/status/per_timeline`, `/status/queue`).
//!
//! Both are off unless configured. On the public listener they need
//! `Authorization: Bearer <SLUICE_METRICS_TOKEN>` (the status endpoints must also be
//! switched on with `SLUICE_STREAMING_STATUS=true`); `SLUICE_METRICS_LISTEN` serves
//! them without a token on a listener of their own (keep it private).
//!
//! A handful of atomic counters written in place, rendered in the text exposition
//! format on request: no metrics registry, no global recorder.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;

/// Upper bounds of the request duration histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// HTTP counters: requests by status class, in flight, duration.
#[derive(Default)]
pub struct HttpMetrics {
    /// Responses by class: 1xx … 5xx.
    by_class: [AtomicU64; 5],
    in_flight: AtomicI64,
    /// Cumulative counts per bucket of [`BUCKETS`], then +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    duration_micros: AtomicU64,
}

impl HttpMetrics {
    pub(crate) fn record(&self, status: StatusCode, started: Instant) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.duration_micros
            .fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }
}

/// Counts every request (a stream counts once its response has begun).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let m = &state.http_metrics;
    m.in_flight.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let res = next.run(req).await;
    m.in_flight.fetch_sub(1, Ordering::Relaxed);
    m.record(res.status(), started);
    res
}

/// Whether the request carries the metrics token (compared in constant time).
fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// `GET /metrics` on the public listener: 404 unless a token is configured, 401
/// without it.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.config.metrics_token.is_none() {
        return ApiError::not_found().into_response();
    }
    if !authorized(&state, &headers) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "The metrics token is required")
            .into_response();
    }
    render_metrics(&state).into_response()
}

/// `GET /metrics` on the private metrics listener.
pub async fn metrics_private(State(state): State<AppState>) -> Response {
    render_metrics(&state).into_response()
}

/// Every metric, in the text exposition format.
fn render_metrics(state: &AppState) -> impl IntoResponse {
    let mut out = String::with_capacity(4096);
    write_http(&mut out, &state.http_metrics);
    write_inbox(&mut out, state);
    if let Some(hub) = &state.streaming {
        write_streaming(&mut out, hub);
    }
    if let Some(p) = process_stats() {
        write_process(&mut out, &p);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// A metric's `# HELP` and `# TYPE` lines.
fn describe(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Metrics of one value each: (name, kind, help, value).
fn write_single<V: std::fmt::Display>(out: &mut String, metrics: &[(&str, &str, &str, V)]) {
    for (name, kind, help, v) in metrics {
        describe(out, name, kind, help);
        let _ = writeln!(out, "{name} {v}");
    }
}

/// Responses by status class, requests in flight, the duration histogram.
fn write_http(out: &mut String, m: &HttpMetrics) {
    describe(
        out,
        "sluice_http_requests_total",
        "counter",
        "HTTP responses by status class.",
    );
    for (i, c) in m.by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "sluice_http_requests_total{{class=\"{}xx\"}} {}",
            i + 1,
            c.load(Ordering::Relaxed)
        );
    }
    describe(
        out,
        "sluice_http_requests_in_flight",
        "gauge",
        "HTTP requests being handled.",
    );
    let _ = writeln!(
        out,
        "sluice_http_requests_in_flight {}",
        m.in_flight.load(Ordering::Relaxed)
    );
    describe(
        out,
        "sluice_http_request_duration_seconds",
        "histogram",
        "Time to the response head.",
    );
    let mut cumulative = 0;
    for (i, b) in m.buckets.iter().enumerate() {
        cumulative += b.load(Ordering::Relaxed);
        let le = BUCKETS
            .get(i)
            .map(|b| b.to_string())
            .unwrap_or_else(|| "+Inf".into());
        let _ = writeln!(
            out,
            "sluice_http_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "sluice_http_request_duration_seconds_sum {}\nsluice_http_request_duration_seconds_count {cumulative}",
        m.duration_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
}

/// Inbox activities accepted but not applied, by reason.
fn write_inbox(out: &mut String, state: &AppState) {
    describe(
        out,
        "sluice_inbox_ignored_total",
        "counter",
        "Inbox activities accepted but not applied, by reason.",
    );
    for (reason, n) in state.engine.inbox_ignored.snapshot() {
        let _ = writeln!(out, "sluice_inbox_ignored_total{{reason=\"{reason}\"}} {n}");
    }
}

/// Streaming connections and subscriptions, events, messages, drops, the longest
/// queue.
fn write_streaming(out: &mut String, hub: &sluice_streaming::Hub) {
    let stats = hub.stats();
    let snap = stats.snapshot(hub.head());
    describe(
        out,
        "sluice_streaming_connections",
        "gauge",
        "Open streaming connections by protocol.",
    );
    let _ = writeln!(
        out,
        "sluice_streaming_connections{{protocol=\"sse\"}} {}\nsluice_streaming_connections{{protocol=\"websocket\"}} {}",
        snap.sse, snap.websocket
    );
    describe(
        out,
        "sluice_streaming_subscriptions",
        "gauge",
        "Streams listened to, by stream type and protocol.",
    );
    for (timeline, protocol, n) in &snap.timelines_by_protocol {
        let _ = writeln!(
            out,
            "sluice_streaming_subscriptions{{stream=\"{timeline}\",protocol=\"{protocol}\"}} {n}"
        );
    }
    write_single(
        out,
        &[
            (
                "sluice_streaming_events_total",
                "counter",
                "Events read from the log and broadcast.",
                stats.events.load(Ordering::Relaxed) as i64,
            ),
            (
                "sluice_streaming_messages_total",
                "counter",
                "Messages written to streaming clients (events fanned out).",
                stats.messages.load(Ordering::Relaxed) as i64,
            ),
            (
                "sluice_streaming_queue_drops_total",
                "counter",
                "Connections ended for falling too far behind (they can resume).",
                stats.lagged.load(Ordering::Relaxed) as i64,
            ),
            (
                "sluice_streaming_longest_queue",
                "gauge",
                "Events the slowest connection has not taken yet.",
                snap.longest_queue,
            ),
        ],
    );
}

/// This process's memory, CPU time and descriptors.
fn write_process(out: &mut String, p: &ProcessStats) {
    write_single(
        out,
        &[
            (
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                p.rss_bytes as f64,
            ),
            (
                "process_cpu_seconds_total",
                "counter",
                "User and system CPU time spent in seconds.",
                p.cpu_seconds,
            ),
            (
                "process_open_fds",
                "gauge",
                "Open file descriptors.",
                p.open_fds as f64,
            ),
        ],
    );
}

struct ProcessStats {
    rss_bytes: u64,
    cpu_seconds: f64,
    open_fds: usize,
}

/// This process's RSS, CPU time and open descriptors, from /proc (Linux only).
fn process_stats() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime (in USER_HZ, 100 here) and rss (in pages of 4 KiB).
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let rss_pages = f.get(21)?.parse::<u64>().ok()?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
    Some(ProcessStats {
        rss_bytes: rss_pages * 4096,
        cpu_seconds: ticks as f64 / 100.0,
        open_fds,
    })
}

/// Which status view.
#[derive(Clone, Copy)]
pub enum StatusView {
    Total,
    PerTimeline,
    Queue,
}

/// `GET /api/v1/streaming/status[/per_timeline|/queue]` on the public listener:
/// 404 unless switched on, 401 without the token.
pub async fn streaming_status(state: &AppState, headers: &HeaderMap, view: StatusView) -> Response {
    if !state.config.streaming_status {
        return ApiError::not_found().into_response();
    }
    if !authorized(state, headers) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "The metrics token is required")
            .into_response();
    }
    status_body(state, view)
}

pub fn status_body(state: &AppState, view: StatusView) -> Response {
    let Some(hub) = &state.streaming else {
        return ApiError::not_found().into_response();
    };
    let head = hub.head();
    let snap = hub.stats().snapshot(head);
    let body = match view {
        StatusView::Total => json!({
            "connections": snap.sse + snap.websocket,
            "sse": snap.sse,
            "websocket": snap.websocket,
            "head_event_id": head,
        }),
        StatusView::PerTimeline => json!(snap.timelines),
        StatusView::Queue => json!({
            "longest_queue": snap.longest_queue,
            "capacity": hub.capacity(),
            "queue_drops": hub.stats().lagged.load(Ordering::Relaxed),
            "events": hub.stats().events.load(Ordering::Relaxed),
            "messages": hub.stats().messages.load(Ordering::Relaxed),
        }),
    };
    Json(body).into_response()
}
