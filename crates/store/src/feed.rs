//! Home feeds, materialized: `home_feed(account_id, status_id, author_id)` holds, for
//! each local account, the posts its home timeline shows. Rows are written in the same
//! transaction as the post (one `INSERT … SELECT` over the author's local followers), so
//! reading a home page is a range scan of the reader's own rows instead of a search
//! through everyone's posts. Follows back-fill, unfollows and blocks remove, deletes
//! remove; mutes and blocks of a reblogged author are applied when reading, because they
//! can change after the fact.

use sluice_model::Id;

use crate::{Page, Query, Result, StatusRow, Store, WriteTx, query::Scalar};

/// Posts copied into a feed when someone starts following an account.
pub const BACKFILL_POSTS: i64 = 40;

/// The reply rule of home feeds: a reply shows only when it answers the reader, the
/// author themselves, or someone the reader follows. `{reader}` and `{reply_to}` are SQL
/// expressions.
fn reply_rule(reader: &str, reply_to: &str, author: &str) -> String {
    format!(
        "({reply_to} IS NULL OR {reply_to} = {author} OR {reply_to} = {reader}
          OR EXISTS (SELECT 1 FROM follows fr WHERE fr.account_id = {reader} AND fr.target_account_id = {reply_to}))"
    )
}

impl WriteTx {
    /// Puts a new post (or reblog) into its author's feed and its local followers' feeds.
    /// Direct messages never enter feeds; reblogs go only to followers who show them.
    pub async fn feed_fan_out(&mut self, s: &StatusRow) -> Result<()> {
        if s.visibility == "direct" {
            return Ok(());
        }
        self.exec(
            Query::new("INSERT INTO home_feed (account_id, status_id, author_id) VALUES ($1, $2, $1) ON CONFLICT DO NOTHING")
                .bind(s.account_id)
                .bind(s.id),
        )
        .await?;
        let reblogs = if s.reblog_of_id.is_some() {
            " AND f.show_reblogs = TRUE"
        } else {
            ""
        };
        let rule = reply_rule("f.account_id", "$3", "$2");
        self.exec(
            Query::new(format!(
                "INSERT INTO home_feed (account_id, status_id, author_id)
                 SELECT f.account_id, $1, $2 FROM follows f
                 WHERE f.target_account_id = $2{reblogs}
                   AND EXISTS (SELECT 1 FROM users u WHERE u.account_id = f.account_id)
                   AND {rule}
                 ON CONFLICT DO NOTHING"
            ))
            .bind(s.id)
            .bind(s.account_id)
            .bind(s.in_reply_to_account_id),
        )
        .await?;
        Ok(())
    }

    /// Copies the newest `limit` posts of `author` into `reader`'s feed (a new follow).
    pub async fn feed_backfill(&mut self, reader: Id, author: Id, limit: i64) -> Result<()> {
        let rule = reply_rule("$1", "s.in_reply_to_account_id", "s.account_id");
        self.exec(
            Query::new(format!(
                "INSERT INTO home_feed (account_id, status_id, author_id)
                 SELECT $1, s.id, s.account_id FROM statuses s
                 WHERE s.account_id = $2 AND s.visibility <> 'direct' AND {rule}
                 ORDER BY s.id DESC LIMIT $3
                 ON CONFLICT DO NOTHING"
            ))
            .bind(reader)
            .bind(author)
            .bind(limit),
        )
        .await?;
        Ok(())
    }

    /// Rebuilds `reader`'s feed from scratch: the newest `limit` posts of the accounts
    /// they follow and their own (for imports and seeding).
    pub async fn feed_rebuild(&mut self, reader: Id, limit: i64) -> Result<()> {
        self.exec(Query::new("DELETE FROM home_feed WHERE account_id = $1").bind(reader))
            .await?;
        let rule = reply_rule("$1", "s.in_reply_to_account_id", "s.account_id");
        // `+` hides the per-account index: walking ids newest-first and testing the
        // follow list is cheaper than gathering every post of every followed account.
        self.exec(
            Query::new(format!(
                "INSERT INTO home_feed (account_id, status_id, author_id)
                 SELECT $1, s.id, s.account_id FROM statuses s
                 WHERE (+s.account_id = $1 OR +s.account_id IN (SELECT target_account_id FROM follows WHERE account_id = $1))
                   AND s.visibility <> 'direct' AND {rule}
                 ORDER BY s.id DESC LIMIT $2
                 ON CONFLICT DO NOTHING"
            ))
            .bind(reader)
            .bind(limit),
        )
        .await?;
        Ok(())
    }

    /// Removes `author`'s posts from `reader`'s feed (unfollow, block).
    pub async fn feed_remove_author(&mut self, reader: Id, author: Id) -> Result<()> {
        self.exec(
            Query::new("DELETE FROM home_feed WHERE account_id = $1 AND author_id = $2")
                .bind(reader)
                .bind(author),
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// A page of `me`'s home timeline, newest first: the ids from the feed (minus muted
    /// authors, hidden reblogs and reblogs of blocked or muted people), then the rows.
    pub async fn home_feed(&self, me: Id, page: Page) -> Result<Vec<StatusRow>> {
        let mut q = Query::new("SELECT h.status_id AS v FROM home_feed h WHERE h.account_id = ");
        let p = q.arg(me);
        q.push(&p);
        q.push(&format!(
            " AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = {p} AND mu.target_account_id = h.author_id)
              AND NOT EXISTS (SELECT 1 FROM statuses s JOIN statuses r ON r.id = s.reblog_of_id
                   WHERE s.id = h.status_id AND (
                     (h.author_id <> {p} AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.account_id = {p}
                          AND f.target_account_id = h.author_id AND f.show_reblogs = TRUE))
                     OR EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = {p} AND b.target_account_id = r.account_id)
                     OR EXISTS (SELECT 1 FROM blocks b2 WHERE b2.account_id = r.account_id AND b2.target_account_id = {p})
                     OR EXISTS (SELECT 1 FROM mutes mu2 WHERE mu2.account_id = {p} AND mu2.target_account_id = r.account_id)))"
        ));
        page.apply(&mut q, "h.status_id");
        let ids: Vec<Id> = page
            .finish(self.all::<Scalar>(q).await?)
            .into_iter()
            .map(|r| r.v)
            .collect();
        let mut rows: std::collections::HashMap<Id, StatusRow> = self
            .statuses(&ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        Ok(ids.iter().filter_map(|id| rows.remove(id)).collect())
    }
}
