//! The activity pipeline: every write that other people can see is an ActivityStreams
//! activity and goes through [`Engine::submit`]:
//!
//! 1. **validate** — the actor may do this to this object (visibility, blocks, limits);
//! 2. **store** — object, activity (with its `to`/`cc` addressing) and event-log rows,
//!    in ONE transaction, together with the side effects: notifications, counters,
//!    mentions, hashtags;
//! 3. **fan out** — after commit, wake the event-log tailers (streaming); federation
//!    will add delivery rows inside the same transaction.
//!
//! Activities name their objects by local id: the API resolved them already, and the
//! inbox (issue 3) will resolve remote IRIs to local rows before submitting.

use serde_json::{Value, json};
use sluice_model::activity::{self as as2, Verb};
use sluice_model::media::Attachment;
use sluice_model::{Id, Timestamp, Visibility, content};
use sluice_store::{
    AccountCounter, AccountRow, ActivityRecord, EditRow, NewEvent, NewRelation, NotificationRow,
    PinOutcome, Relation, Saved, StatusCounter, StatusRow, WriteTx,
};

use crate::{Engine, EngineError, Result};

/// A new post, as the Mastodon API or a C2S client describes it.
#[derive(Debug, Clone, Default)]
pub struct NewNote {
    pub text: String,
    pub in_reply_to: Option<Id>,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub visibility: Option<Visibility>,
    pub language: Option<String>,
    pub application_id: Option<Id>,
    /// `Idempotency-Key`: a repeated request with the same key returns the first post.
    pub idempotency_key: Option<String>,
    /// Set when an ActivityPub client made the post (`POST /users/:name/outbox`): its
    /// object, which replaces what `text` would render.
    pub client: Option<Box<ClientObject>>,
    /// Uploads to attach, in order (at most [`crate::media::MAX_ATTACHMENTS`]).
    pub media_ids: Vec<Id>,
}

/// An object an ActivityPub client posted (C2S), prepared by the federation crate's
/// outbox: any ActivityStreams type, its own HTML and addressing.
#[derive(Debug, Clone, Default)]
pub struct ClientObject {
    /// `Note`, `Article`, `Event`, `Question`, … (stored as the status's object type).
    pub object_type: String,
    /// Sanitized HTML as the Mastodon API shows it (for types Mastodon does not show
    /// natively, the title first, as Mastodon shows Articles).
    pub html: String,
    /// The audience as the client addressed it, without `bto`/`bcc`.
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Accounts addressed in `to`/`cc` or tagged with a Mention: shown as mentions.
    pub mentioned: Vec<AccountRow>,
    /// Accounts in `bto`/`bcc`: delivered to and allowed to see the post, never shown
    /// nor federated.
    pub hidden: Vec<AccountRow>,
    /// Hashtags (without `#`).
    pub tags: Vec<String>,
    /// The client's other properties of the object (`name`, `content` as sanitized,
    /// `startTime`, …): the federated object carries them as given.
    pub properties: serde_json::Map<String, Value>,
    /// Attachments that link to files elsewhere (uploads are `media_ids`).
    pub links: Vec<Attachment>,
}

/// An edit of a post.
#[derive(Debug, Clone, Default)]
pub struct NoteEdit {
    pub text: String,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub language: Option<String>,
    /// Set when an ActivityPub client updated the post: the object as it is now, which
    /// replaces what `text` would render (its audience stays the post's).
    pub client: Option<Box<ClientObject>>,
    /// The post's uploads as they are to be, in order; None keeps them.
    pub media_ids: Option<Vec<Id>>,
}

/// Every kind of write the pipeline performs.
#[derive(Debug, Clone)]
pub enum Activity {
    CreateNote(NewNote),
    UpdateNote {
        status: Id,
        edit: NoteEdit,
    },
    DeleteNote {
        status: Id,
    },
    Follow {
        target: Id,
        reblogs: Option<bool>,
        notify: Option<bool>,
    },
    UndoFollow {
        target: Id,
    },
    AcceptFollow {
        follower: Id,
    },
    RejectFollow {
        follower: Id,
    },
    Like {
        status: Id,
    },
    UndoLike {
        status: Id,
    },
    Announce {
        status: Id,
        visibility: Visibility,
    },
    UndoAnnounce {
        status: Id,
    },
    Block {
        target: Id,
    },
    UndoBlock {
        target: Id,
    },
    /// Pin one of the actor's own posts to their profile (an `Add` to `featured`).
    Pin {
        status: Id,
    },
    /// Unpin it (a `Remove` from `featured`).
    Unpin {
        status: Id,
    },
    /// An activity with no effect here that a client posted (ActivityPub C2S: `Arrive`,
    /// `Listen`, `Offer`, …): stored with its id and actor set, and delivered to its
    /// `to`/`cc` as it is.
    Other {
        document: Value,
    },
}

/// What a submitted activity did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The status created or concerned (for Announce: the reblog wrapper).
    pub status: Option<Id>,
    /// False when nothing changed (already favourited, idempotent replay, …).
    pub changed: bool,
}

/// How long an `Idempotency-Key` is remembered (Mastodon: one hour).
pub const IDEMPOTENCY_TTL_MS: i64 = 60 * 60 * 1000;

impl Engine {
    /// Runs one activity through the pipeline on behalf of `actor`.
    pub async fn submit(&self, actor: Id, activity: Activity) -> Result<Outcome> {
        let actor = self
            .store
            .account(actor)
            .await?
            .ok_or(EngineError::NotFound)?;
        match activity {
            Activity::CreateNote(n) => self.create_note(&actor, n).await,
            Activity::UpdateNote { status, edit } => self.update_note(&actor, status, edit).await,
            Activity::DeleteNote { status } => self.delete_note(&actor, status).await,
            Activity::Follow {
                target,
                reblogs,
                notify,
            } => self.follow(&actor, target, reblogs, notify).await,
            Activity::UndoFollow { target } => self.undo_follow(&actor, target).await,
            Activity::AcceptFollow { follower } => self.answer_follow(&actor, follower, true).await,
            Activity::RejectFollow { follower } => {
                self.answer_follow(&actor, follower, false).await
            }
            Activity::Like { status } => self.like(&actor, status).await,
            Activity::UndoLike { status } => self.undo_like(&actor, status).await,
            Activity::Announce { status, visibility } => {
                self.announce(&actor, status, visibility).await
            }
            Activity::UndoAnnounce { status } => self.undo_announce(&actor, status).await,
            Activity::Block { target } => self.block(&actor, target).await,
            Activity::UndoBlock { target } => self.undo_block(&actor, target).await,
            Activity::Pin { status } => self.pin(&actor, status).await,
            Activity::Unpin { status } => self.unpin(&actor, status).await,
            Activity::Other { document } => self.record_other(&actor, document).await,
        }
    }

    async fn record_other(&self, actor: &AccountRow, document: Value) -> Result<Outcome> {
        let iris = |key: &str| -> Vec<String> {
            match &document[key] {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let (to, cc) = (iris("to"), iris("cc"));
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        self.record_document(&mut tx, actor, document, &to, &cc, now)
            .await?;
        tx.commit().await?;
        Ok(Outcome {
            status: None,
            changed: true,
        })
    }

    /// Whether `viewer` may see `status` (its author, visibility, mentions, blocks).
    pub async fn can_see(&self, viewer: Option<Id>, status: &StatusRow) -> Result<bool> {
        let vis = Visibility::parse(&status.visibility).unwrap_or(Visibility::Direct);
        let Some(me) = viewer else {
            return Ok(vis.is_public_or_unlisted());
        };
        if me == status.account_id {
            return Ok(true);
        }
        if self.store.blocked_either_way(me, status.account_id).await? {
            return Ok(false);
        }
        Ok(match vis {
            Visibility::Public | Visibility::Unlisted => true,
            Visibility::Private => {
                self.store
                    .has_relation(Relation::Follow, me, status.account_id)
                    .await?
                    || self.is_mentioned(me, status.id).await?
            }
            Visibility::Direct => self.is_mentioned(me, status.id).await?,
        })
    }

    async fn is_mentioned(&self, account: Id, status: Id) -> Result<bool> {
        Ok(self.store.is_recipient(status, account).await?)
    }

    /// A status the actor may see, or NotFound (Mastodon answers 404 for both).
    pub async fn visible_status(&self, viewer: Option<Id>, id: Id) -> Result<StatusRow> {
        let s = self.store.status(id).await?.ok_or(EngineError::NotFound)?;
        if !self.can_see(viewer, &s).await? {
            return Err(EngineError::NotFound);
        }
        Ok(s)
    }

    /// Renders the text of a post and resolves its mentions and hashtags.
    async fn render_text(&self, text: &str) -> Result<(String, Vec<AccountRow>, Vec<String>)> {
        let scan = content::scan(text);
        let mut mentioned = Vec::new();
        for m in scan.mentions.iter().take(MAX_MENTIONS) {
            let acct = match &m.domain {
                Some(d) => format!("{}@{d}", m.username),
                None => m.username.clone(),
            };
            if let Some(a) = self
                .store
                .account_by_acct(&acct, self.urls.domain())
                .await?
                && !mentioned.iter().any(|x: &AccountRow| x.id == a.id)
            {
                mentioned.push(a);
            }
        }
        let html = content::plain_to_html(text, &|t| self.urls.tag(t), &|acct| {
            let domain = acct
                .domain
                .as_deref()
                .filter(|d| !d.eq_ignore_ascii_case(self.urls.domain()))
                .unwrap_or("");
            mentioned
                .iter()
                .find(|a| {
                    a.username.eq_ignore_ascii_case(&acct.username)
                        && a.domain.eq_ignore_ascii_case(domain)
                })
                .map(|a| content::MentionTarget {
                    url: a.url.clone(),
                    username: a.username.clone(),
                })
        });
        let tags: Vec<String> = scan.tags.into_iter().take(MAX_TAGS).collect();
        Ok((content::sanitize_html(&html), mentioned, tags))
    }

    /// Checks a post's text; it may be blank when the post has media.
    fn check_text(&self, text: &str, spoiler: &str, has_media: bool) -> Result<()> {
        let len = text.chars().count() + spoiler.chars().count();
        if len > self.config.max_status_chars {
            return Err(EngineError::invalid(format!(
                "Validation failed: Text character limit of {} exceeded",
                self.config.max_status_chars
            )));
        }
        if text.trim().is_empty() && !has_media {
            return Err(EngineError::invalid(
                "Validation failed: Text can't be blank",
            ));
        }
        Ok(())
    }

    async fn create_note(&self, actor: &AccountRow, n: NewNote) -> Result<Outcome> {
        if let Some(key) = &n.idempotency_key
            && let Some(id) = self.store.idempotent_status(actor.id, key).await?
        {
            return Ok(Outcome {
                status: Some(id),
                changed: false,
            });
        }
        if n.client.is_none() {
            self.check_text(&n.text, &n.spoiler_text, !n.media_ids.is_empty())?;
        }
        let links: &[Attachment] = n.client.as_ref().map_or(&[], |c| &c.links);
        let attachments = self
            .attachments_for(actor, &n.media_ids, links, None)
            .await?;
        if let Some(lang) = &n.language
            && (lang.len() > 16 || !lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(EngineError::invalid(
                "Validation failed: language is not a language code",
            ));
        }
        let parent = match n.in_reply_to {
            Some(pid) => Some(self.visible_status(Some(actor.id), pid).await?),
            None => None,
        };
        let user = self.store.user(actor.id).await?;
        let visibility = match &n.client {
            Some(c) => Visibility::from_addressing(&c.to, &c.cc, &actor.followers_url),
            None => n.visibility.unwrap_or_else(|| {
                user.as_ref()
                    .and_then(|u| Visibility::parse(&u.default_visibility))
                    .unwrap_or(Visibility::Public)
            }),
        };
        let (html, mentioned, tags) = match &n.client {
            Some(c) => (c.html.clone(), c.mentioned.clone(), c.tags.clone()),
            None => self.render_text(&n.text).await?,
        };
        let hidden: &[AccountRow] = n.client.as_ref().map_or(&[], |c| &c.hidden);
        let now = sluice_model::id::now_millis();
        let id = self.ids.next_at(now);
        let uri = self.urls.status(&actor.username, id);
        let status = StatusRow {
            id,
            uri: uri.clone(),
            url: self.urls.status_page(&actor.username, id),
            account_id: actor.id,
            in_reply_to_id: parent.as_ref().map(|p| p.id),
            in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
            reblog_of_id: None,
            thread_id: parent.as_ref().map(|p| p.thread_id).unwrap_or(id),
            object_type: n
                .client
                .as_ref()
                .map_or("Note", |c| c.object_type.as_str())
                .into(),
            content: html,
            source_text: n.text.clone(),
            spoiler_text: n.spoiler_text.clone(),
            sensitive: n.sensitive || !n.spoiler_text.is_empty(),
            visibility: visibility.as_str().into(),
            language: n.language.clone(),
            local: true,
            application_id: n.application_id,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
            created_at: now,
            edited_at: None,
            updated_at: now,
            attachments: Attachment::write_list(&attachments),
        };
        let mut mention_iris: Vec<String> = mentioned.iter().map(|a| a.uri.clone()).collect();
        // A reply is addressed to the author it answers (so their server gets it), as if
        // mentioned, unless it is our own thread.
        if let Some(p) = &parent
            && p.account_id != actor.id
            && let Some(author) = self.store.account(p.account_id).await?
            && !mention_iris.contains(&author.uri)
        {
            mention_iris.push(author.uri);
        }
        let (to, cc) = match &n.client {
            Some(c) => (c.to.clone(), c.cc.clone()),
            None => visibility.addressing(&actor.followers_url, &mention_iris),
        };
        let parent_uri = parent.as_ref().map(|p| p.uri.clone());
        let mut note = self.note_document(
            &status,
            actor,
            &mentioned,
            &tags,
            &to,
            &cc,
            parent_uri.as_deref(),
        );
        if let Some(c) = &n.client {
            apply_client_object(&mut note, c);
        }
        let hidden_inboxes: Vec<String> = hidden
            .iter()
            .filter(|a| !a.is_local() && !a.inbox_url.is_empty())
            .map(|a| a.inbox_url.clone())
            .collect();

        let mut tx = self.store.begin().await?;
        if let Some(key) = &n.idempotency_key
            && !tx.claim_idempotency_key(actor.id, key, id, now).await?
        {
            drop(tx);
            let existing = self.store.idempotent_status(actor.id, key).await?;
            return Ok(Outcome {
                status: existing,
                changed: false,
            });
        }
        tx.insert_status(&status).await?;
        if !tx.attach_media(&n.media_ids, actor.id, id, now).await? {
            return Err(media_not_found(&n.media_ids));
        }
        let shown_ids: Vec<Id> = mentioned.iter().map(|a| a.id).collect();
        tx.add_mentions(id, &shown_ids).await?;
        let hidden_ids: Vec<Id> = hidden.iter().map(|a| a.id).collect();
        tx.add_silent_mentions(id, &hidden_ids).await?;
        // Streams route by every recipient, shown or not.
        let mention_ids: Vec<Id> = [shown_ids, hidden_ids].concat();
        tx.add_tags(id, &tags, &|| self.new_id(), now).await?;
        tx.count_new_status(actor.id, now).await?;
        if let Some(p) = &parent {
            tx.bump_status_counter(p.id, StatusCounter::Replies, 1)
                .await?;
        }
        // The activity has its own id (as Mastodon's `…/activity`): servers de-duplicate
        // by activity id, and it must not be the Note's.
        let activity_uri = format!("{uri}/activity");
        let doc = as2::activity(
            &activity_uri,
            Verb::Create,
            &actor.uri,
            note,
            &to,
            &cc,
            Timestamp(now),
        );
        self.record_document_to(&mut tx, actor, doc, &to, &cc, &hidden_inboxes, now)
            .await?;
        let mut events = vec![status_event(
            "update",
            &status,
            &tags,
            &mention_ids,
            &actor.domain,
            None,
        )];
        for m in mentioned.iter().chain(hidden) {
            if m.id != actor.id && m.is_local() {
                events.extend(
                    self.notify(&mut tx, m.id, actor.id, "mention", Some(id), now)
                        .await?,
                );
            }
        }
        if visibility == Visibility::Direct {
            let people: Vec<&AccountRow> = std::iter::once(actor).chain(&mentioned).collect();
            events.extend(
                self.add_to_conversations(&mut tx, &status, &people, now)
                    .await?,
            );
        }
        let last = tx.append_events(&events, now).await?;
        tx.commit().await?;
        self.published(last);
        self.accounts_changed(&[actor.id]);
        Ok(Outcome {
            status: Some(id),
            changed: true,
        })
    }

    async fn update_note(
        &self,
        actor: &AccountRow,
        status_id: Id,
        edit: NoteEdit,
    ) -> Result<Outcome> {
        let old = self
            .store
            .status(status_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if old.account_id != actor.id || old.reblog_of_id.is_some() {
            return Err(EngineError::NotFound);
        }
        let attachments = match &edit.media_ids {
            Some(ids) => {
                let links: &[Attachment] = edit.client.as_ref().map_or(&[], |c| &c.links);
                Some(
                    self.attachments_for(actor, ids, links, Some(old.id))
                        .await?,
                )
            }
            None => None,
        };
        let has_media = match &attachments {
            Some(list) => !list.is_empty(),
            None => old.attachments != "[]",
        };
        let (html, mentioned, tags) = match &edit.client {
            Some(c) => (c.html.clone(), c.mentioned.clone(), c.tags.clone()),
            None => {
                self.check_text(&edit.text, &edit.spoiler_text, has_media)?;
                self.render_text(&edit.text).await?
            }
        };
        let now = sluice_model::id::now_millis();
        let mut new = old.clone();
        new.content = html;
        new.source_text = edit.text.clone();
        new.spoiler_text = edit.spoiler_text.clone();
        new.sensitive = edit.sensitive || !edit.spoiler_text.is_empty();
        new.language = edit.language.clone().or(old.language.clone());
        new.edited_at = Some(now);
        new.updated_at = now;
        if let Some(list) = &attachments {
            new.attachments = Attachment::write_list(list);
        }

        let visibility = Visibility::parse(&old.visibility).unwrap_or(Visibility::Public);
        let mention_iris: Vec<String> = mentioned.iter().map(|a| a.uri.clone()).collect();
        let (to, cc) = match &edit.client {
            Some(c) => (c.to.clone(), c.cc.clone()),
            None => visibility.addressing(&actor.followers_url, &mention_iris),
        };
        let parent_uri = match old.in_reply_to_id {
            Some(pid) => self.store.status(pid).await?.map(|p| p.uri),
            None => None,
        };
        let mut note = self.note_document(
            &new,
            actor,
            &mentioned,
            &tags,
            &to,
            &cc,
            parent_uri.as_deref(),
        );
        match &edit.client {
            Some(c) => apply_client_object(&mut note, c),
            // A post of another type edited through the Mastodon API keeps its type.
            None if old.object_type != "Note" => {
                note["type"] = Value::String(old.object_type.clone());
            }
            None => {}
        }
        let hidden_inboxes = self.hidden_inboxes(status_id).await?;
        let mut tx = self.store.begin().await?;
        if old.edited_at.is_none() {
            // Keep the original as the first entry of the history.
            tx.insert_edit(&EditRow {
                id: self.ids.next_at(old.created_at),
                status_id,
                content: old.content.clone(),
                source_text: old.source_text.clone(),
                spoiler_text: old.spoiler_text.clone(),
                sensitive: old.sensitive,
                created_at: old.created_at,
            })
            .await?;
        }
        tx.insert_edit(&EditRow {
            id: self.new_id(),
            status_id,
            content: new.content.clone(),
            source_text: new.source_text.clone(),
            spoiler_text: new.spoiler_text.clone(),
            sensitive: new.sensitive,
            created_at: now,
        })
        .await?;
        tx.update_status_content(&new).await?;
        if let Some(ids) = &edit.media_ids {
            tx.detach_media(status_id, ids, now).await?;
            if !tx.attach_media(ids, actor.id, status_id, now).await? {
                return Err(media_not_found(ids));
            }
        }
        let mention_ids: Vec<Id> = mentioned.iter().map(|a| a.id).collect();
        tx.set_mentions(status_id, &mention_ids).await?;
        tx.set_tags(status_id, &tags, &|| self.new_id(), now)
            .await?;
        let activity_id = format!("{}#updates/{now}", new.uri);
        let doc = as2::activity(
            &activity_id,
            Verb::Update,
            &actor.uri,
            note,
            &to,
            &cc,
            Timestamp(now),
        );
        self.record_document_to(&mut tx, actor, doc, &to, &cc, &hidden_inboxes, now)
            .await?;
        let mut events = vec![status_event(
            "status.update",
            &new,
            &tags,
            &mention_ids,
            &actor.domain,
            None,
        )];
        // Mastodon tells those who reblogged the post that it changed.
        let rebloggers = self
            .store
            .reblogged_by(
                status_id,
                sluice_store::Page {
                    limit: 200,
                    ..Default::default()
                },
            )
            .await?;
        for r in rebloggers {
            if r.item_id != actor.id {
                events.extend(
                    self.notify(&mut tx, r.item_id, actor.id, "update", Some(status_id), now)
                        .await?,
                );
            }
        }
        let last = tx.append_events(&events, now).await?;
        tx.commit().await?;
        self.published(last);
        Ok(Outcome {
            status: Some(status_id),
            changed: true,
        })
    }

    async fn delete_note(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self
            .store
            .status(status_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if status.account_id != actor.id {
            return Err(EngineError::NotFound);
        }
        let now = sluice_model::id::now_millis();
        let visibility = Visibility::parse(&status.visibility).unwrap_or(Visibility::Public);
        // Whoever holds a copy hears of the delete: followers, the mentioned, and the
        // blind-copied (at their own inbox, unnamed).
        let mut mentioned = Vec::new();
        for id in self.store.mentioned_accounts(status.id, false).await? {
            if let Some(a) = self.store.account(id).await?
                && !a.is_local()
            {
                mentioned.push(a.uri);
            }
        }
        let (to, cc) = visibility.addressing(&actor.followers_url, &mentioned);
        let hidden_inboxes = self.hidden_inboxes(status.id).await?;
        let tombstone = json!({"id": status.uri, "type": "Tombstone"});
        let mut tx = self.store.begin().await?;
        let events = self
            .delete_status_rows(&mut tx, actor, &status, now)
            .await?;
        let activity_id = format!("{}#delete", status.uri);
        let doc = as2::activity(
            &activity_id,
            Verb::Delete,
            &actor.uri,
            tombstone,
            &to,
            &cc,
            Timestamp(now),
        );
        self.record_document_to(&mut tx, actor, doc, &to, &cc, &hidden_inboxes, now)
            .await?;
        let last = tx.append_events(&events, now).await?;
        tx.commit().await?;
        self.published(last);
        self.cache.accounts.clear(); // rebloggers' counters changed too
        Ok(Outcome {
            status: Some(status_id),
            changed: true,
        })
    }

    async fn follow(
        &self,
        actor: &AccountRow,
        target_id: Id,
        reblogs: Option<bool>,
        notify: Option<bool>,
    ) -> Result<Outcome> {
        let target = self
            .store
            .account(target_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if target.id == actor.id {
            return Err(EngineError::forbidden("You cannot follow yourself"));
        }
        if self.store.blocked_either_way(actor.id, target.id).await? {
            return Err(EngineError::forbidden("This action is not allowed"));
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if self
            .store
            .has_relation(Relation::Follow, actor.id, target.id)
            .await?
        {
            // Already following: only the options change.
            let current = self.store.relationships(actor.id, &[target.id]).await?;
            let cur = current.first();
            tx.update_follow_options(
                actor.id,
                target.id,
                reblogs.unwrap_or(cur.is_none_or(|c| c.showing_reblogs)),
                notify.unwrap_or(cur.is_some_and(|c| c.notifying)),
            )
            .await?;
            tx.commit().await?;
            return Ok(Outcome {
                status: None,
                changed: false,
            });
        }
        let id = self.new_id();
        let uri = format!("{}#follows/{id}", actor.uri);
        let row = NewRelation {
            id,
            account_id: actor.id,
            target_account_id: target.id,
            uri: uri.clone(),
            flag_a: reblogs.unwrap_or(true),
            flag_b: notify.unwrap_or(false),
            expires_at: None,
            created_at: now,
        };
        let rel = if target.locked || !target.is_local() {
            Relation::FollowRequest
        } else {
            Relation::Follow
        };
        if !tx.insert_relation(rel, &row).await? {
            tx.commit().await?;
            return Ok(Outcome {
                status: None,
                changed: false,
            });
        }
        let mut events = vec![crate::accounts::relationship_event(actor.id, target.id)];
        if rel == Relation::Follow {
            tx.bump_account_counter(actor.id, AccountCounter::Following, 1)
                .await?;
            tx.bump_account_counter(target.id, AccountCounter::Followers, 1)
                .await?;
            events.extend(
                self.notify(&mut tx, target.id, actor.id, "follow", None, now)
                    .await?,
            );
        } else if target.is_local() {
            events.extend(
                self.notify(&mut tx, target.id, actor.id, "follow_request", None, now)
                    .await?,
            );
        }
        let to = vec![target.uri.clone()];
        self.record_activity(
            &mut tx,
            actor,
            Verb::Follow,
            &uri,
            json!(target.uri),
            &to,
            &[],
            now,
        )
        .await?;
        let last = tx.append_events(&events, now).await?;
        tx.commit().await?;
        self.published(last);
        self.accounts_changed(&[actor.id, target.id]);
        Ok(Outcome {
            status: None,
            changed: true,
        })
    }

    async fn undo_follow(&self, actor: &AccountRow, target_id: Id) -> Result<Outcome> {
        let target = self
            .store
            .account(target_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let (follow_uri, was_follow) = match tx
            .delete_relation(Relation::Follow, actor.id, target.id)
            .await?
        {
            Some(uri) => (uri, true),
            None => match tx
                .delete_relation(Relation::FollowRequest, actor.id, target.id)
                .await?
            {
                Some(uri) => (uri, false),
                None => {
                    tx.commit().await?;
                    return Ok(Outcome::default());
                }
            },
        };
        if was_follow {
            tx.bump_account_counter(actor.id, AccountCounter::Following, -1)
                .await?;
            tx.bump_account_counter(target.id, AccountCounter::Followers, -1)
                .await?;
        } else {
            tx.delete_notifications_about(actor.id, "follow_request", None, target.id)
                .await?;
        }
        let object =
            json!({"id": follow_uri, "type": "Follow", "actor": actor.uri, "object": target.uri});
        let to = vec![target.uri.clone()];
        let undo_id = format!("{follow_uri}/undo");
        self.record_activity(&mut tx, actor, Verb::Undo, &undo_id, object, &to, &[], now)
            .await?;
        let last = tx
            .append_events(
                &[crate::accounts::relationship_event(actor.id, target.id)],
                now,
            )
            .await?;
        tx.commit().await?;
        self.published(last);
        self.accounts_changed(&[actor.id, target.id]);
        Ok(Outcome {
            status: None,
            changed: true,
        })
    }

    /// Accepts or rejects a pending follow request addressed to `actor`.
    async fn answer_follow(
        &self,
        actor: &AccountRow,
        follower_id: Id,
        accept: bool,
    ) -> Result<Outcome> {
        let follower = self
            .store
            .account(follower_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let Some(follow_uri) = tx
            .delete_relation(Relation::FollowRequest, follower.id, actor.id)
            .await?
        else {
            return Err(EngineError::NotFound);
        };
        tx.delete_notifications_about(follower.id, "follow_request", None, actor.id)
            .await?;
        let mut events = vec![crate::accounts::relationship_event(actor.id, follower.id)];
        if accept {
            let row = NewRelation {
                id: self.new_id(),
                account_id: follower.id,
                target_account_id: actor.id,
                uri: follow_uri.clone(),
                flag_a: true,
                flag_b: false,
                expires_at: None,
                created_at: now,
            };
            if tx.insert_relation(Relation::Follow, &row).await? {
                tx.bump_account_counter(follower.id, AccountCounter::Following, 1)
                    .await?;
                tx.bump_account_counter(actor.id, AccountCounter::Followers, 1)
                    .await?;
            }
            events.extend(
                self.notify(&mut tx, actor.id, follower.id, "follow", None, now)
                    .await?,
            );
        }
        let verb = if accept { Verb::Accept } else { Verb::Reject };
        let object =
            json!({"id": follow_uri, "type": "Follow", "actor": follower.uri, "object": actor.uri});
        let to = vec![follower.uri.clone()];
        let id = format!(
            "{}#{}/{}",
            actor.uri,
            verb.as_str().to_lowercase(),
            self.new_id()
        );
        self.record_activity(&mut tx, actor, verb, &id, object, &to, &[], now)
            .await?;
        let last = tx.append_events(&events, now).await?;
        tx.commit().await?;
        self.published(last);
        self.accounts_changed(&[actor.id, follower.id]);
        Ok(Outcome {
            status: None,
            changed: true,
        })
    }

    async fn like(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.visible_status(Some(actor.id), status_id).await?;
        let status = self.original_of(status).await?;
        let now = sluice_model::id::now_millis();
        let id = self.new_id();
        let uri = format!("{}#likes/{id}", actor.uri);
        let mut tx = self.store.begin().await?;
        if !tx
            .insert_saved(Saved::Favourites, id, actor.id, status.id, &uri, now)
            .await?
        {
            tx.commit().await?;
            return Ok(Outcome {
                status: Some(status.id),
                changed: false,
            });
        }
        tx.bump_status_counter(status.id, StatusCounter::Favourites, 1)
            .await?;
        let author = self
            .store
            .account(status.account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let to = vec![author.uri.clone()];
        self.record_activity(
            &mut tx,
            actor,
            Verb::Like,
            &uri,
            json!(status.uri),
            &to,
            &[],
            now,
        )
        .await?;
        let mut events = Vec::new();
        events.extend(
            self.notify_author(&mut tx, &author, actor.id, "favourite", status.id, now)
                .await?,
        );
        let last = tx.append_events(&events, now).await?;
        tx.commit().await?;
        self.published(last);
        Ok(Outcome {
            status: Some(status.id),
            changed: true,
        })
    }

    async fn undo_like(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self
            .store
            .status(status_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let status = self.original_of(status).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let Some(like_uri) = tx
            .delete_saved(Saved::Favourites, actor.id, status.id)
            .await?
        else {
            tx.commit().await?;
            return Ok(Outcome {
                status: Some(status.id),
                changed: false,
            });
        };
        tx.bump_status_counter(status.id, StatusCounter::Favourites, -1)
            .await?;
        tx.delete_notifications_about(actor.id, "favourite", Some(status.id), status.account_id)
            .await?;
        let author_uri = self
            .store
            .account(status.account_id)
            .await?
            .map(|a| a.uri)
            .unwrap_or_default();
        let object =
            json!({"id": like_uri, "type": "Like", "actor": actor.uri, "object": status.uri});
        let undo_id = format!("{like_uri}/undo");
        self.record_activity(
            &mut tx,
            actor,
            Verb::Undo,
            &undo_id,
            object,
            &[author_uri],
            &[],
            now,
        )
        .await?;
        let last = None;
        tx.commit().await?;
        self.published(last);
        Ok(Outcome {
            status: Some(status.id),
            changed: true,
        })
    }

    async fn announce(
        &self,
        actor: &AccountRow,
        status_id: Id,
        visibility: Visibility,
    ) -> Result<Outcome> {
        let status = self.visible_status(Some(actor.id), status_id).await?;
        let status = self.original_of(status).await?;
        let vis = Visibility::parse(&status.visibility).unwrap_or(Visibility::Direct);
        let own_private = vis == Visibility::Private && status.account_id == actor.id;
        if !vis.is_public_or_unlisted() && !own_private {
            return Err(EngineError::forbidden("This action is not allowed"));
        }
        if let Some(existing) = self.store.reblog_by(actor.id, status.id).await? {
            return Ok(Outcome {
                status: Some(existing.id),
                changed: false,
            });
        }
        let visibility = if own_private {
            Visibility::Private
        } else {
            visibility
        };
        let now = sluice_model::id::now_millis();
        let id = self.ids.next_at(now);
        let uri = format!("{}/activity", self.urls.status(&actor.username, id));
        let author = self
            .store
            .account(status.account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let (to, mut cc) = visibility.addressing(&actor.followers_url, &[]);
        cc.push(author.uri.clone());
        let reblog = StatusRow {
            id,
            uri: uri.clone(),
            url: self.urls.status_page(&actor.username, id),
            account_id: actor.id,
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            reblog_of_id: Some(status.id),
            thread_id: id,
            object_type: "Announce".into(),
            content: String::new(),
            source_text: String::new(),
            spoiler_text: String::new(),
            sensitive: false,
            visibility: visibility.as_str().into(),
            language: None,
            local: true,
            application_id: None,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
            created_at: now,
            edited_at: None,
            updated_at: now,
            attachments: "[]".into(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_status(&reblog).await?;
        tx.bump_status_counter(status.id, StatusCounter::Reblogs, 1)
            .await?;
        tx.bump_account_counter(actor.id, AccountCounter::Statuses, 1)
            .await?;
        self.record_activity(
            &mut tx,
            actor,
            Verb::Announce,
            &uri,
            json!(status.uri),
            &to,
            &cc,
            now,
        )
        .await?;
        let mut events = vec![status_event(
            "update",
            &reblog,
            &[],
            &[],
            &actor.domain,
            Some(&author.domain),
        )];
        events.extend(
            self.notify_author(&mut tx, &author, actor.id, "reblog", status.id, now)
                .await?,
        );
        let last = tx.append_events(&events, now).await?;
        tx.commit().await?;
        self.published(last);
        self.accounts_changed(&[actor.id]);
        Ok(Outcome {
            status: Some(id),
            changed: true,
        })
    }

    async fn undo_announce(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self
            .store
            .status(status_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let status = self.original_of(status).await?;
        let Some(reblog) = self.store.reblog_by(actor.id, status.id).await? else {
            return Ok(Outcome {
                status: Some(status.id),
                changed: false,
            });
        };
        let now = sluice_model::id::now_millis();
        let vis = Visibility::parse(&reblog.visibility).unwrap_or(Visibility::Public);
        let (to, cc) = vis.addressing(&actor.followers_url, &[]);
        let mut tx = self.store.begin().await?;
        tx.delete_status(reblog.id).await?;
        tx.bump_status_counter(status.id, StatusCounter::Reblogs, -1)
            .await?;
        tx.bump_account_counter(actor.id, AccountCounter::Statuses, -1)
            .await?;
        tx.delete_notifications_about(actor.id, "reblog", Some(status.id), status.account_id)
            .await?;
        let object =
            json!({"id": reblog.uri, "type": "Announce", "actor": actor.uri, "object": status.uri});
        let undo_id = format!("{}/undo", reblog.uri);
        self.record_activity(&mut tx, actor, Verb::Undo, &undo_id, object, &to, &cc, now)
            .await?;
        let event = NewEvent {
            kind: "delete".into(),
            account_id: Some(actor.id),
            object_id: Some(reblog.id),
            data: json!({"visibility": reblog.visibility, "reblog_of": status.id}).to_string(),
            ..Default::default()
        };
        let last = tx.append_events(&[event], now).await?;
        tx.commit().await?;
        self.published(last);
        self.accounts_changed(&[actor.id]);
        Ok(Outcome {
            status: Some(status.id),
            changed: true,
        })
    }

    async fn block(&self, actor: &AccountRow, target_id: Id) -> Result<Outcome> {
        let target = self
            .store
            .account(target_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if target.id == actor.id {
            return Err(EngineError::forbidden("You cannot block yourself"));
        }
        let now = sluice_model::id::now_millis();
        let id = self.new_id();
        let uri = format!("{}#blocks/{id}", actor.uri);
        let mut tx = self.store.begin().await?;
        let row = NewRelation {
            id,
            account_id: actor.id,
            target_account_id: target.id,
            uri: uri.clone(),
            flag_a: false,
            flag_b: false,
            expires_at: None,
            created_at: now,
        };
        if !tx.insert_relation(Relation::Block, &row).await? {
            tx.commit().await?;
            return Ok(Outcome::default());
        }
        // A block ends follows in both directions and pending requests. A remote
        // blocked actor is told only that: their follow is rejected and ours undone
        // (the Block itself is not sent unless `send_blocks`).
        let to = vec![target.uri.clone()];
        for (a, b) in [(actor.id, target.id), (target.id, actor.id)] {
            let mut follow_uri = tx.delete_relation(Relation::Follow, a, b).await?;
            if follow_uri.is_some() {
                tx.bump_account_counter(a, AccountCounter::Following, -1)
                    .await?;
                tx.bump_account_counter(b, AccountCounter::Followers, -1)
                    .await?;
            }
            if let Some(uri) = tx.delete_relation(Relation::FollowRequest, a, b).await? {
                follow_uri.get_or_insert(uri);
            }
            if target.is_local() {
                continue;
            }
            if let Some(follow_uri) = follow_uri {
                let (verb, object, id) = if a == target.id {
                    (
                        Verb::Reject,
                        json!({"id": follow_uri, "type": "Follow", "actor": target.uri, "object": actor.uri}),
                        format!("{}#rejects/{}", actor.uri, self.new_id()),
                    )
                } else {
                    (
                        Verb::Undo,
                        json!({"id": follow_uri, "type": "Follow", "actor": actor.uri, "object": target.uri}),
                        format!("{follow_uri}/undo"),
                    )
                };
                self.record_activity(&mut tx, actor, verb, &id, object, &to, &[], now)
                    .await?;
            }
        }
        self.record_activity(
            &mut tx,
            actor,
            Verb::Block,
            &uri,
            json!(target.uri),
            &to,
            &[],
            now,
        )
        .await?;
        let last = tx
            .append_events(
                &[crate::accounts::relationship_event(actor.id, target.id)],
                now,
            )
            .await?;
        tx.commit().await?;
        self.published(last);
        self.accounts_changed(&[actor.id, target.id]);
        Ok(Outcome {
            status: None,
            changed: true,
        })
    }

    async fn undo_block(&self, actor: &AccountRow, target_id: Id) -> Result<Outcome> {
        let target = self
            .store
            .account(target_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let Some(block_uri) = tx
            .delete_relation(Relation::Block, actor.id, target.id)
            .await?
        else {
            tx.commit().await?;
            return Ok(Outcome::default());
        };
        let object =
            json!({"id": block_uri, "type": "Block", "actor": actor.uri, "object": target.uri});
        let to = vec![target.uri.clone()];
        let undo_id = format!("{block_uri}/undo");
        self.record_activity(&mut tx, actor, Verb::Undo, &undo_id, object, &to, &[], now)
            .await?;
        let last = tx
            .append_events(
                &[crate::accounts::relationship_event(actor.id, target.id)],
                now,
            )
            .await?;
        tx.commit().await?;
        self.published(last);
        Ok(Outcome {
            status: None,
            changed: true,
        })
    }

    /// Pins one of the actor's public or unlisted posts, at most [`MAX_PINS`] of
    /// them, and tells followers with an `Add` to the featured collection (as
    /// Mastodon). Pinning a pinned post changes nothing and is not an error.
    async fn pin(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.visible_status(Some(actor.id), status_id).await?;
        check_pinnable(actor, &status)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        match tx.pin(actor.id, status.id, now, MAX_PINS).await? {
            PinOutcome::Pinned => {}
            PinOutcome::AlreadyPinned => {
                tx.commit().await?;
                return Ok(Outcome {
                    status: Some(status.id),
                    changed: false,
                });
            }
            PinOutcome::LimitReached => {
                return Err(EngineError::invalid(
                    "Validation failed: You have already pinned the maximum number of posts",
                ));
            }
        }
        let id = format!("{}#pins/{}", actor.uri, self.new_id());
        self.record_featured_change(&mut tx, actor, Verb::Add, &id, &status, now)
            .await?;
        tx.commit().await?;
        Ok(Outcome {
            status: Some(status.id),
            changed: true,
        })
    }

    /// Unpins a post and tells followers with a `Remove`; a post that was not pinned
    /// is left as it is.
    async fn unpin(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.visible_status(Some(actor.id), status_id).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx.unpin(actor.id, status.id).await? {
            tx.commit().await?;
            return Ok(Outcome {
                status: Some(status.id),
                changed: false,
            });
        }
        let id = format!("{}#pins/{}/remove", actor.uri, self.new_id());
        self.record_featured_change(&mut tx, actor, Verb::Remove, &id, &status, now)
            .await?;
        tx.commit().await?;
        Ok(Outcome {
            status: Some(status.id),
            changed: true,
        })
    }

    /// Records (and queues for the followers) the `Add` or `Remove` of a post to the
    /// actor's featured collection: `object` is the post's IRI, `target` the
    /// collection, which is how a receiving server tells a pin from other Adds.
    async fn record_featured_change(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        verb: Verb,
        id: &str,
        status: &StatusRow,
        now: i64,
    ) -> Result<()> {
        let (to, cc) = Visibility::Public.addressing(&actor.followers_url, &[]);
        let mut doc = as2::activity(
            id,
            verb,
            &actor.uri,
            json!(status.uri),
            &to,
            &cc,
            Timestamp(now),
        );
        doc["target"] = json!(self.urls.featured(&actor.username));
        self.record_document(tx, actor, doc, &to, &cc, now).await
    }

    /// For a reblog, the status it reblogs; otherwise the status itself.
    async fn original_of(&self, status: StatusRow) -> Result<StatusRow> {
        match status.reblog_of_id {
            Some(id) => self.store.status(id).await?.ok_or(EngineError::NotFound),
            None => Ok(status),
        }
    }

    /// Removes a status, its reblogs (at most [`MAX_REBLOGS_DELETED`]), its counters'
    /// contributions, and leaves a tombstone; returns the `delete` events. The caller
    /// records the Delete activity (or the remote one) and commits.
    pub(crate) async fn delete_status_rows(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        status: &StatusRow,
        now: i64,
    ) -> Result<Vec<NewEvent>> {
        let reblogs = self
            .store
            .reblogged_by(
                status.id,
                sluice_store::Page {
                    limit: MAX_REBLOGS_DELETED,
                    ..Default::default()
                },
            )
            .await?;
        let mut events = Vec::new();
        for r in &reblogs {
            tx.delete_status(r.rel_id).await?;
            tx.bump_account_counter(r.item_id, AccountCounter::Statuses, -1)
                .await?;
            events.push(NewEvent {
                kind: "delete".into(),
                account_id: Some(r.item_id),
                object_id: Some(r.rel_id),
                data: json!({"visibility": status.visibility, "reblog_of": status.id}).to_string(),
                ..Default::default()
            });
        }
        tx.delete_status(status.id).await?;
        tx.detach_media(status.id, &[], now).await?;
        tx.bump_account_counter(actor.id, AccountCounter::Statuses, -1)
            .await?;
        if let Some(parent) = status.in_reply_to_id {
            tx.bump_status_counter(parent, StatusCounter::Replies, -1)
                .await?;
        }
        if status.reblog_of_id.is_none() {
            tx.insert_tombstone(&status.uri, actor.id, now).await?;
        }
        events.push(NewEvent {
            kind: "delete".into(),
            account_id: Some(actor.id),
            object_id: Some(status.id),
            data: json!({"visibility": status.visibility}).to_string(),
            ..Default::default()
        });
        Ok(events)
    }

    /// Notifies `author` of an interaction by `from` with their `status`, when the
    /// author is one of ours and not `from` itself.
    pub(crate) async fn notify_author(
        &self,
        tx: &mut WriteTx,
        author: &AccountRow,
        from: Id,
        kind: &str,
        status: Id,
        now: i64,
    ) -> Result<Option<NewEvent>> {
        if author.id == from || !author.is_local() {
            return Ok(None);
        }
        self.notify(tx, author.id, from, kind, Some(status), now)
            .await
    }

    /// Creates a notification unless the recipient blocks or mutes (with notifications)
    /// the sender. Returns its event.
    pub(crate) async fn notify(
        &self,
        tx: &mut WriteTx,
        to: Id,
        from: Id,
        kind: &str,
        status: Option<Id>,
        now: i64,
    ) -> Result<Option<NewEvent>> {
        if tx.silences_notifications_from(to, from).await? {
            return Ok(None);
        }
        let id = self.ids.next_at(now);
        tx.insert_notification(&NotificationRow {
            id,
            account_id: to,
            from_account_id: from,
            kind: kind.into(),
            status_id: status,
            created_at: now,
        })
        .await?;
        Ok(Some(NewEvent {
            kind: "notification".into(),
            account_id: Some(from),
            recipient_id: Some(to),
            object_id: Some(id),
            data: json!({"type": kind}).to_string(),
        }))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_activity(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        verb: Verb,
        id: &str,
        object: Value,
        to: &[String],
        cc: &[String],
        now: i64,
    ) -> Result<()> {
        let doc = as2::activity(id, verb, &actor.uri, object, to, cc, Timestamp(now));
        self.record_document(tx, actor, doc, to, cc, now).await
    }

    /// Stores an activity document and queues its deliveries (see
    /// [`Engine::record_activity`]); for documents with more than `as2::activity`
    /// writes, such as an Add's `target`. Its id, type and object are read from it.
    pub(crate) async fn record_document(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        doc: Value,
        to: &[String],
        cc: &[String],
        now: i64,
    ) -> Result<()> {
        self.record_document_to(tx, actor, doc, to, cc, &[], now)
            .await
    }

    /// [`Engine::record_document`], also delivered to `hidden_inboxes` (the personal
    /// inboxes of `bto`/`bcc` recipients, whom the document does not name: a shared
    /// inbox could not tell whom it is for).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_document_to(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        doc: Value,
        to: &[String],
        cc: &[String],
        hidden_inboxes: &[String],
        now: i64,
    ) -> Result<()> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let object = &doc["object"];
        let object_uri = match object {
            Value::String(s) => s.clone(),
            other => text(&other["id"]),
        };
        // A Block, or the Undo of one.
        let about_block = doc["type"] == Verb::Block.as_str()
            || object.get("type").and_then(Value::as_str) == Some(Verb::Block.as_str());
        let activity_id = self.ids.next_at(now);
        tx.insert_activity(&ActivityRecord {
            id: activity_id,
            uri: text(&doc["id"]),
            kind: text(&doc["type"]),
            actor_id: actor.id,
            object_uri,
            local: actor.is_local(),
            to_json: serde_json::to_string(to).unwrap_or_default(),
            cc_json: serde_json::to_string(cc).unwrap_or_default(),
            json: doc.to_string(),
            created_at: now,
        })
        .await?;
        if actor.is_local() && (!about_block || self.config.send_blocks) {
            self.queue_deliveries(tx, actor, activity_id, to, cc, hidden_inboxes, now)
                .await?;
        }
        Ok(())
    }

    /// Queues the activity for every remote inbox its addressing reaches, in the
    /// activity's transaction (so it is sent exactly when it is stored). The followers
    /// collection becomes the remote followers' inboxes; an actor IRI becomes that
    /// actor's inbox; shared inboxes are used when offered, so one server gets one POST.
    /// Blocks are not sent unless `send_blocks` is set: telling the blocked person's
    /// server only helps the blocked person.
    #[allow(clippy::too_many_arguments)]
    async fn queue_deliveries(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        activity_id: Id,
        to: &[String],
        cc: &[String],
        extra_inboxes: &[String],
        now: i64,
    ) -> Result<()> {
        let followers = self.urls.followers(&actor.username);
        let mut inboxes: Vec<String> = extra_inboxes.to_vec();
        let mut actors: Vec<&str> = Vec::new();
        for iri in to.iter().chain(cc) {
            if *iri == followers {
                inboxes.extend(tx.remote_follower_inboxes(actor.id).await?);
            } else if !sluice_model::visibility::is_public_iri(iri)
                && !iri.starts_with(self.urls.base())
            {
                actors.push(iri);
            }
        }
        if !actors.is_empty() {
            inboxes.extend(tx.remote_inboxes_of(&actors).await?);
        }
        inboxes.sort_unstable();
        inboxes.dedup();
        // Nothing is delivered to a suspended domain.
        let suspended = tx.suspended_domains().await?;
        let targets: Vec<(String, String)> = inboxes
            .into_iter()
            .filter_map(|inbox| {
                let host = url::Url::parse(&inbox)
                    .ok()?
                    .host_str()?
                    .to_ascii_lowercase();
                Some((inbox, host))
            })
            .filter(|(_, host)| {
                !suspended
                    .iter()
                    .any(|d| sluice_store::host_in_domain(host, d))
            })
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let ids = self.ids.next_block(now, targets.len());
        tx.enqueue_deliveries(
            &ids,
            activity_id,
            actor.id,
            &targets,
            now,
            now + self.config.delivery_max_age_ms,
        )
        .await?;
        self.deliveries_queued();
        Ok(())
    }

    /// The ActivityStreams Note for a stored status.
    #[allow(clippy::too_many_arguments)]
    pub fn note_document(
        &self,
        s: &StatusRow,
        author: &AccountRow,
        mentioned: &[AccountRow],
        tags: &[String],
        to: &[String],
        cc: &[String],
        in_reply_to: Option<&str>,
    ) -> Value {
        let mentions: Vec<(String, String)> = mentioned
            .iter()
            .map(|a| {
                (
                    a.uri.clone(),
                    format!(
                        "@{}@{}",
                        a.username,
                        if a.is_local() {
                            self.urls.domain()
                        } else {
                            &a.domain
                        }
                    ),
                )
            })
            .collect();
        let hashtags: Vec<(String, String)> =
            tags.iter().map(|t| (self.urls.tag(t), t.clone())).collect();
        let mut doc = as2::note(&as2::NoteDoc {
            id: &s.uri,
            url: &s.url,
            attributed_to: &author.uri,
            content: &s.content,
            summary: Some(&s.spoiler_text),
            sensitive: s.sensitive,
            in_reply_to,
            published: Timestamp(s.created_at),
            updated: s.edited_at.map(Timestamp),
            to,
            cc,
            language: s.language.as_deref(),
            mentions: &mentions,
            hashtags: &hashtags,
        });
        let attachments = Attachment::read_list(&s.attachments);
        if !attachments.is_empty()
            && let Some(o) = doc.as_object_mut()
        {
            o.insert(
                "attachment".into(),
                Value::Array(attachments.iter().map(Attachment::document).collect()),
            );
        }
        doc
    }
}

impl Engine {
    /// The personal inboxes of a post's remote `bto`/`bcc` recipients: its updates and
    /// its delete reach them too, without naming them.
    async fn hidden_inboxes(&self, status_id: Id) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for id in self.store.mentioned_accounts(status_id, true).await? {
            if let Some(a) = self.store.account(id).await?
                && !a.is_local()
                && !a.inbox_url.is_empty()
            {
                out.push(a.inbox_url);
            }
        }
        Ok(out)
    }

    /// A post's attachments: `media_ids` (uploads of `actor`'s, unattached or already
    /// `status`'s) then `links`; 422 when there are too many or an upload is not
    /// available (checked again when the transaction attaches them).
    async fn attachments_for(
        &self,
        actor: &AccountRow,
        media_ids: &[Id],
        links: &[Attachment],
        status: Option<Id>,
    ) -> Result<Vec<Attachment>> {
        if media_ids.len() + links.len() > crate::media::MAX_ATTACHMENTS {
            return Err(EngineError::invalid(format!(
                "Validation failed: A post can have at most {} media attachments",
                crate::media::MAX_ATTACHMENTS
            )));
        }
        let mut out = Vec::with_capacity(media_ids.len() + links.len());
        for (i, id) in media_ids.iter().enumerate() {
            if media_ids[..i].contains(id) {
                return Err(EngineError::invalid(
                    "Validation failed: The same media is attached twice",
                ));
            }
            match self.store.media(*id).await? {
                Some(m)
                    if m.account_id == actor.id
                        && (m.status_id.is_none() || m.status_id == status) =>
                {
                    out.push(self.media_attachment(&m));
                }
                _ => return Err(media_not_found(&[*id])),
            }
        }
        out.extend(links.iter().cloned());
        Ok(out)
    }
}

/// Mastodon's answer to media ids a post cannot take.
fn media_not_found(ids: &[Id]) -> EngineError {
    let ids: Vec<String> = ids.iter().map(Id::to_string).collect();
    EngineError::invalid(format!(
        "Validation failed: Media with IDs {} not found. Already attached to another post?",
        ids.join(", ")
    ))
}

/// Gives the object we federate a client's type and properties (ActivityPub C2S).
fn apply_client_object(note: &mut Value, c: &ClientObject) {
    if let Some(doc) = note.as_object_mut() {
        doc.insert("type".into(), Value::String(c.object_type.clone()));
        for (k, v) in &c.properties {
            doc.insert(k.clone(), v.clone());
        }
    }
}

/// Posts a local user may pin (Mastodon's `MAX_PINNED_STATUSES`; also announced in
/// the instance's `configuration.accounts.max_pinned_statuses`).
pub const MAX_PINS: i64 = 5;

/// Why a post cannot be pinned, with Mastodon's messages: only the author's own
/// posts (not reblogs), and not direct ones. Followers-only posts may be pinned, as
/// on Mastodon: the pinned listing shows them only to those who may see them, and the
/// featured collection carries only public and unlisted ones.
fn check_pinnable(actor: &AccountRow, status: &StatusRow) -> Result<()> {
    if status.reblog_of_id.is_some() {
        return Err(EngineError::invalid(
            "Validation failed: A boost cannot be pinned",
        ));
    }
    if status.account_id != actor.id {
        return Err(EngineError::invalid(
            "Validation failed: Someone else's post cannot be pinned",
        ));
    }
    match Visibility::parse(&status.visibility) {
        Some(Visibility::Public | Visibility::Unlisted | Visibility::Private) => Ok(()),
        _ => Err(EngineError::invalid(
            "Validation failed: Posts that are only visible to mentioned users cannot be pinned",
        )),
    }
}

/// At most this many accounts are mentioned (and notified) per post: bounded work.
pub const MAX_MENTIONS: usize = 50;
/// At most this many hashtags are indexed per post.
pub const MAX_TAGS: usize = 30;
/// Reblogs removed together with a deleted post, in its transaction.
const MAX_REBLOGS_DELETED: i64 = 10_000;

/// The event for a new or changed status, with the facts streaming routes on.
///
/// `domain` is the author's ("" for local accounts) and `reblog_domain` the reblogged
/// post's author's: a connection hides blocked domains without a query.
pub(crate) fn status_event(
    kind: &str,
    s: &StatusRow,
    tags: &[String],
    mentions: &[Id],
    domain: &str,
    reblog_domain: Option<&str>,
) -> NewEvent {
    NewEvent {
        kind: kind.into(),
        account_id: Some(s.account_id),
        recipient_id: None,
        object_id: Some(s.id),
        data: json!({
            "visibility": s.visibility,
            "local": s.local,
            "tags": tags,
            "mentions": mentions,
            "reblog_of": s.reblog_of_id,
            "in_reply_to_account_id": s.in_reply_to_account_id,
            "domain": domain,
            "reblog_domain": reblog_domain,
            "media": s.attachments != "[]",
        })
        .to_string(),
    }
}
