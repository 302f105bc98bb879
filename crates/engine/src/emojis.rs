//! Custom emoji: images shown in place of `:shortcode:` in posts, display names and
//! bios. Local ones are the admin's (`sluice admin emoji add`): checked like uploads
//! (PNG, GIF or WebP only, at most [`EMOJI_MAX_BYTES`]) and written under the media
//! directory. Remote ones are remembered from the `Emoji` tags of posts and actors,
//! their image URLs kept as given. The text keeps `:shortcode:`; the entities' `emojis`
//! say which shortcodes have an image (clients put it in).

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use sluice_store::CustomEmojiRow;

use crate::media_sniff::MediaKind;
use crate::{Engine, EngineError, Result};

/// Largest emoji image (Mastodon: 256 KB).
pub const EMOJI_MAX_BYTES: usize = 256 * 1024;
/// Most distinct shortcodes looked up for one page of entities.
pub const MAX_CODES_PER_LOOKUP: usize = 500;
/// Longest shortcode.
pub const MAX_SHORTCODE_CHARS: usize = 64;

/// Whether `s` is a shortcode as Mastodon allows: `[A-Za-z0-9_]{2,}`.
pub fn is_shortcode(s: &str) -> bool {
    (2..=MAX_SHORTCODE_CHARS).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The shortcodes written as `:code:` in `text`, in order (repeats included). As
/// Mastodon: the colons may not touch a letter, digit or another colon on the outside.
pub fn shortcodes_in(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let outside = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b':');
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b':' || !outside(i.checked_sub(1).and_then(|p| bytes.get(p))) {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut j = start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        if j < bytes.len()
            && bytes[j] == b':'
            && outside(bytes.get(j + 1))
            && is_shortcode(&text[start..j])
        {
            out.push(&text[start..j]);
            i = j + 1;
        } else {
            i = j.max(i + 1);
        }
    }
    out
}

/// Emojis found for a page of entities: (domain, shortcode) -> the row.
#[derive(Debug, Default)]
pub struct EmojiMap(HashMap<(String, String), CustomEmojiRow>);

impl EmojiMap {
    /// The emoji `shortcode` of `domain` ('' local), if found.
    pub fn get(&self, domain: &str, shortcode: &str) -> Option<&CustomEmojiRow> {
        self.0.get(&(domain.to_string(), shortcode.to_string()))
    }
}

impl Engine {
    /// Adds a local emoji from an image file (`sluice admin emoji add`).
    pub async fn add_custom_emoji(
        &self,
        shortcode: &str,
        bytes: bytes::Bytes,
        category: &str,
    ) -> Result<CustomEmojiRow> {
        if !is_shortcode(shortcode) {
            return Err(EngineError::invalid(format!(
                "A shortcode has 2 to {MAX_SHORTCODE_CHARS} letters, digits or underscores"
            )));
        }
        if bytes.is_empty() {
            return Err(EngineError::invalid("Validation failed: Image is empty"));
        }
        if bytes.len() > EMOJI_MAX_BYTES {
            return Err(EngineError::invalid(format!(
                "Validation failed: Image is larger than {EMOJI_MAX_BYTES} bytes"
            )));
        }
        if self.store.local_emoji(shortcode).await?.is_some() {
            return Err(EngineError::invalid(format!(
                "There is already an emoji :{shortcode}:"
            )));
        }
        let (file_name, _, sniffed) = self
            .store_file(
                bytes,
                "Image",
                |s| s.kind == MediaKind::Image && s.content_type != "image/jpeg",
                "must be a PNG, GIF or WebP image",
            )
            .await?;
        let now = sluice_model::id::now_millis();
        let row = CustomEmojiRow {
            id: self.ids.next_at(now),
            shortcode: shortcode.to_string(),
            domain: String::new(),
            file_name: file_name.clone(),
            url: String::new(),
            static_url: String::new(),
            content_type: sniffed.content_type.to_string(),
            visible_in_picker: true,
            category: category.trim().to_string(),
            uri: String::new(),
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_custom_emoji(&row).await {
            Ok(true) => Ok(row),
            other => {
                // Nothing half-written: no row, no file.
                let _ = tokio::fs::remove_file(self.media_path(&file_name)).await;
                match other {
                    Ok(_) => Err(EngineError::invalid(format!(
                        "There is already an emoji :{shortcode}:"
                    ))),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Removes a local emoji and its file; false when there is none.
    pub async fn remove_custom_emoji(&self, shortcode: &str) -> Result<bool> {
        let Some(row) = self.store.delete_local_emoji(shortcode).await? else {
            return Ok(false);
        };
        if crate::media::is_media_file_name(&row.file_name) {
            let _ = tokio::fs::remove_file(self.media_path(&row.file_name)).await;
        }
        Ok(true)
    }

    /// Every local emoji (the admin's list, `/api/v1/custom_emojis`).
    pub async fn local_custom_emojis(&self) -> Result<Vec<CustomEmojiRow>> {
        Ok(self.store.local_emojis().await?)
    }

    /// One emoji by id.
    pub async fn custom_emoji(&self, id: sluice_model::Id) -> Result<Option<CustomEmojiRow>> {
        Ok(self.store.custom_emoji(id).await?)
    }

    /// An emoji's image URL.
    pub fn emoji_url(&self, e: &CustomEmojiRow) -> String {
        if e.domain.is_empty() {
            self.media_url(&e.file_name)
        } else {
            e.url.clone()
        }
    }

    /// An emoji's still image URL.
    pub fn emoji_static_url(&self, e: &CustomEmojiRow) -> String {
        if e.domain.is_empty() || e.static_url.is_empty() {
            self.emoji_url(e)
        } else {
            e.static_url.clone()
        }
    }

    /// An emoji's ActivityPub id: ours at `/emojis/:id`, a remote one's as given.
    pub fn emoji_uri(&self, e: &CustomEmojiRow) -> String {
        if e.domain.is_empty() {
            format!("{}/emojis/{}", self.urls.base(), e.id)
        } else {
            e.uri.clone()
        }
    }

    /// Mastodon's CustomEmoji entity.
    pub fn emoji_entity(&self, e: &CustomEmojiRow) -> Value {
        let mut v = json!({
            "shortcode": e.shortcode,
            "url": self.emoji_url(e),
            "static_url": self.emoji_static_url(e),
            "visible_in_picker": e.visible_in_picker,
        });
        if e.domain.is_empty() {
            v["category"] = if e.category.is_empty() {
                Value::Null
            } else {
                Value::String(e.category.clone())
            };
        }
        v
    }

    /// The ActivityStreams `Emoji` tag of a local emoji.
    pub fn emoji_tag(&self, e: &CustomEmojiRow) -> Value {
        json!({
            "id": self.emoji_uri(e),
            "type": "Emoji",
            "name": format!(":{}:", e.shortcode),
            "updated": sluice_model::Timestamp(e.updated_at).to_rfc3339(),
            "icon": {
                "type": "Image",
                "mediaType": e.content_type,
                "url": self.emoji_url(e),
            },
        })
    }

    /// Looks up, in one query, the emojis the texts name: each text with the domain of
    /// its author ('' local).
    pub async fn emojis_for<'a>(
        &self,
        texts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<EmojiMap> {
        let mut codes: HashSet<&str> = HashSet::new();
        let mut domains: HashSet<&str> = HashSet::new();
        for (domain, text) in texts {
            let found = shortcodes_in(text);
            if !found.is_empty() {
                domains.insert(domain);
            }
            for c in found {
                if codes.len() >= MAX_CODES_PER_LOOKUP {
                    break;
                }
                codes.insert(c);
            }
        }
        if codes.is_empty() {
            return Ok(EmojiMap::default());
        }
        let codes: Vec<&str> = codes.into_iter().collect();
        let domains: Vec<&str> = domains.into_iter().collect();
        let rows = self.store.emojis_by_code(&codes, &domains).await?;
        Ok(EmojiMap(
            rows.into_iter()
                .map(|r| ((r.domain.clone(), r.shortcode.clone()), r))
                .collect(),
        ))
    }

    /// The emojis of `map` that `texts` name, for an author of `domain`, each once, in
    /// the order first named.
    pub fn emojis_in(&self, map: &EmojiMap, domain: &str, texts: &[&str]) -> Vec<CustomEmojiRow> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for t in texts {
            for c in shortcodes_in(t) {
                if seen.insert(c)
                    && let Some(e) = map.0.get(&(domain.to_string(), c.to_string()))
                {
                    out.push(e.clone());
                }
            }
        }
        out
    }

    /// The entities of [`Engine::emojis_in`].
    pub fn emoji_entities_in(&self, map: &EmojiMap, domain: &str, texts: &[&str]) -> Vec<Value> {
        self.emojis_in(map, domain, texts)
            .iter()
            .map(|e| self.emoji_entity(e))
            .collect()
    }

    /// Adds to `doc["tag"]` an `Emoji` tag for each local emoji `texts` name (a local
    /// post's Note, a local actor's document).
    pub async fn add_emoji_tags(&self, doc: &mut Value, texts: &[&str]) -> Result<()> {
        let map = self.emojis_for(texts.iter().map(|t| ("", *t))).await?;
        let found = self.emojis_in(&map, "", texts);
        if found.is_empty() {
            return Ok(());
        }
        if !doc["tag"].is_array() {
            doc["tag"] = json!([]);
        }
        if let Some(tags) = doc["tag"].as_array_mut() {
            tags.extend(found.iter().map(|e| self.emoji_tag(e)));
        }
        Ok(())
    }

    /// Stores the `Emoji` tags of a remote post or actor of `domain` (each: shortcode,
    /// image URL, static URL, id, media type). Bad shortcodes or URLs are skipped.
    pub async fn remember_remote_emojis(&self, domain: &str, tags: &[RemoteEmoji]) -> Result<()> {
        if domain.is_empty() {
            return Ok(());
        }
        let now = sluice_model::id::now_millis();
        for t in tags.iter().take(MAX_REMOTE_TAGS) {
            if !is_shortcode(&t.shortcode)
                || !(t.url.starts_with("https://") || t.url.starts_with("http://"))
            {
                continue;
            }
            let row = CustomEmojiRow {
                id: self.ids.next_at(now),
                shortcode: t.shortcode.clone(),
                domain: domain.to_string(),
                file_name: String::new(),
                url: t.url.clone(),
                static_url: t.static_url.clone().unwrap_or_else(|| t.url.clone()),
                content_type: t.media_type.clone().unwrap_or_default(),
                visible_in_picker: false,
                category: String::new(),
                uri: t.uri.clone().unwrap_or_default(),
                created_at: now,
                updated_at: now,
            };
            self.store.upsert_remote_emoji(&row).await?;
        }
        Ok(())
    }
}

/// Most `Emoji` tags stored from one remote document.
pub const MAX_REMOTE_TAGS: usize = 50;

/// A remote `Emoji` tag as federation read it.
#[derive(Debug, Clone, Default)]
pub struct RemoteEmoji {
    pub shortcode: String,
    pub url: String,
    pub static_url: Option<String>,
    pub uri: Option<String>,
    pub media_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_are_found() {
        assert_eq!(
            shortcodes_in("hi :blob_cat: and :a: <p>:x1:</p>"),
            vec!["blob_cat", "x1"]
        );
        assert!(shortcodes_in("12:30:45 :x1::y2: a:b2:").is_empty());
        assert!(shortcodes_in(":no spaces: :é: ::").is_empty());
        assert!(is_shortcode("ok_2"));
        assert!(!is_shortcode("a"));
        assert!(!is_shortcode("a-b"));
    }
}
