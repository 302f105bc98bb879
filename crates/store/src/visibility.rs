//! Who may see which statuses, for many statuses in one statement.

use sluice_model::Id;

use crate::{Query, Result, Store, WriteTx, query::Scalar};

impl Store {
    /// Of the statuses `ids`, those the signed-in `viewer` may see, in one statement:
    /// their author always; nobody blocked either way with the author; anyone when
    /// public or unlisted; the author's followers when private; whoever they mention
    /// (shown or silent) whatever their visibility; the followers of the thread owner
    /// a conversation reply was addressed to (`status_audiences`, FEP-171b). The same rules as the engine's
    /// one-status check; an anonymous viewer needs no query (public and unlisted).
    pub async fn visible_to(&self, viewer: Id, ids: &[Id]) -> Result<Vec<Id>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new("SELECT s.id AS v FROM statuses s WHERE s.id IN ");
        let list = q.in_list(ids);
        let me = q.arg(viewer);
        q.push(&format!(
            "{list} AND (s.account_id = {me} OR (
               NOT EXISTS (SELECT 1 FROM blocks b
                 WHERE (b.account_id = {me} AND b.target_account_id = s.account_id)
                    OR (b.account_id = s.account_id AND b.target_account_id = {me}))
               AND (s.visibility IN ('public', 'unlisted')
                 OR (s.visibility = 'private' AND EXISTS (SELECT 1 FROM follows f
                       WHERE f.account_id = {me} AND f.target_account_id = s.account_id))
                 OR EXISTS (SELECT 1 FROM mentions m
                       WHERE m.status_id = s.id AND m.account_id = {me})
                 OR EXISTS (SELECT 1 FROM status_audiences sa JOIN follows f
                       ON f.target_account_id = sa.account_id
                       WHERE sa.status_id = s.id AND f.account_id = {me}))))"
        ));
        Ok(self
            .all::<Scalar>(q)
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// Whether `viewer` follows the account whose followers a conversation reply was
    /// addressed to (FEP-171b; see [`WriteTx::set_status_audience`]).
    pub async fn in_status_audience(&self, status: Id, viewer: Id) -> Result<bool> {
        let q = Query::new(
            "SELECT count(*) AS v FROM status_audiences sa JOIN follows f
               ON f.target_account_id = sa.account_id
             WHERE sa.status_id = $1 AND f.account_id = $2",
        )
        .bind(status)
        .bind(viewer);
        Ok(self.one::<Scalar>(q).await?.v > 0)
    }
}

impl WriteTx {
    /// Makes the followers of `owner` (a thread's owner) an audience of `status`: a
    /// reply the owner added to its conversation (FEP-171b), addressed to the owner's
    /// followers collection.
    pub async fn set_status_audience(&mut self, status: Id, owner: Id) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO status_audiences (status_id, account_id) VALUES ($1, $2)
                 ON CONFLICT (status_id) DO NOTHING",
            )
            .bind(status)
            .bind(owner),
        )
        .await?;
        Ok(())
    }
}
