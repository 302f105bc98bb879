//! Collections: the `OrderedCollection`s we serve and their pages, and the collections
//! a user makes through the ActivityPub client-to-server API.

use serde_json::{Value, json};
use sluice_model::Timestamp;
use sluice_store::CollectionRow;

use super::context;

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

/// An `OrderedCollection` that does not tell its size: only its id, and its first page
/// when the reader may page it.
pub fn ordered_collection_head(id: &str, first: Option<&str>) -> Value {
    let mut doc = json!({
        "@context": context(),
        "id": id,
        "type": "OrderedCollection",
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

/// The document of a collection a user made (without `@context` and without its
/// items, which are paged).
pub fn collection_document(c: &CollectionRow, owner_uri: &str, total: i64) -> Value {
    let to: Vec<String> = serde_json::from_str(&c.to_json).unwrap_or_default();
    let cc: Vec<String> = serde_json::from_str(&c.cc_json).unwrap_or_default();
    let mut doc = json!({
        "id": c.uri,
        "type": c.kind,
        "attributedTo": owner_uri,
        "totalItems": total,
        "to": to,
        "cc": cc,
        "published": Timestamp(c.created_at).to_rfc3339(),
        "updated": Timestamp(c.updated_at).to_rfc3339(),
    });
    if !c.name.is_empty() {
        doc["name"] = json!(c.name);
    }
    if !c.summary.is_empty() {
        doc["summary"] = json!(c.summary);
    }
    doc
}
