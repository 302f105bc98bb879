//! Media uploads (Mastodon API `/api/v1/media` and `/api/v2/media`, ActivityPub
//! `uploadMedia`): the bytes are identified by their content, never by the client's
//! word (only images, video and audio of the types [`crate::media_sniff`] knows; never
//! SVG or HTML), stripped of location and camera metadata, and written under the media
//! directory with a random name. A row in `media` says whose the file is and the post it
//! is attached to; a post keeps its attachments' view with it.
//!
//! Unattached uploads live a day ([`UNATTACHED_TTL_MS`]); so do the uploads of a
//! deleted post, which a client may post again ("delete and redraft").

use std::path::PathBuf;

use sluice_model::Id;
use sluice_model::media::{self, Attachment, MAX_DESCRIPTION_CHARS};
use sluice_store::{AccountRow, MediaRow};

use crate::media_sniff;
use crate::{Engine, EngineError, Result};

/// How long an upload may stay unattached before it is removed.
pub const UNATTACHED_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// Stale uploads removed per maintenance pass.
const SWEEP_BATCH: i64 = 500;

/// What a client sends with a file.
#[derive(Debug, Default, Clone)]
pub struct Upload {
    pub bytes: bytes::Bytes,
    /// Alt text.
    pub description: String,
    pub focus: Option<[f64; 2]>,
    /// The ActivityStreams type an uploadMedia shell names (`Image`, …), or "".
    pub object_type: String,
}

impl Engine {
    /// Stores an upload of `actor`'s: 422 when the file is empty, too large or of a type
    /// not accepted, or the description is too long.
    pub async fn upload_media(&self, actor: &AccountRow, up: Upload) -> Result<MediaRow> {
        if up.bytes.is_empty() {
            return Err(EngineError::invalid("Validation failed: File is empty"));
        }
        if up.bytes.len() > self.config.media_max_bytes {
            return Err(EngineError::invalid(format!(
                "Validation failed: File is larger than {} bytes",
                self.config.media_max_bytes
            )));
        }
        check_description(&up.description)?;
        let (file_name, size, sniffed) = self
            .store_file(
                up.bytes,
                "File",
                |_| true,
                "has contents that are not what they are reported to be, or of a type not supported (images: JPEG, PNG, GIF, WebP; video: MP4, WebM; audio: MP3, Ogg, FLAC, WAV, M4A)",
            )
            .await?;
        let id = self.new_id();
        let now = sluice_model::id::now_millis();
        let row = MediaRow {
            id,
            account_id: actor.id,
            status_id: None,
            kind: sniffed.kind.as_str().into(),
            content_type: sniffed.content_type.into(),
            file_name: file_name.clone(),
            size: size as i64,
            width: sniffed.width.map(i64::from),
            height: sniffed.height.map(i64::from),
            description: up.description.trim().to_string(),
            focus_x: up.focus.map(|f| f[0]),
            focus_y: up.focus.map(|f| f[1]),
            object_type: up.object_type,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        let inserted = async {
            tx.insert_media(&row).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = inserted {
            // Nothing half-written: no row, no file.
            let _ = tokio::fs::remove_file(self.media_path(&file_name)).await;
            return Err(e.into());
        }
        Ok(row)
    }

    /// Identifies a file by its bytes (refused with "{label} {refusal}" when it is not
    /// a supported type or `accept` refuses it), strips its metadata off the async
    /// threads, and writes it under a new random name. Returns the name, the size
    /// written and what it is.
    pub(crate) async fn store_file(
        &self,
        bytes: bytes::Bytes,
        label: &str,
        accept: impl Fn(&media_sniff::Sniffed) -> bool,
        refusal: &str,
    ) -> Result<(String, usize, media_sniff::Sniffed)> {
        let sniffed = media_sniff::sniff(&bytes)
            .filter(|s| accept(s))
            .ok_or_else(|| EngineError::invalid(format!("Validation failed: {label} {refusal}")))?;
        let stripped = tokio::task::spawn_blocking(move || {
            media_sniff::strip_metadata(&bytes, &sniffed).map(|b| (b, sniffed))
        })
        .await
        .map_err(|e| EngineError::Internal(format!("media task: {e}")))?;
        let (stripped, sniffed) = stripped.map_err(|e| {
            EngineError::invalid(format!("Validation failed: {label} is damaged ({e})"))
        })?;
        let file_name = format!("{}.{}", random_name(), sniffed.extension);
        let size = stripped.len();
        self.write_media_file(&file_name, stripped).await?;
        Ok((file_name, size, sniffed))
    }

    /// Writes a new file atomically (a temporary name, then renamed), so a reader never
    /// sees half a file.
    async fn write_media_file(&self, file_name: &str, bytes: Vec<u8>) -> Result<()> {
        let dir = &self.config.media_dir;
        let io = |e: std::io::Error| {
            EngineError::Internal(format!("media directory {}: {e}", dir.display()))
        };
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        let tmp = dir.join(format!(".{file_name}.part"));
        let path = self.media_path(file_name);
        if let Err(e) = tokio::fs::write(&tmp, bytes).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io(e));
        }
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    /// Where a file of the media directory is.
    pub fn media_path(&self, file_name: &str) -> PathBuf {
        self.config.media_dir.join(file_name)
    }

    /// The public URL of an uploaded file.
    pub fn media_url(&self, file_name: &str) -> String {
        format!("{}/media/{file_name}", self.urls.base())
    }

    /// The ActivityStreams object of an upload ([`crate::as2::media_object`]).
    pub fn media_object(&self, owner: &AccountRow, m: &MediaRow) -> serde_json::Value {
        crate::as2::media_object(&self.urls, owner, m, &self.media_attachment(m))
    }

    /// An upload of `actor`'s (404 for anyone else's).
    pub async fn own_media(&self, actor: &AccountRow, id: Id) -> Result<MediaRow> {
        match self.store.media(id).await? {
            Some(m) if m.account_id == actor.id => Ok(m),
            _ => Err(EngineError::NotFound),
        }
    }

    /// Changes the description and focal point of an upload not yet attached (404 for
    /// an attached one, as Mastodon: a post's media change with the post).
    pub async fn update_media(
        &self,
        actor: &AccountRow,
        id: Id,
        description: Option<String>,
        focus: Option<Option<[f64; 2]>>,
    ) -> Result<MediaRow> {
        let mut m = self.own_media(actor, id).await?;
        if m.status_id.is_some() {
            return Err(EngineError::NotFound);
        }
        if let Some(d) = description {
            check_description(&d)?;
            m.description = d.trim().to_string();
        }
        if let Some(f) = focus {
            m.focus_x = f.map(|f| f[0]);
            m.focus_y = f.map(|f| f[1]);
        }
        m.updated_at = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let changed = tx.update_unattached_media(&m).await?;
        tx.commit().await?;
        if !changed {
            return Err(EngineError::NotFound);
        }
        Ok(m)
    }

    /// Deletes an upload not attached to a post (422 for an attached one).
    pub async fn delete_media(&self, actor: &AccountRow, id: Id) -> Result<()> {
        let m = self.own_media(actor, id).await?;
        if m.status_id.is_some() {
            return Err(EngineError::invalid(
                "Validation failed: Media attached to a post cannot be deleted",
            ));
        }
        if self.store.delete_media_rows(&[m.id]).await?.is_empty() {
            return Err(EngineError::invalid(
                "Validation failed: Media attached to a post cannot be deleted",
            ));
        }
        let _ = tokio::fs::remove_file(self.media_path(&m.file_name)).await;
        Ok(())
    }

    /// An upload as a post stores it.
    pub fn media_attachment(&self, m: &MediaRow) -> Attachment {
        Attachment {
            id: m.id.to_string(),
            kind: m.kind.clone(),
            media_type: m.content_type.clone(),
            url: self.media_url(&m.file_name),
            description: m.description.clone(),
            width: m.width.and_then(|w| u32::try_from(w).ok()),
            height: m.height.and_then(|h| u32::try_from(h).ok()),
            focus: m.focus_x.zip(m.focus_y).map(|(x, y)| [x, y]),
            blurhash: None,
            remote: false,
        }
    }

    /// Removes uploads unattached for longer than [`UNATTACHED_TTL_MS`], their rows
    /// first (so no post can take one whose file is going), then their files. Returns
    /// how many.
    pub async fn sweep_media(&self) -> Result<u64> {
        let before = sluice_model::id::now_millis() - UNATTACHED_TTL_MS;
        let stale = self
            .store
            .stale_unattached_media(before, SWEEP_BATCH)
            .await?;
        if stale.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Id> = stale.iter().map(|m| m.id).collect();
        // A row attached meanwhile is not deleted: its file stays.
        let deleted = self.store.delete_media_rows(&ids).await?;
        for m in stale.iter().filter(|m| deleted.contains(&m.id)) {
            let _ = tokio::fs::remove_file(self.media_path(&m.file_name)).await;
        }
        Ok(deleted.len() as u64)
    }
}

/// Largest avatar or header image (Mastodon's limit).
pub const PROFILE_IMAGE_MAX_BYTES: usize = 2 * 1024 * 1024;

/// Which of a profile's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileImage {
    Avatar,
    Header,
}

impl Engine {
    /// Writes a new avatar or header: an image (JPEG, PNG, GIF, WebP) of at most
    /// [`PROFILE_IMAGE_MAX_BYTES`], identified and stripped as uploads are, under the
    /// media directory. Returns its URL; the profile change that asked for it
    /// ([`crate::accounts::ProfileChange`]) names it, or removes it when refused.
    pub(crate) async fn store_profile_image(
        &self,
        which: ProfileImage,
        bytes: bytes::Bytes,
    ) -> Result<String> {
        let label = match which {
            ProfileImage::Avatar => "Avatar",
            ProfileImage::Header => "Header",
        };
        if bytes.len() > PROFILE_IMAGE_MAX_BYTES {
            return Err(EngineError::invalid(format!(
                "Validation failed: {label} file size must be less than 2 MB"
            )));
        }
        let (file_name, _, _) = self
            .store_file(
                bytes,
                label,
                |s| s.kind == media_sniff::MediaKind::Image,
                "must be a JPEG, PNG, GIF or WebP image",
            )
            .await?;
        Ok(self.media_url(&file_name))
    }

    /// The file name of one of our media URLs.
    pub fn own_media_file<'a>(&self, url: &'a str) -> Option<&'a str> {
        let prefix = format!("{}/media/", self.urls.base());
        url.strip_prefix(prefix.as_str())
            .filter(|n| is_media_file_name(n))
    }
}

fn check_description(d: &str) -> Result<()> {
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(EngineError::invalid(format!(
            "Validation failed: Description is too long (maximum is {MAX_DESCRIPTION_CHARS} characters)"
        )));
    }
    Ok(())
}

/// 128 random bits as hex: file names nobody can guess, so the file of a private post
/// is not found by counting.
fn random_name() -> String {
    use rand::Rng as _;
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}

/// Whether `name` is a file name [`Engine::upload_media`] makes (nothing that could
/// leave the media directory).
pub fn is_media_file_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    stem.len() == 32
        && stem.bytes().all(|b| b.is_ascii_hexdigit())
        && (1..=5).contains(&ext.len())
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The MIME type a media file is served with, by the extension it was given.
pub fn content_type_of(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" => "audio/ogg",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

/// Most attachments of a local post.
pub const MAX_ATTACHMENTS: usize = media::MAX_LOCAL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_checked() {
        let n = format!("{}.png", random_name());
        assert!(is_media_file_name(&n), "{n}");
        assert!(!is_media_file_name("../etc/passwd"));
        assert!(!is_media_file_name("abc.png"));
        assert!(!is_media_file_name(&format!("{}.png/x", random_name())));
        assert_ne!(random_name(), random_name());
    }
}
