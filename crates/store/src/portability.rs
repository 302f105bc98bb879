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

/// Rows of an account's own tables removed when it is deleted (after its posts),
/// each one statement binding the account's id as `$1`.
const PURGE: &[&str] = &[
    "DELETE FROM favourites WHERE account_id = $1",
    "DELETE FROM bookmarks WHERE account_id = $1",
    "DELETE FROM status_reactions WHERE account_id = $1",
    "DELETE FROM poll_votes WHERE account_id = $1",
    "DELETE FROM notifications WHERE account_id = $1 OR from_account_id = $1",
    "DELETE FROM follow_requests WHERE account_id = $1 OR target_account_id = $1",
    "DELETE FROM blocks WHERE account_id = $1 OR target_account_id = $1",
    "DELETE FROM mutes WHERE account_id = $1 OR target_account_id = $1",
    "DELETE FROM list_accounts WHERE account_id = $1
       OR list_id IN (SELECT id FROM lists WHERE account_id = $1)",
    "DELETE FROM lists WHERE account_id = $1",
    "DELETE FROM account_domain_blocks WHERE account_id = $1",
    "DELETE FROM filter_keywords WHERE account_id = $1",
    "DELETE FROM filter_statuses WHERE account_id = $1",
    "DELETE FROM filters WHERE account_id = $1",
    "DELETE FROM account_conversations WHERE account_id = $1",
    "DELETE FROM conversation_mutes WHERE account_id = $1",
    "DELETE FROM markers WHERE account_id = $1",
    "DELETE FROM account_notes WHERE account_id = $1 OR target_account_id = $1",
    "DELETE FROM suggestion_dismissals WHERE account_id = $1 OR target_account_id = $1",
    "DELETE FROM endorsements WHERE account_id = $1 OR target_account_id = $1",
    "DELETE FROM tag_follows WHERE account_id = $1",
    "DELETE FROM featured_tags WHERE account_id = $1",
    "DELETE FROM scheduled_statuses WHERE account_id = $1",
    "DELETE FROM push_subscriptions WHERE account_id = $1",
    "DELETE FROM web_sessions WHERE account_id = $1",
    "DELETE FROM imports WHERE account_id = $1",
    "DELETE FROM archives WHERE account_id = $1",
    "UPDATE accounts SET display_name = '', note = '', note_source = '', fields = '[]',
       avatar_url = '', header_url = '', also_known_as = '[]', statuses_count = 0,
       followers_count = 0, following_count = 0
     WHERE id = $1",
];

impl WriteTx {
    /// Starts the deletion of a local account by its owner: the account is marked
    /// suspended with the origin `deleted` (out of view, gone for good: its actor
    /// answers 410, no moderator can lift it), its user disabled (no sign-in), and the
    /// purge job has a row. The accounts row stays, so its username stays taken.
    pub async fn insert_account_deletion(&mut self, account_id: Id, now: i64) -> Result<()> {
        self.exec(
            Query::new("INSERT INTO account_deletions (account_id, requested_at) VALUES ($1, $2)")
                .bind(account_id)
                .bind(now),
        )
        .await?;
        self.exec(
            Query::new(
                "UPDATE accounts SET suspended_at = $2, suspension_origin = 'deleted' WHERE id = $1",
            )
            .bind(account_id)
            .bind(now),
        )
        .await?;
        self.exec(
            Query::new("UPDATE users SET disabled = TRUE WHERE account_id = $1").bind(account_id),
        )
        .await?;
        Ok(())
    }

    /// The ids of at most `limit` posts of `account_id` (for the purge to delete).
    pub async fn statuses_of(&mut self, account_id: Id, limit: i64) -> Result<Vec<Id>> {
        Ok(self
            .all::<Scalar>(
                Query::new(
                    "SELECT id AS v FROM statuses WHERE account_id = $1 ORDER BY id LIMIT $2",
                )
                .bind(account_id)
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// Ends at most `limit` follows of `account_id` either way, keeping the other
    /// side's counters; returns the ids whose counters changed (empty: none left).
    pub async fn purge_follows(&mut self, account_id: Id, limit: i64) -> Result<Vec<Id>> {
        #[derive(sqlx::FromRow)]
        struct F {
            id: Id,
            account_id: Id,
            target_account_id: Id,
        }
        let rows: Vec<F> = self
            .all(
                Query::new(
                    "SELECT id, account_id, target_account_id FROM follows
                     WHERE account_id = $1 OR target_account_id = $1 ORDER BY id LIMIT $2",
                )
                .bind(account_id)
                .bind(limit),
            )
            .await?;
        let mut touched = Vec::new();
        for f in rows {
            self.exec(Query::new("DELETE FROM follows WHERE id = $1").bind(f.id))
                .await?;
            let (other, column) = if f.account_id == account_id {
                (f.target_account_id, "followers_count")
            } else {
                (f.account_id, "following_count")
            };
            self.exec(
                Query::new(format!(
                    "UPDATE accounts SET {column} = CASE WHEN {column} > 0 THEN {column} - 1
                       ELSE 0 END WHERE id = $1"
                ))
                .bind(other),
            )
            .await?;
            touched.push(other);
        }
        Ok(touched)
    }

    /// Removes the rows of these uploads of `account_id` (their files are gone first).
    pub async fn delete_media_of(&mut self, account_id: Id, ids: &[Id]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut q = Query::new("");
        let list = q.in_list(ids);
        let p = q.arg(account_id);
        q.push(&format!(
            "DELETE FROM media WHERE id IN {list} AND account_id = {p}"
        ));
        self.exec(q).await?;
        Ok(())
    }

    /// Removes the account's remaining own rows and blanks its profile, then marks
    /// its deletion done.
    pub async fn finish_account_purge(&mut self, account_id: Id, now: i64) -> Result<()> {
        for sql in PURGE {
            self.exec(Query::new(*sql).bind(account_id)).await?;
        }
        self.exec(
            Query::new("UPDATE account_deletions SET done_at = $2 WHERE account_id = $1")
                .bind(account_id)
                .bind(now),
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// The inboxes (shared when known) of the servers that know the local account
    /// `account_id` besides its followers': of the remote accounts it follows or asked
    /// to follow, or that asked to follow it; that its posts mentioned or that mention
    /// it; whose posts it replied to, boosted or favourited; that replied to, boosted,
    /// favourited or reacted to its posts. At most `limit`, so a deletion stays
    /// bounded (Mastodon tells every server it knows; these are the ones that hold
    /// something of the account's).
    pub async fn inboxes_that_know(&self, account_id: Id, limit: i64) -> Result<Vec<String>> {
        let rows: Vec<crate::query::TextScalar> = self
            .all(
                Query::new(
                    "SELECT DISTINCT CASE WHEN a.shared_inbox_url <> '' THEN a.shared_inbox_url
                       ELSE a.inbox_url END AS v
                     FROM accounts a
                     WHERE a.domain <> '' AND a.inbox_url <> '' AND a.id IN (
                       SELECT target_account_id FROM follows WHERE account_id = $1
                       UNION SELECT target_account_id FROM follow_requests WHERE account_id = $1
                       UNION SELECT account_id FROM follow_requests WHERE target_account_id = $1
                       UNION SELECT m.account_id FROM statuses s
                         JOIN mentions m ON m.status_id = s.id WHERE s.account_id = $1
                       UNION SELECT s.account_id FROM mentions m
                         JOIN statuses s ON s.id = m.status_id WHERE m.account_id = $1
                       UNION SELECT s.in_reply_to_account_id FROM statuses s
                         WHERE s.account_id = $1 AND s.in_reply_to_account_id IS NOT NULL
                       UNION SELECT o.account_id FROM statuses s
                         JOIN statuses o ON o.id = s.reblog_of_id WHERE s.account_id = $1
                       UNION SELECT o.account_id FROM favourites f
                         JOIN statuses o ON o.id = f.status_id WHERE f.account_id = $1
                       UNION SELECT r.account_id FROM statuses o
                         JOIN statuses r ON r.in_reply_to_id = o.id WHERE o.account_id = $1
                       UNION SELECT r.account_id FROM statuses o
                         JOIN statuses r ON r.reblog_of_id = o.id WHERE o.account_id = $1
                       UNION SELECT f.account_id FROM statuses o
                         JOIN favourites f ON f.status_id = o.id WHERE o.account_id = $1
                       UNION SELECT x.account_id FROM statuses o
                         JOIN status_reactions x ON x.status_id = o.id WHERE o.account_id = $1)
                     ORDER BY v LIMIT $2",
                )
                .bind(account_id)
                .bind(limit),
            )
            .await?;
        Ok(rows.into_iter().filter_map(|r| r.v).collect())
    }

    /// Deletions whose purge has not finished, oldest first.
    pub async fn pending_account_deletions(&self, limit: i64) -> Result<Vec<Id>> {
        Ok(self
            .all::<Scalar>(
                Query::new(
                    "SELECT account_id AS v FROM account_deletions WHERE done_at IS NULL
                     ORDER BY requested_at LIMIT $1",
                )
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// Whether the account was deleted by its owner (done or not).
    pub async fn account_deleted(&self, account_id: Id) -> Result<bool> {
        Ok(self
            .opt::<Scalar>(
                Query::new("SELECT account_id AS v FROM account_deletions WHERE account_id = $1")
                    .bind(account_id),
            )
            .await?
            .is_some())
    }
}

/// A CSV import and its progress.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportRow {
    pub id: Id,
    pub account_id: Id,
    /// `follows`, `blocks`, `mutes`, `domain_blocks`, `lists`, `bookmarks`.
    pub kind: String,
    /// `merge` or `overwrite`.
    pub mode: String,
    pub total: i64,
    pub processed: i64,
    pub failed: i64,
    /// The last of its rows done.
    pub done_up_to: Id,
    /// `pending` or `done`.
    pub state: String,
    pub locked_until: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const IMPORT_COLUMNS: &str = "id, account_id, kind, mode, total, processed, failed, done_up_to, \
                              state, locked_until, created_at, finished_at";

/// One stored row of an import: its fields as a JSON array of strings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportDataRow {
    pub id: Id,
    pub data: String,
}

/// Rows written per statement when an import is stored.
const IMPORT_INSERT_CHUNK: usize = 200;

impl WriteTx {
    /// Stores an import and its rows (`ids` and `rows` of one length; each row a JSON
    /// array of strings).
    pub async fn insert_import(
        &mut self,
        import: &ImportRow,
        ids: &[Id],
        rows: &[String],
    ) -> Result<()> {
        self.exec(
            Query::new(format!(
                "INSERT INTO imports ({IMPORT_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(import.id)
            .bind(import.account_id)
            .bind(import.kind.as_str())
            .bind(import.mode.as_str())
            .bind(import.total)
            .bind(import.processed)
            .bind(import.failed)
            .bind(import.done_up_to)
            .bind(import.state.as_str())
            .bind(import.locked_until)
            .bind(import.created_at)
            .bind(import.finished_at),
        )
        .await?;
        for (ids, rows) in ids
            .chunks(IMPORT_INSERT_CHUNK)
            .zip(rows.chunks(IMPORT_INSERT_CHUNK))
        {
            let values: Vec<String> = (0..ids.len())
                .map(|i| format!("(${}, $1, ${})", 2 * i + 2, 2 * i + 3))
                .collect();
            let mut q = Query::new(format!(
                "INSERT INTO import_rows (id, import_id, data) VALUES {}",
                values.join(", ")
            ))
            .bind(import.id);
            for (id, row) in ids.iter().zip(rows) {
                q = q.bind(*id).bind(row.as_str());
            }
            self.exec(q).await?;
        }
        Ok(())
    }

    /// Records a batch of an import done: its last row, how many were applied and
    /// how many failed; the lease is extended to `lease_until`.
    pub async fn import_progress(
        &mut self,
        id: Id,
        done_up_to: Id,
        processed: i64,
        failed: i64,
        lease_until: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE imports SET done_up_to = $2, processed = processed + $3,
                   failed = failed + $4, locked_until = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(done_up_to)
            .bind(processed)
            .bind(failed)
            .bind(lease_until),
        )
        .await?;
        Ok(())
    }

    /// Marks an import done and drops its rows.
    pub async fn finish_import(&mut self, id: Id, now: i64) -> Result<()> {
        self.exec(
            Query::new("UPDATE imports SET state = 'done', finished_at = $2, locked_until = 0 WHERE id = $1")
                .bind(id)
                .bind(now),
        )
        .await?;
        self.exec(Query::new("DELETE FROM import_rows WHERE import_id = $1").bind(id))
            .await?;
        Ok(())
    }
}

impl Store {
    /// The imports of an account, newest first.
    pub async fn imports_of(&self, account_id: Id, limit: i64) -> Result<Vec<ImportRow>> {
        self.all(
            Query::new(format!(
                "SELECT {IMPORT_COLUMNS} FROM imports WHERE account_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(account_id)
            .bind(limit),
        )
        .await
    }

    /// Every account's imports, newest first (`sluice admin imports`).
    pub async fn all_imports(&self, limit: i64) -> Result<Vec<ImportRow>> {
        self.all(
            Query::new(format!(
                "SELECT {IMPORT_COLUMNS} FROM imports ORDER BY id DESC LIMIT $1"
            ))
            .bind(limit),
        )
        .await
    }

    /// Takes the oldest unfinished import no other process holds, leased until
    /// `lease_until` (a process that stops leaves it to the next after the lease).
    pub async fn claim_import(&self, now: i64, lease_until: i64) -> Result<Option<ImportRow>> {
        self.claim_pending("imports", IMPORT_COLUMNS, now, lease_until)
            .await
    }

    /// Takes the oldest `pending` row of `table` (imports, archives) whose lease ran
    /// out, leased until `lease_until`; None when there is none or another process
    /// took it first.
    async fn claim_pending<T: crate::query::Row + HasId>(
        &self,
        table: &str,
        columns: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<T>> {
        let Some(candidate) = self
            .opt::<T>(
                Query::new(format!(
                    "SELECT {columns} FROM {table} WHERE state = 'pending' AND locked_until < $1
                     ORDER BY id LIMIT 1"
                ))
                .bind(now),
            )
            .await?
        else {
            return Ok(None);
        };
        let taken = self
            .exec(
                Query::new(format!(
                    "UPDATE {table} SET locked_until = $3
                     WHERE id = $1 AND state = 'pending' AND locked_until < $2"
                ))
                .bind(candidate.id())
                .bind(now)
                .bind(lease_until),
            )
            .await?;
        Ok((taken == 1).then_some(candidate))
    }

    /// The rows of an import after `after`, in order, at most `limit`.
    pub async fn import_rows_after(
        &self,
        import_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<ImportDataRow>> {
        self.all(
            Query::new(
                "SELECT id, data FROM import_rows WHERE import_id = $1 AND id > $2
                 ORDER BY id LIMIT $3",
            )
            .bind(import_id)
            .bind(after)
            .bind(limit),
        )
        .await
    }
}

impl WriteTx {
    /// Ends this process's lease on an import.
    pub async fn release_import(&mut self, id: Id) -> Result<()> {
        self.exec(Query::new("UPDATE imports SET locked_until = 0 WHERE id = $1").bind(id))
            .await?;
        Ok(())
    }
}

impl WriteTx {
    /// The options (`show_reblogs`, `notify`) of `account_id`'s follow request to
    /// `target_account_id`, if there is one: the follow made when it is accepted
    /// keeps them.
    pub async fn follow_request_options(
        &mut self,
        account_id: Id,
        target_account_id: Id,
    ) -> Result<Option<(bool, bool)>> {
        #[derive(sqlx::FromRow)]
        struct Options {
            show_reblogs: bool,
            notify: bool,
        }
        Ok(self
            .opt::<Options>(
                Query::new(
                    "SELECT show_reblogs, notify FROM follow_requests
                     WHERE account_id = $1 AND target_account_id = $2",
                )
                .bind(account_id)
                .bind(target_account_id),
            )
            .await?
            .map(|o| (o.show_reblogs, o.notify)))
    }
}

/// A leased job row: its id.
trait HasId {
    fn id(&self) -> Id;
}

impl HasId for ImportRow {
    fn id(&self) -> Id {
        self.id
    }
}

impl HasId for ArchiveRow {
    fn id(&self) -> Id {
        self.id
    }
}

/// An archive of an account's data.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArchiveRow {
    pub id: Id,
    pub account_id: Id,
    /// `pending`, `done` or `failed`.
    pub state: String,
    pub locked_until: i64,
    /// The zip's file name (in the media directory's `archives` folder), once done.
    pub file: String,
    pub size: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const ARCHIVE_COLUMNS: &str =
    "id, account_id, state, locked_until, file, size, created_at, finished_at";

/// One of an account's media files.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaFileRow {
    pub id: Id,
    pub file_name: String,
}

impl Store {
    /// Asks for an archive of `account_id`'s data.
    pub async fn insert_archive(&self, id: Id, account_id: Id, now: i64) -> Result<()> {
        self.exec(
            Query::new("INSERT INTO archives (id, account_id, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(account_id)
                .bind(now),
        )
        .await?;
        Ok(())
    }

    /// An account's archives, newest first.
    pub async fn archives_of(&self, account_id: Id, limit: i64) -> Result<Vec<ArchiveRow>> {
        self.all(
            Query::new(format!(
                "SELECT {ARCHIVE_COLUMNS} FROM archives WHERE account_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(account_id)
            .bind(limit),
        )
        .await
    }

    /// Takes the oldest pending archive no process holds, until `lease_until`.
    pub async fn claim_archive(&self, now: i64, lease_until: i64) -> Result<Option<ArchiveRow>> {
        self.claim_pending("archives", ARCHIVE_COLUMNS, now, lease_until)
            .await
    }

    /// Records an archive written (`state` done, its file and size) or failed.
    pub async fn finish_archive(
        &self,
        id: Id,
        state: &str,
        file: &str,
        size: i64,
        now: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE archives SET state = $2, file = $3, size = $4, finished_at = $5,
                   locked_until = 0 WHERE id = $1",
            )
            .bind(id)
            .bind(state)
            .bind(file)
            .bind(size)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// The account's media files, by id after `after`.
    pub async fn media_files_of(
        &self,
        account_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<MediaFileRow>> {
        self.all(
            Query::new(
                "SELECT id, file_name FROM media WHERE account_id = $1 AND id > $2
                 ORDER BY id LIMIT $3",
            )
            .bind(account_id)
            .bind(after)
            .bind(limit),
        )
        .await
    }
}
