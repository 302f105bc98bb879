//! Delivery workers: send the queued activities (store's `deliveries` table), retry
//! with backoff, and keep a circuit breaker per host.
//!
//! - A worker claims due rows with a lease; the claim itself enforces the per-host cap
//!   across every worker and process (leased rows count), so a host never has more
//!   than `per_host_concurrency` deliveries in flight, and a host that comes back with
//!   thousands waiting gets them at that pace.
//! - Success deletes the row. A retryable failure (5xx, 408, 429, timeouts, connection
//!   errors) schedules the next attempt with Mastodon's schedule (`attempt⁴ + 15 s` plus
//!   jitter, about 2.5 days over 16 attempts); `Retry-After` on 429/503 is honoured
//!   (capped). Any other 4xx, or the delivery's age passing `max_age`, is final.
//! - `breaker_threshold` consecutive failures mark a host down: its deliveries wait (not
//!   dropped, not attempted) and one probe is let through at each probe time, spaced out
//!   exponentially up to `max_probe_interval`. The first success closes the breaker.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::Engine;
use sluice_engine::queues::DeliveryResult;
use sluice_engine::rows::DeliveryRow;
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::Url;

use crate::fetch::{FetchError, Fetcher, RequestSigner};
use crate::signatures::Scheme;

/// Content type of every delivery.
pub const ACTIVITY_CONTENT_TYPE: &str = "application/activity+json";

/// Delivery tuning; defaults follow Mastodon where it has one.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Deliveries in flight in this process.
    pub concurrency: usize,
    /// Deliveries in flight per remote host, across processes.
    pub per_host_concurrency: i64,
    /// How long a claimed delivery is reserved for its worker; must exceed the fetcher's
    /// total timeout, so a slow POST is never sent twice.
    pub lease: Duration,
    /// Consecutive failures that mark a host down.
    pub breaker_threshold: i64,
    /// First wait before probing a host marked down; doubles per failed probe.
    pub probe_interval: Duration,
    /// Longest wait between probes.
    pub max_probe_interval: Duration,
    /// How often an idle worker looks for due deliveries.
    pub idle_poll: Duration,
    /// Multiplies every retry wait (1.0: Mastodon's schedule). Tests shrink it so a
    /// retry comes in milliseconds.
    pub backoff_scale: f64,
    /// Web Push messages in flight per push service host, across processes.
    pub push_per_host_concurrency: i64,
    /// How push messages are sent (None: the instance has no VAPID key loaded, and
    /// push rows are left to a process that has).
    pub push: Option<PushDelivery>,
}

/// What sends Web Push messages: the VAPID signer and the fetcher for push services
/// (the same SSRF rules as every request, its own per-host cap and deadline).
#[derive(Debug, Clone)]
pub struct PushDelivery {
    pub sender: Arc<crate::push::PushSender>,
    pub fetcher: Fetcher,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            concurrency: 32,
            per_host_concurrency: 4,
            lease: Duration::from_secs(120),
            breaker_threshold: 10,
            probe_interval: Duration::from_secs(60),
            max_probe_interval: Duration::from_secs(3600),
            idle_poll: Duration::from_secs(1),
            backoff_scale: 1.0,
            push_per_host_concurrency: 8,
            push: None,
        }
    }
}

/// Seconds to wait before attempt `attempts + 1`, after `attempts` failed ones:
/// Mastodon's (Sidekiq's) `attempts⁴ + 15 + rand(10) × (attempts + 1)`.
pub fn backoff(attempts: i64, jitter: u64) -> Duration {
    let n = attempts.clamp(0, 30) as u64;
    Duration::from_secs(n.pow(4) + 15 + (jitter % 10) * (n + 1))
}

/// The signer of a sending account, made asynchronously (its key may have to be loaded
/// or made first).
pub type SignerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<dyn RequestSigner>, String>> + Send + 'a>>;

/// Makes the signer for a sending account (its key, loaded or made on first need),
/// for one signature scheme.
pub trait SignerSource: Send + Sync {
    fn signer_for(&self, account_id: sluice_model::Id, scheme: Scheme) -> SignerFuture<'_>;
}

/// Which signature scheme each host took last ("double-knocking": RFC 9421 first to a
/// host that asked for it with `Accept-Signature`, cavage first to the others, as most
/// of the fediverse expects; on a 401 the same POST is signed with the other scheme,
/// and the scheme that worked is remembered for the host). Bounded: forgotten when
/// full.
#[derive(Default)]
pub struct SchemeMemory {
    hosts: std::sync::Mutex<std::collections::HashMap<String, Scheme>>,
}

/// Hosts whose signature scheme is remembered, at most.
const MAX_REMEMBERED_HOSTS: usize = 10_000;

impl SchemeMemory {
    fn get(&self, host: &str) -> Option<Scheme> {
        self.hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(host)
            .copied()
    }

    fn set(&self, host: &str, scheme: Scheme) {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if hosts.len() >= MAX_REMEMBERED_HOSTS {
            hosts.clear();
        }
        hosts.insert(host.to_string(), scheme);
    }
}

/// What happened to one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    Retry {
        after: Duration,
        error: String,
        status: Option<u16>,
        /// Whether the failure says the host is unwell (no answer, 5xx), as opposed to
        /// busy (429): only those count towards its breaker.
        host_failed: bool,
    },
    GaveUp {
        error: String,
        status: Option<u16>,
    },
}

/// Decides what a fetch result means for a delivery created at `created_at` that
/// expires at `expires_at`, after `attempts` attempts (this one included).
pub fn judge(
    result: &Result<crate::fetch::PostOutcome, FetchError>,
    attempts: i64,
    now_ms: i64,
    expires_at: i64,
    jitter: u64,
) -> Attempt {
    let err = match result {
        Ok(_) => return Attempt::Delivered,
        Err(e) => e,
    };
    let status = match err {
        FetchError::Status(s) => Some(*s),
        FetchError::RateLimited { .. } => Some(429),
        _ => None,
    };
    if !err.is_retryable() {
        return Attempt::GaveUp {
            error: err.to_string(),
            status,
        };
    }
    // Retry-After (already capped by the fetcher) replaces the schedule when given.
    let after = err
        .retry_after()
        .unwrap_or_else(|| backoff(attempts, jitter));
    let host_failed = !matches!(
        err,
        FetchError::RateLimited { .. } | FetchError::Status(429)
    );
    if now_ms + after.as_millis() as i64 > expires_at {
        return Attempt::GaveUp {
            error: format!("expired after {attempts} attempts: {err}"),
            status,
        };
    }
    Attempt::Retry {
        after,
        error: err.to_string(),
        status,
        host_failed,
    }
}

/// Runs delivery workers until `shutdown` turns true; in-flight deliveries are
/// finished (each is bounded by the fetcher's timeouts) before it returns.
pub async fn run(
    engine: Arc<Engine>,
    fetcher: Fetcher,
    signers: Arc<dyn SignerSource>,
    config: DeliveryConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks: JoinSet<()> = JoinSet::new();
    let schemes = Arc::new(SchemeMemory::default());
    // Claims are batched: a claim reads every due row (it computes the per-host cap),
    // so claiming again after each finished delivery made a queue of 10,000 rows
    // deliver at the pace of claims (~140/s on SQLite). A claim is made when half the
    // slots are free, when none is busy, or when the last one is `CLAIM_INTERVAL` old
    // (so that slow hosts holding slots never hold up the others).
    let batch = config.concurrency.div_ceil(2);
    let mut last_claim: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = config.concurrency.saturating_sub(tasks.len());
        let due = free > 0
            && (free >= batch
                || tasks.is_empty()
                || last_claim.is_none_or(|t| t.elapsed() >= CLAIM_INTERVAL));
        let mut claimed = Vec::new();
        if due {
            last_claim = Some(Instant::now());
            match claim(&engine, &config, free as i64).await {
                Ok(rows) => claimed = rows,
                Err(e) => tracing::warn!(error = %e, "claiming deliveries failed"),
            }
        }
        let got = claimed.len();
        for row in claimed {
            let (engine, fetcher, signers, config, schemes) = (
                engine.clone(),
                fetcher.clone(),
                signers.clone(),
                config.clone(),
                schemes.clone(),
            );
            tasks.spawn(async move {
                deliver(&engine, &fetcher, &*signers, &schemes, &config, row).await
            });
        }
        // Wait for a slot to free up, for the poll interval, or for shutdown.
        let pause = if got > 0 && tasks.len() < config.concurrency {
            Duration::from_millis(5)
        } else if !tasks.is_empty() && tasks.len() < config.concurrency {
            CLAIM_INTERVAL
        } else {
            config.idle_poll
        };
        tokio::select! {
            _ = shutdown.changed() => {}
            Some(r) = tasks.join_next(), if !tasks.is_empty() => {
                sluice_engine::tasks::log_if_panicked("delivery", r);
            }
            _ = engine.delivery_wake().notified() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
    while let Some(r) = tasks.join_next().await {
        sluice_engine::tasks::log_if_panicked("delivery", r);
    }
}

/// Longest wait between claims while some slots are free (see [`run`]).
const CLAIM_INTERVAL: Duration = Duration::from_millis(50);

async fn claim(
    engine: &Engine,
    config: &DeliveryConfig,
    limit: i64,
) -> sluice_engine::Result<Vec<DeliveryRow>> {
    let now = sluice_model::id::now_millis();
    engine
        .claim_deliveries(
            now,
            config.lease.as_millis() as i64,
            limit,
            config.per_host_concurrency,
            config.push_per_host_concurrency,
        )
        .await
}

/// One attempt at one delivery, and its bookkeeping.
async fn deliver(
    engine: &Engine,
    fetcher: &Fetcher,
    signers: &dyn SignerSource,
    schemes: &SchemeMemory,
    config: &DeliveryConfig,
    row: DeliveryRow,
) {
    let result = match (row.push_subscription_id, &config.push) {
        (Some(_), Some(push)) => attempt_push(engine, push, &row).await,
        (Some(_), None) => Err("no VAPID key is loaded in this process".to_string()),
        (None, _) => attempt(engine, fetcher, signers, schemes, &row).await,
    };
    let now = sluice_model::id::now_millis();
    let jitter = (row.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60;
    let verdict = match &result {
        Ok(r) => match judge(r, row.attempts, now, row.expires_at, jitter) {
            Attempt::Retry {
                after,
                error,
                status,
                host_failed,
            } => Attempt::Retry {
                after: after.mul_f64(config.backoff_scale.clamp(0.0, 1.0e3)),
                error,
                status,
                host_failed,
            },
            other => other,
        },
        Err(e) => Attempt::GaveUp {
            error: e.clone(),
            status: None,
        },
    };
    if let Err(e) = record(engine, config, &row, &verdict, now).await {
        tracing::warn!(error = %e, delivery = row.id, "recording a delivery result failed");
    }
    // The push service says the subscription is gone: it is removed (RFC 8030 §7.3).
    if let (
        Some(sub),
        Attempt::GaveUp {
            status: Some(404 | 410),
            ..
        },
    ) = (row.push_subscription_id, &verdict)
        && let Err(e) = engine.push_subscription_gone(sub).await
    {
        tracing::warn!(error = %e, subscription = sub, "removing a push subscription failed");
    }
    match &verdict {
        Attempt::Delivered => tracing::debug!(inbox = %row.inbox_url, "delivered"),
        Attempt::Retry { after, error, .. } => {
            tracing::debug!(inbox = %row.inbox_url, ?after, %error, "delivery will be retried")
        }
        Attempt::GaveUp { error, .. } => {
            tracing::info!(inbox = %row.inbox_url, %error, "delivery given up")
        }
    }
}

/// Loads the activity, signs as the sender, POSTs. `Err` is a local problem that no
/// retry will fix (activity gone, inbox URL invalid, no key).
async fn attempt(
    engine: &Engine,
    fetcher: &Fetcher,
    signers: &dyn SignerSource,
    schemes: &SchemeMemory,
    row: &DeliveryRow,
) -> Result<Result<crate::fetch::PostOutcome, FetchError>, String> {
    let json = engine
        .delivery_activity(row.activity_id)
        .await
        .map_err(|e| format!("loading the activity: {e}"))?
        .ok_or_else(|| "the activity no longer exists".to_string())?;
    let url = Url::parse(&row.inbox_url).map_err(|e| format!("inbox URL: {e}"))?;
    let first = schemes
        .get(&row.host)
        .unwrap_or(if fetcher.advertises_rfc9421(&url) {
            Scheme::Rfc9421
        } else {
            Scheme::Cavage
        });
    let signer = signers.signer_for(row.sender_account_id, first).await?;
    let body = json.into_bytes();
    let result = fetcher
        .post(
            &url,
            body.clone(),
            ACTIVITY_CONTENT_TYPE,
            Some(&*signer as &dyn RequestSigner),
        )
        .await;
    if !matches!(result, Err(FetchError::Status(401))) {
        return Ok(result);
    }
    // Refused as unauthorized: knock again with the other scheme.
    let other = match first {
        Scheme::Cavage => Scheme::Rfc9421,
        Scheme::Rfc9421 => Scheme::Cavage,
    };
    let signer = signers.signer_for(row.sender_account_id, other).await?;
    let retry = fetcher
        .post(
            &url,
            body,
            ACTIVITY_CONTENT_TYPE,
            Some(&*signer as &dyn RequestSigner),
        )
        .await;
    if retry.is_ok() {
        schemes.set(&row.host, other);
    }
    Ok(retry)
}

/// One Web Push message: rendered from the notification, encrypted for the
/// subscriber, POSTed with its VAPID headers. `Err` as for [`attempt`] (the
/// subscription, its token or the notification is gone).
async fn attempt_push(
    engine: &Engine,
    push: &PushDelivery,
    row: &DeliveryRow,
) -> Result<Result<crate::fetch::PostOutcome, FetchError>, String> {
    let message = engine
        .push_message(row)
        .await
        .map_err(|e| format!("loading the push message: {e}"))?
        .ok_or_else(|| "the subscription or the notification no longer exists".to_string())?;
    let url = Url::parse(&message.endpoint).map_err(|e| format!("push endpoint: {e}"))?;
    let (body, headers) = push.sender.prepare(&message)?;
    Ok(push
        .fetcher
        .post(
            &url,
            body,
            crate::push::PUSH_CONTENT_TYPE,
            Some(&headers as &dyn RequestSigner),
        )
        .await)
}

async fn record(
    engine: &Engine,
    config: &DeliveryConfig,
    row: &DeliveryRow,
    verdict: &Attempt,
    now: i64,
) -> sluice_engine::Result<()> {
    let result = match verdict {
        Attempt::Delivered => DeliveryResult::Delivered,
        Attempt::Retry {
            after,
            error,
            status,
            host_failed,
        } => DeliveryResult::Retry {
            at: now + after.as_millis() as i64,
            status: status.map(i64::from),
            error,
            // A busy host (429) is not an unwell one: only connection failures,
            // timeouts and server errors count towards its breaker.
            probe_at: if *host_failed {
                Some(probe_at(engine, config, &row.host, now).await?)
            } else {
                None
            },
        },
        Attempt::GaveUp { error, status } => DeliveryResult::GaveUp {
            status: status.map(i64::from),
            error,
        },
    };
    engine
        .record_delivery(row, result, config.breaker_threshold, now)
        .await
}

/// When a host that fails now should next be probed: after `probe_interval` at first,
/// then after as long as it has already been down (so each failed probe roughly doubles
/// the wait), capped at `max_probe_interval`. Failures of deliveries that were already
/// in flight when the breaker opened do not stretch the wait: only time down does.
async fn probe_at(
    engine: &Engine,
    config: &DeliveryConfig,
    host: &str,
    now: i64,
) -> sluice_engine::Result<i64> {
    let down_for = engine
        .delivery_host(host)
        .await?
        .and_then(|h| h.down_since)
        .map_or(0, |since| (now - since).max(0) as u64);
    Ok(now + probe_wait(config, Duration::from_millis(down_for)).as_millis() as i64)
}

fn probe_wait(config: &DeliveryConfig, down_for: Duration) -> Duration {
    down_for
        .max(config.probe_interval)
        .min(config.max_probe_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_wait_grows_with_time_down_not_with_failures() {
        let config = DeliveryConfig {
            probe_interval: Duration::from_secs(60),
            max_probe_interval: Duration::from_secs(3600),
            ..DeliveryConfig::default()
        };
        // Just marked down (however many in-flight deliveries failed with it).
        assert_eq!(probe_wait(&config, Duration::ZERO), Duration::from_secs(60));
        // A probe failed after 60 s down: wait 60 s more; after 120 s, 120 s.
        assert_eq!(
            probe_wait(&config, Duration::from_secs(120)),
            Duration::from_secs(120)
        );
        assert_eq!(
            probe_wait(&config, Duration::from_secs(86_400)),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn backoff_follows_mastodon_and_sums_to_days() {
        assert_eq!(backoff(0, 0), Duration::from_secs(15));
        assert_eq!(backoff(2, 3), Duration::from_secs(16 + 15 + 3 * 3));
        let total: u64 = (0..16).map(|n| backoff(n, 5).as_secs()).sum();
        let days = total as f64 / 86_400.0;
        assert!((2.0..3.5).contains(&days), "{days} days");
    }

    #[test]
    fn judging_results() {
        let ok = Ok(crate::fetch::PostOutcome {
            status: 202,
            retry_after: None,
        });
        assert_eq!(judge(&ok, 1, 0, 1_000_000, 0), Attempt::Delivered);
        let gone = Err(FetchError::Status(410));
        assert!(matches!(
            judge(&gone, 1, 0, 1_000_000_000, 0),
            Attempt::GaveUp {
                status: Some(410),
                ..
            }
        ));
        let busy = Err(FetchError::Status(503));
        assert!(matches!(
            judge(&busy, 1, 0, 1_000_000_000, 0),
            Attempt::Retry {
                status: Some(503),
                ..
            }
        ));
        // A retry that would land after the expiry is a give-up.
        assert!(matches!(
            judge(&busy, 1, 0, 1_000, 0),
            Attempt::GaveUp { .. }
        ));
        let timeout = Err(FetchError::Status(408));
        assert!(matches!(
            judge(&timeout, 3, 0, i64::MAX / 2, 0),
            Attempt::Retry { .. }
        ));
    }
}
