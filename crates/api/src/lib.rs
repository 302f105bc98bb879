//! HTTP routes: the Mastodon REST API, OAuth, instance metadata, web pages and feeds.
//!
//! Handlers are thin: parse ([`params::Params`]), authorize ([`auth::Auth`]), call the
//! engine, render. The layers around them bound every request: a body size limit, a
//! deadline on every non-streaming request, a panic guard that turns a panic into that
//! request's 500 while the server keeps serving, CORS where Mastodon has it.

pub mod auth;
pub mod error;
pub mod form;
pub mod forwarded;
pub mod front;
pub mod mentions;
pub mod metrics;
pub mod paging;
pub mod params;
pub mod ratelimit;
mod routes;
mod web;
pub use web::i18n::Catalogs;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sluice_engine::Engine;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};
use tower_layer::Layer as _;

pub use ratelimit::{Limit, RateLimiter, RateLimits};

/// The Mastodon API version we implement, and our own version, combined the way clients
/// parse it (`4.3.0 (compatible; Sluice 0.1.0)`).
pub const MASTODON_VERSION: &str = "4.3.0";
pub const SLUICE_VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn version_string() -> String {
    format!("{MASTODON_VERSION} (compatible; Sluice {SLUICE_VERSION})")
}

/// What the HTTP layer needs from configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub title: String,
    pub description: String,
    pub contact_email: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Deadline for a non-streaming request.
    pub request_timeout: Duration,
    /// `ws://…` or `wss://…` base for the streaming API.
    pub streaming_url: String,
    /// A heartbeat comment on idle streams this often.
    pub streaming_heartbeat: Duration,
    /// Bearer secret for `/metrics` and the streaming status endpoints on the public
    /// listener; None: `/metrics` is not served there.
    pub metrics_token: Option<String>,
    /// Serve `/api/v1/streaming/status*` (with the metrics token).
    pub streaming_status: bool,
    /// After the stop signal, how long kept-alive connections may still send a request
    /// (answered with `Connection: close`) before idle ones are closed
    /// ([`front::serve`]).
    pub drain_grace: Duration,
    /// Proxies whose `X-Forwarded-For`/`Forwarded` name the client
    /// (`SLUICE_TRUSTED_PROXIES`).
    pub trusted_proxies: forwarded::TrustedProxies,
    /// The web app's message catalogs: the built-in ones and those of
    /// `SLUICE_LOCALES_DIR`.
    pub catalogs: Arc<Catalogs>,
    /// The operator's privacy policy (`SLUICE_PRIVACY_POLICY_FILE`), read at start;
    /// None: the built-in one.
    pub privacy_policy: Option<PrivacyPolicy>,
    /// Who may list the server's domain blocks (`GET /api/v1/instance/domain_blocks`,
    /// `SLUICE_SHOW_DOMAIN_BLOCKS`).
    pub show_domain_blocks: Exposure,
    /// Who sees the reasons given for them (`SLUICE_SHOW_DOMAIN_BLOCKS_RATIONALE`).
    pub show_domain_blocks_rationale: Exposure,
}

/// Who may see something the server can show (Mastodon's `show_domain_blocks`
/// settings): nobody, signed-in users, or anyone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    #[default]
    Disabled,
    Users,
    All,
}

impl Exposure {
    /// Whether a caller (signed in or not) may see it.
    pub fn shown_to(self, signed_in: bool) -> bool {
        match self {
            Exposure::Disabled => false,
            Exposure::Users => signed_in,
            Exposure::All => true,
        }
    }
}

/// A privacy policy the operator wrote: plain text (paragraphs at blank lines) and
/// when it was last changed.
#[derive(Debug, Clone)]
pub struct PrivacyPolicy {
    pub text: String,
    /// Unix milliseconds (the file's modification time).
    pub updated_at: i64,
}

/// The request limits a running server can change (`SIGHUP`, [`AppState::reload`]);
/// read on every request.
#[derive(Debug)]
pub struct LiveLimits {
    request_timeout_ms: AtomicU64,
    max_body_bytes: AtomicUsize,
}

impl LiveLimits {
    fn new(request_timeout: Duration, max_body_bytes: usize) -> Self {
        LiveLimits {
            request_timeout_ms: AtomicU64::new(request_timeout.as_millis() as u64),
            max_body_bytes: AtomicUsize::new(max_body_bytes),
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.load(Ordering::Relaxed).max(1))
    }

    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Settings read at start. The request deadline and body limit here are the
    /// starting values; [`AppState::live`] holds the ones in force.
    pub config: Arc<ApiConfig>,
    pub limits: Arc<RateLimiter>,
    pub live: Arc<LiveLimits>,
    /// The fetcher, signers and inbox of a federating server.
    pub federation: Option<Arc<sluice_federation::service::Federation>>,
    /// The streaming hub (event-log tailer) of this process.
    pub streaming: Option<Arc<sluice_streaming::Hub>>,
    /// Request counters for `/metrics`.
    pub http_metrics: Arc<metrics::HttpMetrics>,
    pub(crate) pages: Arc<web::Pages>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>, config: ApiConfig, limits: RateLimiter) -> Self {
        let pages = Arc::new(web::Pages::new(config.catalogs.clone()));
        AppState {
            engine,
            live: Arc::new(LiveLimits::new(
                config.request_timeout,
                config.max_body_bytes,
            )),
            config: Arc::new(config),
            limits: Arc::new(limits),
            federation: None,
            streaming: None,
            http_metrics: Arc::new(metrics::HttpMetrics::default()),
            pages,
        }
    }

    pub fn with_streaming(mut self, hub: Arc<sluice_streaming::Hub>) -> Self {
        self.streaming = Some(hub);
        self
    }

    pub fn with_federation(mut self, f: Arc<sluice_federation::service::Federation>) -> Self {
        self.federation = Some(f);
        self
    }

    pub fn base(&self) -> &str {
        self.engine.urls.base()
    }

    /// Applies new limits to the running server (`SIGHUP`): requests that start after
    /// this see them.
    pub fn reload(&self, request_timeout: Duration, max_body_bytes: usize, limits: RateLimits) {
        self.live
            .request_timeout_ms
            .store(request_timeout.as_millis() as u64, Ordering::Relaxed);
        self.live
            .max_body_bytes
            .store(max_body_bytes, Ordering::Relaxed);
        self.limits.set(limits);
    }
}

/// The whole HTTP application, as a service that also accepts a trailing slash on
/// every path (`/api/v2/instance/` is `/api/v2/instance`, as in Mastodon).
/// The whole HTTP application, as [`front::serve`] runs it.
pub type App = NormalizePath<Router>;

pub fn app(state: AppState, extra: Router<AppState>) -> App {
    NormalizePathLayer::trim_trailing_slash().layer(router_with(state, extra))
}

/// The router without path normalization.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The application with `extra` routes mounted inside the same guards (deadline, body
/// limit, panic guard). Tests use it to prove the guards hold for any handler.
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let cors = cors_layer();
    let (deadline_limits, body_limits) = (state.live.clone(), state.live.clone());
    // Uploads may be as large as their media files, plus room for the form around them.
    let media_max = state.engine.config.media_max_bytes;
    // An import's CSV file may be as large as its own setting.
    let import_max = state.engine.config.import_max_bytes;
    Router::new()
        .merge(routes::api_routes())
        .merge(routes::oauth_pages())
        // ActivityStreams documents and the C2S API: browser clients read and post
        // with a bearer token, so they answer CORS as the REST API does ([`with_cors`]).
        .merge(
            routes::activitypub_routes()
                .merge(web::routes(state.clone()))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    routes::activitypub::refuse_blocked_fetchers,
                )),
        )
        .merge(extra)
        .fallback(|| async { error::ApiError::not_found() })
        .layer(middleware::from_fn(refuse_nul_in_url))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_no_access_ips,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(method_not_allowed_as_json))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let max = match routes::media::upload_files(req.uri().path()) {
                0 if req.uri().path() == "/settings/import" => import_max + 64 * 1024,
                0 => body_limits.max_body_bytes(),
                files => media_max * files + 64 * 1024,
            };
            limit_body(req, next, max)
        }))
        // Outside the body limit: reading a chunked body there is within the deadline.
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            deadline(req, next, deadline_limits.request_timeout())
        }))
        // The limit is [`limit_body`]'s, which can change while serving.
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::custom(panic_response))
        // Outside every guard, so that their answers (413, 503, a panic's 500) and the
        // fallback's 404 carry CORS too: a browser app reads the error instead of
        // seeing a network failure.
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            with_cors(req, next, cors.clone())
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        // After the layers above, on purpose: health checks are not counted, limited
        // or logged as requests (routes/health.rs).
        .merge(routes::health::routes().layer(CatchPanicLayer::custom(panic_response)))
        .with_state(state)
}

/// Mastodon's CORS policy: any origin, the API's methods, the request's headers, and the
/// paging and rate-limit headers readable by the app.
fn cors_layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::LINK,
            header::HeaderName::from_static("x-ratelimit-reset"),
            header::HeaderName::from_static("x-ratelimit-limit"),
            header::HeaderName::from_static("x-ratelimit-remaining"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// Whether answers on `path` get CORS, by path alone (as Mastodon's rack-cors does, before
/// routing): the REST API, OAuth's token endpoints, well-known documents, NodeInfo, media
/// files, and the ActivityPub documents and C2S API of [`routes::activitypub_routes`].
/// So an unknown API path, a preflight for one, and every error answer carry it; the
/// HTML pages (sign-in, the web app) do not.
fn cors_applies(path: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "/api/",
        "/.well-known/",
        "/nodeinfo/",
        "/media/",
        "/users/",
        "/actor/",
    ];
    const EXACT: &[&str] = &[
        "/oauth/token",
        "/oauth/revoke",
        "/metrics",
        "/actor",
        "/inbox",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p)) || EXACT.contains(&path)
}

/// Runs `req` through `cors` when [`cors_applies`] to its path.
async fn with_cors(req: Request, next: Next, cors: CorsLayer) -> Response {
    use tower_service::Service as _;
    if !cors_applies(req.uri().path()) {
        return next.run(req).await;
    }
    let mut svc = cors.layer(next);
    let answer = async {
        std::future::poll_fn(|cx| svc.poll_ready(cx)).await?;
        svc.call(req).await
    };
    match answer.await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// The private metrics listener (`SLUICE_METRICS_LISTEN`): `/metrics` and the streaming
/// status endpoints, no token.
pub fn metrics_app(state: AppState) -> Router {
    use axum::extract::State;
    use axum::routing::get;
    use metrics::StatusView;
    Router::new()
        .route("/metrics", get(metrics::metrics_private))
        .route(
            "/api/v1/streaming/status",
            get(|State(s): State<AppState>| async move { metrics::status_body(&s, StatusView::Total) }),
        )
        .route(
            "/api/v1/streaming/status/per_timeline",
            get(|State(s): State<AppState>| async move {
                metrics::status_body(&s, StatusView::PerTimeline)
            }),
        )
        .route(
            "/api/v1/streaming/status/queue",
            get(|State(s): State<AppState>| async move { metrics::status_body(&s, StatusView::Queue) }),
        )
        .fallback(|| async { error::ApiError::not_found() })
        .with_state(state)
}

/// Ends a request that runs past its deadline with 503, freeing its resources.
async fn deadline(req: Request, next: Next, timeout: Duration) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => error::ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Request timed out")
            .into_response(),
    }
}

/// After refusing a body, at most this much more of it is read and dropped (within
/// [`LINGER_TIME`]), so that a client still sending it reads the 413 rather than a
/// connection reset by unread data.
const LINGER_BYTES: u64 = 1 << 20;
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Refuses a body larger than `max` bytes with 413: at once when its declared length is
/// larger; a body of unknown length (chunked) is read here, up to the limit. A body of
/// declared length within the limit streams on to its handler, cut at `max` in case it
/// runs longer than declared (axum's extractors turn that error into 413).
async fn limit_body(req: Request, next: Next, max: usize) -> Response {
    use http_body_util::BodyExt as _;
    let expects_continue = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if let Some(len) = axum::body::HttpBody::size_hint(req.body()).exact() {
        if len <= max as u64 {
            return next
                .run(req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, max))))
                .await;
        }
        // A client waiting for 100 Continue has sent nothing yet; a huge one is not read.
        if !expects_continue && len <= max as u64 + LINGER_BYTES {
            linger(req.into_body()).await;
        }
        return body_too_large(max);
    }
    let (parts, mut body) = req.into_parts();
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return error::ApiError::new(
                StatusCode::BAD_REQUEST,
                "The request body could not be read",
            )
            .into_response();
        };
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > max {
                linger(body).await;
                return body_too_large(max);
            }
            buf.extend_from_slice(data);
        }
    }
    next.run(Request::from_parts(
        parts,
        axum::body::Body::from(buf.freeze()),
    ))
    .await
}

fn body_too_large(max: usize) -> Response {
    error::ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The request body is larger than {max} bytes"),
    )
    .into_response()
}

/// Reads and drops what is left of a refused body, up to [`LINGER_BYTES`] and
/// [`LINGER_TIME`].
async fn linger(mut body: axum::body::Body) {
    use http_body_util::BodyExt as _;
    let _ = tokio::time::timeout(LINGER_TIME, async {
        let mut read = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            read += frame.data_ref().map_or(0, |d| d.len() as u64);
            if read > LINGER_BYTES {
                break;
            }
        }
    })
    .await;
}

/// Refuses a URL whose path or query holds an encoded NUL (`%00`, the only way a URL
/// can carry one) with 400: no name, id or parameter has one, and PostgreSQL cannot
/// hold one in text, so it would otherwise reach a query and fail there.
async fn refuse_nul_in_url(req: Request, next: Next) -> Response {
    let uri = req.uri();
    if uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00")) {
        return error::ApiError::bad_request("NUL characters are not accepted in URLs")
            .into_response();
    }
    next.run(req).await
}

/// Requests from an address a moderator blocked with `no_access` (an IP block) get
/// 403 and nothing else, whatever the path. A failing lookup lets the request through
/// (logged): an outage of the block list must not take the whole site down.
async fn refuse_no_access_ips(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let ip = auth::client_ip(&parts, &state);
    let req = Request::from_parts(parts, body);
    if let Ok(addr) = ip.parse::<std::net::IpAddr>() {
        match state.engine.ip_has_no_access(addr).await {
            Ok(true) => {
                return error::ApiError::forbidden("Your address is blocked on this server")
                    .into_response();
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "reading the IP blocks failed"),
        }
    }
    next.run(req).await
}

/// The router's bare 405 (a path answered, not with this method) as an API error a
/// client can read: JSON, with the router's `Allow` header kept. Without a body, apps
/// (masto.js) report "unknown encoding" instead of the status.
async fn method_not_allowed_as_json(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    if r.status() != StatusCode::METHOD_NOT_ALLOWED
        || r.headers().contains_key(header::CONTENT_TYPE)
    {
        return r;
    }
    let allow = r.headers().get(header::ALLOW).cloned();
    let mut out =
        error::ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    r
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let msg = sluice_engine::tasks::panic_message(&*err);
    tracing::error!(panic = msg, "a request handler panicked");
    error::ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
}
