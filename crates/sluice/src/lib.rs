//! The Sluice server as a library: configuration, start-up and the running server.
//! `main.rs` is the CLI on top; integration tests start the same server in-process on an
//! ephemeral port and talk HTTP to it.

pub mod backup;
pub mod config;
pub mod logging;
mod mail;
#[cfg(unix)]
pub mod supervisor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sluice_api::{ApiConfig, AppState, Limit, RateLimiter, RateLimits};
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
        use nix::sys::socket::{AddressFamily, SockaddrLike as _, SockaddrStorage, getsockname};
        use std::os::fd::AsRawFd as _;
        let address = getsockname::<SockaddrStorage>(fd.as_raw_fd())
            .map_err(std::io::Error::from)
            .context("an inherited listener")?;
        if address.family() == Some(AddressFamily::Unix) {
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
    Store::open_with(&url, config.store_options())
        .await
        .with_context(|| format!("cannot open database {}", config::mask_url_password(&url)))
}

/// What a command does when the configuration names a database that does not exist
/// yet (no SQLite file, or a PostgreSQL database without Sluice's tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingDatabase {
    /// Create it (`--create-database`).
    Create,
    /// Refuse: run in the wrong directory, or without the server's settings, a command
    /// would otherwise start a new, empty instance beside the real one.
    Refuse,
}

/// Opens the database for a command other than `serve`, says on standard error which
/// one, and migrates it; a database that does not exist is created only when asked.
pub async fn open_existing_store(
    config: &Config,
    missing: MissingDatabase,
) -> anyhow::Result<Store> {
    let url = config.database_url();
    let shown = config::mask_url_password(&url);
    let refuse = || {
        anyhow::anyhow!(
            "no Sluice database at {shown}. Run this command with the server's settings \
             (in its working directory, or with its SLUICE_DATA_DIR or SLUICE_DATABASE_URL \
             or its sluice.toml); to set up a new instance here, add --create-database"
        )
    };
    let file_missing = sluice_store::sqlite_path(&url).is_some_and(|p| !p.exists());
    if file_missing && missing == MissingDatabase::Refuse {
        return Err(refuse());
    }
    let store = Store::connect_with(&url, config.store_options())
        .await
        .with_context(|| format!("cannot open database {shown}"))?;
    let created = !store.has_schema().await?;
    if created && missing == MissingDatabase::Refuse {
        store.close().await;
        return Err(refuse());
    }
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate database {shown}"))?;
    eprintln!(
        "database: {shown}{}",
        if created { " (created)" } else { "" }
    );
    Ok(store)
}

/// Whether a command may record the public URL when the database has none yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Serving, or creating accounts: the URL in effect becomes the instance's.
    Record,
    /// Commands that mint no ids: they use the URL in effect and record nothing.
    Borrow,
}

/// The instance's public URL: the one recorded in the database (set at the first start:
/// every id minted since is under it), else the configured one, else one derived from
/// the address bound. A configured URL that differs from the recorded one is an error:
/// accounts and posts other servers know of are named by the recorded one.
///
/// With [`Identity::Record`] and nothing recorded, the URL in effect is recorded:
/// always when configured; when derived, only for an instance without users yet (an
/// older database whose first start after the upgrade has no URL configured keeps
/// running as before, unrecorded, rather than recording a guess).
pub async fn public_url(
    config: &Config,
    store: &Store,
    bound: Option<SocketAddr>,
    identity: Identity,
) -> anyhow::Result<String> {
    let configured = config.configured_public_url();
    if let Some(recorded) = store.instance_setting(sluice_store::PUBLIC_URL_KEY).await? {
        let derived = config.public_url_for(bound);
        if configured.is_none() && bound.is_some() && !config::same_url(&recorded.value, &derived) {
            tracing::warn!(
                public_url = %recorded.value,
                listening = %derived,
                "serving under the public URL recorded in the database; set SLUICE_PUBLIC_URL to it"
            );
        }
        return check_public_url(&recorded.value, configured.as_deref());
    }
    let url = config.public_url_for(bound);
    if identity == Identity::Record && (configured.is_some() || !store.has_users().await?) {
        let recorded = store
            .record_instance_setting(
                sluice_store::PUBLIC_URL_KEY,
                &url,
                sluice_model::id::now_millis(),
            )
            .await?;
        return check_public_url(&recorded.value, configured.as_deref());
    }
    Ok(url)
}

/// The recorded public URL, or why the configured one may not replace it.
fn check_public_url(recorded: &str, configured: Option<&str>) -> anyhow::Result<String> {
    match configured {
        Some(c) if !config::same_url(c, recorded) => anyhow::bail!(
            "this database belongs to the instance {recorded} (its public URL, recorded \
             when the instance was set up), but the public URL configured now is {c} \
             (SLUICE_PUBLIC_URL or public_url in sluice.toml). The public URL is the \
             instance's identity in the fediverse: every account, post and follow that \
             other servers know of is named by it, and under another URL they would find \
             none of them, so it cannot be changed. Configure {recorded} (or leave the \
             public URL unset), or give an instance at {c} a new database."
        ),
        _ => Ok(recorded.to_string()),
    }
}

/// Raises this process's soft limit on open files to its hard limit: every streaming
/// connection holds a descriptor, and the usual soft limit (1,024) would cap a server
/// at about a thousand clients. Returns the (soft, hard) limits now in force, or None
/// where they cannot be read.
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every unix
pub fn raise_open_files_limit() -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let (mut soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
        if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
            soft = hard;
        }
        Some((soft as u64, hard as u64))
    }
    #[cfg(not(unix))]
    None
}

/// Builds the engine for a configuration and bound address, under the instance's
/// [`public_url`].
pub async fn build_engine(
    config: &Config,
    store: Store,
    bound: Option<SocketAddr>,
    identity: Identity,
) -> anyhow::Result<Arc<Engine>> {
    let public_url = public_url(config, &store, bound, identity).await?;
    let engine = Engine::new(
        store,
        EngineConfig {
            public_url,
            registrations: config.registrations,
            local_timeline: config.local_timeline,
            federated_timeline: config.federated_timeline,
            max_status_chars: config.max_status_chars,
            event_retention_ms: config.event_retention_secs as i64 * 1000,
            event_max_rows: config.event_max_rows,
            send_blocks: config.federation.send_blocks,
            delivery_max_age_ms: config.federation.delivery_max_age_secs as i64 * 1000,
            media_dir: config.media_dir(),
            media_max_bytes: config.media_max_bytes,
            make_key_pair: sluice_federation::local::make_key_pair,
            polls: sluice_engine::polls::PollLimits {
                max_options: config.poll_max_options,
                max_option_chars: config.poll_max_characters_per_option,
                min_expiration_secs: config.poll_min_expiration_secs as i64,
                max_expiration_secs: config.poll_max_expiration_secs as i64,
            },
            cards: config.cards.settings(),
            max_reactions_per_account: config.max_reactions_per_account,
            import_max_bytes: config.import_max_bytes,
            federation_mode: config.federation_mode,
            purge: sluice_engine::federation_moderation::PurgeSettings {
                batch: config.purge_batch,
                pause_ms: config.purge_pause_ms,
            },
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
        self.engine.close().await;
    }

    /// Waits until the server stops (it stops when `shutdown_on` resolves).
    pub async fn wait(self) -> anyhow::Result<()> {
        let engine = self.engine.clone();
        let r = self.task.await;
        end_streams(&self.state);
        for b in self.background {
            let _ = tokio::time::timeout(Duration::from_secs(30), b).await;
        }
        engine.close().await;
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
    // The web app's catalogs first: a bad translation file stops the start before
    // anything is opened.
    let catalogs = Arc::new(
        sluice_api::Catalogs::load(config.locales_dir.as_deref())
            .map_err(|e| anyhow::anyhow!("SLUICE_LOCALES_DIR: {e}"))?,
    );
    let privacy_policy = config
        .privacy_policy_file
        .as_deref()
        .map(read_privacy_policy)
        .transpose()?;
    let engine = open_engine(config, bound).await?;
    let url = engine.urls.base().to_string();
    let api = api_config(config, &url, bound, catalogs, privacy_policy)?;
    let limits = RateLimiter::new(rate_limits(config));
    engine
        .ensure_instance_key()
        .await
        .context("making the instance actor's signing key")?;
    engine
        .ensure_vapid_key(sluice_federation::push::generate_vapid_key)
        .await
        .context("making the instance's VAPID key (Web Push)")?;
    let (shutdown, rx) = watch::channel(false);
    let (federation, delivery) = Federation::start(
        engine.clone(),
        federation_settings(config, &url),
        rx.clone(),
    )
    .map_err(|e| anyhow::anyhow!("federation: {e}"))?;
    let (hub, tailer) = sluice_streaming::Hub::start(engine.clone(), hub_config(config)?).await?;
    let mut background = delivery;
    background.push(tailer);
    let state = AppState::new(engine.clone(), api, limits)
        .with_federation(federation)
        .with_streaming(hub);
    if let Some(l) = metrics_listener {
        background.push(serve_metrics(l, state.clone(), rx.clone()));
    }
    let app = sluice_api::app(state.clone(), extra);
    engine.spawn_maintenance(rx.clone());
    engine.spawn_mute_expiry(rx.clone());
    engine.spawn_scheduler(rx.clone());
    engine.spawn_poll_expiry(rx.clone());
    engine.spawn_account_purge(rx.clone());
    engine.spawn_archives(rx.clone());
    engine.spawn_purge(rx.clone());
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

/// Opens the database and builds the engine on it (the database closed again when the
/// engine cannot be built), with federation's actor documents installed.
async fn open_engine(config: &Config, bound: Option<SocketAddr>) -> anyhow::Result<Arc<Engine>> {
    let store = open_store(config).await?;
    let engine = match build_engine(config, store.clone(), bound, Identity::Record).await {
        Ok(engine) => engine,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    engine.install_actor_documents(Arc::new(sluice_federation::local::LocalActorDocuments));
    if let Some(url) = config.smtp_url.as_deref().filter(|u| !u.is_empty()) {
        let from = config.smtp_from.clone().unwrap_or_else(|| {
            format!(
                "notifications@{}",
                engine
                    .urls
                    .domain()
                    .split(':')
                    .next()
                    .unwrap_or("localhost")
            )
        });
        engine.install_mailer(Arc::new(mail::SmtpMailer::new(url, &from)?));
    }
    Ok(engine)
}

/// What the API needs to know of the configuration, serving under `url`, with the
/// web app's message catalogs and the operator's privacy policy.
fn api_config(
    config: &Config,
    url: &str,
    bound: Option<SocketAddr>,
    catalogs: Arc<sluice_api::Catalogs>,
    privacy_policy: Option<sluice_api::PrivacyPolicy>,
) -> anyhow::Result<ApiConfig> {
    Ok(ApiConfig {
        title: config.instance_title.clone(),
        description: config.instance_description.clone(),
        contact_email: config.contact_email.clone(),
        max_body_bytes: config.max_body_bytes,
        request_timeout: config.request_timeout(),
        streaming_url: config.streaming_url_for(url),
        streaming_heartbeat: Duration::from_secs(config.streaming_heartbeat_secs.max(1)),
        metrics_token: config.metrics_token.clone().filter(|t| !t.is_empty()),
        streaming_status: config.streaming_status,
        drain_grace: Duration::from_millis(config.drain_grace_ms),
        trusted_proxies: config.trusted_proxies_for(bound)?,
        catalogs,
        privacy_policy,
        show_domain_blocks: config.show_domain_blocks,
        show_domain_blocks_rationale: config.show_domain_blocks_rationale,
    })
}

/// The operator's privacy policy file: its text and modification time. A file that
/// cannot be read stops the start (before anything is opened), naming it.
fn read_privacy_policy(path: &std::path::Path) -> anyhow::Result<sluice_api::PrivacyPolicy> {
    let what = || format!("SLUICE_PRIVACY_POLICY_FILE {}", path.display());
    let text = std::fs::read_to_string(path).with_context(what)?;
    let updated_at = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    Ok(sluice_api::PrivacyPolicy { text, updated_at })
}

/// The federation settings of a configuration (deliveries on).
fn federation_settings(config: &Config, public_url: &str) -> FederationSettings {
    FederationSettings {
        allow_private_addresses: config.allow_private_addresses,
        allow_http: config.federation.allow_http,
        per_host_concurrency: config.federation.per_host_concurrency,
        delivery_concurrency: config.federation.delivery_concurrency,
        deliver: true,
        breaker_threshold: i64::from(config.federation.breaker_threshold),
        probe_interval: Duration::from_secs(config.federation.breaker_probe_secs.max(1)),
        backoff_scale: config.federation.delivery_backoff_scale,
        push_per_host_concurrency: config.federation.push_per_host_concurrency,
        push_timeout: Duration::from_secs(config.federation.push_timeout_secs.clamp(1, 60)),
        push_subject: if config.contact_email.is_empty() {
            public_url.to_string()
        } else {
            format!("mailto:{}", config.contact_email)
        },
    }
}

/// The streaming hub's settings of a configuration (its Redis, when one is set).
fn hub_config(config: &Config) -> anyhow::Result<sluice_streaming::HubConfig> {
    Ok(sluice_streaming::HubConfig {
        poll: Duration::from_millis(config.streaming_poll_ms.max(1)),
        redis: match config.redis_url.as_deref().filter(|u| !u.is_empty()) {
            Some(u) => Some(
                sluice_streaming::redis::RedisTarget::parse(u).map_err(|e| anyhow::anyhow!(e))?,
            ),
            None => None,
        },
        ..sluice_streaming::HubConfig::default()
    })
}

/// Serves `/metrics` on its own listener until shutdown.
fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let metrics = sluice_api::metrics_app(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, metrics)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
    })
}

/// The rate limits of a configuration.
fn rate_limits(config: &Config) -> RateLimits {
    // The windows Mastodon's rack-attack uses for the same limits.
    let per = |max, secs| Limit {
        max,
        window: Duration::from_secs(secs),
    };
    RateLimits {
        sign_in: per(config.rate_limit_sign_in, 300),
        registration: per(config.rate_limit_registrations, 1800),
        write: per(config.rate_limit_writes, 300),
        apps: per(config.rate_limit_apps, 300),
    }
}

/// Settings `SIGHUP` applies to a running server; the others take a restart (an
/// upgrade to the same binary restarts the serving processes without dropping a
/// connection).
pub const RELOADABLE: [&str; 7] = [
    "log",
    "max_body_bytes",
    "request_timeout_secs",
    "rate_limit_sign_in",
    "rate_limit_registrations",
    "rate_limit_writes",
    "rate_limit_apps",
];

/// The [`RELOADABLE`] settings of `config`, each as `name=value` (values as
/// `config show` writes them): what the `SIGHUP` log line reports, made from the list
/// itself so that a setting added to it is reported too.
pub fn reloadable_settings(config: &Config) -> String {
    let all = serde_json::to_value(config).unwrap_or_default();
    RELOADABLE
        .iter()
        .map(|key| format!("{key}={}", all.get(key).unwrap_or(&serde_json::Value::Null)))
        .collect::<Vec<_>>()
        .join(" ")
}

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
        self.0.reload(
            config.request_timeout(),
            config.max_body_bytes,
            rate_limits(config),
        );
        Ok(())
    }
}

/// The commands and arguments of a command line that do not say what they are or take
/// (`--help` is where an admin learns the allowed values), as `path argument`: each
/// binary's test asserts there are none.
#[doc(hidden)]
pub fn undocumented_arguments(cmd: &clap::Command, path: &str) -> Vec<String> {
    let mut missing = Vec::new();
    if cmd.get_about().is_none() {
        missing.push(path.to_string());
    }
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_hide_set() || id == "help" || id == "version" {
            continue;
        }
        if arg.get_help().is_none() && arg.get_long_help().is_none() {
            missing.push(format!("{path} {id}"));
        }
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        missing.extend(undocumented_arguments(
            sub,
            &format!("{path} {}", sub.get_name()),
        ));
    }
    missing
}

#[cfg(test)]
mod tests {
    /// Each reloadable setting is a setting, and the `SIGHUP` line gives its value.
    #[test]
    fn the_reload_line_names_every_reloadable_setting() {
        let config = crate::Config {
            rate_limit_apps: 7,
            ..crate::Config::default()
        };
        let line = crate::reloadable_settings(&config);
        for key in crate::RELOADABLE {
            assert!(line.contains(&format!("{key}=")), "{key}: {line}");
        }
        assert!(!line.contains("=null"), "{line}");
        assert!(line.contains("rate_limit_apps=7"), "{line}");
    }
}
