//! What the federation crate reads: the rows behind the ActivityPub documents we serve
//! (outbox, inbox, liked, followers and following, featured, user-made collections),
//! and the lookups that receiving, resolving and C2S posting make. Rows, not entities:
//! federation builds its own documents, and checks their audience itself.

use sluice_model::Id;
use sluice_store::{
    AccountRow, CollectionItem, CollectionRow, KeyRow, ListedId, MediaRow, OutboxItem, Page,
    Relation, Saved, Side, StatusRow, StoredActivity,
};

use crate::{Engine, Result};

impl Engine {
    /// Statuses by id, in no particular order, whoever may see them.
    pub async fn statuses(&self, ids: &[Id]) -> Result<Vec<StatusRow>> {
        Ok(self.store.statuses(ids).await?)
    }

    /// The public and unlisted replies to a status, newest first (its `replies`
    /// collection).
    pub async fn public_replies(&self, status: Id, page: Page) -> Result<Vec<ListedId>> {
        Ok(self.store.public_replies(status, page).await?)
    }

    /// Accounts by id, in no particular order, as stored now (not through the cache).
    pub async fn accounts(&self, ids: &[Id]) -> Result<Vec<AccountRow>> {
        Ok(self.store.accounts(ids).await?)
    }

    /// Up to `limit` collections an account made (C2S), whatever their audience.
    pub async fn collections_of(&self, account: Id, limit: i64) -> Result<Vec<CollectionRow>> {
        Ok(self.store.collections_of(account, limit).await?)
    }

    /// One page of a user-made collection's items.
    pub async fn collection_items(
        &self,
        collection: Id,
        page: Page,
    ) -> Result<Vec<CollectionItem>> {
        Ok(self.store.collection_items(collection, page).await?)
    }

    /// How many items a user-made collection holds.
    pub async fn count_collection_items(&self, collection: Id) -> Result<i64> {
        Ok(self.store.count_collection_items(collection).await?)
    }

    /// How many posts an account favourited (its `liked` collection).
    pub async fn count_favourites(&self, account: Id) -> Result<i64> {
        Ok(self.store.count_saved(account, Saved::Favourites).await?)
    }

    /// One page of the posts an account favourited, by the favourites' ids.
    pub async fn favourites_page(&self, account: Id, page: Page) -> Result<Vec<ListedId>> {
        Ok(self
            .store
            .saved_statuses(account, Saved::Favourites, page)
            .await?)
    }

    /// How many activities an account's outbox holds: all of them for its `owner`,
    /// the public ones for anyone else.
    pub async fn count_outbox(&self, account: Id, owner: bool) -> Result<i64> {
        Ok(if owner {
            self.store.count_owner_outbox(account).await?
        } else {
            self.store.count_outbox(account).await?
        })
    }

    /// One page of an account's outbox, as [`Engine::count_outbox`] counts it.
    pub async fn outbox_page(
        &self,
        account: Id,
        owner: bool,
        page: Page,
    ) -> Result<Vec<OutboxItem>> {
        Ok(if owner {
            self.store.owner_outbox_page(account, page).await?
        } else {
            self.store.outbox_page(account, page).await?
        })
    }

    /// One page of a local account's inbox (activities addressed to `uri`, its IRI).
    pub async fn inbox_page(&self, account: Id, uri: &str, page: Page) -> Result<Vec<OutboxItem>> {
        Ok(self.store.inbox_page(account, uri, page).await?)
    }

    /// One page of an account's followers (`Side::Followers`) or follows.
    pub async fn follow_list(&self, side: Side, account: Id, page: Page) -> Result<Vec<ListedId>> {
        Ok(self
            .store
            .relation_list(Relation::Follow, side, account, page)
            .await?)
    }

    /// Ids of up to `limit` posts an account pinned, most recently pinned first.
    pub async fn pinned_status_ids(&self, account: Id, limit: i64) -> Result<Vec<Id>> {
        Ok(self.store.pinned_status_ids(account, limit).await?)
    }

    /// The JSON of the newest Create or Update of the object `uri`, as federated.
    pub async fn latest_object_activity(&self, uri: &str) -> Result<Option<String>> {
        Ok(self.store.latest_object_activity(uri).await?)
    }

    /// The newest activity of `kind` that `actor` made about `object_uri`.
    pub async fn latest_activity_about(
        &self,
        actor: Id,
        kind: &str,
        object_uri: &str,
    ) -> Result<Option<StoredActivity>> {
        Ok(self
            .store
            .latest_activity_about(actor, kind, object_uri)
            .await?)
    }

    /// Whether an activity with this id is stored.
    pub async fn activity_exists(&self, uri: &str) -> Result<bool> {
        Ok(self.store.activity_exists(uri).await?)
    }

    /// The IRI of the post a stored favourite (by its Like's id) is of.
    pub async fn favourite_by_uri(&self, like_uri: &str) -> Result<Option<String>> {
        Ok(self.store.favourite_by_uri(like_uri).await?)
    }

    /// The upload whose file has this name.
    pub async fn media_by_file_name(&self, name: &str) -> Result<Option<MediaRow>> {
        Ok(self.store.media_by_file_name(name).await?)
    }

    /// A stored public key (ours or a remote actor's) by its id.
    pub async fn key(&self, key_id: &str) -> Result<Option<KeyRow>> {
        Ok(self.store.key(key_id).await?)
    }

    /// Whether nothing is taken from this host nor sent to it: the instance suspended
    /// its domain, or federates in allow-list mode and did not allow it.
    pub async fn host_suspended(&self, host: &str) -> Result<bool> {
        self.host_refused(host).await
    }

    /// Whether `owner` blocks `other`.
    pub async fn blocks(&self, owner: Id, other: Id) -> Result<bool> {
        Ok(self
            .store
            .has_relation(Relation::Block, owner, other)
            .await?)
    }

    /// Whether `follower` follows `followed`.
    pub async fn follows(&self, follower: Id, followed: Id) -> Result<bool> {
        Ok(self
            .store
            .has_relation(Relation::Follow, follower, followed)
            .await?)
    }

    /// Whether either account blocks the other.
    pub async fn blocked_either_way(&self, a: Id, b: Id) -> Result<bool> {
        Ok(self.store.blocked_either_way(a, b).await?)
    }

    /// Whether any local account follows `account`.
    pub async fn has_local_followers(&self, account: Id) -> Result<bool> {
        Ok(!self.store.local_followers_of(account, 1).await?.is_empty())
    }
}
