//! Scheduled statuses, muted conversations, endorsements and announcements: the rows of
//! migration 18. Each is small, private per account (announcements: per instance), and
//! read and written here only.

use crate::query::{Query, Scalar};
use crate::rows::Page;
use crate::{Id, Result, Store};

/// A post to be made later: the parameters it was asked with, as JSON.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduledStatusRow {
    pub id: Id,
    pub account_id: Id,
    /// When it is to be posted (ms since the epoch).
    pub scheduled_at: i64,
    /// The post's parameters (JSON), as the engine wrote them.
    pub params: String,
    pub created_at: i64,
}

/// An announcement of the instance.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnnouncementRow {
    pub id: Id,
    pub text: String,
    pub content: String,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub all_day: bool,
    pub published_at: i64,
    pub updated_at: i64,
}

/// How many accounts reacted to an announcement with one emoji, and whether the
/// viewer is one of them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnnouncementReactionCount {
    pub announcement_id: Id,
    pub name: String,
    pub count: i64,
    pub me: bool,
}

/// An announcement and whether the viewer dismissed it.
#[derive(sqlx::FromRow)]
struct AnnouncementSeen {
    #[sqlx(flatten)]
    row: AnnouncementRow,
    read: bool,
}

const SCHEDULED_COLUMNS: &str = "id, account_id, scheduled_at, params, created_at";
const ANNOUNCEMENT_COLUMNS: &str =
    "id, text, content, starts_at, ends_at, all_day, published_at, updated_at";

impl Store {
    // ---- scheduled statuses ----

    /// Stores a scheduled status and holds its uploads, in one transaction. False (and
    /// nothing written) when an upload is not the account's to use.
    pub async fn insert_scheduled_status(
        &self,
        row: &ScheduledStatusRow,
        media: &[Id],
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        tx.exec(
            Query::new(format!(
                "INSERT INTO scheduled_statuses ({SCHEDULED_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
            ))
            .bind(row.id)
            .bind(row.account_id)
            .bind(row.scheduled_at)
            .bind(row.params.as_str())
            .bind(row.created_at),
        )
        .await?;
        if !tx
            .hold_media_for_schedule(media, row.account_id, row.id)
            .await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// One of the account's scheduled statuses.
    pub async fn scheduled_status(
        &self,
        account_id: Id,
        id: Id,
    ) -> Result<Option<ScheduledStatusRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {SCHEDULED_COLUMNS} FROM scheduled_statuses WHERE id = $1 AND account_id = $2"
            ))
            .bind(id)
            .bind(account_id),
        )
        .await
    }

    /// The account's scheduled statuses, paged by id, newest first.
    pub async fn scheduled_statuses(
        &self,
        account_id: Id,
        page: Page,
    ) -> Result<Vec<ScheduledStatusRow>> {
        let mut q = Query::new(format!(
            "SELECT {SCHEDULED_COLUMNS} FROM scheduled_statuses WHERE account_id = "
        ));
        let a = q.arg(account_id);
        q.push(&a);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    /// How many the account has scheduled, in all and in the day (UTC, `day_start` ..
    /// `day_start + 24 h`) that holds `at`.
    pub async fn count_scheduled(&self, account_id: Id, day_start: i64) -> Result<(i64, i64)> {
        let all = self
            .one::<Scalar>(
                Query::new("SELECT COUNT(*) AS v FROM scheduled_statuses WHERE account_id = $1")
                    .bind(account_id),
            )
            .await?
            .v;
        let day = self
            .one::<Scalar>(
                Query::new(
                    "SELECT COUNT(*) AS v FROM scheduled_statuses
                     WHERE account_id = $1 AND scheduled_at >= $2 AND scheduled_at < $3",
                )
                .bind(account_id)
                .bind(day_start)
                .bind(day_start + 24 * 3600 * 1000),
            )
            .await?
            .v;
        Ok((all, day))
    }

    /// Moves a scheduled status to another time; false when it is not the account's.
    pub async fn reschedule_status(&self, account_id: Id, id: Id, at: i64) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "UPDATE scheduled_statuses SET scheduled_at = $1 WHERE id = $2 AND account_id = $3",
                )
                .bind(at)
                .bind(id)
                .bind(account_id),
            )
            .await?
            > 0)
    }

    /// Removes a scheduled status (cancelled, or about to be published) and lets go of
    /// its uploads; false when there was none.
    pub async fn delete_scheduled_status(&self, account_id: Id, id: Id, now: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = tx
            .exec(
                Query::new("DELETE FROM scheduled_statuses WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account_id),
            )
            .await?;
        tx.release_scheduled_media(id, now).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Lets go of the uploads a scheduled status held, which then count as unattached
    /// from `now` (the post made from it attaches them).
    pub async fn release_media_of_schedule(&self, id: Id, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.release_scheduled_media(id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Scheduled statuses due at `now`, soonest first, at most `limit`.
    pub async fn due_scheduled_statuses(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<ScheduledStatusRow>> {
        self.all(
            Query::new(format!(
                "SELECT {SCHEDULED_COLUMNS} FROM scheduled_statuses
                 WHERE scheduled_at <= $1 ORDER BY scheduled_at, id LIMIT $2"
            ))
            .bind(now)
            .bind(limit),
        )
        .await
    }

    /// When the soonest scheduled status is due, if any is.
    pub async fn next_scheduled_at(&self) -> Result<Option<i64>> {
        Ok(self
            .opt::<Scalar>(Query::new(
                "SELECT scheduled_at AS v FROM scheduled_statuses ORDER BY scheduled_at LIMIT 1",
            ))
            .await?
            .map(|r| r.v))
    }

    // ---- muted conversations ----

    /// Mutes or unmutes the thread `thread_id` for `account_id`.
    pub async fn set_conversation_mute(
        &self,
        account_id: Id,
        thread_id: Id,
        on: bool,
        now: i64,
    ) -> Result<()> {
        let q = if on {
            Query::new(
                "INSERT INTO conversation_mutes (account_id, thread_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (account_id, thread_id) DO NOTHING",
            )
            .bind(account_id)
            .bind(thread_id)
            .bind(now)
        } else {
            Query::new("DELETE FROM conversation_mutes WHERE account_id = $1 AND thread_id = $2")
                .bind(account_id)
                .bind(thread_id)
        };
        self.exec(q).await?;
        Ok(())
    }

    // ---- endorsements ----

    /// Endorses (`on`) or stops endorsing `target`; the row's id is `id`.
    pub async fn set_endorsement(
        &self,
        id: Id,
        me: Id,
        target: Id,
        on: bool,
        now: i64,
    ) -> Result<()> {
        let q = if on {
            Query::new(
                "INSERT INTO endorsements (id, account_id, target_account_id, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, target_account_id) DO NOTHING",
            )
            .bind(id)
            .bind(me)
            .bind(target)
            .bind(now)
        } else {
            Query::new("DELETE FROM endorsements WHERE account_id = $1 AND target_account_id = $2")
                .bind(me)
                .bind(target)
        };
        self.exec(q).await?;
        Ok(())
    }

    /// How many accounts `me` endorses.
    pub async fn count_endorsements(&self, me: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT COUNT(*) AS v FROM endorsements WHERE account_id = $1").bind(me),
            )
            .await?
            .v)
    }

    /// The accounts `me` endorses, paged by the endorsement's id.
    pub async fn endorsements(&self, me: Id, page: Page) -> Result<Vec<crate::ListedId>> {
        let mut q = Query::new(
            "SELECT id AS rel_id, target_account_id AS item_id FROM endorsements WHERE account_id = ",
        );
        let m = q.arg(me);
        q.push(&m);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    // ---- announcements ----

    /// Every announcement, newest first (for the admin).
    pub async fn all_announcements(&self) -> Result<Vec<AnnouncementRow>> {
        self.all(Query::new(format!(
            "SELECT {ANNOUNCEMENT_COLUMNS} FROM announcements ORDER BY id DESC"
        )))
        .await
    }

    /// Announcements running at `now` (not ended), newest first, with whether
    /// `viewer` dismissed each; dismissed ones only when `with_dismissed`.
    pub async fn current_announcements(
        &self,
        viewer: Id,
        now: i64,
        with_dismissed: bool,
    ) -> Result<Vec<(AnnouncementRow, bool)>> {
        let mut q = Query::new(format!(
            "SELECT {ANNOUNCEMENT_COLUMNS},
               EXISTS (SELECT 1 FROM announcement_dismissals d
                       WHERE d.announcement_id = announcements.id AND d.account_id = $1) AS read
             FROM announcements WHERE (ends_at IS NULL OR ends_at > $2)"
        ))
        .bind(viewer)
        .bind(now);
        if !with_dismissed {
            q.push(
                " AND NOT EXISTS (SELECT 1 FROM announcement_dismissals d
                   WHERE d.announcement_id = announcements.id AND d.account_id = $1)",
            );
        }
        q.push(" ORDER BY id DESC LIMIT 100");
        Ok(self
            .all::<AnnouncementSeen>(q)
            .await?
            .into_iter()
            .map(|r| (r.row, r.read))
            .collect())
    }

    /// Whether an announcement exists and is running at `now`.
    pub async fn announcement_running(&self, id: Id, now: i64) -> Result<bool> {
        Ok(self
            .opt::<Scalar>(
                Query::new(
                    "SELECT id AS v FROM announcements WHERE id = $1 AND (ends_at IS NULL OR ends_at > $2)",
                )
                .bind(id)
                .bind(now),
            )
            .await?
            .is_some())
    }

    pub async fn dismiss_announcement(&self, id: Id, account_id: Id) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO announcement_dismissals (announcement_id, account_id) VALUES ($1, $2)
                 ON CONFLICT (announcement_id, account_id) DO NOTHING",
            )
            .bind(id)
            .bind(account_id),
        )
        .await?;
        Ok(())
    }

    /// Adds (`on`) or removes `account_id`'s reaction `name`.
    /// How many distinct reactions an account gave an announcement.
    pub async fn count_announcement_reactions(&self, id: Id, account_id: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT COUNT(*) AS v FROM announcement_reactions
                     WHERE announcement_id = $1 AND account_id = $2",
                )
                .bind(id)
                .bind(account_id),
            )
            .await?
            .v)
    }

    /// The reactions to `ids`, counted per emoji, in the order first given.
    pub async fn announcement_reactions(
        &self,
        ids: &[Id],
        viewer: Id,
    ) -> Result<Vec<AnnouncementReactionCount>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new("");
        let v = q.arg(viewer);
        let list: Vec<String> = ids.iter().map(|id| q.arg(*id)).collect();
        q.push(&format!(
            "SELECT announcement_id, name, COUNT(*) AS count,
                    MAX(CASE WHEN account_id = {v} THEN 1 ELSE 0 END) = 1 AS me
             FROM announcement_reactions WHERE announcement_id IN ({})
             GROUP BY announcement_id, name ORDER BY announcement_id, MIN(created_at), name",
            list.join(", ")
        ));
        self.all(q).await
    }
}

/// Announcements are changed in a transaction with their streaming event.
impl crate::WriteTx {
    pub async fn insert_announcement(&mut self, row: &AnnouncementRow) -> Result<()> {
        self.exec(
            Query::new(format!(
                "INSERT INTO announcements ({ANNOUNCEMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(row.id)
            .bind(row.text.as_str())
            .bind(row.content.as_str())
            .bind(row.starts_at)
            .bind(row.ends_at)
            .bind(row.all_day)
            .bind(row.published_at)
            .bind(row.updated_at),
        )
        .await?;
        Ok(())
    }

    /// Removes an announcement with its dismissals and reactions; false when none.
    pub async fn delete_announcement(&mut self, id: Id) -> Result<bool> {
        self.exec(
            Query::new("DELETE FROM announcement_reactions WHERE announcement_id = $1").bind(id),
        )
        .await?;
        self.exec(
            Query::new("DELETE FROM announcement_dismissals WHERE announcement_id = $1").bind(id),
        )
        .await?;
        let n = self
            .exec(Query::new("DELETE FROM announcements WHERE id = $1").bind(id))
            .await?;
        Ok(n > 0)
    }

    /// Adds (`on`) or removes a reaction; the reaction's count after it.
    pub async fn set_announcement_reaction(
        &mut self,
        id: Id,
        account_id: Id,
        name: &str,
        on: bool,
        now: i64,
    ) -> Result<i64> {
        let q = if on {
            Query::new(
                "INSERT INTO announcement_reactions (announcement_id, account_id, name, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (announcement_id, account_id, name) DO NOTHING",
            )
            .bind(id)
            .bind(account_id)
            .bind(name)
            .bind(now)
        } else {
            Query::new(
                "DELETE FROM announcement_reactions
                 WHERE announcement_id = $1 AND account_id = $2 AND name = $3",
            )
            .bind(id)
            .bind(account_id)
            .bind(name)
        };
        self.exec(q).await?;
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT count(*) AS v FROM announcement_reactions WHERE announcement_id = $1 AND name = $2",
                )
                .bind(id)
                .bind(name),
            )
            .await?
            .v)
    }
}
