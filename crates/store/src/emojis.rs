//! Custom emoji: the rows of migration 19. Local ones are the admin's; remote ones are
//! remembered from the `Emoji` tags of posts and actors (by shortcode and domain).

use crate::query::Query;
use crate::{Id, Result, Store};

/// A custom emoji. Local (`domain` ''): `file_name` under the media directory. Remote:
/// `url`/`static_url` as given, `uri` the emoji's own id.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomEmojiRow {
    pub id: Id,
    pub shortcode: String,
    pub domain: String,
    pub file_name: String,
    pub url: String,
    pub static_url: String,
    pub content_type: String,
    pub visible_in_picker: bool,
    pub category: String,
    pub uri: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, shortcode, domain, file_name, url, static_url, content_type, \
     visible_in_picker, category, uri, created_at, updated_at";

impl Store {
    /// Adds a local emoji; false (nothing written) when the shortcode is taken.
    pub async fn insert_custom_emoji(&self, row: &CustomEmojiRow) -> Result<bool> {
        let n = self
            .exec(
                Query::new(format!(
                    "INSERT INTO custom_emojis ({COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (shortcode, domain) DO NOTHING"
                ))
                .bind(row.id)
                .bind(row.shortcode.as_str())
                .bind(row.domain.as_str())
                .bind(row.file_name.as_str())
                .bind(row.url.as_str())
                .bind(row.static_url.as_str())
                .bind(row.content_type.as_str())
                .bind(row.visible_in_picker)
                .bind(row.category.as_str())
                .bind(row.uri.as_str())
                .bind(row.created_at)
                .bind(row.updated_at),
            )
            .await?;
        Ok(n == 1)
    }

    /// Stores or refreshes a remote emoji (by shortcode and domain): the newest tag seen
    /// wins.
    pub async fn upsert_remote_emoji(&self, row: &CustomEmojiRow) -> Result<()> {
        self.exec(
            Query::new(format!(
                "INSERT INTO custom_emojis ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (shortcode, domain) DO UPDATE SET
                   url = excluded.url, static_url = excluded.static_url,
                   content_type = excluded.content_type, uri = excluded.uri,
                   updated_at = excluded.updated_at
                 WHERE custom_emojis.url <> excluded.url
                    OR custom_emojis.static_url <> excluded.static_url
                    OR custom_emojis.uri <> excluded.uri"
            ))
            .bind(row.id)
            .bind(row.shortcode.as_str())
            .bind(row.domain.as_str())
            .bind(row.file_name.as_str())
            .bind(row.url.as_str())
            .bind(row.static_url.as_str())
            .bind(row.content_type.as_str())
            .bind(row.visible_in_picker)
            .bind(row.category.as_str())
            .bind(row.uri.as_str())
            .bind(row.created_at)
            .bind(row.updated_at),
        )
        .await?;
        Ok(())
    }

    /// Removes a local emoji; the removed row (its file is the caller's to delete).
    pub async fn delete_local_emoji(&self, shortcode: &str) -> Result<Option<CustomEmojiRow>> {
        let row = self.local_emoji(shortcode).await?;
        if let Some(r) = &row {
            self.exec(Query::new("DELETE FROM custom_emojis WHERE id = $1").bind(r.id))
                .await?;
        }
        Ok(row)
    }

    /// A local emoji by shortcode.
    pub async fn local_emoji(&self, shortcode: &str) -> Result<Option<CustomEmojiRow>> {
        Ok(self
            .all(
                Query::new(format!(
                    "SELECT {COLUMNS} FROM custom_emojis WHERE domain = '' AND shortcode = $1"
                ))
                .bind(shortcode),
            )
            .await?
            .pop())
    }

    /// One emoji by id.
    pub async fn custom_emoji(&self, id: Id) -> Result<Option<CustomEmojiRow>> {
        Ok(self
            .all(Query::new(format!("SELECT {COLUMNS} FROM custom_emojis WHERE id = $1")).bind(id))
            .await?
            .pop())
    }

    /// Every local emoji, by category then shortcode.
    pub async fn local_emojis(&self) -> Result<Vec<CustomEmojiRow>> {
        self.all(Query::new(format!(
            "SELECT {COLUMNS} FROM custom_emojis WHERE domain = '' ORDER BY category, shortcode"
        )))
        .await
    }

    /// The emojis named by `shortcodes`, of any of `domains` ('' local): one query.
    pub async fn emojis_by_code(
        &self,
        shortcodes: &[&str],
        domains: &[&str],
    ) -> Result<Vec<CustomEmojiRow>> {
        if shortcodes.is_empty() || domains.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new(format!(
            "SELECT {COLUMNS} FROM custom_emojis WHERE shortcode IN ("
        ));
        let codes: Vec<String> = shortcodes.iter().map(|c| q.arg(c.to_string())).collect();
        q.push(&codes.join(", "));
        q.push(") AND domain IN (");
        let ds: Vec<String> = domains.iter().map(|d| q.arg(d.to_string())).collect();
        q.push(&ds.join(", "));
        q.push(")");
        self.all(q).await
    }
}
