//! ActivityStreams 2.0 shapes Sluice emits. Every write becomes one of these activities
//! and is stored with its addressing; federation (issue 3) delivers the same JSON.
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
