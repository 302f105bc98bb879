//! Reports (migrations 2 and 27): filed by local users through the API or received
//! as a remote `Flag`, then assigned, resolved and reopened by moderators.

use crate::query::Query;
use crate::{Id, Page, Result, Store, WriteTx};

/// One report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: Id,
    /// The id of the `Flag` it came as (None for reports filed here).
    pub uri: Option<String>,
    /// Who reports (for a remote `Flag`, its actor: usually the remote instance actor).
    pub account_id: Id,
    /// Who is reported.
    pub target_account_id: Id,
    /// The reported statuses' ids, a JSON array of strings.
    pub status_ids: String,
    pub comment: String,
    pub created_at: i64,
    /// `spam`, `legal`, `violation` or `other`.
    pub category: String,
    /// The instance rules cited, a JSON array of id strings.
    pub rule_ids: String,
    /// Whether a `Flag` was sent to the reported account's server.
    pub forwarded: bool,
    pub assigned_account_id: Option<Id>,
    pub action_taken_by_account_id: Option<Id>,
    /// When it was resolved; None while open.
    pub action_taken_at: Option<i64>,
    /// The last change; 0 for rows of the previous schema.
    pub updated_at: i64,
}

impl ReportRow {
    /// The reported statuses' ids.
    pub fn status_ids(&self) -> Vec<Id> {
        serde_json::from_str::<Vec<String>>(&self.status_ids)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    /// The cited rules' ids, as the API shows them.
    pub fn rule_ids(&self) -> Vec<String> {
        serde_json::from_str(&self.rule_ids).unwrap_or_default()
    }

    /// When it last changed (its creation for rows of the previous schema).
    pub fn updated(&self) -> i64 {
        self.updated_at.max(self.created_at)
    }
}

const COLUMNS: &str = "id, uri, account_id, target_account_id, status_ids, comment, created_at,
    category, rule_ids, forwarded, assigned_account_id, action_taken_by_account_id,
    action_taken_at, updated_at";

/// A report to store ([`WriteTx::insert_report`]).
pub struct NewReport<'a> {
    pub id: Id,
    /// The id of the `Flag` it came as; None for a report filed here.
    pub uri: Option<&'a str>,
    pub account_id: Id,
    pub target_account_id: Id,
    /// The reported statuses' ids, a JSON array of strings.
    pub status_ids: &'a str,
    pub comment: &'a str,
    pub category: &'a str,
    /// A JSON array of id strings.
    pub rule_ids: &'a str,
    pub forwarded: bool,
    pub created_at: i64,
}

/// Which reports a list shows (the admin API's filters).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportFilter {
    /// Some(true): resolved ones only; Some(false): open ones only.
    pub resolved: Option<bool>,
    /// Filed by this account.
    pub account_id: Option<Id>,
    /// About this account.
    pub target_account_id: Option<Id>,
}

impl WriteTx {
    /// Stores a report; a repeat of the same `uri` (a `Flag` received twice) is
    /// ignored: false then.
    pub async fn insert_report(&mut self, r: &NewReport<'_>) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "INSERT INTO reports (id, uri, account_id, target_account_id, status_ids,
                       comment, category, rule_ids, forwarded, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                     ON CONFLICT (uri) DO NOTHING",
                )
                .bind(r.id)
                .bind(r.uri)
                .bind(r.account_id)
                .bind(r.target_account_id)
                .bind(r.status_ids)
                .bind(r.comment)
                .bind(r.category)
                .bind(r.rule_ids)
                .bind(r.forwarded)
                .bind(r.created_at),
            )
            .await?
            == 1)
    }

    /// The report, read in the transaction that changes it.
    pub async fn report_for_update(&mut self, id: Id) -> Result<Option<ReportRow>> {
        self.opt(Query::new(format!("SELECT {COLUMNS} FROM reports WHERE id = $1")).bind(id))
            .await
    }

    /// Sets the category and the cited rules.
    pub async fn set_report_category(
        &mut self,
        id: Id,
        category: &str,
        rule_ids: &str,
        now: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE reports SET category = $2, rule_ids = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(category)
            .bind(rule_ids)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Assigns the report to a moderator (None: to nobody).
    pub async fn set_report_assignee(
        &mut self,
        id: Id,
        assignee: Option<Id>,
        now: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE reports SET assigned_account_id = $2, updated_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(assignee)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Resolves the report (`at` Some, by `by`: None for the command line) or opens it
    /// again (`at` None).
    pub async fn set_report_resolution(
        &mut self,
        id: Id,
        at: Option<i64>,
        by: Option<Id>,
        now: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE reports SET action_taken_at = $2, action_taken_by_account_id = $3,
                   updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .bind(by)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// The open reports about `target`, oldest first (an action on the account
    /// resolves them).
    pub async fn open_reports_about(&mut self, target: Id) -> Result<Vec<Id>> {
        Ok(self
            .all::<crate::query::Scalar>(
                Query::new(
                    "SELECT id AS v FROM reports
                     WHERE target_account_id = $1 AND action_taken_at IS NULL ORDER BY id",
                )
                .bind(target),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// Local users whose role handles reports (moderators and admins), at most `limit`.
    pub async fn report_handlers(&mut self, limit: i64) -> Result<Vec<Id>> {
        Ok(self
            .all::<crate::query::Scalar>(
                Query::new(
                    "SELECT account_id AS v FROM users
                     WHERE role IN ('moderator', 'admin') AND NOT disabled
                     ORDER BY account_id LIMIT $1",
                )
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }
}

impl Store {
    pub async fn report(&self, id: Id) -> Result<Option<ReportRow>> {
        self.opt(Query::new(format!("SELECT {COLUMNS} FROM reports WHERE id = $1")).bind(id))
            .await
    }

    /// Reports by id, those that exist.
    pub async fn reports_by_ids(&self, ids: &[Id]) -> Result<Vec<ReportRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Query::new(format!("SELECT {COLUMNS} FROM reports WHERE id IN "));
        let list = q.in_list(ids);
        q.push(&list);
        self.all(q).await
    }

    /// A page of reports matching `filter`, newest first (paged by id).
    pub async fn reports(&self, filter: ReportFilter, page: Page) -> Result<Vec<ReportRow>> {
        let mut q = Query::new(format!("SELECT {COLUMNS} FROM reports WHERE 1 = 1"));
        match filter.resolved {
            Some(true) => {
                q.push(" AND action_taken_at IS NOT NULL");
            }
            Some(false) => {
                q.push(" AND action_taken_at IS NULL");
            }
            None => {}
        }
        if let Some(a) = filter.account_id {
            let p = q.arg(a);
            q.push(&format!(" AND account_id = {p}"));
        }
        if let Some(t) = filter.target_account_id {
            let p = q.arg(t);
            q.push(&format!(" AND target_account_id = {p}"));
        }
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }
}
