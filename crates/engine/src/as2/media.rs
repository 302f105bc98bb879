//! Media: an attachment as a post embeds it, and an upload as its own object
//! (ActivityPub `uploadMedia`).

use serde_json::{Value, json};
use sluice_model::Timestamp;
use sluice_model::media::Attachment;
use sluice_store::{AccountRow, MediaRow};

use super::context;
use crate::urls::Urls;

/// An attachment as we federate it (Mastodon's shape: a `Document` with `mediaType`,
/// `name` as alt text, `focalPoint`, `width`, `height`).
pub fn attachment(a: &Attachment) -> Value {
    let mut doc = json!({
        "type": "Document",
        "url": a.url,
        "name": if a.description.is_empty() { Value::Null } else { Value::String(a.description.clone()) },
    });
    let o = doc.as_object_mut().expect("an object");
    if !a.media_type.is_empty() {
        o.insert("mediaType".into(), json!(a.media_type));
    }
    if let Some(b) = &a.blurhash {
        o.insert("blurhash".into(), json!(b));
    }
    if let Some(f) = a.focus {
        o.insert("focalPoint".into(), json!(f));
    }
    if let Some(w) = a.width {
        o.insert("width".into(), json!(w));
    }
    if let Some(h) = a.height {
        o.insert("height".into(), json!(h));
    }
    doc
}

/// The ActivityStreams object of an upload `m` of `owner`'s, `file` its attachment:
/// the type its client asked for (else `Image`, `Video` or `Audio`), the file as `url`,
/// alt text as `name`.
pub fn media_object(urls: &Urls, owner: &AccountRow, m: &MediaRow, file: &Attachment) -> Value {
    let mut doc = attachment(file);
    let kind = if m.object_type.is_empty() {
        match m.kind.as_str() {
            "video" | "gifv" => "Video",
            "audio" => "Audio",
            _ => "Image",
        }
    } else {
        m.object_type.as_str()
    };
    if let Some(o) = doc.as_object_mut() {
        o.insert("@context".into(), context());
        o.insert("id".into(), urls.media_object(&owner.username, m.id).into());
        o.insert("type".into(), kind.into());
        o.insert("attributedTo".into(), owner.uri.clone().into());
        o.insert(
            "published".into(),
            Timestamp(m.created_at).to_rfc3339().into(),
        );
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_document() {
        let image = Attachment {
            kind: "image".into(),
            media_type: "image/png".into(),
            url: "https://h.example/media/a.png".into(),
            description: "a cat".into(),
            focus: Some([0.5, -0.25]),
            ..Attachment::default()
        };
        let d = attachment(&image);
        assert_eq!(d["type"], "Document");
        assert_eq!(d["mediaType"], "image/png");
        assert_eq!(d["name"], "a cat");
        assert_eq!(d["focalPoint"][0], 0.5);
    }
}
