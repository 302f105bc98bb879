//! Direct conversations (Mastodon's `account_conversations`): one row per local
//! participant and thread, kept up to date as direct statuses are created and deleted.
//!
//! A conversation is a thread: a direct reply joins its parent's thread, as a reply
//! joins its parent's conversation on Mastodon. Each participant's row holds the newest
//! direct status of the thread they take part in, whether they have read it, and the
//! other participants.

use sluice_model::Id;

use crate::{Page, Query, Result, Store, WriteTx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: Id,
    pub account_id: Id,
    pub thread_id: Id,
    pub last_status_id: Option<Id>,
    pub unread: bool,
    /// Other participants' account ids, comma-separated.
    pub participant_ids: String,
    pub updated_at: i64,
}

impl ConversationRow {
    pub fn participants(&self) -> impl Iterator<Item = Id> + '_ {
        self.participant_ids
            .split(',')
            .filter_map(|id| id.parse().ok())
    }
}

impl Store {
    /// An account's conversations, newest status first, paged by `last_status_id`.
    pub async fn conversations(&self, account_id: Id, page: Page) -> Result<Vec<ConversationRow>> {
        let mut q = Query::new(
            "SELECT * FROM account_conversations WHERE account_id = $1 AND last_status_id IS NOT NULL",
        )
        .bind(account_id);
        page.apply(&mut q, "last_status_id");
        Ok(page.finish(self.all(q).await?))
    }

    pub async fn conversation(&self, account_id: Id, id: Id) -> Result<Option<ConversationRow>> {
        self.opt(
            Query::new("SELECT * FROM account_conversations WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id),
        )
        .await
    }
}

/// A direct status as it is filed in its participants' conversations
/// ([`WriteTx::add_to_conversation`]).
#[derive(Debug, Clone, Copy)]
pub struct ConversationPost<'a> {
    pub thread_id: Id,
    pub status_id: Id,
    /// Everyone taking part; each participant's row lists the others.
    pub participants: &'a [Id],
}

impl WriteTx {
    /// Adds a direct status to `account_id`'s conversation of its thread (created when
    /// missing, as `new_id`): the newest status moves forward, `unread` is set as
    /// given, the participants are merged. Returns the conversation's id.
    pub async fn add_to_conversation(
        &mut self,
        account_id: Id,
        post: &ConversationPost<'_>,
        unread: bool,
        new_id: Id,
        now: i64,
    ) -> Result<Id> {
        let ConversationPost {
            thread_id,
            status_id,
            participants,
        } = *post;
        let mut q = Query::new(
            "SELECT * FROM account_conversations WHERE account_id = $1 AND thread_id = $2",
        )
        .bind(account_id)
        .bind(thread_id);
        if self.kind() == crate::EngineKind::Postgres {
            q.push(" FOR UPDATE");
        }
        let existing: Option<ConversationRow> = self.opt(q).await?;
        let mut ids: Vec<Id> = existing
            .as_ref()
            .map(|c| c.participants().collect())
            .unwrap_or_default();
        ids.extend(participants.iter().copied().filter(|p| *p != account_id));
        ids.sort_unstable();
        ids.dedup();
        let list = ids.iter().map(Id::to_string).collect::<Vec<_>>().join(",");
        // One statement either way; the unique (account_id, thread_id) index makes a
        // concurrent first insert an update instead of a duplicate.
        let row = self
            .one::<crate::query::Scalar>(
                Query::new(
                    "INSERT INTO account_conversations
                       (id, account_id, thread_id, last_status_id, unread, participant_ids, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (account_id, thread_id) DO UPDATE SET
                       last_status_id = CASE
                         WHEN account_conversations.last_status_id IS NULL
                           OR account_conversations.last_status_id < excluded.last_status_id
                         THEN excluded.last_status_id
                         ELSE account_conversations.last_status_id END,
                       unread = excluded.unread,
                       participant_ids = excluded.participant_ids,
                       updated_at = excluded.updated_at
                     RETURNING id AS v",
                )
                .bind(new_id)
                .bind(account_id)
                .bind(thread_id)
                .bind(status_id)
                .bind(unread)
                .bind(list)
                .bind(now),
            )
            .await?;
        Ok(row.v)
    }

    /// Marks a conversation read; false when it is not the account's.
    pub async fn mark_conversation_read(&mut self, account_id: Id, id: Id) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "UPDATE account_conversations SET unread = FALSE WHERE id = $1 AND account_id = $2",
                )
                .bind(id)
                .bind(account_id),
            )
            .await?
            == 1)
    }

    /// Removes a conversation from the account's list (the statuses stay).
    pub async fn delete_conversation(&mut self, account_id: Id, id: Id) -> Result<bool> {
        Ok(self
            .exec(
                Query::new("DELETE FROM account_conversations WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account_id),
            )
            .await?
            == 1)
    }

    /// After statuses `ids` are deleted: conversations one of them was the newest status
    /// of fall back to the newest direct status of the thread the participant still
    /// takes part in, and those left with none are removed. Called by
    /// [`WriteTx::delete_statuses`] (the statuses are gone by then).
    pub(crate) async fn forget_conversation_statuses(&mut self, ids: &[Id]) -> Result<()> {
        let mut q = Query::new(
            "UPDATE account_conversations SET last_status_id = (
               SELECT MAX(s.id) FROM statuses s
               WHERE s.thread_id = account_conversations.thread_id
                 AND s.visibility = 'direct'
                 AND (s.account_id = account_conversations.account_id
                      OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id
                                 AND m.account_id = account_conversations.account_id)))
             WHERE last_status_id IN ",
        );
        let list = q.in_list(ids);
        q.push(&list);
        self.exec(q).await?;
        self.exec(Query::new(
            "DELETE FROM account_conversations WHERE last_status_id IS NULL",
        ))
        .await?;
        Ok(())
    }
}
