//! Direct conversations: every direct status (local or remote) is added, in its own
//! transaction, to the conversation of its thread for each local participant (its
//! author and the local accounts it mentions), and a `conversation` event goes to each
//! of them. The Conversation entity is rendered per participant: their `unread` flag,
//! the other participants, the newest status.

use std::collections::HashMap;

use sluice_model::{Id, api};
use sluice_store::{
    AccountRow, ConversationPost, ConversationRow, NewEvent, Page, StatusRow, WriteTx,
};

use crate::{Engine, EngineError, Result};

impl Engine {
    /// Adds a direct `status` to its local participants' conversations (`people`: its
    /// author and the accounts it mentions); returns their `conversation` events. A
    /// participant who blocks the author is left out.
    pub(crate) async fn add_to_conversations(
        &self,
        tx: &mut WriteTx,
        status: &StatusRow,
        people: &[&AccountRow],
        now: i64,
    ) -> Result<Vec<NewEvent>> {
        let all: Vec<Id> = people.iter().map(|a| a.id).collect();
        let post = ConversationPost {
            thread_id: status.thread_id,
            status_id: status.id,
            participants: &all,
        };
        let mut done: Vec<Id> = Vec::new();
        let mut events = Vec::new();
        for p in people.iter().filter(|p| p.is_local()) {
            if done.contains(&p.id) {
                continue;
            }
            done.push(p.id);
            let author = p.id == status.account_id;
            if !author
                && self
                    .store
                    .blocked_either_way(p.id, status.account_id)
                    .await?
            {
                continue;
            }
            let id = tx
                .add_to_conversation(p.id, &post, !author, self.ids.next_at(now), now)
                .await?;
            events.push(NewEvent {
                kind: "conversation".into(),
                account_id: Some(status.account_id),
                recipient_id: Some(p.id),
                object_id: Some(id),
                data: String::new(),
            });
        }
        Ok(events)
    }

    /// Renders conversations for `me`, in the order given; one whose newest status is
    /// gone is left out.
    pub async fn conversation_entities(
        &self,
        me: Id,
        rows: Vec<ConversationRow>,
    ) -> Result<Vec<api::Conversation>> {
        let status_ids: Vec<Id> = rows.iter().filter_map(|c| c.last_status_id).collect();
        let views = self.store.status_views(Some(me), &status_ids).await?;
        let mut statuses: HashMap<String, api::Status> = self
            .page_entities(Some(me), views)
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for c in rows {
            let Some(last) = c
                .last_status_id
                .and_then(|id| statuses.remove(&id.to_string()))
            else {
                continue;
            };
            let mut ids: Vec<Id> = c.participants().collect();
            if ids.is_empty() {
                // A note to oneself: Mastodon lists the user.
                ids.push(me);
            }
            out.push(api::Conversation {
                id: c.id.to_string(),
                unread: c.unread,
                accounts: self.account_entities(&ids).await?,
                last_status: Some(last),
            });
        }
        Ok(out)
    }

    /// One of `me`'s conversations.
    pub async fn conversation_entity(&self, me: Id, id: Id) -> Result<api::Conversation> {
        let row = self
            .store
            .conversation(me, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        self.conversation_entities(me, vec![row])
            .await?
            .pop()
            .ok_or(EngineError::NotFound)
    }

    /// A page of `me`'s conversations (newest status first) and their cursors.
    pub async fn conversations_page(
        &self,
        me: Id,
        page: Page,
    ) -> Result<(Vec<api::Conversation>, Vec<Id>)> {
        let rows = self.store.conversations(me, page).await?;
        let cursors = rows.iter().filter_map(|c| c.last_status_id).collect();
        Ok((self.conversation_entities(me, rows).await?, cursors))
    }

    /// `POST /api/v1/conversations/:id/read`.
    pub async fn mark_conversation_read(&self, me: Id, id: Id) -> Result<api::Conversation> {
        let mut tx = self.store.begin().await?;
        if !tx.mark_conversation_read(me, id).await? {
            return Err(EngineError::NotFound);
        }
        tx.commit().await?;
        self.conversation_entity(me, id).await
    }

    /// `DELETE /api/v1/conversations/:id`: gone from the list until a new status in it.
    pub async fn remove_conversation(&self, me: Id, id: Id) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_conversation(me, id).await? {
            return Err(EngineError::NotFound);
        }
        Ok(tx.commit().await?)
    }
}
