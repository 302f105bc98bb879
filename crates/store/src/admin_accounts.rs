//! Account moderation (migration 29): the admin's view of accounts (local users with
//! their sign-up state, remote actors), the flags moderators set (silenced, sensitized,
//! suspended, disabled), the warnings they give, and the purge of suspended accounts.

use sluice_model::Id;

use crate::query::{Scalar, TextScalar};
use crate::{ACCOUNT_COLUMNS, AccountRow, Page, Query, Result, Store, WriteTx};

/// An account as moderators see it: the account (suspended ones too) and, for a local
/// account, its user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminAccountRow {
    #[sqlx(flatten)]
    pub account: AccountRow,
    pub user_email: Option<String>,
    pub user_approved: Option<bool>,
    pub user_disabled: Option<bool>,
    pub user_confirmed: Option<bool>,
    pub user_role: Option<String>,
    pub user_locale: Option<String>,
    pub user_reason: Option<String>,
}

const ADMIN_SELECT: &str = "u.email AS user_email, u.approved AS user_approved, \
    u.disabled AS user_disabled, u.confirmed AS user_confirmed, u.role AS user_role, \
    u.locale AS user_locale, u.registration_reason AS user_reason \
    FROM accounts a LEFT JOIN users u ON u.account_id = a.id WHERE 1 = 1";

/// Where accounts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Local,
    Remote,
}

/// The moderation state accounts are filtered by (Mastodon's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Not suspended.
    Active,
    /// A local user waiting for approval.
    Pending,
    /// A local user whose sign-in is disabled.
    Disabled,
    Silenced,
    Suspended,
    Sensitized,
}

/// Filters of the admin account lists (every one optional, all ANDed).
#[derive(Debug, Clone, Default)]
pub struct AdminAccountFilter {
    pub origin: Option<Origin>,
    pub status: Vec<AccountStatus>,
    /// Only moderators and admins.
    pub staff: bool,
    /// Only these roles (`user`, `moderator`, `admin`).
    pub roles: Vec<String>,
    /// Username starts with (case-insensitive).
    pub username: Option<String>,
    /// Display name contains.
    pub display_name: Option<String>,
    /// E-mail address contains.
    pub email: Option<String>,
    /// Domain contains.
    pub domain: Option<String>,
}

/// `%text%` (or `text%`) for LIKE with `\` escaping, lowercased.
fn like(text: &str, prefix_only: bool) -> String {
    let t = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    if prefix_only {
        format!("{t}%")
    } else {
        format!("%{t}%")
    }
}

/// One warning a moderator gave (`account_warnings`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountWarningRow {
    pub id: Id,
    pub account_id: Option<Id>,
    pub target_account_id: Id,
    pub action: String,
    pub text: String,
    pub report_id: Option<Id>,
    pub created_at: i64,
}

/// Which moderation flag of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountFlag {
    Silenced,
    Sensitized,
}

impl AccountFlag {
    fn column(self) -> &'static str {
        match self {
            AccountFlag::Silenced => "silenced_at",
            AccountFlag::Sensitized => "sensitized_at",
        }
    }
}

impl Store {
    /// One account as moderators see it, suspended or not.
    pub async fn admin_account(&self, id: Id) -> Result<Option<AdminAccountRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {ACCOUNT_COLUMNS}, {ADMIN_SELECT} AND a.id = $1"
            ))
            .bind(id),
        )
        .await
    }

    /// An account by id whatever its state (suspended included).
    pub async fn account_any(&self, id: Id) -> Result<Option<AccountRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1"
            ))
            .bind(id),
        )
        .await
    }

    /// An account by `user` (local) or `user@domain`, whatever its state.
    pub async fn admin_account_by_acct(&self, acct: &str) -> Result<Option<AdminAccountRow>> {
        let acct = acct.trim().trim_start_matches('@');
        let (user, domain) = acct.split_once('@').unwrap_or((acct, ""));
        self.opt(
            Query::new(format!(
                "SELECT {ACCOUNT_COLUMNS}, {ADMIN_SELECT}
                   AND lower(a.username) = lower($1) AND lower(a.domain) = lower($2)"
            ))
            .bind(user)
            .bind(domain),
        )
        .await
    }

    /// A suspended local account by username (the lookups by name leave them out).
    pub async fn suspended_local_account(&self, name: &str) -> Result<Option<AccountRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.domain = ''
                   AND lower(a.username) = lower($1) AND a.suspended_at IS NOT NULL"
            ))
            .bind(name),
        )
        .await
    }

    /// A page of accounts for moderators, newest first (paged by account id).
    pub async fn admin_accounts(
        &self,
        f: &AdminAccountFilter,
        page: Page,
    ) -> Result<Vec<AdminAccountRow>> {
        let mut q = Query::new(format!("SELECT {ACCOUNT_COLUMNS}, {ADMIN_SELECT}"));
        match f.origin {
            Some(Origin::Local) => {
                q.push(" AND a.domain = ''");
            }
            Some(Origin::Remote) => {
                q.push(" AND a.domain <> ''");
            }
            None => {}
        }
        for s in &f.status {
            q.push(match s {
                AccountStatus::Active => " AND a.suspended_at IS NULL",
                AccountStatus::Pending => " AND u.approved = FALSE",
                AccountStatus::Disabled => " AND u.disabled = TRUE",
                AccountStatus::Silenced => " AND a.silenced_at IS NOT NULL",
                AccountStatus::Suspended => " AND a.suspended_at IS NOT NULL",
                AccountStatus::Sensitized => " AND a.sensitized_at IS NOT NULL",
            });
        }
        if f.staff {
            q.push(" AND u.role IN ('moderator', 'admin')");
        }
        if !f.roles.is_empty() {
            let mut names = Vec::new();
            for r in &f.roles {
                names.push(q.arg(r.as_str()));
            }
            q.push(&format!(" AND u.role IN ({})", names.join(", ")));
        }
        if let Some(u) = &f.username {
            let p = q.arg(like(u, true));
            q.push(&format!(" AND lower(a.username) LIKE {p} ESCAPE '\\'"));
        }
        if let Some(d) = &f.display_name {
            let p = q.arg(like(d, false));
            q.push(&format!(" AND lower(a.display_name) LIKE {p} ESCAPE '\\'"));
        }
        if let Some(e) = &f.email {
            let p = q.arg(like(e, false));
            q.push(&format!(" AND lower(u.email) LIKE {p} ESCAPE '\\'"));
        }
        if let Some(d) = &f.domain {
            let p = q.arg(like(d, false));
            q.push(&format!(" AND lower(a.domain) LIKE {p} ESCAPE '\\'"));
        }
        page.apply(&mut q, "a.id");
        Ok(page.finish(self.all(q).await?))
    }

    /// One warning.
    pub async fn account_warning(&self, id: Id) -> Result<Option<AccountWarningRow>> {
        self.opt(Query::new("SELECT * FROM account_warnings WHERE id = $1").bind(id))
            .await
    }

    /// The warnings given to `account`, newest first.
    pub async fn account_warnings_of(
        &self,
        account: Id,
        limit: i64,
    ) -> Result<Vec<AccountWarningRow>> {
        self.all(
            Query::new(
                "SELECT * FROM account_warnings WHERE target_account_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(account)
            .bind(limit),
        )
        .await
    }

    /// Local accounts suspended before `before` whose data is still kept (their
    /// suspension was made here), at most `limit`, oldest first.
    pub async fn suspended_to_purge(&self, before: i64, limit: i64) -> Result<Vec<Id>> {
        Ok(self
            .all::<Scalar>(
                Query::new(
                    "SELECT a.id AS v FROM accounts a WHERE a.suspended_at IS NOT NULL
                       AND a.suspended_at < $1 AND a.domain = '' AND a.suspension_origin = 'local'
                     ORDER BY a.suspended_at LIMIT $2",
                )
                .bind(before)
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// Who suspended the account (`local`, `remote`), if it is suspended.
    pub async fn suspension_origin(&self, id: Id) -> Result<Option<String>> {
        Ok(self
            .opt::<TextScalar>(
                Query::new(
                    "SELECT suspension_origin AS v FROM accounts WHERE id = $1 AND suspended_at IS NOT NULL",
                )
                .bind(id),
            )
            .await?
            .and_then(|r| r.v))
    }

    /// Up to `limit` statuses of `account` (reblogs included), newest first.
    pub async fn account_status_ids(&self, account: Id, limit: i64) -> Result<Vec<Id>> {
        Ok(self
            .all::<Scalar>(
                Query::new(
                    "SELECT id AS v FROM statuses WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(account)
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }
}

impl WriteTx {
    /// Sets or clears one moderation flag; false when there is no such account.
    pub async fn set_account_flag(
        &mut self,
        account: Id,
        flag: AccountFlag,
        at: Option<i64>,
    ) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(format!(
                    "UPDATE accounts SET {} = $2 WHERE id = $1",
                    flag.column()
                ))
                .bind(account)
                .bind(at),
            )
            .await?
            == 1)
    }

    /// Suspends an account (`origin`: who did) or lifts its suspension (`None`).
    pub async fn set_suspended(
        &mut self,
        account: Id,
        suspended: Option<(i64, &str)>,
    ) -> Result<bool> {
        let (at, origin) = match suspended {
            Some((at, origin)) => (Some(at), Some(origin)),
            None => (None, None),
        };
        Ok(self
            .exec(
                Query::new(
                    "UPDATE accounts SET suspended_at = $2, suspension_origin = $3 WHERE id = $1",
                )
                .bind(account)
                .bind(at)
                .bind(origin),
            )
            .await?
            == 1)
    }

    /// Disables or enables a local user's sign-in.
    pub async fn set_user_disabled(&mut self, account: Id, disabled: bool) -> Result<bool> {
        Ok(self
            .exec(
                Query::new("UPDATE users SET disabled = $2 WHERE account_id = $1")
                    .bind(account)
                    .bind(disabled),
            )
            .await?
            == 1)
    }

    /// Writes a warning.
    pub async fn insert_account_warning(&mut self, w: &AccountWarningRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO account_warnings (id, account_id, target_account_id, action, text,
                   report_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(w.id)
            .bind(w.account_id)
            .bind(w.target_account_id)
            .bind(w.action.as_str())
            .bind(w.text.as_str())
            .bind(w.report_id)
            .bind(w.created_at),
        )
        .await?;
        Ok(())
    }

    /// The `moderation_warning` notification of a warning, for its target.
    pub async fn insert_warning_notification(
        &mut self,
        id: Id,
        warning: &AccountWarningRow,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO notifications (id, account_id, from_account_id, kind, created_at,
                   account_warning_id) VALUES ($1, $2, $2, 'moderation_warning', $3, $4)",
            )
            .bind(id)
            .bind(warning.target_account_id)
            .bind(warning.created_at)
            .bind(warning.id),
        )
        .await?;
        Ok(())
    }

    /// Removes a local user who was never approved, with its account and everything
    /// its sign-up made (tokens, sessions, keys); false when it is not such a user.
    pub async fn delete_pending_user(&mut self, account: Id) -> Result<bool> {
        let n = self
            .exec(
                Query::new("DELETE FROM users WHERE account_id = $1 AND approved = FALSE")
                    .bind(account),
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        for table in [
            "tokens",
            "web_sessions",
            "email_tokens",
            "sign_in_failures",
            "sign_in_clients",
            "actor_keys",
            "notifications",
        ] {
            self.exec(
                Query::new(format!("DELETE FROM {table} WHERE account_id = $1")).bind(account),
            )
            .await?;
        }
        self.exec(Query::new("DELETE FROM accounts WHERE id = $1 AND domain = ''").bind(account))
            .await?;
        Ok(true)
    }

    /// Removes what a purged account leaves besides its statuses: its follows both ways
    /// (counters kept right), requests, blocks, mutes, favourites, bookmarks,
    /// notifications, lists, and its user with its tokens and sessions. The account row
    /// stays (its name is not taken again). Returns the accounts whose counters changed.
    pub async fn purge_account_rows(&mut self, account: Id) -> Result<Vec<Id>> {
        let touched = self.remove_remote_account(account, 0).await?;
        for sql in [
            "DELETE FROM blocks WHERE account_id = $1 OR target_account_id = $1",
            "DELETE FROM mutes WHERE account_id = $1 OR target_account_id = $1",
            "DELETE FROM favourites WHERE account_id = $1",
            "DELETE FROM bookmarks WHERE account_id = $1",
            "DELETE FROM notifications WHERE account_id = $1 OR from_account_id = $1",
            "DELETE FROM list_accounts WHERE account_id = $1",
            "DELETE FROM tokens WHERE account_id = $1",
            "DELETE FROM web_sessions WHERE account_id = $1",
            "DELETE FROM users WHERE account_id = $1",
        ] {
            self.exec(Query::new(sql).bind(account)).await?;
        }
        Ok(touched)
    }
}
