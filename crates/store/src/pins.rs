//! Pinned statuses: a local user's (at most a few, chosen through the Mastodon API) and
//! a remote actor's (from its `Add`/`Remove` activities and featured collection).
//!
//! A pin is a row, not a status flag: the same table answers "pinned by whom" for the
//! viewer's `pinned` flag, the profile's pinned list and the featured collection.

use sluice_model::Id;

use crate::{EngineKind, Query, Result, Store, WriteTx, query::Scalar};

/// What [`WriteTx::pin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    /// The status is pinned now.
    Pinned,
    /// It was pinned before: nothing changed.
    AlreadyPinned,
    /// The account has as many pins as allowed: nothing changed.
    LimitReached,
}

impl Store {
    /// The ids of an account's pinned statuses, most recently pinned first.
    pub async fn pinned_status_ids(&self, account_id: Id, limit: i64) -> Result<Vec<Id>> {
        let rows = self
            .all::<Scalar>(
                Query::new(
                    "SELECT status_id AS v FROM pins WHERE account_id = $1
                     ORDER BY created_at DESC, status_id DESC LIMIT $2",
                )
                .bind(account_id)
                .bind(limit),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }

    /// How many statuses an account has pinned.
    pub async fn count_pins(&self, account_id: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT count(*) AS v FROM pins WHERE account_id = $1").bind(account_id),
            )
            .await?
            .v)
    }
}

impl WriteTx {
    /// Pins a status for an account that has fewer than `limit` pins.
    ///
    /// The count and the insert are one statement, and on PostgreSQL the account's row
    /// is locked first: two pins of one account committing at once would otherwise
    /// both see room for one more and end above the limit. (SQLite's single writer
    /// runs them one after the other anyway.)
    pub async fn pin(
        &mut self,
        account_id: Id,
        status_id: Id,
        now: i64,
        limit: i64,
    ) -> Result<PinOutcome> {
        if self.kind() == EngineKind::Postgres {
            self.opt::<Scalar>(
                Query::new("SELECT id AS v FROM accounts WHERE id = $1 FOR UPDATE")
                    .bind(account_id),
            )
            .await?;
        }
        // SQLite reads `INSERT … SELECT … ON CONFLICT` unambiguously only when the
        // SELECT has a WHERE clause, which this one needs anyway.
        let inserted = self
            .exec(
                Query::new(
                    "INSERT INTO pins (account_id, status_id, created_at)
                     SELECT $1, $2, $3
                     WHERE (SELECT count(*) FROM pins WHERE account_id = $1) < $4
                     ON CONFLICT (account_id, status_id) DO NOTHING",
                )
                .bind(account_id)
                .bind(status_id)
                .bind(now)
                .bind(limit),
            )
            .await?;
        if inserted == 1 {
            return Ok(PinOutcome::Pinned);
        }
        let exists =
            self.one::<Scalar>(
                Query::new(
                    "SELECT count(*) AS v FROM pins WHERE account_id = $1 AND status_id = $2",
                )
                .bind(account_id)
                .bind(status_id),
            )
            .await?
            .v > 0;
        Ok(if exists {
            PinOutcome::AlreadyPinned
        } else {
            PinOutcome::LimitReached
        })
    }

    /// Unpins a status; true when this transaction removed the pin. One statement (as
    /// `delete_relation`): of two concurrent unpins only one sees the row go, so only
    /// one `Remove` is sent.
    pub async fn unpin(&mut self, account_id: Id, status_id: Id) -> Result<bool> {
        Ok(self
            .opt::<Scalar>(
                Query::new(
                    "DELETE FROM pins WHERE account_id = $1 AND status_id = $2
                     RETURNING status_id AS v",
                )
                .bind(account_id)
                .bind(status_id),
            )
            .await?
            .is_some())
    }

    /// Makes `status_ids` (first = most recently pinned) the account's pins, replacing
    /// whatever it had: a remote actor's featured collection, read as a whole.
    pub async fn replace_pins(
        &mut self,
        account_id: Id,
        status_ids: &[Id],
        now: i64,
    ) -> Result<()> {
        self.exec(Query::new("DELETE FROM pins WHERE account_id = $1").bind(account_id))
            .await?;
        if status_ids.is_empty() {
            return Ok(());
        }
        let mut q = Query::new("INSERT INTO pins (account_id, status_id, created_at) VALUES ");
        let a = q.arg(account_id);
        let mut rows = Vec::with_capacity(status_ids.len());
        // Pin times a millisecond apart keep the collection's order (newest first).
        for (i, id) in status_ids.iter().enumerate() {
            let s = q.arg(*id);
            let t = q.arg(now - i as i64);
            rows.push(format!("({a}, {s}, {t})"));
        }
        q.push(&rows.join(", "));
        q.push(" ON CONFLICT (account_id, status_id) DO NOTHING");
        self.exec(q).await?;
        Ok(())
    }
}
