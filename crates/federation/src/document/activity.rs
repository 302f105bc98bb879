//! Activities.

use sluice_model::Timestamp;

use super::json::{Obj, date, many, text};
use super::parts::{Audience, Emoji, Tags};
use super::{Ctx, Document, Ref, parse_ref};

/// The type of an activity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActivityKind {
    /// `Create`.
    Create,
    /// `Update`.
    Update,
    /// `Delete`.
    Delete,
    /// `Follow`.
    Follow,
    /// `Accept`.
    Accept,
    /// `Reject`.
    Reject,
    /// `Undo`.
    Undo,
    /// `Like` without a reaction.
    Like,
    /// `EmojiReact` (Pleroma, Akkoma), and also Misskey's `Like` carrying a reaction in
    /// `_misskey_reaction` or `content` — see [`Activity::type_name`] for what was sent.
    EmojiReact,
    /// `Dislike` (Lemmy, Friendica).
    Dislike,
    /// `Announce`.
    Announce,
    /// `Block`.
    Block,
    /// `Flag` (reports).
    Flag,
    /// `Move`.
    Move,
    /// `Add`.
    Add,
    /// `Remove`.
    Remove,
    /// `Join` (Mobilizon).
    Join,
    /// `Leave` (Mobilizon).
    Leave,
    /// `QuoteRequest` (FEP-044f: Mastodon 4.5 asks a quoted post's author).
    QuoteRequest,
    /// Any other type on a document shaped like an activity (it has an `actor`): Lemmy's
    /// `Lock`, GoToSocial's `LikeRequest`, Mobilizon's `Member`, …
    Other(String),
}

impl ActivityKind {
    pub(super) fn from_name(t: &str) -> Option<Self> {
        Some(match t {
            "Create" => Self::Create,
            "Update" => Self::Update,
            "Delete" => Self::Delete,
            "Follow" => Self::Follow,
            "Accept" => Self::Accept,
            "Reject" => Self::Reject,
            "Undo" => Self::Undo,
            "Like" => Self::Like,
            "EmojiReact" | "EmojiReaction" => Self::EmojiReact,
            "Dislike" => Self::Dislike,
            "Announce" => Self::Announce,
            "Block" => Self::Block,
            "Flag" => Self::Flag,
            "Move" => Self::Move,
            "Add" => Self::Add,
            "Remove" => Self::Remove,
            "Join" => Self::Join,
            "Leave" => Self::Leave,
            "QuoteRequest" => Self::QuoteRequest,
            _ => return None,
        })
    }

    /// The type name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Follow => "Follow",
            Self::Accept => "Accept",
            Self::Reject => "Reject",
            Self::Undo => "Undo",
            Self::Like => "Like",
            Self::EmojiReact => "EmojiReact",
            Self::Dislike => "Dislike",
            Self::Announce => "Announce",
            Self::Block => "Block",
            Self::Flag => "Flag",
            Self::Move => "Move",
            Self::Add => "Add",
            Self::Remove => "Remove",
            Self::Join => "Join",
            Self::Leave => "Leave",
            Self::QuoteRequest => "QuoteRequest",
            Self::Other(s) => s,
        }
    }
}

/// An activity.
///
/// Embedded objects (in `actor`, `object`, `target`, …) are whatever the sender wrote:
/// they are **not** authenticated by the activity's signature unless they come from the
/// same origin as the actor (see [`super::same_origin`]); fetch them otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// The activity's id. `None` for an intentionally transient activity (ActivityPub
    /// §3.1 allows it; GoToSocial sends `Delete` without an id), which therefore cannot
    /// be de-duplicated by id.
    pub id: Option<String>,
    /// The activity's type.
    pub kind: ActivityKind,
    /// The type as sent (the chosen one of a type array); differs from `kind.as_str()`
    /// for Misskey's `Like` read as [`ActivityKind::EmojiReact`].
    pub type_name: String,
    /// `actor`: an IRI, an embedded actor, an object with only an `id` (Hubzilla) or an
    /// array (Prismo): the first usable entry.
    pub actor: Option<Ref>,
    /// `object`: every usable entry, in order. Usually one (an IRI or an embedded
    /// object/activity/actor); a `Flag` lists the reported actor and posts (Mastodon,
    /// GoToSocial, Mbin), all kept.
    pub object: Vec<Ref>,
    /// `target` (Move's new account, Add/Remove's collection, Lemmy's community).
    pub target: Option<Ref>,
    /// `origin`.
    pub origin: Option<Ref>,
    /// `instrument` (Friendica's Service, GoToSocial's interaction requests).
    pub instrument: Option<Ref>,
    /// `result` (GoToSocial's approvals).
    pub result: Option<Ref>,
    /// Addressing.
    pub audience: Audience,
    /// `published`.
    pub published: Option<Timestamp>,
    /// `updated`.
    pub updated: Option<Timestamp>,
    /// `endTime` (Lemmy's temporary bans).
    pub end_time: Option<Timestamp>,
    /// `content`: a reaction's emoji, a report's comment.
    pub content: Option<String>,
    /// `summary`: Lemmy's reason for a moderation action.
    pub summary: Option<String>,
    /// The reaction of an `EmojiReact`: `_misskey_reaction`, else `content`.
    pub reaction: Option<String>,
    /// Custom emojis in `tag` (the image of a custom reaction).
    pub emojis: Vec<Emoji>,
}

impl Activity {
    pub(super) fn read(m: &Obj, id: Option<String>, kind: ActivityKind, ctx: Ctx) -> Activity {
        let type_name = kind.as_str().to_owned();
        let content = text(m.get("content"));
        let misskey_reaction = text(m.get("_misskey_reaction"));
        // Misskey federates every reaction as a `Like` carrying the emoji in
        // `_misskey_reaction` (and `content`); Pleroma reads those as `EmojiReact`, and
        // so do we. A plain `Like` (no reaction) stays a `Like`.
        let kind = match kind {
            ActivityKind::Like if misskey_reaction.is_some() || content.is_some() => {
                ActivityKind::EmojiReact
            }
            k => k,
        };
        let reaction = if kind == ActivityKind::EmojiReact {
            misskey_reaction.or_else(|| content.clone())
        } else {
            None
        };
        let one = |k: &str| many(m.get(k), ctx.max_items).find_map(|x| parse_ref(x, ctx));
        Activity {
            type_name,
            actor: one("actor"),
            object: many(m.get("object"), ctx.max_items)
                .filter_map(|x| parse_ref(x, ctx))
                .collect(),
            target: one("target"),
            origin: one("origin"),
            instrument: one("instrument"),
            result: one("result"),
            audience: Audience::read(m, ctx),
            published: date(m.get("published")),
            updated: date(m.get("updated")),
            end_time: date(m.get("endTime")),
            summary: text(m.get("summary")),
            emojis: Tags::read(m, ctx).emojis,
            content,
            reaction,
            id,
            kind,
        }
    }

    /// The actor's IRI.
    pub fn actor_id(&self) -> Option<&str> {
        self.actor.as_ref().and_then(Ref::id)
    }

    /// The first object's IRI (its `id` when embedded).
    pub fn object_id(&self) -> Option<&str> {
        self.object.first().and_then(Ref::id)
    }

    /// Every object's IRI, in order (all reported items of a `Flag`).
    pub fn object_ids(&self) -> impl Iterator<Item = &str> {
        self.object.iter().filter_map(Ref::id)
    }

    /// The first object, if it was embedded.
    pub fn embedded_object(&self) -> Option<&Document> {
        self.object.first().and_then(Ref::embedded)
    }

    /// The first object, if it is an embedded activity: the `Follow` inside an
    /// `Accept`, the `Like` inside an `Undo`, the `Create` inside Lemmy's `Announce`.
    /// `None` when only an IRI was sent (Mastodon's compact `Undo`).
    pub fn object_activity(&self) -> Option<&Activity> {
        match self.embedded_object()? {
            Document::Activity(a) => Some(a),
            _ => None,
        }
    }

    /// The target's IRI.
    pub fn target_id(&self) -> Option<&str> {
        self.target.as_ref().and_then(Ref::id)
    }
}
