//! Relations between accounts (follows, follow requests, blocks, mutes), favourites and
//! bookmarks, notifications and read markers.

use sluice_model::Id;

use crate::{
    FamiliarFollower, ListedId, MarkerRow, NotificationRow, Page, Query, RelationRow, Result,
    Store, WriteTx, query::Scalar,
};

/// An account-to-account relation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Follow,
    FollowRequest,
    Block,
    Mute,
}

impl Relation {
    fn table(self) -> &'static str {
        match self {
            Relation::Follow => "follows",
            Relation::FollowRequest => "follow_requests",
            Relation::Block => "blocks",
            Relation::Mute => "mutes",
        }
    }
}

/// When a mute of `target_account_id` ends (ms), `None` when it lasts until undone.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MuteExpiry {
    pub target_account_id: Id,
    pub expires_at: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct ExpiredMute {
    account_id: Id,
    target_account_id: Id,
}

#[derive(Debug, sqlx::FromRow)]
struct OptScalar {
    v: Option<i64>,
}

/// Which side of a relation to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Accounts that `account` points at (following, blocked, muted).
    Targets,
    /// Accounts pointing at `account` (followers, requests received).
    Sources,
}

/// Notification filter as `GET /api/v1/notifications` takes it.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    pub types: Vec<String>,
    pub exclude_types: Vec<String>,
    pub account_id: Option<Id>,
}

/// What a notification group is made of: notifications of one kind, about one status
/// when `status_id` is given, made in `[from, to)` (milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationGroupKey {
    pub kind: String,
    pub status_id: Option<Id>,
    pub from: i64,
    pub to: i64,
}

/// `AND` conditions leaving out notifications from senders the account (`p`, a bound
/// parameter) blocks, mutes with notifications hidden, or whose domain it blocks.
fn hidden_senders(p: &str) -> String {
    format!(
        " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = {p} AND b.target_account_id = n.from_account_id)
          AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = {p} AND mu.target_account_id = n.from_account_id
                          AND mu.hide_notifications = TRUE)
          AND n.from_account_id NOT IN (SELECT da.id FROM account_domain_blocks adb
                          JOIN accounts da ON da.domain = adb.domain WHERE adb.account_id = {p})"
    )
}

/// `AND` conditions selecting the notifications (`n`) of group `g`.
fn group_bounds(q: &mut Query, g: &NotificationGroupKey) -> String {
    let kind = q.arg(&g.kind);
    let from = q.arg(g.from);
    let to = q.arg(g.to);
    let mut out =
        format!(" AND n.kind = {kind} AND n.created_at >= {from} AND n.created_at < {to}");
    if let Some(s) = g.status_id {
        let s = q.arg(s);
        out.push_str(&format!(" AND n.status_id = {s}"));
    }
    out
}

impl Store {
    /// Relationship flags between `me` and each target.
    pub async fn relationships(&self, me: Id, targets: &[Id]) -> Result<Vec<RelationRow>> {
        if targets.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new("");
        let m = q.arg(me);
        let mut parts = Vec::new();
        for t in targets {
            let t = q.arg(*t);
            parts.push(format!(
                "SELECT {t} AS target,
                  EXISTS (SELECT 1 FROM follows WHERE account_id = {m} AND target_account_id = {t}) AS following,
                  COALESCE((SELECT show_reblogs FROM follows WHERE account_id = {m} AND target_account_id = {t}), FALSE) AS showing_reblogs,
                  COALESCE((SELECT notify FROM follows WHERE account_id = {m} AND target_account_id = {t}), FALSE) AS notifying,
                  EXISTS (SELECT 1 FROM follows WHERE account_id = {t} AND target_account_id = {m}) AS followed_by,
                  EXISTS (SELECT 1 FROM blocks WHERE account_id = {m} AND target_account_id = {t}) AS blocking,
                  EXISTS (SELECT 1 FROM blocks WHERE account_id = {t} AND target_account_id = {m}) AS blocked_by,
                  EXISTS (SELECT 1 FROM mutes WHERE account_id = {m} AND target_account_id = {t}) AS muting,
                  COALESCE((SELECT hide_notifications FROM mutes WHERE account_id = {m} AND target_account_id = {t}), FALSE) AS muting_notifications,
                  (SELECT expires_at FROM mutes WHERE account_id = {m} AND target_account_id = {t}) AS muting_expires_at,
                  EXISTS (SELECT 1 FROM follow_requests WHERE account_id = {m} AND target_account_id = {t}) AS requested,
                  EXISTS (SELECT 1 FROM follow_requests WHERE account_id = {t} AND target_account_id = {m}) AS requested_by,
                  EXISTS (SELECT 1 FROM account_domain_blocks adb JOIN accounts da ON da.domain = adb.domain
                          WHERE adb.account_id = {m} AND da.id = {t}) AS domain_blocking,
                  COALESCE((SELECT comment FROM account_notes WHERE account_id = {m} AND target_account_id = {t}), '') AS note,
                  EXISTS (SELECT 1 FROM endorsements WHERE account_id = {m} AND target_account_id = {t}) AS endorsed"
            ));
        }
        q.push(&parts.join(" UNION ALL "));
        self.all(q).await
    }

    /// Sets `me`'s private note on `target`; an empty one removes it.
    pub async fn set_account_note(
        &self,
        me: Id,
        target: Id,
        comment: &str,
        now: i64,
    ) -> Result<()> {
        let q = if comment.is_empty() {
            Query::new("DELETE FROM account_notes WHERE account_id = $1 AND target_account_id = $2")
                .bind(me)
                .bind(target)
        } else {
            Query::new(
                "INSERT INTO account_notes (account_id, target_account_id, comment, updated_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, target_account_id)
                 DO UPDATE SET comment = excluded.comment, updated_at = excluded.updated_at",
            )
            .bind(me)
            .bind(target)
            .bind(comment)
            .bind(now)
        };
        self.exec(q).await?;
        Ok(())
    }

    /// For each of `targets`, the accounts `me` follows that follow it, newest follow
    /// first, at most `per_target` each; accounts that hide whom they follow, and
    /// suspended ones, are not told.
    pub async fn familiar_followers(
        &self,
        me: Id,
        targets: &[Id],
        per_target: i64,
    ) -> Result<Vec<FamiliarFollower>> {
        if targets.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new("");
        let m = q.arg(me);
        let list = q.in_list(targets);
        let per = q.arg(per_target);
        q.push(&format!(
            "SELECT target, follower FROM (
               SELECT f2.target_account_id AS target, f2.account_id AS follower,
                      ROW_NUMBER() OVER (PARTITION BY f2.target_account_id ORDER BY f2.id DESC) AS n
               FROM follows f1
               JOIN follows f2 ON f2.account_id = f1.target_account_id
               JOIN accounts a ON a.id = f2.account_id
               WHERE f1.account_id = {m} AND f2.target_account_id IN {list}
                 AND a.hide_collections = FALSE AND a.suspended_at IS NULL
             ) ff WHERE n <= {per} ORDER BY target, n"
        ));
        self.all(q).await
    }

    /// When each of `me`'s mutes of `targets` ends (ms; `None`: when unmuted), for
    /// the targets `me` mutes.
    pub async fn mute_expiries(&self, me: Id, targets: &[Id]) -> Result<Vec<MuteExpiry>> {
        if targets.is_empty() {
            return Ok(vec![]);
        }
        let mut q =
            Query::new("SELECT target_account_id, expires_at FROM mutes WHERE account_id = ");
        let m = q.arg(me);
        q.push(&m);
        let list: Vec<String> = targets.iter().map(|t| q.arg(*t)).collect();
        q.push(&format!(" AND target_account_id IN ({})", list.join(", ")));
        self.all(q).await
    }

    /// The soonest end of a mute with a duration, if any.
    pub async fn next_mute_expiry(&self) -> Result<Option<i64>> {
        Ok(self
            .one::<OptScalar>(Query::new(
                "SELECT MIN(expires_at) AS v FROM mutes WHERE expires_at IS NOT NULL",
            ))
            .await?
            .v)
    }

    /// Whether `a` has the relation towards `b`.
    pub async fn has_relation(&self, rel: Relation, a: Id, b: Id) -> Result<bool> {
        let q = Query::new(format!(
            "SELECT count(*) AS v FROM {} WHERE account_id = $1 AND target_account_id = $2",
            rel.table()
        ))
        .bind(a)
        .bind(b);
        Ok(self.one::<Scalar>(q).await?.v > 0)
    }

    /// Whether either account blocks the other.
    pub async fn blocked_either_way(&self, a: Id, b: Id) -> Result<bool> {
        let q = Query::new(
            "SELECT count(*) AS v FROM blocks WHERE (account_id = $1 AND target_account_id = $2)
               OR (account_id = $2 AND target_account_id = $1)",
        )
        .bind(a)
        .bind(b);
        Ok(self.one::<Scalar>(q).await?.v > 0)
    }

    /// What a streaming connection of `me` filters on, loaded once per connection:
    /// the accounts `me` follows, those blocked either way, and those `me` mutes. Each
    /// list is bounded by `limit`.
    pub async fn stream_relations(&self, me: Id, limit: i64) -> Result<[Vec<Id>; 3]> {
        let ids = |sql: &str| Query::new(format!("{sql} LIMIT $2")).bind(me).bind(limit);
        let get = async |q: Query| -> Result<Vec<Id>> {
            Ok(self
                .all::<Scalar>(q)
                .await?
                .into_iter()
                .map(|r| r.v)
                .collect())
        };
        Ok([
            get(ids(
                "SELECT target_account_id AS v FROM follows WHERE account_id = $1",
            ))
            .await?,
            get(ids(
                "SELECT target_account_id AS v FROM blocks WHERE account_id = $1
                 UNION SELECT account_id AS v FROM blocks WHERE target_account_id = $1",
            ))
            .await?,
            get(ids(
                "SELECT target_account_id AS v FROM mutes WHERE account_id = $1",
            ))
            .await?,
        ])
    }

    /// Lists one side of a relation, paged by the relation row's id.
    pub async fn relation_list(
        &self,
        rel: Relation,
        side: Side,
        account: Id,
        page: Page,
    ) -> Result<Vec<ListedId>> {
        let (item, key) = match side {
            Side::Targets => ("target_account_id", "account_id"),
            Side::Sources => ("account_id", "target_account_id"),
        };
        let mut q = Query::new(format!(
            "SELECT id AS rel_id, {item} AS item_id FROM {} WHERE {key} = ",
            rel.table()
        ));
        let p = q.arg(account);
        q.push(&p);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    pub async fn count_follow_requests(&self, account: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT count(*) AS v FROM follow_requests WHERE target_account_id = $1",
                )
                .bind(account),
            )
            .await?
            .v)
    }

    pub async fn notifications(
        &self,
        account: Id,
        f: &NotificationFilter,
        page: Page,
    ) -> Result<Vec<NotificationRow>> {
        let mut q = Query::new("SELECT * FROM notifications n WHERE n.account_id = ");
        let p = q.arg(account);
        q.push(&p);
        if !f.types.is_empty() {
            let list: Vec<String> = f.types.iter().map(|t| q.arg(t)).collect();
            q.push(&format!(" AND n.kind IN ({})", list.join(", ")));
        }
        if !f.exclude_types.is_empty() {
            let list: Vec<String> = f.exclude_types.iter().map(|t| q.arg(t)).collect();
            q.push(&format!(" AND n.kind NOT IN ({})", list.join(", ")));
        }
        if let Some(from) = f.account_id {
            let a = q.arg(from);
            q.push(&format!(" AND n.from_account_id = {a}"));
        }
        q.push(&hidden_senders(&p));
        page.apply(&mut q, "n.id");
        Ok(page.finish(self.all(q).await?))
    }

    /// The notifications of `account` of one kind (about `status_id` when given) made
    /// in `[from, to)` (milliseconds), newest first, at most `limit`: one notification
    /// group's members. Senders the account blocks or mutes are left out, as in
    /// [`Store::notifications`].
    pub async fn notifications_in_group(
        &self,
        account: Id,
        g: &NotificationGroupKey,
        limit: i64,
    ) -> Result<Vec<NotificationRow>> {
        let mut q = Query::new("SELECT * FROM notifications n WHERE n.account_id = ");
        let p = q.arg(account);
        q.push(&p);
        let bounds = group_bounds(&mut q, g);
        q.push(&bounds);
        q.push(&hidden_senders(&p));
        let lim = q.arg(limit);
        q.push(&format!(" ORDER BY n.id DESC LIMIT {lim}"));
        self.all(q).await
    }

    pub async fn notification(&self, account: Id, id: Id) -> Result<Option<NotificationRow>> {
        self.opt(
            Query::new("SELECT * FROM notifications WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account),
        )
        .await
    }

    pub async fn markers(&self, account: Id, timelines: &[&str]) -> Result<Vec<MarkerRow>> {
        let mut q = Query::new(
            "SELECT timeline, last_read_id, version, updated_at FROM markers WHERE account_id = ",
        );
        let p = q.arg(account);
        q.push(&p);
        if !timelines.is_empty() {
            let list: Vec<String> = timelines.iter().map(|t| q.arg(*t)).collect();
            q.push(&format!(" AND timeline IN ({})", list.join(", ")));
        }
        self.all(q).await
    }
}

impl WriteTx {
    /// Adds a relation row; returns false if it existed. A mute that exists is updated
    /// with the new options instead.
    pub async fn insert_relation(&mut self, rel: Relation, row: &NewRelation) -> Result<bool> {
        let q = match rel {
            Relation::Follow | Relation::FollowRequest => Query::new(format!(
                "INSERT INTO {} (id, account_id, target_account_id, uri, show_reblogs, notify, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, target_account_id) DO NOTHING",
                rel.table()
            ))
            .bind(row.id)
            .bind(row.account_id)
            .bind(row.target_account_id)
            .bind(&row.uri)
            .bind(row.flag_a)
            .bind(row.flag_b)
            .bind(row.created_at),
            Relation::Block => Query::new(
                "INSERT INTO blocks (id, account_id, target_account_id, uri, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, target_account_id) DO NOTHING",
            )
            .bind(row.id)
            .bind(row.account_id)
            .bind(row.target_account_id)
            .bind(&row.uri)
            .bind(row.created_at),
            Relation::Mute => Query::new(
                "INSERT INTO mutes (id, account_id, target_account_id, hide_notifications, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (account_id, target_account_id)
                 DO UPDATE SET hide_notifications = $4, expires_at = $6",
            )
            .bind(row.id)
            .bind(row.account_id)
            .bind(row.target_account_id)
            .bind(row.flag_a)
            .bind(row.created_at)
            .bind(row.expires_at),
        };
        Ok(self.exec(q).await? == 1)
    }

    /// Updates the options of an existing follow (reblogs shown, notify on post).
    pub async fn update_follow_options(
        &mut self,
        account: Id,
        target: Id,
        show_reblogs: bool,
        notify: bool,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE follows SET show_reblogs = $1, notify = $2 WHERE account_id = $3 AND target_account_id = $4",
            )
            .bind(show_reblogs)
            .bind(notify)
            .bind(account)
            .bind(target),
        )
        .await?;
        Ok(())
    }

    /// Removes the mutes whose time ran out by `now`; returns them as (muter, muted).
    pub async fn delete_expired_mutes(&mut self, now: i64) -> Result<Vec<(Id, Id)>> {
        let rows: Vec<ExpiredMute> = self
            .all(
                Query::new(
                    "DELETE FROM mutes WHERE expires_at IS NOT NULL AND expires_at <= $1
                     RETURNING account_id, target_account_id",
                )
                .bind(now),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.account_id, r.target_account_id))
            .collect())
    }

    /// Removes a relation row; returns its `uri` column (or "" for mutes) if it existed.
    /// A follow that ends also takes the followed account out of the follower's lists.
    pub async fn delete_relation(
        &mut self,
        rel: Relation,
        account: Id,
        target: Id,
    ) -> Result<Option<String>> {
        // One statement: the row this transaction removed, if any. (A read and then a
        // delete let two concurrent transactions on PostgreSQL both "remove" the same
        // row: an Accept and a Reject of one follow would both take effect.)
        let uri_col = if rel == Relation::Mute { "''" } else { "uri" };
        let row = self
            .opt::<crate::query::TextScalar>(
                Query::new(format!(
                    "DELETE FROM {} WHERE account_id = $1 AND target_account_id = $2
                     RETURNING {uri_col} AS v",
                    rel.table()
                ))
                .bind(account)
                .bind(target),
            )
            .await?;
        // As Mastodon: an account no longer followed leaves its follower's lists and
        // is no longer endorsed by them.
        if rel == Relation::Follow && row.is_some() {
            self.remove_from_lists_of(account, target).await?;
            self.exec(
                Query::new(
                    "DELETE FROM endorsements WHERE account_id = $1 AND target_account_id = $2",
                )
                .bind(account)
                .bind(target),
            )
            .await?;
        }
        Ok(row.map(|r| r.v.unwrap_or_default()))
    }

    /// Adds a favourite or bookmark; false when it existed.
    pub async fn insert_saved(
        &mut self,
        kind: crate::Saved,
        id: Id,
        account: Id,
        status: Id,
        uri: &str,
        now: i64,
    ) -> Result<bool> {
        let q = match kind {
            crate::Saved::Favourites => Query::new(
                "INSERT INTO favourites (id, account_id, status_id, uri, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (account_id, status_id) DO NOTHING",
            )
            .bind(id)
            .bind(account)
            .bind(status)
            .bind(uri)
            .bind(now),
            crate::Saved::Bookmarks => Query::new(
                "INSERT INTO bookmarks (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, status_id) DO NOTHING",
            )
            .bind(id)
            .bind(account)
            .bind(status)
            .bind(now),
        };
        Ok(self.exec(q).await? == 1)
    }

    /// Removes a favourite or bookmark; returns the favourite's uri ("" for bookmarks)
    /// when it existed.
    pub async fn delete_saved(
        &mut self,
        kind: crate::Saved,
        account: Id,
        status: Id,
    ) -> Result<Option<String>> {
        let (table, col) = match kind {
            crate::Saved::Favourites => ("favourites", "uri"),
            crate::Saved::Bookmarks => ("bookmarks", "''"),
        };
        // One statement, as in `delete_relation`: only the transaction that removed
        // the row sees it.
        let row = self
            .opt::<crate::query::TextScalar>(
                Query::new(format!(
                    "DELETE FROM {table} WHERE account_id = $1 AND status_id = $2 RETURNING {col} AS v"
                ))
                .bind(account)
                .bind(status),
            )
            .await?;
        Ok(row.map(|r| r.v.unwrap_or_default()))
    }

    pub async fn insert_notification(&mut self, n: &NotificationRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO notifications (id, account_id, from_account_id, kind, status_id, created_at, emoji,
                   report_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(n.id)
            .bind(n.account_id)
            .bind(n.from_account_id)
            .bind(&n.kind)
            .bind(n.status_id)
            .bind(n.created_at)
            .bind(n.emoji.as_deref())
            .bind(n.report_id),
        )
        .await?;
        Ok(())
    }

    /// Whether `account` mutes `target` with notifications hidden, or blocks them, or
    /// `target` is on a silenced domain or was silenced by a moderator and `account` does
    /// not follow them, or on a domain `account` blocked.
    pub async fn silences_notifications_from(&mut self, account: Id, target: Id) -> Result<bool> {
        // Also an account of a silenced domain that `account` does not follow, as on
        // Mastodon's limited domains.
        let q = Query::new(format!(
            "SELECT (SELECT count(*) FROM blocks WHERE account_id = $1 AND target_account_id = $2)
                  + (SELECT count(*) FROM mutes WHERE account_id = $1 AND target_account_id = $2
                       AND hide_notifications = TRUE)
                  + (SELECT count(*) FROM accounts sa JOIN domain_blocks db
                       ON {} WHERE sa.id = $2
                       AND NOT EXISTS (SELECT 1 FROM follows WHERE account_id = $1 AND target_account_id = $2))
                  + (SELECT count(*) FROM accounts da JOIN account_domain_blocks adb
                       ON adb.domain = da.domain AND adb.account_id = $1 WHERE da.id = $2)
                  + (SELECT count(*) FROM accounts xa WHERE xa.id = $2 AND xa.silenced_at IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM follows WHERE account_id = $1 AND target_account_id = $2)) AS v",
            crate::statuses::SILENCED_DOMAIN
        ))
        .bind(account)
        .bind(target);
        Ok(self.one::<Scalar>(q).await?.v > 0)
    }

    /// Whether `account` muted the thread `status` belongs to.
    pub async fn thread_muted(&mut self, account: Id, status: Id) -> Result<bool> {
        let q = Query::new(
            "SELECT COUNT(*) AS v FROM conversation_mutes cm JOIN statuses s ON s.thread_id = cm.thread_id
             WHERE cm.account_id = $1 AND s.id = $2",
        )
        .bind(account)
        .bind(status);
        Ok(self.one::<Scalar>(q).await?.v > 0)
    }

    /// Deletes notifications of a kind from one account about a status (undo of a like).
    pub async fn delete_notifications_about(
        &mut self,
        from: Id,
        kind: &str,
        status: Option<Id>,
        to: Id,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "DELETE FROM notifications WHERE from_account_id = $1 AND kind = $2 AND account_id = $3
                 AND (status_id = $4 OR ($4 IS NULL AND status_id IS NULL))",
            )
            .bind(from)
            .bind(kind)
            .bind(to)
            .bind(status),
        )
        .await?;
        Ok(())
    }

    pub async fn dismiss_notification(&mut self, account: Id, id: Id) -> Result<u64> {
        self.exec(
            Query::new("DELETE FROM notifications WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account),
        )
        .await
    }

    /// Deletes the notifications of `account` in group `g` (see
    /// [`Store::notifications_in_group`]); returns how many.
    pub async fn dismiss_notification_group(
        &mut self,
        account: Id,
        g: &NotificationGroupKey,
    ) -> Result<u64> {
        let mut q = Query::new(
            "DELETE FROM notifications WHERE id IN (SELECT n.id FROM notifications n WHERE n.account_id = ",
        );
        let p = q.arg(account);
        q.push(&p);
        let bounds = group_bounds(&mut q, g);
        q.push(&bounds);
        q.push(")");
        self.exec(q).await
    }

    pub async fn clear_notifications(&mut self, account: Id) -> Result<u64> {
        self.exec(Query::new("DELETE FROM notifications WHERE account_id = $1").bind(account))
            .await
    }

    pub async fn upsert_marker(
        &mut self,
        account: Id,
        timeline: &str,
        last_read_id: Id,
        now: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at)
                 VALUES ($1, $2, $3, 0, $4)
                 ON CONFLICT (account_id, timeline)
                 DO UPDATE SET last_read_id = $3, version = markers.version + 1, updated_at = $4",
            )
            .bind(account)
            .bind(timeline)
            .bind(last_read_id)
            .bind(now),
        )
        .await?;
        Ok(())
    }
}

/// A new relation row. `flag_a`/`flag_b` are show_reblogs/notify for follows and
/// hide_notifications for mutes.
#[derive(Debug, Clone)]
pub struct NewRelation {
    pub id: Id,
    pub account_id: Id,
    pub target_account_id: Id,
    pub uri: String,
    pub flag_a: bool,
    pub flag_b: bool,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}
