//! The activity pipeline: every write that other people can see is an ActivityStreams
//! activity and goes through [`Engine::submit`]:
//!
//! 1. **validate** — the actor may do this to this object (visibility, blocks, limits);
//! 2. **store** — object, activity (with its `to`/`cc` addressing) and event-log rows,
//!    in ONE transaction, together with the side effects: notifications, counters,
//!    mentions, hashtags;
//! 3. **fan out** — the deliveries of the activity are queued in the same transaction;
//!    after commit ([`Engine::commit`]) the event-log tailers (streaming) and the
//!    delivery workers are woken.
//!
//! The side effects are the functions of [`crate::effects`], shared with the remote
//! activities of [`crate::remote`]. Activities name their objects by local id: the API
//! (or the C2S outbox) resolved them already.

use serde_json::{Value, json};
use sluice_model::activity::Verb;
use sluice_model::media::Attachment;
use sluice_model::{Id, Timestamp, Visibility, content};
use sluice_store::{
    AccountCounter, AccountRow, ActivityRecord, NewEvent, NewRelation, NotificationRow, PinOutcome,
    Relation, StatusCounter, StatusRow, WriteTx,
};

use crate::as2::{self, NoteParts, apply_client_object, object_ref, undo_of};
use crate::effects::{Changes, NewPost, PostEdit, reblog_row};
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
    /// A poll (then no media): the post is federated as a `Question`.
    pub poll: Option<crate::polls::NewPoll>,
    /// The text's format: `text/markdown`, or None for plain text.
    pub content_type: Option<String>,
    /// The status it quotes (`quoted_status_id`, Mastodon 4.5).
    pub quoted_status_id: Option<Id>,
    /// Who may quote it (`quote_approval_policy`; default: anyone).
    pub quote_policy: Option<crate::quotes::QuotePolicy>,
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
    /// The text's format (`text/plain`, `text/markdown`); None keeps the post's.
    pub content_type: Option<String>,
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
    /// Ends `follower`'s follow of the actor (`remove_from_followers`); a remote
    /// follower's server is sent a `Reject` of the follow, as Mastodon does.
    RemoveFollower {
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
    /// A change of the actor's own profile (text, settings, avatar, header), sent to
    /// its followers' servers as an `Update` of its actor document.
    UpdateProfile(Box<crate::accounts::ProfileChange>),
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
    /// The status created or concerned (for Announce: the reblog wrapper; for Like,
    /// Undo(Like), Undo(Announce) and Unpin: the original when a boost was named).
    pub status: Option<Id>,
    /// That status as stored once the activity committed (counters included), for the
    /// caller to render; filled by [`Engine::submit`].
    pub row: Option<StatusRow>,
    /// The account changed (UpdateProfile), as stored once committed.
    pub account: Option<AccountRow>,
    /// False when nothing changed (already favourited, idempotent replay, …).
    pub changed: bool,
}

impl Outcome {
    /// Changed (or not) `status`.
    pub(crate) fn status(status: Id, changed: bool) -> Outcome {
        Outcome {
            status: Some(status),
            changed,
            ..Default::default()
        }
    }

    /// Changed something that is not a status.
    pub(crate) fn changed() -> Outcome {
        Outcome {
            changed: true,
            ..Default::default()
        }
    }
}

/// How long an `Idempotency-Key` is remembered (Mastodon: one hour).
pub const IDEMPOTENCY_TTL_MS: i64 = 60 * 60 * 1000;

impl Engine {
    /// Runs one activity through the pipeline on behalf of `actor`.
    /// The outcome carries the status concerned as it is once committed.
    pub async fn submit(&self, actor: Id, activity: Activity) -> Result<Outcome> {
        let actor = self.account_row(actor).await?;
        let mut outcome = self.run(&actor, activity).await?;
        if outcome.row.is_none()
            && let Some(id) = outcome.status
        {
            outcome.row = self.store.status(id).await?;
        }
        Ok(outcome)
    }

    async fn run(&self, actor: &AccountRow, activity: Activity) -> Result<Outcome> {
        match activity {
            Activity::CreateNote(n) => self.create_note(actor, n).await,
            Activity::UpdateNote { status, edit } => self.update_note(actor, status, edit).await,
            Activity::DeleteNote { status } => self.delete_note(actor, status).await,
            Activity::Follow {
                target,
                reblogs,
                notify,
            } => self.follow(actor, target, reblogs, notify).await,
            Activity::UndoFollow { target } => self.undo_follow(actor, target).await,
            Activity::AcceptFollow { follower } => self.answer_follow(actor, follower, true).await,
            Activity::RejectFollow { follower } => self.answer_follow(actor, follower, false).await,
            Activity::RemoveFollower { follower } => self.remove_follower(actor, follower).await,
            Activity::Like { status } => self.like(actor, status).await,
            Activity::UndoLike { status } => self.undo_like(actor, status).await,
            Activity::Announce { status, visibility } => {
                self.announce(actor, status, visibility).await
            }
            Activity::UndoAnnounce { status } => self.undo_announce(actor, status).await,
            Activity::Block { target } => self.block(actor, target).await,
            Activity::UndoBlock { target } => self.undo_block(actor, target).await,
            Activity::Pin { status } => self.pin(actor, status).await,
            Activity::Unpin { status } => self.unpin(actor, status).await,
            Activity::UpdateProfile(change) => self.update_profile(actor, *change).await,
            Activity::Other { document } => self.record_other(actor, document).await,
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
        self.commit(tx, Changes::at(now)).await?;
        Ok(Outcome::changed())
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
                    || self.store.in_status_audience(status.id, me).await?
            }
            Visibility::Direct => {
                self.is_mentioned(me, status.id).await?
                    || self.store.in_status_audience(status.id, me).await?
            }
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

    /// Renders the text of a post (plain, or Markdown) and resolves its mentions and
    /// hashtags.
    async fn render_text(
        &self,
        text: &str,
        markdown: bool,
    ) -> Result<(String, Vec<AccountRow>, Vec<String>)> {
        let scan = if markdown {
            content::scan(&content::markdown_linked_text(text))
        } else {
            content::scan(text)
        };
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
        let render = if markdown {
            content::markdown_to_html
        } else {
            content::plain_to_html
        };
        let html = render(text, &|t| self.urls.tag(t), &|acct| {
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
    pub(crate) fn check_text(&self, text: &str, spoiler: &str, has_media: bool) -> Result<()> {
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
        // A local account that moved posts no more (Mastodon's web app refuses it too).
        if actor.is_local() && actor.moved_to_account_id.is_some() {
            return Err(EngineError::invalid(
                "Validation failed: This account has moved to another one and cannot post",
            ));
        }
        if let Some(key) = &n.idempotency_key
            && let Some(id) = self.store.idempotent_status(actor.id, key).await?
        {
            return Ok(Outcome::status(id, false));
        }
        let now = sluice_model::id::now_millis();
        let draft = self.draft_note(actor, &n, now).await?;
        let id = draft.status.id;
        let mut tx = self.store.begin().await?;
        if let Some(key) = &n.idempotency_key
            && !tx.claim_idempotency_key(actor.id, key, id, now).await?
        {
            drop(tx);
            let existing = self.store.idempotent_status(actor.id, key).await?;
            return Ok(Outcome {
                status: existing,
                ..Default::default()
            });
        }
        let mut changes = Changes::at(now);
        self.store_post(
            &mut tx,
            &mut changes,
            &NewPost {
                status: &draft.status,
                author: actor,
                parent: draft.parent.as_ref(),
                mentioned: &draft.mentioned,
                hidden: draft.hidden,
                tags: &draft.tags,
            },
        )
        .await?;
        if !tx.attach_media(&n.media_ids, actor.id, id, now).await? {
            return Err(media_not_found(&n.media_ids));
        }
        if let Some(p) = &draft.poll {
            tx.insert_poll(p).await?;
        }
        if is_markdown(n.content_type.as_deref()) {
            tx.set_content_type(id, n.content_type.as_deref()).await?;
        }
        self.store_quote(
            &mut tx,
            &mut changes,
            &draft.status,
            draft.policy,
            draft.quote.as_ref(),
            now,
        )
        .await?;
        let request_instrument = draft
            .quote
            .as_ref()
            .filter(|q| q.state == "pending")
            .map(|_| draft.note.clone());
        // The activity has its own id (as Mastodon's `…/activity`): servers de-duplicate
        // by activity id, and it must not be the Note's.
        let activity_uri = format!("{}/activity", draft.status.uri);
        let audience = Audience {
            to: &draft.to,
            cc: &draft.cc,
            hidden_inboxes: &draft.hidden_inboxes,
        };
        let doc = audience.activity(&activity_uri, Verb::Create, actor, draft.note, now);
        self.record_document_to(&mut tx, actor, doc, &audience, now)
            .await?;
        // A quote of a remote post asks that post's author (FEP-044f).
        if let (Some(q), Some(note)) = (&draft.quote, &request_instrument) {
            self.queue_quote_request(&mut tx, actor, &draft.status, q, note, now)
                .await?;
        }
        self.commit(tx, changes).await?;
        if draft.poll.is_some() {
            self.poll_stored();
        }
        Ok(Outcome {
            status: Some(id),
            row: Some(draft.status),
            changed: true,
            ..Default::default()
        })
    }

    /// A new post checked and made ready to store: its row, what it names, its
    /// audience and the object we federate.
    async fn draft_note<'n>(
        &self,
        actor: &AccountRow,
        n: &'n NewNote,
        now: i64,
    ) -> Result<NoteDraft<'n>> {
        if n.client.is_none() {
            self.check_text(&n.text, &n.spoiler_text, !n.media_ids.is_empty())?;
        }
        let poll_options = match &n.poll {
            Some(p) => {
                let links = n.client.as_ref().is_some_and(|c| !c.links.is_empty());
                if !n.media_ids.is_empty() || links {
                    return Err(EngineError::invalid(
                        "Validation failed: Media attachments cannot be added to a post with a poll",
                    ));
                }
                Some(self.config.polls.check(p)?)
            }
            None => None,
        };
        let links: &[Attachment] = n.client.as_ref().map_or(&[], |c| &c.links);
        let attachments = self
            .attachments_for(actor, &n.media_ids, links, None)
            .await?;
        check_language(n.language.as_deref())?;
        let parent = match n.in_reply_to {
            Some(pid) => Some(self.visible_status(Some(actor.id), pid).await?),
            None => None,
        };
        let mut visibility = match &n.client {
            Some(c) => Visibility::from_addressing(&c.to, &c.cc, &actor.followers_url),
            None => match n.visibility {
                Some(v) => v,
                None => self.default_visibility(actor.id).await?,
            },
        };
        let quote = match n.quoted_status_id {
            Some(q) => {
                let (draft, vis) = self.draft_quote(actor, q, visibility).await?;
                visibility = vis;
                Some(draft)
            }
            None => None,
        };
        let (mut html, mentioned, tags) = match &n.client {
            Some(c) => (c.html.clone(), c.mentioned.clone(), c.tags.clone()),
            None => {
                self.render_text(&n.text, is_markdown(n.content_type.as_deref()))
                    .await?
            }
        };
        if let Some(q) = &quote {
            html = crate::quotes::quote_inline_html(&html, &q.quoted);
        }
        if n.client.is_none() && visibility == Visibility::Direct {
            check_direct_recipients(
                &n.text,
                &mentioned,
                parent.as_ref(),
                actor,
                self.urls.domain(),
            )?;
        }
        let mut status = self.new_status_row(actor, n, parent.as_ref(), visibility, html, now);
        status.attachments = Attachment::write_list(&attachments);
        let poll = match (&n.poll, &poll_options) {
            (Some(p), Some(options)) => {
                status.object_type = "Question".into();
                Some(crate::polls::new_poll_row(status.id, p, options, now))
            }
            _ => None,
        };
        let (to, cc) = match &n.client {
            Some(c) => (c.to.clone(), c.cc.clone()),
            None => {
                let iris = self.addressed(actor, &mentioned, parent.as_ref()).await?;
                visibility.addressing(&actor.followers_url, &iris)
            }
        };
        let parts = NoteParts {
            mentioned: &mentioned,
            tags: &tags,
            to: &to,
            cc: &cc,
            in_reply_to: parent.as_ref().map(|p| p.uri.as_str()),
        };
        let mut note = as2::note_document(&self.urls, &status, actor, &parts);
        if let Some(c) = &n.client {
            apply_client_object(&mut note, c);
        }
        self.add_emoji_tags(&mut note, &[&status.content, &status.spoiler_text])
            .await?;
        if let Some(p) = &poll {
            as2::apply_poll(&mut note, p, now);
        }
        let policy = match n.quote_policy {
            Some(p) => p,
            None => self.default_quote_policy(actor.id).await?,
        }
        .for_visibility(visibility);
        as2::apply_quote(
            &mut note,
            actor,
            policy,
            quote.as_ref().map(|q| {
                (
                    q.quoted.uri.as_str(),
                    (q.state == "accepted" && q.quoted_author.is_local())
                        .then(|| self.quote_authorization_uri(&q.quoted_author, status.id)),
                )
            }),
        );
        if n.client.is_none() && is_markdown(n.content_type.as_deref()) {
            as2::apply_source(&mut note, &n.text, content::MARKDOWN);
        }
        let hidden: &[AccountRow] = n.client.as_ref().map_or(&[], |c| &c.hidden);
        let hidden_inboxes = hidden
            .iter()
            .filter(|a| !a.is_local() && !a.inbox_url.is_empty())
            .map(|a| a.inbox_url.clone())
            .collect();
        Ok(NoteDraft {
            status,
            parent,
            mentioned,
            hidden,
            tags,
            to,
            cc,
            note,
            hidden_inboxes,
            poll,
            quote,
            policy,
        })
    }

    /// Who may quote a user's posts when a post does not say (`source[quote_policy]`;
    /// `public` unless they chose otherwise).
    async fn default_quote_policy(&self, account: Id) -> Result<crate::quotes::QuotePolicy> {
        let user = self.store.user(account).await?;
        Ok(user
            .and_then(|u| u.default_quote_policy)
            .and_then(|p| crate::quotes::QuotePolicy::parse(&p))
            .unwrap_or(crate::quotes::QuotePolicy::Public))
    }

    /// The visibility a user's posts get when they do not say.
    async fn default_visibility(&self, account: Id) -> Result<Visibility> {
        let user = self.store.user(account).await?;
        Ok(user
            .as_ref()
            .and_then(|u| Visibility::parse(&u.default_visibility))
            .unwrap_or(Visibility::Public))
    }

    /// The actors a new post of `actor`'s is addressed to besides its audience: the
    /// mentioned, and the author it answers (so their server gets it), as if
    /// mentioned, unless it is our own thread.
    async fn addressed(
        &self,
        actor: &AccountRow,
        mentioned: &[AccountRow],
        parent: Option<&StatusRow>,
    ) -> Result<Vec<String>> {
        let mut iris: Vec<String> = mentioned.iter().map(|a| a.uri.clone()).collect();
        if let Some(p) = parent
            && p.account_id != actor.id
            && let Some(author) = self.store.account(p.account_id).await?
            && !iris.contains(&author.uri)
        {
            iris.push(author.uri);
        }
        Ok(iris)
    }

    /// The row of a new local post.
    fn new_status_row(
        &self,
        actor: &AccountRow,
        n: &NewNote,
        parent: Option<&StatusRow>,
        visibility: Visibility,
        html: String,
        now: i64,
    ) -> StatusRow {
        let id = self.ids.next_at(now);
        StatusRow {
            id,
            uri: self.urls.status(&actor.username, id),
            url: self.urls.status_page(&actor.username, id),
            account_id: actor.id,
            in_reply_to_id: parent.map(|p| p.id),
            in_reply_to_account_id: parent.map(|p| p.account_id),
            reblog_of_id: None,
            thread_id: parent.map(|p| p.thread_id).unwrap_or(id),
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
            attachments: String::new(),
        }
    }

    async fn update_note(
        &self,
        actor: &AccountRow,
        status_id: Id,
        mut edit: NoteEdit,
    ) -> Result<Outcome> {
        let old = self.status_row(status_id).await?;
        if old.account_id != actor.id || old.reblog_of_id.is_some() {
            return Err(EngineError::NotFound);
        }
        let type_given = edit.content_type.is_some();
        if !type_given {
            edit.content_type = self.store.content_type(status_id).await?;
        }
        let now = sluice_model::id::now_millis();
        let draft = self.draft_edit(actor, &old, &edit, now).await?;
        let new = &draft.status;
        let hidden_inboxes = self.hidden_inboxes(status_id).await?;
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
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        let mention_ids: Vec<Id> = draft.mentioned.iter().map(|a| a.id).collect();
        self.store_edit(
            &mut tx,
            &mut changes,
            &PostEdit {
                old: &old,
                new,
                author: actor,
                tags: &draft.tags,
                mentions: Some(&mention_ids),
                mentioned: &draft.mentioned,
            },
        )
        .await?;
        if type_given {
            let markdown = is_markdown(edit.content_type.as_deref());
            tx.set_content_type(status_id, markdown.then_some(content::MARKDOWN))
                .await?;
        }
        if let Some(ids) = &edit.media_ids {
            tx.detach_media(status_id, ids, now).await?;
            if !tx.attach_media(ids, actor.id, status_id, now).await? {
                return Err(media_not_found(ids));
            }
        }
        let audience = Audience {
            to: &draft.to,
            cc: &draft.cc,
            hidden_inboxes: &hidden_inboxes,
        };
        let activity_id = format!("{}#updates/{now}", new.uri);
        let doc = audience.activity(&activity_id, Verb::Update, actor, draft.note, now);
        self.record_document_to(&mut tx, actor, doc, &audience, now)
            .await?;
        for r in rebloggers {
            if r.item_id != actor.id {
                changes.events(
                    self.notify(&mut tx, r.item_id, actor.id, "update", Some(status_id), now)
                        .await?,
                );
            }
        }
        self.notify_quoted_update(&mut tx, &mut changes, actor.id, status_id, now)
            .await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::status(status_id, true))
    }

    /// An edit checked and made ready to store: the post as it is to be, what it
    /// names, its audience and the object we federate.
    async fn draft_edit(
        &self,
        actor: &AccountRow,
        old: &StatusRow,
        edit: &NoteEdit,
        now: i64,
    ) -> Result<NoteDraft<'static>> {
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
                self.render_text(&edit.text, is_markdown(edit.content_type.as_deref()))
                    .await?
            }
        };
        // A quote stays what it was (an edit cannot change it, as on Mastodon).
        let quote_row = self.store.quote_row(old.id).await?;
        let quoted = match quote_row.as_ref().and_then(|r| r.quoted_status_id) {
            Some(q) => self.store.status(q).await?,
            None => None,
        };
        let html = match &quoted {
            Some(q) if edit.client.is_none() => crate::quotes::quote_inline_html(&html, q),
            _ => html,
        };
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
        let parts = NoteParts {
            mentioned: &mentioned,
            tags: &tags,
            to: &to,
            cc: &cc,
            in_reply_to: parent_uri.as_deref(),
        };
        let mut note = as2::note_document(&self.urls, &new, actor, &parts);
        self.add_emoji_tags(&mut note, &[&new.content, &new.spoiler_text])
            .await?;
        match &edit.client {
            Some(c) => apply_client_object(&mut note, c),
            // A post of another type edited through the Mastodon API keeps its type.
            None if old.object_type != "Note" => {
                note["type"] = Value::String(old.object_type.clone());
            }
            None => {}
        }
        // An edit keeps the poll (and its votes).
        if let Some(p) = self.store.poll(old.id).await? {
            as2::apply_poll(&mut note, &p, now);
        }
        if let Some(r) = &quote_row {
            let policy = r
                .policy
                .as_deref()
                .and_then(crate::quotes::QuotePolicy::parse)
                .unwrap_or(crate::quotes::QuotePolicy::Nobody);
            let quote = r.quoted_uri.as_deref().map(|u| {
                let auth = r
                    .authorization_uri
                    .clone()
                    .filter(|_| r.quote_state.as_deref() == Some("accepted"));
                (u, auth)
            });
            as2::apply_quote(&mut note, actor, policy, quote);
        }
        if edit.client.is_none() && is_markdown(edit.content_type.as_deref()) {
            as2::apply_source(&mut note, &edit.text, content::MARKDOWN);
        }
        Ok(NoteDraft {
            status: new,
            parent: None,
            mentioned,
            hidden: &[],
            tags,
            to,
            cc,
            note,
            hidden_inboxes: Vec::new(),
            poll: None,
            quote: None,
            policy: crate::quotes::QuotePolicy::Nobody,
        })
    }

    async fn delete_note(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.status_row(status_id).await?;
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
        let audience = Audience {
            to: &to,
            cc: &cc,
            hidden_inboxes: &hidden_inboxes,
        };
        let tombstone = as2::tombstone(&status.uri);
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        changes.events(self.delete_status_rows(&mut tx, &status, now).await?);
        changes.all_accounts(); // rebloggers' counters changed too
        let activity_id = format!("{}#delete", status.uri);
        let doc = audience.activity(&activity_id, Verb::Delete, actor, tombstone, now);
        self.record_document_to(&mut tx, actor, doc, &audience, now)
            .await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::status(status_id, true))
    }

    async fn follow(
        &self,
        actor: &AccountRow,
        target_id: Id,
        reblogs: Option<bool>,
        notify: Option<bool>,
    ) -> Result<Outcome> {
        let target = self.account_row(target_id).await?;
        if target.id == actor.id {
            return Err(EngineError::forbidden("You cannot follow yourself"));
        }
        if self.store.blocked_either_way(actor.id, target.id).await? {
            return Err(EngineError::forbidden("This action is not allowed"));
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
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
            self.commit(tx, changes).await?;
            return Ok(Outcome::default());
        }
        let uri = format!("{}#follows/{}", actor.uri, self.new_id());
        let row = NewRelation {
            flag_a: reblogs.unwrap_or(true),
            flag_b: notify.unwrap_or(false),
            ..self.relation_row(actor.id, target.id, &uri, now)
        };
        let rel = if target.locked || !target.is_local() {
            Relation::FollowRequest
        } else {
            Relation::Follow
        };
        if !tx.insert_relation(rel, &row).await? {
            self.commit(tx, changes).await?;
            return Ok(Outcome::default());
        }
        changes.events([crate::accounts::relationship_event(actor.id, target.id)]);
        changes.accounts(&[actor.id, target.id]);
        if rel == Relation::Follow {
            tx.bump_account_counter(actor.id, AccountCounter::Following, 1)
                .await?;
            tx.bump_account_counter(target.id, AccountCounter::Followers, 1)
                .await?;
            changes.events(
                self.notify(&mut tx, target.id, actor.id, "follow", None, now)
                    .await?,
            );
        } else if target.is_local() {
            changes.events(
                self.notify(&mut tx, target.id, actor.id, "follow_request", None, now)
                    .await?,
            );
        }
        let to = [target.uri.clone()];
        let follow = Outgoing::to(Verb::Follow, &uri, json!(target.uri), &to);
        self.record_activity(&mut tx, actor, follow, now).await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    async fn undo_follow(&self, actor: &AccountRow, target_id: Id) -> Result<Outcome> {
        let target = self.account_row(target_id).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        let follow_uri = match self.end_follow(&mut tx, actor.id, target.id).await? {
            Some(uri) => uri,
            None => match self
                .end_follow_request(&mut tx, actor.id, target.id)
                .await?
            {
                Some(uri) => uri,
                None => {
                    self.commit(tx, changes).await?;
                    return Ok(Outcome::default());
                }
            },
        };
        let to = [target.uri.clone()];
        let (undo_id, object) = undo_of("Follow", &follow_uri, &actor.uri, &target.uri);
        let undo = Outgoing::to(Verb::Undo, &undo_id, object, &to);
        self.record_activity(&mut tx, actor, undo, now).await?;
        changes.events([crate::accounts::relationship_event(actor.id, target.id)]);
        changes.accounts(&[actor.id, target.id]);
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    /// Accepts or rejects a pending follow request addressed to `actor`.
    async fn answer_follow(
        &self,
        actor: &AccountRow,
        follower_id: Id,
        accept: bool,
    ) -> Result<Outcome> {
        let follower = self.account_row(follower_id).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        // The follow keeps the request's options (boosts shown, notified of posts).
        let options = tx.follow_request_options(follower.id, actor.id).await?;
        let Some(follow_uri) = self
            .end_follow_request(&mut tx, follower.id, actor.id)
            .await?
        else {
            return Err(EngineError::NotFound);
        };
        let mut changes = Changes::at(now);
        changes.events([crate::accounts::relationship_event(actor.id, follower.id)]);
        changes.accounts(&[actor.id, follower.id]);
        if accept {
            self.add_follow(&mut tx, follower.id, actor.id, &follow_uri, now)
                .await?;
            if let Some((reblogs, notify)) = options {
                tx.update_follow_options(follower.id, actor.id, reblogs, notify)
                    .await?;
            }
            changes.events(
                self.notify(&mut tx, actor.id, follower.id, "follow", None, now)
                    .await?,
            );
        }
        self.record_follow_answer(&mut tx, actor, &follower, &follow_uri, accept, now)
            .await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    /// Ends `follower_id`'s follow of `actor`; a remote follower is told with a
    /// `Reject` of its Follow (a local one needs no message). Nothing changes when it
    /// did not follow.
    async fn remove_follower(&self, actor: &AccountRow, follower_id: Id) -> Result<Outcome> {
        let follower = self.account_row(follower_id).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        let Some(follow_uri) = self.end_follow(&mut tx, follower.id, actor.id).await? else {
            self.commit(tx, changes).await?;
            return Ok(Outcome::default());
        };
        if !follower.is_local() {
            self.record_follow_answer(&mut tx, actor, &follower, &follow_uri, false, now)
                .await?;
        }
        changes.events([crate::accounts::relationship_event(actor.id, follower.id)]);
        changes.accounts(&[actor.id, follower.id]);
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    /// Records (and queues) `target`'s Accept or Reject of `follower`'s Follow.
    pub(crate) async fn record_follow_answer(
        &self,
        tx: &mut WriteTx,
        target: &AccountRow,
        follower: &AccountRow,
        follow_uri: &str,
        accept: bool,
        now: i64,
    ) -> Result<()> {
        let verb = if accept { Verb::Accept } else { Verb::Reject };
        let object = object_ref("Follow", follow_uri, &follower.uri, &target.uri);
        let id = format!(
            "{}#{}/{}",
            target.uri,
            verb.as_str().to_lowercase(),
            self.new_id()
        );
        let to = [follower.uri.clone()];
        self.record_activity(tx, target, Outgoing::to(verb, &id, object, &to), now)
            .await
    }

    async fn like(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.visible_status(Some(actor.id), status_id).await?;
        let status = self.original_of(status).await?;
        let author = self.account_row(status.account_id).await?;
        let now = sluice_model::id::now_millis();
        let uri = format!("{}#likes/{}", actor.uri, self.new_id());
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        let added = self
            .add_favourite(&mut tx, &mut changes, actor, &status, Some(&author), &uri)
            .await?;
        if added {
            let to = [author.uri.clone()];
            let like = Outgoing::to(Verb::Like, &uri, json!(status.uri), &to);
            self.record_activity(&mut tx, actor, like, now).await?;
        }
        self.commit(tx, changes).await?;
        Ok(Outcome::status(status.id, added))
    }

    async fn undo_like(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.status_row(status_id).await?;
        let status = self.original_of(status).await?;
        let author_uri = self
            .store
            .account(status.account_id)
            .await?
            .map(|a| a.uri)
            .unwrap_or_default();
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let changes = Changes::at(now);
        let removed = self.remove_favourite(&mut tx, actor.id, &status).await?;
        if let Some(like_uri) = &removed {
            let (undo_id, object) = undo_of("Like", like_uri, &actor.uri, &status.uri);
            let to = [author_uri];
            let undo = Outgoing::to(Verb::Undo, &undo_id, object, &to);
            self.record_activity(&mut tx, actor, undo, now).await?;
        }
        self.commit(tx, changes).await?;
        Ok(Outcome::status(status.id, removed.is_some()))
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
            return Ok(Outcome::status(existing.id, false));
        }
        let visibility = if own_private {
            Visibility::Private
        } else {
            visibility
        };
        let now = sluice_model::id::now_millis();
        let id = self.ids.next_at(now);
        let uri = format!("{}/activity", self.urls.status(&actor.username, id));
        let author = self.account_row(status.account_id).await?;
        let (to, mut cc) = visibility.addressing(&actor.followers_url, &[]);
        cc.push(author.uri.clone());
        let url = self.urls.status_page(&actor.username, id);
        let reblog = reblog_row(actor, &status, id, uri.clone(), url, visibility, now);
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        self.add_reblog(&mut tx, &mut changes, actor, &reblog, Some(&author))
            .await?;
        let announce = Outgoing {
            verb: Verb::Announce,
            id: &uri,
            object: json!(status.uri),
            to: &to,
            cc: &cc,
        };
        self.record_activity(&mut tx, actor, announce, now).await?;
        self.commit(tx, changes).await?;
        Ok(Outcome {
            status: Some(id),
            row: Some(reblog),
            changed: true,
            ..Default::default()
        })
    }

    async fn undo_announce(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.status_row(status_id).await?;
        let status = self.original_of(status).await?;
        let Some(reblog) = self.store.reblog_by(actor.id, status.id).await? else {
            return Ok(Outcome::status(status.id, false));
        };
        let now = sluice_model::id::now_millis();
        let vis = Visibility::parse(&reblog.visibility).unwrap_or(Visibility::Public);
        let (to, cc) = vis.addressing(&actor.followers_url, &[]);
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        self.remove_reblog(&mut tx, &mut changes, actor, &reblog)
            .await?;
        tx.delete_notifications_about(actor.id, "reblog", Some(status.id), status.account_id)
            .await?;
        let (undo_id, object) = undo_of("Announce", &reblog.uri, &actor.uri, &status.uri);
        let undo = Outgoing {
            verb: Verb::Undo,
            id: &undo_id,
            object,
            to: &to,
            cc: &cc,
        };
        self.record_activity(&mut tx, actor, undo, now).await?;
        self.commit(tx, changes).await?;
        Ok(Outcome::status(status.id, true))
    }

    async fn block(&self, actor: &AccountRow, target_id: Id) -> Result<Outcome> {
        let target = self.account_row(target_id).await?;
        if target.id == actor.id {
            return Err(EngineError::forbidden("You cannot block yourself"));
        }
        let now = sluice_model::id::now_millis();
        let uri = format!("{}#blocks/{}", actor.uri, self.new_id());
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        let row = NewRelation {
            flag_a: false,
            ..self.relation_row(actor.id, target.id, &uri, now)
        };
        if !tx.insert_relation(Relation::Block, &row).await? {
            self.commit(tx, changes).await?;
            return Ok(Outcome::default());
        }
        // A block ends follows in both directions and pending requests. A remote
        // blocked actor is told only that: their follow is rejected and ours undone
        // (the Block itself is not sent unless `send_blocks`).
        let to = [target.uri.clone()];
        for (a, b) in [(actor.id, target.id), (target.id, actor.id)] {
            let follow_uri = self.sever(&mut tx, a, b).await?;
            if target.is_local() {
                continue;
            }
            if let Some(follow_uri) = follow_uri {
                let (verb, id, object) = if a == target.id {
                    (
                        Verb::Reject,
                        format!("{}#rejects/{}", actor.uri, self.new_id()),
                        object_ref("Follow", &follow_uri, &target.uri, &actor.uri),
                    )
                } else {
                    let (id, object) = undo_of("Follow", &follow_uri, &actor.uri, &target.uri);
                    (Verb::Undo, id, object)
                };
                let answer = Outgoing::to(verb, &id, object, &to);
                self.record_activity(&mut tx, actor, answer, now).await?;
            }
        }
        let block = Outgoing::to(Verb::Block, &uri, json!(target.uri), &to);
        self.record_activity(&mut tx, actor, block, now).await?;
        changes.events([crate::accounts::relationship_event(actor.id, target.id)]);
        changes.accounts(&[actor.id, target.id]);
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    async fn undo_block(&self, actor: &AccountRow, target_id: Id) -> Result<Outcome> {
        let target = self.account_row(target_id).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        let Some(block_uri) = tx
            .delete_relation(Relation::Block, actor.id, target.id)
            .await?
        else {
            self.commit(tx, changes).await?;
            return Ok(Outcome::default());
        };
        let to = [target.uri.clone()];
        let (undo_id, object) = undo_of("Block", &block_uri, &actor.uri, &target.uri);
        let undo = Outgoing::to(Verb::Undo, &undo_id, object, &to);
        self.record_activity(&mut tx, actor, undo, now).await?;
        changes.events([crate::accounts::relationship_event(actor.id, target.id)]);
        self.commit(tx, changes).await?;
        Ok(Outcome::changed())
    }

    /// Pins one of the actor's public or unlisted posts, at most [`MAX_PINS`] of
    /// them, and tells followers with an `Add` to the featured collection (as
    /// Mastodon). Pinning a pinned post changes nothing and is not an error.
    async fn pin(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.visible_status(Some(actor.id), status_id).await?;
        check_pinnable(actor, &status)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let changed = match tx.pin(actor.id, status.id, now, MAX_PINS).await? {
            PinOutcome::Pinned => true,
            PinOutcome::AlreadyPinned => false,
            PinOutcome::LimitReached => {
                return Err(EngineError::invalid(
                    "Validation failed: You have already pinned the maximum number of posts",
                ));
            }
        };
        if changed {
            let id = format!("{}#pins/{}", actor.uri, self.new_id());
            self.record_featured_change(&mut tx, actor, Verb::Add, &id, &status, now)
                .await?;
        }
        self.commit(tx, Changes::at(now)).await?;
        Ok(Outcome::status(status.id, changed))
    }

    /// Unpins a post and tells followers with a `Remove`; a post that was not pinned
    /// is left as it is.
    async fn unpin(&self, actor: &AccountRow, status_id: Id) -> Result<Outcome> {
        let status = self.visible_status(Some(actor.id), status_id).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let changed = tx.unpin(actor.id, status.id).await?;
        if changed {
            let id = format!("{}#pins/{}/remove", actor.uri, self.new_id());
            self.record_featured_change(&mut tx, actor, Verb::Remove, &id, &status, now)
                .await?;
        }
        self.commit(tx, Changes::at(now)).await?;
        // A boost is never pinned; the outcome is what it boosts, as for a Like.
        Ok(Outcome::status(
            status.reblog_of_id.unwrap_or(status.id),
            changed,
        ))
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

    /// An account by id, or NotFound.
    pub(crate) async fn account_row(&self, id: Id) -> Result<AccountRow> {
        self.store.account(id).await?.ok_or(EngineError::NotFound)
    }

    /// A status by id, or NotFound.
    pub(crate) async fn status_row(&self, id: Id) -> Result<StatusRow> {
        self.store.status(id).await?.ok_or(EngineError::NotFound)
    }

    /// For a reblog, the status it reblogs; otherwise the status itself.
    pub(crate) async fn original_of(&self, status: StatusRow) -> Result<StatusRow> {
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
        status: &StatusRow,
        now: i64,
    ) -> Result<Vec<NewEvent>> {
        Ok(self
            .delete_statuses_rows(tx, std::slice::from_ref(status), now)
            .await?
            .events)
    }

    /// Removes statuses (of any authors) with a statement per table for them all:
    /// their reblogs by others (at most [`MAX_REBLOGS_DELETED`] in all), the counters
    /// they added to (their authors' and the rebloggers' statuses, the replies of the
    /// posts they answer, the reblogs of the posts they reblog, the quotes of the posts
    /// they quote), their media detached, a tombstone for each that is not a reblog, and
    /// a `delete` event for each status removed. The caller commits.
    pub(crate) async fn delete_statuses_rows(
        &self,
        tx: &mut WriteTx,
        statuses: &[StatusRow],
        now: i64,
    ) -> Result<DeletedStatuses> {
        let mut gone: std::collections::HashSet<Id> = statuses.iter().map(|s| s.id).collect();
        let originals: Vec<Id> = statuses
            .iter()
            .filter(|s| s.reblog_of_id.is_none())
            .map(|s| s.id)
            .collect();
        let reblogs: Vec<sluice_store::ReblogOf> = tx
            .reblogs_of(&originals, MAX_REBLOGS_DELETED)
            .await?
            .into_iter()
            .filter(|r| !gone.contains(&r.id))
            .collect();
        gone.extend(reblogs.iter().map(|r| r.id));
        let own: Vec<Id> = statuses.iter().map(|s| s.id).collect();
        let ids: Vec<Id> = own
            .iter()
            .copied()
            .chain(reblogs.iter().map(|r| r.id))
            .collect();
        // Counters of what stays.
        let authors = statuses
            .iter()
            .map(|s| s.account_id)
            .chain(reblogs.iter().map(|r| r.account_id));
        let mut accounts: Vec<Id> = authors.clone().collect();
        tx.bump_account_counters(
            AccountCounter::Statuses,
            &sluice_store::count_each(authors, -1),
        )
        .await?;
        let parents = statuses
            .iter()
            .filter_map(|s| s.in_reply_to_id)
            .filter(|p| !gone.contains(p));
        tx.bump_status_counters(
            StatusCounter::Replies,
            &sluice_store::count_each(parents, -1),
        )
        .await?;
        let reblogged = statuses
            .iter()
            .filter_map(|s| s.reblog_of_id)
            .filter(|o| !gone.contains(o));
        tx.bump_status_counters(
            StatusCounter::Reblogs,
            &sluice_store::count_each(reblogged, -1),
        )
        .await?;
        // A deleted quote no longer counts on the post it quoted.
        tx.quotes_deleted(&own).await?;
        tx.detach_media_of(&own, now).await?;
        tx.insert_tombstones_of(&own, now).await?;
        tx.delete_statuses(&ids).await?;
        let visibility: std::collections::HashMap<Id, &str> = statuses
            .iter()
            .map(|s| (s.id, s.visibility.as_str()))
            .collect();
        let mut events = Vec::with_capacity(ids.len());
        for r in &reblogs {
            events.push(NewEvent {
                kind: "delete".into(),
                account_id: Some(r.account_id),
                object_id: Some(r.id),
                data: json!({
                    "visibility": visibility.get(&r.original).copied().unwrap_or_default(),
                    "reblog_of": r.original,
                })
                .to_string(),
                ..Default::default()
            });
        }
        for s in statuses {
            let data = match s.reblog_of_id {
                Some(o) => json!({"visibility": s.visibility, "reblog_of": o}),
                None => json!({"visibility": s.visibility}),
            };
            events.push(NewEvent {
                kind: "delete".into(),
                account_id: Some(s.account_id),
                object_id: Some(s.id),
                data: data.to_string(),
                ..Default::default()
            });
        }
        accounts.sort_unstable();
        accounts.dedup();
        Ok(DeletedStatuses { events, accounts })
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
    /// the sender, or muted the thread of the status it is about. Returns its event.
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
        self.notify_row(tx, to, from, kind, status, None, None, now)
            .await
    }

    /// A `pleroma:emoji_reaction` notification: [`Engine::notify`] with its emoji.
    pub(crate) async fn notify_emoji(
        &self,
        tx: &mut WriteTx,
        to: Id,
        from: Id,
        status: Id,
        emoji: &str,
        now: i64,
    ) -> Result<Option<NewEvent>> {
        if tx.silences_notifications_from(to, from).await? {
            return Ok(None);
        }
        let kind = crate::reactions::NOTIFICATION_KIND;
        self.notify_row(tx, to, from, kind, Some(status), Some(emoji), None, now)
            .await
    }

    /// An `admin.report` notification about `report` to moderator `to`: never
    /// silenced (a moderator must hear of a report whoever filed it).
    pub(crate) async fn notify_report(
        &self,
        tx: &mut WriteTx,
        to: Id,
        from: Id,
        report: Id,
        now: i64,
    ) -> Result<Option<NewEvent>> {
        self.notify_row(
            tx,
            to,
            from,
            crate::reports::NOTIFICATION_KIND,
            None,
            None,
            Some(report),
            now,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn notify_row(
        &self,
        tx: &mut WriteTx,
        to: Id,
        from: Id,
        kind: &str,
        status: Option<Id>,
        emoji: Option<&str>,
        report: Option<Id>,
        now: i64,
    ) -> Result<Option<NewEvent>> {
        if let Some(status) = status
            && tx.thread_muted(to, status).await?
        {
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
            emoji: emoji.map(str::to_string),
            report_id: report,
            account_warning_id: None,
        })
        .await?;
        // Web Push: queued with the notification, for the subscriptions that want it.
        self.queue_pushes(tx, to, from, kind, id, now).await?;
        Ok(Some(NewEvent {
            kind: "notification".into(),
            account_id: Some(from),
            recipient_id: Some(to),
            object_id: Some(id),
            data: json!({"type": kind}).to_string(),
        }))
    }

    /// Stores an activity of `actor`'s and, for a local actor, queues its deliveries.
    pub(crate) async fn record_activity(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        a: Outgoing<'_>,
        now: i64,
    ) -> Result<()> {
        let audience = Audience {
            to: a.to,
            cc: a.cc,
            hidden_inboxes: &[],
        };
        let doc = audience.activity(a.id, a.verb, actor, a.object, now);
        self.record_document_to(tx, actor, doc, &audience, now)
            .await
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
        let audience = Audience {
            to,
            cc,
            hidden_inboxes: &[],
        };
        self.record_document_to(tx, actor, doc, &audience, now)
            .await
    }

    /// [`Engine::record_document`], also delivered to the audience's `hidden_inboxes`
    /// (the personal inboxes of `bto`/`bcc` recipients, whom the document does not
    /// name: a shared inbox could not tell whom it is for).
    pub(crate) async fn record_document_to(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        doc: Value,
        audience: &Audience<'_>,
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
            to_json: serde_json::to_string(audience.to).unwrap_or_default(),
            cc_json: serde_json::to_string(audience.cc).unwrap_or_default(),
            json: doc.to_string(),
            created_at: now,
        })
        .await?;
        if actor.is_local() && (!about_block || self.config.send_blocks) {
            self.queue_deliveries(tx, actor, activity_id, audience, now)
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
    async fn queue_deliveries(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        activity_id: Id,
        audience: &Audience<'_>,
        now: i64,
    ) -> Result<()> {
        let followers = self.urls.followers(&actor.username);
        let mut inboxes: Vec<String> = audience.hidden_inboxes.to_vec();
        let mut actors: Vec<&str> = Vec::new();
        for iri in audience.to.iter().chain(audience.cc) {
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
        // Nothing is delivered to a suspended domain (nor, in allow-list mode, to a
        // domain not allowed).
        let suspended = tx.suspended_domains().await?;
        let allowed = self.allowed_domains_in(tx).await?;
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
                    && allowed.as_ref().is_none_or(|list| {
                        list.iter().any(|d| sluice_store::host_in_domain(host, d))
                    })
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
}

impl Engine {
    /// The personal inboxes of a post's remote `bto`/`bcc` recipients: its updates and
    /// its delete reach them too, without naming them.
    pub(crate) async fn hidden_inboxes(&self, status_id: Id) -> Result<Vec<String>> {
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
/// A direct post must reach someone, and everyone it names: a handle that names no
/// known account (not found, even through WebFinger) would silently not get it.
pub(crate) fn check_direct_recipients(
    text: &str,
    mentioned: &[AccountRow],
    parent: Option<&StatusRow>,
    actor: &AccountRow,
    local_domain: &str,
) -> Result<()> {
    let unresolved: Vec<String> = content::scan(text)
        .mentions
        .into_iter()
        .take(MAX_MENTIONS)
        .filter(|m| {
            !mentioned.iter().any(|a| {
                a.username.eq_ignore_ascii_case(&m.username)
                    && match m.domain.as_deref() {
                        None => a.is_local(),
                        Some(d) if d.eq_ignore_ascii_case(local_domain) => a.is_local(),
                        Some(d) => a.domain.eq_ignore_ascii_case(d),
                    }
            })
        })
        .map(|m| match m.domain {
            Some(d) => format!("@{}@{d}", m.username),
            None => format!("@{}", m.username),
        })
        .collect();
    if !unresolved.is_empty() {
        return Err(EngineError::invalid(format!(
            "Validation failed: {} could not be found, so this direct post would not reach them",
            unresolved.join(", ")
        )));
    }
    let reaches_someone = mentioned.iter().any(|a| a.id != actor.id)
        || parent.is_some_and(|p| p.account_id != actor.id);
    if !reaches_someone {
        return Err(EngineError::invalid(
            "Validation failed: a direct post needs a recipient: mention the accounts it is for",
        ));
    }
    Ok(())
}

pub(crate) fn media_not_found(ids: &[Id]) -> EngineError {
    let ids: Vec<String> = ids.iter().map(Id::to_string).collect();
    EngineError::invalid(format!(
        "Validation failed: Media with IDs {} not found. Already attached to another post?",
        ids.join(", ")
    ))
}

/// A language tag as a post may carry it.
pub(crate) fn check_language(lang: Option<&str>) -> Result<()> {
    if let Some(lang) = lang
        && (lang.len() > 16 || !lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(EngineError::invalid(
            "Validation failed: language is not a language code",
        ));
    }
    Ok(())
}

/// Who an activity we send is addressed to, and the personal inboxes of the
/// recipients it does not name (`bto`/`bcc`).
pub(crate) struct Audience<'a> {
    pub to: &'a [String],
    pub cc: &'a [String],
    pub hidden_inboxes: &'a [String],
}

impl Audience<'_> {
    /// The activity document `id` of `actor`'s, about `object`, to this audience.
    pub(crate) fn activity(
        &self,
        id: &str,
        verb: Verb,
        actor: &AccountRow,
        object: Value,
        now: i64,
    ) -> Value {
        as2::activity(
            id,
            verb,
            &actor.uri,
            object,
            self.to,
            self.cc,
            Timestamp(now),
        )
    }
}

/// An activity we send, as [`Engine::record_activity`] stores it.
pub(crate) struct Outgoing<'a> {
    pub verb: Verb,
    pub id: &'a str,
    pub object: Value,
    pub to: &'a [String],
    pub cc: &'a [String],
}

impl<'a> Outgoing<'a> {
    /// An activity addressed to `to` only.
    pub(crate) fn to(verb: Verb, id: &'a str, object: Value, to: &'a [String]) -> Outgoing<'a> {
        Outgoing {
            verb,
            id,
            object,
            to,
            cc: &[],
        }
    }
}

/// A post checked and made ready to store (new or edited).
struct NoteDraft<'n> {
    status: StatusRow,
    parent: Option<StatusRow>,
    mentioned: Vec<AccountRow>,
    hidden: &'n [AccountRow],
    tags: Vec<String>,
    to: Vec<String>,
    cc: Vec<String>,
    /// The object we federate.
    note: Value,
    hidden_inboxes: Vec<String>,
    /// A new post's poll.
    poll: Option<sluice_store::PollRow>,
    /// What a new post quotes.
    quote: Option<crate::quotes::QuoteDraft>,
    /// Who may quote a new post (its visibility applied).
    policy: crate::quotes::QuotePolicy,
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

/// What [`Engine::delete_statuses_rows`] did that the commit must announce.
pub(crate) struct DeletedStatuses {
    /// A `delete` event per status removed (reblogs of them first).
    pub events: Vec<NewEvent>,
    /// The authors and rebloggers, whose counters changed.
    pub accounts: Vec<Id>,
}

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

impl Engine {
    /// The format a local post's text was written in (`text/plain` unless recorded).
    pub async fn content_type_of(&self, status: Id) -> Result<String> {
        Ok(self
            .store
            .content_type(status)
            .await?
            .unwrap_or_else(|| "text/plain".into()))
    }
}

/// Whether a post's `content_type` is Markdown.
fn is_markdown(content_type: Option<&str>) -> bool {
    content_type == Some(content::MARKDOWN)
}
