//! Reports (issue 17): a user reports an account and some of its posts (`POST
//! /api/v1/reports`), or another server sends a `Flag` ([`Engine::remote_flag`]);
//! moderators hear of each one (`admin.report` notifications), assign, categorize,
//! resolve and reopen them (the admin API, the `/admin` pages, `sluice admin
//! reports`), every change written to the audit log in its own transaction.
//!
//! A report about a remote account may be forwarded: a `Flag` from the instance actor
//! (so the reporter stays unknown to the other server, as Mastodon does) is queued for
//! the reported account's server, through the durable delivery queue, in the report's
//! own transaction.
//!
//! Mastodon tells the reporter nothing when a report is resolved (no notification
//! type exists for it in its API); Sluice mails local reporters that their report was
//! handled when the server sends mail, and does nothing else.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use sluice_model::{Id, Timestamp, api};
use sluice_store::{AccountRow, NewReport, Page, ReportFilter, ReportRow, StatusRow, WriteTx};

use crate::effects::Changes;
use crate::moderation::{Audit, permission};
use crate::{Engine, EngineError, Result};

/// The notification moderators get for a new report (Mastodon's type).
pub const NOTIFICATION_KIND: &str = "admin.report";
/// The longest comment, in characters (Mastodon's limit).
pub const MAX_COMMENT_CHARS: usize = 1000;
/// The most posts one report names (a report is about an account's posts, not its
/// whole history; an incoming `Flag` is cut at the same number).
pub const MAX_REPORTED_STATUSES: usize = 100;
/// The most rules one report cites.
pub const MAX_CITED_RULES: usize = 50;
/// The most other servers a report is forwarded to besides the reported account's.
pub const MAX_FORWARD_DOMAINS: usize = 20;
/// The most moderators notified of one report (a bound on the report's transaction).
const MAX_NOTIFIED_STAFF: i64 = 500;
/// Replies shown under each reported post on its report's page.
const MAX_CONTEXT_REPLIES: usize = 20;
/// Ancestors shown above each reported post on its report's page.
const MAX_CONTEXT_ANCESTORS: usize = 5;

/// Mastodon's report categories.
pub const CATEGORIES: [&str; 4] = ["spam", "legal", "violation", "other"];

/// One instance rule a report may cite.
#[derive(Debug, Clone)]
pub struct InstanceRule {
    pub id: String,
    pub text: String,
    pub hint: String,
}

/// What a user reports (`POST /api/v1/reports`).
#[derive(Debug, Default)]
pub struct ReportInput<'a> {
    pub target: Id,
    pub status_ids: &'a [Id],
    pub comment: &'a str,
    /// None: `violation` when rules are cited, else `other` (Mastodon's default).
    pub category: Option<&'a str>,
    pub rule_ids: &'a [String],
    /// Send a `Flag` to the reported account's server (remote accounts only).
    pub forward: bool,
    /// Other servers to forward it to: kept only when they are the servers of
    /// accounts the reported posts mention or reply to (as Mastodon keeps them).
    pub forward_to_domains: &'a [String],
}

/// A reported post with the posts around it, for the report's page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportedPost {
    pub ancestors: Vec<api::Status>,
    pub status: api::Status,
    pub replies: Vec<api::Status>,
}

impl Engine {
    /// The instance rules a report may cite: those the admin wrote (`/admin/rules`,
    /// `sluice admin rules`), in their order.
    pub async fn report_rules(&self) -> Result<Vec<InstanceRule>> {
        Ok(self
            .instance_rules()
            .await?
            .into_iter()
            .map(|r| InstanceRule {
                id: r.id.to_string(),
                text: r.text,
                hint: r.hint,
            })
            .collect())
    }

    /// Checks a category and the rules it cites; gives the category to store and the
    /// rules as a JSON array of ids.
    async fn check_category(
        &self,
        category: Option<&str>,
        rule_ids: &[String],
    ) -> Result<(String, String)> {
        let rule_ids: Vec<String> = rule_ids
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        let category = match category.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) if CATEGORIES.contains(&c) => c.to_string(),
            Some(c) => {
                return Err(EngineError::invalid(format!(
                    "Validation failed: Category '{c}' is not a valid category"
                )));
            }
            None if rule_ids.is_empty() => "other".to_string(),
            None => "violation".to_string(),
        };
        if category != "violation" {
            // Rules belong to violations only (Mastodon drops them otherwise).
            return Ok((category, "[]".into()));
        }
        if rule_ids.is_empty() {
            return Err(EngineError::invalid(
                "Validation failed: Rule ids can't be blank for a violation",
            ));
        }
        if rule_ids.len() > MAX_CITED_RULES {
            return Err(EngineError::invalid(format!(
                "Validation failed: A report cites at most {MAX_CITED_RULES} rules"
            )));
        }
        let known: HashSet<String> = self
            .report_rules()
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        if let Some(unknown) = rule_ids.iter().find(|r| !known.contains(*r)) {
            return Err(EngineError::invalid(format!(
                "Validation failed: Rule {unknown} is not a rule of this server"
            )));
        }
        let mut unique = rule_ids;
        unique.dedup();
        Ok((category, serde_json::to_string(&unique).unwrap_or_default()))
    }

    /// `POST /api/v1/reports`: `reporter` reports `input.target` and some of its
    /// posts, which must be the target's and visible to the reporter (422 otherwise;
    /// nothing is written). Moderators are notified; a report about a remote account
    /// is forwarded when asked. Answers the Report entity.
    pub async fn file_report(&self, reporter: Id, input: &ReportInput<'_>) -> Result<Value> {
        let target = self
            .store
            .account(input.target)
            .await?
            .ok_or(EngineError::NotFound)?;
        if target.id == reporter {
            return Err(EngineError::invalid(
                "Validation failed: You cannot report yourself",
            ));
        }
        if input.comment.chars().count() > MAX_COMMENT_CHARS {
            return Err(EngineError::invalid(format!(
                "Validation failed: Comment is too long (maximum is {MAX_COMMENT_CHARS} characters)"
            )));
        }
        let (category, rule_ids) = self.check_category(input.category, input.rule_ids).await?;
        let mut wanted: Vec<Id> = Vec::new();
        for id in input.status_ids {
            if !wanted.contains(id) {
                wanted.push(*id);
            }
        }
        if wanted.len() > MAX_REPORTED_STATUSES {
            return Err(EngineError::invalid(format!(
                "Validation failed: A report names at most {MAX_REPORTED_STATUSES} posts"
            )));
        }
        let rows = self.store.statuses(&wanted).await?;
        let mut statuses: Vec<StatusRow> = Vec::with_capacity(wanted.len());
        for id in &wanted {
            match rows.iter().find(|s| s.id == *id) {
                Some(s)
                    if s.account_id == target.id
                        && s.reblog_of_id.is_none()
                        && self.can_see(Some(reporter), s).await? =>
                {
                    statuses.push(s.clone())
                }
                _ => {
                    return Err(EngineError::invalid(format!(
                        "Validation failed: Status {id} is not a post of the reported account"
                    )));
                }
            }
        }
        let forward = input.forward && !target.is_local();
        let inboxes = if forward {
            self.forward_inboxes(&target, &statuses, input.forward_to_domains)
                .await?
        } else {
            Vec::new()
        };
        let status_ids: Vec<String> = statuses.iter().map(|s| s.id.to_string()).collect();
        let now = sluice_model::id::now_millis();
        let id = self.ids.next_at(now);
        let mut tx = self.store.begin().await?;
        tx.insert_report(&NewReport {
            id,
            uri: None,
            account_id: reporter,
            target_account_id: target.id,
            status_ids: &serde_json::to_string(&status_ids).unwrap_or_else(|_| "[]".into()),
            comment: input.comment,
            category: &category,
            rule_ids: &rule_ids,
            forwarded: forward,
            created_at: now,
        })
        .await?;
        let mut changes = Changes::at(now);
        changes.events(self.notify_staff(&mut tx, id, reporter, now).await?);
        if forward {
            self.queue_flag(
                &mut tx,
                id,
                &target,
                &statuses,
                input.comment,
                &inboxes,
                now,
            )
            .await?;
        }
        self.commit(tx, changes).await?;
        let row = self.store.report(id).await?.ok_or(EngineError::NotFound)?;
        self.report_entity(&row).await
    }

    /// The inboxes a forwarded report goes to: the reported account's server, and
    /// those of `domains` that are servers of accounts the posts mention or answer.
    async fn forward_inboxes(
        &self,
        target: &AccountRow,
        statuses: &[StatusRow],
        domains: &[String],
    ) -> Result<Vec<String>> {
        let mut inboxes = vec![inbox_of(target)];
        let wanted: HashSet<String> = domains
            .iter()
            .take(MAX_FORWARD_DOMAINS)
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty() && *d != target.domain.to_ascii_lowercase())
            .collect();
        if !wanted.is_empty() {
            let mut seen: HashSet<String> = HashSet::new();
            for s in statuses {
                let mut around = self.store.mentioned_accounts(s.id, false).await?;
                if let Some(p) = s.in_reply_to_id
                    && let Some(parent) = self.store.status(p).await?
                {
                    around.push(parent.account_id);
                }
                for a in self.store.accounts(&around).await? {
                    let d = a.domain.to_ascii_lowercase();
                    if wanted.contains(&d) && seen.insert(d) {
                        inboxes.push(inbox_of(&a));
                    }
                }
            }
        }
        inboxes.retain(|i| !i.is_empty());
        inboxes.sort_unstable();
        inboxes.dedup();
        Ok(inboxes)
    }

    /// Stores the `Flag` of report `id` as the instance actor's activity and queues it
    /// for `inboxes` (not for suspended domains), in the report's transaction.
    #[allow(clippy::too_many_arguments)]
    async fn queue_flag(
        &self,
        tx: &mut WriteTx,
        id: Id,
        target: &AccountRow,
        statuses: &[StatusRow],
        comment: &str,
        inboxes: &[String],
        now: i64,
    ) -> Result<()> {
        let actor = self.urls.instance_actor();
        let uri = format!("{}/reports/{id}", self.urls.base());
        let mut object = vec![target.uri.clone()];
        object.extend(statuses.iter().map(|s| s.uri.clone()));
        let doc = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": uri,
            "type": "Flag",
            "actor": actor,
            "content": comment,
            "object": object,
        });
        let activity_id = self.ids.next_at(now);
        tx.insert_activity(&sluice_store::ActivityRecord {
            id: activity_id,
            uri: uri.clone(),
            kind: "Flag".into(),
            actor_id: crate::actor_keys::INSTANCE_ACTOR_ID,
            object_uri: target.uri.clone(),
            local: true,
            to_json: "[]".into(),
            cc_json: "[]".into(),
            json: doc.to_string(),
            created_at: now,
        })
        .await?;
        let suspended = tx.suspended_domains().await?;
        let targets: Vec<(String, String)> = inboxes
            .iter()
            .filter_map(|inbox| {
                let host = url::Url::parse(inbox)
                    .ok()?
                    .host_str()?
                    .to_ascii_lowercase();
                Some((inbox.clone(), host))
            })
            .filter(|(_, host)| {
                !suspended
                    .iter()
                    .any(|d| sluice_store::host_in_domain(host, d))
            })
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let ids = self.ids.next_block(now, targets.len());
        tx.enqueue_deliveries(
            &ids,
            activity_id,
            crate::actor_keys::INSTANCE_ACTOR_ID,
            &targets,
            now,
            now + self.config.delivery_max_age_ms,
        )
        .await?;
        self.deliveries_queued();
        Ok(())
    }

    /// Notifies every moderator (but the reporter) of report `report`, in its
    /// transaction.
    pub(crate) async fn notify_staff(
        &self,
        tx: &mut WriteTx,
        report: Id,
        reporter: Id,
        now: i64,
    ) -> Result<Vec<sluice_store::NewEvent>> {
        let mut events = Vec::new();
        for staff in tx.report_handlers(MAX_NOTIFIED_STAFF).await? {
            if staff == reporter {
                continue;
            }
            if let Some(e) = self.notify_report(tx, staff, reporter, report, now).await? {
                events.push(e);
            }
        }
        Ok(events)
    }

    /// The Report entity (what the reporter and the notified moderators see).
    pub async fn report_entity(&self, r: &ReportRow) -> Result<Value> {
        let target = self
            .store
            .account(r.target_account_id)
            .await?
            .map(|a| self.account_entity(&a));
        Ok(report_json(
            r,
            target.map(|t| json!(t)).unwrap_or(Value::Null),
        ))
    }

    /// Report entities for notifications, by report id.
    pub(crate) async fn report_entities(&self, ids: &[Id]) -> Result<HashMap<Id, Value>> {
        let rows = self.store.reports_by_ids(ids).await?;
        let targets: Vec<Id> = rows.iter().map(|r| r.target_account_id).collect();
        let accounts: HashMap<String, api::Account> = self
            .account_entities(&targets)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        Ok(rows
            .iter()
            .map(|r| {
                let target = accounts
                    .get(&r.target_account_id.to_string())
                    .map(|a| json!(a))
                    .unwrap_or(Value::Null);
                (r.id, report_json(r, target))
            })
            .collect())
    }

    /// Reports matching `filter`, a page of them, newest first.
    pub async fn report_rows(&self, filter: ReportFilter, page: Page) -> Result<Vec<ReportRow>> {
        Ok(self.store.reports(filter, page).await?)
    }

    /// One report.
    pub async fn report_row(&self, id: Id) -> Result<ReportRow> {
        self.store.report(id).await?.ok_or(EngineError::NotFound)
    }

    /// `GET /api/v1/admin/reports`: Admin::Report entities and the page's cursors.
    pub async fn admin_reports(
        &self,
        filter: ReportFilter,
        page: Page,
    ) -> Result<(Vec<Value>, Vec<Id>)> {
        let rows = self.store.reports(filter, page).await?;
        let ids = rows.iter().map(|r| r.id).collect();
        Ok((self.admin_report_entities(&rows).await?, ids))
    }

    /// `GET /api/v1/admin/reports/:id`.
    pub async fn admin_report(&self, id: Id) -> Result<Value> {
        let row = self.report_row(id).await?;
        Ok(self
            .admin_report_entities(std::slice::from_ref(&row))
            .await?
            .pop()
            .unwrap_or(Value::Null))
    }

    /// Admin::Report entities (Mastodon's shape: the four accounts as Admin::Account,
    /// the reported statuses, the cited rules).
    pub async fn admin_report_entities(&self, rows: &[ReportRow]) -> Result<Vec<Value>> {
        let mut account_ids: Vec<Id> = Vec::new();
        for r in rows {
            account_ids.push(r.account_id);
            account_ids.push(r.target_account_id);
            account_ids.extend(r.assigned_account_id);
            account_ids.extend(r.action_taken_by_account_id);
        }
        account_ids.sort_unstable();
        account_ids.dedup();
        let mut accounts: HashMap<Id, Value> = HashMap::new();
        for id in account_ids {
            if let Some(row) = self.store.admin_account(id).await? {
                accounts.insert(id, self.admin_account_entity(&row).await?);
            }
        }
        let rules = self.report_rules().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let account = |id: Option<Id>| {
                id.and_then(|id| accounts.get(&id).cloned())
                    .unwrap_or(Value::Null)
            };
            let statuses = self
                .status_entities(None, self.store.statuses(&r.status_ids()).await?)
                .await?;
            let cited = r.rule_ids();
            let rules: Vec<Value> = rules
                .iter()
                .filter(|rule| cited.contains(&rule.id))
                .map(|rule| json!({"id": rule.id, "text": rule.text, "hint": rule.hint}))
                .collect();
            out.push(json!({
                "id": r.id.to_string(),
                "action_taken": r.action_taken_at.is_some(),
                "action_taken_at": r.action_taken_at.map(|t| Timestamp(t).to_rfc3339()),
                "category": r.category,
                "comment": r.comment,
                "forwarded": r.forwarded,
                "created_at": Timestamp(r.created_at).to_rfc3339(),
                "updated_at": Timestamp(r.updated()).to_rfc3339(),
                "account": account(Some(r.account_id)),
                "target_account": account(Some(r.target_account_id)),
                "assigned_account": account(r.assigned_account_id),
                "action_taken_by_account": account(r.action_taken_by_account_id),
                "statuses": statuses,
                "rules": rules,
            }));
        }
        Ok(out)
    }

    /// The reported posts of a report with the posts around each (a few ancestors,
    /// the replies), for the report's page. Moderators see the reported posts
    /// whoever could see them; the posts around them only when public or unlisted.
    pub async fn reported_posts(&self, r: &ReportRow) -> Result<Vec<ReportedPost>> {
        let mut out = Vec::new();
        for s in self.store.statuses(&r.status_ids()).await? {
            let thread = self.store.thread(s.thread_id).await?;
            let by_id: HashMap<Id, &StatusRow> = thread.iter().map(|t| (t.id, t)).collect();
            let open = |t: &StatusRow| matches!(t.visibility.as_str(), "public" | "unlisted");
            let mut ancestors: Vec<StatusRow> = Vec::new();
            let mut cur = s.in_reply_to_id;
            while let Some(pid) = cur {
                let Some(parent) = by_id.get(&pid) else { break };
                if open(parent) {
                    ancestors.push((*parent).clone());
                }
                cur = parent.in_reply_to_id;
                if ancestors.len() >= MAX_CONTEXT_ANCESTORS {
                    break;
                }
            }
            ancestors.reverse();
            let replies: Vec<StatusRow> = thread
                .iter()
                .filter(|t| t.in_reply_to_id == Some(s.id) && open(t))
                .take(MAX_CONTEXT_REPLIES)
                .cloned()
                .collect();
            let ancestors = self.status_entities(None, ancestors).await?;
            let replies = self.status_entities(None, replies).await?;
            let Some(status) = self.status_entities(None, vec![s]).await?.pop() else {
                continue;
            };
            out.push(ReportedPost {
                ancestors,
                status,
                replies,
            });
        }
        Ok(out)
    }

    /// Who may handle reports: `by` (None: the command line) must hold
    /// `manage_reports`.
    async fn report_moderator(&self, by: Option<Id>) -> Result<()> {
        if let Some(by) = by {
            self.require_permission(by, permission::MANAGE_REPORTS)
                .await?;
        }
        Ok(())
    }

    /// Applies `change` to report `id` in one transaction with its audit entry
    /// (`action`, `text`); answers the report as changed.
    async fn change_report<F>(
        &self,
        by: Option<Id>,
        id: Id,
        action: &str,
        text: &str,
        change: F,
    ) -> Result<ReportRow>
    where
        F: AsyncFnOnce(&mut WriteTx, &ReportRow, i64) -> Result<()>,
    {
        self.report_moderator(by).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let r = tx
            .report_for_update(id)
            .await?
            .ok_or(EngineError::NotFound)?;
        change(&mut tx, &r, now).await?;
        let target = self
            .store
            .account(r.target_account_id)
            .await?
            .map(|a| a.acct())
            .unwrap_or_default();
        self.audit(
            &mut tx,
            Audit {
                by,
                action,
                target_type: "report",
                target_id: id.to_string(),
                target_label: format!("#{id} about {target}"),
                text,
            },
        )
        .await?;
        self.commit(tx, Changes::at(now)).await?;
        self.report_row(id).await
    }

    /// `PUT /api/v1/admin/reports/:id`: a new category and/or cited rules.
    pub async fn update_report(
        &self,
        by: Option<Id>,
        id: Id,
        category: Option<&str>,
        rule_ids: Option<&[String]>,
    ) -> Result<ReportRow> {
        self.report_moderator(by).await?;
        let current = self.report_row(id).await?;
        let rules = match rule_ids {
            Some(r) => r.to_vec(),
            None => current.rule_ids(),
        };
        let category = category
            .map(str::to_string)
            .unwrap_or_else(|| current.category.clone());
        let (category, rule_ids) = self.check_category(Some(&category), &rules).await?;
        let text = format!("category {category}");
        self.change_report(by, id, "update_report", &text, async |tx, _, now| {
            tx.set_report_category(id, &category, &rule_ids, now)
                .await?;
            Ok(())
        })
        .await
    }

    /// `POST …/assign_to_self` (`assign` true) and `…/unassign`.
    pub async fn assign_report(&self, by: Id, id: Id, assign: bool) -> Result<ReportRow> {
        let (action, who) = if assign {
            ("assign_report", Some(by))
        } else {
            ("unassign_report", None)
        };
        self.change_report(Some(by), id, action, "", async |tx, _, now| {
            tx.set_report_assignee(id, who, now).await?;
            Ok(())
        })
        .await
    }

    /// `POST …/resolve`: the report is handled, `note` says how (kept in the audit
    /// log). `by` None: the command line. A local reporter is mailed that it was
    /// handled, when the server sends mail. Resolving a resolved report changes
    /// nothing but is recorded.
    pub async fn resolve_report(&self, by: Option<Id>, id: Id, note: &str) -> Result<ReportRow> {
        let mut newly = false;
        let row = self
            .change_report(by, id, "resolve_report", note, async |tx, r, now| {
                if r.action_taken_at.is_none() {
                    newly = true;
                    tx.set_report_resolution(id, Some(now), by, now).await?;
                }
                Ok(())
            })
            .await?;
        if newly
            && self.sends_mail()
            && let Err(e) = self.mail_report_resolved(&row).await
        {
            tracing::warn!(error = %e, report = id, "mailing the reporter failed");
        }
        Ok(row)
    }

    /// `POST …/reopen`: the report is open again.
    pub async fn reopen_report(&self, by: Option<Id>, id: Id) -> Result<ReportRow> {
        self.change_report(by, id, "reopen_report", "", async |tx, _, now| {
            tx.set_report_resolution(id, None, None, now).await?;
            Ok(())
        })
        .await
    }

    /// Tells a local reporter by mail that their report was handled (nothing for a
    /// remote reporter: its server was told by nobody, as Mastodon does).
    pub(crate) async fn mail_report_resolved(&self, r: &ReportRow) -> Result<()> {
        let Some(user) = self.store.user(r.account_id).await? else {
            return Ok(());
        };
        let Some(reporter) = self.store.account(r.account_id).await? else {
            return Ok(());
        };
        let target = self
            .store
            .account(r.target_account_id)
            .await?
            .map(|a| format!("@{}", a.acct()))
            .unwrap_or_default();
        self.mail(crate::email::Mail {
            to: user.email,
            subject: format!("Your report on {} was handled", self.urls.domain()),
            body: format!(
                "Hello @{},\n\nThe moderators of {} have handled your report about {target} (filed {}). Thank you for reporting it.\n",
                reporter.username,
                self.urls.domain(),
                Timestamp(r.created_at).to_rfc3339(),
            ),
        })
        .await
    }
}

/// The inbox a `Flag` to `a`'s server goes to: its shared inbox when offered.
fn inbox_of(a: &AccountRow) -> String {
    if a.shared_inbox_url.is_empty() {
        a.inbox_url.clone()
    } else {
        a.shared_inbox_url.clone()
    }
}

/// Mastodon's Report entity.
fn report_json(r: &ReportRow, target: Value) -> Value {
    json!({
        "id": r.id.to_string(),
        "action_taken": r.action_taken_at.is_some(),
        "action_taken_at": r.action_taken_at.map(|t| Timestamp(t).to_rfc3339()),
        "category": r.category,
        "comment": r.comment,
        "forwarded": r.forwarded,
        "created_at": Timestamp(r.created_at).to_rfc3339(),
        "status_ids": r.status_ids().iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        "rule_ids": r.rule_ids(),
        "target_account": target,
    })
}
