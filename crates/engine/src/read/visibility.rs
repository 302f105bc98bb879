//! Which statuses a viewer may see, for a whole batch at once: the rules of
//! [`Engine::can_see`] in one query instead of up to three per status.

use std::collections::HashSet;

use sluice_model::{Id, Visibility};
use sluice_store::StatusRow;

use crate::{Engine, Result};

impl Engine {
    /// The ids among `rows` that `viewer` may see (its author, visibility, mentions,
    /// blocks): nothing asked of the store for an anonymous viewer, one query else.
    pub(crate) async fn visible_ids(
        &self,
        viewer: Option<Id>,
        rows: &[&StatusRow],
    ) -> Result<HashSet<Id>> {
        let Some(me) = viewer else {
            return Ok(rows
                .iter()
                .filter(|s| {
                    Visibility::parse(&s.visibility)
                        .unwrap_or(Visibility::Direct)
                        .is_public_or_unlisted()
                })
                .map(|s| s.id)
                .collect());
        };
        let mut ids: Vec<Id> = rows.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(self.store.visible_to(me, &ids).await?.into_iter().collect())
    }

    /// `rows` without those `viewer` may not see, in their order.
    pub(crate) async fn only_visible(
        &self,
        viewer: Option<Id>,
        rows: Vec<StatusRow>,
    ) -> Result<Vec<StatusRow>> {
        let visible = self
            .visible_ids(viewer, &rows.iter().collect::<Vec<_>>())
            .await?;
        Ok(rows
            .into_iter()
            .filter(|s| visible.contains(&s.id))
            .collect())
    }
}
