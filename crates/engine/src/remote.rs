//! Activities from other servers, after the inbox has verified who sent them: the same
//! rules and the same transaction shape as local writes (row changes, the activity
//! with its addressing, notifications, event-log rows, and any answer we owe in the
//! delivery queue, all committed together).
//!
//! Every function is idempotent by activity id: the remote activity is stored first
//! (`activities.uri` is unique), and a repeated delivery finds it there and changes
//! nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use sluice_model::Visibility;
use sluice_model::media::{self, Attachment};
use sluice_model::visibility::is_public_iri;
use sluice_store::{
    AccountRow, ActivityRecord, NewRelation, PinOutcome, Relation, StatusRow, WriteTx,
};

use crate::effects::{Changes, NewPost, PostEdit, reblog_row};
use crate::pipeline::{Outcome, status_event};
use crate::{Engine, EngineError, Result};

/// The remote activity being applied: what is stored for de-duplication and audit.
#[derive(Debug, Clone)]
pub struct RemoteActivity {
    /// The activity's id (its IRI).
    pub uri: String,
    pub kind: String,
    pub object_uri: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// The activity JSON as received.
    pub json: String,
}

/// A remote Note (or Article, Page, Question…) as the inbox read it.
#[derive(Debug, Clone, Default)]
pub struct RemoteNote {
    pub uri: String,
    pub url: String,
    pub object_type: String,
    /// Already sanitized HTML.
    pub content: String,
    pub summary: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub in_reply_to: Option<String>,
    pub published: i64,
    pub updated: Option<i64>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Actor IRIs of the mentions.
    pub mentions: Vec<String>,
    /// Hashtag names without `#`, lowercased.
    pub tags: Vec<String>,
    /// Media attachments (links to the files on the author's server); the engine gives
    /// them ids.
    pub attachments: Vec<Attachment>,
    /// The poll of a `Question`.
    pub poll: Option<RemotePoll>,
    /// Its `Emoji` tags (remembered for the author's domain).
    pub emojis: Vec<crate::emojis::RemoteEmoji>,
    /// The post it quotes (`quote`, `quoteUri`, `_misskey_quote`, …).
    pub quote: Option<String>,
    /// Its quote's authorization stamp, set only once checked against the quoted
    /// author (federation checks it before handing the post over).
    pub quote_authorization: Option<String>,
    /// Who may quote it (`public`, `followers`, `nobody`), from its
    /// `interactionPolicy`; None when it says nothing.
    pub quote_policy: Option<String>,
    /// A reply in a conversation container (FEP-171b) addressed to the thread owner's
    /// followers collection: that owner, whose followers may see it (as addressed).
    /// Set only by the inbox, after checking the owner's `Add` and the reply's origin.
    pub audience_of: Option<sluice_model::Id>,
}

/// A remote post's poll as its server describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemotePoll {
    /// The options' titles with their vote counts (0 when not published).
    pub options: Vec<(String, i64)>,
    pub multiple: bool,
    /// When voting ends (ms); None: never said.
    pub expires_at: Option<i64>,
    /// When it was closed, if it says it is (`closed`).
    pub closed_at: Option<i64>,
    pub voters_count: Option<i64>,
}

/// Why an accepted remote activity was recorded but not applied: the `reason` label
/// of `sluice_inbox_ignored_total`. A fixed set, so the metric has a bounded number of
/// series; each is logged at debug level with the activity's id when it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// A type we do not apply: `Dislike`, `Join`, `Leave`, types we do not know, and an
    /// `Undo` of one of them.
    UnsupportedType,
    /// An object we do not store as a post: Pleroma's `ChatMessage` (a chat, not a
    /// post), or an actor, collection or link where a post was expected.
    UnsupportedObject,
    /// Only the object's id was sent where the object itself is needed.
    NoObject,
    /// It names a post, an activity or a local account that we do not have.
    UnknownObject,
    /// The object is someone else's: a post attributed to another actor, a moderator's
    /// `Delete` of a member's post, an `Update` of another actor, a pin of another's post.
    NotAuthor,
    /// The object's id is on another server than its actor (ids are taken only from
    /// the server they belong to).
    ForeignId,
    /// A `Create` of a post that was deleted here before.
    Deleted,
    /// An `Update` not newer than what we have.
    Stale,
    /// An `Announce` of a post that is not public or unlisted, or of a boost.
    NotPublic,
    /// An `Announce` of an activity that we do not apply: not from a group a local user
    /// follows, or of another kind than `Create`, `Update` or `Delete` (FEP-1b12).
    AnnouncedActivity,
    /// What a group relayed about a member on another server could not be confirmed
    /// there: the post is not what the group says, or a deleted post is still there;
    /// or a reply a thread's owner relayed (FEP-171b `Add`) is not served by its own
    /// server.
    Unverified,
    /// An `Add` or `Remove` to another collection than the actor's featured posts; a
    /// thread owner's `Add` (FEP-171b) to a collection not its own, or of a post that
    /// is not a reply.
    OtherCollection,
    /// A `Move` not made by the account itself, or to an account that does not name it.
    MoveRefused,
    /// Applying it failed for good (a permanent error, or too many attempts).
    Failed,
    /// Its `Undo` arrived before it (a sender's retries reorder deliveries).
    Undone,
    /// A vote in one of our polls that does not count: the poll ended, the option does
    /// not exist, the voter voted already (or may not see the poll).
    VoteRefused,
    /// An emoji reaction that does not count: not one emoji we can show (several, text,
    /// a custom emoji without its image), to a post the reacting actor may not see (or
    /// whose author blocks it), or one more than an account may give a post.
    ReactionRefused,
    /// A report (`Flag`) from a domain whose reports the instance rejects
    /// (`reject_reports`).
    ReportsRejected,
}

impl Ignored {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [Ignored; 18] = [
        Ignored::UnsupportedType,
        Ignored::UnsupportedObject,
        Ignored::NoObject,
        Ignored::UnknownObject,
        Ignored::NotAuthor,
        Ignored::ForeignId,
        Ignored::Deleted,
        Ignored::Stale,
        Ignored::NotPublic,
        Ignored::AnnouncedActivity,
        Ignored::Unverified,
        Ignored::OtherCollection,
        Ignored::MoveRefused,
        Ignored::Failed,
        Ignored::Undone,
        Ignored::VoteRefused,
        Ignored::ReactionRefused,
        Ignored::ReportsRejected,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Ignored::UnsupportedType => "unsupported_type",
            Ignored::UnsupportedObject => "unsupported_object",
            Ignored::NoObject => "no_object",
            Ignored::UnknownObject => "unknown_object",
            Ignored::NotAuthor => "not_author",
            Ignored::ForeignId => "foreign_id",
            Ignored::Deleted => "deleted",
            Ignored::Stale => "stale",
            Ignored::NotPublic => "not_public",
            Ignored::AnnouncedActivity => "announced_activity",
            Ignored::Unverified => "unverified",
            Ignored::OtherCollection => "other_collection",
            Ignored::MoveRefused => "move_refused",
            Ignored::Failed => "failed",
            Ignored::Undone => "undone",
            Ignored::VoteRefused => "vote_refused",
            Ignored::ReactionRefused => "reaction_refused",
            Ignored::ReportsRejected => "reports_rejected",
        }
    }
}

/// How many accepted remote activities this process recorded without applying them,
/// per [`Ignored`] reason (`sluice_inbox_ignored_total`).
#[derive(Debug, Default)]
pub struct IgnoredCounts([AtomicU64; Ignored::ALL.len()]);

impl IgnoredCounts {
    pub fn count(&self, reason: Ignored) {
        self.0[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Every reason with its count (zeros included).
    pub fn snapshot(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Ignored::ALL
            .iter()
            .map(|r| (r.as_str(), self.0[*r as usize].load(Ordering::Relaxed)))
    }
}

impl Engine {
    /// The stored form of a remote post's attachments, at most [`media::MAX_REMOTE`],
    /// each with a new id, except one whose URL the post had (`old`, for an edit): it
    /// keeps its id (clients key media by id).
    fn remote_attachments(&self, old: &str, list: &[Attachment]) -> String {
        let old = Attachment::read_list(old);
        let list: Vec<Attachment> = list
            .iter()
            .take(media::MAX_REMOTE)
            .map(|a| Attachment {
                id: old
                    .iter()
                    .find(|o| o.url == a.url)
                    .map(|o| o.id.clone())
                    .unwrap_or_else(|| self.new_id().to_string()),
                remote: true,
                ..a.clone()
            })
            .collect();
        Attachment::write_list(&list)
    }
}

/// The visibility a remote post's addressing means (as Mastodon reads it).
pub fn visibility_of(to: &[String], cc: &[String], followers: &str) -> Visibility {
    if to.iter().any(|i| is_public_iri(i)) {
        Visibility::Public
    } else if cc.iter().any(|i| is_public_iri(i)) {
        Visibility::Unlisted
    } else if !followers.is_empty() && to.iter().chain(cc).any(|i| i == followers) {
        Visibility::Private
    } else {
        Visibility::Direct
    }
}

impl Engine {
    /// Begins the transaction that applies `a`, with the activity stored first; None
    /// (nothing to do) when it was stored before (a repeated delivery), or when its
    /// actor undid it before it arrived (it is stored, not applied).
    pub(crate) async fn begin_remote(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        now: i64,
    ) -> Result<Option<WriteTx>> {
        let mut tx = self.store.begin().await?;
        if !self.store_remote_activity(&mut tx, actor, a, now).await? {
            self.commit(tx, Changes::at(now)).await?;
            return Ok(None);
        }
        if UNDOABLE.contains(&a.kind.as_str()) && tx.was_undone(&a.uri, actor.id).await? {
            self.commit(tx, Changes::at(now)).await?;
            self.not_applied(actor, a, Ignored::Undone);
            return Ok(None);
        }
        Ok(Some(tx))
    }

    /// Remembers, in `tx`, that `actor` undid `undone_uri` before it arrived, so the
    /// late activity is stored and not applied ([`Engine::begin_remote`]). Only ids on
    /// the actor's own host: an actor undoes its own activities, never another's.
    pub(crate) async fn remember_undone(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        undone_uri: &str,
        now: i64,
    ) -> Result<()> {
        if same_host(undone_uri, &actor.uri) {
            tx.remember_undone(undone_uri, actor.id, now).await?;
        }
        Ok(())
    }

    /// An `Undo` of an activity we do not have (yet): stored, and the undone id (the
    /// Undo's object) remembered, so the activity is not applied if it comes later
    /// (a sender's retries can deliver an activity after its Undo).
    pub async fn remote_undo_missing(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
    ) -> Result<Outcome> {
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        self.remember_undone(&mut tx, actor, &a.object_uri, now)
            .await?;
        self.commit(tx, Changes::at(now)).await?;
        Ok(Outcome::default())
    }

    /// Stores the remote activity; false when it was stored before (a repeat).
    async fn store_remote_activity(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        a: &RemoteActivity,
        now: i64,
    ) -> Result<bool> {
        Ok(tx
            .insert_activity(&ActivityRecord {
                id: self.ids.next_at(now),
                uri: a.uri.clone(),
                kind: a.kind.clone(),
                actor_id: actor.id,
                object_uri: a.object_uri.clone(),
                local: false,
                to_json: serde_json::to_string(&a.to).unwrap_or_default(),
                cc_json: serde_json::to_string(&a.cc).unwrap_or_default(),
                json: a.json.clone(),
                created_at: now,
            })
            .await?)
    }

    /// `Follow` of a local account by a remote actor. An unlocked account accepts at
    /// once (the Accept is queued in the same transaction); a locked one gets a follow
    /// request to answer.
    pub async fn remote_follow(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        target: &AccountRow,
    ) -> Result<Outcome> {
        if !target.is_local() || actor.is_local() {
            return Err(EngineError::invalid(
                "not a remote follow of a local account",
            ));
        }
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        if self.store.blocked_either_way(target.id, actor.id).await? {
            // A blocked actor's follow is refused, and told so.
            self.record_follow_answer(&mut tx, target, actor, &a.uri, false, now)
                .await?;
            self.commit(tx, changes).await?;
            return Ok(Outcome::default());
        }
        changes.events([crate::accounts::relationship_event(target.id, actor.id)]);
        changes.accounts(&[actor.id, target.id]);
        if target.locked {
            let row = self.relation_row(actor.id, target.id, &a.uri, now);
            if tx.insert_relation(Relation::FollowRequest, &row).await? {
                changes.events(
                    self.notify(&mut tx, target.id, actor.id, "follow_request", None, now)
                        .await?,
                );
            }
        } else {
            if self
                .add_follow(&mut tx, actor.id, target.id, &a.uri, now)
                .await?
            {
                changes.events(
                    self.notify(&mut tx, target.id, actor.id, "follow", None, now)
                        .await?,
                );
            }
            // Already following (a re-sent Follow with a new id): accept again, so
            // the other side's state converges.
            self.record_follow_answer(&mut tx, target, actor, &a.uri, true, now)
                .await?;
        }
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    /// `Undo(Follow)` from a remote follower: the follow (or request) is gone.
    pub async fn remote_undo_follow(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        target: &AccountRow,
    ) -> Result<Outcome> {
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        changes.accounts(&[actor.id, target.id]);
        let changed = self
            .end_follow(&mut tx, actor.id, target.id)
            .await?
            .is_some()
            || self
                .end_follow_request(&mut tx, actor.id, target.id)
                .await?
                .is_some();
        if changed {
            changes.events([crate::accounts::relationship_event(target.id, actor.id)]);
        } else {
            // The Follow has not arrived (or was answered already): if it comes late,
            // it is not applied.
            self.remember_undone(&mut tx, actor, &a.object_uri, now)
                .await?;
        }
        self.commit(tx, changes).await?;
        Ok(Outcome {
            changed,
            ..Default::default()
        })
    }

    /// `Accept(Follow)` or `Reject(Follow)` from a remote account that `follower` (one
    /// of ours) asked to follow.
    pub async fn remote_follow_answered(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        follower: &AccountRow,
        accepted: bool,
    ) -> Result<Outcome> {
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        // The follow keeps the request's options (boosts shown, notified of posts).
        let options = tx.follow_request_options(follower.id, actor.id).await?;
        let request = tx
            .delete_relation(Relation::FollowRequest, follower.id, actor.id)
            .await?;
        let mut changed = request.is_some();
        if accepted && let Some(uri) = request {
            self.add_follow(&mut tx, follower.id, actor.id, &uri, now)
                .await?;
            if let Some((reblogs, notify)) = options {
                tx.update_follow_options(follower.id, actor.id, reblogs, notify)
                    .await?;
            }
        } else if !accepted
            && self
                .end_follow(&mut tx, follower.id, actor.id)
                .await?
                .is_some()
        {
            // A Reject of an established follow removes it (Mastodon does the same).
            changed = true;
        }
        let mut changes = Changes::at(now);
        changes.accounts(&[actor.id, follower.id]);
        if changed {
            changes.events([crate::accounts::relationship_event(follower.id, actor.id)]);
        }
        self.commit(tx, changes).await?;
        Ok(Outcome {
            changed,
            ..Default::default()
        })
    }

    /// `Create` of a remote post. Replies attach to the post they answer when we have
    /// it; mentioned local accounts are notified.
    pub async fn remote_create_note(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        n: &RemoteNote,
    ) -> Result<Outcome> {
        if let Some(existing) = self.store.status_by_uri(&n.uri).await? {
            return Ok(Outcome::status(existing.id, false));
        }
        self.remember_remote_emojis(&actor.domain, &n.emojis)
            .await?;
        // Deleted here before (a Create delivered after its Delete): it stays deleted.
        if self.store.is_tombstoned(&n.uri).await? {
            return self.remote_ignored(actor, a, Ignored::Deleted).await;
        }
        let parent = match &n.in_reply_to {
            Some(uri) => self.store.status_by_uri(uri).await?,
            None => None,
        };
        let mut mentioned: Vec<AccountRow> = Vec::new();
        for uri in n.mentions.iter().take(crate::pipeline::MAX_MENTIONS) {
            if let Some(acc) = self.store.account_by_uri(uri).await? {
                mentioned.push(acc);
            }
        }
        let now = sluice_model::id::now_millis();
        let mut status = self.remote_status_row(actor, n, parent.as_ref(), now);
        if self.media_rejected(&actor.domain).await? {
            status.attachments = Self::without_media(&status.attachments);
        }
        let tags: Vec<String> = n
            .tags
            .iter()
            .take(crate::pipeline::MAX_TAGS)
            .cloned()
            .collect();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        self.store_post(
            &mut tx,
            &mut changes,
            &NewPost {
                status: &status,
                author: actor,
                parent: parent.as_ref(),
                mentioned: &mentioned,
                hidden: &[],
                tags: &tags,
            },
        )
        .await?;
        let poll = n
            .poll
            .as_ref()
            .map(|p| crate::polls::remote_poll_row(status.id, p, now));
        if let Some(p) = &poll {
            tx.insert_poll(p).await?;
        }
        self.store_remote_quote(&mut tx, &mut changes, actor, &status, n, now)
            .await?;
        if let Some(owner) = n.audience_of {
            tx.set_status_audience(status.id, owner).await?;
        }
        self.commit(tx, changes).await?;
        if poll.is_some_and(|p| p.expires_at.is_some()) {
            self.poll_stored();
        }
        Ok(Outcome::status(status.id, true))
    }

    /// The row of a remote post. Its id is time-sortable from the post's own date (not
    /// in the future), so a late delivery still sorts where it belongs.
    fn remote_status_row(
        &self,
        actor: &AccountRow,
        n: &RemoteNote,
        parent: Option<&StatusRow>,
        now: i64,
    ) -> StatusRow {
        let visibility = visibility_of(&n.to, &n.cc, &actor.followers_url);
        let created = n.published.clamp(0, now);
        let id = self.ids.backdated(created);
        StatusRow {
            id,
            uri: n.uri.clone(),
            url: if n.url.is_empty() {
                n.uri.clone()
            } else {
                n.url.clone()
            },
            account_id: actor.id,
            in_reply_to_id: parent.map(|p| p.id),
            in_reply_to_account_id: parent.map(|p| p.account_id),
            reblog_of_id: None,
            thread_id: parent.map(|p| p.thread_id).unwrap_or(id),
            object_type: if n.object_type.is_empty() {
                "Note".into()
            } else {
                n.object_type.clone()
            },
            content: n.content.clone(),
            source_text: String::new(),
            spoiler_text: n.summary.clone(),
            sensitive: n.sensitive || !n.summary.is_empty(),
            visibility: visibility.as_str().into(),
            language: n.language.clone(),
            local: false,
            application_id: None,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
            created_at: created,
            edited_at: n.updated.filter(|u| *u > n.published),
            updated_at: n.updated.unwrap_or(created),
            attachments: self.remote_attachments("[]", &n.attachments),
        }
    }

    /// `Delete` of a remote object: the post goes if `actor` wrote it.
    pub async fn remote_delete_note(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        object_uri: &str,
    ) -> Result<Outcome> {
        let Some(status) = self.store.status_by_uri(object_uri).await? else {
            // A Delete arriving before its Create: remember it (when the id is the
            // actor's own), so the late Create is not stored.
            if !same_host(object_uri, &actor.uri) {
                return self.remote_ignored(actor, a, Ignored::ForeignId).await;
            }
            let now = sluice_model::id::now_millis();
            let mut tx = self.store.begin().await?;
            if self.store_remote_activity(&mut tx, actor, a, now).await? {
                tx.insert_tombstone(object_uri, actor.id, now).await?;
            }
            self.commit(tx, Changes::at(now)).await?;
            return Ok(Outcome::default());
        };
        if status.account_id != actor.id {
            // A moderator's removal (Lemmy) or a forgery: only the author deletes.
            return self.remote_ignored(actor, a, Ignored::NotAuthor).await;
        }
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        changes.events(self.delete_status_rows(&mut tx, &status, now).await?);
        changes.accounts(&[actor.id]);
        self.commit(tx, changes).await?;
        Ok(Outcome::status(status.id, true))
    }

    /// Any other activity (or one about something we do not have): stored, so a
    /// repeat is recognized and the admin can see it, and otherwise ignored.
    pub async fn remote_record(&self, actor: &AccountRow, a: &RemoteActivity) -> Result<Outcome> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let stored = self.store_remote_activity(&mut tx, actor, a, now).await?;
        self.commit(tx, Changes::at(now)).await?;
        Ok(Outcome {
            changed: stored,
            ..Default::default()
        })
    }

    /// An activity accepted but not applied, for `reason`: recorded (as
    /// [`Engine::remote_record`]), logged at debug level and counted
    /// (`sluice_inbox_ignored_total`). A repeat of one recorded before is not counted again.
    pub async fn remote_ignored(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        reason: Ignored,
    ) -> Result<Outcome> {
        let outcome = self.remote_record(actor, a).await?;
        if outcome.changed {
            self.not_applied(actor, a, reason);
        }
        Ok(Outcome::default())
    }

    /// Logs (at debug level) and counts an activity recorded but not applied.
    pub(crate) fn not_applied(&self, actor: &AccountRow, a: &RemoteActivity, reason: Ignored) {
        tracing::debug!(
            activity = %a.uri,
            kind = %a.kind,
            actor = %actor.uri,
            object = %a.object_uri,
            reason = reason.as_str(),
            "inbox activity recorded, not applied"
        );
        self.inbox_ignored.count(reason);
    }

    /// `Like` of a post we have.
    pub async fn remote_like(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        status_uri: &str,
    ) -> Result<Outcome> {
        let Some(status) = self.store.status_by_uri(status_uri).await? else {
            return self.remote_ignored(actor, a, Ignored::UnknownObject).await;
        };
        // Read before the write transaction, not while holding the writer.
        let author = self.store.account(status.account_id).await?;
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        self.add_favourite(
            &mut tx,
            &mut changes,
            actor,
            &status,
            author.as_ref(),
            &a.uri,
        )
        .await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::status(status.id, true))
    }

    /// `Undo(Like)`.
    pub async fn remote_undo_like(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        status_uri: &str,
    ) -> Result<Outcome> {
        let Some(status) = self.store.status_by_uri(status_uri).await? else {
            return self.remote_undo_missing(actor, a).await;
        };
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let removed = self
            .remove_favourite(&mut tx, actor.id, &status)
            .await?
            .is_some();
        if !removed {
            self.remember_undone(&mut tx, actor, &a.object_uri, now)
                .await?;
        }
        self.commit(tx, Changes::at(now)).await?;
        Ok(Outcome::status(status.id, removed))
    }

    /// `Announce` of a post we have: a reblog row, shown to the booster's followers.
    pub async fn remote_announce(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        status_uri: &str,
        published: Option<i64>,
    ) -> Result<Outcome> {
        let Some(original) = self.store.status_by_uri(status_uri).await? else {
            return self.remote_ignored(actor, a, Ignored::UnknownObject).await;
        };
        let vis = visibility_of(&a.to, &a.cc, &actor.followers_url);
        let original_vis = Visibility::parse(&original.visibility).unwrap_or(Visibility::Direct);
        if !original_vis.is_public_or_unlisted() || original.reblog_of_id.is_some() {
            return self.remote_ignored(actor, a, Ignored::NotPublic).await;
        }
        let now = sluice_model::id::now_millis();
        let created = published.unwrap_or(now).clamp(0, now);
        let id = self.ids.backdated(created);
        let reblog = reblog_row(
            actor,
            &original,
            id,
            a.uri.clone(),
            a.uri.clone(),
            vis,
            created,
        );
        // Read before the write transaction, not while holding the writer.
        let author = self.store.account(original.account_id).await?;
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        self.add_reblog(&mut tx, &mut changes, actor, &reblog, author.as_ref())
            .await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::status(id, true))
    }

    /// `Undo(Announce)`: the reblog row (whose uri is the Announce's id) goes.
    pub async fn remote_undo_announce(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        announce_uri: &str,
    ) -> Result<Outcome> {
        let Some(reblog) = self
            .store
            .status_by_uri(announce_uri)
            .await?
            .filter(|s| s.account_id == actor.id && s.reblog_of_id.is_some())
        else {
            return self.remote_undo_missing(actor, a).await;
        };
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        self.remove_reblog(&mut tx, &mut changes, actor, &reblog)
            .await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::status(reblog.id, true))
    }

    /// `Update` of a remote post: applied when it is newer than what we have (the
    /// newest `updated` wins, so deliveries arriving out of order converge).
    pub async fn remote_update_note(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        n: &RemoteNote,
    ) -> Result<Outcome> {
        self.remember_remote_emojis(&actor.domain, &n.emojis)
            .await?;
        let Some(old) = self
            .store
            .status_by_uri(&n.uri)
            .await?
            .filter(|s| s.account_id == actor.id && s.reblog_of_id.is_none())
        else {
            return self.remote_ignored(actor, a, Ignored::UnknownObject).await;
        };
        let updated = n.updated.unwrap_or(n.published);
        // A poll's new counts come in an Update that does not change the post (no
        // newer `updated`, as Mastodon sends them): applied whatever its date.
        let poll_update = match &n.poll {
            Some(_) => self.store.poll(old.id).await?.is_some(),
            None => false,
        };
        // A change of its quote policy or its quote's stamp is not an edit: Mastodon
        // sends it without a newer `updated`. Applied whatever the date.
        let quote_update = self.remote_quote_changes(old.id, n).await?;
        if updated <= old.updated_at && !poll_update && !quote_update {
            return self.remote_ignored(actor, a, Ignored::Stale).await;
        }
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut poll_event = None;
        if quote_update
            && self
                .apply_remote_quote_update(&mut tx, &old, n, now)
                .await?
        {
            poll_event = Some(self.poll_changed(&old, actor).await?);
        }
        if poll_update
            && let Some(p) = &n.poll
            && let Some(current) = tx.poll_for_update(old.id).await?
        {
            // The server's counts replace ours (which may have added our users'
            // votes before it counted them), as Mastodon takes them.
            let new = crate::polls::remote_poll_row(old.id, p, now);
            let options_changed = new.options != current.options;
            tx.replace_poll(&new, options_changed).await?;
            poll_event = Some(self.poll_changed(&old, actor).await?);
        }
        // Checked again inside the transaction, on the row as it is now: two Updates
        // of one post applied at the same time must not let the older one win.
        let old = match tx.status_for_update(old.id).await? {
            Some(current) if updated > current.updated_at => current,
            _ => {
                let mut changes = Changes::at(now);
                let applied = poll_update || poll_event.is_some();
                changes.events(poll_event);
                self.commit(tx, changes).await?;
                if !applied {
                    self.not_applied(actor, a, Ignored::Stale);
                }
                return Ok(Outcome::status(old.id, applied));
            }
        };
        // Only its quote changed (Mastodon's Update of a quote's approval carries a
        // newer date, and nothing else new): no edit is recorded.
        let same_media = Attachment::read_list(&old.attachments)
            .iter()
            .map(|m| m.url.as_str())
            .eq(n
                .attachments
                .iter()
                .take(media::MAX_REMOTE)
                .map(|m| m.url.as_str()));
        if quote_update
            && n.content == old.content
            && n.summary == old.spoiler_text
            && (n.sensitive || !n.summary.is_empty()) == old.sensitive
            && same_media
        {
            let mut changes = Changes::at(now);
            changes.events(poll_event);
            self.commit(tx, changes).await?;
            return Ok(Outcome::status(old.id, true));
        }
        let mut new = old.clone();
        new.content = n.content.clone();
        new.spoiler_text = n.summary.clone();
        new.sensitive = n.sensitive || !n.summary.is_empty();
        new.language = n.language.clone().or(old.language.clone());
        new.attachments = self.remote_attachments(&old.attachments, &n.attachments);
        if self.media_rejected(&actor.domain).await? {
            new.attachments = Self::without_media(&new.attachments);
        }
        new.edited_at = Some(updated);
        new.updated_at = updated;
        let tags: Vec<String> = n
            .tags
            .iter()
            .take(crate::pipeline::MAX_TAGS)
            .cloned()
            .collect();
        let mut changes = Changes::at(now);
        self.store_edit(
            &mut tx,
            &mut changes,
            &PostEdit {
                old: &old,
                new: &new,
                author: actor,
                tags: &tags,
                mentions: None,
                mentioned: &[],
            },
        )
        .await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::status(old.id, true))
    }

    /// `Add` of one of the actor's own posts to its featured collection (a pin), or
    /// `Remove` of it (`pinned` false); the caller checked that the target is the
    /// actor's `featured` collection. A post we do not have, or not the actor's own,
    /// is only recorded.
    pub async fn remote_pin(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        status_uri: &str,
        pinned: bool,
    ) -> Result<Outcome> {
        let Some(status) = self
            .store
            .status_by_uri(status_uri)
            .await?
            .filter(|s| s.account_id == actor.id && s.reblog_of_id.is_none())
        else {
            return self.remote_ignored(actor, a, Ignored::UnknownObject).await;
        };
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let changed = if pinned {
            tx.pin(actor.id, status.id, now, MAX_REMOTE_PINS).await? == PinOutcome::Pinned
        } else {
            tx.unpin(actor.id, status.id).await?
        };
        self.commit(tx, Changes::at(now)).await?;
        Ok(Outcome::status(status.id, changed))
    }

    /// `Block` of one of ours by a remote actor: follows between them end, and the
    /// block is recorded, so our user does not see the blocker (implicitly muted) and
    /// the blocker gets nothing of our user's.
    pub async fn remote_block(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        target: &AccountRow,
        undo: bool,
    ) -> Result<Outcome> {
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        if undo {
            if tx
                .delete_relation(Relation::Block, actor.id, target.id)
                .await?
                .is_none()
            {
                self.remember_undone(&mut tx, actor, &a.object_uri, now)
                    .await?;
            }
        } else {
            let row = NewRelation {
                flag_a: false,
                ..self.relation_row(actor.id, target.id, &a.uri, now)
            };
            tx.insert_relation(Relation::Block, &row).await?;
            for (from, to) in [(actor.id, target.id), (target.id, actor.id)] {
                self.sever(&mut tx, from, to).await?;
            }
        }
        let mut changes = Changes::at(now);
        changes.events([crate::accounts::relationship_event(target.id, actor.id)]);
        changes.accounts(&[actor.id, target.id]);
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    /// `Flag`: a report about one of ours (and some of their posts), kept for the
    /// moderators, who are notified. Its reporter is the Flag's actor: the other
    /// server's instance actor when it is Mastodon or Sluice.
    pub async fn remote_flag(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        target: &AccountRow,
        status_uris: &[String],
        comment: &str,
    ) -> Result<Outcome> {
        if self.reports_rejected(&actor.domain).await? {
            return self
                .remote_ignored(actor, a, Ignored::ReportsRejected)
                .await;
        }
        let mut status_ids = Vec::new();
        for uri in status_uris
            .iter()
            .take(crate::reports::MAX_REPORTED_STATUSES)
        {
            if let Some(s) = self.store.status_by_uri(uri).await?
                && s.account_id == target.id
            {
                status_ids.push(s.id.to_string());
            }
        }
        // Mastodon keeps a remote comment within its own limit.
        let comment: String = comment
            .chars()
            .take(crate::reports::MAX_COMMENT_CHARS)
            .collect();
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let id = self.new_id();
        let mut changes = Changes::at(now);
        if tx
            .insert_report(&sluice_store::NewReport {
                id,
                uri: Some(&a.uri),
                account_id: actor.id,
                target_account_id: target.id,
                status_ids: &serde_json::to_string(&status_ids).unwrap_or_else(|_| "[]".into()),
                comment: &comment,
                category: "other",
                rule_ids: "[]",
                forwarded: false,
                created_at: now,
            })
            .await?
        {
            changes.events(self.notify_staff(&mut tx, id, actor.id, now).await?);
        }
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    /// `Delete` of the actor itself: the account is removed from view (suspended) and
    /// its follows end.
    pub async fn remote_delete_actor(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
    ) -> Result<Outcome> {
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        changes.accounts(&tx.remove_remote_account(actor.id, now).await?);
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    /// `Move` of `actor` to `target`, which names `actor` in its `alsoKnownAs` (the
    /// caller checked, with a fresh copy of the target): our followers of `actor` follow
    /// `target` instead, at most [`MAX_MOVED_FOLLOWERS`] of them.
    pub async fn remote_move(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        target: &AccountRow,
    ) -> Result<Outcome> {
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        tx.set_moved_to(actor.id, target.id).await?;
        let mut changes = Changes::at(now);
        changes.accounts(&[actor.id]);
        self.commit(tx, changes).await?;
        self.move_local_followers(actor.id, target.id).await?;
        Ok(Outcome::changed())
    }
}

/// Activity types an `Undo` takes back: one of these whose Undo arrived first is
/// stored and not applied.
const UNDOABLE: &[&str] = &["Like", "EmojiReact", "Announce", "Follow", "Block"];

/// How long an Undo whose activity has not arrived is remembered. A sender retries a
/// delivery for about 2.5 days (Mastodon's schedule, and Sluice's
/// `federation.delivery_max_age_secs`), so a late activity comes within that; a week
/// leaves room for servers that retry longer.
pub const UNDONE_KEEP_MS: i64 = 7 * 24 * 3600 * 1000;

/// Pins kept for one remote actor, at most. Mastodon allows 5 and other servers
/// allow more; the bound keeps one actor's `Add`s from growing its profile without
/// end (an `Add` beyond it is only recorded).
pub const MAX_REMOTE_PINS: i64 = 20;

/// Local followers moved to the new account by one `Move`, at most.
pub const MAX_MOVED_FOLLOWERS: i64 = 10_000;

/// Whether two IRIs are on the same host (scheme, host and port).
pub(crate) fn same_host(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

impl Engine {
    /// Makes the local accounts a remote post was blind-copied to (delivered to their
    /// own inbox without addressing them: the author's `bto`/`bcc`) its silent
    /// recipients: they may see it, are notified as of a mention and get it in their
    /// streams (and conversations, for a direct post), and are never listed among its
    /// mentions. Called when the post is stored and when a copy arrives after it;
    /// idempotent. Returns how many were added.
    pub async fn apply_blind_copies(&self, status_uri: &str) -> Result<usize> {
        let pending = self.store.blind_copies(status_uri).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let Some(status) = self.store.status_by_uri(status_uri).await? else {
            return Ok(0);
        };
        let Some(author) = self.store.account(status.account_id).await? else {
            return Ok(0);
        };
        // Read before the write transaction, not while holding the writer.
        let mut recipients = Vec::new();
        for id in &pending {
            if !self.store.is_recipient(status.id, *id).await?
                && let Some(a) = self.store.account(*id).await?
            {
                recipients.push(a);
            }
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        for id in &pending {
            tx.remove_blind_copy(status_uri, *id).await?;
        }
        for a in &recipients {
            tx.add_silent_mentions(status.id, &[a.id]).await?;
            changes.events([status_event(
                "update",
                &status,
                &[],
                &[a.id],
                &author.domain,
                None,
            )]);
            changes.events(
                self.notify(&mut tx, a.id, author.id, "mention", Some(status.id), now)
                    .await?,
            );
            if status.visibility == Visibility::Direct.as_str() {
                changes.events(
                    self.add_to_conversations(&mut tx, &status, &[&author, a], now)
                        .await?,
                );
            }
        }
        self.commit(tx, changes).await?;
        Ok(recipients.len())
    }

    /// Records that a remote post was delivered to a local `account`'s own inbox
    /// without addressing it (a blind copy), for [`Engine::apply_blind_copies`]; false
    /// when it was recorded already.
    pub async fn add_blind_copy(
        &self,
        status_uri: &str,
        account: sluice_model::Id,
        now: i64,
    ) -> Result<bool> {
        Ok(self.store.add_blind_copy(status_uri, account, now).await?)
    }

    /// Stores (or refreshes) a remote actor with the public keys it owns on its own
    /// server, each `(key id, PEM)`, in one transaction; then drops its cached copy and
    /// returns it as stored (None if it vanished in between).
    pub async fn store_remote_actor(
        &self,
        actor: &sluice_store::RemoteActor,
        keys: &[(&str, &str)],
        now: i64,
    ) -> Result<Option<AccountRow>> {
        // A domain whose media are rejected: no avatar nor header is shown.
        let stripped;
        let actor = if self.media_rejected(&actor.domain).await? {
            stripped = sluice_store::RemoteActor {
                avatar_url: String::new(),
                header_url: String::new(),
                ..actor.clone()
            };
            &stripped
        } else {
            actor
        };
        let mut tx = self.store.begin().await?;
        let id = tx.upsert_remote_actor(self.ids.next(), actor, now).await?;
        for (key_id, pem) in keys {
            tx.upsert_key(&sluice_store::KeyRow {
                key_id: key_id.to_string(),
                account_id: id,
                public_key_pem: pem.to_string(),
                private_key_pem: None,
                created_at: now,
                fetched_at: now,
            })
            .await?;
        }
        tx.commit().await?;
        self.forget_accounts(&[id]);
        // Suspended ones too: the caller decides (see `set_remote_suspension`).
        Ok(self.store.account_any(id).await?)
    }

    /// What a remote actor's document says of its suspension (`suspended`, Mastodon 4):
    /// `true` suspends it here (its posts and profile hidden at once, its follows
    /// kept), `false` lifts a suspension that came from its server, never one a
    /// moderator here made. Returns the account as it now is.
    pub async fn set_remote_suspension(
        &self,
        account: &AccountRow,
        suspended: bool,
    ) -> Result<AccountRow> {
        let now = sluice_model::id::now_millis();
        let change = match (suspended, account.suspended_at.is_some()) {
            (true, false) => Some(Some((now, "remote"))),
            (false, true) if account.suspension_origin.as_deref() == Some("remote") => Some(None),
            _ => None,
        };
        let Some(change) = change else {
            return Ok(account.clone());
        };
        let mut tx = self.store.begin().await?;
        tx.set_suspended(account.id, change).await?;
        let mut changes = Changes::at(now);
        changes.accounts(&[account.id]);
        self.commit(tx, changes).await?;
        self.store
            .account_any(account.id)
            .await?
            .ok_or(EngineError::NotFound)
    }
}
