//! One status and what hangs off it: its thread context, its edit history, and who
//! favourited or reblogged it.

use std::collections::{HashMap, HashSet};

use sluice_model::filter::FilterContext;
use sluice_model::{Id, Timestamp, api};
use sluice_store::{ListedId, Page, StatusRow};

use super::AccountPage;
use crate::{Engine, EngineError, Result};

/// Ancestors shown in a context, as Mastodon.
const MAX_ANCESTORS: usize = 40;

impl Engine {
    /// A stored status, whoever may see it (for its author's own actions, and the
    /// ActivityPub documents, which check their own audience).
    pub async fn status(&self, id: Id) -> Result<Option<StatusRow>> {
        Ok(self.store.status(id).await?)
    }

    /// The status with this IRI, if stored.
    pub async fn status_by_uri(&self, uri: &str) -> Result<Option<StatusRow>> {
        Ok(self.store.status_by_uri(uri).await?)
    }

    /// `GET /api/v1/statuses?id[]=…`: the statuses among `ids` that `viewer` may see
    /// (None: anonymous), in the order asked, each once; unknown ones and those the
    /// viewer may not see are left out. One query for the rows, one for visibility.
    pub async fn statuses_by_ids(
        &self,
        viewer: Option<Id>,
        ids: &[Id],
    ) -> Result<Vec<api::Status>> {
        let rows = self.store.statuses(ids).await?;
        let mut by_id: HashMap<Id, StatusRow> = self
            .only_visible(viewer, rows)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let ordered: Vec<StatusRow> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        self.status_entities(viewer, ordered).await
    }

    /// A public or unlisted status, as anyone may see it (its page), with its author.
    pub async fn public_status(&self, id: Id) -> Result<Option<(api::Status, api::Account)>> {
        let Some(s) = self.store.status(id).await? else {
            return Ok(None);
        };
        if !matches!(s.visibility.as_str(), "public" | "unlisted") {
            return Ok(None);
        }
        let Some(author) = self.store.account(s.account_id).await? else {
            return Ok(None);
        };
        let account = self.account_entity(&author);
        Ok(Some((self.status_entity(None, s).await?, account)))
    }

    /// `GET /api/v1/statuses/:id/context`: the ancestors (up the reply chain, at most
    /// [`MAX_ANCESTORS`]) and descendants (depth first, in reply order, as Mastodon
    /// lists them) of a status `viewer` may see (else NotFound), those the viewer may
    /// see, filtered for the thread context. The status and everything around it are
    /// checked in one query.
    pub async fn thread_context(&self, viewer: Option<Id>, id: Id) -> Result<api::Context> {
        let s = self.store.status(id).await?.ok_or(EngineError::NotFound)?;
        let thread = self.store.thread(s.thread_id).await?;
        let by_id: HashMap<Id, &StatusRow> = thread.iter().map(|t| (t.id, t)).collect();
        let mut ancestors: Vec<&StatusRow> = Vec::new();
        let mut cur = s.in_reply_to_id;
        while let Some(pid) = cur {
            let Some(parent) = by_id.get(&pid) else { break };
            ancestors.push(parent);
            cur = parent.in_reply_to_id;
            if ancestors.len() >= MAX_ANCESTORS {
                break;
            }
        }
        ancestors.reverse();
        let mut children: HashMap<Id, Vec<&StatusRow>> = HashMap::new();
        for t in &thread {
            if let Some(p) = t.in_reply_to_id {
                children.entry(p).or_default().push(t);
            }
        }
        let mut descendants: Vec<&StatusRow> = Vec::new();
        let mut stack: Vec<&StatusRow> = children
            .get(&s.id)
            .map(|c| c.iter().rev().copied().collect())
            .unwrap_or_default();
        while let Some(t) = stack.pop() {
            descendants.push(t);
            if let Some(c) = children.get(&t.id) {
                stack.extend(c.iter().rev().copied());
            }
        }
        let mut candidates: Vec<&StatusRow> = vec![&s];
        candidates.extend(ancestors.iter().copied());
        candidates.extend(descendants.iter().copied());
        let visible = self.visible_ids(viewer, &candidates).await?;
        if !visible.contains(&s.id) {
            return Err(EngineError::NotFound);
        }
        // Both lists are rendered by one call (one query for their views), then parted.
        let ancestor_ids: HashSet<String> = ancestors.iter().map(|r| r.id.to_string()).collect();
        let shown: Vec<StatusRow> = ancestors
            .into_iter()
            .chain(descendants)
            .filter(|r| visible.contains(&r.id))
            .cloned()
            .collect();
        let mut entities = self.status_entities(viewer, shown).await?;
        self.apply_filters(viewer, FilterContext::Thread, &mut entities)
            .await?;
        let (ancestors, descendants) = entities
            .into_iter()
            .partition(|e| ancestor_ids.contains(&e.id));
        Ok(api::Context {
            ancestors,
            descendants,
        })
    }

    /// The versions of a status `viewer` may see (else NotFound), oldest first; a
    /// status never edited has one. Versions are not stored with their media: the
    /// newest shows the post's.
    pub async fn status_history(&self, viewer: Option<Id>, id: Id) -> Result<Vec<api::StatusEdit>> {
        let s = self.visible_status(viewer, id).await?;
        let author = self
            .store
            .account(s.account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let account = self.account_entity(&author);
        let edits = self.store.edits(s.id).await?;
        let media: Vec<serde_json::Value> =
            sluice_model::media::Attachment::read_list(&s.attachments)
                .iter()
                .map(sluice_model::media::Attachment::entity)
                .collect();
        let mut versions: Vec<api::StatusEdit> = if edits.is_empty() {
            vec![api::StatusEdit {
                content: s.content.clone(),
                spoiler_text: s.spoiler_text.clone(),
                sensitive: s.sensitive,
                created_at: Timestamp(s.created_at).to_rfc3339(),
                account,
                poll: None,
                media_attachments: vec![],
                emojis: vec![],
            }]
        } else {
            edits
                .into_iter()
                .map(|e| api::StatusEdit {
                    content: e.content,
                    spoiler_text: e.spoiler_text,
                    sensitive: e.sensitive,
                    created_at: Timestamp(e.created_at).to_rfc3339(),
                    account: account.clone(),
                    poll: None,
                    media_attachments: vec![],
                    emojis: vec![],
                })
                .collect()
        };
        if let Some(last) = versions.last_mut() {
            last.media_attachments = media;
        }
        Ok(versions)
    }

    /// Who favourited a status `viewer` may see (else NotFound), paged by favourite.
    pub async fn favourited_by(
        &self,
        viewer: Option<Id>,
        id: Id,
        page: Page,
    ) -> Result<AccountPage> {
        let s = self.visible_status(viewer, id).await?;
        let rows = self.store.favourited_by(s.id, page).await?;
        self.account_page(rows).await
    }

    /// Who reblogged a status `viewer` may see (else NotFound), paged by reblog.
    pub async fn reblogged_by(
        &self,
        viewer: Option<Id>,
        id: Id,
        page: Page,
    ) -> Result<AccountPage> {
        let s = self.visible_status(viewer, id).await?;
        let rows = self.store.reblogged_by(s.id, page).await?;
        self.account_page(rows).await
    }

    /// Renders the accounts listed under relation rows, in their order.
    pub(crate) async fn account_page(&self, rows: Vec<ListedId>) -> Result<AccountPage> {
        let cursors: Vec<Id> = rows.iter().map(|r| r.rel_id).collect();
        let ids: Vec<Id> = rows.iter().map(|r| r.item_id).collect();
        Ok(AccountPage {
            accounts: self.account_entities(&ids).await?,
            cursors,
        })
    }
}
