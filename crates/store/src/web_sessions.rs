//! Web sessions (migration 12): the rows a browser's session cookie names, for the web
//! app (`sluice_engine::web_sessions`). A session lives while its streaming token does:
//! revoking an account's tokens (a password reset) ends its web sessions too.

use sluice_model::Id;

use crate::{Query, Result, Store, WriteTx};

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebSessionRow {
    pub id: Id,
    pub account_id: Id,
    pub token_id: Id,
    pub user_agent: String,
    pub ip: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// A session with what decides whether its user may still act.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebSessionWithUser {
    #[sqlx(flatten)]
    pub session: WebSessionRow,
    pub approved: bool,
    pub disabled: bool,
}

const COLUMNS: &str =
    "s.id, s.account_id, s.token_id, s.user_agent, s.ip, s.created_at, s.last_seen_at";

impl Store {
    /// The live session whose secret hashes to `secret_hash`: its streaming token not
    /// revoked, its user still there.
    pub async fn web_session_by_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<WebSessionWithUser>> {
        self.opt(
            Query::new(format!(
                "SELECT {COLUMNS}, u.approved, u.disabled
                 FROM web_sessions s
                 JOIN tokens t ON t.id = s.token_id AND t.revoked_at IS NULL
                 JOIN users u ON u.account_id = s.account_id
                 WHERE s.secret_hash = $1"
            ))
            .bind(secret_hash),
        )
        .await
    }

    /// An account's live sessions, the most recently used first.
    pub async fn web_sessions_of(&self, account_id: Id) -> Result<Vec<WebSessionRow>> {
        self.all(
            Query::new(format!(
                "SELECT {COLUMNS} FROM web_sessions s
                 JOIN tokens t ON t.id = s.token_id AND t.revoked_at IS NULL
                 WHERE s.account_id = $1 ORDER BY s.last_seen_at DESC, s.id DESC"
            ))
            .bind(account_id),
        )
        .await
    }
}

impl WriteTx {
    pub async fn insert_web_session(&mut self, s: &WebSessionRow, secret_hash: &str) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO web_sessions (id, secret_hash, account_id, token_id, user_agent, ip, created_at, last_seen_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(s.id)
            .bind(secret_hash)
            .bind(s.account_id)
            .bind(s.token_id)
            .bind(&s.user_agent)
            .bind(&s.ip)
            .bind(s.created_at)
            .bind(s.last_seen_at),
        )
        .await?;
        Ok(())
    }

    /// Ends one of an account's sessions and revokes its streaming token; false when
    /// the account has no such session.
    pub async fn delete_web_session(&mut self, account_id: Id, id: Id, now: i64) -> Result<bool> {
        let token = self
            .opt::<crate::Scalar>(
                Query::new(
                    "DELETE FROM web_sessions WHERE id = $1 AND account_id = $2 RETURNING token_id AS v",
                )
                .bind(id)
                .bind(account_id),
            )
            .await?;
        let Some(token) = token else {
            return Ok(false);
        };
        self.exec(
            Query::new("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(token.v)
                .bind(now),
        )
        .await?;
        Ok(true)
    }

    /// Ends every web session of an account and revokes their tokens (the account's
    /// other tokens stay); returns how many sessions ended.
    pub async fn end_web_sessions_of(&mut self, account_id: Id, now: i64) -> Result<u64> {
        self.exec(
            Query::new(
                "UPDATE tokens SET revoked_at = $2
                 WHERE id IN (SELECT token_id FROM web_sessions WHERE account_id = $1)
                   AND revoked_at IS NULL",
            )
            .bind(account_id)
            .bind(now),
        )
        .await?;
        self.delete_web_sessions_of(account_id).await
    }

    /// Ends every session of an account (their tokens are revoked by the caller, with
    /// the account's other tokens).
    pub async fn delete_web_sessions_of(&mut self, account_id: Id) -> Result<u64> {
        self.exec(Query::new("DELETE FROM web_sessions WHERE account_id = $1").bind(account_id))
            .await
    }

    /// Ends every session of an account but `keep` (their tokens are revoked by the
    /// caller, with the account's other tokens).
    pub async fn delete_other_web_sessions(&mut self, account_id: Id, keep: Id) -> Result<u64> {
        self.exec(
            Query::new("DELETE FROM web_sessions WHERE account_id = $1 AND id <> $2")
                .bind(account_id)
                .bind(keep),
        )
        .await
    }

    pub async fn touch_web_session(&mut self, id: Id, now: i64, ip: &str) -> Result<()> {
        self.exec(
            Query::new("UPDATE web_sessions SET last_seen_at = $2, ip = $3 WHERE id = $1")
                .bind(id)
                .bind(now)
                .bind(ip),
        )
        .await?;
        Ok(())
    }
}
