//! Sign-in failures per account and the clients known to an account (migration 11),
//! for the engine's per-account slowdown of password guessing (`sluice_engine::sign_in`).
//! Rows in the database, not in memory: every serving process and machine sees the
//! same count, and a restart does not reset it.

use sluice_model::Id;

use crate::{Query, Result, Store, WriteTx, query::Scalar};

/// An account's failed sign-ins since its last success or password reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct SignInFailures {
    pub failures: i64,
    pub last_failure_at: i64,
}

impl Store {
    pub async fn sign_in_failures(&self, account_id: Id) -> Result<Option<SignInFailures>> {
        self.opt(
            Query::new(
                "SELECT failures, last_failure_at FROM sign_in_failures WHERE account_id = $1",
            )
            .bind(account_id),
        )
        .await
    }

    /// Whether any of `client_hashes` has signed in to the account.
    pub async fn is_known_sign_in_client(
        &self,
        account_id: Id,
        client_hashes: &[String],
    ) -> Result<bool> {
        if client_hashes.is_empty() {
            return Ok(false);
        }
        let mut q = Query::new(
            "SELECT count(*) AS v FROM sign_in_clients WHERE account_id = $1 AND client_hash IN (",
        )
        .bind(account_id);
        for (i, h) in client_hashes.iter().enumerate() {
            let p = q.arg(h.as_str());
            q.push(if i == 0 { "" } else { ", " }).push(&p);
        }
        q.push(")");
        Ok(self.one::<Scalar>(q).await?.v > 0)
    }
}

impl WriteTx {
    /// Counts one failed sign-in; the failures counted now.
    pub async fn record_sign_in_failure(&mut self, account_id: Id, now: i64) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "INSERT INTO sign_in_failures (account_id, failures, last_failure_at)
                     VALUES ($1, 1, $2)
                     ON CONFLICT (account_id) DO UPDATE
                     SET failures = sign_in_failures.failures + 1, last_failure_at = $2
                     RETURNING failures AS v",
                )
                .bind(account_id)
                .bind(now),
            )
            .await?
            .v)
    }

    pub async fn clear_sign_in_failures(&mut self, account_id: Id) -> Result<()> {
        self.exec(
            Query::new("DELETE FROM sign_in_failures WHERE account_id = $1").bind(account_id),
        )
        .await?;
        Ok(())
    }

    /// Remembers clients that signed in to the account, keeping the `keep` most
    /// recently seen.
    pub async fn remember_sign_in_clients(
        &mut self,
        account_id: Id,
        client_hashes: &[String],
        keep: i64,
        now: i64,
    ) -> Result<()> {
        for h in client_hashes {
            self.exec(
                Query::new(
                    "INSERT INTO sign_in_clients (account_id, client_hash, last_seen_at)
                     VALUES ($1, $2, $3)
                     ON CONFLICT (account_id, client_hash) DO UPDATE SET last_seen_at = $3",
                )
                .bind(account_id)
                .bind(h.as_str())
                .bind(now),
            )
            .await?;
        }
        self.exec(
            Query::new(
                "DELETE FROM sign_in_clients WHERE account_id = $1 AND client_hash NOT IN (
                     SELECT client_hash FROM sign_in_clients WHERE account_id = $1
                     ORDER BY last_seen_at DESC, client_hash LIMIT $2)",
            )
            .bind(account_id)
            .bind(keep),
        )
        .await?;
        Ok(())
    }
}
