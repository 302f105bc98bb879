//! Two-factor sign-in (migration 14): a user's TOTP secret (pending until confirmed),
//! the last time step accepted, recovery codes (hashes) and the sign-ins waiting for
//! their second step (`sluice_engine::two_factor`).

use sluice_model::Id;

use crate::{Query, Result, Store, WriteTx, query::Scalar};

/// A user's two-factor state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TwoFactorRow {
    /// The confirmed secret (base32): set when two-factor sign-in is on.
    pub secret: Option<String>,
    /// A secret shown for enabling and not yet confirmed with a code.
    pub pending_secret: Option<String>,
    /// The time step of the last code accepted.
    pub last_step: i64,
}

/// A sign-in waiting for its second step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct TwoFactorChallenge {
    pub account_id: Id,
    pub attempts: i64,
}

impl Store {
    pub async fn two_factor(&self, account_id: Id) -> Result<Option<TwoFactorRow>> {
        self.opt(
            Query::new(
                "SELECT secret, pending_secret, last_step FROM two_factor WHERE account_id = $1",
            )
            .bind(account_id),
        )
        .await
    }

    pub async fn recovery_codes_left(&self, account_id: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT count(*) AS v FROM two_factor_recovery_codes WHERE account_id = $1",
                )
                .bind(account_id),
            )
            .await?
            .v)
    }

    /// The waiting sign-in `token_hash` names, when it is bound to `bound_to` and has
    /// not expired.
    pub async fn two_factor_challenge(
        &self,
        token_hash: &str,
        bound_to: &str,
        now: i64,
    ) -> Result<Option<TwoFactorChallenge>> {
        self.opt(
            Query::new(
                "SELECT account_id, attempts FROM two_factor_challenges
                 WHERE token_hash = $1 AND bound_to = $2 AND expires_at > $3",
            )
            .bind(token_hash)
            .bind(bound_to)
            .bind(now),
        )
        .await
    }
}

impl WriteTx {
    /// Stores a secret to be confirmed; a confirmed one stays in force meanwhile.
    pub async fn set_pending_two_factor(&mut self, account_id: Id, secret: &str) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO two_factor (account_id, pending_secret) VALUES ($1, $2)
                 ON CONFLICT (account_id) DO UPDATE SET pending_secret = $2",
            )
            .bind(account_id)
            .bind(secret),
        )
        .await?;
        Ok(())
    }

    /// Turns the pending secret into the account's secret (when it is still
    /// `pending`), `step` used, and replaces the recovery codes. False when the
    /// pending secret changed meanwhile.
    pub async fn enable_two_factor(
        &mut self,
        account_id: Id,
        pending: &str,
        step: i64,
        code_hashes: &[String],
        now: i64,
    ) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "UPDATE two_factor SET secret = pending_secret, pending_secret = NULL,
                     last_step = $3, enabled_at = $4
                     WHERE account_id = $1 AND pending_secret = $2",
                )
                .bind(account_id)
                .bind(pending)
                .bind(step)
                .bind(now),
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        self.replace_recovery_codes(account_id, code_hashes).await?;
        Ok(true)
    }

    /// Replaces the account's recovery codes (the unused old ones stop working).
    pub async fn replace_recovery_codes(
        &mut self,
        account_id: Id,
        code_hashes: &[String],
    ) -> Result<()> {
        self.exec(
            Query::new("DELETE FROM two_factor_recovery_codes WHERE account_id = $1")
                .bind(account_id),
        )
        .await?;
        for h in code_hashes {
            self.exec(
                Query::new(
                    "INSERT INTO two_factor_recovery_codes (account_id, code_hash) VALUES ($1, $2)",
                )
                .bind(account_id)
                .bind(h.as_str()),
            )
            .await?;
        }
        Ok(())
    }

    /// Forgets the account's secrets, recovery codes and waiting sign-ins.
    pub async fn disable_two_factor(&mut self, account_id: Id) -> Result<()> {
        for table in [
            "two_factor",
            "two_factor_recovery_codes",
            "two_factor_challenges",
        ] {
            self.exec(
                Query::new(format!("DELETE FROM {table} WHERE account_id = $1")).bind(account_id),
            )
            .await?;
        }
        Ok(())
    }

    /// Records `step` as used when it is later than the last one used: false when a
    /// code of this step (or a later one) was already accepted.
    pub async fn use_two_factor_step(&mut self, account_id: Id, step: i64) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "UPDATE two_factor SET last_step = $2
                     WHERE account_id = $1 AND secret IS NOT NULL AND last_step < $2",
                )
                .bind(account_id)
                .bind(step),
            )
            .await?
            > 0)
    }

    /// Uses a recovery code: false when the account has no such code (left).
    pub async fn take_recovery_code(&mut self, account_id: Id, code_hash: &str) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "DELETE FROM two_factor_recovery_codes WHERE account_id = $1 AND code_hash = $2",
                )
                .bind(account_id)
                .bind(code_hash),
            )
            .await?
            > 0)
    }

    /// Stores a sign-in waiting for its second step (and drops the expired ones).
    pub async fn insert_two_factor_challenge(
        &mut self,
        token_hash: &str,
        account_id: Id,
        bound_to: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        self.exec(Query::new("DELETE FROM two_factor_challenges WHERE expires_at <= $1").bind(now))
            .await?;
        self.exec(
            Query::new(
                "INSERT INTO two_factor_challenges (token_hash, account_id, bound_to, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(bound_to)
            .bind(expires_at),
        )
        .await?;
        Ok(())
    }

    /// Counts a wrong code against a waiting sign-in; it is dropped at `max` wrong
    /// codes.
    pub async fn fail_two_factor_challenge(&mut self, token_hash: &str, max: i64) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE two_factor_challenges SET attempts = attempts + 1 WHERE token_hash = $1",
            )
            .bind(token_hash),
        )
        .await?;
        self.exec(
            Query::new(
                "DELETE FROM two_factor_challenges WHERE token_hash = $1 AND attempts >= $2",
            )
            .bind(token_hash)
            .bind(max),
        )
        .await?;
        Ok(())
    }

    /// Uses a waiting sign-in: false when it was already used.
    pub async fn take_two_factor_challenge(&mut self, token_hash: &str) -> Result<bool> {
        Ok(self
            .exec(
                Query::new("DELETE FROM two_factor_challenges WHERE token_hash = $1")
                    .bind(token_hash),
            )
            .await?
            > 0)
    }
}
