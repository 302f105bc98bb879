//! The durable work queues the federation crate's workers drain: the inbox queue
//! (activities accepted and not applied yet) and the delivery queue (activities to
//! POST to remote inboxes, with each host's breaker). Claiming, finishing and
//! rescheduling work is one transaction each; the workers decide what to do, the
//! engine writes it.

use sluice_model::Id;
use sluice_store::{DeliveryHostStats, DeliveryRow, HostRow, InboxRow, NewInboxActivity};

use crate::{Engine, Result};

/// What became of one delivery attempt ([`Engine::record_delivery`]).
#[derive(Debug, Clone, Copy)]
pub enum DeliveryResult<'a> {
    /// Delivered: the row leaves the queue and the host's breaker closes.
    Delivered,
    /// To be tried again at `at`. `probe_at` is set when the failure counts against the
    /// host (towards its breaker): when the host is to be probed again should the
    /// breaker open.
    Retry {
        at: i64,
        status: Option<i64>,
        error: &'a str,
        probe_at: Option<i64>,
    },
    /// Given up: the row is kept as expired.
    GaveUp { status: Option<i64>, error: &'a str },
}

impl Engine {
    /// Whether the inbox queue holds `max_pending` activities or more (a cheap check,
    /// made before any other work on an inbox POST).
    pub async fn inbox_full(&self, max_pending: i64) -> Result<bool> {
        Ok(self.store.inbox_full(max_pending).await?)
    }

    /// Writes accepted activities to the inbox queue in one statement; false when the
    /// queue would then hold more than `max_pending`.
    pub async fn enqueue_inbox(
        &self,
        items: &[NewInboxActivity],
        max_pending: i64,
    ) -> Result<bool> {
        Ok(self.store.enqueue_inbox_batch(items, max_pending).await?)
    }

    /// Removes the `done` rows from the inbox queue and claims up to `limit` more
    /// with a lease of `lease_ms`, in one transaction.
    pub async fn claim_inbox(
        &self,
        done: &[Id],
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<InboxRow>> {
        let mut tx = self.store.begin().await?;
        tx.inbox_done_many(done).await?;
        let rows = tx.claim_inbox(now, lease_ms, limit).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Removes the `done` rows and releases the claims of the `unstarted` ones, in one
    /// transaction (a processor stopping).
    pub async fn finish_inbox(&self, done: &[Id], unstarted: &[Id]) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.inbox_done_many(done).await?;
        tx.inbox_release(unstarted).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Schedules an inbox activity that failed for another attempt at `retry_at`,
    /// recording `error`. `waits_for_store`: it failed because the database could not
    /// write, which does not use up an attempt.
    pub async fn retry_inbox(
        &self,
        id: Id,
        retry_at: i64,
        error: &str,
        waits_for_store: bool,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if waits_for_store {
            tx.inbox_postpone(id, retry_at, error).await?;
        } else {
            tx.inbox_retry(id, retry_at, error).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reclaims the space of removed inbox rows (PostgreSQL; see
    /// `Store::vacuum_inbox_queue`).
    pub async fn vacuum_inbox_queue(&self) -> Result<()> {
        Ok(self.store.vacuum_inbox_queue().await?)
    }

    /// Claims up to `limit` due deliveries with a lease of `lease_ms`, at most
    /// `per_host` in flight per host (`push_per_host` for Web Push messages), in one
    /// transaction.
    pub async fn claim_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
        per_host: i64,
        push_per_host: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let mut tx = self.store.begin().await?;
        let rows = tx
            .claim_deliveries_with(now, lease_ms, limit, per_host, push_per_host)
            .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The JSON of the activity a delivery carries; None when it no longer exists.
    pub async fn delivery_activity(&self, activity: Id) -> Result<Option<String>> {
        Ok(self.store.activity_json(activity).await?)
    }

    /// A remote host's delivery state (its breaker).
    pub async fn delivery_host(&self, host: &str) -> Result<Option<HostRow>> {
        Ok(self.store.delivery_host(host).await?)
    }

    /// Records the result of one attempt at delivery `row`, and what it says of the
    /// host (`breaker_threshold` consecutive failures open its breaker), in one
    /// transaction.
    pub async fn record_delivery(
        &self,
        row: &DeliveryRow,
        result: DeliveryResult<'_>,
        breaker_threshold: i64,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        match result {
            DeliveryResult::Delivered => {
                tx.delivery_done(row.id).await?;
                tx.record_host_result(&row.host, true, "", breaker_threshold, 0, now)
                    .await?;
            }
            DeliveryResult::Retry {
                at,
                status,
                error,
                probe_at,
            } => {
                tx.delivery_retry(row.id, at, status, error).await?;
                if let Some(probe) = probe_at {
                    tx.record_host_result(&row.host, false, error, breaker_threshold, probe, now)
                        .await?;
                }
            }
            DeliveryResult::GaveUp { status, error } => {
                tx.delivery_give_up(row.id, status, error).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The delivery queue per remote host (`sluice admin deliveries`).
    pub async fn delivery_stats(&self) -> Result<Vec<DeliveryHostStats>> {
        Ok(self.store.delivery_stats().await?)
    }
}
