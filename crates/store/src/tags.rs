//! Hashtags as people use them: the ones a user follows, the ones an account features on
//! its profile (migration 20), and what is trending (tags and posts) read from recent
//! posts with a bounded scan.

use crate::query::{Query, Scalar};
use crate::rows::Page;
use crate::statuses::SILENCED_DOMAIN;
use crate::{Id, Result, Store, WriteTx};

/// A hashtag by id and name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HashtagRow {
    pub id: Id,
    pub name: String,
}

/// A followed hashtag, with the follow's id (the paging cursor).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FollowedTagRow {
    pub follow_id: Id,
    pub id: Id,
    pub name: String,
}

/// A featured hashtag with its use by the account that features it: its public and
/// unlisted original posts carrying the tag, and when the newest was made.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeaturedTagRow {
    pub id: Id,
    pub account_id: Id,
    pub tag_id: Id,
    pub name: String,
    pub statuses_count: i64,
    pub last_status_at: Option<i64>,
}

/// A hashtag used in the recent posts scanned for trends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagUse {
    pub id: Id,
    pub name: String,
    pub accounts: i64,
    pub uses: i64,
}

/// A post among the recent ones scanned for trends, with its interactions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PostInteractions {
    pub id: Id,
    pub created_at: i64,
    pub interactions: i64,
}

/// The featured-tag columns, use counted on read (an account has few featured tags;
/// each count walks that account's posts with the tag through `status_tags_tag`).
const FEATURED_SELECT: &str = "SELECT ft.id, ft.account_id, ft.tag_id, t.name,
    (SELECT count(*) FROM status_tags st JOIN statuses s ON s.id = st.status_id
      WHERE st.tag_id = ft.tag_id AND s.account_id = ft.account_id AND s.reblog_of_id IS NULL
        AND s.visibility IN ('public', 'unlisted')) AS statuses_count,
    (SELECT max(s.created_at) FROM status_tags st JOIN statuses s ON s.id = st.status_id
      WHERE st.tag_id = ft.tag_id AND s.account_id = ft.account_id AND s.reblog_of_id IS NULL
        AND s.visibility IN ('public', 'unlisted')) AS last_status_at
    FROM featured_tags ft JOIN tags t ON t.id = ft.tag_id WHERE ";

impl Store {
    /// The hashtag named `name` (lowercase, without `#`).
    pub async fn tag_by_name(&self, name: &str) -> Result<Option<HashtagRow>> {
        self.opt(Query::new("SELECT id, name FROM tags WHERE name = $1").bind(name))
            .await
    }

    /// The hashtags `account_id` follows, paged by the follow.
    pub async fn followed_tags(&self, account_id: Id, page: Page) -> Result<Vec<FollowedTagRow>> {
        let mut q = Query::new(
            "SELECT tf.id AS follow_id, t.id, t.name FROM tag_follows tf JOIN tags t ON t.id = tf.tag_id
             WHERE tf.account_id = ",
        );
        let a = q.arg(account_id);
        q.push(&a);
        page.apply(&mut q, "tf.id");
        Ok(page.finish(self.all(q).await?))
    }

    /// The ids of the hashtags `account_id` follows, at most `limit`.
    pub async fn followed_tag_ids(&self, account_id: Id, limit: i64) -> Result<Vec<Id>> {
        let rows: Vec<Scalar> = self
            .all(
                Query::new(
                    "SELECT tag_id AS v FROM tag_follows WHERE account_id = $1 ORDER BY tag_id LIMIT $2",
                )
                .bind(account_id)
                .bind(limit),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }

    /// The names of the hashtags `account_id` follows, at most `limit`.
    pub async fn followed_tag_names(&self, account_id: Id, limit: i64) -> Result<Vec<String>> {
        let rows: Vec<HashtagRow> = self
            .all(
                Query::new(
                    "SELECT t.id, t.name FROM tag_follows tf JOIN tags t ON t.id = tf.tag_id
                     WHERE tf.account_id = $1 ORDER BY t.id LIMIT $2",
                )
                .bind(account_id)
                .bind(limit),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.name).collect())
    }

    /// A remote account's `featuredTags` collection ('' when it has none).
    pub async fn featured_tags_url(&self, account_id: Id) -> Result<String> {
        Ok(self
            .opt::<crate::query::TextScalar>(
                Query::new("SELECT featured_tags_url AS v FROM accounts WHERE id = $1")
                    .bind(account_id),
            )
            .await?
            .and_then(|r| r.v)
            .unwrap_or_default())
    }

    /// The hashtags `account_id` features, oldest first.
    pub async fn featured_tags(&self, account_id: Id) -> Result<Vec<FeaturedTagRow>> {
        self.all(
            Query::new(format!(
                "{FEATURED_SELECT} ft.account_id = $1 ORDER BY ft.id"
            ))
            .bind(account_id),
        )
        .await
    }

    /// The hashtags `account_id` used most in its last `scan` public or unlisted
    /// original posts, leaving out those it features, most used first.
    pub async fn tag_suggestions(
        &self,
        account_id: Id,
        scan: i64,
        limit: i64,
    ) -> Result<Vec<HashtagRow>> {
        self.all(
            Query::new(
                "SELECT t.id, t.name FROM (SELECT s.id FROM statuses s WHERE s.account_id = $1
                    AND s.reblog_of_id IS NULL AND s.visibility IN ('public', 'unlisted')
                    ORDER BY s.id DESC LIMIT $2) recent
                 JOIN status_tags st ON st.status_id = recent.id JOIN tags t ON t.id = st.tag_id
                 WHERE NOT EXISTS (SELECT 1 FROM featured_tags ft WHERE ft.account_id = $1 AND ft.tag_id = t.id)
                 GROUP BY t.id, t.name ORDER BY count(*) DESC, max(recent.id) DESC LIMIT $3",
            )
            .bind(account_id)
            .bind(scan)
            .bind(limit),
        )
        .await
    }

    /// Hashtags of the newest `scan` public original posts made since status id
    /// `floor`, by accounts that are neither suspended nor on a silenced domain and allow being
    /// discovered, used by at least `min_accounts` accounts: most accounts first.
    pub async fn trending_tags(
        &self,
        floor: Id,
        scan: i64,
        min_accounts: i64,
        limit: i64,
    ) -> Result<Vec<TagUse>> {
        self.all(
            Query::new(format!(
                "SELECT t.id, t.name, count(DISTINCT recent.account_id) AS accounts, count(*) AS uses
                 FROM (SELECT s.id, s.account_id FROM statuses s WHERE s.id >= $1
                    AND s.visibility = 'public' AND s.reblog_of_id IS NULL
                    ORDER BY s.id DESC LIMIT $2) recent
                 JOIN accounts a ON a.id = recent.account_id
                 JOIN status_tags st ON st.status_id = recent.id JOIN tags t ON t.id = st.tag_id
                 WHERE a.suspended_at IS NULL AND a.silenced_at IS NULL AND a.discoverable = TRUE
                   AND NOT EXISTS (SELECT 1 FROM accounts sa JOIN domain_blocks db ON {SILENCED_DOMAIN} WHERE sa.id = a.id)
                 GROUP BY t.id, t.name HAVING count(DISTINCT recent.account_id) >= $3
                 ORDER BY accounts DESC, uses DESC, t.id DESC LIMIT $4"
            ))
            .bind(floor)
            .bind(scan)
            .bind(min_accounts)
            .bind(limit),
        )
        .await
    }

    /// The newest `scan` public original posts made since status id `floor` by
    /// accounts that are neither suspended nor on a silenced domain and allow being discovered,
    /// with at least `min_interactions` favourites and reblogs together: most first,
    /// at most `limit`.
    pub async fn trending_statuses(
        &self,
        floor: Id,
        scan: i64,
        min_interactions: i64,
        limit: i64,
    ) -> Result<Vec<PostInteractions>> {
        self.all(
            Query::new(format!(
                "SELECT recent.id, recent.created_at, recent.interactions
                 FROM (SELECT s.id, s.account_id, s.created_at, s.favourites_count + s.reblogs_count AS interactions
                    FROM statuses s WHERE s.id >= $1 AND s.visibility = 'public' AND s.reblog_of_id IS NULL
                    ORDER BY s.id DESC LIMIT $2) recent
                 JOIN accounts a ON a.id = recent.account_id
                 WHERE recent.interactions >= $3
                   AND a.suspended_at IS NULL AND a.silenced_at IS NULL AND a.discoverable = TRUE
                   AND NOT EXISTS (SELECT 1 FROM accounts sa JOIN domain_blocks db ON {SILENCED_DOMAIN} WHERE sa.id = a.id)
                 ORDER BY recent.interactions DESC, recent.id DESC LIMIT $4"
            ))
            .bind(floor)
            .bind(scan)
            .bind(min_interactions)
            .bind(limit),
        )
        .await
    }
}

impl WriteTx {
    /// The id of the hashtag `name` (lowercase, without `#`), made if new.
    pub async fn ensure_tag(&mut self, name: &str, id: Id, now: i64) -> Result<Id> {
        self.exec(
            Query::new(
                "INSERT INTO tags (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            )
            .bind(id)
            .bind(name)
            .bind(now),
        )
        .await?;
        Ok(self
            .one::<Scalar>(Query::new("SELECT id AS v FROM tags WHERE name = $1").bind(name))
            .await?
            .v)
    }

    /// `account_id` follows `tag_id` (once: false when it already did), within `limit`
    /// followed tags (false when the limit is reached: see [`WriteTx::count_followed_tags`]).
    pub async fn follow_tag(
        &mut self,
        id: Id,
        account_id: Id,
        tag_id: Id,
        now: i64,
    ) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "INSERT INTO tag_follows (id, account_id, tag_id, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (account_id, tag_id) DO NOTHING",
                )
                .bind(id)
                .bind(account_id)
                .bind(tag_id)
                .bind(now),
            )
            .await?;
        Ok(n == 1)
    }

    /// How many hashtags `account_id` follows, with the account's row locked on
    /// PostgreSQL so two requests cannot both pass a limit.
    pub async fn count_followed_tags(&mut self, account_id: Id) -> Result<i64> {
        self.lock_account(account_id).await?;
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT count(*) AS v FROM tag_follows WHERE account_id = $1")
                    .bind(account_id),
            )
            .await?
            .v)
    }

    /// `account_id` stops following `tag_id`; whether it did.
    pub async fn unfollow_tag(&mut self, account_id: Id, tag_id: Id) -> Result<bool> {
        let n = self
            .exec(
                Query::new("DELETE FROM tag_follows WHERE account_id = $1 AND tag_id = $2")
                    .bind(account_id)
                    .bind(tag_id),
            )
            .await?;
        Ok(n == 1)
    }

    /// How many hashtags `account_id` features (its row locked on PostgreSQL).
    pub async fn count_featured_tags(&mut self, account_id: Id) -> Result<i64> {
        self.lock_account(account_id).await?;
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT count(*) AS v FROM featured_tags WHERE account_id = $1")
                    .bind(account_id),
            )
            .await?
            .v)
    }

    /// `account_id` features `tag_id`: the row's id (an existing one when it already did).
    pub async fn feature_tag(
        &mut self,
        id: Id,
        account_id: Id,
        tag_id: Id,
        now: i64,
    ) -> Result<Id> {
        self.exec(
            Query::new(
                "INSERT INTO featured_tags (id, account_id, tag_id, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, tag_id) DO NOTHING",
            )
            .bind(id)
            .bind(account_id)
            .bind(tag_id)
            .bind(now),
        )
        .await?;
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT id AS v FROM featured_tags WHERE account_id = $1 AND tag_id = $2",
                )
                .bind(account_id)
                .bind(tag_id),
            )
            .await?
            .v)
    }

    /// Removes the featured tag `id` of `account_id`; whether there was one.
    pub async fn unfeature_tag(&mut self, account_id: Id, id: Id) -> Result<bool> {
        let n = self
            .exec(
                Query::new("DELETE FROM featured_tags WHERE account_id = $1 AND id = $2")
                    .bind(account_id)
                    .bind(id),
            )
            .await?;
        Ok(n == 1)
    }

    /// Makes `account_id`'s featured tags exactly `tag_ids` (a remote actor's
    /// `featuredTags`), keeping the rows (and ids) of those it already had.
    pub async fn replace_featured_tags(
        &mut self,
        account_id: Id,
        tag_ids: &[Id],
        new_id: &(dyn Fn() -> Id + Sync),
        now: i64,
    ) -> Result<()> {
        let mut q = Query::new("DELETE FROM featured_tags WHERE account_id = ");
        let a = q.arg(account_id);
        q.push(&a);
        if !tag_ids.is_empty() {
            let list = q.in_list(tag_ids);
            q.push(&format!(" AND tag_id NOT IN {list}"));
        }
        self.exec(q).await?;
        for tag_id in tag_ids {
            self.feature_tag(new_id(), account_id, *tag_id, now).await?;
        }
        Ok(())
    }
}
