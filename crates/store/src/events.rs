//! The durable event log: every event a client can see on a stream (update, delete,
//! notification, status.update, …) is appended here in the same transaction as the
//! change it describes. Ids increase in commit order, so a reader that remembers the
//! last id it saw can always resume without gaps or duplicates.
//!
//! On PostgreSQL identity values are handed out at insert time but become visible at
//! commit, so two concurrent writers could commit out of order and a tailing reader
//! could skip the smaller id. Writers therefore take a transaction-scoped advisory lock
//! right before appending: event-log appends (only the last statement of a write) are
//! serialized, and ids become visible in order. SQLite has a single writer anyway.

use crate::{EngineKind, EventRow, Query, Result, Store, WriteTx, query::Scalar};

/// Advisory lock key serializing event-log appends on PostgreSQL.
const PG_EVENT_LOG_LOCK: i64 = 0x5_11CE_0002;

/// A new event.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    /// `update`, `delete`, `notification`, `status.update`, …
    pub kind: String,
    /// The account that caused it (the author, the actor).
    pub account_id: Option<i64>,
    /// For events meant for one account only (notifications, direct messages).
    pub recipient_id: Option<i64>,
    /// The status or notification concerned.
    pub object_id: Option<i64>,
    /// Routing facts streaming needs without a query (visibility, tags, locality), JSON.
    /// A `relationship` event's are filled in when it is appended ([`pair`]).
    pub data: String,
}

/// What a `relationship` event records of the two accounts it names (`account_id`
/// a, `recipient_id` b) as its transaction leaves them, one bit each, in its data
/// (`{"pair": bits}`). Streaming applies them in log order, so every connection of a
/// user filters each event with the relations of that event's moment, without a
/// query.
pub mod pair {
    pub const A_FOLLOWS_B: i64 = 1;
    pub const B_FOLLOWS_A: i64 = 2;
    pub const A_BLOCKS_B: i64 = 4;
    pub const B_BLOCKS_A: i64 = 8;
    pub const A_MUTES_B: i64 = 16;
    pub const B_MUTES_A: i64 = 32;
}

/// The PostgreSQL channel notified when events are committed.
const EVENTS_CHANNEL: &str = "sluice_events";

/// Wake-ups for event-log readers: on PostgreSQL a `LISTEN` on the channel every
/// commit with events notifies. (SQLite has no such thing: readers poll.)
pub struct EventWakeups {
    listener: sqlx::postgres::PgListener,
}

impl EventWakeups {
    /// Waits for the next commit with events, by any process. After a lost connection
    /// (sqlx reconnects), it returns at once: the caller reads the log anyway.
    pub async fn recv(&mut self) {
        if self.listener.recv().await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Store {
    /// A listener for commits with events, on PostgreSQL; None on SQLite.
    pub async fn event_wakeups(&self) -> Result<Option<EventWakeups>> {
        let crate::Pools::Postgres(pool) = &self.pools else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool)
            .await
            .map_err(crate::StoreError::from_sqlx)?;
        listener
            .listen(EVENTS_CHANNEL)
            .await
            .map_err(crate::StoreError::from_sqlx)?;
        Ok(Some(EventWakeups { listener }))
    }
}

/// Event-log rows written by one statement, at most (5 arguments each).
const EVENTS_PER_INSERT: usize = 200;

impl WriteTx {
    /// Appends events, in their order; returns the id of the last one.
    pub async fn append_events(&mut self, events: &[NewEvent], now: i64) -> Result<Option<i64>> {
        if events.is_empty() {
            return Ok(None);
        }
        if self.kind() == EngineKind::Postgres {
            // The lock, and a NOTIFY that PostgreSQL delivers only when (and if) this
            // transaction commits: every process's streaming hub wakes at once instead
            // of at its next poll. One statement, no extra round trip.
            self.exec(
                Query::new(format!(
                    "SELECT pg_advisory_xact_lock($1), pg_notify('{EVENTS_CHANNEL}', '')"
                ))
                .bind(PG_EVENT_LOG_LOCK),
            )
            .await?;
        }
        let mut rows = Vec::with_capacity(events.len());
        for e in events {
            let data = match (e.kind.as_str(), e.account_id, e.recipient_id) {
                ("relationship", Some(a), Some(b)) if e.data.is_empty() => {
                    format!("{{\"pair\":{}}}", self.pair_state(a, b).await?)
                }
                _ if e.data.is_empty() => "{}".to_string(),
                _ => e.data.clone(),
            };
            rows.push((e, data));
        }
        // Many rows per statement (a purge's batch has hundreds), in their order: the
        // ids grow in the order of the VALUES list.
        let mut last = None;
        for chunk in rows.chunks(EVENTS_PER_INSERT) {
            let mut q = Query::new(
                "INSERT INTO event_log (created_at, kind, account_id, recipient_id, object_id, data)
                 VALUES ",
            );
            let at = q.arg(now);
            for (i, (e, data)) in chunk.iter().enumerate() {
                let values = format!(
                    "{}({at}, {}, {}, {}, {}, {})",
                    if i == 0 { "" } else { ", " },
                    q.arg(e.kind.as_str()),
                    q.arg(e.account_id),
                    q.arg(e.recipient_id),
                    q.arg(e.object_id),
                    q.arg(data.as_str()),
                );
                q.push(&values);
            }
            q.push(" RETURNING id AS v");
            let ids = self.all::<Scalar>(q).await?;
            last = ids.iter().map(|r| r.v).max().or(last);
        }
        Ok(last)
    }

    /// The [`pair`] bits of accounts `a` and `b` as this transaction sees them (after
    /// the event-log lock on PostgreSQL: a concurrent change of the same pair appends
    /// its own event, later in the log).
    async fn pair_state(&mut self, a: i64, b: i64) -> Result<i64> {
        let q = Query::new(
            "SELECT CAST(
               (CASE WHEN EXISTS (SELECT 1 FROM follows WHERE account_id = $1 AND target_account_id = $2) THEN 1 ELSE 0 END)
             + (CASE WHEN EXISTS (SELECT 1 FROM follows WHERE account_id = $2 AND target_account_id = $1) THEN 2 ELSE 0 END)
             + (CASE WHEN EXISTS (SELECT 1 FROM blocks WHERE account_id = $1 AND target_account_id = $2) THEN 4 ELSE 0 END)
             + (CASE WHEN EXISTS (SELECT 1 FROM blocks WHERE account_id = $2 AND target_account_id = $1) THEN 8 ELSE 0 END)
             + (CASE WHEN EXISTS (SELECT 1 FROM mutes WHERE account_id = $1 AND target_account_id = $2) THEN 16 ELSE 0 END)
             + (CASE WHEN EXISTS (SELECT 1 FROM mutes WHERE account_id = $2 AND target_account_id = $1) THEN 32 ELSE 0 END)
             AS BIGINT) AS v",
        )
        .bind(a)
        .bind(b);
        Ok(self.one::<Scalar>(q).await?.v)
    }
}

impl Store {
    /// Events after `after_id`, oldest first, at most `limit`.
    pub async fn events_after(&self, after_id: i64, limit: i64) -> Result<Vec<EventRow>> {
        self.all(
            Query::new("SELECT * FROM event_log WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after_id)
                .bind(limit),
        )
        .await
    }

    /// The newest event id (0 when the log is empty).
    pub async fn last_event_id(&self) -> Result<i64> {
        Ok(self
            .one::<Scalar>(Query::new(
                "SELECT COALESCE(MAX(id), 0) AS v FROM event_log",
            ))
            .await?
            .v)
    }

    /// Prunes one batch: events older than `older_than` (ms), or beyond the newest
    /// `max_rows`. Returns how many were deleted; call again while it returns `batch`.
    pub async fn prune_events(&self, older_than: i64, max_rows: i64, batch: i64) -> Result<u64> {
        let by_age = self
            .exec(
                Query::new(
                    "DELETE FROM event_log WHERE id IN
                       (SELECT id FROM event_log WHERE created_at < $1 ORDER BY id LIMIT $2)",
                )
                .bind(older_than)
                .bind(batch),
            )
            .await?;
        if by_age > 0 {
            return Ok(by_age);
        }
        self.exec(
            Query::new(
                "DELETE FROM event_log WHERE id IN
                   (SELECT id FROM event_log WHERE id <= (SELECT id FROM event_log ORDER BY id DESC LIMIT 1 OFFSET $1)
                    ORDER BY id LIMIT $2)",
            )
            .bind(max_rows)
            .bind(batch),
        )
        .await
    }
}
