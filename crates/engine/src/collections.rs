//! Collections a user makes through the ActivityPub client-to-server API (docs/c2s.md):
//! created, filled, emptied and deleted by its owner, each change an activity stored
//! and delivered to the collection's audience in the same transaction.

use serde_json::json;
use sluice_model::activity::Verb;
use sluice_model::{Id, Timestamp};
use sluice_store::{AccountRow, CollectionRow};

use crate::as2;
use crate::{Engine, EngineError, Result};

/// Collections one account may have.
pub const MAX_COLLECTIONS: i64 = 100;
/// Items one collection may hold.
pub const MAX_COLLECTION_ITEMS: i64 = 10_000;
/// Items a `Create` of a collection may bring along.
pub const MAX_INITIAL_ITEMS: usize = 500;

/// A collection to create, its id and addresses minted by the caller.
#[derive(Debug, Clone)]
pub struct NewCollection {
    pub id: Id,
    pub uri: String,
    /// The id of the `Create` that makes it.
    pub activity_uri: String,
    /// `Collection` or `OrderedCollection`.
    pub kind: String,
    pub name: String,
    pub summary: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Object IRIs it starts with (at most [`MAX_INITIAL_ITEMS`]).
    pub items: Vec<String>,
}

impl Engine {
    pub async fn create_collection(&self, actor: &AccountRow, n: NewCollection) -> Result<()> {
        if n.items.len() > MAX_INITIAL_ITEMS {
            return Err(EngineError::invalid(format!(
                "Validation failed: a new collection may bring at most {MAX_INITIAL_ITEMS} items; add the others with Add"
            )));
        }
        if self.store.count_collections(actor.id).await? >= MAX_COLLECTIONS {
            return Err(EngineError::invalid(format!(
                "Validation failed: at most {MAX_COLLECTIONS} collections per account"
            )));
        }
        let now = sluice_model::id::now_millis();
        let row = CollectionRow {
            id: n.id,
            account_id: actor.id,
            uri: n.uri.clone(),
            kind: n.kind.clone(),
            name: n.name.clone(),
            summary: n.summary.clone(),
            to_json: serde_json::to_string(&n.to).unwrap_or_default(),
            cc_json: serde_json::to_string(&n.cc).unwrap_or_default(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_collection(&row).await?;
        let mut added = 0;
        for item in &n.items {
            if tx
                .add_collection_item(self.ids.next_at(now), row.id, item, now)
                .await?
            {
                added += 1;
            }
        }
        let object = as2::collection_document(&row, &actor.uri, added);
        let doc = as2::activity(
            &n.activity_uri,
            Verb::Create,
            &actor.uri,
            object,
            &n.to,
            &n.cc,
            Timestamp(now),
        );
        self.record_document(&mut tx, actor, doc, &n.to, &n.cc, now)
            .await?;
        self.commit(tx, crate::effects::Changes::at(now)).await?;
        Ok(())
    }

    /// `Add` (or, with `add` false, `Remove`) of an object to one of the actor's
    /// collections, recorded as `activity_uri` and delivered to the collection's
    /// audience. Whether anything changed.
    pub async fn collection_change(
        &self,
        actor: &AccountRow,
        collection: &CollectionRow,
        object_uri: &str,
        add: bool,
        activity_uri: &str,
    ) -> Result<bool> {
        if collection.account_id != actor.id {
            return Err(EngineError::NotFound);
        }
        if add && self.store.count_collection_items(collection.id).await? >= MAX_COLLECTION_ITEMS {
            return Err(EngineError::invalid(format!(
                "Validation failed: a collection holds at most {MAX_COLLECTION_ITEMS} items"
            )));
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let changed = if add {
            tx.add_collection_item(self.ids.next_at(now), collection.id, object_uri, now)
                .await?
        } else {
            tx.remove_collection_item(collection.id, object_uri, now)
                .await?
        };
        if changed {
            let to: Vec<String> = serde_json::from_str(&collection.to_json).unwrap_or_default();
            let cc: Vec<String> = serde_json::from_str(&collection.cc_json).unwrap_or_default();
            let verb = if add { Verb::Add } else { Verb::Remove };
            let mut doc = as2::activity(
                activity_uri,
                verb,
                &actor.uri,
                json!(object_uri),
                &to,
                &cc,
                Timestamp(now),
            );
            doc["target"] = json!(collection.uri);
            self.record_document(&mut tx, actor, doc, &to, &cc, now)
                .await?;
        }
        self.commit(tx, crate::effects::Changes::at(now)).await?;
        Ok(changed)
    }

    /// Deletes one of the actor's collections and its items; the `Delete` is recorded
    /// as `activity_uri` and delivered to the collection's audience.
    pub async fn delete_collection(
        &self,
        actor: &AccountRow,
        collection: &CollectionRow,
        activity_uri: &str,
    ) -> Result<()> {
        if collection.account_id != actor.id {
            return Err(EngineError::NotFound);
        }
        let now = sluice_model::id::now_millis();
        let to: Vec<String> = serde_json::from_str(&collection.to_json).unwrap_or_default();
        let cc: Vec<String> = serde_json::from_str(&collection.cc_json).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        tx.delete_collection(collection.id).await?;
        let doc = as2::activity(
            activity_uri,
            Verb::Delete,
            &actor.uri,
            as2::tombstone(&collection.uri),
            &to,
            &cc,
            Timestamp(now),
        );
        self.record_document(&mut tx, actor, doc, &to, &cc, now)
            .await?;
        self.commit(tx, crate::effects::Changes::at(now)).await?;
        Ok(())
    }
}
