//! Actors: `Person`, `Service`, `Application`, `Group`, `Organization`.

use serde_json::Value;
use sluice_model::Timestamp;

use super::json::{Obj, date, flag, html_url, iri, iris, many, text, text_with_map};
use super::parts::{Emoji, Hashtag, Image, PropertyValue, Tags};
use super::{Ctx, same_origin};

/// The type of an actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// `Person`.
    Person,
    /// `Service` (bots, relays, Bridgy Fed).
    Service,
    /// `Application` (instance actors, GoToSocial bots, relays).
    Application,
    /// `Group` (Lemmy communities, PeerTube channels, Mobilizon and Friendica groups).
    Group,
    /// `Organization`.
    Organization,
    /// Any other type on a document shaped like an actor (it has an `inbox`).
    Other(String),
}

impl ActorKind {
    pub(super) fn from_name(t: &str) -> Option<Self> {
        Some(match t {
            "Person" => Self::Person,
            "Service" => Self::Service,
            "Application" => Self::Application,
            "Group" => Self::Group,
            "Organization" => Self::Organization,
            _ => return None,
        })
    }

    /// The type name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Person => "Person",
            Self::Service => "Service",
            Self::Application => "Application",
            Self::Group => "Group",
            Self::Organization => "Organization",
            Self::Other(s) => s,
        }
    }
}

/// An actor's public key (`publicKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The key id, compared with a signature's `keyId`. Either a fragment of the actor
    /// (`…#main-key`, Mastodon) or a path of its own (`…/main-key`, GoToSocial) — use it
    /// as given, never derive it from the actor id.
    pub id: Option<String>,
    /// The key's `owner`: must equal the actor's id for the key to count (checked by
    /// [`Actor::key`], not here).
    pub owner: Option<String>,
    /// `publicKeyPem`, as sent (Akkoma's ends with an extra blank line). `None` when the
    /// key is only referenced.
    pub pem: Option<String>,
}

/// An actor document.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// The actor's id (an absolute http(s) IRI).
    pub id: String,
    /// The actor's type.
    pub kind: ActorKind,
    /// `preferredUsername` (numbers are accepted and rendered as text).
    pub preferred_username: Option<String>,
    /// Display name (`name`, else `nameMap`); may contain `:emoji:` shortcodes.
    pub name: Option<String>,
    /// Bio, HTML as sent (unsanitized).
    pub summary: Option<String>,
    /// Profile page: a string, a Link, or an array (text/html preferred).
    pub url: Option<String>,
    /// `inbox`. Not required by the parser; an actor without one cannot be delivered to.
    pub inbox: Option<String>,
    /// `outbox`.
    pub outbox: Option<String>,
    /// `followers`.
    pub followers: Option<String>,
    /// `following`.
    pub following: Option<String>,
    /// `featured` (pinned posts collection).
    pub featured: Option<String>,
    /// `featuredTags`.
    pub featured_tags: Option<String>,
    /// `endpoints.sharedInbox`, else a top-level `sharedInbox` (Misskey sends both).
    /// `endpoints` may also be a bare IRI (Kroeg), which gives nothing.
    pub shared_inbox: Option<String>,
    /// Public keys: `publicKey` may be one object or an array.
    pub public_keys: Vec<PublicKey>,
    /// Avatar (`icon`).
    pub icon: Option<Image>,
    /// Header (`image`).
    pub image: Option<Image>,
    /// `manuallyApprovesFollowers` (absent = `false`).
    pub manually_approves_followers: bool,
    /// `discoverable`, if stated.
    pub discoverable: Option<bool>,
    /// `indexable`, if stated.
    pub indexable: Option<bool>,
    /// `memorial` (absent = `false`).
    pub memorial: bool,
    /// `suspended` (absent = `false`).
    pub suspended: bool,
    /// `movedTo`.
    pub moved_to: Option<String>,
    /// `alsoKnownAs`: a string or an array (Pleroma sends `[]`).
    pub also_known_as: Vec<String>,
    /// `published`.
    pub published: Option<Timestamp>,
    /// `updated`.
    pub updated: Option<Timestamp>,
    /// Profile fields: `PropertyValue` entries of `attachment`.
    pub fields: Vec<PropertyValue>,
    /// Custom emojis used in the name and bio (`Emoji` tags).
    pub emojis: Vec<Emoji>,
    /// Hashtags in `tag` (Misskey lists the profile's hashtags there).
    pub hashtags: Vec<Hashtag>,
    /// `attributedTo`: Lemmy's moderators collection, PeerTube's owning account.
    pub attributed_to: Vec<String>,
}

impl Actor {
    pub(super) fn read(m: &Obj, id: String, kind: ActorKind, ctx: Ctx) -> Actor {
        let mut public_keys = Vec::new();
        for k in many(m.get("publicKey"), ctx.max_items) {
            match k {
                Value::Object(k) => {
                    let key = PublicKey {
                        id: text(k.get("id")).map(|s| s.trim().to_owned()),
                        owner: iri(k.get("owner")),
                        pem: text(k.get("publicKeyPem")),
                    };
                    if key.id.is_some() || key.pem.is_some() {
                        public_keys.push(key);
                    }
                }
                Value::String(s) if !s.trim().is_empty() => public_keys.push(PublicKey {
                    id: Some(s.trim().to_owned()),
                    owner: None,
                    pem: None,
                }),
                _ => {}
            }
        }
        let shared_inbox = match m.get("endpoints") {
            Some(Value::Object(e)) => iri(e.get("sharedInbox")),
            _ => None,
        }
        .or_else(|| iri(m.get("sharedInbox")));
        let tags = Tags::read(m, ctx);
        Actor {
            preferred_username: text(m.get("preferredUsername")),
            name: text_with_map(m, "name", "nameMap").0,
            summary: text_with_map(m, "summary", "summaryMap").0,
            url: html_url(m.get("url"), ctx.max_items),
            inbox: iri(m.get("inbox")),
            outbox: iri(m.get("outbox")),
            followers: iri(m.get("followers")),
            following: iri(m.get("following")),
            featured: iri(m.get("featured")),
            featured_tags: iri(m.get("featuredTags")),
            shared_inbox,
            public_keys,
            icon: Image::read(m.get("icon"), ctx),
            image: Image::read(m.get("image"), ctx),
            manually_approves_followers: flag(m.get("manuallyApprovesFollowers")).unwrap_or(false),
            discoverable: flag(m.get("discoverable")),
            indexable: flag(m.get("indexable")),
            memorial: flag(m.get("memorial")).unwrap_or(false),
            suspended: flag(m.get("suspended")).unwrap_or(false),
            moved_to: iri(m.get("movedTo")),
            also_known_as: iris(m.get("alsoKnownAs"), ctx.max_items),
            published: date(m.get("published")),
            updated: date(m.get("updated")),
            fields: PropertyValue::read_all(m.get("attachment"), ctx),
            emojis: tags.emojis,
            hashtags: tags.hashtags,
            attributed_to: iris(m.get("attributedTo"), ctx.max_items),
            id,
            kind,
        }
    }

    /// The first public key, if any.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public_keys.first()
    }

    /// The keys this actor may sign with: each has an id on the actor's own origin and
    /// a PEM, and is owned by this actor (or names no owner). A listed key with an id on
    /// another server (ours, say) or owned by another actor is not the actor's: taking
    /// it would let one server plant keys for another's actors.
    pub fn own_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.public_keys.iter().filter(|k| {
            k.pem.is_some()
                && k.id.as_deref().is_some_and(|id| same_origin(id, &self.id))
                && k.owner.as_deref().is_none_or(|o| o == self.id)
        })
    }

    /// The key with id `key_id` that this actor may use (one of [`Actor::own_keys`]).
    pub fn key(&self, key_id: &str) -> Option<&PublicKey> {
        self.own_keys().find(|k| k.id.as_deref() == Some(key_id))
    }

    /// Whether the actor is automated (`Service` or `Application`).
    pub fn is_bot(&self) -> bool {
        matches!(self.kind, ActorKind::Service | ActorKind::Application)
    }

    /// The inbox to deliver to: the shared inbox if there is one, else the inbox.
    pub fn delivery_inbox(&self) -> Option<&str> {
        self.shared_inbox.as_deref().or(self.inbox.as_deref())
    }
}
