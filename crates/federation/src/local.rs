//! Our own actors as other servers see them: signing keys, actor documents, the
//! instance actor, and the outbox / followers / following / featured collections.
//! What they read is gathered here; the documents are built by `sluice_engine::as2`.
//!
//! A local account's key pair is made with the account (`sluice_engine::actor_keys`);
//! documents only read it. Signing makes a key that is still missing (an account the
//! start-up repair has not reached yet); serving a document never does, so no request
//! from outside makes the server spend CPU on RSA generation.

use serde_json::{Value, json};
use sluice_engine::actor_keys::KeyPairPem;
use sluice_engine::as2;
use sluice_engine::rows::{AccountRow, KeyRow, Page, Side, StatusRow};
use sluice_engine::{Engine, EngineError, Result};
use sluice_model::Id;

use crate::keys::KeyPair;

/// The account id under which the instance actor's key is stored (it has no account
/// row: its document is built from the configuration).
pub const INSTANCE_ACTOR_ID: Id = sluice_engine::actor_keys::INSTANCE_ACTOR_ID;

/// Items per page of the outbox and of the followers / following collections.
pub const COLLECTION_PAGE_SIZE: i64 = 20;

/// The key an account signs with (made now if it is still missing).
pub async fn signing_key(engine: &Engine, account: &AccountRow) -> Result<KeyRow> {
    engine
        .ensure_local_key(account.id, &engine.urls.key_id(&account.uri))
        .await
}

/// The instance actor's key (made now if it is still missing).
pub async fn instance_key(engine: &Engine) -> Result<KeyRow> {
    engine
        .ensure_local_key(INSTANCE_ACTOR_ID, &instance_key_id(engine))
        .await
}

fn instance_key_id(engine: &Engine) -> String {
    engine.urls.key_id(&engine.urls.instance_actor())
}

/// A new RSA-2048 key pair as PEM: the engine's [`sluice_engine::EngineConfig`]
/// `make_key_pair` (CPU-heavy: called on the blocking pool).
pub fn make_key_pair() -> std::result::Result<KeyPairPem, String> {
    let pair = KeyPair::generate().map_err(|e| e.to_string())?;
    Ok(KeyPairPem {
        public: pair.public_key_pem(),
        private: pair.to_pem().map_err(|e| e.to_string())?,
    })
}

/// The actor document of a local account: its key read (never made here), its profile
/// fields and its public collections gathered for [`as2::local_actor`].
pub async fn actor_document(engine: &Engine, a: &AccountRow) -> Result<Value> {
    let key = engine.local_key(&engine.urls.key_id(&a.uri)).await?;
    let fields = engine.profile_fields(a);
    // Collections the user made that anyone may read.
    let streams: Vec<String> = engine
        .collections_of(a.id, 20)
        .await?
        .into_iter()
        .filter(|c| {
            [&c.to_json, &c.cc_json].iter().any(|j| {
                serde_json::from_str::<Vec<String>>(j)
                    .unwrap_or_default()
                    .iter()
                    .any(|i| sluice_model::visibility::is_public_iri(i))
            })
        })
        .map(|c| c.uri)
        .collect();
    let moved_to = match a.moved_to_account_id {
        Some(id) => engine.account(id).await?.map(|t| t.uri),
        None => None,
    };
    let mut doc = as2::local_actor(
        &engine.urls,
        a,
        &as2::LocalActor {
            public_key_pem: key.as_ref().map(|k| k.public_key_pem.as_str()),
            fields: &fields,
            streams: &streams,
            moved_to: moved_to.as_deref(),
        },
    );
    engine
        .add_emoji_tags(&mut doc, &[&a.display_name, &a.note])
        .await?;
    Ok(doc)
}

/// Our actor documents as the engine gets them ([`Engine::install_actor_documents`],
/// at start): a profile change queues the `Update` of its actor document in its own
/// transaction.
pub struct LocalActorDocuments;

impl sluice_engine::accounts::ActorDocuments for LocalActorDocuments {
    fn actor_document<'a>(
        &'a self,
        engine: &'a Engine,
        account: &'a AccountRow,
    ) -> sluice_engine::accounts::ActorDocumentFuture<'a> {
        Box::pin(actor_document(engine, account))
    }
}

pub use sluice_engine::as2::{PROXY_PATH, UPLOAD_MEDIA_PATH};

/// The posts an account liked, newest first: to its owner, paged; to others, the
/// collection without its items (as Mastodon keeps favourites private).
pub async fn liked(
    engine: &Engine,
    a: &AccountRow,
    q: CollectionQuery,
    owner: bool,
) -> Result<Value> {
    let id = engine.urls.liked(&a.username);
    if !owner {
        return Ok(as2::ordered_collection_head(&id, None));
    }
    if !q.page {
        return Ok(as2::ordered_collection(
            &id,
            engine.count_favourites(a.id).await?,
            Some(&page_url(&id, None)),
        ));
    }
    let listed = engine.favourites_page(a.id, q.page()).await?;
    let ids: Vec<Id> = listed.iter().map(|l| l.item_id).collect();
    let statuses = engine.statuses(&ids).await?;
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|i| statuses.iter().find(|s| s.id == *i))
        .map(|s| json!(s.uri))
        .collect();
    Ok(listed_page(&id, &q, &listed, items))
}

/// One page of a collection listed from a relation table (`rel_id` pages it), its
/// items already rendered.
fn listed_page(
    id: &str,
    q: &CollectionQuery,
    listed: &[sluice_engine::rows::ListedId],
    items: Vec<Value>,
) -> Value {
    let full = listed.len() as i64 == COLLECTION_PAGE_SIZE;
    let next = listed
        .last()
        .filter(|_| full)
        .map(|l| page_url(id, Some(("max_id", l.rel_id))));
    let this = page_url(id, q.max_id.map(|m| ("max_id", m)));
    as2::ordered_collection_page(&this, id, items, next.as_deref(), None)
}

/// The instance actor (`/actor`): an `Application` that signs the server's own fetches.
pub async fn instance_actor_document(engine: &Engine) -> Result<Value> {
    let key = engine.local_key(&instance_key_id(engine)).await?;
    Ok(as2::instance_actor(
        &engine.urls,
        key.as_ref().map(|k| k.public_key_pem.as_str()),
        key.as_ref().map_or(0, |k| k.created_at),
    ))
}

/// `?page=…&max_id=…` of a collection request: None for the collection itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct CollectionQuery {
    pub page: bool,
    pub max_id: Option<Id>,
    pub min_id: Option<Id>,
}

impl CollectionQuery {
    fn page(&self) -> Page {
        Page {
            max_id: self.max_id,
            min_id: self.min_id,
            since_id: None,
            limit: COLLECTION_PAGE_SIZE,
        }
    }
}

fn page_url(collection: &str, cursor: Option<(&str, Id)>) -> String {
    match cursor {
        None => format!("{collection}?page=true"),
        Some((k, id)) => format!("{collection}?page=true&{k}={id}"),
    }
}

/// The outbox of a local account: the collection, or one page of it. Its owner
/// (`owner`, an ActivityPub client) sees every activity the account made, and the
/// collection itself carries the newest page's items; others see the public and
/// unlisted posts and boosts.
pub async fn outbox(
    engine: &Engine,
    a: &AccountRow,
    q: CollectionQuery,
    owner: bool,
) -> Result<Value> {
    let id = engine.urls.outbox(&a.username);
    if !q.page {
        let total = engine.count_outbox(a.id, owner).await?;
        let mut doc = as2::ordered_collection(&id, total, Some(&page_url(&id, None)));
        doc["last"] = json!(page_url(&id, Some(("min_id", 0))));
        if owner {
            let items = engine.outbox_page(a.id, true, q.page()).await?;
            doc["orderedItems"] = json!(embedded(&items));
        }
        return Ok(doc);
    }
    let items = engine.outbox_page(a.id, owner, q.page()).await?;
    Ok(activity_page(&id, &q, &items))
}

/// One page of a collection of stored activities, linked by id to the next (older)
/// and previous (newer) ones.
fn activity_page(
    id: &str,
    q: &CollectionQuery,
    items: &[sluice_engine::rows::OutboxItem],
) -> Value {
    let next = items.last().map(|i| page_url(id, Some(("max_id", i.id))));
    let prev = items.first().map(|i| page_url(id, Some(("min_id", i.id))));
    let this = page_url(id, q.max_id.map(|m| ("max_id", m)));
    let docs = embedded(items);
    let full = docs.len() as i64 == COLLECTION_PAGE_SIZE;
    as2::ordered_collection_page(
        &this,
        id,
        docs,
        next.as_deref().filter(|_| full),
        prev.as_deref(),
    )
}

/// A local account's inbox, for its owner only (ActivityPub C2S): the collection with
/// the newest page's items, or one page.
pub async fn inbox(engine: &Engine, a: &AccountRow, q: CollectionQuery) -> Result<Value> {
    let id = engine.urls.inbox(&a.username);
    let items = engine.inbox_page(a.id, &a.uri, q.page()).await?;
    if !q.page {
        let mut doc = as2::ordered_collection_head(&id, Some(&page_url(&id, None)));
        doc["orderedItems"] = json!(embedded(&items));
        return Ok(doc);
    }
    Ok(activity_page(&id, &q, &items))
}

/// A collection a user made (C2S): the collection with its newest items, or one page.
pub async fn user_collection(
    engine: &Engine,
    owner: &AccountRow,
    c: &sluice_engine::rows::CollectionRow,
    q: CollectionQuery,
) -> Result<Value> {
    let items = engine.collection_items(c.id, q.page()).await?;
    let uris: Vec<Value> = items.iter().map(|i| json!(i.object_uri)).collect();
    if !q.page {
        let total = engine.count_collection_items(c.id).await?;
        let mut doc = as2::collection_document(c, &owner.uri, total);
        doc["@context"] = as2::context();
        doc["first"] = json!(page_url(&c.uri, None));
        let key = if c.kind == "OrderedCollection" {
            "orderedItems"
        } else {
            "items"
        };
        doc[key] = json!(uris);
        return Ok(doc);
    }
    let full = items.len() as i64 == COLLECTION_PAGE_SIZE;
    let next = items
        .last()
        .filter(|_| full)
        .map(|i| page_url(&c.uri, Some(("max_id", i.id))));
    let this = page_url(&c.uri, q.max_id.map(|m| ("max_id", m)));
    Ok(as2::ordered_collection_page(
        &this,
        &c.uri,
        uris,
        next.as_deref(),
        None,
    ))
}

/// Stored activities as a page's items: embedded, an activity carries no @context of
/// its own.
fn embedded(items: &[sluice_engine::rows::OutboxItem]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| serde_json::from_str::<Value>(&i.json).ok())
        .map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("@context");
            }
            v
        })
        .collect()
}

/// Followers or following of a local account. When the account hides its collections,
/// only the count is shown (as Mastodon does).
pub async fn relation_collection(
    engine: &Engine,
    a: &AccountRow,
    side: Side,
    q: CollectionQuery,
) -> Result<Value> {
    let (id, total) = match side {
        Side::Sources => (engine.urls.followers(&a.username), a.followers_count),
        Side::Targets => (engine.urls.following(&a.username), a.following_count),
    };
    if !q.page || a.hide_collections {
        let first = (!a.hide_collections).then(|| page_url(&id, None));
        return Ok(as2::ordered_collection(&id, total, first.as_deref()));
    }
    let listed = engine.follow_list(side, a.id, q.page()).await?;
    let ids: Vec<Id> = listed.iter().map(|l| l.item_id).collect();
    let accounts = engine.accounts(&ids).await?;
    let by_id: std::collections::HashMap<Id, &AccountRow> =
        accounts.iter().map(|a| (a.id, a)).collect();
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|i| by_id.get(i))
        .map(|a| json!(a.uri))
        .collect();
    let mut doc = listed_page(&id, &q, &listed, items);
    doc["totalItems"] = json!(total);
    Ok(doc)
}

/// The featured collection: the account's pinned public and unlisted posts, most
/// recently pinned first, embedded as the Notes we federated (as Mastodon serves it),
/// so a server reading it needs no fetch per post. One page: a local account has at
/// most [`MAX_PINS`](sluice_engine::pipeline::MAX_PINS).
pub async fn featured(engine: &Engine, a: &AccountRow) -> Result<Value> {
    let ids = engine
        .pinned_status_ids(a.id, sluice_engine::pipeline::MAX_PINS)
        .await?;
    let statuses = engine.statuses(&ids).await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in &ids {
        let Some(s) = statuses.iter().find(|s| s.id == *id) else {
            continue;
        };
        if s.reblog_of_id.is_some() || !matches!(s.visibility.as_str(), "public" | "unlisted") {
            continue;
        }
        if let Some(note) = federated_object(engine, &s.uri).await? {
            items.push(note);
        }
    }
    let total = items.len() as i64;
    let mut doc = as2::ordered_collection(&engine.urls.featured(&a.username), total, None);
    doc["orderedItems"] = json!(items);
    Ok(doc)
}

/// The collections a post's object names (`replies`, `likes`, `shares`), with the
/// counts as they are now: other servers backfill threads from `replies` and show
/// the counts from the others (as Mastodon's).
pub fn add_post_collections(doc: &mut Value, s: &StatusRow) {
    let Some(o) = doc.as_object_mut() else {
        return;
    };
    let replies = format!("{}/replies", s.uri);
    o.insert(
        "replies".into(),
        json!({
            "id": replies,
            "type": "OrderedCollection",
            "first": page_url(&replies, None),
        }),
    );
    let counted = |name: &str, total: i64| {
        let mut c = as2::ordered_collection(&format!("{}/{name}", s.uri), total, None);
        if let Some(c) = c.as_object_mut() {
            c.remove("@context");
        }
        c
    };
    o.insert("likes".into(), counted("likes", s.favourites_count));
    o.insert("shares".into(), counted("shares", s.reblogs_count));
}

/// Which collection of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostCollection {
    Replies,
    Likes,
    Shares,
}

/// A post's `replies` (its public and unlisted replies, local and remote, newest
/// first, paged), `likes` or `shares` (their counts: who liked and shared stays with
/// the accounts, as on Mastodon).
pub async fn post_collection(
    engine: &Engine,
    s: &StatusRow,
    which: PostCollection,
    q: CollectionQuery,
) -> Result<Value> {
    let (name, total) = match which {
        PostCollection::Replies => ("replies", None),
        PostCollection::Likes => ("likes", Some(s.favourites_count)),
        PostCollection::Shares => ("shares", Some(s.reblogs_count)),
    };
    let id = format!("{}/{name}", s.uri);
    if let Some(total) = total {
        return Ok(as2::ordered_collection(&id, total, None));
    }
    if !q.page {
        return Ok(as2::ordered_collection_head(
            &id,
            Some(&page_url(&id, None)),
        ));
    }
    let listed = engine.public_replies(s.id, q.page()).await?;
    let ids: Vec<Id> = listed.iter().map(|l| l.item_id).collect();
    let statuses = engine.statuses(&ids).await?;
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|i| statuses.iter().find(|s| s.id == *i))
        .map(|s| json!(s.uri))
        .collect();
    Ok(listed_page(&id, &q, &listed, items))
}

/// The Note we federated for a status (the object of its newest Create or Update).
pub async fn status_object(engine: &Engine, status_uri: &str) -> Result<Option<Value>> {
    let mut object = federated_object(engine, status_uri).await?;
    if let Some(o) = object.as_mut().and_then(Value::as_object_mut) {
        o.insert("@context".into(), as2::context());
    }
    Ok(object)
}

/// [`status_object`] without `@context`, to embed in another document.
async fn federated_object(engine: &Engine, status_uri: &str) -> Result<Option<Value>> {
    let Some(json) = engine.latest_object_activity(status_uri).await? else {
        return Ok(None);
    };
    let activity: Value = serde_json::from_str(&json)
        .map_err(|e| EngineError::Internal(format!("stored activity is not JSON: {e}")))?;
    Ok(activity.get("object").filter(|o| o.is_object()).cloned())
}
