//! The one client for every outbound request: fetches (GET) and deliveries (POST).
//!
//! Everything that leaves the server goes through a [`Fetcher`], which enforces:
//!
//! - **SSRF protection** ([`crate::ssrf`]): only `https` (and `http` when
//!   [`FetchConfig::allow_http`]), no credentials in URLs, raw-IP hosts checked before
//!   connecting, names checked after resolution by the client's own resolver (which
//!   also pins the connection to the checked addresses), and all of it again on every
//!   redirect hop. Any port is allowed, as in Mastodon: peers on non-standard ports
//!   exist, and the address check, not the port, is what keeps us off internal
//!   services.
//! - **Bounds**: a connect timeout, a total deadline per call (covering waiting for a
//!   per-host slot, every redirect hop and reading the body), a body size cap enforced
//!   while streaming, and a redirect cap. No compression is negotiated, so the cap is
//!   on the bytes that actually arrive.
//! - **Politeness**: at most [`FetchConfig::per_host_concurrency`] requests in flight
//!   per host, `429`/`503` with `Retry-After` remembered per host (capped) so the next
//!   requests fail fast with [`FetchError::RateLimited`] without being sent, and a TTL
//!   cache of successful JSON GETs.
//! - **Signing**: every request is handed to a [`RequestSigner`] after all other
//!   headers are set (`Host`, `Date`, `User-Agent`, `Accept`/`Content-Type`), once per
//!   redirect hop with that hop's URL.
//!
//! Per-host state is keyed by `host:port`. Redirects are followed for GET only (301,
//! 302, 303, 307, 308, at most [`FetchConfig::max_redirects`]); a POST answered with
//! a redirect is [`FetchError::Redirected`].

use crate::signatures::Scheme;
use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use tokio::sync::Semaphore;
use url::{Host, Url};

use crate::ssrf::{AddressPolicy, ForbiddenAddress, SsrfResolver};

/// The `Accept` header of [`Fetcher::get_json`]: ActivityStreams documents.
pub const ACTIVITY_ACCEPT: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// How much of a POST response body is read (and discarded) so the connection can be
/// reused; bigger bodies are not read and the connection is closed.
const POST_RESPONSE_DRAIN_BYTES: usize = 64 * 1024;

/// Limits and switches of a [`Fetcher`]. Every limit has a default (see
/// [`FetchConfig::default`]); tests and the server override fields with struct
/// update syntax.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Allow requests to any address, including loopback and private networks.
    /// Default `false`; the server sets it from `SLUICE_ALLOW_PRIVATE_ADDRESSES`
    /// (private deployments, tests).
    pub allow_private_addresses: bool,
    /// Non-public addresses allowed even when `allow_private_addresses` is false, for
    /// a deployment that must reach exactly one internal peer or relay. Default empty.
    pub allowed_addresses: Vec<IpAddr>,
    /// Allow plain `http://` URLs (initial and redirect targets). Default `false`.
    pub allow_http: bool,
    /// Time to resolve and establish a connection (TCP + TLS). Default 5 s.
    pub connect_timeout: Duration,
    /// Deadline for a whole call: waiting for a per-host slot, all redirect hops and
    /// reading the body. Default 20 s.
    pub total_timeout: Duration,
    /// Largest response body accepted by the JSON GETs, in bytes. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Redirects followed by one GET; one more is [`FetchError::TooManyRedirects`].
    /// Default 3.
    pub max_redirects: usize,
    /// How long a successful JSON GET is served from the cache. `0` disables the
    /// cache. Default 5 min.
    pub cache_ttl: Duration,
    /// Maximum number of cached responses (oldest evicted first). Default 2,000.
    pub cache_entries: usize,
    /// Maximum total size of cached bodies, in bytes (oldest evicted first), so the
    /// cache stays small on a Raspberry Pi even when every entry is near
    /// `max_body_bytes`. Default 32 MiB.
    pub cache_max_bytes: usize,
    /// Requests in flight per `host:port`, across all callers. Must be at least 1.
    /// Default 4.
    pub per_host_concurrency: usize,
    /// Longest `Retry-After` honoured; longer values are cut to this. Default 1 h.
    pub max_retry_after: Duration,
    /// `User-Agent` of every request. Default `Sluice/<version>`; the server sets
    /// `Sluice/<version> (+https://<its host>/)`.
    pub user_agent: String,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            allow_private_addresses: false,
            allowed_addresses: Vec::new(),
            allow_http: false,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(20),
            max_body_bytes: 1024 * 1024,
            max_redirects: 3,
            cache_ttl: Duration::from_secs(5 * 60),
            cache_entries: 2_000,
            cache_max_bytes: 32 * 1024 * 1024,
            per_host_concurrency: 4,
            max_retry_after: Duration::from_secs(60 * 60),
            user_agent: concat!("Sluice/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Signs an outbound request. The server provides it (HTTP signatures as the
/// instance actor for GETs, as the sending user for deliveries); this module only
/// calls it.
///
/// It is called after every other header is set, once per request and per redirect
/// hop, with that hop's URL. It may add or replace headers (`Signature`, `Digest`,
/// `Signature-Input`, …).
pub trait RequestSigner: Send + Sync {
    /// Adds the signature headers for `method url` to `headers`; `body` is the exact
    /// request body (`None` for GET).
    fn sign(
        &self,
        method: &Method,
        url: &Url,
        headers: &mut HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<(), String>;

    /// The same, with the given signature scheme (for "double-knocking" a GET: a host
    /// that refuses one scheme with 401 is asked again with the other). A signer that
    /// knows only one scheme signs its own way.
    fn sign_as(
        &self,
        scheme: Scheme,
        method: &Method,
        url: &Url,
        headers: &mut HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        let _ = scheme;
        self.sign(method, url, headers, body)
    }
}

/// Why an outbound request failed. See [`FetchError::is_retryable`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL cannot be requested: unparsable redirect target, no host, port 0,
    /// credentials (`user:pass@`) in the URL, invalid header value.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The scheme is not `https` (or `http` when allowed).
    #[error("scheme {0:?} is not allowed")]
    BadScheme(String),
    /// The target (raw IP, or an address its name resolves to) is not public.
    #[error("address {addr} is not allowed: {reason}")]
    Forbidden {
        /// The refused address.
        addr: IpAddr,
        /// Its special-purpose range.
        reason: &'static str,
    },
    /// A GET was redirected more than `max` times.
    #[error("more than {max} redirects")]
    TooManyRedirects {
        /// The configured [`FetchConfig::max_redirects`].
        max: usize,
    },
    /// A POST was answered with a redirect (redirects are not followed for POST).
    #[error("POST answered with redirect {status} to {location:?}")]
    Redirected {
        /// The 3xx status.
        status: u16,
        /// The `Location` header, if any.
        location: Option<String>,
    },
    /// The response body is larger than the limit (by `Content-Length`, or while
    /// streaming; the connection is dropped at once).
    #[error("response body larger than {limit} bytes")]
    TooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The total deadline or the connect timeout passed.
    #[error("timed out")]
    Timeout,
    /// Name resolution or connection (TCP, TLS) failed.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The connection broke or the peer spoke broken HTTP.
    #[error("HTTP error: {0}")]
    Http(String),
    /// The peer answered with this non-success status.
    #[error("HTTP status {0}")]
    Status(u16),
    /// A GET answer that is not JSON (`application/json` or `application/*+json`).
    #[error("not JSON (content type {0:?})")]
    NotJson(Option<String>),
    /// The host asked us to wait (`429`/`503` with `Retry-After`): either this answer
    /// said so, or an earlier one did and the request was not sent.
    #[error("rate limited by the host, retry after {retry_after:?}")]
    RateLimited {
        /// How long to wait (capped at [`FetchConfig::max_retry_after`]).
        retry_after: Duration,
    },
    /// The [`RequestSigner`] failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The [`FetchConfig`] is unusable, or the HTTP client could not be built.
    #[error("fetcher configuration: {0}")]
    Config(String),
    /// The host is in a domain the admin suspended: nothing is fetched from it.
    #[error("{0} is in a suspended domain")]
    SuspendedDomain(String),
}

impl FetchError {
    /// Whether trying the same request later may succeed: timeouts, connection and
    /// transport errors, 5xx, 408 and 429, and rate limiting. Everything else (other
    /// 4xx, refused addresses and schemes, too large, not JSON, redirects, signing and
    /// configuration errors) is final.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Timeout
            | FetchError::Connect(_)
            | FetchError::Http(_)
            | FetchError::RateLimited { .. } => true,
            FetchError::Status(status) => matches!(status, 408 | 429 | 500..=599),
            FetchError::InvalidUrl(_)
            | FetchError::BadScheme(_)
            | FetchError::Forbidden { .. }
            | FetchError::TooManyRedirects { .. }
            | FetchError::Redirected { .. }
            | FetchError::TooLarge { .. }
            | FetchError::NotJson(_)
            | FetchError::Signing(_)
            | FetchError::Config(_)
            | FetchError::SuspendedDomain(_) => false,
        }
    }

    /// How long the host asked us to wait, for [`FetchError::RateLimited`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl From<ForbiddenAddress> for FetchError {
    fn from(e: ForbiddenAddress) -> Self {
        FetchError::Forbidden {
            addr: e.addr,
            reason: e.reason,
        }
    }
}

/// A successful JSON GET.
///
/// The body is returned as bytes, not parsed: the document parser takes `&[u8]`, and
/// cached answers are shared without copying. [`Fetched::json`] parses it when a
/// `serde_json::Value` is wanted.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL the document was finally served from, after redirects. Callers
    /// checking id origins must use this one, not the requested URL.
    pub url: Url,
    /// The `Content-Type` of the answer (a JSON type).
    pub content_type: String,
    /// The response body, at most [`FetchConfig::max_body_bytes`].
    pub body: Arc<[u8]>,
    /// `true` if served from the cache without a request.
    pub from_cache: bool,
}

impl Fetched {
    /// The body bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// What a page GET asks for ([`Fetcher::get_page`]).
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// The `Accept` header.
    pub accept: &'static str,
    /// The `ETag` of the copy we hold (`If-None-Match`).
    pub if_none_match: Option<&'a str>,
    /// The `Last-Modified` of the copy we hold (`If-Modified-Since`).
    pub if_modified_since: Option<&'a str>,
}

/// The answer to a page GET.
#[derive(Debug)]
pub enum PageAnswer {
    /// `304 Not Modified`: the copy we hold is current.
    NotModified,
    /// A 2xx answer, its body not read yet.
    Page(Box<PageBody>),
}

/// A page being read: its headers, and its body chunk by chunk. Holds the host's
/// request slot until dropped; dropping it early closes the connection.
pub struct PageBody {
    /// Where the page was served from, after redirects.
    pub url: Url,
    pub content_type: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    response: reqwest::Response,
    _slot: HostSlot,
}

impl std::fmt::Debug for PageBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageBody")
            .field("url", &self.url.as_str())
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl PageBody {
    /// The next piece of the body, None at its end.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, FetchError> {
        Ok(self
            .response
            .chunk()
            .await
            .map_err(map_reqwest_error)?
            .map(|b| b.to_vec()))
    }

    /// The body's essence of its content type, lowercased (`text/html`).
    pub fn mime(&self) -> String {
        self.content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

/// A delivery (POST) the peer accepted with a 2xx status. Every other answer is an
/// error: [`FetchError::Status`], [`FetchError::RateLimited`] or
/// [`FetchError::Redirected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostOutcome {
    /// The 2xx status.
    pub status: u16,
    /// `Retry-After` of the answer, if any (a `202` may carry one), capped at
    /// [`FetchConfig::max_retry_after`].
    pub retry_after: Option<Duration>,
}

/// The outbound HTTP client. Cheap to clone: all clones share the connection pool,
/// the cache, and the per-host limits.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    /// Made at the first request ([`Fetcher::client`]): a server that has not talked to
    /// another yet does not pay for the TLS configuration and the system's root
    /// certificates (docs/benchmarks.md, "Memory of the whole server").
    client: std::sync::OnceLock<reqwest::Client>,
    config: FetchConfig,
    policy: AddressPolicy,
    signer: Option<Arc<dyn RequestSigner>>,
    cache: Mutex<Cache>,
    hosts: Arc<HostSlots>,
    not_before: Mutex<HashMap<String, Instant>>,
    /// Hosts (lowercase, no port) whose answers carried `Accept-Signature` (RFC 9421
    /// §5.1): they verify HTTP Message Signatures, so they are signed for that way
    /// first. Bounded: forgotten when full.
    rfc9421_hosts: Mutex<std::collections::HashSet<String>>,
}

/// Hosts remembered as asking for RFC 9421 signatures, at most.
const MAX_RFC9421_HOSTS: usize = 10_000;

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("config", &self.inner.config)
            .field("signer", &self.inner.signer.is_some())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Fetcher {
    /// A fetcher with `config`; `signer` signs every GET, and every POST not given its
    /// own signer (the instance actor's key, typically).
    pub fn new(
        config: FetchConfig,
        signer: Option<Arc<dyn RequestSigner>>,
    ) -> Result<Self, FetchError> {
        if config.per_host_concurrency == 0 {
            return Err(FetchError::Config(
                "per_host_concurrency must be at least 1".into(),
            ));
        }
        HeaderValue::from_str(&config.user_agent)
            .map_err(|_| FetchError::Config("user_agent is not a valid header value".into()))?;
        let policy = AddressPolicy::new(
            config.allow_private_addresses,
            config.allowed_addresses.iter().copied(),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                client: std::sync::OnceLock::new(),
                policy,
                signer,
                cache: Mutex::new(Cache::default()),
                hosts: Arc::new(HostSlots::new(config.per_host_concurrency)),
                not_before: Mutex::new(HashMap::new()),
                rfc9421_hosts: Mutex::new(std::collections::HashSet::new()),
                config,
            }),
        })
    }

    /// The configuration in effect.
    pub fn config(&self) -> &FetchConfig {
        &self.inner.config
    }

    /// The HTTP client, made at the first request.
    fn client(&self) -> Result<&reqwest::Client, FetchError> {
        if let Some(client) = self.inner.client.get() {
            return Ok(client);
        }
        let config = &self.inner.config;
        let client = reqwest::Client::builder()
            // Redirects are followed by hand so every hop is re-checked and re-signed.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, out of reach of our resolver.
            .no_proxy()
            .dns_resolver(SsrfResolver::new(self.inner.policy.clone()))
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(config.per_host_concurrency)
            .build()
            .map_err(|e| FetchError::Config(error_chain(&e)))?;
        // Two first requests at once may both make one; the first stored is kept.
        Ok(self.inner.client.get_or_init(|| client))
    }

    /// Number of hosts with requests in flight or waiting for a slot (0 when idle:
    /// per-host state does not outlive the requests).
    pub fn busy_hosts(&self) -> usize {
        self.inner.hosts.busy_hosts()
    }

    /// Whether `url` may be requested at all (scheme, credentials, host, and for a
    /// raw-IP host the address), without any network access. Names are only checked
    /// when requested, after resolution.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "https" => {}
            "http" if self.inner.config.allow_http => {}
            other => return Err(FetchError::BadScheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::InvalidUrl("credentials in URL".into()));
        }
        if url.port() == Some(0) {
            return Err(FetchError::InvalidUrl("port 0".into()));
        }
        match url.host() {
            None => Err(FetchError::InvalidUrl("no host".into())),
            Some(Host::Domain("")) => Err(FetchError::InvalidUrl("empty host".into())),
            Some(Host::Domain(_)) => Ok(()),
            Some(Host::Ipv4(ip)) => Ok(self.inner.policy.check(IpAddr::V4(ip))?),
            Some(Host::Ipv6(ip)) => Ok(self.inner.policy.check(IpAddr::V6(ip))?),
        }
    }

    /// GETs an ActivityStreams document (see [`ACTIVITY_ACCEPT`]), from the cache if
    /// a fresh copy is there.
    ///
    /// Only 2xx answers with a JSON content type are returned and cached (keyed by
    /// the requested URL without its fragment, for [`FetchConfig::cache_ttl`]).
    pub async fn get_json(&self, url: &Url) -> Result<Fetched, FetchError> {
        self.get(url, false).await
    }

    /// Like [`Fetcher::get_json`] but always asks the host (the answer replaces the
    /// cached one): for a key that failed to verify, or an object known to be stale.
    pub async fn get_json_fresh(&self, url: &Url) -> Result<Fetched, FetchError> {
        self.get(url, true).await
    }

    /// Drops the cached answer for `url`, if any.
    pub fn invalidate(&self, url: &Url) {
        lock(&self.inner.cache).remove(&cache_key(url));
    }

    async fn get(&self, url: &Url, fresh: bool) -> Result<Fetched, FetchError> {
        let config = &self.inner.config;
        let key = cache_key(url);
        let caching = !config.cache_ttl.is_zero() && config.cache_entries > 0;
        if caching
            && !fresh
            && let Some(hit) = lock(&self.inner.cache).get(&key, config.cache_ttl)
        {
            tracing::debug!(url = %url, "fetch served from cache");
            return Ok(hit);
        }
        let fetched = tokio::time::timeout(config.total_timeout, self.get_uncached(url))
            .await
            .map_err(|_| FetchError::Timeout)??;
        if caching {
            lock(&self.inner.cache).insert(key, &fetched, config);
        }
        Ok(fetched)
    }

    async fn get_uncached(&self, url: &Url) -> Result<Fetched, FetchError> {
        let config = &self.inner.config;
        let mut current = url.clone();
        let mut hop = 0;
        loop {
            self.check_url(&current)?;
            let host = host_key(&current);
            let _slot = self.acquire_slot(&host).await?;
            let signer = self.inner.signer.as_deref();
            let scheme = if self.advertises_rfc9421(&current) {
                Scheme::Rfc9421
            } else {
                Scheme::Cavage
            };
            let mut response = self
                .send(Method::GET, &current, None, signer, Some(scheme), None)
                .await?;
            if response.status() == StatusCode::UNAUTHORIZED && signer.is_some() {
                // Refused as unauthorized: knock again with the other scheme, and
                // remember the one that worked for the host.
                let other = match scheme {
                    Scheme::Cavage => Scheme::Rfc9421,
                    Scheme::Rfc9421 => Scheme::Cavage,
                };
                drain(&mut response).await;
                response = self
                    .send(Method::GET, &current, None, signer, Some(other), None)
                    .await?;
                if response.status().is_success() {
                    self.set_rfc9421(&current, other == Scheme::Rfc9421);
                }
            }
            let status = response.status();
            if is_followed_redirect(status)
                && let Some(location) = response.headers().get(header::LOCATION)
            {
                if hop >= config.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        max: config.max_redirects,
                    });
                }
                let location = location
                    .to_str()
                    .map_err(|_| FetchError::InvalidUrl("non-ASCII Location".into()))?;
                let next = current.join(location).map_err(|e| {
                    FetchError::InvalidUrl(format!("redirect to {location:?}: {e}"))
                })?;
                tracing::debug!(from = %current, to = %next, "following redirect");
                current = next;
                hop += 1;
                continue;
            }
            self.check_status(status, response.headers(), &host)?;
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match content_type {
                Some(ct) if is_json_content_type(&ct) => {
                    let body = read_capped(&mut response, config.max_body_bytes).await?;
                    return Ok(Fetched {
                        url: current,
                        content_type: ct,
                        body: body.into(),
                        from_cache: false,
                    });
                }
                other => return Err(FetchError::NotJson(other)),
            }
        }
    }

    /// GETs a web page (or an oEmbed document) for a link preview: unsigned, with
    /// `request`'s `Accept` and validators, redirects followed and re-checked as for
    /// JSON GETs, the per-host slot held until the answer is dropped. A `304` is
    /// [`PageAnswer::NotModified`]; another 2xx is a [`PageBody`] whose body the caller
    /// reads as far as it wants ([`PageBody::chunk`]): nothing is cached here, and the
    /// caller bounds the time. `429`/`503` with `Retry-After` are remembered for the
    /// host, as for every request.
    pub async fn get_page(
        &self,
        url: &Url,
        request: &PageRequest<'_>,
    ) -> Result<PageAnswer, FetchError> {
        let config = &self.inner.config;
        let mut extra = HeaderMap::new();
        extra.insert(header::ACCEPT, HeaderValue::from_static(request.accept));
        if let Some(etag) = request
            .if_none_match
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            extra.insert(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = request
            .if_modified_since
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            extra.insert(header::IF_MODIFIED_SINCE, date);
        }
        let mut current = url.clone();
        let mut hop = 0;
        loop {
            self.check_url(&current)?;
            let host = host_key(&current);
            let slot = self.acquire_slot(&host).await?;
            let response = self
                .send(Method::GET, &current, None, None, None, Some(extra.clone()))
                .await?;
            let status = response.status();
            if is_followed_redirect(status)
                && let Some(location) = response.headers().get(header::LOCATION)
            {
                if hop >= config.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        max: config.max_redirects,
                    });
                }
                let location = location
                    .to_str()
                    .map_err(|_| FetchError::InvalidUrl("non-ASCII Location".into()))?;
                current = current.join(location).map_err(|e| {
                    FetchError::InvalidUrl(format!("redirect to {location:?}: {e}"))
                })?;
                hop += 1;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED {
                return Ok(PageAnswer::NotModified);
            }
            self.check_status(status, response.headers(), &host)?;
            let text = |name: header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            return Ok(PageAnswer::Page(Box::new(PageBody {
                url: current,
                content_type: text(header::CONTENT_TYPE).unwrap_or_default(),
                etag: text(header::ETAG),
                last_modified: text(header::LAST_MODIFIED),
                response,
                _slot: slot,
            })));
        }
    }

    /// POSTs `body` (a delivery) to `url`, signed by `signer`, or by the fetcher's
    /// default signer when `None`. Not retried here and redirects are not followed:
    /// the delivery queue decides with [`FetchError::is_retryable`].
    pub async fn post(
        &self,
        url: &Url,
        body: Vec<u8>,
        content_type: &str,
        signer: Option<&dyn RequestSigner>,
    ) -> Result<PostOutcome, FetchError> {
        let config = &self.inner.config;
        let content_type = HeaderValue::from_str(content_type)
            .map_err(|_| FetchError::InvalidUrl("invalid content type".into()))?;
        let signer = signer.or(self.inner.signer.as_deref());
        let work = async {
            self.check_url(url)?;
            let host = host_key(url);
            let _slot = self.acquire_slot(&host).await?;
            let mut response = self
                .send(
                    Method::POST,
                    url,
                    Some((body, content_type)),
                    signer,
                    None,
                    None,
                )
                .await?;
            let status = response.status();
            let headers = response.headers().clone();
            drain(&mut response).await;
            if status.is_redirection() {
                return Err(FetchError::Redirected {
                    status: status.as_u16(),
                    location: headers
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                });
            }
            self.check_status(status, &headers, &host)?;
            Ok(PostOutcome {
                status: status.as_u16(),
                retry_after: parse_retry_after(&headers, config.max_retry_after),
            })
        };
        tokio::time::timeout(config.total_timeout, work)
            .await
            .map_err(|_| FetchError::Timeout)?
    }

    /// Whether `url`'s host has asked for RFC 9421 HTTP Message Signatures (an
    /// `Accept-Signature` header on any of its answers so far).
    pub fn advertises_rfc9421(&self, url: &Url) -> bool {
        url.host_str()
            .is_some_and(|h| lock(&self.inner.rfc9421_hosts).contains(&h.to_ascii_lowercase()))
    }

    fn remember_rfc9421(&self, url: &Url) {
        self.set_rfc9421(url, true);
    }

    /// Remembers whether `url`'s host takes RFC 9421 signatures first.
    fn set_rfc9421(&self, url: &Url, rfc9421: bool) {
        let Some(host) = url.host_str() else {
            return;
        };
        let host = host.to_ascii_lowercase();
        let mut hosts = lock(&self.inner.rfc9421_hosts);
        if !rfc9421 {
            hosts.remove(&host);
            return;
        }
        if hosts.len() >= MAX_RFC9421_HOSTS {
            hosts.clear();
        }
        hosts.insert(host);
    }

    /// Waits for a request slot on `host`, failing fast if the host asked us to wait
    /// (checked before and after waiting: the answer that set it may arrive while we
    /// wait).
    async fn acquire_slot(&self, host: &str) -> Result<HostSlot, FetchError> {
        self.check_not_before(host)?;
        let slot = HostSlots::acquire(&self.inner.hosts, host).await;
        self.check_not_before(host)?;
        Ok(slot)
    }

    fn check_not_before(&self, host: &str) -> Result<(), FetchError> {
        let mut map = lock(&self.inner.not_before);
        if let Some(&until) = map.get(host) {
            let now = Instant::now();
            if now < until {
                return Err(FetchError::RateLimited {
                    retry_after: until - now,
                });
            }
            map.remove(host);
        }
        Ok(())
    }

    /// Turns a non-redirect final status into the result, remembering `Retry-After`
    /// of a 429/503 for the host.
    fn check_status(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        host: &str,
    ) -> Result<(), FetchError> {
        if status.is_success() {
            return Ok(());
        }
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) && let Some(retry_after) =
            parse_retry_after(headers, self.inner.config.max_retry_after)
        {
            let now = Instant::now();
            let mut map = lock(&self.inner.not_before);
            map.retain(|_, until| *until > now);
            map.insert(host.to_owned(), now + retry_after);
            tracing::debug!(host, ?retry_after, "host asked us to wait");
            return Err(FetchError::RateLimited { retry_after });
        }
        Err(FetchError::Status(status.as_u16()))
    }

    /// Builds, signs, sends one request; logs it.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<(Vec<u8>, HeaderValue)>,
        signer: Option<&dyn RequestSigner>,
        scheme: Option<Scheme>,
        extra: Option<HeaderMap>,
    ) -> Result<reqwest::Response, FetchError> {
        let config = &self.inner.config;
        let host = host_key(url);
        let host = host.as_str();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host_header(url)?);
        headers.insert(
            header::DATE,
            HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now()))
                .expect("an HTTP date is a valid header value"),
        );
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_str(&config.user_agent).expect("checked in Fetcher::new"),
        );
        match &body {
            Some((_, content_type)) => {
                headers.insert(header::CONTENT_TYPE, content_type.clone());
            }
            None => {
                headers.insert(header::ACCEPT, HeaderValue::from_static(ACTIVITY_ACCEPT));
            }
        }
        if let Some(extra) = extra {
            for (name, value) in &extra {
                headers.insert(name, value.clone());
            }
        }
        if let Some(signer) = signer {
            let body = body.as_ref().map(|(b, _)| b.as_slice());
            match scheme {
                Some(scheme) => signer.sign_as(scheme, &method, url, &mut headers, body),
                None => signer.sign(&method, url, &mut headers, body),
            }
            .map_err(FetchError::Signing)?;
        }
        let mut request = self
            .client()?
            .request(method.clone(), url.clone())
            .headers(headers);
        if let Some((body, _)) = body {
            request = request.body(body);
        }
        let started = Instant::now();
        let result = request.send().await;
        let ms = started.elapsed().as_millis() as u64;
        if let Ok(response) = &result
            && response.headers().contains_key("accept-signature")
        {
            self.remember_rfc9421(url);
        }
        match &result {
            Ok(response) => tracing::debug!(
                method = %method,
                host,
                status = response.status().as_u16(),
                ms,
                "outbound request"
            ),
            Err(error) => tracing::debug!(
                method = %method,
                host,
                ms,
                error = %error_chain(error),
                "outbound request failed"
            ),
        }
        result.map_err(map_reqwest_error)
    }
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// `application/json` or any `application/*+json` (activity+json, ld+json, jrd+json).
fn is_json_content_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads the body, refusing it as soon as it is known to exceed `limit` (by
/// `Content-Length` before reading, or while streaming). Returning early drops the
/// response, which closes the connection.
async fn read_capped(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    let too_large = FetchError::TooLarge { limit };
    let expected = match response.content_length() {
        Some(len) if len > limit as u64 => return Err(too_large),
        Some(len) => len as usize,
        None => 8 * 1024,
    };
    let mut body = Vec::with_capacity(expected.min(limit));
    while let Some(chunk) = response.chunk().await.map_err(map_reqwest_error)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads and discards a small response body so the connection can be reused.
async fn drain(response: &mut reqwest::Response) {
    if response
        .content_length()
        .is_some_and(|len| len > POST_RESPONSE_DRAIN_BYTES as u64)
    {
        return;
    }
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > POST_RESPONSE_DRAIN_BYTES {
            return;
        }
    }
}

/// `Retry-After` as delay-seconds or an HTTP date, capped at `max`.
fn parse_retry_after(headers: &HeaderMap, max: Duration) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let delay = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    Some(delay.min(max))
}

/// The key of per-host state: `host:port` (default port of the scheme if absent).
fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

fn host_header(url: &Url) -> Result<HeaderValue, FetchError> {
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::InvalidUrl("no host".into()))?;
    let value = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    HeaderValue::from_str(&value).map_err(|_| FetchError::InvalidUrl("invalid host".into()))
}

/// The cache key: the URL without its fragment (`…/actor#main-key` and `…/actor` are
/// one document).
fn cache_key(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.into()
}

fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn map_reqwest_error(error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<ForbiddenAddress>() {
            return forbidden.clone().into();
        }
        source = cause.source();
    }
    if error.is_timeout() {
        FetchError::Timeout
    } else if error.is_connect() {
        FetchError::Connect(error_chain(&error))
    } else {
        FetchError::Http(error_chain(&error))
    }
}

/// Per-host request slots: one semaphore per `host:port` with requests in flight or
/// waiting. An entry is removed when its last holder or waiter leaves (including a
/// waiter cancelled by a timeout), so the map holds only busy hosts.
///
/// Every clone of an entry's `Arc` is made and dropped under the map lock, so
/// "strong count == 2" (the map and the leaving slot) reliably means "idle".
struct HostSlots {
    per_host: usize,
    map: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostSlots {
    fn new(per_host: usize) -> Self {
        Self {
            per_host,
            map: Mutex::new(HashMap::new()),
        }
    }

    async fn acquire(this: &Arc<Self>, host: &str) -> HostSlot {
        let semaphore = lock(&this.map)
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(this.per_host)))
            .clone();
        // The slot exists before waiting, so a cancelled wait still cleans up.
        let mut slot = HostSlot {
            slots: Arc::clone(this),
            host: host.to_owned(),
            semaphore: Some(semaphore),
            acquired: false,
        };
        if let Some(semaphore) = &slot.semaphore {
            semaphore
                .acquire()
                .await
                .expect("host semaphores are never closed")
                .forget();
        }
        slot.acquired = true;
        slot
    }

    fn busy_hosts(&self) -> usize {
        lock(&self.map).len()
    }
}

/// A request slot on one host (or a place in its queue), released on drop.
struct HostSlot {
    slots: Arc<HostSlots>,
    host: String,
    semaphore: Option<Arc<Semaphore>>,
    acquired: bool,
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let mut map = lock(&self.slots.map);
        let Some(semaphore) = self.semaphore.take() else {
            return;
        };
        if self.acquired {
            semaphore.add_permits(1);
        }
        let idle = Arc::strong_count(&semaphore) == 2
            && map
                .get(&self.host)
                .is_some_and(|entry| Arc::ptr_eq(entry, &semaphore));
        drop(semaphore);
        if idle {
            map.remove(&self.host);
        }
    }
}

/// The TTL cache of successful JSON GETs, bounded by entries and bytes, evicting the
/// oldest insertion first.
#[derive(Default)]
struct Cache {
    map: HashMap<String, CacheEntry>,
    /// Insertion order; entries whose generation no longer matches are stale.
    order: VecDeque<(String, u64)>,
    next_generation: u64,
    bytes: usize,
}

struct CacheEntry {
    generation: u64,
    stored: Instant,
    url: Url,
    content_type: String,
    body: Arc<[u8]>,
}

impl Cache {
    fn get(&mut self, key: &str, ttl: Duration) -> Option<Fetched> {
        let entry = self.map.get(key)?;
        if entry.stored.elapsed() >= ttl {
            self.remove(key);
            return None;
        }
        Some(Fetched {
            url: entry.url.clone(),
            content_type: entry.content_type.clone(),
            body: Arc::clone(&entry.body),
            from_cache: true,
        })
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.map.remove(key) {
            self.bytes -= entry.body.len();
        }
    }

    fn insert(&mut self, key: String, fetched: &Fetched, config: &FetchConfig) {
        self.remove(&key);
        if fetched.body.len() > config.cache_max_bytes {
            return;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.bytes += fetched.body.len();
        self.order.push_back((key.clone(), generation));
        self.map.insert(
            key,
            CacheEntry {
                generation,
                stored: Instant::now(),
                url: fetched.url.clone(),
                content_type: fetched.content_type.clone(),
                body: Arc::clone(&fetched.body),
            },
        );
        while self.map.len() > config.cache_entries || self.bytes > config.cache_max_bytes {
            let Some((old, old_generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .map
                .get(&old)
                .is_some_and(|e| e.generation == old_generation)
            {
                self.remove(&old);
            }
        }
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(k, g)| map.get(k).is_some_and(|e| e.generation == *g));
        }
    }
}
