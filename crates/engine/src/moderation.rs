//! Staff roles and the audit log (issue 17).
//!
//! A local user is a `user`, a `moderator` or an `admin`. What each may do is
//! Mastodon's permission bit set for its role (shown to apps in the credential
//! account's `role`), and every moderator endpoint, page and command checks one
//! permission with [`Role::allows`]. Every moderator action writes one row of the audit
//! log with [`Audit`], in the transaction of the action itself, so the log cannot miss
//! an action nor record one that did not happen.

use serde_json::json;
use sluice_model::{Id, Timestamp};
use sluice_store::{AdminActionRow, WriteTx};

use crate::{Engine, EngineError, Result};

/// Mastodon's role permissions (`UserRole::FLAGS`), as bits of `Role.permissions`.
pub mod permission {
    pub const ADMINISTRATOR: u64 = 1 << 0;
    pub const VIEW_AUDIT_LOG: u64 = 1 << 2;
    pub const VIEW_DASHBOARD: u64 = 1 << 3;
    pub const MANAGE_REPORTS: u64 = 1 << 4;
    pub const MANAGE_FEDERATION: u64 = 1 << 5;
    pub const MANAGE_SETTINGS: u64 = 1 << 6;
    pub const MANAGE_BLOCKS: u64 = 1 << 7;
    pub const MANAGE_TAXONOMIES: u64 = 1 << 8;
    pub const MANAGE_APPEALS: u64 = 1 << 9;
    pub const MANAGE_USERS: u64 = 1 << 10;
    pub const MANAGE_INVITES: u64 = 1 << 11;
    pub const MANAGE_RULES: u64 = 1 << 12;
    pub const MANAGE_ANNOUNCEMENTS: u64 = 1 << 13;
    pub const MANAGE_CUSTOM_EMOJIS: u64 = 1 << 14;
    pub const INVITE_USERS: u64 = 1 << 16;
    pub const MANAGE_ROLES: u64 = 1 << 17;
    pub const MANAGE_USER_ACCESS: u64 = 1 << 18;
    pub const DELETE_USER_DATA: u64 = 1 << 19;
}

/// A local user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    User,
    Moderator,
    Admin,
}

impl Role {
    /// The stored name (`users.role`); unknown names read as `User`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// The permission bits: a moderator has Mastodon's default moderator set (reports,
    /// users, hashtags, the audit log and the dashboard); an admin has `administrator`,
    /// which allows everything.
    pub fn permissions(self) -> u64 {
        use permission::*;
        match self {
            Role::User => INVITE_USERS,
            Role::Moderator => {
                INVITE_USERS
                    | VIEW_AUDIT_LOG
                    | VIEW_DASHBOARD
                    | MANAGE_REPORTS
                    | MANAGE_TAXONOMIES
                    | MANAGE_USERS
            }
            Role::Admin => ADMINISTRATOR,
        }
    }

    /// Whether the role allows `permission` (one bit of [`permission`]).
    pub fn allows(self, permission: u64) -> bool {
        let p = self.permissions();
        p & permission::ADMINISTRATOR != 0 || p & permission == permission
    }

    pub fn is_staff(self) -> bool {
        self != Role::User
    }

    /// The `role` of a credential account (and of admin account entities), with the ids
    /// Mastodon seeds its roles with.
    pub fn entity(self) -> serde_json::Value {
        let (id, name) = match self {
            Role::User => ("-99", ""),
            Role::Moderator => ("1", "Moderator"),
            Role::Admin => ("3", "Admin"),
        };
        json!({
            "id": id,
            "name": name,
            "color": "",
            "permissions": self.permissions().to_string(),
            "highlighted": self.is_staff(),
        })
    }
}

/// One entry for the audit log (see [`Engine::audit`]).
pub struct Audit<'a> {
    /// Who acts; None for the command line on the server.
    pub by: Option<Id>,
    /// What, as a short name: `suspend`, `resolve_report`, `set_role`, ...
    pub action: &'a str,
    /// On what kind of thing: `account`, `report`, `domain_block`, ...
    pub target_type: &'a str,
    pub target_id: String,
    /// A name a person reads: the handle, the domain.
    pub target_label: String,
    /// Why, as the moderator wrote it (may be empty).
    pub text: &'a str,
}

impl Engine {
    /// The role of local user `account`; `User` for anyone else.
    pub async fn role_of(&self, account: Id) -> Result<Role> {
        Ok(self
            .store
            .user_role(account)
            .await?
            .and_then(|r| Role::parse(&r))
            .unwrap_or(Role::User))
    }

    /// Requires that `account` may do what `permission` allows; 403 otherwise.
    pub async fn require_permission(&self, account: Id, permission: u64) -> Result<Role> {
        let role = self.role_of(account).await?;
        if role.allows(permission) {
            Ok(role)
        } else {
            Err(EngineError::Forbidden("This action is not allowed".into()))
        }
    }

    /// Writes one audit log entry in `tx`, the transaction of the action it records.
    pub async fn audit(&self, tx: &mut WriteTx, entry: Audit<'_>) -> Result<()> {
        tx.insert_admin_action(&AdminActionRow {
            id: self.new_id(),
            account_id: entry.by,
            action: entry.action.to_string(),
            target_type: entry.target_type.to_string(),
            target_id: entry.target_id,
            target_label: entry.target_label,
            text: entry.text.to_string(),
            created_at: Timestamp::now().millis(),
        })
        .await?;
        Ok(())
    }

    /// Gives local user `account` the role `role`, recorded in the audit log. `by`:
    /// the admin who does it (who must hold `manage_roles`, and cannot change their own
    /// role, so an instance never loses its last admin by accident), None for the
    /// command line.
    pub async fn set_role(&self, by: Option<Id>, account: Id, role: Role) -> Result<()> {
        if let Some(by) = by {
            self.require_permission(by, permission::MANAGE_ROLES)
                .await?;
            if by == account {
                return Err(EngineError::Forbidden(
                    "You cannot change your own role".into(),
                ));
            }
        }
        let a = self.account(account).await?.ok_or(EngineError::NotFound)?;
        let mut tx = self.store.begin().await?;
        if !tx.set_role(account, role.as_str()).await? {
            return Err(EngineError::NotFound);
        }
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "set_role",
                target_type: "account",
                target_id: account.to_string(),
                target_label: a.acct(),
                text: role.as_str(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The audit log, newest first (see [`sluice_store::Store::admin_actions`]).
    pub async fn audit_log(
        &self,
        before: Option<Id>,
        target: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<AdminActionRow>> {
        Ok(self.store.admin_actions(before, target, limit).await?)
    }
}
