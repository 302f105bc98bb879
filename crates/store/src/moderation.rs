//! Moderation (migration 25): the staff role of local users and the audit log of
//! moderator actions.

use crate::query::Query;
use crate::{Id, Result, Store, WriteTx};

/// One moderator action, as the audit log keeps it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminActionRow {
    pub id: Id,
    /// Who acted; None for the command line on the server.
    pub account_id: Option<Id>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub target_label: String,
    pub text: String,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, account_id, action, target_type, target_id, target_label, text, created_at";

impl WriteTx {
    /// Sets a local user's role (`user`, `moderator`, `admin`); false when there is no
    /// such user. `users.admin` is kept equal to `role = 'admin'`.
    pub async fn set_role(&mut self, account_id: Id, role: &str) -> Result<bool> {
        Ok(self
            .exec(
                Query::new("UPDATE users SET role = $2, admin = $3 WHERE account_id = $1")
                    .bind(account_id)
                    .bind(role)
                    .bind(role == "admin"),
            )
            .await?
            == 1)
    }

    /// Writes one entry of the audit log, in the transaction of the action it records.
    pub async fn insert_admin_action(&mut self, a: &AdminActionRow) -> Result<()> {
        self.exec(
            Query::new(format!(
                "INSERT INTO admin_actions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(a.id)
            .bind(a.account_id)
            .bind(a.action.as_str())
            .bind(a.target_type.as_str())
            .bind(a.target_id.as_str())
            .bind(a.target_label.as_str())
            .bind(a.text.as_str())
            .bind(a.created_at),
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// The audit log, newest first: entries older than `before` (an id), at most
    /// `limit`, only those about `target` (type, id) when given.
    pub async fn admin_actions(
        &self,
        before: Option<Id>,
        target: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<AdminActionRow>> {
        let mut q = format!("SELECT {COLUMNS} FROM admin_actions WHERE id < $1");
        if target.is_some() {
            q.push_str(" AND target_type = $3 AND target_id = $4");
        }
        q.push_str(" ORDER BY id DESC LIMIT $2");
        let mut query = Query::new(q).bind(before.unwrap_or(i64::MAX)).bind(limit);
        if let Some((kind, id)) = target {
            query = query.bind(kind).bind(id);
        }
        self.all(query).await
    }

    /// The role of a local user; None when the account has no user.
    pub async fn user_role(&self, account_id: Id) -> Result<Option<String>> {
        Ok(self
            .opt::<crate::query::TextScalar>(
                Query::new("SELECT role AS v FROM users WHERE account_id = $1").bind(account_id),
            )
            .await?
            .and_then(|r| r.v))
    }
}
