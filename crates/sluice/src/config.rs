//! Configuration: defaults that run a local instance with no setup, overridden by an
//! optional TOML file, overridden by `SLUICE_*` environment variables (also read from a
//! `.env` file in the working directory).
//!
//! The names of the settings below are fixed: scripts and operators depend on them.

use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use sluice_api::forwarded::TrustedProxies;
use sluice_engine::{Registrations, TimelineAccess};

/// The longest a poll may be configured to run: ten years, in seconds (its end in
/// milliseconds stays far from overflowing).
pub const MAX_POLL_EXPIRATION_SECS: u64 = 10 * 366 * 24 * 3600;

/// The TOML file read when `--config`/`SLUICE_CONFIG` does not name one (if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "sluice.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `HOST:PORT` or `unix:/path/to.sock` (`SLUICE_LISTEN`, `--listen`).
    pub listen: String,
    /// Scheme, host and port used in every id and link (`SLUICE_PUBLIC_URL`). Derived
    /// from the listen address when unset.
    pub public_url: Option<String>,
    /// Where the embedded database lives (`SLUICE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; default: SQLite in the data dir (`SLUICE_DATABASE_URL`).
    pub database_url: Option<String>,
    /// Most PostgreSQL connections each serving process opens
    /// (`SLUICE_DATABASE_MAX_CONNECTIONS`); default: sized to the machine, two per core
    /// plus two, at least 6 (`sluice config show` prints the figure). SQLite ignores it.
    pub database_max_connections: Option<u32>,
    /// open | approval | closed (`SLUICE_REGISTRATIONS`).
    pub registrations: Registrations,
    /// Who may read this server's public timeline, on the web and through the API:
    /// `public` (anyone) or `signed_in` (`SLUICE_LOCAL_TIMELINE`).
    pub local_timeline: TimelineAccess,
    /// The same for the federated timeline (`SLUICE_FEDERATED_TIMELINE`).
    pub federated_timeline: TimelineAccess,
    pub instance_title: String,
    pub instance_description: String,
    pub contact_email: String,
    /// Longest post, in characters (Mastodon's default is 500; ours is roomier).
    pub max_status_chars: usize,
    /// Most options a poll may have (`SLUICE_POLL_MAX_OPTIONS`; Mastodon's 4).
    pub poll_max_options: usize,
    /// Longest poll option, in characters (`SLUICE_POLL_MAX_CHARACTERS_PER_OPTION`;
    /// Mastodon's 50).
    pub poll_max_characters_per_option: usize,
    /// Shortest time a poll may run, in seconds (`SLUICE_POLL_MIN_EXPIRATION_SECS`;
    /// Mastodon's 300).
    pub poll_min_expiration_secs: u64,
    /// Longest time a poll may run, in seconds (`SLUICE_POLL_MAX_EXPIRATION_SECS`;
    /// Mastodon's 2,629,746, a month).
    pub poll_max_expiration_secs: u64,
    /// Distinct emoji reactions one account may give one post
    /// (`SLUICE_MAX_REACTIONS_PER_ACCOUNT`; at least 1).
    pub max_reactions_per_account: usize,
    /// Largest CSV file an import takes, in bytes (`SLUICE_IMPORT_MAX_BYTES`; the
    /// import page's body limit is this plus 64 KiB).
    pub import_max_bytes: usize,
    /// Largest request body, in bytes. API bodies are small; 2 MiB leaves room for long
    /// posts and profile forms while bounding memory per request.
    pub max_body_bytes: usize,
    /// Deadline for a non-streaming request, in seconds.
    pub request_timeout_secs: u64,
    /// Where uploaded media files are kept (`SLUICE_MEDIA_DIR`); default: `media` in
    /// the data dir. Every serving process of an instance must see the same directory.
    pub media_dir: Option<PathBuf>,
    /// Largest media upload, in bytes (`SLUICE_MEDIA_MAX_BYTES`); the body limit of the
    /// upload endpoints is this plus room for the form around the file.
    pub media_max_bytes: usize,
    /// How long a stopping serving process may take to finish its requests before the
    /// supervisor kills it, in seconds (`SLUICE_DRAIN_SECS`).
    pub drain_secs: u64,
    /// After the stop signal, how long kept-alive connections may still send one more
    /// request, answered with `Connection: close`, before idle ones are closed, in
    /// milliseconds (`SLUICE_DRAIN_GRACE_MS`): a client that reuses a connection just
    /// then is answered instead of cut off.
    pub drain_grace_ms: u64,
    /// How long an upgrade waits for a new serving process to be ready, in seconds
    /// (`SLUICE_UPGRADE_READY_SECS`); then the upgrade is aborted.
    pub upgrade_ready_secs: u64,
    /// Serving processes under the supervisor (`SLUICE_WORKERS`, `--workers`).
    pub workers: usize,
    /// A heartbeat comment on idle streaming connections this often, in seconds: below
    /// the idle timeouts of common proxies (60 s).
    pub streaming_heartbeat_secs: u64,
    /// Sign-in attempts per IP per 5 minutes (0: unlimited).
    pub rate_limit_sign_in: u32,
    /// Registrations per IP per 30 minutes (0: unlimited).
    pub rate_limit_registrations: u32,
    /// Writes per token per 5 minutes (0: unlimited).
    pub rate_limit_writes: u32,
    /// App registrations (`POST /api/v1/apps`) per IP per 5 minutes (0: unlimited).
    pub rate_limit_apps: u32,
    /// Reverse proxies whose `X-Forwarded-For`/`Forwarded` headers name the client
    /// (`SLUICE_TRUSTED_PROXIES`): addresses and CIDR networks, separated by commas or
    /// spaces; empty trusts none. Unset: loopback when the server listens on a loopback
    /// address or a unix socket, else none.
    pub trusted_proxies: Option<String>,
    /// How long stream events are kept for resume, in seconds.
    pub event_retention_secs: u64,
    /// Most stream events kept, whatever their age.
    pub event_max_rows: i64,
    /// Base URL of the streaming API (`ws://…`/`wss://…`); derived from the public URL.
    pub streaming_url: Option<String>,
    /// Let federation reach loopback, private and link-local addresses
    /// (`SLUICE_ALLOW_PRIVATE_ADDRESSES`): only for tests and private networks.
    pub allow_private_addresses: bool,
    /// Redis for streaming wake-ups between processes and machines
    /// (`SLUICE_REDIS_URL`, `redis://[:password@]host[:port][/db]`).
    pub redis_url: Option<String>,
    /// How often the streaming server reads the event log when nothing woke it, in
    /// milliseconds: the most latency an event written by another process adds on
    /// SQLite without Redis.
    pub streaming_poll_ms: u64,
    /// Serve `/api/v1/streaming/status`, `/status/per_timeline` and `/status/queue`
    /// (`SLUICE_STREAMING_STATUS`); they need the metrics token.
    pub streaming_status: bool,
    /// Bearer secret for `/metrics` and the streaming status endpoints on the public
    /// listener (`SLUICE_METRICS_TOKEN`); unset: `/metrics` is not served there.
    pub metrics_token: Option<String>,
    /// Where mail goes out (`SLUICE_SMTP_URL`): `smtps://user:pass@host:465` (TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), or `smtp://127.0.0.1:25`
    /// (plain, only to a relay on this machine). Set: new accounts confirm their address and forgotten passwords
    /// are reset by mail. Unset: no mail; an administrator approves and resets.
    pub smtp_url: Option<String>,
    /// The sender of that mail (`SLUICE_SMTP_FROM`); default `notifications@` the
    /// instance's domain.
    pub smtp_from: Option<String>,
    /// A directory of extra message catalogs for the web app (`SLUICE_LOCALES_DIR`):
    /// `<language>.ftl` files (Project Fluent), read at start.
    pub locales_dir: Option<PathBuf>,
    /// A plain-text file with the instance's privacy policy (`SLUICE_PRIVACY_POLICY_FILE`),
    /// read at start and served by `GET /api/v1/instance/privacy_policy` (paragraphs at
    /// blank lines; dated by the file's modification time). Unset: a built-in policy.
    pub privacy_policy_file: Option<PathBuf>,
    /// Who may list the server's domain blocks through
    /// `GET /api/v1/instance/domain_blocks`: `disabled` (nobody, Mastodon's default),
    /// `users` (signed in) or `all` (`SLUICE_SHOW_DOMAIN_BLOCKS`).
    pub show_domain_blocks: sluice_api::Exposure,
    /// Who sees the reasons of those blocks, the same choices
    /// (`SLUICE_SHOW_DOMAIN_BLOCKS_RATIONALE`).
    pub show_domain_blocks_rationale: sluice_api::Exposure,
    /// A separate listener for `/metrics` and the streaming status endpoints, without
    /// a token (`SLUICE_METRICS_LISTEN`, e.g. `127.0.0.1:9100`): keep it private.
    pub metrics_listen: Option<String>,
    /// What is logged (`SLUICE_LOG`): `tracing` filter directives such as
    /// `info,sqlx=warn` or `debug`. Default: `RUST_LOG`, else `info,sqlx=warn`. `SIGHUP`
    /// applies a changed value without a restart.
    pub log: String,
    /// Whom the server federates with (`SLUICE_FEDERATION_MODE`): `blocklist` (every
    /// domain but suspended ones, the default) or `allowlist` (only the domains an
    /// admin allowed: `/api/v1/admin/domain_allows`).
    pub federation_mode: sluice_engine::federation_moderation::FederationMode,
    /// Posts removed per transaction by the purge of suspended remote accounts
    /// (`SLUICE_PURGE_BATCH`; at least 1).
    pub purge_batch: usize,
    /// Pause between two purge transactions, in milliseconds, so other writes get the
    /// database (`SLUICE_PURGE_PAUSE_MS`).
    pub purge_pause_ms: u64,
    /// Federation settings: `[federation]` in TOML, `SLUICE_FEDERATION_<NAME>` in the
    /// environment (e.g. `SLUICE_FEDERATION_SEND_BLOCKS=true`).
    pub federation: FederationConfig,
    /// Link preview cards: `[cards]` in TOML, `SLUICE_CARDS_<NAME>` in the environment
    /// (e.g. `SLUICE_CARDS_HOST_SPACING_MS=2000`).
    pub cards: CardsConfig,
}

/// `[cards]`: how link preview cards are fetched (docs: README, Configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CardsConfig {
    /// Fetch the cards of posts' links at all (`SLUICE_CARDS_ENABLED`).
    pub enabled: bool,
    /// How long a fetched card is used as it is; the next post linking it after that
    /// revalidates it with a conditional GET (`SLUICE_CARDS_TTL_SECS`; 14 days).
    pub ttl_secs: u64,
    /// How long a failed fetch (or a page without a card) is remembered, so a dead
    /// site is not asked again (`SLUICE_CARDS_FAILURE_TTL_SECS`; an hour).
    pub failure_ttl_secs: u64,
    /// Least time between two requests to one host (`SLUICE_CARDS_HOST_SPACING_MS`).
    pub host_spacing_ms: u64,
    /// Remote posts' links fetched per minute and process, at most
    /// (`SLUICE_CARDS_REMOTE_PER_MINUTE`).
    pub remote_per_minute: u32,
    /// KiB of a page read at most: its head is what is wanted
    /// (`SLUICE_CARDS_MAX_HTML_KIB`).
    pub max_html_kib: usize,
    /// Time limit of one fetch, reading and parsing included (`SLUICE_CARDS_TIMEOUT_MS`).
    pub timeout_ms: u64,
    /// Hosts whose video players may be embedded in cards (`html`), separated by
    /// commas or spaces (`SLUICE_CARDS_EMBED_HOSTS`); empty: no embeds at all.
    pub embed_hosts: String,
    /// Fetches in flight per process, each on another host (`SLUICE_CARDS_CONCURRENCY`).
    pub concurrency: u32,
    /// Days of posts the link trends look at (`SLUICE_CARDS_TREND_DAYS`).
    pub trend_days: u32,
    /// Distinct accounts that must share a link for it to trend
    /// (`SLUICE_CARDS_TREND_MIN_ACCOUNTS`).
    pub trend_min_accounts: u32,
}

impl Default for CardsConfig {
    fn default() -> Self {
        let d = sluice_engine::cards::CardSettings::default();
        CardsConfig {
            enabled: d.enabled,
            ttl_secs: (d.ttl_ms / 1000) as u64,
            failure_ttl_secs: (d.failure_ttl_ms / 1000) as u64,
            host_spacing_ms: d.host_spacing_ms as u64,
            remote_per_minute: d.remote_per_minute,
            max_html_kib: d.max_html_bytes / 1024,
            timeout_ms: d.timeout_ms,
            embed_hosts: String::new(),
            concurrency: d.concurrency as u32,
            trend_days: d.trend_days as u32,
            trend_min_accounts: d.trend_min_accounts as u32,
        }
    }
}

impl CardsConfig {
    /// The engine's settings.
    pub fn settings(&self) -> sluice_engine::cards::CardSettings {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX / 4);
        sluice_engine::cards::CardSettings {
            enabled: self.enabled,
            ttl_ms: ms(self.ttl_secs.min(10 * 366 * 24 * 3600)) * 1000,
            failure_ttl_ms: ms(self.failure_ttl_secs.min(10 * 366 * 24 * 3600)) * 1000,
            host_spacing_ms: ms(self.host_spacing_ms.min(3600 * 1000)),
            remote_per_minute: self.remote_per_minute,
            max_html_bytes: self.max_html_kib.clamp(1, 16 * 1024) * 1024,
            timeout_ms: self.timeout_ms.clamp(100, 120_000),
            embed_hosts: self
                .embed_hosts
                .split([',', ' '])
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            concurrency: self.concurrency.clamp(1, 64) as usize,
            trend_days: i64::from(self.trend_days.clamp(1, 30)),
            trend_min_accounts: i64::from(self.trend_min_accounts.max(1)),
        }
    }
}

/// `[federation]`: how Sluice talks to other servers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FederationConfig {
    /// Deliver a user's Block (and its Undo) to the blocked actor's server
    /// (`federation.send_blocks`). Off by default: it only tells the blocked person.
    pub send_blocks: bool,
    /// Talk to peers over plain `http://` (tests, private networks).
    pub allow_http: bool,
    /// How long a delivery is retried before it is given up (Mastodon's schedule covers
    /// about 2.5 days).
    pub delivery_max_age_secs: u64,
    /// Deliveries in flight per remote host, across all workers and processes.
    pub per_host_concurrency: u32,
    /// Deliveries in flight per process.
    pub delivery_concurrency: u32,
    /// Consecutive failures after which a host is marked down (its deliveries wait).
    pub breaker_threshold: u32,
    /// First wait before a host marked down is probed, in seconds (doubles per failed
    /// probe, up to an hour).
    pub breaker_probe_secs: u64,
    /// Multiplies every retry wait (1.0: Mastodon's schedule, about 2.5 days over 16
    /// attempts). For tests and experiments.
    pub delivery_backoff_scale: f64,
    /// Web Push messages in flight per push service host (FCM, Mozilla's autopush,
    /// Apple's), across all workers and processes.
    pub push_per_host_concurrency: u32,
    /// Deadline of one Web Push request, in seconds (1 to 60).
    pub push_timeout_secs: u64,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            send_blocks: false,
            allow_http: false,
            delivery_max_age_secs: 60 * 60 * 60,
            per_host_concurrency: 4,
            delivery_concurrency: 32,
            breaker_threshold: 10,
            breaker_probe_secs: 60,
            delivery_backoff_scale: 1.0,
            push_per_host_concurrency: 8,
            push_timeout_secs: 10,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: None,
            registrations: Registrations::Closed,
            local_timeline: TimelineAccess::Public,
            federated_timeline: TimelineAccess::Public,
            instance_title: "Sluice".into(),
            instance_description: "A Sluice server".into(),
            contact_email: String::new(),
            max_status_chars: 5000,
            poll_max_options: 4,
            poll_max_characters_per_option: 50,
            poll_min_expiration_secs: 300,
            poll_max_expiration_secs: 2_629_746,
            max_reactions_per_account: sluice_engine::reactions::DEFAULT_MAX_REACTIONS_PER_ACCOUNT,
            import_max_bytes: sluice_engine::portability::DEFAULT_IMPORT_MAX_BYTES,
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 30,
            media_dir: None,
            media_max_bytes: 40 * 1024 * 1024,
            drain_secs: 30,
            drain_grace_ms: 1000,
            upgrade_ready_secs: 60,
            workers: 1,
            streaming_heartbeat_secs: 15,
            rate_limit_sign_in: 30,
            rate_limit_registrations: 10,
            rate_limit_writes: 300,
            // Apps register once per install (some web clients once per sign-in):
            // this stops a flood of app rows, not a person.
            rate_limit_apps: 30,
            trusted_proxies: None,
            event_retention_secs: 3600,
            event_max_rows: 100_000,
            streaming_url: None,
            allow_private_addresses: false,
            redis_url: None,
            streaming_poll_ms: 100,
            streaming_status: false,
            metrics_token: None,
            smtp_url: None,
            smtp_from: None,
            locales_dir: None,
            privacy_policy_file: None,
            show_domain_blocks: sluice_api::Exposure::Disabled,
            show_domain_blocks_rationale: sluice_api::Exposure::Disabled,
            federation_mode: Default::default(),
            purge_batch: sluice_engine::federation_moderation::DEFAULT_PURGE_BATCH,
            purge_pause_ms: sluice_engine::federation_moderation::DEFAULT_PURGE_PAUSE_MS,
            metrics_listen: None,
            log: std::env::var("RUST_LOG")
                .ok()
                .filter(|l| !l.trim().is_empty())
                .unwrap_or_else(|| "info,sqlx=warn".into()),
            federation: FederationConfig::default(),
            cards: CardsConfig::default(),
        }
    }
}

impl Config {
    /// Loads `.env`, the TOML file (explicit path, `SLUICE_CONFIG`, or `./sluice.toml`
    /// when present) and the environment. A key of the file or a `SLUICE_*` variable
    /// that names no setting is an error naming the closest setting: a typo must not
    /// leave a setting at its default unnoticed.
    pub fn load(file: Option<PathBuf>) -> anyhow::Result<Config> {
        let dotenv = dotenvy::dotenv().ok();
        let file = file
            .or_else(|| {
                std::env::var_os("SLUICE_CONFIG")
                    .filter(|f| !f.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()));
        let keys = Keys::of_config();
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &file {
            if !path.exists() {
                anyhow::bail!("configuration file {} does not exist", path.display());
            }
            let toml = Toml::file(path);
            keys.check_file(&toml)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            fig = fig.merge(toml);
        }
        keys.check_environment(std::env::vars_os().map(|(k, _)| k))
            .map_err(|e| match &dotenv {
                Some(file) => anyhow::anyhow!("{e} (the environment includes {})", file.display()),
                None => e,
            })?;
        let config: Config = fig
            .merge(keys.environment())
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(u) = &self.public_url {
            let parsed =
                url::Url::parse(u).map_err(|e| anyhow::anyhow!("SLUICE_PUBLIC_URL {u:?}: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                anyhow::bail!("SLUICE_PUBLIC_URL must be an http(s) URL with a host, got {u:?}");
            }
        }
        if self.max_status_chars == 0
            || self.max_body_bytes < 1024
            || self.media_max_bytes < 1024
            || self.request_timeout_secs == 0
            || self.streaming_heartbeat_secs == 0
            || self.streaming_poll_ms == 0
        {
            anyhow::bail!(
                "max_status_chars, max_body_bytes and media_max_bytes (>= 1024), request_timeout_secs, streaming_heartbeat_secs and streaming_poll_ms must be positive"
            );
        }
        if self.poll_max_options < 2
            || self.poll_max_characters_per_option == 0
            || self.poll_min_expiration_secs == 0
            || self.poll_min_expiration_secs > self.poll_max_expiration_secs
            || self.poll_max_expiration_secs > MAX_POLL_EXPIRATION_SECS
        {
            anyhow::bail!(
                "poll_max_options must be at least 2, poll_max_characters_per_option and poll_min_expiration_secs positive, and poll_min_expiration_secs <= poll_max_expiration_secs <= {MAX_POLL_EXPIRATION_SECS}"
            );
        }
        if self.purge_batch == 0 {
            anyhow::bail!("purge_batch must be at least 1");
        }
        if self.max_reactions_per_account == 0 {
            anyhow::bail!("max_reactions_per_account must be at least 1");
        }
        if self.import_max_bytes == 0 {
            anyhow::bail!("import_max_bytes must be at least 1");
        }
        crate::logging::parse_filter(&self.log)?;
        if let Some(list) = &self.trusted_proxies {
            TrustedProxies::parse(list)
                .map_err(|e| anyhow::anyhow!("SLUICE_TRUSTED_PROXIES: {e}"))?;
        }
        if let Some(u) = self.redis_url.as_deref().filter(|u| !u.is_empty()) {
            sluice_streaming::redis::RedisTarget::parse(u).map_err(|e| anyhow::anyhow!(e))?;
        }
        if let Some(u) = self.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            crate::mail::check_url(u).map_err(|e| anyhow::anyhow!("SLUICE_SMTP_URL: {e}"))?;
        }
        if self.metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            anyhow::bail!("SLUICE_METRICS_TOKEN must be at least 16 characters");
        }
        if self.streaming_status
            && self.metrics_token.as_deref().unwrap_or("").is_empty()
            && self.metrics_listen.as_deref().unwrap_or("").is_empty()
        {
            anyhow::bail!(
                "SLUICE_STREAMING_STATUS needs SLUICE_METRICS_TOKEN (or SLUICE_METRICS_LISTEN for a private listener)"
            );
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("sluice.db").display()))
    }

    /// How the database is opened besides its URL: the PostgreSQL pool size.
    pub fn store_options(&self) -> sluice_store::OpenOptions {
        sluice_store::OpenOptions {
            max_connections: self.database_max_connections,
        }
    }

    /// The public URL given in the configuration, if any, without a trailing slash.
    pub fn configured_public_url(&self) -> Option<String> {
        self.public_url
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| u.trim_end_matches('/').to_string())
    }

    /// The public URL in effect, given the address actually bound (or, for commands
    /// that bind nothing, the configured listen address), so admin commands mint the
    /// same ids and links as the server.
    pub fn public_url_for(&self, bound: Option<std::net::SocketAddr>) -> String {
        if let Some(u) = self.configured_public_url() {
            return u;
        }
        match bound.or_else(|| self.listen.parse().ok()) {
            Some(addr) if addr.ip().is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
            Some(addr) => format!("http://{addr}"),
            None => "http://localhost".into(),
        }
    }

    pub fn streaming_url_for(&self, public_url: &str) -> String {
        self.streaming_url
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                if let Some(rest) = public_url.strip_prefix("https://") {
                    format!("wss://{rest}")
                } else {
                    format!("ws://{}", public_url.trim_start_matches("http://"))
                }
            })
    }

    /// The media directory in effect.
    pub fn media_dir(&self) -> PathBuf {
        self.media_dir
            .clone()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| self.data_dir.join("media"))
    }

    /// The proxies trusted to name the client, given the address bound (None: a unix
    /// socket): `trusted_proxies`, or loopback when the listener is loopback or a
    /// unix socket (only a proxy on this machine can reach it), else none.
    pub fn trusted_proxies_for(
        &self,
        bound: Option<std::net::SocketAddr>,
    ) -> anyhow::Result<TrustedProxies> {
        match &self.trusted_proxies {
            Some(list) => TrustedProxies::parse(list)
                .map_err(|e| anyhow::anyhow!("SLUICE_TRUSTED_PROXIES: {e}")),
            None if bound.is_none_or(|a| a.ip().is_loopback()) => Ok(TrustedProxies::loopback()),
            None => Ok(TrustedProxies::default()),
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The configuration as TOML with secrets masked (database password).
    pub fn show(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = Some(mask_url_password(&self.database_url()));
        shown.redis_url = self.redis_url.as_deref().map(mask_url_password);
        shown.smtp_url = self.smtp_url.as_deref().map(mask_url_password);
        if shown.metrics_token.is_some() {
            shown.metrics_token = Some("****".into());
        }
        // The database's recorded public URL wins over this one (`sluice admin instance`).
        let mut out = format!(
            "# effective public_url = {:?}, unless the database has recorded one\n",
            self.public_url_for(None)
        );
        if sluice_store::sqlite_path(&self.database_url()).is_none() {
            out.push_str(&format!(
                "# effective database_max_connections = {} (per serving process)\n",
                self.store_options().pg_max_connections()
            ));
        }
        out.push_str(&toml_lines(&shown));
        out
    }
}

/// Whether two public URLs name the same place (scheme and host compared without
/// case, a default port and a trailing slash ignored).
pub fn same_url(a: &str, b: &str) -> bool {
    let normal = |u: &str| match url::Url::parse(u) {
        Ok(parsed) => parsed.as_str().trim_end_matches('/').to_string(),
        Err(_) => u.trim_end_matches('/').to_string(),
    };
    normal(a) == normal(b)
}

/// Replaces the password of a URL with `****`.
pub fn mask_url_password(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => u.to_string(),
    }
}

/// The configuration as TOML: top-level settings, then one table per section, sorted
/// by name; unset settings as comments.
fn toml_lines(c: &Config) -> String {
    fn line(out: &mut String, key: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Null => out.push_str(&format!("# {key} = (unset)\n")),
            v => out.push_str(&format!("{key} = {v}\n")),
        }
    }
    let value = serde_json::to_value(c).unwrap_or_default();
    let mut out = String::new();
    let Some(map) = value.as_object() else {
        return out;
    };
    for (key, v) in map.iter().filter(|(_, v)| !v.is_object()) {
        line(&mut out, key, v);
    }
    for (section, v) in map.iter().filter(|(_, v)| v.is_object()) {
        out.push_str(&format!("\n[{section}]\n"));
        for (key, v) in v.as_object().into_iter().flatten() {
            line(&mut out, key, v);
        }
    }
    out
}

/// `SLUICE_*` variables that are not settings but are read by this binary, passed
/// between its processes, or set around it by the test and benchmark scripts (so they
/// reach it through the environment of the commands those scripts run).
const OTHER_VARIABLES: [&str; 4] = [
    // The configuration file to read.
    "SLUICE_CONFIG",
    // `sluice-bench loadtest delivery --token` (crates/bench), which reads this
    // configuration.
    "SLUICE_LOADTEST_TOKEN",
    // tests/clients/run.sh, tests/interop/*.sh: the binary to test, the server's URL.
    "SLUICE_BIN",
    "SLUICE_BASE_URL",
];
/// Prefixes of the same kind: the supervisor's descriptors and id slot for its serving
/// processes (`supervisor::ENV_*`), the test suite's (`SLUICE_TEST_DATABASE_URL`,
/// `SLUICE_TEST_REDIS_URL`, `SLUICE_TEST_LOG`, `SLUICE_TEST_IGNORE_SIGTERM`) and the
/// benchmark scripts' (`SLUICE_BENCH_*`).
const OTHER_PREFIXES: [&str; 3] = ["SLUICE_SUPERVISOR_", "SLUICE_TEST_", "SLUICE_BENCH_"];

/// The names of the settings, taken from [`Config`] itself (what it serializes), so a
/// field added to it is known everywhere at once: in TOML, top-level keys and one
/// table per section (a field whose default serializes as a map, like `federation`);
/// in the environment `SLUICE_<KEY>` and `SLUICE_<SECTION>_<KEY>`. Every field must
/// therefore always serialize (no `skip_serializing_if`), and a section must be a
/// struct with a default, not an `Option`.
struct Keys {
    /// Top-level keys, sections excluded.
    top: Vec<String>,
    /// Each section with its keys.
    sections: Vec<(String, Vec<String>)>,
}

impl Keys {
    fn of_config() -> Keys {
        let value = serde_json::to_value(Config::default()).expect("the configuration serializes");
        let mut keys = Keys {
            top: Vec::new(),
            sections: Vec::new(),
        };
        for (key, v) in value.as_object().into_iter().flatten() {
            match v.as_object() {
                Some(section) => keys
                    .sections
                    .push((key.clone(), section.keys().cloned().collect())),
                None => keys.top.push(key.clone()),
            }
        }
        keys
    }

    /// Every setting as (environment variable, dotted key).
    fn variables(&self) -> Vec<(String, String)> {
        let top = self
            .top
            .iter()
            .map(|k| (format!("SLUICE_{}", k.to_ascii_uppercase()), k.clone()));
        let sections = self.sections.iter().flat_map(|(section, keys)| {
            keys.iter().map(move |k| {
                (
                    format!(
                        "SLUICE_{}_{}",
                        section.to_ascii_uppercase(),
                        k.to_ascii_uppercase()
                    ),
                    format!("{section}.{k}"),
                )
            })
        });
        top.chain(sections).collect()
    }

    /// The provider of the settings given in the environment.
    fn environment(&self) -> Env {
        let names: std::collections::HashMap<String, String> =
            self.variables().into_iter().collect();
        Env::raw().filter_map(move |k| names.get(k.as_str()).map(|d| d.clone().into()))
    }

    /// Refuses a `SLUICE_*` variable that is neither a setting nor one of the
    /// [`OTHER_VARIABLES`].
    fn check_environment(
        &self,
        names: impl Iterator<Item = std::ffi::OsString>,
    ) -> anyhow::Result<()> {
        let settings: Vec<String> = self.variables().into_iter().map(|(v, _)| v).collect();
        for name in names {
            let Some(name) = name.to_str().filter(|n| n.starts_with("SLUICE_")) else {
                continue;
            };
            if settings.iter().any(|s| s == name)
                || OTHER_VARIABLES.contains(&name)
                || OTHER_PREFIXES.iter().any(|p| name.starts_with(p))
            {
                continue;
            }
            let candidates = settings.iter().map(String::as_str).chain(OTHER_VARIABLES);
            anyhow::bail!(
                "unknown environment variable {name}{}",
                suggestion(name, candidates)
            );
        }
        Ok(())
    }

    /// Refuses a key of a TOML file that names no setting, or a table that is no
    /// section.
    fn check_file(&self, file: &figment::providers::Data<Toml>) -> anyhow::Result<()> {
        use figment::Provider as _;
        use figment::value::Value;
        let data = file.data().map_err(|e| anyhow::anyhow!("{e}"))?;
        let dotted: Vec<String> = self
            .variables()
            .into_iter()
            .map(|(_, dotted)| dotted)
            .collect();
        let candidates = || {
            dotted
                .iter()
                .map(String::as_str)
                .chain(self.sections.iter().map(|(s, _)| s.as_str()))
        };
        for dict in data.values() {
            for (key, value) in dict {
                let section = self.sections.iter().find(|(s, _)| s == key);
                match (section, value) {
                    (Some((name, keys)), Value::Dict(_, entries)) => {
                        if let Some(inner) = entries.keys().find(|k| !keys.contains(k)) {
                            let full = format!("{name}.{inner}");
                            anyhow::bail!(
                                "unknown setting `{inner}` in [{name}]{}",
                                suggestion(&full, candidates())
                            );
                        }
                    }
                    (Some(_), _) => {}
                    (None, _) if self.top.contains(key) => {}
                    (None, _) => {
                        anyhow::bail!("unknown setting `{key}`{}", suggestion(key, candidates()))
                    }
                }
            }
        }
        Ok(())
    }
}

/// ` (did you mean X?)` for the closest candidate, when one is close enough to be a
/// likely typo (at most a third of the name's letters differ, at least 2, `SLUICE_`
/// not counted); also when only the last part of a dotted name matches (a section's
/// setting given at the top level, or the reverse).
fn suggestion<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    // Compared without the prefix all variables share.
    let name = name.strip_prefix("SLUICE_").unwrap_or(name);
    let lower = name.to_ascii_lowercase();
    let last = |s: &str| s.rsplit(['.']).next().unwrap_or(s).to_string();
    let best = candidates
        .map(|c| {
            let c_lower = c.strip_prefix("SLUICE_").unwrap_or(c).to_ascii_lowercase();
            let whole = strsim::damerau_levenshtein(&lower, &c_lower);
            let leaf = strsim::damerau_levenshtein(&last(&lower), &last(&c_lower));
            (whole.min(leaf), c)
        })
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, c)) if d <= (name.len() / 3).max(2) => format!(" (did you mean {c}?)"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_database_password() {
        assert_eq!(
            mask_url_password("postgres://u:secret@h/db"),
            "postgres://u:****@h/db"
        );
        assert_eq!(
            mask_url_password("sqlite://./data/x.db"),
            "sqlite://./data/x.db"
        );
    }

    #[test]
    fn settings_are_named_from_the_definition() {
        let keys = Keys::of_config();
        assert!(keys.top.iter().any(|k| k == "listen"));
        assert!(!keys.top.iter().any(|k| k == "federation"));
        let vars = keys.variables();
        for (var, dotted) in [
            ("SLUICE_LISTEN", "listen"),
            ("SLUICE_FEDERATION_SEND_BLOCKS", "federation.send_blocks"),
        ] {
            assert!(vars.contains(&(var.into(), dotted.into())), "{var}");
        }
        // What the supervisor passes to its serving processes is allowed.
        #[cfg(unix)]
        for var in [
            crate::supervisor::ENV_LISTEN_FD,
            crate::supervisor::ENV_METRICS_FD,
            crate::supervisor::ENV_READY_FD,
            crate::supervisor::ENV_ID_SLOT,
        ] {
            let names = [std::ffi::OsString::from(var)];
            assert!(keys.check_environment(names.into_iter()).is_ok(), "{var}");
        }
        let names = [std::ffi::OsString::from("SLUICE_LISTN")];
        let e = keys.check_environment(names.into_iter()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown environment variable SLUICE_LISTN (did you mean SLUICE_LISTEN?)"
        );
    }

    #[test]
    fn suggestions_are_close_names_only() {
        let names = ["registrations", "listen", "federation.send_blocks"];
        let s = |n: &str| suggestion(n, names.into_iter());
        assert_eq!(s("registration"), " (did you mean registrations?)");
        assert_eq!(s("Listen"), " (did you mean listen?)");
        assert_eq!(s("send_block"), " (did you mean federation.send_blocks?)");
        assert_eq!(s("colour"), "");
    }

    #[test]
    fn public_url_follows_listen_address() {
        let c = Config::default();
        assert_eq!(
            c.public_url_for(Some("127.0.0.1:8080".parse().unwrap())),
            "http://127.0.0.1:8080"
        );
        assert_eq!(c.public_url_for(None), "http://127.0.0.1:8080");
        let any = Config {
            listen: "0.0.0.0:9000".into(),
            ..Config::default()
        };
        assert_eq!(any.public_url_for(None), "http://127.0.0.1:9000");
        assert_eq!(c.streaming_url_for("https://x.example"), "wss://x.example");
        assert_eq!(
            c.streaming_url_for("http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080"
        );
    }
}
