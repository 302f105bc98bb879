//! Content objects (`Note`, `Article`, `Page`, `Question`, `Video`, …) and `Tombstone`.

use serde_json::Value;
use sluice_model::Timestamp;

use super::json::{Obj, count, date, flag, html_url, iri, many, media_type, text, text_with_map};
use super::parts::{Attachment, Audience, Emoji, Hashtag, Image, Mention, Tags, total_of};
use super::{Ctx, Ref, parse_ref};

/// The type of a content object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// `Note`.
    Note,
    /// `Article` (Friendica, WordPress, Plume, NodeBB, Prismo).
    Article,
    /// `Page` (Lemmy posts, GNU social).
    Page,
    /// `Question` (polls).
    Question,
    /// `Video` (PeerTube).
    Video,
    /// `Audio` (Funkwhale).
    Audio,
    /// `Image`.
    Image,
    /// `Document`.
    Document,
    /// `Event` (Mobilizon).
    Event,
    /// Any other type on a document shaped like content (it has `content`, `name`,
    /// `attributedTo`, …): Pleroma's `ChatMessage`, Pixelfed's `Story`, GoToSocial's
    /// `LikeAuthorization`, …
    Other(String),
}

impl ObjectKind {
    pub(super) fn from_name(t: &str) -> Option<Self> {
        Some(match t {
            "Note" => Self::Note,
            "Article" => Self::Article,
            "Page" => Self::Page,
            "Question" => Self::Question,
            "Video" => Self::Video,
            "Audio" => Self::Audio,
            "Image" => Self::Image,
            "Document" => Self::Document,
            "Event" => Self::Event,
            _ => return None,
        })
    }

    /// The type name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Note => "Note",
            Self::Article => "Article",
            Self::Page => "Page",
            Self::Question => "Question",
            Self::Video => "Video",
            Self::Audio => "Audio",
            Self::Image => "Image",
            Self::Document => "Document",
            Self::Event => "Event",
            Self::Other(s) => s,
        }
    }
}

/// The author's source text (`source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The source text.
    pub content: String,
    /// Its media type (`text/markdown`, `text/x.misskeymarkdown`, …); `None` when
    /// Pleroma sends `source` as a bare string.
    pub media_type: Option<String>,
}

/// One poll option: `{"type": "Note", "name": …, "replies": {"totalItems": n}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOption {
    /// The option's text.
    pub name: String,
    /// Its vote count, if published.
    pub votes: Option<u64>,
}

/// The poll of a `Question`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// `anyOf` (several choices allowed) rather than `oneOf`.
    pub multiple: bool,
    /// The options (those without a name are dropped).
    pub options: Vec<PollOption>,
    /// `endTime` (`null` from Misskey for polls without an end).
    pub end_time: Option<Timestamp>,
    /// Whether `closed` is present: `true` or a date (Pleroma: a date without offset).
    pub closed: bool,
    /// The date in `closed`, if it is one.
    pub closed_at: Option<Timestamp>,
    /// `votersCount`, else the length of Pleroma's `voters` list.
    pub voters_count: Option<u64>,
}

impl Poll {
    /// Reads `oneOf`/`anyOf`. Pleroma may send both, one of them empty: the non-empty
    /// one wins, `oneOf` when both have options.
    fn read(m: &Obj, ctx: Ctx) -> Poll {
        let options = |k: &str| -> Vec<PollOption> {
            many(m.get(k), ctx.max_items)
                .filter_map(|o| {
                    let o = o.as_object()?;
                    Some(PollOption {
                        name: text(o.get("name"))?,
                        votes: total_of(o.get("replies")),
                    })
                })
                .collect()
        };
        let one = options("oneOf");
        let (multiple, options) = if one.is_empty() {
            let any = options("anyOf");
            (!any.is_empty(), any)
        } else {
            (false, one)
        };
        let (closed, closed_at) = match m.get("closed") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => (false, None),
            Some(v) => (true, date(Some(v))),
        };
        Poll {
            multiple,
            options,
            end_time: date(m.get("endTime")),
            closed,
            closed_at,
            voters_count: count(m.get("votersCount")).or_else(|| match m.get("voters") {
                Some(Value::Array(a)) => Some(a.len() as u64),
                _ => None,
            }),
        }
    }
}

/// A content object.
///
/// Text fields hold HTML exactly as sent: **sanitize before rendering**.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The object's id (an absolute http(s) IRI).
    pub id: String,
    /// The object's type.
    pub kind: ObjectKind,
    /// The author: the first actor-like entry of `attributedTo`.
    ///
    /// `attributedTo` may be an IRI, an embedded actor or an array of either. PeerTube
    /// sends `[Person, Group]` (account, then channel) and Plume `[user, blog]`: the
    /// first IRI string or embedded non-`Group` actor wins, a `Group` only when nothing
    /// else is there. Without `attributedTo`, an `actor` field on the object
    /// (Mobilizon, old Pleroma) is used.
    pub attributed_to: Option<String>,
    /// Every IRI of `attributedTo`, in order (e.g. PeerTube's channel after the account).
    pub attributed_to_all: Vec<String>,
    /// Body, HTML as sent: `content`, else the first non-empty `contentMap` value.
    pub content: Option<String>,
    /// Language: the `contentMap` key of the content, else `language` (a string or
    /// Lemmy/PeerTube's `{"identifier": "fr"}`), else `inLanguage` (Mobilizon).
    pub language: Option<String>,
    /// `mediaType` of `content` (PeerTube says `text/markdown`).
    pub media_type: Option<String>,
    /// `source`.
    pub source: Option<Source>,
    /// `name`: the title of a Lemmy `Page`, a PeerTube `Video`, an `Article` or an
    /// `Event` (their body is in `content`); the chosen option of a Mastodon poll vote
    /// (a `Note` with `name` and no `content`).
    pub name: Option<String>,
    /// `summary`: the content warning on a `Note`, a summary on an `Article`/`Video`.
    pub summary: Option<String>,
    /// `sensitive` (absent or `null` = `false`).
    pub sensitive: bool,
    /// Web page: a string, a Link or an array of Links (text/html preferred).
    pub url: Option<String>,
    /// `inReplyTo`: an IRI, or the `id` of an embedded object.
    pub in_reply_to: Option<String>,
    /// The quoted post: `quote` (FEP-044f), `quoteUri` (Fedibird, Akkoma), `quoteUrl`
    /// (Misskey, Akkoma) or `_misskey_quote`, first found.
    pub quote: Option<String>,
    /// `quoteAuthorization` (FEP-044f): the stamp the quoted post's author gave.
    pub quote_authorization: Option<String>,
    /// `interactionPolicy.canQuote.automaticApproval`: who may quote it, accepted at
    /// once (IRIs: the public, a followers collection, actors); None when not said.
    pub can_quote: Option<Vec<String>>,
    /// The thread: `context` (FEP-7888, Pleroma, Lemmy), else `conversation`
    /// (Mastodon's `tag:` URI, which is not an http IRI and is kept as sent), else GNU
    /// social's `inConversation`. An opaque key: compare it, never fetch it unchecked.
    pub conversation: Option<String>,
    /// `published`.
    pub published: Option<Timestamp>,
    /// `updated` (`null` from NodeBB = `None`).
    pub updated: Option<Timestamp>,
    /// Addressing.
    pub audience: Audience,
    /// `Mention` tags.
    pub mentions: Vec<Mention>,
    /// `Hashtag` tags (names without `#`).
    pub hashtags: Vec<Hashtag>,
    /// `Emoji` tags.
    pub emojis: Vec<Emoji>,
    /// Media attachments.
    pub attachments: Vec<Attachment>,
    /// `replies`: an IRI, or an embedded collection (often with its first page
    /// embedded).
    pub replies: Option<Ref>,
    /// `likes.totalItems`, if published.
    pub likes_count: Option<u64>,
    /// `shares.totalItems`, if published.
    pub shares_count: Option<u64>,
    /// The poll, for a `Question` (or any object with `oneOf`/`anyOf`).
    pub poll: Option<Poll>,
    /// Misskey's `_misskey_content`: the MFM source of the note.
    pub misskey_content: Option<String>,
    /// `icon` (PeerTube thumbnails).
    pub icon: Option<Image>,
    /// `image` (Lemmy's link preview, Bridgy Fed).
    pub image: Option<Image>,
    /// `startTime` (events).
    pub start_time: Option<Timestamp>,
    /// `endTime` (events; also a poll's end, see [`Poll::end_time`]).
    pub end_time: Option<Timestamp>,
}

/// Actor types an `attributedTo` entry may have to count as the author.
fn is_author_type(t: &str) -> bool {
    matches!(t, "Person" | "Service" | "Application" | "Organization")
}

fn author(v: Option<&Value>, ctx: Ctx) -> (Option<String>, Vec<String>) {
    let mut all = Vec::new();
    let mut chosen = None;
    let mut fallback = None;
    for x in many(v, ctx.max_items) {
        let Some(id) = iri(Some(x)) else { continue };
        let author_like = match x {
            Value::Object(m) => super::json::first_type(m).is_none_or(is_author_type),
            _ => true,
        };
        if author_like && chosen.is_none() {
            chosen = Some(id.clone());
        } else if fallback.is_none() {
            fallback = Some(id.clone());
        }
        all.push(id);
    }
    (chosen.or(fallback), all)
}

fn language(m: &Obj) -> Option<String> {
    match m.get("language") {
        Some(Value::Object(l)) => text(l.get("identifier")),
        other => text(other),
    }
    .or_else(|| text(m.get("inLanguage")))
}

impl Object {
    pub(super) fn read(m: &Obj, id: String, kind: ObjectKind, ctx: Ctx) -> Object {
        let (mut attributed_to, attributed_to_all) = author(m.get("attributedTo"), ctx);
        if attributed_to.is_none() {
            attributed_to = iri(m.get("actor"));
        }
        let (content, content_lang) = text_with_map(m, "content", "contentMap");
        let source = match m.get("source") {
            Some(Value::Object(s)) => text(s.get("content")).map(|content| Source {
                content,
                media_type: media_type(s),
            }),
            other => text(other).map(|content| Source {
                content,
                media_type: None,
            }),
        };
        let quote = ["quote", "quoteUri", "quoteUrl", "_misskey_quote"]
            .iter()
            .find_map(|k| iri(m.get(*k)));
        let quote_authorization = iri(m.get("quoteAuthorization"));
        let can_quote = m
            .get("interactionPolicy")
            .and_then(|p| p.get("canQuote"))
            .map(|c| {
                many(c.get("automaticApproval"), ctx.max_items)
                    .filter_map(|x| iri(Some(x)))
                    .collect()
            });
        let conversation = match m.get("context") {
            Some(Value::Object(_)) => iri(m.get("context")),
            other => text(other),
        }
        .or_else(|| text(m.get("conversation")))
        .or_else(|| text(m.get("inConversation")));
        let poll =
            (m.contains_key("oneOf") || m.contains_key("anyOf") || kind == ObjectKind::Question)
                .then(|| Poll::read(m, ctx));
        let tags = Tags::read(m, ctx);
        let replies = many(m.get("replies"), 1).find_map(|r| parse_ref(r, ctx));
        Object {
            attributed_to,
            attributed_to_all,
            content,
            language: content_lang.or_else(|| language(m)),
            media_type: media_type(m),
            source,
            name: text_with_map(m, "name", "nameMap").0,
            summary: text_with_map(m, "summary", "summaryMap").0,
            sensitive: flag(m.get("sensitive")).unwrap_or(false),
            url: html_url(m.get("url"), ctx.max_items),
            in_reply_to: iri(m.get("inReplyTo")),
            quote,
            quote_authorization,
            can_quote,
            conversation,
            published: date(m.get("published")),
            updated: date(m.get("updated")),
            audience: Audience::read(m, ctx),
            mentions: tags.mentions,
            hashtags: tags.hashtags,
            emojis: tags.emojis,
            attachments: Attachment::read_all(m.get("attachment"), ctx),
            replies,
            likes_count: total_of(m.get("likes")),
            shares_count: total_of(m.get("shares")),
            poll,
            misskey_content: text(m.get("_misskey_content")),
            icon: Image::read(m.get("icon"), ctx),
            image: Image::read(m.get("image"), ctx),
            start_time: date(m.get("startTime")),
            end_time: date(m.get("endTime")),
            id,
            kind,
        }
    }
}

/// A `Tombstone`: what is left of a deleted object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The deleted object's id.
    pub id: String,
    /// `formerType`, if stated.
    pub former_type: Option<String>,
    /// `deleted`, if stated.
    pub deleted: Option<Timestamp>,
    /// `published`, if stated.
    pub published: Option<Timestamp>,
    /// `updated`, if stated.
    pub updated: Option<Timestamp>,
}

impl Tombstone {
    pub(super) fn read(m: &Obj, id: String) -> Tombstone {
        Tombstone {
            id,
            former_type: text(m.get("formerType")),
            deleted: date(m.get("deleted")),
            published: date(m.get("published")),
            updated: date(m.get("updated")),
        }
    }
}
