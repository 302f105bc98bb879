//! Polls: one row per status that has one (`polls`, keyed by the status id, which is
//! also the poll's id in the API) and one row per chosen option (`poll_votes`).
//!
//! A local poll's `tallies` and `voters_count` are counted from its votes in the
//! vote's transaction ([`WriteTx::recount_poll`]); a remote poll's are what its server
//! last said, plus our own users' votes since ([`WriteTx::add_to_tallies`]).

use sluice_model::Id;

use crate::query::Scalar;
use crate::{EngineKind, Query, Result, Store, WriteTx};

/// A poll as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PollRow {
    pub status_id: Id,
    /// JSON array of the option titles.
    pub options: String,
    /// JSON array of the vote counts, one per option.
    pub tallies: String,
    pub multiple: bool,
    pub hide_totals: bool,
    pub voters_count: Option<i64>,
    /// When voting ends (ms); None: never (some Misskey polls).
    pub expires_at: Option<i64>,
    /// When its end was handled (notifications sent, final counts federated).
    pub closed_at: Option<i64>,
    pub updated_at: i64,
}

impl PollRow {
    /// The option titles.
    pub fn option_titles(&self) -> Vec<String> {
        serde_json::from_str(&self.options).unwrap_or_default()
    }

    /// The vote counts, one per option (missing ones 0).
    pub fn tally_counts(&self) -> Vec<i64> {
        let mut t: Vec<i64> = serde_json::from_str(&self.tallies).unwrap_or_default();
        t.resize(self.option_titles().len(), 0);
        t
    }

    /// Whether voting has ended at `now`.
    pub fn expired_at(&self, now: i64) -> bool {
        self.closed_at.is_some() || self.expires_at.is_some_and(|e| e <= now)
    }
}

const POLL_COLUMNS: &str = "status_id, options, tallies, multiple, hide_totals, voters_count, \
     expires_at, closed_at, updated_at";

#[derive(Debug, sqlx::FromRow)]
struct OptScalar {
    v: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct ChoiceCount {
    choice: i64,
    n: i64,
}

impl Store {
    /// The poll of a status, if it has one.
    pub async fn poll(&self, status_id: Id) -> Result<Option<PollRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {POLL_COLUMNS} FROM polls WHERE status_id = $1"
            ))
            .bind(status_id),
        )
        .await
    }

    /// The options an account chose in a poll, ascending.
    pub async fn own_votes(&self, status_id: Id, account_id: Id) -> Result<Vec<i64>> {
        let rows = self
            .all::<Scalar>(
                Query::new(
                    "SELECT choice AS v FROM poll_votes WHERE status_id = $1 AND account_id = $2
                     ORDER BY choice",
                )
                .bind(status_id)
                .bind(account_id),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }

    /// The soonest end of a poll whose end was not handled yet.
    pub async fn next_poll_end(&self) -> Result<Option<i64>> {
        Ok(self
            .one::<OptScalar>(Query::new(
                "SELECT MIN(expires_at) AS v FROM polls
                 WHERE closed_at IS NULL AND expires_at IS NOT NULL",
            ))
            .await?
            .v)
    }

    /// Up to `limit` polls that ended by `now` and whose end was not handled yet,
    /// soonest first.
    pub async fn ended_polls(&self, now: i64, limit: i64) -> Result<Vec<PollRow>> {
        self.all(
            Query::new(format!(
                "SELECT {POLL_COLUMNS} FROM polls
                 WHERE closed_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $1
                 ORDER BY expires_at LIMIT $2"
            ))
            .bind(now)
            .bind(limit),
        )
        .await
    }
}

impl WriteTx {
    pub async fn insert_poll(&mut self, p: &PollRow) -> Result<()> {
        self.exec(
            Query::new(format!(
                "INSERT INTO polls ({POLL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .bind(p.status_id)
            .bind(&p.options)
            .bind(&p.tallies)
            .bind(p.multiple)
            .bind(p.hide_totals)
            .bind(p.voters_count)
            .bind(p.expires_at)
            .bind(p.closed_at)
            .bind(p.updated_at),
        )
        .await?;
        Ok(())
    }

    /// A poll, locked against concurrent writers until the transaction ends
    /// (PostgreSQL `FOR UPDATE`; SQLite's write transaction excludes them already):
    /// two votes counted at once must not both write counts that miss the other.
    pub async fn poll_for_update(&mut self, status_id: Id) -> Result<Option<PollRow>> {
        let mut q = Query::new(format!(
            "SELECT {POLL_COLUMNS} FROM polls WHERE status_id = $1"
        ))
        .bind(status_id);
        if self.kind() == EngineKind::Postgres {
            q.push(" FOR UPDATE");
        }
        self.opt(q).await
    }

    /// The options an account chose in a poll, ascending (as this transaction sees).
    pub async fn votes_of(&mut self, status_id: Id, account_id: Id) -> Result<Vec<i64>> {
        let rows = self
            .all::<Scalar>(
                Query::new(
                    "SELECT choice AS v FROM poll_votes WHERE status_id = $1 AND account_id = $2
                     ORDER BY choice",
                )
                .bind(status_id)
                .bind(account_id),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }

    /// Records one chosen option; false when the account had chosen it already.
    pub async fn insert_vote(
        &mut self,
        id: Id,
        status_id: Id,
        account_id: Id,
        choice: i64,
        uri: &str,
        now: i64,
    ) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "INSERT INTO poll_votes (id, status_id, account_id, choice, uri, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (status_id, account_id, choice) DO NOTHING",
                )
                .bind(id)
                .bind(status_id)
                .bind(account_id)
                .bind(choice)
                .bind(uri)
                .bind(now),
            )
            .await?;
        Ok(n == 1)
    }

    /// Counts a (local) poll's votes again and stores the counts; returns the poll as
    /// it is now.
    pub async fn recount_poll(&mut self, poll: &PollRow, now: i64) -> Result<PollRow> {
        let rows = self
            .all::<ChoiceCount>(
                Query::new(
                    "SELECT choice, COUNT(*) AS n FROM poll_votes WHERE status_id = $1
                     GROUP BY choice",
                )
                .bind(poll.status_id),
            )
            .await?;
        let mut tallies = vec![0i64; poll.option_titles().len()];
        for r in rows {
            if let Some(t) = usize::try_from(r.choice)
                .ok()
                .and_then(|i| tallies.get_mut(i))
            {
                *t = r.n;
            }
        }
        let voters = self
            .one::<Scalar>(
                Query::new(
                    "SELECT COUNT(DISTINCT account_id) AS v FROM poll_votes WHERE status_id = $1",
                )
                .bind(poll.status_id),
            )
            .await?
            .v;
        let mut new = poll.clone();
        new.tallies = serde_json::to_string(&tallies).unwrap_or_else(|_| "[]".into());
        new.voters_count = Some(voters);
        new.updated_at = now;
        self.set_poll_counts(&new).await?;
        Ok(new)
    }

    /// Adds one voter's choices to a (remote) poll's counts; returns the poll as it is
    /// now.
    pub async fn add_to_tallies(
        &mut self,
        poll: &PollRow,
        choices: &[i64],
        new_voter: bool,
        now: i64,
    ) -> Result<PollRow> {
        let mut tallies = poll.tally_counts();
        for &c in choices {
            if let Some(t) = usize::try_from(c).ok().and_then(|i| tallies.get_mut(i)) {
                *t += 1;
            }
        }
        let mut new = poll.clone();
        new.tallies = serde_json::to_string(&tallies).unwrap_or_else(|_| "[]".into());
        if new_voter {
            new.voters_count = Some(poll.voters_count.unwrap_or(0) + 1);
        }
        new.updated_at = now;
        self.set_poll_counts(&new).await?;
        Ok(new)
    }

    /// Stores a poll's counts.
    pub async fn set_poll_counts(&mut self, p: &PollRow) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE polls SET tallies = $1, voters_count = $2, updated_at = $3
                 WHERE status_id = $4",
            )
            .bind(&p.tallies)
            .bind(p.voters_count)
            .bind(p.updated_at)
            .bind(p.status_id),
        )
        .await?;
        Ok(())
    }

    /// Replaces a remote poll as its server describes it now. When its options
    /// changed, the votes cast here are removed (they were for other options, as
    /// Mastodon resets them).
    pub async fn replace_poll(&mut self, p: &PollRow, options_changed: bool) -> Result<()> {
        if options_changed {
            self.exec(Query::new("DELETE FROM poll_votes WHERE status_id = $1").bind(p.status_id))
                .await?;
        }
        self.exec(
            Query::new(
                "UPDATE polls SET options = $1, tallies = $2, multiple = $3, voters_count = $4,
                     expires_at = $5, updated_at = $6
                 WHERE status_id = $7",
            )
            .bind(&p.options)
            .bind(&p.tallies)
            .bind(p.multiple)
            .bind(p.voters_count)
            .bind(p.expires_at)
            .bind(p.updated_at)
            .bind(p.status_id),
        )
        .await?;
        Ok(())
    }

    /// Marks a poll's end handled; false when it was already (another process did it).
    pub async fn close_poll(&mut self, status_id: Id, now: i64) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "UPDATE polls SET closed_at = $1 WHERE status_id = $2 AND closed_at IS NULL",
                )
                .bind(now)
                .bind(status_id),
            )
            .await?;
        Ok(n == 1)
    }

    /// The local accounts that voted in a poll.
    pub async fn local_voters(&mut self, status_id: Id) -> Result<Vec<Id>> {
        let rows = self
            .all::<Scalar>(
                Query::new(
                    "SELECT DISTINCT v.account_id AS v FROM poll_votes v
                     JOIN accounts a ON a.id = v.account_id
                     WHERE v.status_id = $1 AND a.domain = ''
                     ORDER BY v.account_id",
                )
                .bind(status_id),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }
}
