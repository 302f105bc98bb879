//! The link preview fetchers: workers that claim queued URLs (`card_jobs`, written in
//! the transaction of the post that links them) and fetch them through the one
//! [`Fetcher`], politely:
//!
//! - one request per host at a time, across processes, and at least
//!   `host_spacing_ms` between two (the claim takes the host in `card_hosts`);
//! - a `429`/`503` with `Retry-After` moves the URL and its host to that time: nothing
//!   is sent to the host before it (the fetcher remembers it too);
//! - only `text/html` (and oEmbed JSON) is read, at most `max_html_bytes` and only up
//!   to the end of the head, within `timeout_ms` (checked while reading and while
//!   parsing): a page that never ends is abandoned;
//! - a conditional GET (`If-None-Match`/`If-Modified-Since`) when a card is cached, a
//!   `304` keeping it; a failure stores a negative entry for `failure_ttl_ms`.
//!
//! oEmbed is followed when the page names an endpoint on its own host (after the
//! spacing); an endpoint on another host is not asked (it would need that host's own
//! turn) and the page's OpenGraph and Twitter tags are used.

use std::sync::Arc;
use std::time::Duration;

use sluice_engine::Engine;
use sluice_engine::cards::{CardJob, CardSettings, host_key};
use sluice_engine::rows::CardOutcome;
use sluice_model::card::{Card, OEmbed, head_ended, parse_head};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

use crate::fetch::{FetchError, Fetcher, PageAnswer, PageRequest};

/// `Accept` of a page GET.
const HTML_ACCEPT: &str = "text/html, application/xhtml+xml;q=0.9";
/// `Accept` of an oEmbed GET.
const OEMBED_ACCEPT: &str = "application/json+oembed, application/json;q=0.9";
/// Largest oEmbed answer read.
const MAX_OEMBED_BYTES: usize = 64 * 1024;
/// A `Retry-After` is honoured this many times for one URL; then it is a failure.
const MAX_ATTEMPTS: i64 = 5;
/// Longest sleep of the workers between looks at the queue (they are also woken by
/// the commits that queue URLs and by their own fetches ending).
const IDLE: Duration = Duration::from_secs(5);

/// What one fetch came to.
enum Fetched {
    Card {
        card: Box<Card>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    NotModified,
    NoCard(String),
}

/// Runs the card fetchers until `shutdown`: claims URLs whose hosts are free, up to
/// [`CardSettings::concurrency`] at once, and records each outcome.
pub async fn run(engine: Arc<Engine>, fetcher: Fetcher, mut shutdown: watch::Receiver<bool>) {
    let settings = engine.config.cards.clone();
    if !settings.enabled {
        return;
    }
    let concurrency = settings.concurrency.max(1);
    // Longer than a fetch can take (page, spacing, oEmbed), so a lease never ends
    // while its fetch runs.
    let lease_ms = i64::try_from(settings.timeout_ms).unwrap_or(i64::MAX / 4) * 2
        + settings.host_spacing_ms
        + 30_000;
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = concurrency.saturating_sub(running.len());
        if free > 0 {
            match engine.claim_card_jobs(free as i64, lease_ms).await {
                Ok(jobs) => {
                    for job in jobs {
                        let (engine, fetcher, settings) =
                            (engine.clone(), fetcher.clone(), settings.clone());
                        running.spawn(async move {
                            fetch_and_record(&engine, &fetcher, &settings, job).await;
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming card fetches failed"),
            }
        }
        let now = sluice_model::id::now_millis();
        let wait = match engine.next_card_job_at().await {
            Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0)),
            Ok(None) => IDLE,
            Err(e) => {
                tracing::warn!(error = %e, "reading the card queue failed");
                IDLE
            }
        }
        .clamp(Duration::from_millis(20), IDLE);
        tokio::select! {
            _ = tokio::time::sleep(wait), if running.len() < concurrency => {}
            _ = engine.card_wake().notified() => {}
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Err(e) = done
                    && e.is_panic()
                {
                    tracing::error!("a card fetch panicked");
                }
            }
            _ = shutdown.changed() => {}
        }
    }
    // Fetches in flight are dropped: their leases run out and the URLs are fetched
    // again (by this process after a restart, or another one).
    running.shutdown().await;
}

/// Fetches one claimed URL and records the outcome (a negative entry for failures, the
/// host's next turn after the spacing or the Retry-After).
async fn fetch_and_record(
    engine: &Engine,
    fetcher: &Fetcher,
    settings: &CardSettings,
    job: CardJob,
) {
    let started = sluice_model::id::now_millis();
    // A URL is queued only when its entry is missing or stale, so a fresh one means a
    // post raced the end of the URL's previous fetch: nothing to ask.
    if job.cached.as_ref().is_some_and(|c| c.expires_at > started) {
        if let Err(e) = engine
            .finish_card_job(&job, &CardOutcome::Fresh, started)
            .await
        {
            tracing::warn!(url = %job.url, error = %e, "recording a card fetch failed");
        }
        return;
    }
    let result = match Url::parse(&job.url) {
        Err(e) => Ok(Fetched::NoCard(format!("invalid URL: {e}"))),
        Ok(url) => match engine.host_suspended(url.host_str().unwrap_or("")).await {
            Ok(true) => Ok(Fetched::NoCard("suspended domain".into())),
            _ => fetch(fetcher, settings, &job, &url).await,
        },
    };
    let now = sluice_model::id::now_millis();
    let spaced = now.max(started) + settings.host_spacing_ms;
    let failed = |error: String| CardOutcome::Fetched {
        card: None,
        etag: None,
        last_modified: None,
        expires_at: now + settings.failure_ttl_ms,
        error: Some(error),
    };
    let (outcome, host_next_at) = match result {
        Ok(Fetched::Card {
            card,
            etag,
            last_modified,
        }) => (
            CardOutcome::Fetched {
                card: serde_json::to_string(&card).ok(),
                etag,
                last_modified,
                expires_at: now + settings.ttl_ms,
                error: None,
            },
            spaced,
        ),
        Ok(Fetched::NotModified) => (
            CardOutcome::NotModified {
                expires_at: now + settings.ttl_ms,
            },
            spaced,
        ),
        Ok(Fetched::NoCard(why)) => (failed(why), spaced),
        Err(FetchError::RateLimited { retry_after }) if job.attempts < MAX_ATTEMPTS => {
            let at = now + i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX / 4);
            (
                CardOutcome::Retry {
                    at: at.max(spaced),
                    error: "rate limited".into(),
                },
                at.max(spaced),
            )
        }
        Err(e) => (failed(e.to_string()), spaced),
    };
    tracing::debug!(url = %job.url, outcome = ?outcome, "card fetch done");
    if let Err(e) = engine.finish_card_job(&job, &outcome, host_next_at).await {
        tracing::warn!(url = %job.url, error = %e, "recording a card fetch failed");
    }
}

/// The page's card: the page's head read within the limits, then its oEmbed (same
/// host only) or its own tags.
async fn fetch(
    fetcher: &Fetcher,
    settings: &CardSettings,
    job: &CardJob,
    url: &Url,
) -> Result<Fetched, FetchError> {
    let deadline = Instant::now() + Duration::from_millis(settings.timeout_ms);
    let cached = job.cached.as_ref().filter(|c| c.card.is_some());
    let request = PageRequest {
        accept: HTML_ACCEPT,
        if_none_match: cached.and_then(|c| c.etag.as_deref()),
        if_modified_since: cached.and_then(|c| c.last_modified.as_deref()),
    };
    let page = tokio::time::timeout_at(deadline, async {
        let mut body = match fetcher.get_page(url, &request).await? {
            PageAnswer::NotModified => return Ok(None),
            PageAnswer::Page(body) => body,
        };
        let mime = body.mime();
        if mime != "text/html" && mime != "application/xhtml+xml" {
            return Ok(Some(Err(format!("not HTML ({mime})"))));
        }
        let mut html: Vec<u8> = Vec::new();
        while let Some(chunk) = body.chunk().await? {
            let from = html.len().saturating_sub(6);
            let room = settings.max_html_bytes.saturating_sub(html.len());
            html.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if html.len() >= settings.max_html_bytes || head_ended(&html[from..]) {
                break;
            }
        }
        Ok::<_, FetchError>(Some(Ok((
            html,
            body.url.clone(),
            body.etag.clone(),
            body.last_modified.clone(),
        ))))
    })
    .await
    .map_err(|_| FetchError::Timeout)??;
    let (html, base, etag, last_modified) = match page {
        None if cached.is_some() => return Ok(Fetched::NotModified),
        None => return Ok(Fetched::NoCard("304 without a cached card".into())),
        Some(Err(why)) => return Ok(Fetched::NoCard(why)),
        Some(Ok(page)) => page,
    };
    let text = String::from_utf8_lossy(&html);
    let Some(meta) = parse_head(&text, Some(deadline.into_std())) else {
        return Err(FetchError::Timeout);
    };
    let mut card = None;
    if let Some(endpoint) = meta
        .oembed
        .as_deref()
        .and_then(|href| base.join(href.trim()).ok())
        .filter(|e| host_key(e) == host_key(&base))
    {
        tokio::time::sleep(Duration::from_millis(
            u64::try_from(settings.host_spacing_ms).unwrap_or(0),
        ))
        .await;
        match tokio::time::timeout_at(deadline, oembed(fetcher, &endpoint)).await {
            Ok(Ok(o)) => card = o.card(url.as_str(), &endpoint, &settings.embed_hosts),
            Ok(Err(e)) => tracing::debug!(endpoint = %endpoint, error = %e, "oEmbed failed"),
            Err(_) => tracing::debug!(endpoint = %endpoint, "oEmbed timed out"),
        }
    }
    let card = card.or_else(|| meta.card(url.as_str(), &base, &settings.embed_hosts));
    Ok(match card {
        Some(card) => Fetched::Card {
            card: Box::new(card),
            etag,
            last_modified,
        },
        None => Fetched::NoCard("the page has no title".into()),
    })
}

/// An oEmbed document (JSON, at most [`MAX_OEMBED_BYTES`]).
async fn oembed(fetcher: &Fetcher, endpoint: &Url) -> Result<OEmbed, FetchError> {
    let request = PageRequest {
        accept: OEMBED_ACCEPT,
        if_none_match: None,
        if_modified_since: None,
    };
    let PageAnswer::Page(mut body) = fetcher.get_page(endpoint, &request).await? else {
        return Err(FetchError::Status(304));
    };
    let mime = body.mime();
    if !(mime == "application/json"
        || mime == "text/json"
        || mime.ends_with("+json")
        || mime == "application/json+oembed")
    {
        return Err(FetchError::NotJson(Some(mime)));
    }
    let mut json = Vec::new();
    while let Some(chunk) = body.chunk().await? {
        if json.len() + chunk.len() > MAX_OEMBED_BYTES {
            return Err(FetchError::TooLarge {
                limit: MAX_OEMBED_BYTES,
            });
        }
        json.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&json).map_err(|e| FetchError::Http(format!("oEmbed: {e}")))
}
