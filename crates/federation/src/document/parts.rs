//! Pieces shared by several document types: audiences, images, attachments, tags,
//! links.

use serde_json::Value;
use sluice_model::Timestamp;

use super::json::{
    Obj, audience_list, count, date, dimension, first_type, flag, http_iri, iri, links, many,
    media_type, text,
};
use super::{Ctx, is_public};

/// Who a document is addressed to: lists of IRIs as sent, including the Public
/// collection under any of its spellings (see [`super::is_public`]).
///
/// Each field may arrive as a single string (GoToSocial, Pixelfed, lotide, Mastodon's
/// `Flag`), an array, or embedded objects (their `id` is taken).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    /// `to`.
    pub to: Vec<String>,
    /// `cc`.
    pub cc: Vec<String>,
    /// `bto` (should be stripped before delivery; kept for completeness).
    pub bto: Vec<String>,
    /// `bcc` (should be stripped before delivery; kept for completeness).
    pub bcc: Vec<String>,
    /// `audience`: Lemmy and Mbin name the community here, WordPress the blog actor,
    /// Owncast the Public collection.
    pub audience: Vec<String>,
}

impl Audience {
    pub(super) fn read(m: &Obj, ctx: Ctx) -> Self {
        let list = |k: &str| audience_list(m.get(k), ctx.max_items);
        Audience {
            to: list("to"),
            cc: list("cc"),
            bto: list("bto"),
            bcc: list("bcc"),
            audience: list("audience"),
        }
    }

    /// Whether the Public collection is in `to`, `cc` or `audience`.
    pub fn is_public(&self) -> bool {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.audience)
            .any(|i| is_public(i))
    }

    /// Whether the Public collection is in `to` (Mastodon's "public", as opposed to
    /// "unlisted" with Public only in `cc`).
    pub fn is_public_in_to(&self) -> bool {
        self.to.iter().any(|i| is_public(i))
    }

    /// Whether `iri` is among the recipients (`to`, `cc`, `bto`, `bcc`, `audience`).
    pub fn contains(&self, iri: &str) -> bool {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bto)
            .chain(&self.bcc)
            .chain(&self.audience)
            .any(|i| i == iri)
    }

    /// Whether there is no recipient at all.
    pub fn is_empty(&self) -> bool {
        self.to.is_empty()
            && self.cc.is_empty()
            && self.bto.is_empty()
            && self.bcc.is_empty()
            && self.audience.is_empty()
    }
}

/// An image reference: an actor's `icon`/`image`, an object's `icon`/`image`, a custom
/// emoji's `icon`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The image's http(s) URL.
    pub url: String,
    /// `mediaType`, if stated.
    pub media_type: Option<String>,
    /// Width in pixels, if stated.
    pub width: Option<u32>,
    /// Height in pixels, if stated.
    pub height: Option<u32>,
}

impl Image {
    /// Reads an image field: an URL string, an `Image` object whose `url` is a string, a
    /// Link or an array of them, or an array of such images.
    ///
    /// - An array (PeerTube sends several avatar sizes, Bridgy Fed several icons) gives
    ///   the widest image that states a width, else the first.
    /// - Smithereen may put the full picture in a nested `icon.image` (with a
    ///   `cropRegion`) and the cropped one in `icon.url`: `url` wins, the nested image is
    ///   the fallback.
    pub(super) fn read(v: Option<&Value>, ctx: Ctx) -> Option<Image> {
        let mut best: Option<Image> = None;
        for x in many(v, ctx.max_items) {
            let Some(img) = Self::one(x, ctx, true) else {
                continue;
            };
            let wider = match &best {
                None => true,
                Some(b) => img.width.unwrap_or(0) > b.width.unwrap_or(0),
            };
            if wider {
                best = Some(img);
            }
        }
        best
    }

    fn one(v: &Value, ctx: Ctx, nested_ok: bool) -> Option<Image> {
        match v {
            Value::String(s) => http_iri(s).map(|url| Image {
                url,
                media_type: None,
                width: None,
                height: None,
            }),
            Value::Object(m) => {
                let link = links(m.get("url"), ctx.max_items)
                    .into_iter()
                    .next()
                    .or_else(|| links(m.get("href").map(|_| v), 1).into_iter().next());
                match link {
                    Some(l) => Some(Image {
                        url: l.href,
                        media_type: media_type(m).or(l.media_type),
                        width: dimension(m.get("width")),
                        height: dimension(m.get("height")),
                    }),
                    None if nested_ok => m.get("image").and_then(|i| Self::one(i, ctx, false)),
                    None => None,
                }
            }
            _ => None,
        }
    }
}

/// A media attachment of an object (`Document`, `Image`, `Video`, `Audio`, `Link`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// The attachment's type as sent (`Document`, `Image`, `Link`, …).
    pub kind: String,
    /// The media URL.
    pub url: String,
    /// `mediaType` (or `mimeType`), of the attachment or else of the chosen link.
    pub media_type: Option<String>,
    /// Alt text: `name`, else `summary` (GoToSocial), else `content` (Owncast).
    pub name: Option<String>,
    /// Mastodon's `blurhash`.
    pub blurhash: Option<String>,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Mastodon's `focalPoint` `[x, y]`, each in -1..=1.
    pub focal_point: Option<[f64; 2]>,
    /// Whether the attachment itself is marked sensitive (Misskey).
    pub sensitive: bool,
}

impl Attachment {
    /// Reads `attachment`: one object (Owncast, Pixelfed stories) or an array.
    ///
    /// - The URL comes from `url` (a string, a Link, or an array of Links: the one whose
    ///   media type matches the attachment's, else the first) or from `href` (Lemmy's
    ///   `Link` attachments). Attachments without an http(s) URL are dropped.
    /// - `PropertyValue` entries (profile fields, also found on PeerTube links) and
    ///   `IdentityProof`s are not media and are skipped.
    /// - A bare URL string becomes a `Link` attachment.
    pub(super) fn read_all(v: Option<&Value>, ctx: Ctx) -> Vec<Attachment> {
        many(v, ctx.max_items)
            .filter_map(|x| Self::one(x, ctx))
            .collect()
    }

    fn one(v: &Value, ctx: Ctx) -> Option<Attachment> {
        let m = match v {
            Value::String(s) => {
                return http_iri(s).map(|url| Attachment {
                    kind: "Link".into(),
                    url,
                    media_type: None,
                    name: None,
                    blurhash: None,
                    width: None,
                    height: None,
                    focal_point: None,
                    sensitive: false,
                });
            }
            Value::Object(m) => m,
            _ => return None,
        };
        let kind = first_type(m).unwrap_or("Document");
        if matches!(kind, "PropertyValue" | "IdentityProof") {
            return None;
        }
        let own_type = media_type(m);
        let mut candidates = links(m.get("url"), ctx.max_items);
        if candidates.is_empty() {
            candidates = links(m.get("href").map(|_| v), 1);
        }
        let pick = own_type
            .as_deref()
            .and_then(|t| {
                candidates
                    .iter()
                    .position(|l| l.media_type.as_deref() == Some(t))
            })
            .unwrap_or(0);
        let link = candidates.into_iter().nth(pick)?;
        let focal_point = match m.get("focalPoint") {
            Some(Value::Array(a)) if a.len() == 2 => match (a[0].as_f64(), a[1].as_f64()) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                    Some([x.clamp(-1.0, 1.0), y.clamp(-1.0, 1.0)])
                }
                _ => None,
            },
            _ => None,
        };
        Some(Attachment {
            kind: kind.to_owned(),
            url: link.href,
            media_type: own_type.or(link.media_type),
            name: text(m.get("name"))
                .or_else(|| text(m.get("summary")))
                .or_else(|| text(m.get("content"))),
            blurhash: text(m.get("blurhash")),
            width: dimension(m.get("width")),
            height: dimension(m.get("height")),
            focal_point,
            sensitive: flag(m.get("sensitive")).unwrap_or(false),
        })
    }
}

/// A mention tag: `{"type": "Mention", "href": actor IRI, "name": "@user@host"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The mentioned actor's IRI (mentions without an http(s) `href` are dropped).
    pub href: String,
    /// The handle as written, e.g. `@user@host` (BookWyrm omits the leading `@`).
    pub name: Option<String>,
}

/// A hashtag tag: `{"type": "Hashtag", "name": "#tag", "href": …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashtag {
    /// The tag without its leading `#` (Mobilizon keeps capitals: `Dance`).
    pub name: String,
    /// The tag page on the origin server, if given.
    pub href: Option<String>,
}

/// A custom emoji: `{"type": "Emoji", "name": ":code:", "icon": {"url": …}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emoji {
    /// The shortcode without surrounding colons.
    pub shortcode: String,
    /// The image URL.
    pub url: String,
    /// The image's media type, if stated.
    pub media_type: Option<String>,
    /// The emoji's own IRI, if any.
    pub id: Option<String>,
    /// When the emoji last changed, if stated.
    pub updated: Option<Timestamp>,
}

/// The recognized entries of a `tag` field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    /// `Mention` tags.
    pub mentions: Vec<Mention>,
    /// `Hashtag` tags.
    pub hashtags: Vec<Hashtag>,
    /// `Emoji` tags.
    pub emojis: Vec<Emoji>,
}

impl Tags {
    /// Reads `tag` — a single object (GoToSocial, Pixelfed, Kroeg) or an array — or,
    /// when absent, Prismo's `tags`. Unknown tag types (Lemmy's `CommunityPostTag`,
    /// PeerTube's `Infohash`, …) and malformed entries are skipped.
    pub(super) fn read(m: &Obj, ctx: Ctx) -> Tags {
        let field = m.get("tag").or_else(|| m.get("tags"));
        let mut tags = Tags::default();
        for t in many(field, ctx.max_items) {
            let Value::Object(t) = t else { continue };
            match first_type(t) {
                Some("Mention") => {
                    if let Some(href) = iri(t.get("href")) {
                        tags.mentions.push(Mention {
                            href,
                            name: text(t.get("name")),
                        });
                    }
                }
                Some("Hashtag") => {
                    if let Some(name) = text(t.get("name")) {
                        let name = name.trim().trim_start_matches('#').to_owned();
                        if !name.is_empty() {
                            tags.hashtags.push(Hashtag {
                                name,
                                href: iri(t.get("href")),
                            });
                        }
                    }
                }
                Some("Emoji") => {
                    let shortcode = text(t.get("name"))
                        .map(|n| n.trim().trim_matches(':').to_owned())
                        .filter(|n| !n.is_empty());
                    let icon = Image::read(t.get("icon"), ctx);
                    if let (Some(shortcode), Some(icon)) = (shortcode, icon) {
                        tags.emojis.push(Emoji {
                            shortcode,
                            url: icon.url,
                            media_type: icon.media_type,
                            id: iri(t.get("id")),
                            updated: date(t.get("updated")),
                        });
                    }
                }
                _ => {}
            }
        }
        tags
    }
}

/// A Link (`{"type": "Link", "href": …}`), as a document of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// `id`, rarely present.
    pub id: Option<String>,
    /// `href`: an absolute http(s) IRI.
    pub href: String,
    /// `mediaType` (or `mimeType`).
    pub media_type: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `rel` values.
    pub rel: Vec<String>,
    /// `hreflang`.
    pub hreflang: Option<String>,
    /// `width`.
    pub width: Option<u32>,
    /// `height`.
    pub height: Option<u32>,
}

impl Link {
    pub(super) fn read(m: &Obj, id: Option<String>, ctx: Ctx) -> Option<Link> {
        Some(Link {
            href: iri(m.get("href"))?,
            id,
            media_type: media_type(m),
            name: text(m.get("name")),
            rel: many(m.get("rel"), ctx.max_items)
                .filter_map(|r| text(Some(r)))
                .collect(),
            hreflang: text(m.get("hreflang")),
            width: dimension(m.get("width")),
            height: dimension(m.get("height")),
        })
    }
}

/// A profile field (`PropertyValue` in an actor's `attachment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyValue {
    /// The label.
    pub name: String,
    /// The value, HTML as sent (often a link); empty if missing.
    pub value: String,
}

impl PropertyValue {
    pub(super) fn read_all(v: Option<&Value>, ctx: Ctx) -> Vec<PropertyValue> {
        many(v, ctx.max_items)
            .filter_map(|x| {
                let m = x.as_object()?;
                (first_type(m) == Some("PropertyValue")).then_some(())?;
                Some(PropertyValue {
                    name: text(m.get("name"))?,
                    value: text(m.get("value")).unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// The `totalItems` of an embedded collection (`likes`, `shares`, a poll option's
/// `replies`), or a bare number some servers put there instead.
pub(super) fn total_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Object(m) => count(m.get("totalItems")),
        other => count(Some(other)),
    }
}
