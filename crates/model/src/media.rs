//! Media attachments of posts, as a post stores them (`statuses.attachments`, a JSON
//! array in order), and their two renderings: the Mastodon API's `MediaAttachment` and
//! the ActivityStreams `Document` we federate.
//!
//! A local post's attachments are files uploaded here (`remote: false`); a remote
//! post's are links to its server's files, taken from its `attachment`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Most attachments a local post may carry (Mastodon's limit).
pub const MAX_LOCAL: usize = 4;
/// Most attachments kept of a remote post (Misskey and Pixelfed send more than four).
pub const MAX_REMOTE: usize = 16;
/// Longest description (alt text), in characters (Mastodon's `description_limit`).
pub const MAX_DESCRIPTION_CHARS: usize = 1500;

/// One attachment as stored with its post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Attachment {
    /// The Mastodon API id (the upload's id; minted when a remote post is stored).
    pub id: String,
    /// `image`, `gifv`, `video`, `audio` or `unknown`, as the Mastodon API names them.
    pub kind: String,
    /// The MIME type, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    /// Where the file is.
    pub url: String,
    /// Alt text (plain text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Focal point `[x, y]`, each in -1..=1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// Whether the file is on another server.
    #[serde(default)]
    pub remote: bool,
}

impl Attachment {
    /// The Mastodon API kind for a MIME type and an ActivityStreams type (a `Document`
    /// says nothing, an `Image`/`Video`/`Audio` does).
    pub fn kind_of(media_type: Option<&str>, as_type: &str) -> &'static str {
        let major = media_type
            .and_then(|t| t.split('/').next())
            .unwrap_or("")
            .to_ascii_lowercase();
        match (major.as_str(), as_type) {
            ("image", _) | ("", "Image") => "image",
            ("video", _) | ("", "Video") => "video",
            ("audio", _) | ("", "Audio") => "audio",
            _ => "unknown",
        }
    }

    /// The Mastodon API's `MediaAttachment`.
    pub fn entity(&self) -> Value {
        let mut meta = serde_json::Map::new();
        if let (Some(w), Some(h)) = (self.width, self.height) {
            let dims = json!({
                "width": w,
                "height": h,
                "size": format!("{w}x{h}"),
                "aspect": if h > 0 { f64::from(w) / f64::from(h) } else { 0.0 },
            });
            meta.insert("original".into(), dims.clone());
            // No thumbnails are made: the small version is the original.
            meta.insert("small".into(), dims);
        }
        if let Some([x, y]) = self.focus {
            meta.insert("focus".into(), json!({"x": x, "y": y}));
        }
        json!({
            "id": self.id,
            "type": self.kind,
            "url": self.url,
            "preview_url": if self.kind == "image" || self.kind == "gifv" { Value::String(self.url.clone()) } else { Value::Null },
            "remote_url": if self.remote { Value::String(self.url.clone()) } else { Value::Null },
            "preview_remote_url": null,
            "text_url": null,
            "meta": meta,
            "description": if self.description.is_empty() { Value::Null } else { Value::String(self.description.clone()) },
            "blurhash": self.blurhash,
        })
    }

    /// Reads a post's stored list; a damaged value reads as no attachments.
    pub fn read_list(json: &str) -> Vec<Attachment> {
        if json.is_empty() || json == "[]" {
            return Vec::new();
        }
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The stored form of a list.
    pub fn write_list(list: &[Attachment]) -> String {
        serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
    }
}

/// Parses a focal point as the Mastodon API takes it: `"x,y"`, each in -1..=1.
pub fn parse_focus(s: &str) -> Option<[f64; 2]> {
    let (x, y) = s.split_once(',')?;
    focus(x.trim().parse().ok()?, y.trim().parse().ok()?)
}

/// A focal point, when both coordinates are in -1..=1.
pub fn focus(x: f64, y: f64) -> Option<[f64; 2]> {
    ((-1.0..=1.0).contains(&x) && (-1.0..=1.0).contains(&y)).then_some([x, y])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Attachment {
        Attachment {
            id: "7".into(),
            kind: "image".into(),
            media_type: "image/png".into(),
            url: "https://h.example/media/a.png".into(),
            description: "a cat".into(),
            width: Some(640),
            height: Some(480),
            focus: Some([0.5, -0.25]),
            blurhash: None,
            remote: false,
        }
    }

    #[test]
    fn entity_has_mastodon_shape() {
        let e = image().entity();
        assert_eq!(e["type"], "image");
        assert_eq!(e["preview_url"], "https://h.example/media/a.png");
        assert_eq!(e["remote_url"], Value::Null);
        assert_eq!(e["meta"]["original"]["size"], "640x480");
        assert_eq!(e["meta"]["focus"]["y"], -0.25);
        assert_eq!(e["description"], "a cat");
        let audio = Attachment {
            kind: "audio".into(),
            width: None,
            description: String::new(),
            remote: true,
            ..image()
        };
        let e = audio.entity();
        assert_eq!(e["preview_url"], Value::Null);
        assert_eq!(e["description"], Value::Null);
        assert_eq!(e["remote_url"], "https://h.example/media/a.png");
        assert!(e["meta"].get("original").is_none());
    }

    #[test]
    fn round_trip() {
        let stored = Attachment::write_list(&[image()]);
        assert_eq!(Attachment::read_list(&stored), vec![image()]);
        assert!(Attachment::read_list("not json").is_empty());
    }

    #[test]
    fn kinds_and_focus() {
        assert_eq!(Attachment::kind_of(Some("image/png"), "Document"), "image");
        assert_eq!(Attachment::kind_of(None, "Video"), "video");
        assert_eq!(Attachment::kind_of(Some("AUDIO/ogg"), "Document"), "audio");
        assert_eq!(Attachment::kind_of(Some("text/html"), "Link"), "unknown");
        assert_eq!(parse_focus("0.5,-1"), Some([0.5, -1.0]));
        assert_eq!(parse_focus("2,0"), None);
        assert_eq!(parse_focus("x"), None);
    }
}
