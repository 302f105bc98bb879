//! Stored ActivityPub documents: activities, user-made collections, tombstones of
//! deleted posts.

use sluice_store::{CollectionRow, StoredActivity};

use crate::{Engine, Result};

impl Engine {
    /// The stored activity with this id.
    pub async fn activity_by_uri(&self, uri: &str) -> Result<Option<StoredActivity>> {
        Ok(self.store.activity_by_uri(uri).await?)
    }

    /// The user-made collection with this id.
    pub async fn collection_by_uri(&self, uri: &str) -> Result<Option<CollectionRow>> {
        Ok(self.store.collection_by_uri(uri).await?)
    }

    /// Whether a post with this id was deleted (its id is never used again).
    pub async fn is_tombstoned(&self, uri: &str) -> Result<bool> {
        Ok(self.store.is_tombstoned(uri).await?)
    }
}
