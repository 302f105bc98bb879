//! Uploaded media files: who uploaded them, the post they are attached to (once they
//! are), what they are, and their description. The bytes are files under the media
//! directory (the engine's); a post carries its attachments' view in
//! `statuses.attachments`, so rendering a post needs no join.

use sluice_model::Id;

use crate::{Query, Result, Store, WriteTx};

/// A row of `media`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MediaRow {
    pub id: Id,
    pub account_id: Id,
    pub status_id: Option<Id>,
    /// `image`, `gifv`, `video` or `audio`.
    pub kind: String,
    pub content_type: String,
    /// The file's name under the media directory.
    pub file_name: String,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub description: String,
    pub focus_x: Option<f64>,
    pub focus_y: Option<f64>,
    /// The ActivityStreams type an uploadMedia client asked for (`Image`, …), or "".
    pub object_type: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    pub async fn media(&self, id: Id) -> Result<Option<MediaRow>> {
        self.opt(Query::new("SELECT * FROM media WHERE id = $1").bind(id))
            .await
    }

    /// The upload whose file has this name.
    pub async fn media_by_file_name(&self, file_name: &str) -> Result<Option<MediaRow>> {
        self.opt(Query::new("SELECT * FROM media WHERE file_name = $1").bind(file_name))
            .await
    }

    /// Uploads not attached to a post and untouched since `before` (ms), oldest first.
    pub async fn stale_unattached_media(&self, before: i64, limit: i64) -> Result<Vec<MediaRow>> {
        self.all(
            Query::new(
                "SELECT * FROM media WHERE status_id IS NULL AND scheduled_status_id IS NULL
                   AND updated_at < $1
                 ORDER BY updated_at LIMIT $2",
            )
            .bind(before)
            .bind(limit),
        )
        .await
    }

    /// Removes the rows of uploads still unattached; returns the ids removed (their
    /// files are the caller's to remove, after this).
    pub async fn delete_media_rows(&self, ids: &[Id]) -> Result<Vec<Id>> {
        let mut deleted = Vec::new();
        for id in ids {
            let n = self
                .exec(Query::new("DELETE FROM media WHERE id = $1 AND status_id IS NULL AND scheduled_status_id IS NULL").bind(*id))
                .await?;
            if n > 0 {
                deleted.push(*id);
            }
        }
        Ok(deleted)
    }
}

impl WriteTx {
    pub async fn insert_media(&mut self, m: &MediaRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO media (id, account_id, status_id, kind, content_type, file_name, size,
                   width, height, description, focus_x, focus_y, object_type, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(m.id)
            .bind(m.account_id)
            .bind(m.status_id)
            .bind(m.kind.as_str())
            .bind(m.content_type.as_str())
            .bind(m.file_name.as_str())
            .bind(m.size)
            .bind(m.width)
            .bind(m.height)
            .bind(m.description.as_str())
            .bind(m.focus_x)
            .bind(m.focus_y)
            .bind(m.object_type.as_str())
            .bind(m.created_at)
            .bind(m.updated_at),
        )
        .await?;
        Ok(())
    }

    /// Changes the description and focal point of an upload not yet attached; whether
    /// it was (an attached one is changed by editing its post).
    pub async fn update_unattached_media(&mut self, m: &MediaRow) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "UPDATE media SET description = $1, focus_x = $2, focus_y = $3, updated_at = $4
                     WHERE id = $5 AND account_id = $6 AND status_id IS NULL",
                )
                .bind(m.description.as_str())
                .bind(m.focus_x)
                .bind(m.focus_y)
                .bind(m.updated_at)
                .bind(m.id)
                .bind(m.account_id),
            )
            .await?;
        Ok(n > 0)
    }

    /// Holds uploads for a scheduled status: each must be `account_id`'s, unattached and
    /// not held by another. False when one is not available (nothing is held then).
    pub async fn hold_media_for_schedule(
        &mut self,
        ids: &[Id],
        account_id: Id,
        scheduled_id: Id,
    ) -> Result<bool> {
        for id in ids {
            let n = self
                .exec(
                    Query::new(
                        "UPDATE media SET scheduled_status_id = $1
                         WHERE id = $2 AND account_id = $3 AND status_id IS NULL
                           AND scheduled_status_id IS NULL",
                    )
                    .bind(scheduled_id)
                    .bind(*id)
                    .bind(account_id),
                )
                .await?;
            if n == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Lets go of the uploads a scheduled status held (published or cancelled); they
    /// count as unattached from `now`.
    pub async fn release_scheduled_media(&mut self, scheduled_id: Id, now: i64) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE media SET scheduled_status_id = NULL, updated_at = $1
                 WHERE scheduled_status_id = $2",
            )
            .bind(now)
            .bind(scheduled_id),
        )
        .await?;
        Ok(())
    }

    /// Locks in uploads for a post: each must be `account_id`'s and unattached (or
    /// already this post's, for an edit), and not held by a scheduled status. False when one is not available (the caller
    /// then rolls the transaction back).
    pub async fn attach_media(
        &mut self,
        ids: &[Id],
        account_id: Id,
        status_id: Id,
        now: i64,
    ) -> Result<bool> {
        for id in ids {
            let n = self
                .exec(
                    Query::new(
                        "UPDATE media SET status_id = $1, updated_at = $2
                         WHERE id = $3 AND account_id = $4 AND (status_id IS NULL OR status_id = $1)
                           AND scheduled_status_id IS NULL",
                    )
                    .bind(status_id)
                    .bind(now)
                    .bind(*id)
                    .bind(account_id),
                )
                .await?;
            if n == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Frees the uploads of a post that is deleted or edited without them: they stay a
    /// day (a client may post them again, as Mastodon's "delete and redraft" does),
    /// then are removed with the other unattached uploads.
    pub async fn detach_media(&mut self, status_id: Id, keep: &[Id], now: i64) -> Result<()> {
        if keep.is_empty() {
            return self.detach_media_of(&[status_id], now).await;
        }
        let rows: Vec<crate::query::Scalar> = self
            .all(Query::new("SELECT id AS v FROM media WHERE status_id = $1").bind(status_id))
            .await?;
        for r in rows.into_iter().filter(|r| !keep.contains(&r.v)) {
            self.exec(
                Query::new("UPDATE media SET status_id = NULL, updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(r.v),
            )
            .await?;
        }
        Ok(())
    }

    /// [`WriteTx::detach_media`] of deleted posts, keeping none: one statement.
    pub async fn detach_media_of(&mut self, status_ids: &[Id], now: i64) -> Result<()> {
        let mut q = Query::new("UPDATE media SET status_id = NULL, updated_at = ");
        let p = q.arg(now);
        q.push(&p);
        q.push(" WHERE status_id IN ");
        let list = q.in_list(status_ids);
        q.push(&list);
        self.exec(q).await?;
        Ok(())
    }
}

/// Blind copies received (`blind_copies`): a remote post delivered to a local user's
/// own inbox without addressing them.
impl Store {
    /// Records one (once); whether it is new.
    pub async fn add_blind_copy(&self, object_uri: &str, account_id: Id, now: i64) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "INSERT INTO blind_copies (object_uri, account_id, received_at) VALUES ($1, $2, $3)
                     ON CONFLICT (object_uri, account_id) DO NOTHING",
                )
                .bind(object_uri)
                .bind(account_id)
                .bind(now),
            )
            .await?;
        Ok(n > 0)
    }

    /// The accounts a post was blind-copied to, not yet applied.
    pub async fn blind_copies(&self, object_uri: &str) -> Result<Vec<Id>> {
        let rows: Vec<crate::query::Scalar> = self
            .all(
                Query::new(
                    "SELECT account_id AS v FROM blind_copies WHERE object_uri = $1 LIMIT 100",
                )
                .bind(object_uri),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }

    /// Forgets blind copies whose post never came (received before `before`).
    pub async fn prune_blind_copies(&self, before: i64) -> Result<u64> {
        self.exec(Query::new("DELETE FROM blind_copies WHERE received_at < $1").bind(before))
            .await
    }
}

impl WriteTx {
    pub async fn remove_blind_copy(&mut self, object_uri: &str, account_id: Id) -> Result<()> {
        self.exec(
            Query::new("DELETE FROM blind_copies WHERE object_uri = $1 AND account_id = $2")
                .bind(object_uri)
                .bind(account_id),
        )
        .await?;
        Ok(())
    }
}
