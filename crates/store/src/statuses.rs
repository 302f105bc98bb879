//! Statuses (posts and reblogs), their edits, mentions and hashtags, the timelines built
//! from them, and the activities that created them.

use sluice_model::Id;

use crate::{
    EditRow, ListedId, Page, Query, Result, STATUS_COLUMNS, StatusRow, Store, WriteTx,
    query::Scalar,
};

/// The most statuses of one thread loaded for a context view. Mastodon caps ancestors at
/// 40 and descendants at a few thousand; a thread larger than this is shown truncated.
pub const MAX_THREAD_ROWS: i64 = 4096;

fn select_statuses() -> Query {
    Query::new(format!(
        "SELECT {STATUS_COLUMNS} FROM statuses s WHERE 1 = 1"
    ))
}

/// Begins a page query for [`Store::views`]: conditions on `s` follow, then
/// [`Page::apply`] (or an id list).
pub(crate) fn page_ids() -> Query {
    Query::new("WITH page(id) AS (SELECT s.id FROM statuses s WHERE 1 = 1")
}

/// Who is reading: filters a query by blocks and mutes in both directions.
fn hide_blocked_and_muted(q: &mut Query, viewer: Option<Id>, col: &str) {
    if let Some(me) = viewer {
        let p = q.arg(me);
        q.push(&format!(
            " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = {p} AND b.target_account_id = {col})
                 OR (b.account_id = {col} AND b.target_account_id = {p}))
              AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = {p} AND mu.target_account_id = {col})"
        ));
    }
}

/// `domain_blocks` rows of severity `silence` that cover the account `col`'s domain
/// (the domain itself, its subdomains, with or without a port): a condition for
/// `EXISTS (SELECT 1 FROM accounts sa JOIN domain_blocks db ON … WHERE sa.id = col)`.
pub(crate) const SILENCED_DOMAIN: &str = "db.severity = 'silence'
    AND (sa.domain = db.domain OR sa.domain LIKE '%.' || db.domain
         OR sa.domain LIKE db.domain || ':%' OR sa.domain LIKE '%.' || db.domain || ':%')";

/// Hides posts of limited accounts from public listings, except from those of the
/// viewer's follows (and the viewer's own): remote posts from silenced domains
/// (Mastodon's "limited" domains), and posts of accounts a moderator silenced
/// (`accounts.silenced_at`, an uncorrelated set read once through its partial index).
pub(crate) fn hide_silenced(q: &mut Query, viewer: Option<Id>, col: &str) {
    let (followed, silenced_followed) = match viewer {
        Some(me) => {
            let p = q.arg(me);
            (
                format!(
                    " AND NOT EXISTS (SELECT 1 FROM follows sf WHERE sf.account_id = {p} AND sf.target_account_id = {col})"
                ),
                format!(
                    " AND sx.id <> {p} AND NOT EXISTS (SELECT 1 FROM follows sxf WHERE sxf.account_id = {p} AND sxf.target_account_id = sx.id)"
                ),
            )
        }
        None => (String::new(), String::new()),
    };
    q.push(&format!(
        " AND (s.local = TRUE OR NOT EXISTS (SELECT 1 FROM accounts sa JOIN domain_blocks db
             ON {SILENCED_DOMAIN} WHERE sa.id = {col}{followed}))
          AND {col} NOT IN (SELECT sx.id FROM accounts sx WHERE sx.silenced_at IS NOT NULL{silenced_followed})"
    ));
}

/// Filters for `GET /api/v1/accounts/:id/statuses`.
#[derive(Debug, Clone, Default)]
pub struct AccountStatusFilter {
    pub exclude_replies: bool,
    pub exclude_reblogs: bool,
    pub tagged: Option<String>,
    /// What the viewer may see: public+unlisted, plus private when following (or self),
    /// plus direct when self.
    pub include_private: bool,
    pub include_direct_for: Option<Id>,
    /// Only the account's pinned statuses, most recently pinned first (`pinned=true`).
    pub pinned: bool,
    /// Only posts with media attachments, no reblogs (`only_media=true`).
    pub only_media: bool,
}

/// The SQL condition of posts with media.
const HAS_MEDIA: &str = " AND s.attachments <> '[]'";

/// Which part of the public timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locality {
    All,
    Local,
    Remote,
}

impl Store {
    pub async fn status(&self, id: Id) -> Result<Option<StatusRow>> {
        let mut q = select_statuses();
        let p = q.arg(id);
        q.push(&format!(" AND s.id = {p}"));
        self.opt(q).await
    }

    pub async fn statuses(&self, ids: &[Id]) -> Result<Vec<StatusRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = select_statuses();
        let list = q.in_list(ids);
        q.push(&format!(" AND s.id IN {list}"));
        self.all(q).await
    }

    pub async fn status_by_uri(&self, uri: &str) -> Result<Option<StatusRow>> {
        let mut q = select_statuses();
        let p = q.arg(uri);
        q.push(&format!(" AND s.uri = {p}"));
        self.opt(q).await
    }

    /// The viewer's reblog of a status, if any.
    pub async fn reblog_by(&self, account_id: Id, status_id: Id) -> Result<Option<StatusRow>> {
        let mut q = select_statuses();
        let a = q.arg(account_id);
        let s = q.arg(status_id);
        q.push(&format!(" AND s.account_id = {a} AND s.reblog_of_id = {s}"));
        self.opt(q).await
    }

    /// Home: the viewer's own statuses and those of accounts they follow (reblogs
    /// included unless hidden for that follow), minus direct messages, minus replies to
    /// people the viewer does not follow, minus blocked and muted accounts; plus the
    /// public original posts carrying one of `followed_tags` (the ids of the hashtags
    /// the viewer follows), as Mastodon puts them in home.
    ///
    /// `follows_many` picks the plan: for a viewer who follows many accounts it is
    /// cheapest to walk statuses newest-first and test membership in the (materialized,
    /// uncorrelated) follow list, so the account index is hidden from the planner with
    /// a unary `+`; for one who follows few, the per-account index is the better path.
    /// Each followed tag adds a walk of that tag's posts (`status_tags_tag`,
    /// newest-first, stopping at a page), and the walks are merged: a viewer who
    /// follows no tag runs exactly the query home always ran.
    pub async fn home_timeline(
        &self,
        me: Id,
        follows_many: bool,
        followed_tags: &[Id],
        page: Page,
    ) -> Result<Vec<StatusView>> {
        // The page's ids come from the covering index `statuses_home` (the walk passes
        // hundreds of candidates); only the page's rows are read.
        // With followed tags the walks are merged newest-first and stop at a page. On
        // SQLite a compound `UNION … ORDER BY … LIMIT` already merges its sorted arms
        // lazily. PostgreSQL (15) hashes every arm's rows for a UNION, so there the
        // arms are a `UNION ALL` under `DISTINCT … ORDER BY … LIMIT`, which it runs as
        // a Merge Append of the arms' ordered walks: each walk reads only as far as the
        // merged page reaches, not a page of its own.
        let pg = self.kind() == crate::EngineKind::Postgres;
        let mut q = page_ids();
        if !followed_tags.is_empty() {
            q = Query::new(if pg {
                "WITH page(id) AS (SELECT DISTINCT id FROM (SELECT id FROM (SELECT s.id FROM statuses s WHERE 1 = 1"
            } else {
                "WITH page(id) AS (SELECT id FROM (SELECT s.id FROM statuses s WHERE 1 = 1"
            });
        }
        let p = q.arg(me);
        let col = if follows_many {
            "+s.account_id"
        } else {
            "s.account_id"
        };
        q.push(&format!(
            " AND ({col} = {p} OR {col} IN (SELECT f.target_account_id FROM follows f WHERE f.account_id = {p}))
              AND s.visibility <> 'direct'
              AND (s.reblog_of_id IS NULL OR s.account_id = {p} OR EXISTS (SELECT 1 FROM follows f3
                     WHERE f3.account_id = {p} AND f3.target_account_id = s.account_id AND f3.show_reblogs = TRUE))
              AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id = s.account_id
                   OR s.in_reply_to_account_id = {p}
                   OR s.in_reply_to_account_id IN (SELECT f2.target_account_id FROM follows f2 WHERE f2.account_id = {p}))
              AND NOT EXISTS (SELECT 1 FROM statuses r WHERE r.id = s.reblog_of_id AND (
                     EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = {p} AND b.target_account_id = r.account_id)
                     OR EXISTS (SELECT 1 FROM blocks b2 WHERE b2.account_id = r.account_id AND b2.target_account_id = {p})
                     OR EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = {p} AND mu.target_account_id = r.account_id)))
              AND NOT EXISTS (SELECT 1 FROM mutes mu2 WHERE mu2.account_id = {p} AND mu2.target_account_id = s.account_id)
              AND s.account_id NOT IN (SELECT la.account_id FROM list_accounts la JOIN lists l ON l.id = la.list_id
                     WHERE l.account_id = {p} AND l.exclusive = TRUE)"
        ));
        // Members of the viewer's exclusive lists are read in those lists only, and
        // blocked domains are hidden everywhere (uncorrelated sets, computed once).
        crate::lists::hide_domain_blocked(&mut q, Some(me), "s.account_id");
        crate::lists::hide_domain_blocked_reblogs(&mut q, me);
        page.apply(&mut q, "s.id");
        if followed_tags.is_empty() {
            return self.views(q, Some(me)).await;
        }
        q.push(") home");
        let union = if pg { "UNION ALL" } else { "UNION" };
        for (i, tag) in followed_tags.iter().enumerate() {
            let t = q.arg(*tag);
            q.push(&format!(
                " {union} SELECT id FROM (SELECT st.status_id AS id FROM status_tags st
                    JOIN statuses s ON s.id = st.status_id
                  WHERE st.tag_id = {t} AND s.visibility = 'public' AND s.reblog_of_id IS NULL"
            ));
            hide_blocked_and_muted(&mut q, Some(me), "s.account_id");
            hide_silenced(&mut q, Some(me), "s.account_id");
            crate::lists::hide_domain_blocked(&mut q, Some(me), "s.account_id");
            page.apply(&mut q, "st.status_id");
            q.push(&format!(") tag{i}"));
        }
        if pg {
            q.push(") walks");
        }
        let order = if page.min_id.is_some() { "ASC" } else { "DESC" };
        let lim = q.arg(page.limit);
        q.push(&format!(" ORDER BY id {order} LIMIT {lim}"));
        // One walk per tag makes a statement PostgreSQL takes longer to plan than to run
        // (planning 24 ms, running 2 ms with ten tags): it is planned once per
        // connection (docs/benchmarks.md, "Home with followed hashtags").
        let q = self.views_query(q, Some(me), "s.id DESC");
        self.all_generic_plan(q).await
    }

    /// Public timeline: public, original (no reblogs), not replies to others.
    pub async fn public_timeline(
        &self,
        viewer: Option<Id>,
        locality: Locality,
        only_media: bool,
        page: Page,
    ) -> Result<Vec<StatusView>> {
        let mut q = page_ids();
        q.push(
            " AND s.visibility = 'public' AND s.reblog_of_id IS NULL
              AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id = s.account_id)",
        );
        match locality {
            Locality::All => {}
            Locality::Local => {
                q.push(" AND s.local = TRUE");
            }
            Locality::Remote => {
                q.push(" AND s.local = FALSE");
            }
        }
        if only_media {
            q.push(HAS_MEDIA);
        }
        hide_blocked_and_muted(&mut q, viewer, "s.account_id");
        hide_silenced(&mut q, viewer, "s.account_id");
        crate::lists::hide_domain_blocked(&mut q, viewer, "s.account_id");
        page.apply(&mut q, "s.id");
        self.views(q, viewer).await
    }

    /// Public statuses carrying a hashtag.
    pub async fn tag_timeline(
        &self,
        tag: &str,
        viewer: Option<Id>,
        local_only: bool,
        only_media: bool,
        page: Page,
    ) -> Result<Vec<StatusView>> {
        let mut q = page_ids();
        let t = q.arg(tag.to_lowercase());
        q.push(&format!(
            " AND s.visibility = 'public' AND s.reblog_of_id IS NULL
              AND s.id IN (SELECT st.status_id FROM status_tags st JOIN tags t ON t.id = st.tag_id WHERE t.name = {t})"
        ));
        if local_only {
            q.push(" AND s.local = TRUE");
        }
        if only_media {
            q.push(HAS_MEDIA);
        }
        hide_blocked_and_muted(&mut q, viewer, "s.account_id");
        hide_silenced(&mut q, viewer, "s.account_id");
        crate::lists::hide_domain_blocked(&mut q, viewer, "s.account_id");
        page.apply(&mut q, "s.id");
        self.views(q, viewer).await
    }

    /// Public statuses whose preview card is `url`'s (Mastodon's link timeline).
    pub async fn link_timeline(
        &self,
        url: &str,
        viewer: Option<Id>,
        page: Page,
    ) -> Result<Vec<StatusView>> {
        let mut q = page_ids();
        let u = q.arg(url);
        q.push(&format!(
            " AND s.visibility = 'public' AND s.reblog_of_id IS NULL
              AND s.id IN (SELECT sc.status_id FROM status_cards sc WHERE sc.url = {u})"
        ));
        hide_blocked_and_muted(&mut q, viewer, "s.account_id");
        hide_silenced(&mut q, viewer, "s.account_id");
        crate::lists::hide_domain_blocked(&mut q, viewer, "s.account_id");
        page.apply(&mut q, "s.id");
        self.views(q, viewer).await
    }

    pub async fn account_statuses(
        &self,
        account_id: Id,
        f: &AccountStatusFilter,
        page: Page,
    ) -> Result<Vec<StatusView>> {
        let mut q = page_ids();
        let a = q.arg(account_id);
        q.push(&format!(" AND s.account_id = {a}"));
        let mut vis = vec!["'public'", "'unlisted'"];
        if f.include_private {
            vis.push("'private'");
        }
        let vis_sql = vis.join(", ");
        match f.include_direct_for {
            Some(viewer) if viewer == account_id => {
                q.push(" AND 1 = 1");
            }
            Some(viewer) => {
                let v = q.arg(viewer);
                q.push(&format!(
                    " AND (s.visibility IN ({vis_sql}) OR (s.visibility = 'direct' AND EXISTS
                       (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = {v})))"
                ));
            }
            None => {
                q.push(&format!(" AND s.visibility IN ({vis_sql})"));
            }
        }
        if f.exclude_replies {
            q.push(" AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)");
        }
        if f.exclude_reblogs || f.only_media {
            q.push(" AND s.reblog_of_id IS NULL");
        }
        if f.only_media {
            q.push(HAS_MEDIA);
        }
        if let Some(tag) = &f.tagged {
            let t = q.arg(tag.to_lowercase());
            q.push(&format!(
                " AND s.id IN (SELECT st.status_id FROM status_tags st JOIN tags t ON t.id = st.tag_id WHERE t.name = {t})"
            ));
        }
        if f.pinned {
            // The few pinned ids come from `pins` (an IN, so the plan starts there, not
            // from all of the account's statuses). They are listed in the order they
            // were pinned, not by status id: the page and the answer are both ordered
            // by pin time. (Never reblogs: a reblog cannot be pinned, so no reblogged
            // original is interleaved.)
            q.push(&format!(
                " AND s.id IN (SELECT p.status_id FROM pins p WHERE p.account_id = {a})"
            ));
            let pinned_at = format!(
                "(SELECT p.created_at FROM pins p WHERE p.account_id = {a} AND p.status_id = s.id)"
            );
            page.bounds(&mut q, "s.id");
            let order = format!("{pinned_at} DESC, s.id DESC");
            let lim = q.arg(page.limit);
            q.push(&format!(" ORDER BY {order} LIMIT {lim}"));
            return self.views_ordered(q, f.include_direct_for, &order).await;
        }
        page.apply(&mut q, "s.id");
        // The viewer is the one direct messages are shown to.
        self.views(q, f.include_direct_for).await
    }

    /// Every status of a thread, oldest first, at most [`MAX_THREAD_ROWS`].
    pub async fn thread(&self, thread_id: Id) -> Result<Vec<StatusRow>> {
        let mut q = select_statuses();
        let t = q.arg(thread_id);
        let l = q.arg(MAX_THREAD_ROWS);
        q.push(&format!(
            " AND s.thread_id = {t} AND s.reblog_of_id IS NULL ORDER BY s.id LIMIT {l}"
        ));
        self.all(q).await
    }

    pub async fn edits(&self, status_id: Id) -> Result<Vec<EditRow>> {
        self.all(
            Query::new("SELECT * FROM status_edits WHERE status_id = $1 ORDER BY id")
                .bind(status_id),
        )
        .await
    }

    /// Whether the account is among a status's recipients (its mentions, shown or
    /// silent).
    pub async fn is_recipient(&self, status_id: Id, account_id: Id) -> Result<bool> {
        let q = Query::new(
            "SELECT count(*) AS v FROM mentions WHERE status_id = $1 AND account_id = $2",
        )
        .bind(status_id)
        .bind(account_id);
        Ok(self.one::<Scalar>(q).await?.v > 0)
    }

    /// The accounts a status mentions (`silent`: its `bto`/`bcc` recipients instead).
    pub async fn mentioned_accounts(&self, status_id: Id, silent: bool) -> Result<Vec<Id>> {
        let rows: Vec<Scalar> = self
            .all(
                Query::new(
                    "SELECT account_id AS v FROM mentions WHERE status_id = $1 AND silent = $2",
                )
                .bind(status_id)
                .bind(silent),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }

    /// The given statuses ready to render for `viewer`, in one round trip (see
    /// [`StatusView`]); statuses that no longer exist are missing from the answer.
    pub async fn status_views(&self, viewer: Option<Id>, ids: &[Id]) -> Result<Vec<StatusView>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = page_ids();
        let list = q.in_list(ids);
        q.push(&format!(" AND s.id IN {list}"));
        self.views(q, viewer).await
    }

    /// Finishes a query begun with [`page_ids`] (whose rows are the page) and runs it:
    /// each status of the page and each status a page entry reblogs, with the viewer's
    /// flags, mentions and tags. One statement, so one round trip per page whatever it
    /// holds; the page entries come back newest first.
    pub(crate) async fn views(&self, q: Query, viewer: Option<Id>) -> Result<Vec<StatusView>> {
        self.views_ordered(q, viewer, "s.id DESC").await
    }

    /// [`Store::views`] with the rows in another order (`order` is an ORDER BY list
    /// over `s`, which may use the page query's placeholders).
    async fn views_ordered(
        &self,
        q: Query,
        viewer: Option<Id>,
        order: &str,
    ) -> Result<Vec<StatusView>> {
        let q = self.views_query(q, viewer, order);
        self.all(q).await
    }

    /// The statement [`Store::views_ordered`] runs.
    fn views_query(&self, mut q: Query, viewer: Option<Id>, order: &str) -> Query {
        q.push(") ");
        // `pinned`: only an author's own pins count, so the viewer's pin row is the
        // one to look for (the primary key answers it).
        let flags = match viewer {
            Some(me) => {
                let v = q.arg(me);
                format!(
                    "EXISTS (SELECT 1 FROM favourites f WHERE f.account_id = {v} AND f.status_id = s.id) AS favourited,
                     EXISTS (SELECT 1 FROM bookmarks b WHERE b.account_id = {v} AND b.status_id = s.id) AS bookmarked,
                     EXISTS (SELECT 1 FROM statuses rb WHERE rb.reblog_of_id = s.id AND rb.account_id = {v}) AS reblogged,
                     EXISTS (SELECT 1 FROM pins pn WHERE pn.account_id = {v} AND pn.status_id = s.id) AS pinned,
                     EXISTS (SELECT 1 FROM conversation_mutes cm WHERE cm.account_id = {v} AND cm.thread_id = s.thread_id) AS muted"
                )
            }
            None => "FALSE AS favourited, FALSE AS bookmarked, FALSE AS reblogged, FALSE AS pinned, FALSE AS muted"
                .into(),
        };
        // The poll (a LEFT JOIN on its primary key) and the viewer's choices in it.
        let own_votes = match viewer {
            Some(me) => {
                let v = q.arg(me);
                format!(
                    "(SELECT string_agg(CAST(pv.choice AS TEXT), ',' ORDER BY pv.choice)
                        FROM poll_votes pv WHERE pv.status_id = s.id AND pv.account_id = {v})"
                )
            }
            None => "CAST(NULL AS TEXT)".into(),
        };
        // Emoji reactions, per emoji in the order first used: `emoji me ids` joined by
        // `,` (`me` 1 when the viewer is among them; ids space-separated). Neither
        // separator can be in an emoji's name.
        let me = match viewer {
            Some(me) => q.arg(me),
            None => "0".into(),
        };
        let reactions = format!(
            "(SELECT string_agg(x.emoji || ' ' || x.me || ' ' || x.ids, ',' ORDER BY x.first)
                FROM (SELECT r.emoji, min(r.id) AS first,
                             CAST(max(CASE WHEN r.account_id = {me} THEN 1 ELSE 0 END) AS TEXT) AS me,
                             string_agg(CAST(r.account_id AS TEXT), ' ' ORDER BY r.id) AS ids
                        FROM status_reactions r WHERE r.status_id = s.id GROUP BY r.emoji) x)"
        );
        // string_agg: PostgreSQL, and SQLite since 3.44 (the bundled one is newer). One
        // IN over a UNION, not `IN page OR IN originals`: PostgreSQL cannot use an index
        // for such an OR and scans the table.
        q.push(&format!(
            "SELECT {STATUS_COLUMNS}, {flags},
               (SELECT string_agg(CAST(m.account_id AS TEXT), ',' ORDER BY m.account_id)
                  FROM mentions m WHERE m.status_id = s.id AND NOT m.silent) AS mention_ids,
               (SELECT string_agg(t.name, ',' ORDER BY t.name)
                  FROM status_tags st JOIN tags t ON t.id = st.tag_id WHERE st.status_id = s.id) AS tag_names,
               s.id IN (SELECT id FROM page) AS requested,
               p.options AS poll_options, p.tallies AS poll_tallies,
               p.multiple AS poll_multiple, p.hide_totals AS poll_hide_totals,
               p.voters_count AS poll_voters_count, p.expires_at AS poll_expires_at,
               p.closed_at AS poll_closed_at, p.updated_at AS poll_updated_at,
               {own_votes} AS poll_own_votes,
               (SELECT pc.card FROM status_cards sc JOIN preview_cards pc ON pc.url = sc.url
                 WHERE sc.status_id = s.id) AS card,
               {reactions} AS reactions,
               sq.policy AS quote_policy, sq.quotes_count AS quotes_count,
               sq.quoted_status_id AS quoted_status_id, sq.quote_state AS quote_state
             FROM statuses s
             LEFT JOIN polls p ON p.status_id = s.id
             LEFT JOIN status_quotes sq ON sq.status_id = s.id
             WHERE s.id IN (SELECT id FROM page
                            UNION ALL
                            SELECT r.reblog_of_id FROM statuses r
                            WHERE r.id IN (SELECT id FROM page) AND r.reblog_of_id IS NOT NULL)
             ORDER BY {order}"
        ));
        q
    }

    /// The public and unlisted replies to a status (local or remote), paged by id.
    pub async fn public_replies(&self, status_id: Id, page: Page) -> Result<Vec<ListedId>> {
        let mut q = Query::new(
            "SELECT id AS rel_id, id AS item_id FROM statuses
             WHERE visibility IN ('public', 'unlisted') AND reblog_of_id IS NULL AND in_reply_to_id = ",
        );
        let p = q.arg(status_id);
        q.push(&p);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    /// Accounts that favourited a status, paged by the favourite's id.
    pub async fn favourited_by(&self, status_id: Id, page: Page) -> Result<Vec<ListedId>> {
        let mut q = Query::new(
            "SELECT id AS rel_id, account_id AS item_id FROM favourites WHERE status_id = ",
        );
        let p = q.arg(status_id);
        q.push(&p);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    /// Accounts that reblogged a status, paged by the reblog's id.
    pub async fn reblogged_by(&self, status_id: Id, page: Page) -> Result<Vec<ListedId>> {
        let mut q = Query::new(
            "SELECT id AS rel_id, account_id AS item_id FROM statuses WHERE reblog_of_id = ",
        );
        let p = q.arg(status_id);
        q.push(&p);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    /// Statuses the account favourited (or bookmarked), paged by that row's id.
    pub async fn saved_statuses(
        &self,
        account_id: Id,
        kind: Saved,
        page: Page,
    ) -> Result<Vec<ListedId>> {
        let table = match kind {
            Saved::Favourites => "favourites",
            Saved::Bookmarks => "bookmarks",
        };
        let mut q = Query::new(format!(
            "SELECT id AS rel_id, status_id AS item_id FROM {table} WHERE account_id = "
        ));
        let p = q.arg(account_id);
        q.push(&p);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    /// How many statuses an account favourited or bookmarked.
    pub async fn count_saved(&self, account_id: Id, kind: Saved) -> Result<i64> {
        let table = match kind {
            Saved::Favourites => "favourites",
            Saved::Bookmarks => "bookmarks",
        };
        let q = Query::new(format!(
            "SELECT COUNT(*) AS v FROM {table} WHERE account_id = $1"
        ))
        .bind(account_id);
        Ok(self.one::<Scalar>(q).await?.v)
    }

    /// The status created earlier with this idempotency key, if any.
    pub async fn idempotent_status(&self, account_id: Id, key: &str) -> Result<Option<Id>> {
        Ok(self
            .opt::<Scalar>(
                Query::new("SELECT status_id AS v FROM idempotency_keys WHERE account_id = $1 AND key = $2")
                    .bind(account_id)
                    .bind(key),
            )
            .await?
            .map(|r| r.v))
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Saved {
    Favourites,
    Bookmarks,
}

/// A status and what rendering it needs besides accounts and applications: the
/// viewer's flags on it (all false for an anonymous viewer), its mentions and its tags.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusView {
    #[sqlx(flatten)]
    pub status: StatusRow,
    pub favourited: bool,
    pub bookmarked: bool,
    pub reblogged: bool,
    /// Whether the viewer pinned it (so it is the viewer's own).
    pub pinned: bool,
    /// Whether the viewer muted its thread (no notifications from it).
    pub muted: bool,
    /// Mentioned account ids, comma-separated.
    pub mention_ids: Option<String>,
    /// Tag names, comma-separated (names never hold a comma).
    pub tag_names: Option<String>,
    /// Whether the status is one of the page's entries, not only reblogged by one.
    pub requested: bool,
    /// The poll's columns (all None when the status has none).
    pub poll_options: Option<String>,
    pub poll_tallies: Option<String>,
    pub poll_multiple: Option<bool>,
    pub poll_hide_totals: Option<bool>,
    pub poll_voters_count: Option<i64>,
    pub poll_expires_at: Option<i64>,
    pub poll_closed_at: Option<i64>,
    pub poll_updated_at: Option<i64>,
    /// The viewer's choices in the poll, comma-separated.
    pub poll_own_votes: Option<String>,
    /// Its link's preview card (JSON), once fetched.
    pub card: Option<String>,
    /// Emoji reactions: `emoji me ids` per emoji, comma-separated (see
    /// [`StatusView::reactions`]).
    pub reactions: Option<String>,
    /// Its quote row (`status_quotes`, all None without one): who may quote it, its
    /// accepted quotes, what it quotes and that quote's state.
    pub quote_policy: Option<String>,
    pub quotes_count: Option<i64>,
    pub quoted_status_id: Option<Id>,
    pub quote_state: Option<String>,
}

impl StatusView {
    /// A view of a row without flags, mentions or tags (a status already deleted).
    pub fn bare(status: StatusRow) -> StatusView {
        StatusView {
            status,
            favourited: false,
            bookmarked: false,
            reblogged: false,
            pinned: false,
            muted: false,
            mention_ids: None,
            tag_names: None,
            requested: true,
            poll_options: None,
            poll_tallies: None,
            poll_multiple: None,
            poll_hide_totals: None,
            poll_voters_count: None,
            poll_expires_at: None,
            poll_closed_at: None,
            poll_updated_at: None,
            poll_own_votes: None,
            card: None,
            reactions: None,
            quote_policy: None,
            quotes_count: None,
            quoted_status_id: None,
            quote_state: None,
        }
    }

    /// The status's poll, if it has one.
    pub fn poll(&self) -> Option<crate::PollRow> {
        Some(crate::PollRow {
            status_id: self.status.id,
            options: self.poll_options.clone()?,
            tallies: self.poll_tallies.clone().unwrap_or_else(|| "[]".into()),
            multiple: self.poll_multiple.unwrap_or(false),
            hide_totals: self.poll_hide_totals.unwrap_or(false),
            voters_count: self.poll_voters_count,
            expires_at: self.poll_expires_at,
            closed_at: self.poll_closed_at,
            updated_at: self.poll_updated_at.unwrap_or(0),
        })
    }

    /// The viewer's choices in the poll.
    pub fn own_votes(&self) -> Vec<i64> {
        self.poll_own_votes
            .iter()
            .flat_map(|s| s.split(','))
            .filter_map(|c| c.parse().ok())
            .collect()
    }

    /// The emoji reactions, per emoji in the order first used: the emoji's name,
    /// whether the viewer is among them, and who reacted (oldest first).
    pub fn reactions(&self) -> Vec<ReactionSummary> {
        self.reactions
            .iter()
            .flat_map(|s| s.split(','))
            .filter_map(|entry| {
                let mut parts = entry.split(' ');
                let emoji = parts.next().filter(|e| !e.is_empty())?.to_string();
                let me = parts.next()? == "1";
                let accounts: Vec<Id> = parts.filter_map(|id| id.parse().ok()).collect();
                Some(ReactionSummary {
                    emoji,
                    me,
                    accounts,
                })
            })
            .collect()
    }

    pub fn mentions(&self) -> impl Iterator<Item = Id> + '_ {
        self.mention_ids
            .iter()
            .flat_map(|s| s.split(','))
            .filter_map(|id| id.parse().ok())
    }

    pub fn tags(&self) -> impl Iterator<Item = &str> + '_ {
        self.tag_names
            .iter()
            .flat_map(|s| s.split(','))
            .filter(|t| !t.is_empty())
    }
}

/// One emoji's reactions to a status (see [`StatusView::reactions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionSummary {
    pub emoji: String,
    pub me: bool,
    pub accounts: Vec<Id>,
}

#[derive(Debug, Clone, Copy)]
pub enum StatusCounter {
    Replies,
    Reblogs,
    Favourites,
}

impl StatusCounter {
    fn column(self) -> &'static str {
        match self {
            StatusCounter::Replies => "replies_count",
            StatusCounter::Reblogs => "reblogs_count",
            StatusCounter::Favourites => "favourites_count",
        }
    }
}

/// A reblog found by [`WriteTx::reblogs_of`].
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReblogOf {
    pub id: Id,
    pub account_id: Id,
    pub original: Id,
}

impl WriteTx {
    pub async fn status(&mut self, id: Id) -> Result<Option<StatusRow>> {
        let mut q = select_statuses();
        let p = q.arg(id);
        q.push(&format!(" AND s.id = {p}"));
        self.opt(q).await
    }

    /// A status as this transaction sees it, locked against concurrent writers until
    /// it ends (PostgreSQL `FOR UPDATE`; SQLite's write transaction excludes them
    /// already): for read-check-write updates such as "the newest edit wins".
    pub async fn status_for_update(&mut self, id: Id) -> Result<Option<StatusRow>> {
        let mut q = select_statuses();
        let p = q.arg(id);
        q.push(&format!(" AND s.id = {p}"));
        if self.kind() == crate::EngineKind::Postgres {
            q.push(" FOR UPDATE");
        }
        self.opt(q).await
    }

    pub async fn insert_status(&mut self, s: &StatusRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO statuses (id, uri, url, account_id, in_reply_to_id, in_reply_to_account_id,
                   reblog_of_id, thread_id, object_type, content, source_text, spoiler_text, sensitive,
                   visibility, language, local, application_id, created_at, edited_at, updated_at,
                   attachments)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                   $21)",
            )
            .bind(s.id)
            .bind(&s.uri)
            .bind(&s.url)
            .bind(s.account_id)
            .bind(s.in_reply_to_id)
            .bind(s.in_reply_to_account_id)
            .bind(s.reblog_of_id)
            .bind(s.thread_id)
            .bind(&s.object_type)
            .bind(&s.content)
            .bind(&s.source_text)
            .bind(&s.spoiler_text)
            .bind(s.sensitive)
            .bind(&s.visibility)
            .bind(s.language.clone())
            .bind(s.local)
            .bind(s.application_id)
            .bind(s.created_at)
            .bind(s.edited_at)
            .bind(s.updated_at)
            .bind(&s.attachments),
        )
        .await?;
        self.index_status(s).await
    }

    /// Replaces the editable parts of a status (and its words in the search index).
    pub async fn update_status_content(&mut self, s: &StatusRow) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE statuses SET content = $1, source_text = $2, spoiler_text = $3, sensitive = $4,
                   language = $5, edited_at = $6, updated_at = $7, attachments = $8 WHERE id = $9",
            )
            .bind(&s.content)
            .bind(&s.source_text)
            .bind(&s.spoiler_text)
            .bind(s.sensitive)
            .bind(s.language.clone())
            .bind(s.edited_at)
            .bind(s.updated_at)
            .bind(&s.attachments)
            .bind(s.id),
        )
        .await?;
        self.reindex_status(s).await
    }

    pub async fn insert_edit(&mut self, e: &EditRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO status_edits (id, status_id, content, source_text, spoiler_text, sensitive, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(e.id)
            .bind(e.status_id)
            .bind(&e.content)
            .bind(&e.source_text)
            .bind(&e.spoiler_text)
            .bind(e.sensitive)
            .bind(e.created_at),
        )
        .await?;
        Ok(())
    }

    /// Removes a status and everything that hangs off it: [`WriteTx::delete_statuses`]
    /// for one.
    pub async fn delete_status(&mut self, id: Id) -> Result<u64> {
        self.delete_statuses(&[id]).await
    }

    /// Removes statuses and everything that hangs off them (mentions, tags, favourites,
    /// bookmarks, edits, notifications about them, pins, filters naming them, polls and
    /// votes, reactions, content types, cards, audiences, the search index, their place
    /// in direct conversations): one statement per table for the whole list. Reblogs
    /// of them are separate statuses: the engine deletes them too
    /// (`Engine::delete_statuses_rows`). Returns how many statuses were removed.
    pub async fn delete_statuses(&mut self, ids: &[Id]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        for table in [
            "mentions",
            "status_tags",
            "favourites",
            "bookmarks",
            "status_edits",
            "notifications",
            "pins",
            "filter_statuses",
            "poll_votes",
            "polls",
            "status_reactions",
            "status_content_types",
            "status_cards",
            "status_audiences",
        ] {
            let mut q = Query::new(format!("DELETE FROM {table} WHERE status_id IN "));
            let list = q.in_list(ids);
            q.push(&list);
            self.exec(q).await?;
        }
        self.unindex_statuses(ids).await?;
        let mut q = Query::new("DELETE FROM statuses WHERE id IN ");
        let list = q.in_list(ids);
        q.push(&list);
        let n = self.exec(q).await?;
        self.forget_conversation_statuses(ids).await?;
        Ok(n)
    }

    /// Statuses by id as this transaction sees them (those still stored).
    pub async fn statuses_in_tx(&mut self, ids: &[Id]) -> Result<Vec<StatusRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = select_statuses();
        let list = q.in_list(ids);
        q.push(&format!(" AND s.id IN {list} ORDER BY s.id"));
        self.all(q).await
    }

    /// Reblogs of any of `ids` (at most `limit`, oldest first): `(reblog, booster,
    /// original)`.
    pub async fn reblogs_of(&mut self, ids: &[Id], limit: i64) -> Result<Vec<ReblogOf>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new(
            "SELECT id, account_id, reblog_of_id AS original FROM statuses WHERE reblog_of_id IN ",
        );
        let list = q.in_list(ids);
        q.push(&list);
        let p = q.arg(limit);
        q.push(&format!(" ORDER BY id LIMIT {p}"));
        self.all(q).await
    }

    /// Tombstones (at `now`) of the statuses of `ids` that are not reblogs, from their
    /// rows: call before deleting them.
    pub async fn insert_tombstones_of(&mut self, ids: &[Id], now: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut q = Query::new(
            "INSERT INTO tombstones (uri, account_id, deleted_at) SELECT uri, account_id, ",
        );
        let p = q.arg(now);
        q.push(&p);
        q.push(" FROM statuses WHERE reblog_of_id IS NULL AND id IN ");
        let list = q.in_list(ids);
        q.push(&list);
        q.push(" ON CONFLICT (uri) DO NOTHING");
        self.exec(q).await?;
        Ok(())
    }

    /// Adds each `(status, delta)` to a counter of that status (never below zero):
    /// one statement per distinct delta.
    pub async fn bump_status_counters(
        &mut self,
        counter: StatusCounter,
        deltas: &[(Id, i64)],
    ) -> Result<()> {
        self.bump_counters("statuses", "id", counter.column(), deltas)
            .await
    }

    /// `UPDATE table SET col = max(col + delta, 0) WHERE key = id` for each
    /// `(id, delta)`, the ids of one delta in one statement.
    pub(crate) async fn bump_counters(
        &mut self,
        table: &str,
        key: &str,
        col: &str,
        deltas: &[(Id, i64)],
    ) -> Result<()> {
        let mut by_delta: std::collections::BTreeMap<i64, Vec<Id>> = Default::default();
        for (id, d) in deltas {
            if *d != 0 {
                by_delta.entry(*d).or_default().push(*id);
            }
        }
        for (delta, ids) in by_delta {
            let mut q = Query::new(format!("UPDATE {table} SET {col} = CASE WHEN {col} + "));
            let p = q.arg(delta);
            q.push(&format!(
                "{p} < 0 THEN 0 ELSE {col} + {p} END WHERE {key} IN "
            ));
            let list = q.in_list(&ids);
            q.push(&list);
            self.exec(q).await?;
        }
        Ok(())
    }

    pub async fn set_mentions(&mut self, status_id: Id, accounts: &[Id]) -> Result<()> {
        self.exec(
            Query::new("DELETE FROM mentions WHERE status_id = $1 AND NOT silent").bind(status_id),
        )
        .await?;
        self.add_mentions(status_id, accounts).await
    }

    /// The mentions of a status just inserted (nothing to replace): one statement, none
    /// when there are no mentions.
    pub async fn add_mentions(&mut self, status_id: Id, accounts: &[Id]) -> Result<()> {
        self.insert_mentions(status_id, accounts, false).await
    }

    /// Recipients of a status who may see it and are delivered to, but are never shown
    /// among its mentions (`bto`/`bcc`).
    pub async fn add_silent_mentions(&mut self, status_id: Id, accounts: &[Id]) -> Result<()> {
        self.insert_mentions(status_id, accounts, true).await
    }

    async fn insert_mentions(
        &mut self,
        status_id: Id,
        accounts: &[Id],
        silent: bool,
    ) -> Result<()> {
        if accounts.is_empty() {
            return Ok(());
        }
        let values: Vec<String> = (0..accounts.len())
            .map(|i| format!("($1, ${}, $2)", i + 3))
            .collect();
        let mut q = Query::new(format!(
            "INSERT INTO mentions (status_id, account_id, silent) VALUES {} ON CONFLICT DO NOTHING",
            values.join(", ")
        ))
        .bind(status_id)
        .bind(silent);
        for a in accounts {
            q = q.bind(*a);
        }
        self.exec(q).await?;
        Ok(())
    }

    /// Links the status to these (lowercase) hashtags, creating tags as needed.
    pub async fn set_tags(
        &mut self,
        status_id: Id,
        names: &[String],
        new_id: &(dyn Fn() -> Id + Sync),
        now: i64,
    ) -> Result<()> {
        self.exec(Query::new("DELETE FROM status_tags WHERE status_id = $1").bind(status_id))
            .await?;
        self.add_tags(status_id, names, new_id, now).await
    }

    /// The hashtags of a status just inserted (nothing to replace).
    pub async fn add_tags(
        &mut self,
        status_id: Id,
        names: &[String],
        new_id: &(dyn Fn() -> Id + Sync),
        now: i64,
    ) -> Result<()> {
        for name in names {
            self.exec(
                Query::new("INSERT INTO tags (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
                    .bind(new_id())
                    .bind(name)
                    .bind(now),
            )
            .await?;
            self.exec(
                Query::new(
                    "INSERT INTO status_tags (status_id, tag_id) SELECT $1, id FROM tags WHERE name = $2
                     ON CONFLICT DO NOTHING",
                )
                .bind(status_id)
                .bind(name),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn bump_status_counter(
        &mut self,
        status_id: Id,
        counter: StatusCounter,
        delta: i64,
    ) -> Result<()> {
        let col = counter.column();
        self.exec(
            Query::new(format!(
                "UPDATE statuses SET {col} = CASE WHEN {col} + $1 < 0 THEN 0 ELSE {col} + $1 END WHERE id = $2"
            ))
            .bind(delta)
            .bind(status_id),
        )
        .await?;
        Ok(())
    }

    /// Records an activity with its addressing. Returns false when an activity with this
    /// id was stored before (a repeated delivery), which the caller treats as done.
    pub async fn insert_activity(&mut self, a: &ActivityRecord) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "INSERT INTO activities (id, uri, kind, actor_id, object_uri, local, to_json, cc_json, json, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (uri) DO NOTHING",
                )
                .bind(a.id)
                .bind(&a.uri)
                .bind(&a.kind)
                .bind(a.actor_id)
                .bind(&a.object_uri)
                .bind(a.local)
                .bind(&a.to_json)
                .bind(&a.cc_json)
                .bind(&a.json)
                .bind(a.created_at),
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn insert_tombstone(&mut self, uri: &str, account_id: Id, now: i64) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO tombstones (uri, account_id, deleted_at) VALUES ($1, $2, $3) ON CONFLICT (uri) DO NOTHING",
            )
            .bind(uri)
            .bind(account_id)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Claims an idempotency key for a new status. False when the key was used before.
    pub async fn claim_idempotency_key(
        &mut self,
        account_id: Id,
        key: &str,
        status_id: Id,
        now: i64,
    ) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (account_id, key) DO NOTHING",
                )
                .bind(account_id)
                .bind(key)
                .bind(status_id)
                .bind(now),
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn prune_idempotency_keys(&mut self, before: i64) -> Result<u64> {
        self.exec(Query::new("DELETE FROM idempotency_keys WHERE created_at < $1").bind(before))
            .await
    }
}

/// A row of `activities`.
#[derive(Debug, Clone)]
pub struct ActivityRecord {
    pub id: Id,
    pub uri: String,
    pub kind: String,
    pub actor_id: Id,
    pub object_uri: String,
    pub local: bool,
    pub to_json: String,
    pub cc_json: String,
    pub json: String,
    pub created_at: i64,
}
