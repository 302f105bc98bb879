//! What a write does besides its own row, shared by local activities
//! ([`crate::pipeline`]) and remote ones ([`crate::remote`]), and the one step that
//! ends every such write ([`Engine::commit`]).
//!
//! An activity's function checks what it may do, opens one transaction, calls the
//! effect functions here (each writes rows in the transaction and gathers what the
//! commit must announce into a [`Changes`]), records the activity, and ends with
//! [`Engine::commit`]: the event-log rows are appended, the transaction commits, the
//! event-log subscribers and delivery workers are woken and the cached accounts it
//! changed are dropped. Who did it (a local user or a remote actor) changes only what
//! the caller records around the effects (a local activity is federated, a remote one
//! stored as received).

use serde_json::json;
use sluice_model::{Id, Visibility};
use sluice_store::{
    AccountCounter, AccountRow, EditRow, NewEvent, NewRelation, Relation, Saved, StatusCounter,
    StatusRow, WriteTx,
};

use crate::pipeline::status_event;
use crate::{Engine, Result};

/// What one transaction changed that others must hear of once it commits: its
/// event-log rows and the accounts whose cached copies are stale.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// When the write happened (the events' time).
    pub(crate) now: i64,
    events: Vec<NewEvent>,
    accounts: Vec<Id>,
    /// Every cached account is stale (counters of many accounts changed).
    all_accounts: bool,
}

impl Changes {
    /// Nothing changed yet, in a write made at `now`.
    pub(crate) fn at(now: i64) -> Changes {
        Changes {
            now,
            ..Default::default()
        }
    }

    /// Event-log rows to append (none for `None`).
    pub(crate) fn events(&mut self, events: impl IntoIterator<Item = NewEvent>) {
        self.events.extend(events);
    }

    /// Accounts whose cached copies the write made stale (counters, profile, relations).
    pub(crate) fn accounts(&mut self, ids: &[Id]) {
        self.accounts.extend_from_slice(ids);
    }

    /// Every cached account is stale.
    pub(crate) fn all_accounts(&mut self) {
        self.all_accounts = true;
    }
}

impl Engine {
    /// The one end of a write: appends the events gathered in `changes`, commits, then
    /// wakes the event-log subscribers (and the delivery workers when the transaction
    /// queued deliveries) and drops the cached accounts it changed.
    pub(crate) async fn commit(&self, mut tx: WriteTx, changes: Changes) -> Result<()> {
        let last = tx.append_events(&changes.events, changes.now).await?;
        tx.commit().await?;
        self.published(last);
        if changes.all_accounts {
            self.cache.accounts.clear();
        } else {
            self.accounts_changed(&changes.accounts);
        }
        Ok(())
    }
}

/// A new post as the transaction stores it, with what it names.
pub(crate) struct NewPost<'a> {
    pub status: &'a StatusRow,
    pub author: &'a AccountRow,
    /// The post it answers, when we have it.
    pub parent: Option<&'a StatusRow>,
    /// Shown mentions.
    pub mentioned: &'a [AccountRow],
    /// Silent recipients (`bto`/`bcc`): notified, never shown.
    pub hidden: &'a [AccountRow],
    pub tags: &'a [String],
}

/// An edit of a post: the row as it was and as it is to be (its `edited_at` set).
pub(crate) struct PostEdit<'a> {
    pub old: &'a StatusRow,
    pub new: &'a StatusRow,
    pub author: &'a AccountRow,
    pub tags: &'a [String],
    /// The shown mentions as they are to be; None keeps them (a remote edit).
    pub mentions: Option<&'a [Id]>,
    /// The mentioned accounts, when known (their pages are not the post's link card).
    pub mentioned: &'a [AccountRow],
}

impl Engine {
    /// Stores a new post: its row, mentions, hashtags, the author's and the parent's
    /// counters, its `update` event, the notifications of the local accounts it
    /// mentions, and (direct posts) the conversations of its participants.
    pub(crate) async fn store_post(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        p: &NewPost<'_>,
    ) -> Result<()> {
        let (status, author, now) = (p.status, p.author, changes.now);
        tx.insert_status(status).await?;
        let shown: Vec<Id> = p.mentioned.iter().map(|a| a.id).collect();
        tx.add_mentions(status.id, &shown).await?;
        let hidden: Vec<Id> = p.hidden.iter().map(|a| a.id).collect();
        if !hidden.is_empty() {
            tx.add_silent_mentions(status.id, &hidden).await?;
        }
        tx.add_tags(status.id, p.tags, &|| self.new_id(), now)
            .await?;
        tx.count_new_status(author.id, status.created_at).await?;
        self.link_card(tx, status, author, p.mentioned, now).await?;
        if let Some(parent) = p.parent {
            tx.bump_status_counter(parent.id, StatusCounter::Replies, 1)
                .await?;
        }
        // Streams route by every recipient, shown or not.
        let recipients = [shown, hidden].concat();
        changes.events([status_event(
            "update",
            status,
            p.tags,
            &recipients,
            &author.domain,
            None,
        )]);
        for m in p.mentioned.iter().chain(p.hidden) {
            if m.id != author.id && m.is_local() {
                changes.events(
                    self.notify(tx, m.id, author.id, "mention", Some(status.id), now)
                        .await?,
                );
            }
        }
        if status.visibility == Visibility::Direct.as_str() {
            let people: Vec<&AccountRow> = std::iter::once(author).chain(p.mentioned).collect();
            changes.events(self.add_to_conversations(tx, status, &people, now).await?);
        }
        changes.accounts(&[author.id]);
        Ok(())
    }

    /// Stores an edit of a post: the history (the original first, when this is its
    /// first edit), the new content, hashtags (and mentions, when given), and its
    /// `status.update` event.
    pub(crate) async fn store_edit(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        e: &PostEdit<'_>,
    ) -> Result<()> {
        let (old, new, now) = (e.old, e.new, changes.now);
        let edited_at = new.edited_at.unwrap_or(now);
        if old.edited_at.is_none() {
            tx.insert_edit(&edit_row(
                self.ids.next_at(old.created_at),
                old,
                old.created_at,
            ))
            .await?;
        }
        tx.insert_edit(&edit_row(
            self.ids.next_at(edited_at.clamp(0, now)),
            new,
            edited_at,
        ))
        .await?;
        tx.update_status_content(new).await?;
        if let Some(mentions) = e.mentions {
            tx.set_mentions(new.id, mentions).await?;
        }
        tx.set_tags(new.id, e.tags, &|| self.new_id(), now).await?;
        self.relink_card(tx, new, e.author, e.mentioned, now)
            .await?;
        changes.events([status_event(
            "status.update",
            new,
            e.tags,
            e.mentions.unwrap_or(&[]),
            &e.author.domain,
            None,
        )]);
        Ok(())
    }

    /// Favourites `status` for `actor` (the Like's id is `uri`): its counter and the
    /// author's notification. False when it was a favourite already.
    pub(crate) async fn add_favourite(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        actor: &AccountRow,
        status: &StatusRow,
        author: Option<&AccountRow>,
        uri: &str,
    ) -> Result<bool> {
        let now = changes.now;
        let id = self.new_id();
        if !tx
            .insert_saved(Saved::Favourites, id, actor.id, status.id, uri, now)
            .await?
        {
            return Ok(false);
        }
        tx.bump_status_counter(status.id, StatusCounter::Favourites, 1)
            .await?;
        if let Some(author) = author {
            changes.events(
                self.notify_author(tx, author, actor.id, "favourite", status.id, now)
                    .await?,
            );
        }
        Ok(true)
    }

    /// Takes back `actor`'s favourite of `status`, its counter and notification; the
    /// Like's id, or None when it was not a favourite.
    pub(crate) async fn remove_favourite(
        &self,
        tx: &mut WriteTx,
        actor: Id,
        status: &StatusRow,
    ) -> Result<Option<String>> {
        let Some(like_uri) = tx.delete_saved(Saved::Favourites, actor, status.id).await? else {
            return Ok(None);
        };
        tx.bump_status_counter(status.id, StatusCounter::Favourites, -1)
            .await?;
        tx.delete_notifications_about(actor, "favourite", Some(status.id), status.account_id)
            .await?;
        Ok(Some(like_uri))
    }

    /// Stores a reblog row (see [`reblog_row`]): the original's and the booster's
    /// counters, its `update` event and the original author's notification.
    pub(crate) async fn add_reblog(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        actor: &AccountRow,
        reblog: &StatusRow,
        author: Option<&AccountRow>,
    ) -> Result<()> {
        let original = reblog.reblog_of_id.unwrap_or_default();
        tx.insert_status(reblog).await?;
        tx.bump_status_counter(original, StatusCounter::Reblogs, 1)
            .await?;
        tx.bump_account_counter(actor.id, AccountCounter::Statuses, 1)
            .await?;
        changes.events([status_event(
            "update",
            reblog,
            &[],
            &[],
            &actor.domain,
            author.map(|a| a.domain.as_str()),
        )]);
        if let Some(author) = author {
            changes.events(
                self.notify_author(tx, author, actor.id, "reblog", original, changes.now)
                    .await?,
            );
        }
        changes.accounts(&[actor.id]);
        Ok(())
    }

    /// Removes `actor`'s reblog row, its counters, with its `delete` event.
    pub(crate) async fn remove_reblog(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        actor: &AccountRow,
        reblog: &StatusRow,
    ) -> Result<()> {
        tx.delete_status(reblog.id).await?;
        if let Some(original) = reblog.reblog_of_id {
            tx.bump_status_counter(original, StatusCounter::Reblogs, -1)
                .await?;
        }
        tx.bump_account_counter(actor.id, AccountCounter::Statuses, -1)
            .await?;
        changes.events([NewEvent {
            kind: "delete".into(),
            account_id: Some(actor.id),
            object_id: Some(reblog.id),
            data: json!({"visibility": reblog.visibility, "reblog_of": reblog.reblog_of_id})
                .to_string(),
            ..Default::default()
        }]);
        changes.accounts(&[actor.id]);
        Ok(())
    }

    /// `follower` follows `target` (the Follow's id is `uri`), with both counters.
    /// False when it did already.
    pub(crate) async fn add_follow(
        &self,
        tx: &mut WriteTx,
        follower: Id,
        target: Id,
        uri: &str,
        now: i64,
    ) -> Result<bool> {
        let row = self.relation_row(follower, target, uri, now);
        if !tx.insert_relation(Relation::Follow, &row).await? {
            return Ok(false);
        }
        tx.bump_account_counter(follower, AccountCounter::Following, 1)
            .await?;
        tx.bump_account_counter(target, AccountCounter::Followers, 1)
            .await?;
        Ok(true)
    }

    /// Ends `follower`'s follow of `target`, with both counters; the Follow's id, or
    /// None when there was none.
    pub(crate) async fn end_follow(
        &self,
        tx: &mut WriteTx,
        follower: Id,
        target: Id,
    ) -> Result<Option<String>> {
        let uri = tx
            .delete_relation(Relation::Follow, follower, target)
            .await?;
        if uri.is_some() {
            tx.bump_account_counter(follower, AccountCounter::Following, -1)
                .await?;
            tx.bump_account_counter(target, AccountCounter::Followers, -1)
                .await?;
        }
        Ok(uri)
    }

    /// Removes `follower`'s pending request to follow `target` and the notification
    /// it made; the Follow's id, or None when there was none.
    pub(crate) async fn end_follow_request(
        &self,
        tx: &mut WriteTx,
        follower: Id,
        target: Id,
    ) -> Result<Option<String>> {
        let uri = tx
            .delete_relation(Relation::FollowRequest, follower, target)
            .await?;
        if uri.is_some() {
            tx.delete_notifications_about(follower, "follow_request", None, target)
                .await?;
        }
        Ok(uri)
    }

    /// Ends every follow and request between `a` and `b` in one direction (a block);
    /// the id of the Follow it ended, if any.
    pub(crate) async fn sever(&self, tx: &mut WriteTx, a: Id, b: Id) -> Result<Option<String>> {
        let mut follow_uri = self.end_follow(tx, a, b).await?;
        if let Some(uri) = tx.delete_relation(Relation::FollowRequest, a, b).await? {
            follow_uri.get_or_insert(uri);
        }
        Ok(follow_uri)
    }

    /// A follow or block row (default options: reblogs shown, no notifications).
    pub(crate) fn relation_row(&self, account: Id, target: Id, uri: &str, now: i64) -> NewRelation {
        NewRelation {
            id: self.new_id(),
            account_id: account,
            target_account_id: target,
            uri: uri.into(),
            flag_a: true,
            flag_b: false,
            expires_at: None,
            created_at: now,
        }
    }
}

/// A reblog of `original` by `actor`, with id `id` and IRI `uri`.
pub(crate) fn reblog_row(
    actor: &AccountRow,
    original: &StatusRow,
    id: Id,
    uri: String,
    url: String,
    visibility: Visibility,
    created: i64,
) -> StatusRow {
    StatusRow {
        id,
        uri,
        url,
        account_id: actor.id,
        in_reply_to_id: None,
        in_reply_to_account_id: None,
        reblog_of_id: Some(original.id),
        thread_id: id,
        object_type: "Announce".into(),
        content: String::new(),
        source_text: String::new(),
        spoiler_text: String::new(),
        sensitive: false,
        visibility: visibility.as_str().into(),
        language: None,
        local: actor.is_local(),
        application_id: None,
        replies_count: 0,
        reblogs_count: 0,
        favourites_count: 0,
        created_at: created,
        edited_at: None,
        updated_at: created,
        attachments: "[]".into(),
    }
}

/// A post's content as its edit history keeps it, at `at`.
fn edit_row(id: Id, s: &StatusRow, at: i64) -> EditRow {
    EditRow {
        id,
        status_id: s.id,
        content: s.content.clone(),
        source_text: s.source_text.clone(),
        spoiler_text: s.spoiler_text.clone(),
        sensitive: s.sensitive,
        created_at: at,
    }
}
