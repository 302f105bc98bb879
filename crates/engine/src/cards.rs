//! Link preview cards, the engine's side: which link of a new post gets a card (in the
//! post's own transaction: the `status_cards` row and, when the URL's card is missing
//! or stale, a durable `card_jobs` row), the queue the fetching workers
//! (`federation::cards`) claim from and report to, the `status.update` of posts whose
//! card arrived, the link timeline and link trends.
//!
//! A post never waits for a page: the job is written with the post and fetched after
//! it commits. A remote post's link is queued only within a per-minute budget
//! ([`CardSettings::remote_per_minute`], per process), so a flood of remote posts is not
//! a flood of fetches; a link over the budget still gets the card when another post
//! brings it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use sluice_model::Id;
use sluice_model::card::first_link;
use sluice_model::filter::FilterContext;
use sluice_store::{
    AccountRow, CardJobRow, CardOutcome, Locality, Page, PreviewCardRow, StatusRow, WriteTx,
};

use crate::effects::Changes;
use crate::pipeline::status_event;
use crate::read::StatusPage;
use crate::{Engine, EngineError, Result};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Posts announced (`status.update`) at most when one card arrives; the others show it
/// when next read.
pub const MAX_ANNOUNCED: i64 = 200;
/// Posts scanned at most to compute link trends (the newest in the window).
pub const TREND_SCAN: i64 = 10_000;

/// The cards' settings (`SLUICE_CARDS_*`).
#[derive(Debug, Clone)]
pub struct CardSettings {
    /// Fetch cards at all.
    pub enabled: bool,
    /// How long a fetched card is used before the next post linking it revalidates it.
    pub ttl_ms: i64,
    /// How long a failure (or a page without a card) is remembered.
    pub failure_ttl_ms: i64,
    /// Least time between two requests to one host.
    pub host_spacing_ms: i64,
    /// Remote posts' links queued per minute, per process.
    pub remote_per_minute: u32,
    /// Bytes of a page read at most (its head).
    pub max_html_bytes: usize,
    /// Time limit of one fetch, reading and parsing included.
    pub timeout_ms: u64,
    /// Hosts whose players may be embedded (`html` of `video` cards); empty: none.
    pub embed_hosts: Vec<String>,
    /// Fetches in flight per process (each on another host).
    pub concurrency: usize,
    /// Days of posts link trends look at.
    pub trend_days: i64,
    /// Distinct accounts a link needs to trend.
    pub trend_min_accounts: i64,
}

impl Default for CardSettings {
    fn default() -> Self {
        CardSettings {
            enabled: true,
            ttl_ms: 14 * DAY_MS,
            failure_ttl_ms: 3600 * 1000,
            host_spacing_ms: 1000,
            remote_per_minute: 60,
            max_html_bytes: 256 * 1024,
            timeout_ms: 10_000,
            embed_hosts: Vec::new(),
            concurrency: 4,
            trend_days: 7,
            trend_min_accounts: 2,
        }
    }
}

/// The engine's card state: the worker's wake-up and the remote budget.
#[derive(Default)]
pub struct CardState {
    wake: tokio::sync::Notify,
    /// A transaction queued a job: wake the workers after its commit.
    queued: AtomicBool,
    /// (minute, links queued in it) for remote posts.
    budget: Mutex<(i64, u32)>,
}

/// A URL to fetch, with what is cached for it (validators for a conditional GET).
#[derive(Debug, Clone)]
pub struct CardJob {
    pub url: String,
    pub host: String,
    pub attempts: i64,
    /// When the URL was queued.
    pub created_at: i64,
    pub cached: Option<PreviewCardRow>,
}

/// `host:port` of a URL, the key of per-host politeness.
pub fn host_key(url: &url::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("").to_ascii_lowercase(),
        url.port_or_known_default().unwrap_or(0)
    )
}

impl CardState {
    /// Takes one link from this minute's remote budget.
    fn take_remote(&self, per_minute: u32, now: i64) -> bool {
        let minute = now / 60_000;
        let mut b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        if b.0 != minute {
            *b = (minute, 0);
        }
        if b.1 >= per_minute {
            return false;
        }
        b.1 += 1;
        true
    }
}

impl Engine {
    /// Wakes the card workers when a committed transaction queued a URL.
    pub(crate) fn cards_published(&self) {
        if self.cards.queued.swap(false, Ordering::AcqRel) {
            self.cards.wake.notify_one();
        }
    }

    /// Notified when a URL was queued (the workers also poll).
    pub fn card_wake(&self) -> &tokio::sync::Notify {
        &self.cards.wake
    }

    /// Names the link of a new post that gets a card, in the post's transaction, and
    /// queues its fetch when needed (see the module's comment).
    pub(crate) async fn link_card(
        &self,
        tx: &mut WriteTx,
        status: &StatusRow,
        author: &AccountRow,
        mentioned: &[AccountRow],
        now: i64,
    ) -> Result<()> {
        if !self.config.cards.enabled {
            return Ok(());
        }
        if let Some(url) = self.card_link(status, mentioned) {
            self.attach_card(tx, status, author, &url, now).await?;
        }
        Ok(())
    }

    /// The link of an edited post that gets a card, in the edit's transaction: when the
    /// edit changed its first link, the post's card is the new link's (queued as for a
    /// new post; its arrival is announced with `status.update`), and none when the edit
    /// removed the link. Nothing is written when the link stayed.
    pub(crate) async fn relink_card(
        &self,
        tx: &mut WriteTx,
        status: &StatusRow,
        author: &AccountRow,
        mentioned: &[AccountRow],
        now: i64,
    ) -> Result<()> {
        if !self.config.cards.enabled {
            return Ok(());
        }
        let next = self.card_link(status, mentioned);
        let current = tx.status_card_url(status.id).await?;
        if current.as_deref() == next.as_ref().map(url::Url::as_str) {
            return Ok(());
        }
        if current.is_some() {
            tx.detach_card(status.id).await?;
        }
        if let Some(url) = next {
            self.attach_card(tx, status, author, &url, now).await?;
        }
        Ok(())
    }

    /// The link of a post that gets a card (`first_link`), None for posts without one
    /// (reblogs, direct posts).
    fn card_link(&self, status: &StatusRow, mentioned: &[AccountRow]) -> Option<url::Url> {
        if status.reblog_of_id.is_some()
            || status.visibility == sluice_model::Visibility::Direct.as_str()
        {
            return None;
        }
        let attachments = sluice_model::media::Attachment::read_list(&status.attachments);
        let mut skip: Vec<&str> = mentioned
            .iter()
            .flat_map(|a| [a.url.as_str(), a.uri.as_str()])
            .collect();
        skip.extend(attachments.iter().map(|a| a.url.as_str()));
        first_link(&status.content, &skip, self.urls.base())
    }

    /// Names `url` as the post's link and queues its fetch when its card is missing or
    /// stale (a remote author's within the per-minute budget).
    async fn attach_card(
        &self,
        tx: &mut WriteTx,
        status: &StatusRow,
        author: &AccountRow,
        url: &url::Url,
        now: i64,
    ) -> Result<()> {
        let settings = &self.config.cards;
        let queue = author.is_local() || self.cards.take_remote(settings.remote_per_minute, now);
        if !queue {
            tracing::debug!(url = %url, "remote card budget spent: not queued");
        }
        let host = host_key(url);
        if tx
            .attach_card(status.id, author.id, url.as_str(), &host, queue, now)
            .await?
            && queue
        {
            self.cards.queued.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Claims up to `limit` URLs to fetch now (each on a free host), leased for
    /// `lease_ms`.
    pub async fn claim_card_jobs(&self, limit: i64, lease_ms: i64) -> Result<Vec<CardJob>> {
        let now = sluice_model::id::now_millis();
        let rows: Vec<CardJobRow> = self.store.claim_card_jobs(now, lease_ms, limit).await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in rows {
            let cached = self.store.preview_card(&r.url).await?;
            jobs.push(CardJob {
                url: r.url,
                host: r.host,
                attempts: r.attempts,
                created_at: r.created_at,
                cached,
            });
        }
        Ok(jobs)
    }

    /// When the soonest queued URL may be fetched, if any is queued.
    pub async fn next_card_job_at(&self) -> Result<Option<i64>> {
        Ok(self.store.next_card_job_at().await?)
    }

    /// Records a fetch's outcome, frees its host until `host_next_at`, and announces
    /// (`status.update`) the posts that waited for the card.
    pub async fn finish_card_job(
        &self,
        job: &CardJob,
        outcome: &CardOutcome,
        host_next_at: i64,
    ) -> Result<()> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let arrived = tx
            .finish_card_job(
                &job.url,
                &job.host,
                outcome,
                host_next_at,
                MAX_ANNOUNCED,
                now,
            )
            .await?;
        let mut changes = Changes::at(now);
        if !arrived.is_empty() {
            let views = self.store.status_views(None, &arrived).await?;
            let authors: Vec<Id> = views.iter().map(|v| v.status.account_id).collect();
            let accounts = self.cached_accounts(&authors).await?;
            for v in &views {
                let domain = accounts
                    .iter()
                    .find(|a| a.id == v.status.account_id)
                    .map(|a| a.domain.as_str())
                    .unwrap_or("");
                let tags: Vec<String> = v.tags().map(String::from).collect();
                let mentions: Vec<Id> = v.mentions().collect();
                changes.events([status_event(
                    "status.update",
                    &v.status,
                    &tags,
                    &mentions,
                    domain,
                    None,
                )]);
            }
        }
        self.commit(tx, changes).await
    }

    /// Public posts whose card is `url`'s, as a timeline page (Mastodon 4.3's
    /// `/api/v1/timelines/link`); NotFound when no card is known for it.
    pub async fn link_timeline(
        &self,
        url: &str,
        viewer: Option<Id>,
        page: Page,
    ) -> Result<StatusPage> {
        if viewer.is_none() && !self.timeline_open_to_visitors(Locality::All) {
            return Err(EngineError::invalid(
                "This method requires an authenticated user",
            ));
        }
        let known = self
            .store
            .preview_card(url)
            .await?
            .is_some_and(|c| c.card.is_some());
        if !known {
            return Err(EngineError::NotFound);
        }
        let views = self.store.link_timeline(url, viewer, page).await?;
        self.status_page(viewer, views, FilterContext::Public).await
    }

    /// Links shared by the most distinct accounts in public posts of the last
    /// [`CardSettings::trend_days`] (bounded: the newest [`TREND_SCAN`] posts with a
    /// link), as Mastodon's `Trends::Link` entities (the card with its daily history).
    pub async fn link_trends(&self, offset: i64, limit: i64) -> Result<Vec<Value>> {
        let settings = &self.config.cards;
        let now = sluice_model::id::now_millis();
        let since = now - settings.trend_days.max(1) * DAY_MS;
        let rows = self
            .store
            .link_trends(
                since,
                TREND_SCAN,
                settings.trend_min_accounts.max(1),
                offset,
                limit,
            )
            .await?;
        let urls: Vec<String> = rows.iter().map(|r| r.url.clone()).collect();
        let today = now - now.rem_euclid(DAY_MS);
        let days = self.store.link_days(&urls, today - 6 * DAY_MS).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut card: Value = serde_json::from_str(&r.card).ok()?;
                let history: Vec<Value> = (0..7)
                    .map(|n| {
                        let day = today - n * DAY_MS;
                        let d = days.iter().find(|d| d.url == r.url && d.day == day);
                        json!({
                            "day": (day / 1000).to_string(),
                            "accounts": d.map_or(0, |d| d.accounts).to_string(),
                            "uses": d.map_or(0, |d| d.uses).to_string(),
                        })
                    })
                    .collect();
                card["history"] = json!(history);
                Some(card)
            })
            .collect())
    }

    /// The card entity of a stored card's JSON.
    pub(crate) fn card_entity(json: Option<&str>) -> Option<Value> {
        json.and_then(|c| serde_json::from_str(c).ok())
    }
}
