//! ActivityStreams 2.0 shapes Sluice emits. Every write becomes one of these activities
//! and is stored with its addressing; federation delivers the same JSON.
//!
//! We emit only the ActivityStreams, security/v1 and Mastodon `toot:` contexts and do no
//! JSON-LD processing.

use serde_json::{Value, json};

use crate::Timestamp;

/// The activity types the pipeline handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Create,
    Update,
    Delete,
    Follow,
    Accept,
    Reject,
    Like,
    Announce,
    Block,
    Undo,
    /// Adding to a collection: pinning a post (to the actor's `featured`).
    Add,
    /// Removing from a collection: unpinning.
    Remove,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "Create",
            Verb::Update => "Update",
            Verb::Delete => "Delete",
            Verb::Follow => "Follow",
            Verb::Accept => "Accept",
            Verb::Reject => "Reject",
            Verb::Like => "Like",
            Verb::Announce => "Announce",
            Verb::Block => "Block",
            Verb::Undo => "Undo",
            Verb::Add => "Add",
            Verb::Remove => "Remove",
        }
    }
}

/// The `@context` of every document we emit.
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "toot": "http://joinmastodon.org/ns#",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable"
        }
    ])
}

/// An activity document. `object` is either an embedded object or an IRI string.
pub fn activity(
    id: &str,
    verb: Verb,
    actor: &str,
    object: Value,
    to: &[String],
    cc: &[String],
    published: Timestamp,
) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": verb.as_str(),
        "actor": actor,
        "published": published.to_rfc3339(),
        "to": to,
        "cc": cc,
        "object": object,
    })
}

/// The fields of a Note as we publish it.
#[derive(Debug, Clone)]
pub struct NoteDoc<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub attributed_to: &'a str,
    pub content: &'a str,
    pub summary: Option<&'a str>,
    pub sensitive: bool,
    pub in_reply_to: Option<&'a str>,
    pub published: Timestamp,
    pub updated: Option<Timestamp>,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub language: Option<&'a str>,
    /// `(href, name)` of mentioned actors.
    pub mentions: &'a [(String, String)],
    /// `(href, name)` of hashtags, name without `#`.
    pub hashtags: &'a [(String, String)],
}

pub fn note(n: &NoteDoc<'_>) -> Value {
    let mut tags: Vec<Value> = n
        .mentions
        .iter()
        .map(|(href, name)| json!({"type": "Mention", "href": href, "name": name}))
        .collect();
    tags.extend(
        n.hashtags.iter().map(
            |(href, name)| json!({"type": "Hashtag", "href": href, "name": format!("#{name}")}),
        ),
    );
    let mut doc = json!({
        "id": n.id,
        "type": "Note",
        "url": n.url,
        "attributedTo": n.attributed_to,
        "content": n.content,
        "summary": n.summary.filter(|s| !s.is_empty()),
        "sensitive": n.sensitive,
        "inReplyTo": n.in_reply_to,
        "published": n.published.to_rfc3339(),
        "to": n.to,
        "cc": n.cc,
        "tag": tags,
    });
    if let Some(updated) = n.updated {
        doc["updated"] = json!(updated.to_rfc3339());
    }
    if let Some(lang) = n.language {
        doc["contentMap"] = json!({ lang: n.content });
    }
    doc
}

/// The fields of an actor document (Person, Service, Application) as we publish it.
#[derive(Debug, Clone)]
pub struct ActorDoc<'a> {
    pub id: &'a str,
    /// `Person`, `Service` (bots) or `Application` (the instance actor).
    pub kind: &'a str,
    pub preferred_username: &'a str,
    pub name: &'a str,
    /// Sanitized HTML.
    pub summary: &'a str,
    pub url: &'a str,
    pub inbox: &'a str,
    pub outbox: &'a str,
    pub followers: &'a str,
    pub following: &'a str,
    pub featured: &'a str,
    pub shared_inbox: &'a str,
    pub key_id: &'a str,
    pub public_key_pem: &'a str,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub published: Timestamp,
    pub avatar: Option<&'a str>,
    pub header: Option<&'a str>,
    pub also_known_as: &'a [String],
    /// `(name, value HTML)` profile fields, published as `PropertyValue` attachments.
    pub fields: &'a [(String, String)],
}

/// An actor document with `@context`, as served at the actor's id.
pub fn actor(a: &ActorDoc<'_>) -> Value {
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
        "publicKey": {
            "id": a.key_id,
            "owner": a.id,
            "publicKeyPem": a.public_key_pem,
        },
        "tag": [],
        "attachment": a.fields.iter().map(|(name, value)| json!({
            "type": "PropertyValue", "name": name, "value": value,
        })).collect::<Vec<_>>(),
    });
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
            "alsoKnownAs".into(),
            json!({"@id": "as:alsoKnownAs", "@type": "@id"}),
        );
        terms.insert("schema".into(), json!("http://schema.org#"));
        terms.insert("PropertyValue".into(), json!("schema:PropertyValue"));
        terms.insert("value".into(), json!("schema:value"));
    }
    c
}

/// An `OrderedCollection` that only announces its size and first page.
pub fn ordered_collection(id: &str, total: i64, first: Option<&str>) -> Value {
    let mut doc = json!({
        "@context": context(),
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
    });
    if let Some(first) = first {
        doc["first"] = json!(first);
    }
    doc
}

/// One page of an `OrderedCollection`, newest first; `next` pages further back.
pub fn ordered_collection_page(
    id: &str,
    part_of: &str,
    items: Vec<Value>,
    next: Option<&str>,
    prev: Option<&str>,
) -> Value {
    let mut doc = json!({
        "@context": context(),
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items,
    });
    if let Some(next) = next {
        doc["next"] = json!(next);
    }
    if let Some(prev) = prev {
        doc["prev"] = json!(prev);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_in_create_has_addressing_and_tags() {
        let to = vec![crate::visibility::PUBLIC.to_string()];
        let cc = vec!["https://a.example/users/x/followers".to_string()];
        let mentions = vec![(
            "https://b.example/users/y".to_string(),
            "@y@b.example".to_string(),
        )];
        let tags = vec![(
            "https://a.example/tags/rust".to_string(),
            "rust".to_string(),
        )];
        let n = note(&NoteDoc {
            id: "https://a.example/users/x/statuses/1",
            url: "https://a.example/@x/1",
            attributed_to: "https://a.example/users/x",
            content: "<p>hi</p>",
            summary: Some(""),
            sensitive: false,
            in_reply_to: None,
            published: Timestamp(0),
            updated: None,
            to: &to,
            cc: &cc,
            language: Some("en"),
            mentions: &mentions,
            hashtags: &tags,
        });
        let a = activity(
            "https://a.example/a/1",
            Verb::Create,
            "https://a.example/users/x",
            n,
            &to,
            &cc,
            Timestamp(0),
        );
        assert_eq!(a["type"], "Create");
        assert_eq!(a["object"]["type"], "Note");
        assert_eq!(a["object"]["summary"], Value::Null);
        assert_eq!(a["object"]["tag"][0]["type"], "Mention");
        assert_eq!(a["object"]["tag"][1]["name"], "#rust");
        assert_eq!(a["object"]["contentMap"]["en"], "<p>hi</p>");
        assert_eq!(a["cc"][0], "https://a.example/users/x/followers");
    }
}
