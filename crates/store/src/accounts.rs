//! Accounts (local and remote actors) and the local users behind them.

use sluice_model::Id;

use crate::{ACCOUNT_COLUMNS, AccountRow, Query, Result, Store, UserRow, WriteTx, query::Scalar};

fn select_accounts() -> Query {
    Query::new(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.suspended_at IS NULL"
    ))
}

/// A new account to insert.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: Id,
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub uri: String,
    pub url: String,
    pub inbox_url: String,
    pub shared_inbox_url: String,
    pub followers_url: String,
    pub locked: bool,
    pub bot: bool,
    /// Whether its public posts may be found by full-text search (Mastodon's
    /// `indexable`; new local accounts opt in, as on Mastodon).
    pub indexable: bool,
    pub created_at: i64,
}

/// A new local user to insert with its account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub admin: bool,
    pub approved: bool,
    pub locale: String,
    pub registration_reason: String,
    /// False when the address must be confirmed before the user signs in.
    pub confirmed: bool,
}

/// Profile fields that `update_credentials` may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub note: Option<String>,
    pub note_source: Option<String>,
    pub fields: Option<String>,
    pub locked: Option<bool>,
    pub bot: Option<bool>,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    pub hide_collections: Option<bool>,
    pub default_visibility: Option<String>,
    pub default_sensitive: Option<bool>,
    pub default_language: Option<Option<String>>,
    /// `public`, `followers` or `nobody` (`source[quote_policy]`).
    pub default_quote_policy: Option<String>,
    /// A new avatar or header image URL ("" for none).
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
}

impl Store {
    pub async fn account(&self, id: Id) -> Result<Option<AccountRow>> {
        let mut q = select_accounts();
        let p = q.arg(id);
        q.push(&format!(" AND a.id = {p}"));
        self.opt(q).await
    }

    pub async fn accounts(&self, ids: &[Id]) -> Result<Vec<AccountRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = select_accounts();
        let list = q.in_list(ids);
        q.push(&format!(" AND a.id IN {list}"));
        self.all(q).await
    }

    /// Finds an account by `username` (local) or `username@domain`. Case-insensitive on
    /// the username; the local domain may be given as `local_domain`.
    pub async fn account_by_acct(
        &self,
        acct: &str,
        local_domain: &str,
    ) -> Result<Option<AccountRow>> {
        let acct = acct.trim_start_matches('@');
        let (user, domain) = match acct.split_once('@') {
            Some((u, d)) if d.eq_ignore_ascii_case(local_domain) => (u, String::new()),
            Some((u, d)) => (u, d.to_ascii_lowercase()),
            None => (acct, String::new()),
        };
        let mut q = select_accounts();
        let pu = q.arg(user);
        let pd = q.arg(domain);
        q.push(&format!(
            " AND lower(a.username) = lower({pu}) AND a.domain = {pd}"
        ));
        self.opt(q).await
    }

    pub async fn account_by_uri(&self, uri: &str) -> Result<Option<AccountRow>> {
        let mut q = select_accounts();
        let p = q.arg(uri);
        q.push(&format!(" AND a.uri = {p}"));
        self.opt(q).await
    }

    /// Search by username or display name substring, most followed first; only the
    /// accounts `following_of` follows when given.
    pub async fn search_accounts(
        &self,
        text: &str,
        following_of: Option<Id>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AccountRow>> {
        let pattern = format!(
            "%{}%",
            text.trim_start_matches('@')
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut q = select_accounts();
        let p = q.arg(pattern);
        if let Some(me) = following_of {
            let f = q.arg(me);
            q.push(&format!(
                " AND EXISTS (SELECT 1 FROM follows sf WHERE sf.account_id = {f} AND sf.target_account_id = a.id)"
            ));
        }
        let l = q.arg(limit);
        let o = q.arg(offset);
        q.push(&format!(
            " AND (lower(a.username) LIKE {p} ESCAPE '\\' OR lower(a.display_name) LIKE {p} ESCAPE '\\') \
             ORDER BY a.followers_count DESC, a.id LIMIT {l} OFFSET {o}"
        ));
        self.all(q).await
    }

    /// The profile directory: accounts that opted in (`discoverable`), not suspended nor
    /// silenced,
    /// local ones only when their user may sign in; only local accounts when
    /// `local_only`. Most recently active first (`by_activity`) or newest first. A
    /// viewer does not see accounts it blocks or mutes, or that block it.
    pub async fn directory(
        &self,
        viewer: Option<Id>,
        local_only: bool,
        by_activity: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AccountRow>> {
        let mut q = select_accounts();
        q.push(
            " AND a.discoverable AND a.silenced_at IS NULL AND (a.domain <> '' OR EXISTS (SELECT 1 FROM users u
               WHERE u.account_id = a.id AND u.approved AND NOT u.disabled))",
        );
        if local_only {
            q.push(" AND a.domain = ''");
        }
        if let Some(v) = viewer {
            let v = q.arg(v);
            q.push(&format!(
                " AND a.id <> {v}
                  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = {v} AND b.target_account_id = a.id)
                                                          OR (b.account_id = a.id AND b.target_account_id = {v}))
                  AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = {v} AND m.target_account_id = a.id)"
            ));
        }
        let order = if by_activity {
            "COALESCE(a.last_status_at, 0) DESC, a.id DESC"
        } else {
            "a.id DESC"
        };
        let l = q.arg(limit);
        let o = q.arg(offset);
        q.push(&format!(" ORDER BY {order} LIMIT {l} OFFSET {o}"));
        self.all(q).await
    }

    pub async fn user(&self, account_id: Id) -> Result<Option<UserRow>> {
        self.opt(Query::new("SELECT * FROM users WHERE account_id = $1").bind(account_id))
            .await
    }

    /// Finds a user by e-mail or by local username (sign-in accepts either).
    pub async fn user_by_login(&self, login: &str) -> Result<Option<UserRow>> {
        self.opt(
            Query::new(
                "SELECT u.* FROM users u JOIN accounts a ON a.id = u.account_id
                 WHERE lower(u.email) = lower($1) OR (a.domain = '' AND lower(a.username) = lower($1))
                 ORDER BY CASE WHEN lower(u.email) = lower($1) THEN 0 ELSE 1 END LIMIT 1",
            )
            .bind(login),
        )
        .await
    }

    pub async fn count_local_users(&self) -> Result<i64> {
        Ok(self
            .one::<Scalar>(Query::new("SELECT count(*) AS v FROM users"))
            .await?
            .v)
    }

    pub async fn count_local_statuses(&self) -> Result<i64> {
        Ok(self
            .one::<Scalar>(Query::new(
                "SELECT count(*) AS v FROM statuses WHERE local = TRUE",
            ))
            .await?
            .v)
    }
}

impl WriteTx {
    pub async fn insert_account(&mut self, a: &NewAccount) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO accounts (id, username, domain, display_name, uri, url, inbox_url,
                   shared_inbox_url, followers_url, locked, bot, created_at, updated_at, indexable)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)",
            )
            .bind(a.id)
            .bind(&a.username)
            .bind(&a.domain)
            .bind(&a.display_name)
            .bind(&a.uri)
            .bind(&a.url)
            .bind(&a.inbox_url)
            .bind(&a.shared_inbox_url)
            .bind(&a.followers_url)
            .bind(a.locked)
            .bind(a.bot)
            .bind(a.created_at)
            .bind(a.indexable),
        )
        .await?;
        Ok(())
    }

    pub async fn insert_user(
        &mut self,
        account_id: Id,
        u: &NewUser,
        created_at: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO users (account_id, email, password_hash, admin, approved, locale,
                   registration_reason, created_at, confirmed, role)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(account_id)
            .bind(&u.email)
            .bind(&u.password_hash)
            .bind(u.admin)
            .bind(u.approved)
            .bind(&u.locale)
            .bind(&u.registration_reason)
            .bind(created_at)
            .bind(u.confirmed)
            .bind(if u.admin { "admin" } else { "user" }),
        )
        .await?;
        Ok(())
    }

    pub async fn update_profile(
        &mut self,
        account_id: Id,
        p: &ProfileUpdate,
        now: i64,
    ) -> Result<()> {
        let mut q = Query::new("UPDATE accounts SET updated_at = $1");
        q = q.bind(now);
        let set = |q: &mut Query, col: &str, v: crate::Arg| {
            let p = q.arg(v);
            q.push(&format!(", {col} = {p}"));
        };
        if let Some(v) = &p.display_name {
            set(&mut q, "display_name", v.into());
        }
        if let Some(v) = &p.note {
            set(&mut q, "note", v.into());
        }
        if let Some(v) = &p.note_source {
            set(&mut q, "note_source", v.into());
        }
        if let Some(v) = &p.fields {
            set(&mut q, "fields", v.into());
        }
        if let Some(v) = &p.avatar_url {
            set(&mut q, "avatar_url", v.into());
        }
        if let Some(v) = &p.header_url {
            set(&mut q, "header_url", v.into());
        }
        for (col, v) in [
            ("locked", p.locked),
            ("bot", p.bot),
            ("discoverable", p.discoverable),
            ("indexable", p.indexable),
            ("hide_collections", p.hide_collections),
        ] {
            if let Some(v) = v {
                set(&mut q, col, v.into());
            }
        }
        let pid = q.arg(account_id);
        q.push(&format!(" WHERE id = {pid}"));
        self.exec(q).await?;

        let mut q = Query::new("UPDATE users SET account_id = account_id");
        if let Some(v) = &p.default_visibility {
            set(&mut q, "default_visibility", v.into());
        }
        if let Some(v) = p.default_sensitive {
            set(&mut q, "default_sensitive", v.into());
        }
        if let Some(v) = &p.default_language {
            set(&mut q, "default_language", v.clone().into());
        }
        if let Some(v) = &p.default_quote_policy {
            set(&mut q, "default_quote_policy", v.into());
        }
        let pid = q.arg(account_id);
        q.push(&format!(" WHERE account_id = {pid}"));
        self.exec(q).await?;
        Ok(())
    }

    pub async fn set_password(&mut self, account_id: Id, hash: &str) -> Result<()> {
        self.exec(
            Query::new("UPDATE users SET password_hash = $1 WHERE account_id = $2")
                .bind(hash)
                .bind(account_id),
        )
        .await?;
        Ok(())
    }

    pub async fn approve_user(&mut self, account_id: Id) -> Result<u64> {
        self.exec(
            Query::new("UPDATE users SET approved = TRUE WHERE account_id = $1").bind(account_id),
        )
        .await
    }

    /// Adds `delta` to one of the account's counters (never below zero).
    pub async fn bump_account_counter(
        &mut self,
        account_id: Id,
        counter: AccountCounter,
        delta: i64,
    ) -> Result<()> {
        let col = counter.column();
        self.exec(
            Query::new(format!(
                "UPDATE accounts SET {col} = CASE WHEN {col} + $1 < 0 THEN 0 ELSE {col} + $1 END WHERE id = $2"
            ))
            .bind(delta)
            .bind(account_id),
        )
        .await?;
        Ok(())
    }

    /// Adds each `(account, delta)` to one of the accounts' counters (never below
    /// zero): one statement per distinct delta.
    pub async fn bump_account_counters(
        &mut self,
        counter: AccountCounter,
        deltas: &[(Id, i64)],
    ) -> Result<()> {
        self.bump_counters("accounts", "id", counter.column(), deltas)
            .await
    }

    /// A new status by `account_id`, written at `created_at`: one more in its count, and
    /// its last-status date moved forward (never back: a late delivery of an old post
    /// leaves it). One statement for both.
    pub async fn count_new_status(&mut self, account_id: Id, created_at: i64) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE accounts SET statuses_count = statuses_count + 1,
                   last_status_at = CASE WHEN last_status_at IS NULL OR last_status_at < $1
                                    THEN $1 ELSE last_status_at END
                 WHERE id = $2",
            )
            .bind(created_at)
            .bind(account_id),
        )
        .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub enum AccountCounter {
    Followers,
    Following,
    Statuses,
}

impl AccountCounter {
    fn column(self) -> &'static str {
        match self {
            AccountCounter::Followers => "followers_count",
            AccountCounter::Following => "following_count",
            AccountCounter::Statuses => "statuses_count",
        }
    }
}
