//! Search: the full-text index of posts (`status_search`: FTS5 on SQLite, a `tsvector`
//! with a GIN index on PostgreSQL), kept in the transaction that writes the post, the
//! status search with Mastodon's scope rules, and hashtags by prefix with their use.
//!
//! The query is one shape on both engines; only the text match differs
//! ([`text_match`]). Words come cut by `sluice_model::search` (letters and digits,
//! lowercased), so they need no quoting beyond the engines' own.

use sluice_model::Id;
use sluice_model::search::{Term, indexed_text};

use crate::{EngineKind, Query, Result, STATUS_COLUMNS, StatusRow, Store, WriteTx};

/// What a status search asks for, all of it ANDed: words, the operators, and the
/// paging of `GET /api/v2/search`.
#[derive(Debug, Clone, Default)]
pub struct StatusSearch {
    /// Terms each result has (a term of several words is a phrase).
    pub terms: Vec<Term>,
    /// Terms no result has.
    pub excluded: Vec<Term>,
    /// Only posts of this account (`account_id`, `from:`).
    pub account_id: Option<Id>,
    pub has_media: Option<bool>,
    pub has_poll: Option<bool>,
    pub is_reply: Option<bool>,
    pub is_sensitive: Option<bool>,
    pub language: Option<String>,
    /// Created at or after (ms).
    pub since_ms: Option<i64>,
    /// Created before (ms).
    pub until_ms: Option<i64>,
    /// Only the viewer's own posts and those they interacted with (`in:library`).
    pub library_only: bool,
    /// Ids above (`min_id`) / below (`max_id`).
    pub min_id: Option<Id>,
    pub max_id: Option<Id>,
    pub limit: i64,
    pub offset: i64,
}

/// A hashtag found by prefix, with the id of its newest post (None: never used).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundTag {
    pub id: Id,
    pub name: String,
    pub last_status_id: Option<Id>,
}

/// Uses of a tag on one day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagDay {
    pub tag_id: Id,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub uses: i64,
    pub accounts: i64,
}

/// A term as an FTS5 string (SQLite) or a `tsquery` phrase (PostgreSQL). Words are
/// letters and digits only; quotes are escaped anyway, as each syntax escapes them.
fn phrase(kind: EngineKind, t: &Term) -> String {
    match kind {
        EngineKind::Sqlite => format!("\"{}\"", t.join(" ").replace('"', "\"\"")),
        EngineKind::Postgres => {
            let p: Vec<String> = t
                .iter()
                .map(|w| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''")))
                .collect();
            format!("({})", p.join(" <-> "))
        }
    }
}

/// The match of all of `terms` (`all`) or any of them.
fn joined(kind: EngineKind, terms: &[Term], all: bool) -> String {
    let sep = match (kind, all) {
        (EngineKind::Sqlite, true) => " AND ",
        (EngineKind::Sqlite, false) => " OR ",
        (EngineKind::Postgres, true) => " & ",
        (EngineKind::Postgres, false) => " | ",
    };
    terms
        .iter()
        .map(|t| phrase(kind, t))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The FTS5 expression (SQLite) or `tsquery` text (PostgreSQL) of all of `terms` and
/// none of `excluded`; `terms` is not empty.
fn text_match(kind: EngineKind, terms: &[Term], excluded: &[Term]) -> String {
    let m = joined(kind, terms, true);
    if excluded.is_empty() {
        return m;
    }
    let not = joined(kind, excluded, false);
    match kind {
        EngineKind::Sqlite => format!("({m}) NOT ({not})"),
        EngineKind::Postgres => format!("({m}) & !({not})"),
    }
}

/// The index's id column: the status id.
fn index_key(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Sqlite => "status_search.rowid",
        EngineKind::Postgres => "status_search.status_id",
    }
}

/// The condition "`status_search` matches the match argument `p`".
fn index_matches(kind: EngineKind, p: &str) -> String {
    match kind {
        EngineKind::Sqlite => format!("status_search MATCH {p}"),
        EngineKind::Postgres => format!("status_search.body @@ to_tsquery('simple', {p})"),
    }
}

impl WriteTx {
    /// Indexes a post just stored (reblogs have no text of their own and are not).
    pub async fn index_status(&mut self, s: &StatusRow) -> Result<()> {
        if s.reblog_of_id.is_some() {
            return Ok(());
        }
        let text = indexed_text(&s.spoiler_text, &s.content);
        let sql = match self.kind() {
            EngineKind::Sqlite => "INSERT INTO status_search (rowid, body) VALUES ($1, $2)",
            EngineKind::Postgres => {
                "INSERT INTO status_search (status_id, body) VALUES ($1, to_tsvector('simple', $2))
                 ON CONFLICT (status_id) DO UPDATE SET body = excluded.body"
            }
        };
        self.exec(Query::new(sql).bind(s.id).bind(text)).await?;
        Ok(())
    }

    /// Indexes a post again after an edit.
    pub async fn reindex_status(&mut self, s: &StatusRow) -> Result<()> {
        self.unindex_status(s.id).await?;
        self.index_status(s).await
    }

    /// Takes a post out of the index.
    pub async fn unindex_status(&mut self, id: Id) -> Result<()> {
        self.unindex_statuses(&[id]).await
    }

    /// Takes posts out of the index: one statement.
    pub async fn unindex_statuses(&mut self, ids: &[Id]) -> Result<()> {
        let mut q = Query::new(match self.kind() {
            EngineKind::Sqlite => "DELETE FROM status_search WHERE rowid IN ",
            EngineKind::Postgres => "DELETE FROM status_search WHERE status_id IN ",
        });
        let list = q.in_list(ids);
        q.push(&list);
        self.exec(q).await?;
        Ok(())
    }
}

impl Store {
    /// Posts for `viewer`'s search, newest first: those matching every condition of
    /// `ask` among the viewer's own posts, the posts they favourited, reblogged,
    /// bookmarked, replied to or were mentioned in, and (unless `library_only`) the
    /// public posts of accounts that let themselves be indexed; never a post of an
    /// account blocked either way or muted by the viewer. Whether the viewer may see
    /// each is still checked by the caller.
    pub async fn search_statuses(&self, viewer: Id, ask: &StatusSearch) -> Result<Vec<StatusRow>> {
        let kind = self.kind();
        // With words, the index leads, newest first (FTS5 returns rowids in order, so
        // a page of a common word stops after its rows); the statuses are joined to it.
        let (mut q, order) = if ask.terms.is_empty() {
            let q = Query::new(format!(
                "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.reblog_of_id IS NULL"
            ));
            (q, "s.id")
        } else {
            let key = index_key(kind);
            let mut q = Query::new(format!(
                "SELECT {STATUS_COLUMNS} FROM status_search JOIN statuses s ON s.id = {key} WHERE "
            ));
            let p = q.arg(text_match(kind, &ask.terms, &ask.excluded));
            q.push(&index_matches(kind, &p));
            q.push(" AND s.reblog_of_id IS NULL");
            (q, key)
        };
        if ask.terms.is_empty() && !ask.excluded.is_empty() {
            // Only exclusions: the posts they match are left out.
            let p = q.arg(joined(kind, &ask.excluded, false));
            let key = index_key(kind);
            q.push(&format!(
                " AND s.id NOT IN (SELECT {key} FROM status_search WHERE {})",
                index_matches(kind, &p)
            ));
        }
        let me = q.arg(viewer);
        let public = if ask.library_only {
            String::new()
        } else {
            // Public posts of a silenced ("limited") domain only for the author's
            // followers, as in the public timelines.
            format!(
                " OR (s.visibility = 'public' AND EXISTS (SELECT 1 FROM accounts ia
                    WHERE ia.id = s.account_id AND ia.indexable = TRUE)
                  AND (s.local = TRUE OR NOT EXISTS (SELECT 1 FROM accounts sa
                    JOIN domain_blocks db ON {SILENCED_DOMAIN}
                    WHERE sa.id = s.account_id
                      AND NOT EXISTS (SELECT 1 FROM follows sdf
                          WHERE sdf.account_id = {me} AND sdf.target_account_id = sa.id))))",
                SILENCED_DOMAIN = crate::statuses::SILENCED_DOMAIN
            )
        };
        q.push(&format!(
            " AND (s.account_id = {me}{public}
               OR EXISTS (SELECT 1 FROM favourites x WHERE x.account_id = {me} AND x.status_id = s.id)
               OR EXISTS (SELECT 1 FROM bookmarks x WHERE x.account_id = {me} AND x.status_id = s.id)
               OR EXISTS (SELECT 1 FROM mentions x WHERE x.status_id = s.id AND x.account_id = {me})
               OR EXISTS (SELECT 1 FROM statuses x WHERE x.reblog_of_id = s.id AND x.account_id = {me})
               OR EXISTS (SELECT 1 FROM statuses x WHERE x.in_reply_to_id = s.id AND x.account_id = {me}))
             AND NOT EXISTS (SELECT 1 FROM blocks b
                 WHERE (b.account_id = {me} AND b.target_account_id = s.account_id)
                    OR (b.account_id = s.account_id AND b.target_account_id = {me}))
             AND NOT EXISTS (SELECT 1 FROM mutes mu
                 WHERE mu.account_id = {me} AND mu.target_account_id = s.account_id)
             AND NOT EXISTS (SELECT 1 FROM accounts sa
                 WHERE sa.id = s.account_id AND sa.suspended_at IS NOT NULL)
             AND NOT EXISTS (SELECT 1 FROM accounts sz
                 WHERE sz.id = s.account_id AND sz.silenced_at IS NOT NULL AND sz.id <> {me}
                   AND NOT EXISTS (SELECT 1 FROM follows szf
                       WHERE szf.account_id = {me} AND szf.target_account_id = sz.id))"
        ));
        if let Some(a) = ask.account_id {
            let p = q.arg(a);
            q.push(&format!(" AND s.account_id = {p}"));
        }
        match ask.has_media {
            Some(true) => q.push(" AND s.attachments <> '[]'"),
            Some(false) => q.push(" AND s.attachments = '[]'"),
            None => &mut q,
        };
        match ask.has_poll {
            Some(true) => q.push(" AND EXISTS (SELECT 1 FROM polls pl WHERE pl.status_id = s.id)"),
            Some(false) => {
                q.push(" AND NOT EXISTS (SELECT 1 FROM polls pl WHERE pl.status_id = s.id)")
            }
            None => &mut q,
        };
        match ask.is_reply {
            Some(true) => q.push(" AND s.in_reply_to_id IS NOT NULL"),
            Some(false) => q.push(" AND s.in_reply_to_id IS NULL"),
            None => &mut q,
        };
        if let Some(v) = ask.is_sensitive {
            let p = q.arg(v);
            q.push(&format!(" AND s.sensitive = {p}"));
        }
        if let Some(l) = &ask.language {
            let p = q.arg(l.as_str());
            q.push(&format!(" AND s.language = {p}"));
        }
        if let Some(t) = ask.since_ms {
            let p = q.arg(t);
            q.push(&format!(" AND s.created_at >= {p}"));
        }
        if let Some(t) = ask.until_ms {
            let p = q.arg(t);
            q.push(&format!(" AND s.created_at < {p}"));
        }
        if let Some(id) = ask.min_id {
            let p = q.arg(id);
            q.push(&format!(" AND {order} > {p}"));
        }
        if let Some(id) = ask.max_id {
            let p = q.arg(id);
            q.push(&format!(" AND {order} < {p}"));
        }
        let l = q.arg(ask.limit);
        let o = q.arg(ask.offset);
        q.push(&format!(" ORDER BY {order} DESC LIMIT {l} OFFSET {o}"));
        self.all(q).await
    }

    /// Hashtags whose name starts with `prefix` (lowercase, without `#`): an exact
    /// match first, then the most recently used.
    pub async fn search_tags(
        &self,
        prefix: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<FoundTag>> {
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut q = Query::new(
            "SELECT t.id, t.name, (SELECT max(st.status_id) FROM status_tags st WHERE st.tag_id = t.id)
               AS last_status_id FROM tags t WHERE ",
        );
        let p = q.arg(pattern);
        let exact = q.arg(prefix);
        let l = q.arg(limit);
        let o = q.arg(offset);
        q.push(&format!(
            "t.name LIKE {p} ESCAPE '\\'
             ORDER BY CASE WHEN t.name = {exact} THEN 0 ELSE 1 END, last_status_id DESC NULLS LAST, t.name
             LIMIT {l} OFFSET {o}"
        ));
        self.all(q).await
    }

    /// Per tag of `tags` and UTC day from `since_ms` on: the posts using it and the
    /// accounts that posted them (days without uses are absent).
    pub async fn tag_history(&self, tags: &[Id], since_ms: i64) -> Result<Vec<TagDay>> {
        if tags.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new(
            "SELECT st.tag_id, s.created_at / 86400000 AS day, count(*) AS uses,
               count(DISTINCT s.account_id) AS accounts
             FROM status_tags st JOIN statuses s ON s.id = st.status_id WHERE st.tag_id IN ",
        );
        let list = q.in_list(tags);
        // Status ids grow with time: the floor bounds the index range read.
        let floor = q.arg(sluice_model::id::id_floor_for_millis(since_ms));
        let since = q.arg(since_ms);
        q.push(&format!(
            "{list} AND st.status_id >= {floor} AND s.created_at >= {since}
             GROUP BY st.tag_id, s.created_at / 86400000"
        ));
        self.all(q).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &[&str]) -> Term {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn match_expressions() {
        let terms = [t(&["cats"]), t(&["big", "dogs"])];
        let not = [t(&["mice"])];
        assert_eq!(
            text_match(EngineKind::Sqlite, &terms, &not),
            "(\"cats\" AND \"big dogs\") NOT (\"mice\")"
        );
        assert_eq!(
            text_match(EngineKind::Postgres, &terms, &not),
            "(('cats') & ('big' <-> 'dogs')) & !(('mice'))"
        );
        assert_eq!(
            text_match(EngineKind::Postgres, &[t(&["it's"])], &[]),
            "('it''s')"
        );
    }
}
