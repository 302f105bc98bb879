//! Link preview cards: the rows of migration 22. `preview_cards` caches one card (or a
//! negative entry) per URL with its validators, `status_cards` names the link of each
//! post that has one, `card_jobs` is the durable queue of URLs to fetch and
//! `card_hosts` the politeness state of each host (one request at a time, spacing,
//! Retry-After), shared by every process.

use sluice_model::Id;

use crate::query::Scalar;
use crate::{Query, Result, Store, WriteTx};

/// A cached URL: its card (JSON, None for a negative entry) and validators.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PreviewCardRow {
    pub url: String,
    pub host: String,
    pub card: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub fetched_at: i64,
    pub expires_at: i64,
    pub error: Option<String>,
}

/// A claimed URL to fetch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CardJobRow {
    pub url: String,
    pub host: String,
    pub attempts: i64,
    pub created_at: i64,
}

/// What a fetch of a URL came to ([`WriteTx::finish_card_job`]).
#[derive(Debug, Clone)]
pub enum CardOutcome {
    /// Fetched (`card` None: the page gave none, or failed for good: `error`).
    Fetched {
        card: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        expires_at: i64,
        error: Option<String>,
    },
    /// A conditional GET answered 304: the stored card is kept until `expires_at`.
    NotModified { expires_at: i64 },
    /// To be tried again at `at` (no request to the host before then either).
    Retry { at: i64, error: String },
    /// Not fetched: the URL was fetched after it was queued (a post racing the fetch
    /// that ended); the job ends and the waiting posts get what is cached.
    Fresh,
}

/// A link shared recently: its card and by how many.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkTrendRow {
    pub url: String,
    pub card: String,
    pub accounts: i64,
    pub uses: i64,
}

/// Uses of a link on one UTC day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkDayRow {
    pub url: String,
    pub day: i64,
    pub accounts: i64,
    pub uses: i64,
}

const CARD_COLUMNS: &str = "url, host, card, etag, last_modified, fetched_at, expires_at, error";

impl WriteTx {
    /// Names `url` as the link of a new post. Returns whether the card must be fetched
    /// (no entry, or a stale one): then, when `queue`, a job is queued for the URL
    /// (one per URL, whatever number of posts wait for it), and the post waits for the
    /// card (its arrival is announced).
    pub async fn attach_card(
        &mut self,
        status_id: Id,
        account_id: Id,
        url: &str,
        host: &str,
        queue: bool,
        now: i64,
    ) -> Result<bool> {
        let fresh = self
            .opt::<Scalar>(
                Query::new("SELECT expires_at AS v FROM preview_cards WHERE url = $1").bind(url),
            )
            .await?
            .is_some_and(|r| r.v > now);
        self.exec(
            Query::new(
                "INSERT INTO status_cards (status_id, url, account_id, created_at, waiting)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (status_id) DO NOTHING",
            )
            .bind(status_id)
            .bind(url)
            .bind(account_id)
            .bind(now)
            .bind(!fresh),
        )
        .await?;
        if !fresh && queue {
            self.exec(
                Query::new(
                    "INSERT INTO card_jobs (url, host, run_at, attempts, leased_until, created_at)
                     VALUES ($1, $2, $3, 0, 0, $3) ON CONFLICT (url) DO NOTHING",
                )
                .bind(url)
                .bind(host)
                .bind(now),
            )
            .await?;
        }
        Ok(!fresh)
    }

    /// The link of a post that has a card (its `status_cards` row), read in the
    /// transaction that may change it.
    pub async fn status_card_url(&mut self, status_id: Id) -> Result<Option<String>> {
        #[derive(sqlx::FromRow)]
        struct UrlRow {
            url: String,
        }
        Ok(self
            .opt::<UrlRow>(
                Query::new("SELECT url FROM status_cards WHERE status_id = $1").bind(status_id),
            )
            .await?
            .map(|r| r.url))
    }

    /// The post no longer has a card (an edit removed or changed its link). The cached
    /// card stays for other posts; maintenance removes it once none links it.
    pub async fn detach_card(&mut self, status_id: Id) -> Result<()> {
        self.exec(Query::new("DELETE FROM status_cards WHERE status_id = $1").bind(status_id))
            .await?;
        Ok(())
    }

    /// Records what a fetch of `url` (from `host`) came to, frees the host until
    /// `host_next_at`, and returns the posts that waited for a card now there (no
    /// longer waiting), newest first, at most `announce`.
    pub async fn finish_card_job(
        &mut self,
        url: &str,
        host: &str,
        outcome: &CardOutcome,
        host_next_at: i64,
        announce: i64,
        now: i64,
    ) -> Result<Vec<Id>> {
        self.exec(
            Query::new("UPDATE card_hosts SET busy_until = 0, next_at = $2 WHERE host = $1")
                .bind(host)
                .bind(host_next_at),
        )
        .await?;
        let has_card = match outcome {
            CardOutcome::Retry { at, error } => {
                self.exec(
                    Query::new("UPDATE card_jobs SET run_at = $2, leased_until = 0 WHERE url = $1")
                        .bind(url)
                        .bind(*at),
                )
                .await?;
                tracing::debug!(url, error, "card fetch to be tried again");
                return Ok(vec![]);
            }
            CardOutcome::Fresh => self
                .opt::<Scalar>(
                    Query::new(
                        "SELECT 1 AS v FROM preview_cards WHERE url = $1 AND card IS NOT NULL",
                    )
                    .bind(url),
                )
                .await?
                .is_some(),
            CardOutcome::NotModified { expires_at } => {
                self.exec(
                    Query::new(
                        "UPDATE preview_cards SET fetched_at = $2, expires_at = $3, error = NULL
                         WHERE url = $1",
                    )
                    .bind(url)
                    .bind(now)
                    .bind(*expires_at),
                )
                .await?;
                self.opt::<Scalar>(
                    Query::new(
                        "SELECT 1 AS v FROM preview_cards WHERE url = $1 AND card IS NOT NULL",
                    )
                    .bind(url),
                )
                .await?
                .is_some()
            }
            CardOutcome::Fetched {
                card,
                etag,
                last_modified,
                expires_at,
                error,
            } => {
                // A failure keeps a card fetched before (shown until it is replaced).
                self.exec(
                    Query::new(format!(
                        "INSERT INTO preview_cards ({CARD_COLUMNS})
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (url) DO UPDATE SET
                           card = COALESCE(excluded.card, preview_cards.card),
                           etag = excluded.etag, last_modified = excluded.last_modified,
                           fetched_at = excluded.fetched_at, expires_at = excluded.expires_at,
                           error = excluded.error"
                    ))
                    .bind(url)
                    .bind(host)
                    .bind(card.clone())
                    .bind(etag.clone())
                    .bind(last_modified.clone())
                    .bind(now)
                    .bind(*expires_at)
                    .bind(error.clone()),
                )
                .await?;
                card.is_some()
            }
        };
        self.exec(Query::new("DELETE FROM card_jobs WHERE url = $1").bind(url))
            .await?;
        if !has_card {
            return Ok(vec![]);
        }
        let waiting: Vec<Scalar> = self
            .all(
                Query::new(
                    "SELECT status_id AS v FROM status_cards WHERE url = $1 AND waiting
                     ORDER BY status_id DESC",
                )
                .bind(url),
            )
            .await?;
        self.exec(
            Query::new("UPDATE status_cards SET waiting = FALSE WHERE url = $1 AND waiting")
                .bind(url),
        )
        .await?;
        Ok(waiting
            .into_iter()
            .take(usize::try_from(announce).unwrap_or(0))
            .map(|r| r.v)
            .collect())
    }
}

impl Store {
    /// Claims up to `limit` URLs to fetch now, each on a different host that is free
    /// (no request in flight, its spacing and any Retry-After passed), leasing job and
    /// host until `now + lease_ms`. Safe across processes: a host is taken by one
    /// conditional upsert, a job by one conditional update.
    pub async fn claim_card_jobs(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<CardJobRow>> {
        let candidates: Vec<CardJobRow> = self
            .all(
                Query::new(
                    "SELECT j.url, j.host, j.attempts, j.created_at FROM card_jobs j
                     LEFT JOIN card_hosts h ON h.host = j.host
                     WHERE j.run_at <= $1 AND j.leased_until <= $1
                       AND (h.host IS NULL OR (h.busy_until <= $1 AND h.next_at <= $1))
                     ORDER BY j.run_at, j.url LIMIT $2",
                )
                .bind(now)
                .bind(limit.saturating_mul(4)),
            )
            .await?;
        let until = now + lease_ms;
        let mut claimed: Vec<CardJobRow> = Vec::new();
        for job in candidates {
            if claimed.len() as i64 >= limit || claimed.iter().any(|c| c.host == job.host) {
                continue;
            }
            let mut tx = self.begin().await?;
            let host = tx
                .exec(
                    Query::new(
                        "INSERT INTO card_hosts (host, busy_until, next_at) VALUES ($1, $2, 0)
                         ON CONFLICT (host) DO UPDATE SET busy_until = excluded.busy_until
                         WHERE card_hosts.busy_until <= $3 AND card_hosts.next_at <= $3",
                    )
                    .bind(job.host.as_str())
                    .bind(until)
                    .bind(now),
                )
                .await?;
            let taken = host == 1
                && tx
                    .exec(
                        Query::new(
                            "UPDATE card_jobs SET leased_until = $2, attempts = attempts + 1
                             WHERE url = $1 AND leased_until <= $3 AND run_at <= $3",
                        )
                        .bind(job.url.as_str())
                        .bind(until)
                        .bind(now),
                    )
                    .await?
                    == 1;
            if taken {
                tx.commit().await?;
                claimed.push(job);
            } else {
                tx.rollback().await?;
            }
        }
        Ok(claimed)
    }

    /// When the soonest queued URL may be fetched (the latest of its own time, its
    /// lease, and its host's spacing and request in flight), among the 100 due first.
    pub async fn next_card_job_at(&self) -> Result<Option<i64>> {
        #[derive(sqlx::FromRow)]
        struct Due {
            run_at: i64,
            leased_until: i64,
            next_at: i64,
            busy_until: i64,
        }
        let rows: Vec<Due> = self
            .all(Query::new(
                "SELECT j.run_at, j.leased_until, COALESCE(h.next_at, 0) AS next_at,
                        COALESCE(h.busy_until, 0) AS busy_until
                 FROM card_jobs j LEFT JOIN card_hosts h ON h.host = j.host
                 ORDER BY j.run_at LIMIT 100",
            ))
            .await?;
        Ok(rows
            .iter()
            .map(|d| {
                d.run_at
                    .max(d.leased_until)
                    .max(d.next_at)
                    .max(d.busy_until)
            })
            .min())
    }

    /// Removes at most `limit` cached cards (or negative entries) past their time
    /// (`expires_at` before `now`) that no post links any more and no fetch is queued
    /// for, oldest first; returns how many. A post linking the URL again fetches it
    /// anew, as it would the stale entry.
    pub async fn prune_preview_cards(&self, now: i64, limit: i64) -> Result<u64> {
        let q = Query::new(
            "DELETE FROM preview_cards WHERE url IN (
               SELECT p.url FROM preview_cards p
               WHERE p.expires_at < $1
                 AND NOT EXISTS (SELECT 1 FROM status_cards sc
                       JOIN statuses s ON s.id = sc.status_id WHERE sc.url = p.url)
                 AND NOT EXISTS (SELECT 1 FROM card_jobs j WHERE j.url = p.url)
               ORDER BY p.expires_at LIMIT $2)",
        )
        .bind(now)
        .bind(limit);
        self.exec(q).await
    }

    /// The cached entry of a URL.
    pub async fn preview_card(&self, url: &str) -> Result<Option<PreviewCardRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {CARD_COLUMNS} FROM preview_cards WHERE url = $1"
            ))
            .bind(url),
        )
        .await
    }

    /// The links of public posts made since `since` (at most the newest `scan` of
    /// them), by how many distinct accounts shared each (at least `min_accounts`),
    /// then by uses; only links with a card.
    pub async fn link_trends(
        &self,
        since: i64,
        scan: i64,
        min_accounts: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<LinkTrendRow>> {
        self.all(
            Query::new(
                "SELECT r.url, c.card, COUNT(DISTINCT r.account_id) AS accounts, COUNT(*) AS uses
                 FROM (SELECT sc.url, sc.account_id FROM status_cards sc
                       JOIN statuses s ON s.id = sc.status_id
                       WHERE sc.created_at >= $1 AND s.visibility = 'public'
                       ORDER BY sc.created_at DESC LIMIT $2) r
                 JOIN preview_cards c ON c.url = r.url AND c.card IS NOT NULL
                 GROUP BY r.url, c.card
                 HAVING COUNT(DISTINCT r.account_id) >= $3
                 ORDER BY accounts DESC, uses DESC, r.url
                 LIMIT $4 OFFSET $5",
            )
            .bind(since)
            .bind(scan)
            .bind(min_accounts)
            .bind(limit)
            .bind(offset),
        )
        .await
    }

    /// Uses of `urls` per UTC day since `since` (public posts).
    pub async fn link_days(&self, urls: &[String], since: i64) -> Result<Vec<LinkDayRow>> {
        if urls.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new(
            "SELECT sc.url, (sc.created_at / 86400000) * 86400000 AS day,
                    COUNT(DISTINCT sc.account_id) AS accounts, COUNT(*) AS uses
             FROM status_cards sc JOIN statuses s ON s.id = sc.status_id
             WHERE s.visibility = 'public' AND sc.created_at >= ",
        );
        let s = q.arg(since);
        q.push(&s);
        q.push(" AND sc.url IN (");
        for (n, u) in urls.iter().enumerate() {
            if n > 0 {
                q.push(", ");
            }
            let a = q.arg(u.as_str());
            q.push(&a);
        }
        q.push(") GROUP BY sc.url, (sc.created_at / 86400000) * 86400000");
        self.all(q).await
    }
}
