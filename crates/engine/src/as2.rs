//! Our rows as ActivityStreams documents, as the engine federates them: a post as its
//! Note (or other object type), and the small references an activity names its object
//! by (a Follow, a Like, an Undo's object). Actor documents and collections are the
//! federation crate's (`federation::local`), which the engine is handed
//! ([`crate::ActorDocuments`]).

use serde_json::{Value, json};
use sluice_model::Timestamp;
use sluice_model::activity as as2;
use sluice_model::media::Attachment;
use sluice_store::{AccountRow, StatusRow};

use crate::pipeline::ClientObject;
use crate::urls::Urls;

/// What a post's Note names besides its row.
pub struct NoteParts<'a> {
    /// Shown mentions (a `Mention` tag each).
    pub mentioned: &'a [AccountRow],
    /// Hashtags, without `#`.
    pub tags: &'a [String],
    pub to: &'a [String],
    pub cc: &'a [String],
    /// The IRI of the post it answers.
    pub in_reply_to: Option<&'a str>,
}

/// The ActivityStreams Note for a stored status.
pub fn note_document(urls: &Urls, s: &StatusRow, author: &AccountRow, p: &NoteParts<'_>) -> Value {
    let mentions: Vec<(String, String)> = p
        .mentioned
        .iter()
        .map(|a| {
            (
                a.uri.clone(),
                format!(
                    "@{}@{}",
                    a.username,
                    if a.is_local() {
                        urls.domain()
                    } else {
                        &a.domain
                    }
                ),
            )
        })
        .collect();
    let hashtags: Vec<(String, String)> = p.tags.iter().map(|t| (urls.tag(t), t.clone())).collect();
    let mut doc = as2::note(&as2::NoteDoc {
        id: &s.uri,
        url: &s.url,
        attributed_to: &author.uri,
        content: &s.content,
        summary: Some(&s.spoiler_text),
        sensitive: s.sensitive,
        in_reply_to: p.in_reply_to,
        published: Timestamp(s.created_at),
        updated: s.edited_at.map(Timestamp),
        to: p.to,
        cc: p.cc,
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

/// Gives the object we federate a client's type and properties (ActivityPub C2S).
pub(crate) fn apply_client_object(note: &mut Value, c: &ClientObject) {
    if let Some(doc) = note.as_object_mut() {
        doc.insert("type".into(), Value::String(c.object_type.clone()));
        for (k, v) in &c.properties {
            doc.insert(k.clone(), v.clone());
        }
    }
}

/// An activity named by its id, type, actor and object, as an Undo, Accept or Reject
/// names what it answers.
pub(crate) fn object_ref(kind: &str, id: &str, actor: &str, object: &str) -> Value {
    json!({"id": id, "type": kind, "actor": actor, "object": object})
}

/// The id and object of the Undo of `actor`'s activity `id` (of `kind`, about
/// `object`).
pub(crate) fn undo_of(kind: &str, id: &str, actor: &str, object: &str) -> (String, Value) {
    (format!("{id}/undo"), object_ref(kind, id, actor, object))
}
