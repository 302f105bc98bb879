//! The federation side of a running server: the one fetcher, the signers, the
//! background delivery workers and inbox processors, and the start-up repair of our
//! actors' keys, built from configuration and stopped with the server.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sluice_engine::Engine;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::delivery::{self, DeliveryConfig};
use crate::fetch::{FetchConfig, FetchError, Fetched, Fetcher, RequestSigner};
use crate::signer::{ActorSigners, KeySigner};

/// What the server configures.
#[derive(Debug, Clone)]
pub struct FederationSettings {
    pub allow_private_addresses: bool,
    pub allow_http: bool,
    pub per_host_concurrency: u32,
    pub delivery_concurrency: u32,
    /// Run delivery workers in this process.
    pub deliver: bool,
    /// Consecutive failures that open a host's breaker.
    pub breaker_threshold: i64,
    /// First wait before a host whose breaker is open is probed.
    pub probe_interval: Duration,
    /// Multiplies retry waits (1.0: Mastodon's schedule).
    pub backoff_scale: f64,
    /// Web Push messages in flight per push service host (across processes, and in
    /// this process's push fetcher).
    pub push_per_host_concurrency: u32,
    /// Deadline of one Web Push request (connection, sending, answer).
    pub push_timeout: Duration,
    /// The VAPID JWT's `sub`: `mailto:` the contact address, else the instance's URL.
    pub push_subject: String,
}

/// Shared federation state of a server process.
pub struct Federation {
    pub engine: Arc<Engine>,
    pub fetcher: Fetcher,
    pub signers: Arc<ActorSigners>,
    pub settings: FederationSettings,
    instance_signer: Arc<OnceLock<Arc<KeySigner>>>,
    /// Wakes the inbox processors when an activity is queued.
    pub(crate) inbox_wake: tokio::sync::Notify,
    /// Writes verified activities to the inbox queue in batches.
    pub(crate) inbox_batch: crate::inbox::InboxBatcher,
}

/// Signs the server's own GETs as the instance actor. Its key is loaded (or made) by
/// [`Federation::get_json`] before the first fetch; signing itself is synchronous.
struct InstanceSigner {
    signer: Arc<OnceLock<Arc<KeySigner>>>,
}

impl InstanceSigner {
    fn key(&self) -> Result<&KeySigner, String> {
        self.signer
            .get()
            .map(|s| &**s)
            .ok_or_else(|| "the instance actor's key is not loaded yet".to_string())
    }
}

impl RequestSigner for InstanceSigner {
    fn sign(
        &self,
        method: &reqwest::Method,
        url: &url::Url,
        headers: &mut reqwest::header::HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        self.key()?.sign(method, url, headers, body)
    }

    fn sign_as(
        &self,
        scheme: crate::signatures::Scheme,
        method: &reqwest::Method,
        url: &url::Url,
        headers: &mut reqwest::header::HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        self.key()?.sign_as(scheme, method, url, headers, body)
    }
}

impl Federation {
    /// What a signed request to this server must meet: the target's scheme is ours.
    pub(crate) fn verify_limits(&self) -> crate::signatures::VerifyLimits {
        use crate::signatures::{TargetScheme, VerifyLimits};
        VerifyLimits {
            target_scheme: if self.engine.urls.base().starts_with("http://") {
                TargetScheme::Http
            } else {
                TargetScheme::Https
            },
            ..VerifyLimits::default()
        }
    }

    /// Builds the fetcher and signers, starts the inbox processors and (when
    /// `settings.deliver`) the delivery workers; they stop when `shutdown` turns true
    /// (await the handles to let work in flight finish).
    pub fn start(
        engine: Arc<Engine>,
        settings: FederationSettings,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Arc<Federation>, Vec<JoinHandle<()>>), String> {
        let signers = Arc::new(ActorSigners::new(engine.clone()));
        let fetch_config = FetchConfig {
            allow_private_addresses: settings.allow_private_addresses,
            allow_http: settings.allow_http,
            per_host_concurrency: settings.per_host_concurrency.max(1) as usize,
            user_agent: format!(
                "Sluice/{} (+{}/)",
                env!("CARGO_PKG_VERSION"),
                engine.urls.base()
            ),
            ..FetchConfig::default()
        };
        let instance_signer = Arc::new(OnceLock::new());
        let instance: Arc<dyn RequestSigner> = Arc::new(InstanceSigner {
            signer: instance_signer.clone(),
        });
        let fetcher = Fetcher::new(fetch_config, Some(instance)).map_err(|e| e.to_string())?;
        let fed = Arc::new(Federation {
            engine: engine.clone(),
            fetcher: fetcher.clone(),
            signers: signers.clone(),
            settings: settings.clone(),
            instance_signer,
            inbox_wake: tokio::sync::Notify::new(),
            inbox_batch: Default::default(),
        });
        let inbox_fed = fed.clone();
        let inbox_shutdown = shutdown.clone();
        let mut workers = vec![sluice_engine::tasks::spawn_guarded(
            "inbox processors",
            shutdown.clone(),
            move || crate::inbox::run_processors(inbox_fed.clone(), inbox_shutdown.clone()),
        )];
        // CSV imports (`imports.rs`): durable jobs, resumed by whichever process runs.
        let (imports_fed, imports_shutdown) = (fed.clone(), shutdown.clone());
        workers.push(sluice_engine::tasks::spawn_guarded(
            "imports",
            shutdown.clone(),
            move || crate::imports::run(imports_fed.clone(), imports_shutdown.clone()),
        ));
        // Keys our actors are missing (or hold without a private half) are made in the
        // background: the server serves meanwhile, and only signing waits for a key.
        let keys_engine = engine.clone();
        let keys_shutdown = shutdown.clone();
        workers.push(tokio::spawn(async move {
            if let Err(e) = keys_engine.repair_local_keys(&keys_shutdown).await {
                tracing::warn!(error = %e, "making the missing signing keys failed");
            }
        }));
        if settings.deliver {
            // Web Push goes through its own fetcher: the same SSRF rules and switches,
            // its own per-host slots (push services are few, large hosts) and a
            // shorter deadline; bodies are bounded by `push::MAX_BODY`.
            let push = match engine.vapid_key() {
                Some(key) => {
                    let sender = crate::push::PushSender::new(key, settings.push_subject.clone())?;
                    let fetcher = Fetcher::new(
                        FetchConfig {
                            per_host_concurrency: settings.push_per_host_concurrency.max(1)
                                as usize,
                            total_timeout: settings.push_timeout,
                            connect_timeout: settings.push_timeout.min(Duration::from_secs(5)),
                            cache_ttl: Duration::ZERO,
                            ..fed.fetcher.config().clone()
                        },
                        None,
                    )
                    .map_err(|e| e.to_string())?;
                    Some(delivery::PushDelivery {
                        sender: Arc::new(sender),
                        fetcher,
                    })
                }
                None => None,
            };
            // Link preview cards: fetched after the posts that link them commit.
            let (cards_engine, cards_fetcher, cards_shutdown) =
                (engine.clone(), fetcher.clone(), shutdown.clone());
            workers.push(sluice_engine::tasks::spawn_guarded(
                "card fetchers",
                shutdown.clone(),
                move || {
                    crate::cards::run(
                        cards_engine.clone(),
                        cards_fetcher.clone(),
                        cards_shutdown.clone(),
                    )
                },
            ));
            let config = DeliveryConfig {
                concurrency: settings.delivery_concurrency.max(1) as usize,
                per_host_concurrency: i64::from(settings.per_host_concurrency.max(1)),
                // Longer than the fetcher's whole-call deadline, so a slow POST is never
                // claimed twice.
                lease: FetchConfig::default().total_timeout * 3 + Duration::from_secs(30),
                breaker_threshold: settings.breaker_threshold.max(1),
                probe_interval: settings.probe_interval,
                backoff_scale: settings.backoff_scale,
                push_per_host_concurrency: i64::from(settings.push_per_host_concurrency.max(1)),
                push,
                ..DeliveryConfig::default()
            };
            workers.push(sluice_engine::tasks::spawn_guarded(
                "delivery workers",
                shutdown.clone(),
                move || {
                    delivery::run(
                        engine.clone(),
                        fetcher.clone(),
                        signers.clone(),
                        config.clone(),
                        shutdown.clone(),
                    )
                },
            ));
        }
        Ok((fed, workers))
    }

    /// GETs an ActivityStreams document, signed as the instance actor (whose key is
    /// loaded or made first): every fetch of the server goes through here.
    pub async fn get_json(&self, url: &url::Url, fresh: bool) -> Result<Fetched, FetchError> {
        // Nothing is fetched from a suspended domain.
        if let Some(host) = url.host_str()
            && self
                .engine
                .host_suspended(host)
                .await
                .map_err(|e| FetchError::Config(e.to_string()))?
        {
            return Err(FetchError::SuspendedDomain(host.to_string()));
        }
        if self.instance_signer.get().is_none() {
            let signer = self.signers.instance().await.map_err(FetchError::Config)?;
            let _ = self.instance_signer.set(signer);
        }
        if fresh {
            self.fetcher.get_json_fresh(url).await
        } else {
            self.fetcher.get_json(url).await
        }
    }
}
