//! Portability (migration 30): an account's aliases and moves, the rows its CSV
//! exports are made of, and the durable jobs of imports and deletions.

use crate::query::{Query, Scalar};
use crate::{Id, Result, Store, WriteTx};

/// An account named by an export row: its id (the paging key is the row's `k`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportAccount {
    /// The relation row's id: the paging key.
    pub k: Id,
    pub username: String,
    pub domain: String,
}

/// A followed account, with the follow's settings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportFollow {
    pub k: Id,
    pub username: String,
    pub domain: String,
    pub show_reblogs: bool,
    pub notify: bool,
}

/// A muted account, with whether its notifications are hidden too.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportMute {
    pub k: Id,
    pub username: String,
    pub domain: String,
    pub hide_notifications: bool,
}

/// One text per row (a blocked domain, a bookmarked post's URI).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportText {
    pub k: Id,
    pub v: String,
}

/// A member of one of the account's lists.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportListMember {
    pub list_id: Id,
    pub title: String,
    /// The member's account id: the paging key within the list.
    pub k: Id,
    pub username: String,
    pub domain: String,
}

impl WriteTx {
    /// Sets a local account's aliases (`alsoKnownAs`, a JSON array of actor IRIs).
    pub async fn set_also_known_as(&mut self, account_id: Id, json: &str, now: i64) -> Result<()> {
        self.exec(
            Query::new("UPDATE accounts SET also_known_as = $2, updated_at = $3 WHERE id = $1")
                .bind(account_id)
                .bind(json)
                .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Records a Move of a local account (the cool-down starts from it).
    pub async fn insert_account_migration(
        &mut self,
        id: Id,
        account_id: Id,
        target_account_id: Id,
        target_uri: &str,
        now: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO account_migrations (id, account_id, target_account_id, target_uri, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(account_id)
            .bind(target_account_id)
            .bind(target_uri)
            .bind(now),
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// When the account last moved (ms), if it ever did.
    pub async fn last_account_migration_at(&self, account_id: Id) -> Result<Option<i64>> {
        Ok(self
            .opt::<Scalar>(
                Query::new(
                    "SELECT created_at AS v FROM account_migrations WHERE account_id = $1
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(account_id),
            )
            .await?
            .map(|r| r.v))
    }

    /// The accounts `account_id` follows, by follow row id after `after`, at most `limit`.
    pub async fn export_following(
        &self,
        account_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<ExportFollow>> {
        self.all(
            Query::new(
                "SELECT f.id AS k, a.username, a.domain, f.show_reblogs, f.notify
                 FROM follows f JOIN accounts a ON a.id = f.target_account_id
                 WHERE f.account_id = $1 AND f.id > $2 ORDER BY f.id LIMIT $3",
            )
            .bind(account_id)
            .bind(after)
            .bind(limit),
        )
        .await
    }

    /// The accounts following `account_id`, by follow row id after `after`.
    pub async fn export_followers(
        &self,
        account_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<ExportAccount>> {
        self.all(
            Query::new(
                "SELECT f.id AS k, a.username, a.domain
                 FROM follows f JOIN accounts a ON a.id = f.account_id
                 WHERE f.target_account_id = $1 AND f.id > $2 ORDER BY f.id LIMIT $3",
            )
            .bind(account_id)
            .bind(after)
            .bind(limit),
        )
        .await
    }

    /// The accounts `account_id` blocks, by block row id after `after`.
    pub async fn export_blocks(
        &self,
        account_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<ExportAccount>> {
        self.all(
            Query::new(
                "SELECT b.id AS k, a.username, a.domain
                 FROM blocks b JOIN accounts a ON a.id = b.target_account_id
                 WHERE b.account_id = $1 AND b.id > $2 ORDER BY b.id LIMIT $3",
            )
            .bind(account_id)
            .bind(after)
            .bind(limit),
        )
        .await
    }

    /// The accounts `account_id` mutes, by mute row id after `after`.
    pub async fn export_mutes(
        &self,
        account_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<ExportMute>> {
        self.all(
            Query::new(
                "SELECT m.id AS k, a.username, a.domain, m.hide_notifications
                 FROM mutes m JOIN accounts a ON a.id = m.target_account_id
                 WHERE m.account_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3",
            )
            .bind(account_id)
            .bind(after)
            .bind(limit),
        )
        .await
    }

    /// The domains `account_id` blocked, by row id after `after`.
    pub async fn export_domain_blocks(
        &self,
        account_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<ExportText>> {
        self.all(
            Query::new(
                "SELECT id AS k, domain AS v FROM account_domain_blocks
                 WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(account_id)
            .bind(after)
            .bind(limit),
        )
        .await
    }

    /// The URIs of the posts `account_id` bookmarked, by bookmark row id after `after`.
    pub async fn export_bookmarks(
        &self,
        account_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<ExportText>> {
        self.all(
            Query::new(
                "SELECT b.id AS k, s.uri AS v FROM bookmarks b JOIN statuses s ON s.id = b.status_id
                 WHERE b.account_id = $1 AND b.id > $2 ORDER BY b.id LIMIT $3",
            )
            .bind(account_id)
            .bind(after)
            .bind(limit),
        )
        .await
    }

    /// The members of `account_id`'s lists, list by list, after (`list`, `member`).
    pub async fn export_list_members(
        &self,
        account_id: Id,
        after: (Id, Id),
        limit: i64,
    ) -> Result<Vec<ExportListMember>> {
        self.all(
            Query::new(
                "SELECT l.id AS list_id, l.title, a.id AS k, a.username, a.domain
                 FROM lists l JOIN list_accounts la ON la.list_id = l.id
                 JOIN accounts a ON a.id = la.account_id
                 WHERE l.account_id = $1 AND (l.id > $2 OR (l.id = $2 AND a.id > $3))
                 ORDER BY l.id, a.id LIMIT $4",
            )
            .bind(account_id)
            .bind(after.0)
            .bind(after.1)
            .bind(limit),
        )
        .await
    }
}
