//! What moderators do to accounts (issue 17): approve or reject sign-ups, disable
//! sign-in, limit (silence), mark media sensitive, suspend and lift each of these,
//! delete a suspended account's data, and the warnings they give.
//!
//! Every action is one transaction with its audit entry ([`Engine::audit`]) and, when
//! it has words or a type, its warning (`account_warnings`, a `moderation_warning`
//! notification for a local target). The effects are read where accounts are read:
//! a suspended account is left out of every account lookup (so its posts, profile,
//! notifications and stream events go with it), a silenced one is filtered in SQL
//! like a silenced domain (public timelines, trends, search, notifications), a
//! sensitized one's media is rendered `sensitive`.
//!
//! Suspending a local account ends its sessions and tells its followers' servers with
//! an `Update` of the actor carrying `suspended: true`, as Mastodon 4 does; lifting it
//! sends the `Update` again without it. Its data is kept [`SUSPENSION_KEEP_MS`] (30
//! days), then purged in bounded batches by the maintenance task (or at once by
//! `DELETE /api/v1/admin/accounts/:id`), which sends a `Delete` of the actor.

use serde_json::{Value, json};
use sluice_model::{Id, Timestamp};
use sluice_store::{AccountFlag, AccountRow, AccountWarningRow, AdminAccountRow};

use crate::effects::Changes;
use crate::moderation::{Audit, Role, permission};
use crate::{Engine, EngineError, Result};

/// How long a suspended local account's data is kept before it is purged.
pub const SUSPENSION_KEEP_MS: i64 = 30 * 24 * 3600 * 1000;
/// Statuses deleted per transaction when an account is purged.
pub const PURGE_BATCH: i64 = 200;
/// Accounts purged per maintenance run (each bounded by [`PURGE_BATCH`] batches).
pub const PURGE_ACCOUNTS_PER_RUN: i64 = 2;
/// Batches per purged account in one run; the next run continues.
pub const PURGE_BATCHES_PER_ACCOUNT: usize = 25;
/// The longest warning text.
pub const MAX_WARNING_CHARS: usize = 5_000;

/// What `POST /api/v1/admin/accounts/:id/action` does (Mastodon's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    /// Only the warning.
    None,
    Disable,
    Sensitive,
    Silence,
    Suspend,
}

impl AccountAction {
    pub fn parse(s: &str) -> Option<AccountAction> {
        Some(match s {
            "none" => AccountAction::None,
            "disable" => AccountAction::Disable,
            "sensitive" => AccountAction::Sensitive,
            "silence" => AccountAction::Silence,
            "suspend" => AccountAction::Suspend,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::None => "none",
            AccountAction::Disable => "disable",
            AccountAction::Sensitive => "sensitive",
            AccountAction::Silence => "silence",
            AccountAction::Suspend => "suspend",
        }
    }
}

/// A moderator's action with its warning.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub action: AccountAction,
    /// The warning shown to the user (may be empty).
    pub text: String,
    /// The report it answers, if any.
    pub report_id: Option<Id>,
    /// Whether the owner is told (a `moderation_warning` notification).
    pub notify: bool,
}

/// The lifting actions (`enable`, `unsilence`, `unsuspend`, `unsensitive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    Enable,
    Unsilence,
    Unsuspend,
    Unsensitive,
}

impl Undo {
    pub fn as_str(self) -> &'static str {
        match self {
            Undo::Enable => "enable",
            Undo::Unsilence => "unsilence",
            Undo::Unsuspend => "unsuspend",
            Undo::Unsensitive => "unsensitive",
        }
    }
}

fn millis_rfc3339(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(Timestamp(t).to_rfc3339()))
}

impl Engine {
    /// Checks that `by` (None: the command line) may act on `target` with
    /// `permission`: staff with the permission, not on themselves, and only on users
    /// whose role is below theirs (as Mastodon's role positions).
    async fn check_actor(&self, by: Option<Id>, target: &AdminAccountRow, perm: u64) -> Result<()> {
        let Some(by) = by else { return Ok(()) };
        let role = self.require_permission(by, perm).await?;
        if by == target.account.id {
            return Err(EngineError::forbidden("You cannot do this to yourself"));
        }
        let target_role = target
            .user_role
            .as_deref()
            .and_then(Role::parse)
            .unwrap_or(Role::User);
        if target_role.is_staff() && target_role >= role {
            return Err(EngineError::forbidden("This action is not allowed"));
        }
        Ok(())
    }

    /// One account as moderators see it (suspended ones too); 404 when unknown.
    pub async fn admin_account(&self, id: Id) -> Result<AdminAccountRow> {
        self.store
            .admin_account(id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// An account by `user` or `user@domain` as moderators see it (suspended too);
    /// 404 when unknown.
    pub async fn admin_account_by_acct(&self, acct: &str) -> Result<AdminAccountRow> {
        self.store
            .admin_account_by_acct(acct)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// The newest posts of an account, whatever its state (for moderators), at most
    /// `limit`: (created, visibility, plain text).
    pub async fn admin_recent_posts(
        &self,
        account: Id,
        limit: i64,
    ) -> Result<Vec<(i64, String, String)>> {
        let ids = self.store.account_status_ids(account, limit).await?;
        let mut rows = self.store.statuses(&ids).await?;
        rows.sort_by_key(|s| std::cmp::Reverse(s.id));
        Ok(rows
            .into_iter()
            .map(|s| {
                let body = sluice_model::content::html_to_plain(&s.content);
                let text = if s.spoiler_text.is_empty() {
                    body
                } else {
                    format!("[{}] {body}", s.spoiler_text)
                };
                (s.created_at, s.visibility, text)
            })
            .collect())
    }

    /// A suspended local account by username: its actor document still answers (with
    /// `suspended: true`) until its data is deleted, then it is gone.
    pub async fn suspended_local_account(&self, name: &str) -> Result<Option<AccountRow>> {
        Ok(self.store.suspended_local_account(name).await?)
    }

    /// A page of accounts for moderators (see [`sluice_store::AdminAccountFilter`]).
    pub async fn admin_accounts(
        &self,
        f: &sluice_store::AdminAccountFilter,
        page: sluice_store::Page,
    ) -> Result<Vec<AdminAccountRow>> {
        Ok(self.store.admin_accounts(f, page).await?)
    }

    /// Mastodon's `Admin::Account` entity.
    pub async fn admin_account_entity(&self, r: &AdminAccountRow) -> Result<Value> {
        let a = &r.account;
        let account =
            serde_json::to_value(self.account_entity_full(a).await?).unwrap_or(Value::Null);
        let role = r
            .user_role
            .as_deref()
            .and_then(Role::parse)
            .unwrap_or(Role::User)
            .entity();
        Ok(json!({
            "id": a.id.to_string(),
            "username": a.username,
            "domain": if a.is_local() { Value::Null } else { Value::String(a.domain.clone()) },
            "created_at": Timestamp(a.created_at).to_rfc3339(),
            "email": r.user_email.clone().unwrap_or_default(),
            "ip": Value::Null,
            "ips": [],
            "locale": r.user_locale.clone().unwrap_or_default(),
            "invite_request": r.user_reason.clone().filter(|s| !s.is_empty()),
            "role": if a.is_local() { role } else { Value::Null },
            "confirmed": r.user_confirmed.unwrap_or(false),
            "approved": r.user_approved.unwrap_or(false),
            "disabled": r.user_disabled.unwrap_or(false),
            "silenced": a.silenced_at.is_some(),
            "suspended": a.suspended_at.is_some(),
            "sensitized": a.sensitized_at.is_some(),
            "silenced_at": millis_rfc3339(a.silenced_at),
            "suspended_at": millis_rfc3339(a.suspended_at),
            "sensitized_at": millis_rfc3339(a.sensitized_at),
            "account": account,
            "created_by_application_id": Value::Null,
            "invited_by_account_id": Value::Null,
        }))
    }

    /// Mastodon 4.3's `AccountWarning` entity.
    pub async fn account_warning_entity(&self, w: &AccountWarningRow) -> Result<Value> {
        let target = match self.store.account_any(w.target_account_id).await? {
            Some(a) => serde_json::to_value(self.account_entity(&a)).unwrap_or(Value::Null),
            None => Value::Null,
        };
        Ok(json!({
            "id": w.id.to_string(),
            "action": w.action,
            "text": w.text,
            "status_ids": [],
            "target_account": target,
            "appeal": Value::Null,
            "created_at": Timestamp(w.created_at).to_rfc3339(),
        }))
    }

    /// The warning a `moderation_warning` notification is about.
    pub async fn account_warning(&self, id: Id) -> Result<Option<AccountWarningRow>> {
        Ok(self.store.account_warning(id).await?)
    }

    /// Applies a moderator's action (with its warning) to `target`.
    pub async fn moderate_account(
        &self,
        by: Option<Id>,
        target: Id,
        req: &ActionRequest,
    ) -> Result<()> {
        if req.text.chars().count() > MAX_WARNING_CHARS {
            return Err(EngineError::invalid(format!(
                "The warning is too long (at most {MAX_WARNING_CHARS} characters)"
            )));
        }
        let row = self.admin_account(target).await?;
        self.check_actor(by, &row, permission::MANAGE_USERS).await?;
        let a = &row.account;
        if req.action == AccountAction::Disable && !a.is_local() {
            return Err(EngineError::invalid("Only local users can be disabled"));
        }
        let now = sluice_model::id::now_millis();
        // The suspension's Update is built before the writer is held.
        let suspend_update =
            if req.action == AccountAction::Suspend && a.is_local() && a.suspended_at.is_none() {
                let mut suspended = a.clone();
                suspended.suspended_at = Some(now);
                self.actor_update_of(&suspended, now).await?
            } else {
                None
            };
        // The report it answers must be about this account.
        if let Some(rid) = req.report_id {
            let report = self.store.report(rid).await?.ok_or(EngineError::NotFound)?;
            if report.target_account_id != a.id {
                return Err(EngineError::invalid(
                    "Validation failed: the report is about another account",
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        // As Mastodon: an action resolves every open report about the account; a
        // warning without action (`none`) only the report it answers.
        let resolved: Vec<Id> = match (req.action, req.report_id) {
            (AccountAction::None, Some(rid)) => tx
                .open_reports_about(a.id)
                .await?
                .into_iter()
                .filter(|r| *r == rid)
                .collect(),
            (AccountAction::None, None) => Vec::new(),
            _ => tx.open_reports_about(a.id).await?,
        };
        for rid in &resolved {
            tx.set_report_resolution(*rid, Some(now), by, now).await?;
            self.audit(
                &mut tx,
                Audit {
                    by,
                    action: "resolve_report",
                    target_type: "report",
                    target_id: rid.to_string(),
                    target_label: format!("#{rid} about {}", a.acct()),
                    text: req.action_name(),
                },
            )
            .await?;
        }
        match req.action {
            AccountAction::None => {}
            AccountAction::Disable => {
                tx.set_user_disabled(a.id, true).await?;
                tx.revoke_account_tokens(a.id, now).await?;
                tx.delete_web_sessions_of(a.id).await?;
            }
            AccountAction::Sensitive => {
                if a.sensitized_at.is_none() {
                    tx.set_account_flag(a.id, AccountFlag::Sensitized, Some(now))
                        .await?;
                }
            }
            AccountAction::Silence => {
                if a.silenced_at.is_none() {
                    tx.set_account_flag(a.id, AccountFlag::Silenced, Some(now))
                        .await?;
                }
            }
            AccountAction::Suspend => {
                if a.suspended_at.is_none() {
                    tx.set_suspended(a.id, Some((now, "local"))).await?;
                }
                if a.is_local() {
                    tx.revoke_account_tokens(a.id, now).await?;
                    tx.delete_web_sessions_of(a.id).await?;
                    if let Some(doc) = suspend_update {
                        self.record_actor_document(&mut tx, a, doc, now).await?;
                    }
                }
            }
        }
        self.audit(
            &mut tx,
            Audit {
                by,
                action: req.action_name(),
                target_type: "account",
                target_id: a.id.to_string(),
                target_label: a.acct(),
                text: &req.text,
            },
        )
        .await?;
        // Mastodon records a warning for every action but `none` without words.
        let warned = req.action != AccountAction::None || !req.text.is_empty();
        if warned {
            let warning = AccountWarningRow {
                id: self.new_id(),
                account_id: by,
                target_account_id: a.id,
                action: req.action.as_str().to_string(),
                text: req.text.clone(),
                report_id: req.report_id,
                created_at: now,
            };
            tx.insert_account_warning(&warning).await?;
            if req.notify && a.is_local() && req.action != AccountAction::Suspend {
                let nid = self.new_id();
                tx.insert_warning_notification(nid, &warning).await?;
                changes.events([sluice_store::NewEvent {
                    kind: "notification".into(),
                    account_id: Some(a.id),
                    recipient_id: Some(a.id),
                    object_id: Some(nid),
                    data: json!({"type": "moderation_warning"}).to_string(),
                }]);
            }
        }
        changes.accounts(&[a.id]);
        self.commit(tx, changes).await?;
        self.cache.sessions_revoked();
        if self.sends_mail()
            && warned
            && req.notify
            && a.is_local()
            && let Err(e) = self.mail_warning(a, req).await
        {
            tracing::warn!(error = %e, account = a.id, "mailing the warning failed");
        }
        if self.sends_mail() {
            for r in self.store.reports_by_ids(&resolved).await? {
                if let Err(e) = self.mail_report_resolved(&r).await {
                    tracing::warn!(error = %e, report = r.id, "mailing the reporter failed");
                }
            }
        }
        Ok(())
    }

    /// Mails a local user the warning of a moderator's action (Mastodon's
    /// `send_email_notification`; a suspended user reads it there, not in the app).
    async fn mail_warning(&self, a: &AccountRow, req: &ActionRequest) -> Result<()> {
        let Some(user) = self.store.user(a.id).await? else {
            return Ok(());
        };
        let domain = self.urls.domain();
        let what = match req.action {
            AccountAction::None => "The moderators sent you a warning.".to_string(),
            AccountAction::Disable => "Your account was frozen: you cannot sign in.".into(),
            AccountAction::Sensitive => "Your media will be marked sensitive from now on.".into(),
            AccountAction::Silence => {
                "Your account was limited: only your followers see your posts.".into()
            }
            AccountAction::Suspend => {
                "Your account was suspended: it can no longer be used.".into()
            }
        };
        let reason = if req.text.is_empty() {
            String::new()
        } else {
            format!("\n\nThe moderators wrote:\n\n{}\n", req.text)
        };
        self.mail(crate::email::Mail {
            to: user.email,
            subject: format!("A moderation decision on your account at {domain}"),
            body: format!("Hello @{},\n\n{what}{reason}\n", a.username),
        })
        .await
    }

    /// Lifts one moderation state of `target`.
    pub async fn lift_account_action(&self, by: Option<Id>, target: Id, undo: Undo) -> Result<()> {
        let row = self.admin_account(target).await?;
        self.check_actor(by, &row, permission::MANAGE_USERS).await?;
        let a = &row.account;
        let now = sluice_model::id::now_millis();
        if undo == Undo::Unsuspend && a.suspension_origin.as_deref() == Some("deleted") {
            return Err(EngineError::forbidden(
                "The account's data was deleted; it cannot be restored",
            ));
        }
        let update = if undo == Undo::Unsuspend && a.is_local() && a.suspended_at.is_some() {
            let mut restored = a.clone();
            restored.suspended_at = None;
            self.actor_update_of(&restored, now).await?
        } else {
            None
        };
        let mut tx = self.store.begin().await?;
        match undo {
            Undo::Enable => {
                tx.set_user_disabled(a.id, false).await?;
            }
            Undo::Unsilence => {
                tx.set_account_flag(a.id, AccountFlag::Silenced, None)
                    .await?;
            }
            Undo::Unsensitive => {
                tx.set_account_flag(a.id, AccountFlag::Sensitized, None)
                    .await?;
            }
            Undo::Unsuspend => {
                if a.suspended_at.is_some() {
                    tx.set_suspended(a.id, None).await?;
                    if let Some(doc) = update {
                        self.record_actor_document(&mut tx, a, doc, now).await?;
                    }
                }
            }
        }
        self.audit(
            &mut tx,
            Audit {
                by,
                action: undo.as_str(),
                target_type: "account",
                target_id: a.id.to_string(),
                target_label: a.acct(),
                text: "",
            },
        )
        .await?;
        let mut changes = Changes::at(now);
        changes.accounts(&[a.id]);
        self.commit(tx, changes).await?;
        Ok(())
    }

    /// Approves a local user waiting for approval; 403 when it is not waiting.
    pub async fn approve_account(&self, by: Option<Id>, target: Id) -> Result<()> {
        let row = self.admin_account(target).await?;
        self.check_actor(by, &row, permission::MANAGE_USERS).await?;
        if row.user_approved != Some(false) {
            return Err(EngineError::forbidden(
                "This account is not waiting for approval",
            ));
        }
        let mut tx = self.store.begin().await?;
        tx.approve_user(target).await?;
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "approve",
                target_type: "account",
                target_id: target.to_string(),
                target_label: row.account.acct(),
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rejects a local user waiting for approval: the user and its account are
    /// deleted. 403 when it is not waiting.
    pub async fn reject_account(&self, by: Option<Id>, target: Id) -> Result<()> {
        let row = self.admin_account(target).await?;
        self.check_actor(by, &row, permission::MANAGE_USERS).await?;
        if row.user_approved != Some(false) {
            return Err(EngineError::forbidden(
                "This account is not waiting for approval",
            ));
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx.delete_pending_user(target).await? {
            return Err(EngineError::forbidden(
                "This account is not waiting for approval",
            ));
        }
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "reject",
                target_type: "account",
                target_id: target.to_string(),
                target_label: row.account.acct(),
                text: "",
            },
        )
        .await?;
        let mut changes = Changes::at(now);
        changes.accounts(&[target]);
        self.commit(tx, changes).await?;
        self.cache.sessions_revoked();
        Ok(())
    }

    /// Deletes a suspended account's data now (Mastodon: only a suspended account, and
    /// only with `delete_user_data`). The account row stays, suspended, so its name is
    /// not taken again and the deletion is recorded.
    pub async fn delete_account_data(&self, by: Option<Id>, target: Id) -> Result<()> {
        let row = self.admin_account(target).await?;
        self.check_actor(by, &row, permission::DELETE_USER_DATA)
            .await?;
        if row.account.suspended_at.is_none() {
            return Err(EngineError::forbidden(
                "Only a suspended account's data can be deleted",
            ));
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "delete",
                target_type: "account",
                target_id: target.to_string(),
                target_label: row.account.acct(),
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        // Everything, however many batches it takes: a moderator asked for it.
        while !self.purge_account_step(&row.account, now).await? {}
        Ok(())
    }

    /// One maintenance pass over suspended accounts: those suspended here more than
    /// [`SUSPENSION_KEEP_MS`] ago are purged, a bounded amount per run.
    pub async fn purge_suspended_accounts(&self) -> Result<u64> {
        let now = sluice_model::id::now_millis();
        let due = self
            .store
            .suspended_to_purge(now - SUSPENSION_KEEP_MS, PURGE_ACCOUNTS_PER_RUN)
            .await?;
        let mut done = 0;
        for id in due {
            let Some(a) = self.store.account_any(id).await? else {
                continue;
            };
            for _ in 0..PURGE_BATCHES_PER_ACCOUNT {
                if self.purge_account_step(&a, now).await? {
                    done += 1;
                    break;
                }
            }
        }
        Ok(done)
    }

    /// One bounded step of purging a suspended account: a batch of its statuses; when
    /// none is left, the rest in one transaction (its relations, user, sessions), with
    /// the `Delete` of a local actor sent to its followers' servers. True when done.
    async fn purge_account_step(&self, a: &AccountRow, now: i64) -> Result<bool> {
        let ids = self.store.account_status_ids(a.id, PURGE_BATCH).await?;
        let mut tx = self.store.begin().await?;
        if !ids.is_empty() {
            for id in &ids {
                tx.delete_status(*id).await?;
            }
            let mut changes = Changes::at(now);
            changes.accounts(&[a.id]);
            self.commit(tx, changes).await?;
            return Ok(false);
        }
        if a.is_local() {
            let doc = crate::as2::actor_delete(a, now);
            self.record_actor_document(&mut tx, a, doc, now).await?;
        }
        let touched = tx.purge_account_rows(a.id).await?;
        tx.set_suspended(a.id, Some((a.suspended_at.unwrap_or(now), "deleted")))
            .await?;
        let mut changes = Changes::at(now);
        changes.accounts(&touched);
        self.commit(tx, changes).await?;
        self.cache.sessions_revoked();
        Ok(true)
    }

    /// The `Update` of a local actor's document as `a` says (None before the actor
    /// documents are installed).
    async fn actor_update_of(&self, a: &AccountRow, now: i64) -> Result<Option<Value>> {
        let Some(source) = self.actor_documents.get() else {
            return Ok(None);
        };
        let object = source.actor_document(self, a).await?;
        Ok(Some(crate::as2::actor_update(a, object, now)))
    }

    /// Records an activity of `a` about itself (its Update or Delete) for its
    /// followers' servers.
    async fn record_actor_document(
        &self,
        tx: &mut sluice_store::WriteTx,
        a: &AccountRow,
        doc: Value,
        now: i64,
    ) -> Result<()> {
        let to = [sluice_model::visibility::PUBLIC.to_string()];
        let cc = [a.followers_url.clone()];
        self.record_document(tx, a, doc, &to, &cc, now).await
    }
}

impl ActionRequest {
    fn action_name(&self) -> &'static str {
        match self.action {
            AccountAction::None => "warn",
            other => other.as_str(),
        }
    }
}
