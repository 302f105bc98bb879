//! Lists (a user's named subsets of the accounts they follow, each with its own
//! timeline) and user-level domain blocks (a user hiding a whole remote domain).
//!
//! Both are private to their owner: every read takes the owner's id, so a list of
//! someone else is simply not found.

use sluice_model::Id;

use crate::{EngineKind, ListedId, Page, Query, Result, Store, WriteTx, query::Scalar};

/// A row of `lists`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListRow {
    pub id: Id,
    pub account_id: Id,
    pub title: String,
    /// `followed`, `list` or `none`.
    pub replies_policy: String,
    pub exclusive: bool,
    pub created_at: i64,
}

/// One list membership as a streaming connection holds it: the list, its rules, and
/// one member (None for an empty list).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreamListRow {
    pub list_id: Id,
    pub replies_policy: String,
    pub exclusive: bool,
    pub member_id: Option<Id>,
}

/// A user's domain block, listed under its row id (the paging cursor).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountDomainBlockRow {
    pub id: Id,
    pub domain: String,
}

/// What [`WriteTx::insert_list`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOutcome {
    Created,
    /// The owner has as many lists as allowed: nothing changed.
    LimitReached,
}

/// Hides statuses whose author (`col`) is on a domain `viewer` blocked. An
/// uncorrelated `NOT IN`: the (usually empty) set is computed once per query, and
/// `accounts_domain` finds the domain's accounts.
pub(crate) fn hide_domain_blocked(q: &mut Query, viewer: Option<Id>, col: &str) {
    if let Some(me) = viewer {
        let p = q.arg(me);
        q.push(&format!(
            " AND {col} NOT IN (SELECT da.id FROM account_domain_blocks adb
                 JOIN accounts da ON da.domain = adb.domain WHERE adb.account_id = {p})"
        ));
    }
}

const LIST_COLUMNS: &str = "id, account_id, title, replies_policy, exclusive, created_at";

impl Store {
    /// The owner's lists, oldest first (as Mastodon lists them).
    pub async fn lists_of(&self, owner: Id) -> Result<Vec<ListRow>> {
        self.all(
            Query::new(format!(
                "SELECT {LIST_COLUMNS} FROM lists WHERE account_id = $1 ORDER BY id"
            ))
            .bind(owner),
        )
        .await
    }

    /// One of the owner's lists; None when it does not exist or is someone else's.
    pub async fn list(&self, owner: Id, id: Id) -> Result<Option<ListRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {LIST_COLUMNS} FROM lists WHERE id = $1 AND account_id = $2"
            ))
            .bind(id)
            .bind(owner),
        )
        .await
    }

    /// The owner's lists that hold `account`.
    pub async fn lists_containing(&self, owner: Id, account: Id) -> Result<Vec<ListRow>> {
        self.all(
            Query::new(format!(
                "SELECT {LIST_COLUMNS} FROM lists WHERE account_id = $1
                 AND id IN (SELECT list_id FROM list_accounts WHERE account_id = $2) ORDER BY id"
            ))
            .bind(owner)
            .bind(account),
        )
        .await
    }

    /// Members of a list, paged by account id (the cursor of the `Link` header).
    pub async fn list_members(&self, list_id: Id, page: Page) -> Result<Vec<ListedId>> {
        let mut q = Query::new(
            "SELECT account_id AS rel_id, account_id AS item_id FROM list_accounts WHERE list_id = ",
        );
        let p = q.arg(list_id);
        q.push(&p);
        page.apply(&mut q, "account_id");
        Ok(page.finish(self.all(q).await?))
    }

    /// A list's timeline for its owner: statuses (and reblogs) of its members, minus
    /// direct messages, replies outside the list's `replies_policy`, and blocked,
    /// muted or domain-blocked authors.
    pub async fn list_timeline(
        &self,
        owner: Id,
        list: &crate::ListRow,
        page: Page,
    ) -> Result<Vec<crate::StatusView>> {
        let mut q = crate::statuses::page_ids();
        let p = q.arg(owner);
        let l = q.arg(list.id);
        // Replies to someone else than the author: to the owner always; to followed
        // accounts or list members as the policy says.
        let replies = match list.replies_policy.as_str() {
            "followed" => format!(
                " OR s.in_reply_to_account_id IN (SELECT f2.target_account_id FROM follows f2 WHERE f2.account_id = {p})"
            ),
            "list" => format!(
                " OR s.in_reply_to_account_id IN (SELECT la2.account_id FROM list_accounts la2 WHERE la2.list_id = {l})"
            ),
            _ => String::new(),
        };
        q.push(&format!(
            " AND s.account_id IN (SELECT la.account_id FROM list_accounts la WHERE la.list_id = {l})
              AND s.visibility <> 'direct'
              AND (s.reblog_of_id IS NULL OR EXISTS (SELECT 1 FROM follows f3
                     WHERE f3.account_id = {p} AND f3.target_account_id = s.account_id AND f3.show_reblogs = TRUE))
              AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id = s.account_id
                   OR s.in_reply_to_account_id = {p}{replies})
              AND NOT EXISTS (SELECT 1 FROM statuses r WHERE r.id = s.reblog_of_id AND (
                     EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = {p} AND b.target_account_id = r.account_id)
                     OR EXISTS (SELECT 1 FROM blocks b2 WHERE b2.account_id = r.account_id AND b2.target_account_id = {p})
                     OR EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = {p} AND mu.target_account_id = r.account_id)))
              AND NOT EXISTS (SELECT 1 FROM mutes mu2 WHERE mu2.account_id = {p} AND mu2.target_account_id = s.account_id)
              AND NOT EXISTS (SELECT 1 FROM blocks b3 WHERE b3.account_id = s.account_id AND b3.target_account_id = {p})"
        ));
        hide_domain_blocked(&mut q, Some(owner), "s.account_id");
        hide_domain_blocked_reblogs(&mut q, owner);
        page.apply(&mut q, "s.id");
        self.views(q, Some(owner)).await
    }

    /// What a streaming connection of `owner` filters lists on: every (list, member)
    /// pair, and each empty list once, at most `limit` rows.
    pub async fn stream_lists(&self, owner: Id, limit: i64) -> Result<Vec<StreamListRow>> {
        self.all(
            Query::new(
                "SELECT l.id AS list_id, l.replies_policy, l.exclusive, la.account_id AS member_id
                 FROM lists l LEFT JOIN list_accounts la ON la.list_id = l.id
                 WHERE l.account_id = $1 ORDER BY l.id LIMIT $2",
            )
            .bind(owner)
            .bind(limit),
        )
        .await
    }

    /// The domains `owner` blocked, newest first, paged by the block's id.
    pub async fn account_domain_blocks(
        &self,
        owner: Id,
        page: Page,
    ) -> Result<Vec<AccountDomainBlockRow>> {
        let mut q = Query::new("SELECT id, domain FROM account_domain_blocks WHERE account_id = ");
        let p = q.arg(owner);
        q.push(&p);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    /// Every domain `owner` blocked (at most `limit`), for a streaming connection.
    pub async fn blocked_domains(&self, owner: Id, limit: i64) -> Result<Vec<String>> {
        Ok(self
            .all::<crate::TextScalar>(
                Query::new(
                    "SELECT domain AS v FROM account_domain_blocks WHERE account_id = $1
                     ORDER BY id LIMIT $2",
                )
                .bind(owner)
                .bind(limit),
            )
            .await?
            .into_iter()
            .filter_map(|r| r.v)
            .collect())
    }

    /// Whether `owner` blocked `domain`.
    pub async fn blocks_domain(&self, owner: Id, domain: &str) -> Result<bool> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT count(*) AS v FROM account_domain_blocks WHERE account_id = $1 AND domain = $2",
                )
                .bind(owner)
                .bind(domain),
            )
            .await?
            .v
            > 0)
    }

    /// Those of `accounts` that `owner` follows.
    pub async fn followed_among(&self, owner: Id, accounts: &[Id]) -> Result<Vec<Id>> {
        let mut q = Query::new("SELECT target_account_id AS v FROM follows WHERE account_id = ");
        let o = q.arg(owner);
        q.push(&o);
        let list = q.in_list(accounts);
        q.push(&format!(" AND target_account_id IN {list}"));
        Ok(self
            .all::<Scalar>(q)
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }
}

/// Hides reblogs of statuses whose author is on a domain `me` blocked.
pub(crate) fn hide_domain_blocked_reblogs(q: &mut Query, me: Id) {
    let p = q.arg(me);
    q.push(&format!(
        " AND (s.reblog_of_id IS NULL OR NOT EXISTS (SELECT 1 FROM statuses rd
             JOIN accounts rda ON rda.id = rd.account_id
             JOIN account_domain_blocks adb2 ON adb2.domain = rda.domain
             WHERE rd.id = s.reblog_of_id AND adb2.account_id = {p}))"
    ));
}

impl WriteTx {
    /// Creates a list for an owner with fewer than `limit` lists. The count and the
    /// insert are one statement, with the owner's row locked first on PostgreSQL (as
    /// [`WriteTx::pin`]).
    pub async fn insert_list(&mut self, list: &ListRow, limit: i64) -> Result<ListOutcome> {
        if self.kind() == EngineKind::Postgres {
            self.opt::<Scalar>(
                Query::new("SELECT id AS v FROM accounts WHERE id = $1 FOR UPDATE")
                    .bind(list.account_id),
            )
            .await?;
        }
        let n = self
            .exec(
                Query::new(
                    "INSERT INTO lists (id, account_id, title, replies_policy, exclusive, created_at)
                     SELECT $1, $2, $3, $4, $5, $6
                     WHERE (SELECT count(*) FROM lists WHERE account_id = $2) < $7",
                )
                .bind(list.id)
                .bind(list.account_id)
                .bind(&list.title)
                .bind(&list.replies_policy)
                .bind(list.exclusive)
                .bind(list.created_at)
                .bind(limit),
            )
            .await?;
        Ok(if n == 1 {
            ListOutcome::Created
        } else {
            ListOutcome::LimitReached
        })
    }

    /// Replaces a list's title and rules; false when the owner has no such list.
    pub async fn update_list(&mut self, list: &ListRow) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "UPDATE lists SET title = $1, replies_policy = $2, exclusive = $3
                     WHERE id = $4 AND account_id = $5",
                )
                .bind(&list.title)
                .bind(&list.replies_policy)
                .bind(list.exclusive)
                .bind(list.id)
                .bind(list.account_id),
            )
            .await?
            == 1)
    }

    /// Deletes a list and its memberships; false when the owner has no such list.
    pub async fn delete_list(&mut self, owner: Id, id: Id) -> Result<bool> {
        let gone = self
            .exec(
                Query::new("DELETE FROM lists WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(owner),
            )
            .await?
            == 1;
        if gone {
            self.exec(Query::new("DELETE FROM list_accounts WHERE list_id = $1").bind(id))
                .await?;
        }
        Ok(gone)
    }

    /// Adds accounts to a list, only those its owner follows, keeping the list at
    /// most `limit` members (checked in the statement; the caller checked the list is
    /// the owner's). Returns how many were added.
    pub async fn add_list_members(
        &mut self,
        owner: Id,
        list_id: Id,
        accounts: &[Id],
        limit: i64,
    ) -> Result<u64> {
        if accounts.is_empty() {
            return Ok(0);
        }
        if self.kind() == EngineKind::Postgres {
            self.opt::<Scalar>(
                Query::new("SELECT id AS v FROM lists WHERE id = $1 FOR UPDATE").bind(list_id),
            )
            .await?;
        }
        let mut q = Query::new("INSERT INTO list_accounts (list_id, account_id) SELECT ");
        let l = q.arg(list_id);
        let o = q.arg(owner);
        let lim = q.arg(limit);
        let list = q.in_list(accounts);
        q.push(&format!(
            "{l}, f.target_account_id FROM follows f WHERE f.account_id = {o}
               AND f.target_account_id IN {list}
               AND (SELECT count(*) FROM list_accounts c WHERE c.list_id = {l}) + {n} <= {lim}
             ON CONFLICT (list_id, account_id) DO NOTHING",
            n = accounts.len()
        ));
        self.exec(q).await
    }

    /// Those of `accounts` that are not members of the list yet.
    pub async fn fresh_list_members(&mut self, list_id: Id, accounts: &[Id]) -> Result<Vec<Id>> {
        let mut q = Query::new("SELECT account_id AS v FROM list_accounts WHERE list_id = ");
        let l = q.arg(list_id);
        q.push(&l);
        let list = q.in_list(accounts);
        q.push(&format!(" AND account_id IN {list}"));
        let present: std::collections::HashSet<Id> = self
            .all::<Scalar>(q)
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect();
        Ok(accounts
            .iter()
            .copied()
            .filter(|a| !present.contains(a))
            .collect())
    }

    /// Removes accounts from a list; returns how many were removed.
    pub async fn remove_list_members(&mut self, list_id: Id, accounts: &[Id]) -> Result<u64> {
        if accounts.is_empty() {
            return Ok(0);
        }
        let mut q = Query::new("DELETE FROM list_accounts WHERE list_id = ");
        let l = q.arg(list_id);
        q.push(&l);
        let list = q.in_list(accounts);
        q.push(&format!(" AND account_id IN {list}"));
        self.exec(q).await
    }

    /// Takes `target` out of every list of `owner` (when `owner` stops following it).
    pub async fn remove_from_lists_of(&mut self, owner: Id, target: Id) -> Result<u64> {
        self.exec(
            Query::new(
                "DELETE FROM list_accounts WHERE account_id = $2
                 AND list_id IN (SELECT id FROM lists WHERE account_id = $1)",
            )
            .bind(owner)
            .bind(target),
        )
        .await
    }

    /// Blocks a domain for `owner` with fewer than `limit` blocks; true when it is new.
    pub async fn insert_account_domain_block(
        &mut self,
        owner: Id,
        domain: &str,
        id: Id,
        now: i64,
        limit: i64,
    ) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "INSERT INTO account_domain_blocks (account_id, domain, id, created_at)
                     SELECT $1, $2, $3, $4
                     WHERE (SELECT count(*) FROM account_domain_blocks WHERE account_id = $1) < $5
                     ON CONFLICT (account_id, domain) DO NOTHING",
                )
                .bind(owner)
                .bind(domain)
                .bind(id)
                .bind(now)
                .bind(limit),
            )
            .await?
            == 1)
    }

    /// Unblocks a domain; true when this transaction removed the block.
    pub async fn delete_account_domain_block(&mut self, owner: Id, domain: &str) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "DELETE FROM account_domain_blocks WHERE account_id = $1 AND domain = $2",
                )
                .bind(owner)
                .bind(domain),
            )
            .await?
            == 1)
    }

    /// Ends follows of `target` by accounts of `domain` (at most `limit`), in one
    /// statement; returns the followers and their follows' ids (uri).
    pub async fn remove_followers_from_domain(
        &mut self,
        target: Id,
        domain: &str,
        limit: i64,
    ) -> Result<Vec<(Id, String)>> {
        self.remove_from_domain("follows", target, domain, limit)
            .await
    }

    /// Drops pending follow requests to `target` from accounts of `domain`.
    pub async fn remove_follow_requests_from_domain(
        &mut self,
        target: Id,
        domain: &str,
        limit: i64,
    ) -> Result<Vec<(Id, String)>> {
        self.remove_from_domain("follow_requests", target, domain, limit)
            .await
    }

    async fn remove_from_domain(
        &mut self,
        table: &str,
        target: Id,
        domain: &str,
        limit: i64,
    ) -> Result<Vec<(Id, String)>> {
        let rows = self
            .all::<FollowerRow>(
                Query::new(format!(
                    "DELETE FROM {table} WHERE id IN (SELECT f.id FROM {table} f
                       JOIN accounts a ON a.id = f.account_id
                       WHERE f.target_account_id = $1 AND a.domain = $2 LIMIT $3)
                     RETURNING account_id, uri"
                ))
                .bind(target)
                .bind(domain)
                .bind(limit),
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.account_id, r.uri)).collect())
    }
}

#[derive(Debug, sqlx::FromRow)]
struct FollowerRow {
    account_id: Id,
    uri: String,
}
