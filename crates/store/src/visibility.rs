//! Who may see which statuses, for many statuses in one statement.

use sluice_model::Id;

use crate::{Query, Result, Store, query::Scalar};

impl Store {
    /// Of the statuses `ids`, those the signed-in `viewer` may see, in one statement:
    /// their author always; nobody blocked either way with the author; anyone when
    /// public or unlisted; the author's followers when private; whoever they mention
    /// (shown or silent) whatever their visibility. The same rules as the engine's
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
                       WHERE m.status_id = s.id AND m.account_id = {me}))))"
        ));
        Ok(self
            .all::<Scalar>(q)
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }
}
