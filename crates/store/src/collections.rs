//! Collections a user makes through the ActivityPub client-to-server API: a `Create`
//! of a `Collection` or `OrderedCollection`, then `Add` and `Remove` of items (any
//! object, by IRI). Read by whoever its audience allows; written by its owner only.

use sluice_model::Id;

use crate::{Page, Query, Result, Store, WriteTx, query::Scalar};

/// A row of `collections`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CollectionRow {
    pub id: Id,
    pub account_id: Id,
    pub uri: String,
    /// `Collection` or `OrderedCollection`.
    pub kind: String,
    pub name: String,
    pub summary: String,
    pub to_json: String,
    pub cc_json: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One item of a collection page: its row id pages it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CollectionItem {
    pub id: Id,
    pub object_uri: String,
}

impl Store {
    pub async fn collection_by_uri(&self, uri: &str) -> Result<Option<CollectionRow>> {
        self.opt(Query::new("SELECT * FROM collections WHERE uri = $1").bind(uri))
            .await
    }

    /// An account's collections, newest first, at most `limit`.
    pub async fn collections_of(&self, account_id: Id, limit: i64) -> Result<Vec<CollectionRow>> {
        self.all(
            Query::new("SELECT * FROM collections WHERE account_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(account_id)
                .bind(limit),
        )
        .await
    }

    /// Items of a collection, newest first by default.
    pub async fn collection_items(
        &self,
        collection_id: Id,
        page: Page,
    ) -> Result<Vec<CollectionItem>> {
        let mut q =
            Query::new("SELECT id, object_uri FROM collection_items WHERE collection_id = ");
        let c = q.arg(collection_id);
        q.push(&c);
        page.apply(&mut q, "id");
        Ok(page.finish(self.all(q).await?))
    }

    pub async fn count_collection_items(&self, collection_id: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT COUNT(*) AS v FROM collection_items WHERE collection_id = $1")
                    .bind(collection_id),
            )
            .await?
            .v)
    }

    pub async fn count_collections(&self, account_id: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT COUNT(*) AS v FROM collections WHERE account_id = $1")
                    .bind(account_id),
            )
            .await?
            .v)
    }
}

impl WriteTx {
    pub async fn insert_collection(&mut self, c: &CollectionRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO collections (id, account_id, uri, kind, name, summary, to_json,
                   cc_json, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(c.id)
            .bind(c.account_id)
            .bind(c.uri.as_str())
            .bind(c.kind.as_str())
            .bind(c.name.as_str())
            .bind(c.summary.as_str())
            .bind(c.to_json.as_str())
            .bind(c.cc_json.as_str())
            .bind(c.created_at)
            .bind(c.updated_at),
        )
        .await?;
        Ok(())
    }

    /// Adds an item (once); whether it was new.
    pub async fn add_collection_item(
        &mut self,
        id: Id,
        collection_id: Id,
        object_uri: &str,
        now: i64,
    ) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "INSERT INTO collection_items (id, collection_id, object_uri, added_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (collection_id, object_uri) DO NOTHING",
                )
                .bind(id)
                .bind(collection_id)
                .bind(object_uri)
                .bind(now),
            )
            .await?;
        if n > 0 {
            self.touch_collection(collection_id, now).await?;
        }
        Ok(n > 0)
    }

    /// Removes an item; whether it was there.
    pub async fn remove_collection_item(
        &mut self,
        collection_id: Id,
        object_uri: &str,
        now: i64,
    ) -> Result<bool> {
        let n = self
            .exec(
                Query::new(
                    "DELETE FROM collection_items WHERE collection_id = $1 AND object_uri = $2",
                )
                .bind(collection_id)
                .bind(object_uri),
            )
            .await?;
        if n > 0 {
            self.touch_collection(collection_id, now).await?;
        }
        Ok(n > 0)
    }

    async fn touch_collection(&mut self, collection_id: Id, now: i64) -> Result<()> {
        self.exec(
            Query::new("UPDATE collections SET updated_at = $2 WHERE id = $1")
                .bind(collection_id)
                .bind(now),
        )
        .await?;
        Ok(())
    }

    pub async fn delete_collection(&mut self, collection_id: Id) -> Result<()> {
        self.exec(
            Query::new("DELETE FROM collection_items WHERE collection_id = $1").bind(collection_id),
        )
        .await?;
        self.exec(Query::new("DELETE FROM collections WHERE id = $1").bind(collection_id))
            .await?;
        Ok(())
    }
}
