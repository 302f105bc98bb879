//! The Sluice server as a library: configuration, start-up and the running server.
//! `main.rs` is the CLI on top; integration tests start the same server in-process on an
//! ephemeral port and talk HTTP to it.

pub mod config;
pub mod logging;
pub mod seed;
#[cfg(unix)]
pub mod supervisor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sluice_api::{ApiConfig, AppState, Limit, RateLimiter};
use sluice_engine::{Engine, EngineConfig};
use sluice_federation::service::{Federation, FederationSettings};
use sluice_store::Store;
use tokio::sync::watch;

pub use config::Config;

/// Where the server listens.
pub enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

impl Listener {
    /// Binds `HOST:PORT` or `unix:/path` (a stale socket file is replaced).
    pub async fn bind(listen: &str) -> anyhow::Result<Listener> {
        #[cfg(unix)]
        if let Some(path) = listen.strip_prefix("unix:") {
            let _ = std::fs::remove_file(path);
            let l = tokio::net::UnixListener::bind(path)
                .with_context(|| format!("cannot listen on {listen}"))?;
            return Ok(Listener::Unix(l));
        }
        let l = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        Ok(Listener::Tcp(l))
    }

    /// A listening socket inherited from a supervisor (TCP or unix, as it is).
    #[cfg(unix)]
    pub fn from_fd(fd: std::os::fd::OwnedFd) -> anyhow::Result<Listener> {
        use std::os::fd::AsRawFd as _;
        let mut domain: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes one int into `domain`.
        let r = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_DOMAIN,
                (&mut domain as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error()).context("an inherited listener");
        }
        if domain == libc::AF_UNIX {
            let l = std::os::unix::net::UnixListener::from(fd);
            l.set_nonblocking(true)?;
            return Ok(Listener::Unix(tokio::net::UnixListener::from_std(l)?));
        }
        let l = std::net::TcpListener::from(fd);
        l.set_nonblocking(true)?;
        Ok(Listener::Tcp(tokio::net::TcpListener::from_std(l)?))
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Listener::Unix(_) => None,
        }
    }
}

/// Opens the database named by the configuration (creating the data dir for SQLite).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    Store::open(&url)
        .await
        .with_context(|| format!("cannot open database {}", config::mask_url_password(&url)))
}

/// Raises this process's soft limit on open files to its hard limit: every streaming
/// connection holds a descriptor, and the usual soft limit (1,024) would cap a server
/// at about a thousand clients. Returns the (soft, hard) limits now in force, or None
/// where they cannot be read.
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every unix
pub fn raise_open_files_limit() -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        Some((limit.rlim_cur as u64, limit.rlim_max as u64))
    }
    #[cfg(not(unix))]
    None
}

/// Builds the engine for a configuration and bound address.
pub async fn build_engine(
    config: &Config,
    store: Store,
    bound: Option<SocketAddr>,
) -> anyhow::Result<Arc<Engine>> {
    let engine = Engine::new(
        store,
        EngineConfig {
            public_url: config.public_url_for(bound),
            registrations: config.registrations,
            max_status_chars: config.max_status_chars,
            event_retention_ms: config.event_retention_secs as i64 * 1000,
            event_max_rows: config.event_max_rows,
            send_blocks: config.federation.send_blocks,
            delivery_max_age_ms: config.federation.delivery_max_age_secs as i64 * 1000,
            media_dir: config.media_dir(),
            media_max_bytes: config.media_max_bytes,
        },
    )
    .await?;
    Ok(engine)
}

/// A server that is accepting connections.
pub struct Running {
    /// The TCP address bound (None on a unix socket).
    pub addr: Option<SocketAddr>,
    /// The public base URL.
    pub url: String,
    pub engine: Arc<Engine>,
    shutdown: watch::Sender<bool>,
    /// What [`Running::reload`] changes.
    state: AppState,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Inbox processors and delivery workers: they finish their work in flight on
    /// shutdown.
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (bounded by the request
    /// deadline), and closes the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(35), self.task).await;
        end_streams(&self.state);
        for b in self.background {
            let _ = tokio::time::timeout(Duration::from_secs(30), b).await;
        }
        self.engine.store.close().await;
    }

    /// Waits until the server stops (it stops when `shutdown_on` resolves).
    pub async fn wait(self) -> anyhow::Result<()> {
        let engine = self.engine.clone();
        let r = self.task.await;
        end_streams(&self.state);
        for b in self.background {
            let _ = tokio::time::timeout(Duration::from_secs(30), b).await;
        }
        engine.store.close().await;
        r??;
        Ok(())
    }
}

/// Ends the streams and stops the event-log tailer. The front end does it once it
/// stopped accepting and closed its other connections (`sluice_api::front`); this is
/// for a front end that ended otherwise.
fn end_streams(state: &AppState) {
    if let Some(hub) = &state.streaming {
        hub.end_streams();
    }
}

/// Opens the database and serves on `listener` until stopped.
pub async fn start(config: &Config, listener: Listener) -> anyhow::Result<Running> {
    start_with(config, listener, axum::Router::new()).await
}

/// [`start`] with the metrics listener given (a supervisor's, inherited) instead of
/// bound from `metrics_listen`.
pub async fn start_inherited(
    config: &Config,
    listener: Listener,
    metrics: Option<std::net::TcpListener>,
) -> anyhow::Result<Running> {
    let metrics = match metrics {
        Some(l) => {
            l.set_nonblocking(true)?;
            Some(tokio::net::TcpListener::from_std(l)?)
        }
        None => None,
    };
    start_full(config, listener, metrics, axum::Router::new()).await
}

/// [`start`] with extra routes inside the same guards (for tests of the guards).
pub async fn start_with(
    config: &Config,
    listener: Listener,
    extra: axum::Router<AppState>,
) -> anyhow::Result<Running> {
    let metrics = match config.metrics_listen.as_deref().filter(|l| !l.is_empty()) {
        Some(listen) => Some(
            tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen} (SLUICE_METRICS_LISTEN)"))?,
        ),
        None => None,
    };
    start_full(config, listener, metrics, extra).await
}

async fn start_full(
    config: &Config,
    listener: Listener,
    metrics_listener: Option<tokio::net::TcpListener>,
    extra: axum::Router<AppState>,
) -> anyhow::Result<Running> {
    let bound = listener.local_addr();
    let store = open_store(config).await?;
    let engine = build_engine(config, store, bound).await?;
    let url = engine.urls.base().to_string();
    let api = ApiConfig {
        title: config.instance_title.clone(),
        description: config.instance_description.clone(),
        contact_email: config.contact_email.clone(),
        max_body_bytes: config.max_body_bytes,
        request_timeout: config.request_timeout(),
        streaming_url: config.streaming_url_for(&url),
        streaming_heartbeat: Duration::from_secs(config.streaming_heartbeat_secs.max(1)),
        metrics_token: config.metrics_token.clone().filter(|t| !t.is_empty()),
        streaming_status: config.streaming_status,
        drain_grace: Duration::from_millis(config.drain_grace_ms),
    };
    let (sign_in, registration, write) = rate_limits(config);
    let limits = RateLimiter::new(sign_in, registration, write);
    let (shutdown, rx) = watch::channel(false);
    let (federation, delivery) = Federation::start(
        engine.clone(),
        FederationSettings {
            allow_private_addresses: config.allow_private_addresses,
            allow_http: config.federation.allow_http,
            per_host_concurrency: config.federation.per_host_concurrency,
            delivery_concurrency: config.federation.delivery_concurrency,
            deliver: true,
            breaker_threshold: i64::from(config.federation.breaker_threshold),
            probe_interval: Duration::from_secs(config.federation.breaker_probe_secs.max(1)),
            backoff_scale: config.federation.delivery_backoff_scale,
        },
        rx.clone(),
    )
    .map_err(|e| anyhow::anyhow!("federation: {e}"))?;
    let (hub, tailer) = sluice_streaming::Hub::start(
        engine.clone(),
        sluice_streaming::HubConfig {
            poll: Duration::from_millis(config.streaming_poll_ms.max(1)),
            redis: match config.redis_url.as_deref().filter(|u| !u.is_empty()) {
                Some(u) => Some(
                    sluice_streaming::redis::RedisTarget::parse(u)
                        .map_err(|e| anyhow::anyhow!(e))?,
                ),
                None => None,
            },
            ..sluice_streaming::HubConfig::default()
        },
    )
    .await?;
    let mut background = delivery;
    background.push(tailer);
    let state = AppState::new(engine.clone(), api, limits)
        .with_federation(federation)
        .with_streaming(hub);
    if let Some(l) = metrics_listener {
        let metrics = sluice_api::metrics_app(state.clone());
        let mut stop = rx.clone();
        background.push(tokio::spawn(async move {
            let _ = axum::serve(l, metrics)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        }));
    }
    let app = sluice_api::app(state.clone(), extra);
    engine.spawn_maintenance(rx.clone());
    let task = match listener {
        Listener::Tcp(l) => {
            tokio::spawn(sluice_api::front::serve(l, app, state.clone(), rx.clone()))
        }
        #[cfg(unix)]
        Listener::Unix(l) => {
            tokio::spawn(sluice_api::front::serve(l, app, state.clone(), rx.clone()))
        }
    };
    Ok(Running {
        addr: bound,
        url,
        engine,
        shutdown,
        state,
        task,
        background,
    })
}

/// The sign-in, registration and write limits of a configuration.
fn rate_limits(config: &Config) -> (Limit, Limit, Limit) {
    (
        Limit {
            max: config.rate_limit_sign_in,
            window: Duration::from_secs(300),
        },
        Limit {
            max: config.rate_limit_registrations,
            window: Duration::from_secs(1800),
        },
        Limit {
            max: config.rate_limit_writes,
            window: Duration::from_secs(300),
        },
    )
}

/// Settings `SIGHUP` applies to a running server; the others take a restart (an
/// upgrade to the same binary restarts the serving processes without dropping a
/// connection).
pub const RELOADABLE: [&str; 6] = [
    "log",
    "max_body_bytes",
    "request_timeout_secs",
    "rate_limit_sign_in",
    "rate_limit_registrations",
    "rate_limit_writes",
];

impl Running {
    /// A handle that asks the server to stop (for signal handlers).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// A handle that applies new settings to the server (for the `SIGHUP` handler).
    pub fn reloader(&self) -> Reloader {
        Reloader(self.state.clone())
    }
}

/// Applies settings to a running server ([`Running::reloader`]).
#[derive(Clone)]
pub struct Reloader(AppState);

impl Reloader {
    /// Applies the [`RELOADABLE`] settings of `config` (`SIGHUP`); requests that start
    /// afterwards see them.
    pub fn reload(&self, config: &Config) -> anyhow::Result<()> {
        logging::set_filter(&config.log)?;
        let (sign_in, registration, write) = rate_limits(config);
        self.0.reload(
            config.request_timeout(),
            config.max_body_bytes,
            sign_in,
            registration,
            write,
        );
        Ok(())
    }
}
