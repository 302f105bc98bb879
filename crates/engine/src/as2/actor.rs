//! Actor documents: a local account (`Person`, or `Service` for a bot), the instance
//! actor (`Application`), and the `Update` that federates a profile change.

use serde_json::{Value, json};
use sluice_model::activity::Verb;
use sluice_model::{Timestamp, api};
use sluice_store::AccountRow;

use super::{activity, context};
use crate::urls::Urls;

/// Where an account's clients fetch remote objects through this server
/// (`endpoints.proxyUrl`).
pub const PROXY_PATH: &str = "/api/ap/proxy";

/// Where an account's clients upload media (`endpoints.uploadMedia`).
pub const UPLOAD_MEDIA_PATH: &str = "/api/ap/upload_media";

/// What a local account's actor document names besides its row, read by the caller.
pub struct LocalActor<'a> {
    /// The account's public key (PEM); None while the start-up repair has not made it
    /// yet: the document then has no `publicKey` (remote servers fetch the document
    /// again when they meet a key id they do not know).
    pub public_key_pem: Option<&'a str>,
    /// Its profile fields as shown (`value` HTML), published as `PropertyValue`s.
    pub fields: &'a [api::Field],
    /// The collections it made that anyone may read (`streams`).
    pub streams: &'a [String],
    /// The actor it moved to (`movedTo`), once it moved.
    pub moved_to: Option<&'a str>,
}

/// The actor document of a local account, with `@context`, as served at its id.
pub fn local_actor(urls: &Urls, a: &AccountRow, p: &LocalActor<'_>) -> Value {
    // A suspended account's document keeps only what servers need to recognize it (its
    // key, inbox and collections) and says `suspended: true`, as Mastodon 4's does.
    let suspended = a.suspended_at.is_some();
    let blanked;
    let a = if suspended {
        let mut b = a.clone();
        b.display_name.clear();
        b.note.clear();
        b.avatar_url.clear();
        b.header_url.clear();
        b.also_known_as = "[]".into();
        blanked = b;
        &blanked
    } else {
        a
    };
    let fields = if suspended { &[][..] } else { p.fields };
    let also_known_as: Vec<String> = serde_json::from_str(&a.also_known_as).unwrap_or_default();
    let (inbox, outbox, followers, following, featured) = (
        urls.inbox(&a.username),
        urls.outbox(&a.username),
        urls.followers(&a.username),
        urls.following(&a.username),
        urls.featured(&a.username),
    );
    let shared_inbox = urls.shared_inbox();
    let key_id = urls.key_id(&a.uri);
    let mut doc = actor(&ActorDoc {
        id: &a.uri,
        kind: if a.bot { "Service" } else { "Person" },
        preferred_username: &a.username,
        name: &a.display_name,
        summary: &a.note,
        url: &a.url,
        inbox: &inbox,
        outbox: &outbox,
        followers: &followers,
        following: &following,
        featured: &featured,
        shared_inbox: &shared_inbox,
        key: p.public_key_pem.map(|pem| (key_id.as_str(), pem)),
        manually_approves_followers: a.locked,
        discoverable: a.discoverable,
        indexable: a.indexable,
        published: Timestamp(a.created_at),
        avatar: (!a.avatar_url.is_empty()).then_some(a.avatar_url.as_str()),
        header: (!a.header_url.is_empty()).then_some(a.header_url.as_str()),
        also_known_as: &also_known_as,
        fields,
    });
    if suspended {
        doc["suspended"] = json!(true);
    }
    // ActivityPub C2S: what the account liked, and where its clients sign in and read
    // other servers' objects through this server (docs/c2s.md).
    doc["liked"] = json!(urls.liked(&a.username));
    // The hashtags it features (Mastodon's `featuredTags`).
    doc["featuredTags"] = json!(urls.featured_tags(&a.username));
    if !p.streams.is_empty() {
        doc["streams"] = json!(p.streams);
    }
    if let Some(to) = p.moved_to {
        doc["movedTo"] = json!(to);
    }
    if let Some(endpoints) = doc["endpoints"].as_object_mut() {
        let base = urls.base();
        endpoints.insert(
            "oauthAuthorizationEndpoint".into(),
            json!(format!("{base}/oauth/authorize")),
        );
        endpoints.insert(
            "oauthTokenEndpoint".into(),
            json!(format!("{base}/oauth/token")),
        );
        endpoints.insert("proxyUrl".into(), json!(format!("{base}{PROXY_PATH}")));
        endpoints.insert(
            "uploadMedia".into(),
            json!(format!("{base}{UPLOAD_MEDIA_PATH}")),
        );
    }
    doc
}

/// The instance actor (`/actor`): an `Application` that signs the server's own
/// fetches. `public_key_pem` and `published` are its key's (None and 0 while the key is
/// not made: no `publicKey` then).
pub fn instance_actor(urls: &Urls, public_key_pem: Option<&str>, published: i64) -> Value {
    let id = urls.instance_actor();
    let inbox = format!("{id}/inbox");
    let outbox = format!("{id}/outbox");
    let shared_inbox = urls.shared_inbox();
    let about = format!("{}/about", urls.base());
    let key_id = urls.key_id(&id);
    let mut doc = actor(&ActorDoc {
        id: &id,
        kind: "Application",
        preferred_username: urls.domain(),
        name: urls.domain(),
        summary: "",
        url: &about,
        inbox: &inbox,
        outbox: &outbox,
        followers: "",
        following: "",
        featured: "",
        shared_inbox: &shared_inbox,
        key: public_key_pem.map(|pem| (key_id.as_str(), pem)),
        manually_approves_followers: true,
        discoverable: false,
        indexable: false,
        published: Timestamp(published),
        avatar: None,
        header: None,
        also_known_as: &[],
        fields: &[],
    });
    if let Some(o) = doc.as_object_mut() {
        for empty in ["followers", "following", "featured"] {
            o.remove(empty);
        }
    }
    doc
}

/// The `Update` of a local account's actor document (`object`, as served), public, for
/// its followers, as Mastodon sends it; `now` makes its id.
pub fn actor_update(account: &AccountRow, mut object: Value, now: i64) -> Value {
    if let Some(o) = object.as_object_mut() {
        o.remove("@context");
    }
    let to = vec![sluice_model::visibility::PUBLIC.to_string()];
    let cc = vec![account.followers_url.clone()];
    activity(
        &format!("{}#updates/{now}", account.uri),
        Verb::Update,
        &account.uri,
        object,
        &to,
        &cc,
        Timestamp(now),
    )
}

/// The `Delete` of a local actor whose data is purged, for its followers' servers.
pub fn actor_delete(account: &AccountRow, now: i64) -> Value {
    let to = vec![sluice_model::visibility::PUBLIC.to_string()];
    let cc = vec![account.followers_url.clone()];
    activity(
        &format!("{}#delete/{now}", account.uri),
        Verb::Delete,
        &account.uri,
        json!(account.uri),
        &to,
        &cc,
        Timestamp(now),
    )
}

/// The fields of an actor document (Person, Service, Application) as we publish it.
#[derive(Debug, Clone)]
struct ActorDoc<'a> {
    id: &'a str,
    /// `Person`, `Service` (bots) or `Application` (the instance actor).
    kind: &'a str,
    preferred_username: &'a str,
    name: &'a str,
    /// Sanitized HTML.
    summary: &'a str,
    url: &'a str,
    inbox: &'a str,
    outbox: &'a str,
    followers: &'a str,
    following: &'a str,
    featured: &'a str,
    shared_inbox: &'a str,
    /// `(key id, public key PEM)`; no `publicKey` without it.
    key: Option<(&'a str, &'a str)>,
    manually_approves_followers: bool,
    discoverable: bool,
    indexable: bool,
    published: Timestamp,
    avatar: Option<&'a str>,
    header: Option<&'a str>,
    also_known_as: &'a [String],
    /// Profile fields, published as `PropertyValue` attachments (`value` HTML).
    fields: &'a [api::Field],
}

/// An actor document with `@context`, as served at the actor's id.
fn actor(a: &ActorDoc<'_>) -> Value {
    let mut doc = json!({
        "@context": actor_context(),
        "id": a.id,
        "type": a.kind,
        "preferredUsername": a.preferred_username,
        "name": a.name,
        "summary": a.summary,
        "url": a.url,
        "inbox": a.inbox,
        "outbox": a.outbox,
        "followers": a.followers,
        "following": a.following,
        "featured": a.featured,
        "endpoints": {"sharedInbox": a.shared_inbox},
        "manuallyApprovesFollowers": a.manually_approves_followers,
        "discoverable": a.discoverable,
        "indexable": a.indexable,
        "published": a.published.to_rfc3339(),
        "tag": [],
        "attachment": a.fields.iter().map(|f| json!({
            "type": "PropertyValue", "name": f.name, "value": f.value,
        })).collect::<Vec<_>>(),
    });
    if let Some((key_id, pem)) = a.key {
        doc["publicKey"] = json!({
            "id": key_id,
            "owner": a.id,
            "publicKeyPem": pem,
        });
    }
    if let Some(url) = a.avatar {
        doc["icon"] = json!({"type": "Image", "url": url});
    }
    if let Some(url) = a.header {
        doc["image"] = json!({"type": "Image", "url": url});
    }
    if !a.also_known_as.is_empty() {
        doc["alsoKnownAs"] = json!(a.also_known_as);
    }
    doc
}

/// [`context`] plus the terms actor documents use.
fn actor_context() -> Value {
    let mut c = context();
    if let Some(terms) = c.get_mut(2).and_then(Value::as_object_mut) {
        terms.insert(
            "featured".into(),
            json!({"@id": "toot:featured", "@type": "@id"}),
        );
        terms.insert(
            "featuredTags".into(),
            json!({"@id": "toot:featuredTags", "@type": "@id"}),
        );
        terms.insert(
            "alsoKnownAs".into(),
            json!({"@id": "as:alsoKnownAs", "@type": "@id"}),
        );
        terms.insert(
            "movedTo".into(),
            json!({"@id": "as:movedTo", "@type": "@id"}),
        );
        terms.insert("schema".into(), json!("http://schema.org#"));
        terms.insert("PropertyValue".into(), json!("schema:PropertyValue"));
        terms.insert("value".into(), json!("schema:value"));
    }
    c
}
