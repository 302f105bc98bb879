//! Small periodic jobs, each doing a bounded amount of work per run so they never hold
//! the (SQLite) writer for long: event-log pruning by age and size, expired OAuth codes
//! and old idempotency keys, uploads left unattached for a day, remembered Undos whose
//! activity never came, cached link cards past their time that no post links any more,
//! the data of accounts suspended more than 30 days ago (`admin_accounts`, a few
//! accounts and bounded batches per run), and SQLite space reclamation in
//! `incremental_vacuum` steps.

use std::sync::Arc;
use std::time::Duration;

use crate::{Engine, Result};

/// How often the jobs run.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// Event-log rows deleted per statement: small batches keep each write short.
pub const PRUNE_BATCH: i64 = 1_000;
/// Batches per run, so one run is bounded too; the next run continues.
pub const MAX_BATCHES_PER_RUN: usize = 50;
/// Vacuum steps per run (each frees at most `sluice_store::VACUUM_STEP_PAGES` pages).
pub const MAX_VACUUM_STEPS_PER_RUN: usize = 16;
/// Cached link cards removed at most per run (the next run continues).
pub const CARD_PRUNE_BATCH: i64 = 500;
/// Revoked tokens are kept this long (so a revoked token's error stays "revoked").
const REVOKED_TOKEN_KEEP_MS: i64 = 7 * 24 * 3600 * 1000;

/// What one run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunReport {
    pub events_pruned: u64,
    pub free_pages_left: i64,
    /// Uploads removed after a day unattached.
    pub media_removed: u64,
    /// Cached link cards removed (past their time, linked by no post).
    pub cards_pruned: u64,
    /// Accounts suspended more than 30 days ago whose data was purged.
    pub accounts_purged: u64,
}

impl Engine {
    /// One bounded maintenance pass.
    pub async fn maintain(&self) -> Result<RunReport> {
        let now = sluice_model::id::now_millis();
        let mut report = RunReport::default();
        for _ in 0..MAX_BATCHES_PER_RUN {
            let n = self
                .store
                .prune_events(
                    now - self.config.event_retention_ms,
                    self.config.event_max_rows,
                    PRUNE_BATCH,
                )
                .await?;
            report.events_pruned += n;
            if n < PRUNE_BATCH as u64 {
                break;
            }
        }
        let mut tx = self.store.begin().await?;
        tx.prune_oauth(now, now - REVOKED_TOKEN_KEEP_MS).await?;
        tx.prune_idempotency_keys(now - crate::pipeline::IDEMPOTENCY_TTL_MS)
            .await?;
        tx.commit().await?;
        report.media_removed = self.sweep_media().await?;
        // Blind copies whose post never came.
        self.store
            .prune_blind_copies(now - crate::media::UNATTACHED_TTL_MS)
            .await?;
        // Suspended accounts whose 30 days are over, a few per run.
        report.accounts_purged = self.purge_suspended_accounts().await?;
        // Undos whose activity never came.
        self.store
            .prune_undone(now - crate::remote::UNDONE_KEEP_MS)
            .await?;
        report.cards_pruned = self
            .store
            .prune_preview_cards(now, CARD_PRUNE_BATCH)
            .await?;
        for _ in 0..MAX_VACUUM_STEPS_PER_RUN {
            report.free_pages_left = self.store.reclaim_space_step().await?;
            if report.free_pages_left == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        Ok(report)
    }

    /// Ends mutes when their duration runs out: sleeps until the soonest end (at most
    /// [`INTERVAL`], and woken early by a new mute with a duration), then
    /// [`Engine::expire_mutes`]. Runs until `shutdown` changes.
    pub fn spawn_mute_expiry(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        crate::tasks::spawn_guarded("mute expiry", shutdown.clone(), move || {
            let (engine, mut shutdown) = (engine.clone(), shutdown.clone());
            async move {
                loop {
                    let now = sluice_model::id::now_millis();
                    let wait = match engine.store.next_mute_expiry().await {
                        Ok(Some(at)) if at <= now => {
                            if let Err(e) = engine.expire_mutes().await {
                                tracing::warn!(error = %e, "ending expired mutes failed");
                                INTERVAL
                            } else {
                                continue;
                            }
                        }
                        Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0)),
                        Ok(None) => INTERVAL,
                        Err(e) => {
                            tracing::warn!(error = %e, "reading the next mute's end failed");
                            INTERVAL
                        }
                    }
                    .min(INTERVAL);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = engine.mute_expiry_wake.notified() => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        })
    }

    /// Runs [`Engine::maintain`] every [`INTERVAL`] until the token is cancelled.
    pub fn spawn_maintenance(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        crate::tasks::spawn_guarded("maintenance", shutdown.clone(), move || {
            let (engine, mut shutdown) = (engine.clone(), shutdown.clone());
            async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(INTERVAL) => {}
                        _ = shutdown.changed() => return,
                    }
                    match engine.maintain().await {
                        Ok(r) if r.events_pruned > 0 => {
                            tracing::debug!(pruned = r.events_pruned, "maintenance")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "maintenance failed"),
                    }
                }
            }
        })
    }
}
