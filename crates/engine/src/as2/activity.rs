//! Activities, and the references an activity names its object by.

use serde_json::{Value, json};
use sluice_model::Timestamp;
use sluice_model::activity::Verb;

use super::context;

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

/// What stands for a deleted object: a `Delete`'s object, or what its id answers
/// (with `@context` added by the caller that serves it).
pub fn tombstone(id: &str) -> Value {
    json!({"id": id, "type": "Tombstone"})
}
