//! Emoji reactions (migration 23): one row per (post, account, emoji), local and
//! remote; and the source format of local posts that are not plain text.

use crate::query::{Query, Scalar, TextScalar};
use crate::{Id, Result, Store, WriteTx};

/// One reaction: who reacted with what (the emoji's name: a Unicode emoji, `code` for
/// a local custom emoji, `code@domain` for a remote one).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReactionRow {
    pub id: Id,
    pub status_id: Id,
    pub account_id: Id,
    pub emoji: String,
    pub uri: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, status_id, account_id, emoji, uri, created_at";

impl WriteTx {
    /// Adds a reaction; false (nothing written) when the account reacted so already
    /// (or the id is taken).
    pub async fn insert_reaction(&mut self, r: &ReactionRow) -> Result<bool> {
        let n = self
            .exec(
                Query::new(format!(
                    "INSERT INTO status_reactions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT DO NOTHING"
                ))
                .bind(r.id)
                .bind(r.status_id)
                .bind(r.account_id)
                .bind(r.emoji.as_str())
                .bind(r.uri.as_str())
                .bind(r.created_at),
            )
            .await?;
        Ok(n == 1)
    }

    /// How many distinct reactions `account` has on `status` (read in the transaction
    /// that adds one, so the limit holds).
    pub async fn count_reactions_by(&mut self, status: Id, account: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT count(*) AS v FROM status_reactions WHERE status_id = $1 AND account_id = $2",
                )
                .bind(status)
                .bind(account),
            )
            .await?
            .v)
    }

    /// Takes back a reaction; its id (`uri`) when there was one.
    pub async fn delete_reaction(
        &mut self,
        status: Id,
        account: Id,
        emoji: &str,
    ) -> Result<Option<String>> {
        Ok(self
            .opt::<TextScalar>(
                Query::new(
                    "DELETE FROM status_reactions WHERE status_id = $1 AND account_id = $2 AND emoji = $3
                     RETURNING uri AS v",
                )
                .bind(status)
                .bind(account)
                .bind(emoji),
            )
            .await?
            .map(|r| r.v.unwrap_or_default()))
    }

    /// Takes back `account`'s reaction whose id is `uri` (an `Undo` naming it).
    pub async fn delete_reaction_by_uri(
        &mut self,
        account: Id,
        uri: &str,
    ) -> Result<Option<ReactionRow>> {
        self.opt(
            Query::new(format!(
                "DELETE FROM status_reactions WHERE uri = $1 AND account_id = $2 RETURNING {COLUMNS}"
            ))
            .bind(uri)
            .bind(account),
        )
        .await
    }

    /// Removes the notification of one reaction.
    pub async fn delete_reaction_notification(
        &mut self,
        from: Id,
        to: Id,
        status: Id,
        emoji: &str,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "DELETE FROM notifications WHERE from_account_id = $1 AND account_id = $2
                 AND status_id = $3 AND kind = 'pleroma:emoji_reaction' AND emoji = $4",
            )
            .bind(from)
            .bind(to)
            .bind(status)
            .bind(emoji),
        )
        .await?;
        Ok(())
    }

    /// Records a local post's source format (`text/markdown`); plain text has no row.
    pub async fn set_content_type(&mut self, status: Id, content_type: Option<&str>) -> Result<()> {
        self.exec(Query::new("DELETE FROM status_content_types WHERE status_id = $1").bind(status))
            .await?;
        if let Some(t) = content_type {
            self.exec(
                Query::new(
                    "INSERT INTO status_content_types (status_id, content_type) VALUES ($1, $2)",
                )
                .bind(status)
                .bind(t),
            )
            .await?;
        }
        Ok(())
    }
}

impl Store {
    /// The reactions to a status (with `emoji`: only those), oldest first, at most
    /// `limit`.
    pub async fn reactions_to(
        &self,
        status: Id,
        emoji: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ReactionRow>> {
        let mut q = Query::new(format!(
            "SELECT {COLUMNS} FROM status_reactions WHERE status_id = "
        ));
        let p = q.arg(status);
        q.push(&p);
        if let Some(e) = emoji {
            let p = q.arg(e);
            q.push(&format!(" AND emoji = {p}"));
        }
        let p = q.arg(limit);
        q.push(&format!(" ORDER BY id LIMIT {p}"));
        self.all(q).await
    }

    /// A reaction by its id (`uri`), of `account`.
    pub async fn reaction_by_uri(&self, account: Id, uri: &str) -> Result<Option<ReactionRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {COLUMNS} FROM status_reactions WHERE uri = $1 AND account_id = $2"
            ))
            .bind(uri)
            .bind(account),
        )
        .await
    }

    /// A local post's source format, when it is not plain text.
    pub async fn content_type(&self, status: Id) -> Result<Option<String>> {
        Ok(self
            .opt::<TextScalar>(
                Query::new(
                    "SELECT content_type AS v FROM status_content_types WHERE status_id = $1",
                )
                .bind(status),
            )
            .await?
            .and_then(|r| r.v))
    }
}
