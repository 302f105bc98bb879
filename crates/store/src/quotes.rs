//! Quote posts (Mastodon 4.5, FEP-044f): one `status_quotes` row per status that has a
//! quote policy, quotes another status, or both (migration 0024). The row's own columns
//! are read with every status ([`crate::StatusView`]'s `quote_*` columns, a LEFT JOIN
//! on the primary key in the one page statement).

use sluice_model::Id;

use crate::{ListedId, Page, Query, Result, Store, WriteTx};

/// A status's quote row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QuoteRow {
    pub status_id: Id,
    pub policy: Option<String>,
    pub quotes_count: i64,
    pub quoted_status_id: Option<Id>,
    pub quoted_uri: Option<String>,
    pub quote_state: Option<String>,
    pub authorization_uri: Option<String>,
    pub request_uri: Option<String>,
    pub created_at: i64,
}

const QUOTE_COLUMNS: &str = "status_id, policy, quotes_count, quoted_status_id, quoted_uri, \
     quote_state, authorization_uri, request_uri, created_at";

/// What a new status quotes.
#[derive(Debug, Clone, Default)]
pub struct NewQuote {
    pub quoted_status_id: Option<Id>,
    pub quoted_uri: String,
    pub state: String,
    pub authorization_uri: Option<String>,
    pub request_uri: Option<String>,
}

/// A quoting status and its author (for `quoted_update` notifications).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Quoting {
    pub status_id: Id,
    pub account_id: Id,
}

impl Store {
    /// The quote row of a status.
    pub async fn quote_row(&self, status_id: Id) -> Result<Option<QuoteRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {QUOTE_COLUMNS} FROM status_quotes WHERE status_id = $1"
            ))
            .bind(status_id),
        )
        .await
    }

    /// The quote row whose authorization stamp is `uri`.
    pub async fn quote_by_authorization(&self, uri: &str) -> Result<Option<QuoteRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {QUOTE_COLUMNS} FROM status_quotes WHERE authorization_uri = $1"
            ))
            .bind(uri),
        )
        .await
    }

    /// The quote row whose QuoteRequest (sent by us) is `uri`.
    pub async fn quote_by_request(&self, uri: &str) -> Result<Option<QuoteRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {QUOTE_COLUMNS} FROM status_quotes WHERE request_uri = $1"
            ))
            .bind(uri),
        )
        .await
    }

    /// The statuses quoting `quoted` in `state`s given, paged by the quoting status id.
    pub async fn quotes_of(
        &self,
        quoted: Id,
        states: &[&str],
        page: Page,
    ) -> Result<Vec<ListedId>> {
        let mut q = Query::new(
            "SELECT status_id AS rel_id, status_id AS item_id FROM status_quotes WHERE quoted_status_id = ",
        );
        let p = q.arg(quoted);
        q.push(&p);
        q.push(&format!(" AND quote_state IN {}", state_list(states)));
        page.apply(&mut q, "status_id");
        Ok(page.finish(self.all(q).await?))
    }

    /// Local accounts' statuses that quote `quoted` (accepted quotes), at most `limit`.
    pub async fn local_quoting(&self, quoted: Id, limit: i64) -> Result<Vec<Quoting>> {
        self.all(
            Query::new(
                "SELECT q.status_id, s.account_id FROM status_quotes q
                 JOIN statuses s ON s.id = q.status_id
                 WHERE q.quoted_status_id = $1 AND q.quote_state = 'accepted'
                 ORDER BY q.status_id LIMIT $2",
            )
            .bind(quoted)
            .bind(limit),
        )
        .await
    }
}

impl WriteTx {
    /// Records a new status's own quote policy and what it quotes (either may be
    /// absent); an accepted quote counts on the quoted status.
    pub async fn insert_quote_row(
        &mut self,
        status_id: Id,
        policy: Option<&str>,
        quote: Option<&NewQuote>,
        now: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO status_quotes (status_id, policy, quotes_count, quoted_status_id,
                    quoted_uri, quote_state, authorization_uri, request_uri, created_at)
                 VALUES ($1, $2, 0, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (status_id) DO UPDATE SET policy = excluded.policy,
                    quoted_status_id = excluded.quoted_status_id,
                    quoted_uri = excluded.quoted_uri, quote_state = excluded.quote_state,
                    authorization_uri = excluded.authorization_uri,
                    request_uri = excluded.request_uri",
            )
            .bind(status_id)
            .bind(policy)
            .bind(quote.and_then(|q| q.quoted_status_id))
            .bind(quote.map(|q| q.quoted_uri.as_str()))
            .bind(quote.map(|q| q.state.as_str()))
            .bind(quote.and_then(|q| q.authorization_uri.as_deref()))
            .bind(quote.and_then(|q| q.request_uri.as_deref()))
            .bind(now),
        )
        .await?;
        if let Some(q) = quote
            && q.state == "accepted"
            && let Some(quoted) = q.quoted_status_id
        {
            self.add_quotes_count(quoted, 1, now).await?;
        }
        Ok(())
    }

    /// Changes a status's quote policy (a row made when it has none).
    pub async fn set_quote_policy(&mut self, status_id: Id, policy: &str, now: i64) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO status_quotes (status_id, policy, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (status_id) DO UPDATE SET policy = excluded.policy",
            )
            .bind(status_id)
            .bind(policy)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    async fn add_quotes_count(&mut self, quoted: Id, delta: i64, now: i64) -> Result<()> {
        let n = self
            .exec(
                Query::new(
                    "UPDATE status_quotes SET quotes_count = CASE
                        WHEN quotes_count + $2 < 0 THEN 0 ELSE quotes_count + $2 END
                     WHERE status_id = $1",
                )
                .bind(quoted)
                .bind(delta),
            )
            .await?;
        if n == 0 && delta > 0 {
            self.exec(
                Query::new(
                    "INSERT INTO status_quotes (status_id, quotes_count, created_at)
                     VALUES ($1, $2, $3)",
                )
                .bind(quoted)
                .bind(delta)
                .bind(now),
            )
            .await?;
        }
        Ok(())
    }

    /// Moves a quote from one state to another; returns the row as it was when it
    /// changed (None: no quote in `from`). Leaving or entering `accepted` counts on
    /// the quoted status.
    pub async fn change_quote_state(
        &mut self,
        status_id: Id,
        from: &[&str],
        to: &str,
        authorization_uri: Option<&str>,
        now: i64,
    ) -> Result<Option<QuoteRow>> {
        let mut q = Query::new(format!(
            "SELECT {QUOTE_COLUMNS} FROM status_quotes WHERE status_id = "
        ));
        let p = q.arg(status_id);
        q.push(&p);
        q.push(&format!(" AND quote_state IN {}", state_list(from)));
        let Some(row) = self.opt::<QuoteRow>(q).await? else {
            return Ok(None);
        };
        self.exec(
            Query::new(
                "UPDATE status_quotes SET quote_state = $2,
                    authorization_uri = COALESCE($3, authorization_uri)
                 WHERE status_id = $1",
            )
            .bind(status_id)
            .bind(to)
            .bind(authorization_uri),
        )
        .await?;
        let was = row.quote_state.as_deref() == Some("accepted");
        let is = to == "accepted";
        if let Some(quoted) = row.quoted_status_id
            && was != is
        {
            self.add_quotes_count(quoted, if is { 1 } else { -1 }, now)
                .await?;
        }
        Ok(Some(row))
    }
}

impl WriteTx {
    /// Of statuses about to be deleted: their accepted quotes become `deleted` and no
    /// longer count on the statuses they quote ([`WriteTx::change_quote_state`] for
    /// many, a statement per distinct count).
    pub async fn quotes_deleted(&mut self, status_ids: &[Id]) -> Result<()> {
        if status_ids.is_empty() {
            return Ok(());
        }
        let mut q = Query::new(
            "SELECT quoted_status_id AS v FROM status_quotes
             WHERE quote_state = 'accepted' AND quoted_status_id IS NOT NULL AND status_id IN ",
        );
        let list = q.in_list(status_ids);
        q.push(&list);
        let quoted: Vec<crate::query::Scalar> = self.all(q).await?;
        if quoted.is_empty() {
            return Ok(());
        }
        let mut q = Query::new(
            "UPDATE status_quotes SET quote_state = 'deleted'
             WHERE quote_state = 'accepted' AND status_id IN ",
        );
        let list = q.in_list(status_ids);
        q.push(&list);
        self.exec(q).await?;
        let deltas = crate::count_each(quoted.into_iter().map(|r| r.v), -1);
        self.bump_counters("status_quotes", "status_id", "quotes_count", &deltas)
            .await
    }
}

/// `('a', 'b')` of quote states, which are our own constants (never input).
fn state_list(states: &[&str]) -> String {
    debug_assert!(
        states
            .iter()
            .all(|s| s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    );
    let quoted: Vec<String> = states.iter().map(|s| format!("'{s}'")).collect();
    format!("({})", quoted.join(", "))
}
