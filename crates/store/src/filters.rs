//! Keyword filters: a user's filters (title, contexts, action, expiry), their keywords
//! and the single statuses they name. Mastodon's v1 filters are a view of the same
//! rows (one v1 filter per keyword), built by the engine.
//!
//! Every write names the owner (`account_id`) in its WHERE clause, so one user can
//! never touch another's rows whatever id they send.

use sluice_model::Id;

use crate::{Query, Result, Store, WriteTx, query::Scalar};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FilterRow {
    pub id: Id,
    pub account_id: Id,
    pub title: String,
    /// JSON array of context names.
    pub context: String,
    /// `warn` or `hide`.
    pub filter_action: String,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FilterKeywordRow {
    pub id: Id,
    pub filter_id: Id,
    pub account_id: Id,
    pub keyword: String,
    pub whole_word: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FilterStatusRow {
    pub id: Id,
    pub filter_id: Id,
    pub account_id: Id,
    pub status_id: Id,
    pub created_at: i64,
}

/// A user's filters with their keywords and statuses, oldest first.
#[derive(Debug, Clone, Default)]
pub struct FilterRows {
    pub filters: Vec<FilterRow>,
    pub keywords: Vec<FilterKeywordRow>,
    pub statuses: Vec<FilterStatusRow>,
}

impl Store {
    /// Every filter of an account (or only `filter_id`), with keywords and statuses.
    pub async fn filter_rows(&self, account_id: Id, filter_id: Option<Id>) -> Result<FilterRows> {
        let only = |q: &mut Query, col: &str| {
            if let Some(f) = filter_id {
                let p = q.arg(f);
                q.push(&format!(" AND {col} = {p}"));
            }
        };
        let mut q = Query::new("SELECT * FROM filters WHERE account_id = $1").bind(account_id);
        only(&mut q, "id");
        q.push(" ORDER BY id");
        let filters = self.all(q).await?;
        if filters.is_empty() {
            return Ok(FilterRows::default());
        }
        let mut q =
            Query::new("SELECT * FROM filter_keywords WHERE account_id = $1").bind(account_id);
        only(&mut q, "filter_id");
        q.push(" ORDER BY id");
        let keywords = self.all(q).await?;
        let mut q =
            Query::new("SELECT * FROM filter_statuses WHERE account_id = $1").bind(account_id);
        only(&mut q, "filter_id");
        q.push(" ORDER BY id");
        let statuses = self.all(q).await?;
        Ok(FilterRows {
            filters,
            keywords,
            statuses,
        })
    }

    /// One keyword of the account's.
    pub async fn filter_keyword(&self, account_id: Id, id: Id) -> Result<Option<FilterKeywordRow>> {
        self.opt(
            Query::new("SELECT * FROM filter_keywords WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id),
        )
        .await
    }

    /// One filtered status of the account's.
    pub async fn filter_status(&self, account_id: Id, id: Id) -> Result<Option<FilterStatusRow>> {
        self.opt(
            Query::new("SELECT * FROM filter_statuses WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id),
        )
        .await
    }
}

impl WriteTx {
    /// How many filters the account has.
    pub async fn count_filters(&mut self, account_id: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT count(*) AS v FROM filters WHERE account_id = $1")
                    .bind(account_id),
            )
            .await?
            .v)
    }

    /// How many keywords (or statuses, with `statuses`) a filter has.
    pub async fn count_filter_rules(&mut self, filter_id: Id, statuses: bool) -> Result<i64> {
        let table = if statuses {
            "filter_statuses"
        } else {
            "filter_keywords"
        };
        Ok(self
            .one::<Scalar>(
                Query::new(format!(
                    "SELECT count(*) AS v FROM {table} WHERE filter_id = $1"
                ))
                .bind(filter_id),
            )
            .await?
            .v)
    }

    /// The account's filter, locked against concurrent changes on PostgreSQL (limits
    /// are counted under it).
    pub async fn filter_for_update(&mut self, account_id: Id, id: Id) -> Result<Option<FilterRow>> {
        let mut q = Query::new("SELECT * FROM filters WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id);
        if self.kind() == crate::EngineKind::Postgres {
            q.push(" FOR UPDATE");
        }
        self.opt(q).await
    }

    /// Locks the account's row (PostgreSQL), so that counting its filters and adding
    /// one cannot interleave with another request doing the same.
    pub async fn lock_account(&mut self, account_id: Id) -> Result<()> {
        if self.kind() == crate::EngineKind::Postgres {
            self.opt::<Scalar>(
                Query::new("SELECT id AS v FROM accounts WHERE id = $1 FOR UPDATE")
                    .bind(account_id),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn insert_filter(&mut self, f: &FilterRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO filters (id, account_id, title, context, filter_action, expires_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(f.id)
            .bind(f.account_id)
            .bind(&f.title)
            .bind(&f.context)
            .bind(&f.filter_action)
            .bind(f.expires_at)
            .bind(f.created_at)
            .bind(f.updated_at),
        )
        .await?;
        Ok(())
    }

    /// Replaces the filter's own fields (not its keywords or statuses).
    pub async fn update_filter(&mut self, f: &FilterRow) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE filters SET title = $1, context = $2, filter_action = $3, expires_at = $4,
                   updated_at = $5 WHERE id = $6 AND account_id = $7",
            )
            .bind(&f.title)
            .bind(&f.context)
            .bind(&f.filter_action)
            .bind(f.expires_at)
            .bind(f.updated_at)
            .bind(f.id)
            .bind(f.account_id),
        )
        .await?;
        Ok(())
    }

    /// Deletes a filter with its keywords and statuses; false when it was not the
    /// account's (or already gone).
    pub async fn delete_filter(&mut self, account_id: Id, id: Id) -> Result<bool> {
        let gone = self
            .exec(
                Query::new("DELETE FROM filters WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account_id),
            )
            .await?;
        if gone == 0 {
            return Ok(false);
        }
        for sql in [
            "DELETE FROM filter_keywords WHERE filter_id = $1",
            "DELETE FROM filter_statuses WHERE filter_id = $1",
        ] {
            self.exec(Query::new(sql).bind(id)).await?;
        }
        Ok(true)
    }

    pub async fn insert_filter_keyword(&mut self, k: &FilterKeywordRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO filter_keywords (id, filter_id, account_id, keyword, whole_word, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(k.id)
            .bind(k.filter_id)
            .bind(k.account_id)
            .bind(&k.keyword)
            .bind(k.whole_word)
            .bind(k.created_at),
        )
        .await?;
        Ok(())
    }

    /// Changes a keyword of the account's; false when there is no such keyword.
    pub async fn update_filter_keyword(
        &mut self,
        account_id: Id,
        id: Id,
        keyword: &str,
        whole_word: bool,
    ) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "UPDATE filter_keywords SET keyword = $1, whole_word = $2
                     WHERE id = $3 AND account_id = $4",
                )
                .bind(keyword)
                .bind(whole_word)
                .bind(id)
                .bind(account_id),
            )
            .await?
            == 1)
    }

    /// Deletes a keyword of the account's (of `filter_id` when given).
    pub async fn delete_filter_keyword(
        &mut self,
        account_id: Id,
        id: Id,
        filter_id: Option<Id>,
    ) -> Result<bool> {
        let mut q = Query::new("DELETE FROM filter_keywords WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id);
        if let Some(f) = filter_id {
            let p = q.arg(f);
            q.push(&format!(" AND filter_id = {p}"));
        }
        Ok(self.exec(q).await? == 1)
    }

    /// Adds a status to a filter; false when it was there already.
    pub async fn insert_filter_status(&mut self, s: &FilterStatusRow) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "INSERT INTO filter_statuses (id, filter_id, account_id, status_id, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (filter_id, status_id) DO NOTHING",
                )
                .bind(s.id)
                .bind(s.filter_id)
                .bind(s.account_id)
                .bind(s.status_id)
                .bind(s.created_at),
            )
            .await?
            == 1)
    }

    pub async fn delete_filter_status(&mut self, account_id: Id, id: Id) -> Result<bool> {
        Ok(self
            .exec(
                Query::new("DELETE FROM filter_statuses WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account_id),
            )
            .await?
            == 1)
    }
}
