//! The ActivityPub client-to-server API (ActivityPub §6): what a local user's client
//! posts to `POST /users/:name/outbox` becomes the same pipeline activity the Mastodon
//! API makes, so a post made either way is the same post.
//!
//! - A bare object is wrapped in a `Create` (§6.2), its audience copied to it.
//! - The server assigns every id; an `actor` or `attributedTo` other than the token's
//!   owner is refused (403).
//! - Objects and actors named by IRI are found here or fetched (the polite, SSRF-safe
//!   fetcher); at most [`MAX_ADDRESSEES`] audience entries are resolved.
//! - `bto`/`bcc` recipients are delivered to and may see the post, but are neither
//!   stored in the document nor shown.
//! - Activity types with no effect here are stored and delivered as they are.

use serde_json::{Map, Value, json};
use sluice_engine::polls::NewPoll;
use sluice_engine::rows::{AccountRow, StatusRow};
use sluice_engine::{Activity, ClientObject, EngineError, NewNote, NoteEdit};
use sluice_model::Visibility;
use sluice_model::content::escape_html;
use sluice_model::media::Attachment;
use sluice_model::visibility::is_public_iri;

use crate::service::Federation;

/// Addressees (`to`, `cc`, `bto`, `bcc`, `audience`, Mention tags) resolved per
/// activity at most: each may be a fetch.
pub const MAX_ADDRESSEES: usize = sluice_engine::pipeline::MAX_MENTIONS;

/// The ActivityStreams activity types; any other type posted is an object to wrap in
/// a `Create`. (`Question` is both; a client posts it as a poll, an object.)
const ACTIVITY_TYPES: &[&str] = &[
    "Accept",
    "Add",
    "Announce",
    "Arrive",
    "Block",
    "Create",
    "Delete",
    "Dislike",
    "Flag",
    "Follow",
    "Ignore",
    "Invite",
    "Join",
    "Leave",
    "Like",
    "Listen",
    "Move",
    "Offer",
    "Read",
    "Reject",
    "Remove",
    "TentativeAccept",
    "TentativeReject",
    "Travel",
    "Undo",
    "Update",
    "View",
];

/// Object properties the server sets; a client's values for them are not kept.
const SERVER_PROPERTIES: &[&str] = &[
    "@context",
    "id",
    "type",
    "attributedTo",
    "published",
    "updated",
    "to",
    "cc",
    "bto",
    "bcc",
    "audience",
    "tag",
    "attachment",
    "url",
    "inReplyTo",
    "replies",
    "likes",
    "shares",
    "summary",
    "sensitive",
    "contentMap",
    // A poll's: made from the poll as stored (its options are read by `client_poll`).
    "oneOf",
    "anyOf",
    "endTime",
    "closed",
    "votersCount",
];

/// Why a client's activity was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum C2sError {
    /// 400: not an activity or object we can read.
    #[error("{0}")]
    BadRequest(String),
    /// 403: on someone else's behalf.
    #[error("{0}")]
    Forbidden(String),
    /// 404: an object or actor it names cannot be found.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<sluice_engine::rows::StoreError> for C2sError {
    fn from(e: sluice_engine::rows::StoreError) -> Self {
        C2sError::Engine(e.into())
    }
}

/// A client's object ready for the pipeline ([`Federation::prepare_object`]).
struct Prepared {
    client: ClientObject,
    /// Uploads the object attaches (by their object id or file URL).
    media_ids: Vec<sluice_model::Id>,
    in_reply_to: Option<sluice_model::Id>,
    sensitive: bool,
    summary: String,
}

/// A posted activity: the id of the activity now stored (the `Location` to answer).
#[derive(Debug, Clone)]
pub struct Posted {
    pub location: String,
}

/// The IRIs a client's object mentions (its `to` and `cc` but the public collection and
/// the author's followers, then its `Mention` tags) and its hashtags (lower case,
/// without `#`), each once.
fn mentions_and_tags(
    object: &Map<String, Value>,
    to: &[String],
    cc: &[String],
    followers: &str,
) -> (Vec<String>, Vec<String>) {
    let mut mention_iris: Vec<String> = to
        .iter()
        .chain(cc)
        .filter(|i| !is_public_iri(i) && *i != followers)
        .cloned()
        .collect();
    let mut tags: Vec<String> = Vec::new();
    if let Some(Value::Array(list)) = object.get("tag") {
        for t in list {
            match types(t).first().copied() {
                Some("Mention") => {
                    if let Some(href) = t.get("href").and_then(Value::as_str)
                        && !mention_iris.iter().any(|m| m == href)
                    {
                        mention_iris.push(href.to_string());
                    }
                }
                Some("Hashtag") => {
                    let name = t["name"].as_str().unwrap_or_default();
                    let name = name.trim_start_matches('#').to_lowercase();
                    if !name.is_empty() && !name.contains(',') && !tags.contains(&name) {
                        tags.push(name);
                    }
                }
                _ => {}
            }
        }
    }
    (mention_iris, tags)
}

/// The body of a client's POST as the activity it stands for, with its type: a bare
/// object is wrapped in a Create with the object's audience (§6.2.1); an activity
/// naming another actor than the outbox's owner is refused.
fn posted_activity(
    actor: &AccountRow,
    body: Value,
) -> Result<(String, Map<String, Value>), C2sError> {
    let Value::Object(mut doc) = body else {
        return Err(bad(
            "the body must be a JSON object: an activity or an object",
        ));
    };
    let kinds: Vec<String> = types(&Value::Object(doc.clone()))
        .into_iter()
        .map(String::from)
        .collect();
    let Some(kind) = kinds.first() else {
        return Err(bad("the activity or object has no type"));
    };
    if kind.len() > 64 || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == ':') {
        return Err(bad("the type is not an ActivityStreams type name"));
    }
    let is_activity = kinds.iter().any(|k| ACTIVITY_TYPES.contains(&k.as_str()));
    if !is_activity {
        let mut create = Map::new();
        create.insert("type".into(), json!("Create"));
        for key in ["to", "cc", "bto", "bcc", "audience"] {
            if let Some(v) = doc.get(key) {
                create.insert(key.into(), v.clone());
            }
        }
        create.insert("object".into(), Value::Object(doc));
        doc = create;
    }
    if let Some(a) = doc.get("actor")
        && iri(a) != Some(actor.uri.as_str())
    {
        return Err(C2sError::Forbidden(
            "the actor of the activity is not the owner of this outbox".into(),
        ));
    }
    let kind = types(&Value::Object(doc.clone()))
        .first()
        .map(|k| k.to_string())
        .unwrap_or_default();
    Ok((kind, doc))
}

/// The poll of a client's `Question`: the `name`s of its `oneOf` options (or `anyOf`,
/// several may be chosen), running until its `endTime`. None for any other object (or
/// a Question without options: an open question, a post).
fn client_poll(object: &Map<String, Value>) -> Result<Option<NewPoll>, C2sError> {
    if !types(&Value::Object(object.clone())).contains(&"Question") {
        return Ok(None);
    }
    let names = |key: &str| -> Vec<String> {
        match object.get(key) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|o| o.get("name").and_then(Value::as_str))
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        }
    };
    let (one, any) = (names("oneOf"), names("anyOf"));
    let (multiple, options) = if one.is_empty() {
        (true, any)
    } else {
        (false, one)
    };
    if options.is_empty() {
        return Ok(None);
    }
    let end = object
        .get("endTime")
        .and_then(Value::as_str)
        .and_then(sluice_model::Timestamp::parse_rfc3339)
        .ok_or_else(|| {
            C2sError::Engine(EngineError::invalid(
                "Validation failed: a Question's endTime is missing or not a date",
            ))
        })?;
    let now = sluice_model::id::now_millis();
    // Whole seconds, rounded up: a client that asks for the shortest length allowed
    // from its own clock is not refused for the milliseconds the request took.
    let expires_in = (end.0 - now + 999).div_euclid(1000);
    Ok(Some(NewPoll {
        options,
        expires_in,
        multiple,
        hide_totals: false,
    }))
}

fn bad(message: impl Into<String>) -> C2sError {
    C2sError::BadRequest(message.into())
}

/// The types of a document (`type` may be a string or an array).
fn types(v: &Value) -> Vec<&str> {
    match &v["type"] {
        Value::String(s) => vec![short(s)],
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(short).collect(),
        _ => Vec::new(),
    }
}

/// A type of the ActivityStreams vocabulary by full IRI or compact name is its short
/// name.
fn short(t: &str) -> &str {
    t.strip_prefix("https://www.w3.org/ns/activitystreams#")
        .or_else(|| t.strip_prefix("as:"))
        .unwrap_or(t)
}

/// The IRI a property names: a string, or an embedded object's `id`.
fn iri(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// The IRI of an activity's `object`.
fn object_iri(doc: &Map<String, Value>) -> Result<&str, C2sError> {
    doc.get("object")
        .and_then(iri)
        .ok_or_else(|| bad("the activity has no object"))
}

/// An object named by IRI in a collection: an http(s) URL of reasonable length.
fn check_object_iri(uri: &str) -> Result<(), C2sError> {
    let ok = uri.len() <= 2048
        && url::Url::parse(uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if ok {
        Ok(())
    } else {
        Err(bad(format!("{uri:.100} is not the URL of an object")))
    }
}

/// The IRIs of an audience property (a string or an array of strings or objects).
fn iris(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(iri).map(String::from).collect(),
        other => iri(other).map(String::from).into_iter().collect(),
    }
}

impl Federation {
    /// Applies an activity (or a bare object) a local user's client posted to their
    /// outbox.
    pub async fn client_post(
        &self,
        actor: &AccountRow,
        body: Value,
        application_id: Option<sluice_model::Id>,
    ) -> Result<Posted, C2sError> {
        let (kind, doc) = posted_activity(actor, body)?;
        match kind.as_str() {
            "Create" => self.client_create(actor, &doc, application_id).await,
            "Update" => self.client_update(actor, &doc).await,
            "Like" => {
                let status = self.object_status(actor, &doc).await?;
                self.submit(actor, Activity::Like { status: status.id })
                    .await?;
                self.location(actor, "Like", &status.uri).await
            }
            "Announce" => self.client_announce(actor, &doc).await,
            "Follow" | "Block" => self.client_follow_or_block(actor, &kind, &doc).await,
            "Delete" => self.client_delete(actor, &doc).await,
            "Undo" => self.client_undo(actor, &doc).await,
            "Add" | "Remove" => self.client_add_or_remove(actor, &kind, &doc).await,
            _ => self.client_other(actor, doc).await,
        }
    }

    async fn client_announce(
        &self,
        actor: &AccountRow,
        doc: &Map<String, Value>,
    ) -> Result<Posted, C2sError> {
        let status = self.object_status(actor, doc).await?;
        let to = iris(doc.get("to").unwrap_or(&Value::Null));
        let cc = iris(doc.get("cc").unwrap_or(&Value::Null));
        let visibility = if to.is_empty() && cc.is_empty() {
            Visibility::Public
        } else {
            Visibility::from_addressing(&to, &cc, &actor.followers_url)
        };
        let outcome = self
            .submit(
                actor,
                Activity::Announce {
                    status: status.id,
                    visibility,
                },
            )
            .await?;
        let wrapper = match outcome.status {
            Some(id) => self.engine.status(id).await?,
            None => None,
        };
        match wrapper {
            Some(w) => Ok(Posted { location: w.uri }),
            None => self.location(actor, "Announce", &status.uri).await,
        }
    }

    async fn client_follow_or_block(
        &self,
        actor: &AccountRow,
        kind: &str,
        doc: &Map<String, Value>,
    ) -> Result<Posted, C2sError> {
        let target = self.object_actor(doc).await?;
        if target.id == actor.id {
            return Err(C2sError::Engine(EngineError::invalid(
                "Validation failed: an account cannot follow or block itself",
            )));
        }
        let activity = if kind == "Follow" {
            Activity::Follow {
                target: target.id,
                reblogs: None,
                notify: None,
            }
        } else {
            Activity::Block { target: target.id }
        };
        self.submit(actor, activity).await?;
        self.location(actor, kind, &target.uri).await
    }

    async fn client_delete(
        &self,
        actor: &AccountRow,
        doc: &Map<String, Value>,
    ) -> Result<Posted, C2sError> {
        if let Some(c) = self.own_collection(actor, object_iri(doc)?).await? {
            let location = self.new_activity_uri(actor);
            self.engine.delete_collection(actor, &c, &location).await?;
            return Ok(Posted { location });
        }
        let status = self.own_status(actor, doc).await?;
        self.submit(actor, Activity::DeleteNote { status: status.id })
            .await?;
        self.location(actor, "Delete", &status.uri).await
    }

    /// Add/Remove: to or from the featured collection (pins), else a collection the
    /// user made.
    async fn client_add_or_remove(
        &self,
        actor: &AccountRow,
        kind: &str,
        doc: &Map<String, Value>,
    ) -> Result<Posted, C2sError> {
        let target = doc.get("target").and_then(iri).unwrap_or_default();
        if target != self.engine.urls.featured(&actor.username) {
            return self
                .client_collection_change(actor, doc, target, kind == "Add")
                .await;
        }
        let status = self.own_status(actor, doc).await?;
        let activity = if kind == "Add" {
            Activity::Pin { status: status.id }
        } else {
            Activity::Unpin { status: status.id }
        };
        self.submit(actor, activity).await?;
        self.location(actor, kind, &status.uri).await
    }

    async fn submit(
        &self,
        actor: &AccountRow,
        activity: Activity,
    ) -> Result<sluice_engine::Outcome, C2sError> {
        Ok(self.engine.submit(actor.id, activity).await?)
    }

    /// The id of the activity of `kind` about `object_uri` the pipeline just stored.
    async fn location(
        &self,
        actor: &AccountRow,
        kind: &str,
        object_uri: &str,
    ) -> Result<Posted, C2sError> {
        let stored = self
            .engine
            .latest_activity_about(actor.id, kind, object_uri)
            .await?;
        Ok(Posted {
            location: stored
                .map(|a| a.uri)
                .unwrap_or_else(|| object_uri.to_string()),
        })
    }

    /// A post the activity's `object` names: known here, or fetched.
    async fn object_status(
        &self,
        actor: &AccountRow,
        doc: &Map<String, Value>,
    ) -> Result<StatusRow, C2sError> {
        let uri = object_iri(doc)?;
        let status = self.status_by_iri(uri).await?;
        // A post the actor may not see is one it cannot know of.
        Ok(self
            .engine
            .visible_status(Some(actor.id), status.id)
            .await?)
    }

    async fn status_by_iri(&self, uri: &str) -> Result<StatusRow, C2sError> {
        if let Some(s) = self.engine.status_by_uri(uri).await? {
            return Ok(s);
        }
        if !uri.starts_with(self.engine.urls.base()) {
            self.backfill(uri, &mut crate::backfill::Budget::new())
                .await;
            if let Some(s) = self.engine.status_by_uri(uri).await? {
                return Ok(s);
            }
        }
        Err(C2sError::NotFound(format!(
            "{uri} is not a post found here"
        )))
    }

    /// One of the actor's own posts, named by the activity's `object`.
    async fn own_status(
        &self,
        actor: &AccountRow,
        doc: &Map<String, Value>,
    ) -> Result<StatusRow, C2sError> {
        let uri = object_iri(doc)?;
        match self.engine.status_by_uri(uri).await? {
            Some(s) if s.account_id == actor.id && s.reblog_of_id.is_none() => Ok(s),
            _ => Err(C2sError::NotFound(format!(
                "{uri} is not a post of this account"
            ))),
        }
    }

    /// The actor the activity's `object` names: local, known, or fetched.
    async fn object_actor(&self, doc: &Map<String, Value>) -> Result<AccountRow, C2sError> {
        let uri = object_iri(doc)?;
        self.target_actor(uri).await
    }

    async fn actor_by_iri(&self, uri: &str) -> Option<AccountRow> {
        if let Ok(Some(a)) = self.engine.account_by_uri(uri).await {
            return Some(a);
        }
        if uri.starts_with(self.engine.urls.base()) || url::Url::parse(uri).is_err() {
            return None;
        }
        self.resolve_actor(uri, false).await.ok()
    }

    /// `Undo` of the actor's earlier Like, Follow, Block or Announce: named by the
    /// activity's id, or embedded with its type and object.
    async fn client_undo(
        &self,
        actor: &AccountRow,
        doc: &Map<String, Value>,
    ) -> Result<Posted, C2sError> {
        let object = doc
            .get("object")
            .ok_or_else(|| bad("the Undo has no object"))?;
        let stored = match iri(object) {
            Some(uri) => self.engine.activity_by_uri(uri).await?,
            None => None,
        };
        let (kind, target) = match &stored {
            Some(a) if a.actor_id != actor.id => {
                return Err(C2sError::Forbidden(
                    "the activity to undo is someone else's".into(),
                ));
            }
            Some(a) => (a.kind.clone(), a.object_uri.clone()),
            None => {
                let kind = types(object).first().map(|k| k.to_string());
                let target = object.get("object").and_then(iri).map(String::from);
                match (kind, target) {
                    (Some(k), Some(t)) => (k, t),
                    _ => {
                        return Err(C2sError::NotFound(
                            "the activity to undo is not found here".into(),
                        ));
                    }
                }
            }
        };
        let activity = match kind.as_str() {
            "Like" => Activity::UndoLike {
                status: self.status_by_iri(&target).await?.id,
            },
            "Announce" => Activity::UndoAnnounce {
                status: self.status_by_iri(&target).await?.id,
            },
            "Follow" => Activity::UndoFollow {
                target: self.target_actor(&target).await?.id,
            },
            "Block" => Activity::UndoBlock {
                target: self.target_actor(&target).await?.id,
            },
            other => {
                return Err(C2sError::Engine(EngineError::invalid(format!(
                    "Validation failed: an {other} cannot be undone"
                ))));
            }
        };
        self.submit(actor, activity).await?;
        self.location(actor, "Undo", stored.as_ref().map_or(&target, |a| &a.uri))
            .await
    }

    async fn target_actor(&self, uri: &str) -> Result<AccountRow, C2sError> {
        self.actor_by_iri(uri)
            .await
            .ok_or_else(|| C2sError::NotFound(format!("{uri} is not an actor found here")))
    }

    /// A `Create`: the object becomes a post of the actor, whatever its type.
    async fn client_create(
        &self,
        actor: &AccountRow,
        doc: &Map<String, Value>,
        application_id: Option<sluice_model::Id>,
    ) -> Result<Posted, C2sError> {
        let Some(Value::Object(object)) = doc.get("object") else {
            return Err(bad("a Create needs its object embedded"));
        };
        if let Some(a) = object.get("attributedTo")
            && iri(a) != Some(actor.uri.as_str())
        {
            return Err(C2sError::Forbidden(
                "the object is attributed to someone other than the owner of this outbox".into(),
            ));
        }
        let collection_kind = types(&Value::Object(object.clone()))
            .into_iter()
            .find(|t| matches!(*t, "Collection" | "OrderedCollection"))
            .map(String::from);
        // The audience: the activity's and the object's, merged (§6.2).
        let audience = |key: &str| -> Vec<String> {
            let mut all = iris(doc.get(key).unwrap_or(&Value::Null));
            for i in iris(object.get(key).unwrap_or(&Value::Null)) {
                if !all.contains(&i) {
                    all.push(i);
                }
            }
            all
        };
        let to = audience("to");
        let mut cc = audience("cc");
        for a in audience("audience") {
            if !cc.contains(&a) && !to.contains(&a) {
                cc.push(a);
            }
        }
        let hidden: Vec<String> = [audience("bto"), audience("bcc")]
            .concat()
            .into_iter()
            .filter(|i| !to.contains(i) && !cc.contains(i))
            .collect();
        if let Some(kind) = collection_kind {
            return self
                .client_create_collection(actor, object, kind, to, cc)
                .await;
        }
        let poll = client_poll(object)?;
        let prepared = self.prepare_object(actor, object, to, cc, hidden).await?;
        let note = NewNote {
            text: String::new(),
            in_reply_to: prepared.in_reply_to,
            sensitive: prepared.sensitive,
            spoiler_text: prepared.summary,
            visibility: None,
            language: None,
            application_id,
            idempotency_key: None,
            client: Some(Box::new(prepared.client)),
            media_ids: prepared.media_ids,
            poll,
            ..Default::default()
        };
        let outcome = self.submit(actor, Activity::CreateNote(note)).await?;
        let status = match outcome.status {
            Some(id) => self.engine.status(id).await?,
            None => None,
        }
        .ok_or(EngineError::NotFound)?;
        Ok(Posted {
            location: format!("{}/activity", status.uri),
        })
    }

    /// An `Update` of one of the actor's posts (§6.3.1): each property given replaces
    /// the post's, `null` removes it; the audience, ids and type stay.
    async fn client_update(
        &self,
        actor: &AccountRow,
        doc: &Map<String, Value>,
    ) -> Result<Posted, C2sError> {
        let Some(Value::Object(patch)) = doc.get("object") else {
            return Err(bad("an Update needs its object embedded, with its id"));
        };
        let status = self.own_status(actor, doc).await?;
        let Some(Value::Object(mut object)) =
            crate::local::status_object(&self.engine, &status.uri).await?
        else {
            return Err(C2sError::NotFound(format!(
                "{} has no object to update",
                status.uri
            )));
        };
        for (k, v) in patch {
            if SERVER_PROPERTIES.contains(&k.as_str())
                && !matches!(k.as_str(), "summary" | "sensitive" | "tag" | "attachment")
            {
                continue;
            }
            if v.is_null() {
                object.remove(k);
            } else {
                object.insert(k.clone(), v.clone());
            }
        }
        let to = iris(object.get("to").unwrap_or(&Value::Null));
        let cc = iris(object.get("cc").unwrap_or(&Value::Null));
        let prepared = self
            .prepare_object(actor, &object, to, cc, Vec::new())
            .await?;
        let edit = NoteEdit {
            text: String::new(),
            sensitive: prepared.sensitive,
            spoiler_text: prepared.summary,
            language: None,
            client: Some(Box::new(prepared.client)),
            media_ids: Some(prepared.media_ids),
            content_type: None,
        };
        self.submit(
            actor,
            Activity::UpdateNote {
                status: status.id,
                edit,
            },
        )
        .await?;
        self.location(actor, "Update", &status.uri).await
    }

    /// A client object's `attachment`: uploads of the actor's (named by their object
    /// id, `…/media/:id`, or by their file URL) become media ids; other http(s) links
    /// are kept as attachments that link elsewhere. Each item is a URL string, a Link,
    /// or an object with `id` and/or `url`.
    async fn client_attachments(
        &self,
        actor: &AccountRow,
        list: Option<&Value>,
    ) -> Result<(Vec<sluice_model::Id>, Vec<Attachment>), C2sError> {
        let items: Vec<&Value> = match list {
            None | Some(Value::Null) => return Ok((Vec::new(), Vec::new())),
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v) => vec![v],
        };
        if items.len() > sluice_engine::media::MAX_ATTACHMENTS {
            return Err(C2sError::Engine(EngineError::invalid(format!(
                "Validation failed: A post can have at most {} media attachments",
                sluice_engine::media::MAX_ATTACHMENTS
            ))));
        }
        let object_prefix = format!("{}/media/", self.engine.urls.actor(&actor.username));
        let (mut ids, mut links) = (Vec::new(), Vec::new());
        for item in items {
            let id = item
                .as_str()
                .or_else(|| item.get("id").and_then(Value::as_str));
            let url = match item.get("url") {
                Some(Value::String(u)) => Some(u.as_str()),
                Some(Value::Object(l)) => l.get("href").and_then(Value::as_str),
                Some(Value::Array(a)) => a
                    .first()
                    .and_then(|l| l.as_str().or_else(|| l.get("href").and_then(Value::as_str))),
                _ => item.get("href").and_then(Value::as_str),
            }
            .or(id);
            if let Some(n) = id.and_then(|i| i.strip_prefix(&object_prefix)) {
                let n = sluice_model::id::parse_id(n)
                    .ok_or_else(|| C2sError::NotFound(format!("no media {n}")))?;
                ids.push(n);
                continue;
            }
            if let Some(name) = url.and_then(|u| self.engine.own_media_file(u))
                && let Some(m) = self.engine.media_by_file_name(name).await?
            {
                ids.push(m.id);
                continue;
            }
            let Some(url) = url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            else {
                return Err(bad(
                    "an attachment needs an http(s) url or the id of an upload",
                ));
            };
            let text = |k: &str| item.get(k).and_then(Value::as_str);
            let media_type = text("mediaType").unwrap_or_default();
            let as_type = types(item).first().copied().unwrap_or("Document");
            links.push(Attachment {
                id: self.engine.new_id().to_string(),
                kind: Attachment::kind_of(Some(media_type).filter(|t| !t.is_empty()), as_type)
                    .into(),
                media_type: media_type.chars().take(100).collect(),
                url: url.to_string(),
                description: text("name")
                    .unwrap_or_default()
                    .chars()
                    .take(sluice_model::media::MAX_DESCRIPTION_CHARS)
                    .collect(),
                width: item
                    .get("width")
                    .and_then(Value::as_u64)
                    .and_then(|w| u32::try_from(w).ok()),
                height: item
                    .get("height")
                    .and_then(Value::as_u64)
                    .and_then(|h| u32::try_from(h).ok()),
                focus: None,
                blurhash: None,
                remote: true,
            });
        }
        Ok((ids, links))
    }

    /// What the pipeline needs of a client's object: its type, sanitized content (and
    /// the Mastodon API's rendering of it), the accounts it addresses, tags and blind
    /// copies resolved within [`MAX_ADDRESSEES`], and its other properties.
    async fn prepare_object(
        &self,
        actor: &AccountRow,
        object: &Map<String, Value>,
        to: Vec<String>,
        cc: Vec<String>,
        hidden_iris: Vec<String>,
    ) -> Result<Prepared, C2sError> {
        let object_type = types(&Value::Object(object.clone()))
            .first()
            .map(|k| k.to_string())
            .ok_or_else(|| bad("the object has no type"))?;
        if object_type.len() > 64
            || !object_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':')
        {
            return Err(bad("the object's type is not an ActivityStreams type name"));
        }
        let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default();
        let content = sluice_engine::tasks::sanitize_html(text("content").to_string()).await;
        let name = text("name").trim().to_string();
        // Types the Mastodon API cannot show natively are shown as Mastodon shows
        // Articles: the title, the summary (an abstract, not a content warning), then
        // the content.
        let converted = !matches!(object_type.as_str(), "Note" | "Question");
        let summary = text("summary").trim().to_string();
        let mut html = content.clone();
        if converted {
            let mut head = String::new();
            if !name.is_empty() {
                head = format!("<p><strong>{}</strong></p>", escape_html(&name));
            }
            if !summary.is_empty() {
                head.push_str(&crate::inbox::summary_html(&summary).await);
            }
            html = head + &html;
        }

        // Who is addressed, tagged or blind-copied: accounts to resolve, bounded.
        let (mention_iris, tags) = mentions_and_tags(object, &to, &cc, &actor.followers_url);
        if mention_iris.len() + hidden_iris.len() > MAX_ADDRESSEES {
            return Err(C2sError::Engine(EngineError::invalid(format!(
                "Validation failed: at most {MAX_ADDRESSEES} accounts may be addressed"
            ))));
        }
        let (mentioned, hidden) = self.addressed_accounts(&mention_iris, &hidden_iris).await;
        let in_reply_to = match object.get("inReplyTo").and_then(iri) {
            Some(uri) => Some(self.status_by_iri(uri).await?.id),
            None => None,
        };
        let mut properties: Map<String, Value> = object
            .iter()
            .filter(|(k, _)| !SERVER_PROPERTIES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        properties.insert("content".into(), Value::String(content));
        if converted && !summary.is_empty() {
            properties.insert("summary".into(), Value::String(summary.clone()));
        }
        let (media_ids, links) = self
            .client_attachments(actor, object.get("attachment"))
            .await?;
        Ok(Prepared {
            media_ids,
            client: ClientObject {
                object_type,
                html,
                to,
                cc,
                mentioned,
                hidden,
                tags,
                properties,
                links,
            },
            in_reply_to,
            sensitive: object
                .get("sensitive")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            // A converted type's summary is shown in the text, not as a warning.
            summary: if converted { String::new() } else { summary },
        })
    }

    /// The local or known accounts behind the mentioned and the blind-copied IRIs,
    /// each once (an account both mentioned and blind-copied is mentioned).
    async fn addressed_accounts(
        &self,
        mention_iris: &[String],
        hidden_iris: &[String],
    ) -> (Vec<AccountRow>, Vec<AccountRow>) {
        let mut mentioned: Vec<AccountRow> = Vec::new();
        for i in mention_iris {
            if let Some(a) = self.actor_by_iri(i).await
                && !mentioned.iter().any(|m| m.id == a.id)
            {
                mentioned.push(a);
            }
        }
        let mut hidden: Vec<AccountRow> = Vec::new();
        for i in hidden_iris {
            if let Some(a) = self.actor_by_iri(i).await
                && !mentioned.iter().chain(&hidden).any(|m| m.id == a.id)
            {
                hidden.push(a);
            }
        }
        (mentioned, hidden)
    }

    /// A new id for an activity of `actor` (`/users/:name/activities/:id`).
    fn new_activity_uri(&self, actor: &AccountRow) -> String {
        self.engine
            .urls
            .activity(&actor.username, self.engine.ids.next())
    }

    /// One of the actor's collections by IRI.
    async fn own_collection(
        &self,
        actor: &AccountRow,
        uri: &str,
    ) -> Result<Option<sluice_engine::rows::CollectionRow>, C2sError> {
        Ok(self
            .engine
            .collection_by_uri(uri)
            .await?
            .filter(|c| c.account_id == actor.id))
    }

    /// A `Create` of a `Collection` or `OrderedCollection`: a collection of the actor,
    /// filled by later `Add`s (and by its `items`/`orderedItems`, given as IRIs).
    async fn client_create_collection(
        &self,
        actor: &AccountRow,
        object: &Map<String, Value>,
        kind: String,
        to: Vec<String>,
        cc: Vec<String>,
    ) -> Result<Posted, C2sError> {
        let items_key = if kind == "OrderedCollection" {
            "orderedItems"
        } else {
            "items"
        };
        let items: Vec<String> = iris(object.get(items_key).unwrap_or(&Value::Null));
        for i in &items {
            check_object_iri(i)?;
        }
        let text = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect::<String>()
        };
        let id = self.engine.ids.next();
        let uri = format!("{}/collections/{id}", actor.uri);
        let location = self.new_activity_uri(actor);
        self.engine
            .create_collection(
                actor,
                sluice_engine::collections::NewCollection {
                    id,
                    uri,
                    activity_uri: location.clone(),
                    kind,
                    name: text("name"),
                    summary: text("summary"),
                    to,
                    cc,
                    items,
                },
            )
            .await?;
        Ok(Posted { location })
    }

    /// `Add`/`Remove` of an object to one of the actor's own collections.
    async fn client_collection_change(
        &self,
        actor: &AccountRow,
        doc: &Map<String, Value>,
        target: &str,
        add: bool,
    ) -> Result<Posted, C2sError> {
        let Some(collection) = self.own_collection(actor, target).await? else {
            return Err(C2sError::NotFound(
                "the target is not a collection of this account".into(),
            ));
        };
        let object = object_iri(doc)?;
        check_object_iri(object)?;
        let location = self.new_activity_uri(actor);
        self.engine
            .collection_change(actor, &collection, object, add, &location)
            .await?;
        Ok(Posted { location })
    }

    /// An activity with no effect here: stored with a new id and delivered as it is
    /// (its `bto`/`bcc` removed).
    async fn client_other(
        &self,
        actor: &AccountRow,
        mut doc: Map<String, Value>,
    ) -> Result<Posted, C2sError> {
        let id = self.new_activity_uri(actor);
        doc.remove("bto");
        doc.remove("bcc");
        doc.insert("id".into(), Value::String(id.clone()));
        doc.insert("actor".into(), Value::String(actor.uri.clone()));
        doc.insert(
            "published".into(),
            json!(sluice_model::Timestamp(sluice_model::id::now_millis()).to_rfc3339()),
        );
        doc.insert("@context".into(), sluice_engine::as2::context());
        self.submit(
            actor,
            Activity::Other {
                document: Value::Object(doc),
            },
        )
        .await?;
        Ok(Posted { location: id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_and_types_read_every_shape() {
        let v = json!({"type": ["Note", "x:Extra"], "to": ["a", {"id": "b"}], "cc": "c"});
        assert_eq!(types(&v), vec!["Note", "x:Extra"]);
        let full = json!({"type": ["https://www.w3.org/ns/activitystreams#Article", "as:Page"]});
        assert_eq!(types(&full), vec!["Article", "Page"]);
        assert_eq!(iris(&v["to"]), vec!["a", "b"]);
        assert_eq!(iris(&v["cc"]), vec!["c"]);
        assert!(iris(&v["bcc"]).is_empty());
        assert_eq!(iri(&json!({"id": ""})), None);
    }
}
