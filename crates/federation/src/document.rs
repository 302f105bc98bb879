//! Tolerant parsing of remote ActivityStreams 2.0 documents into plain Rust types.
//!
//! No JSON-LD processing: documents are read as compacted JSON, the way real servers
//! send them, and `@context` is ignored (it may be missing, a string, an array or an
//! object). The reader is built on what the fediverse actually sends (see
//! `tests/fixtures/activitypub/README.md`):
//!
//! - every field may be a single value or an array; every object reference may be an
//!   IRI, an embedded object, or an array of either — each field's documentation says
//!   which entry is taken;
//! - `type` may be a string or an array (the first known type wins); unknown types are
//!   kept as `Other(String)` or, for documents that look like nothing we know,
//!   [`Document::Unknown`] with the raw JSON — never an error by themselves;
//! - text fields accept numbers and JSON-LD `@value` objects; dates accept the usual
//!   deviations from RFC 3339 ([`parse_date`]); anything unreadable becomes `None`;
//! - only absolute `http`/`https` IRIs come out as references and URLs.
//!
//! What *is* an error ([`ParseError`]) is limited to the document as a whole: too big,
//! too deep, not JSON, not an object, a NUL character anywhere in it, no usable
//! `type`, no usable `id`.
//!
//! A NUL (`\u0000`) means nothing in any property, and PostgreSQL cannot keep one in
//! text: a document holding one is refused whole, whoever sent or served it (an inbox
//! POST gets 400, a fetched actor or post is not taken), on both engines alike.
//! Refused rather than stripped: a copy that differs from what its origin serves
//! could turn two different ids into one.
//!
//! # Limits
//!
//! [`Limits`] bounds the work: the size of the input ([`DEFAULT_MAX_BYTES`]), its
//! nesting depth ([`DEFAULT_MAX_DEPTH`], checked on the raw bytes before serde_json
//! builds anything, and iteratively on a caller's `Value`), and the number of entries
//! read from any one array ([`DEFAULT_MAX_ITEMS`]; the rest is dropped).
//!
//! # Ids
//!
//! The root must have an absolute http(s) `id`, except:
//! - activities, which ActivityPub §3.1 allows to be transient (GoToSocial sends
//!   `Delete` without an id) — [`Activity::id`] is then `None`;
//! - collections, which may be anonymous (GoToSocial renders followers without an id,
//!   Mastodon embeds the first page of `replies` without one);
//! - a bare `Link`, identified by its `href`.
//!
//! An `id` that is present but is not an absolute http(s) IRI (`javascript:…`, a
//! relative path, a number) is always an error at the root; embedded objects with such
//! an id are dropped.
//!
//! # Trust
//!
//! Parsing says nothing about authenticity. Embedded objects are whatever the sender
//! wrote; the inbox must check [`same_origin`] between an activity, its actor and its
//! object, and fetch the object from its origin otherwise. All HTML (content, summary,
//! names, profile fields) is as sent and must be sanitized before rendering.

mod activity;
mod actor;
mod collection;
mod date;
mod depth;
mod json;
mod object;
mod parts;

use serde_json::{Map, Value};
use url::Url;

pub use activity::{Activity, ActivityKind};
pub use actor::{Actor, ActorKind, PublicKey};
pub use collection::{Collection, CollectionKind};
pub use date::parse_date;
pub use object::{Object, ObjectKind, Poll, PollOption, Source, Tombstone};
pub use parts::{Attachment, Audience, Emoji, Hashtag, Image, Link, Mention, PropertyValue};

/// Default maximum size of a document: 1 MiB.
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;
/// Default maximum nesting depth of arrays and objects (the root object is depth 1).
pub const DEFAULT_MAX_DEPTH: usize = 32;
/// Default maximum number of entries read from any one array; the rest is dropped.
pub const DEFAULT_MAX_ITEMS: usize = 1000;
/// Hard ceiling on the nesting depth, whatever [`Limits::max_depth`] says: serde_json's
/// own recursion limit.
pub const MAX_DEPTH_CEILING: usize = 128;
/// Longest IRI accepted as an id, reference or URL, in bytes.
pub const MAX_IRI_LEN: usize = 8 * 1024;

/// Bounds on the work done for one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum input size in bytes ([`parse_with_limits`] only: a `Value` has no size).
    pub max_bytes: usize,
    /// Maximum nesting depth of arrays and objects; the root object is depth 1. Clamped
    /// to [`MAX_DEPTH_CEILING`].
    pub max_depth: usize,
    /// Maximum number of entries read from any one array.
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_items: DEFAULT_MAX_ITEMS,
        }
    }
}

/// Why a document was rejected. The messages never quote the document, so they are
/// safe to log and to return to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input is larger than [`Limits::max_bytes`].
    #[error("document too large: {size} bytes, the limit is {limit}")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Arrays/objects nest deeper than [`Limits::max_depth`].
    #[error("document nested too deeply: the limit is {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The input is not valid JSON (or not UTF-8).
    #[error("not valid JSON (line {line}, column {column})")]
    NotJson {
        /// Line of the first error (1-based).
        line: usize,
        /// Column of the first error (1-based).
        column: usize,
    },
    /// The root is valid JSON but not an object.
    #[error("the document is not a JSON object")]
    NotAnObject,
    /// A string or a property name holds a NUL character (`\u0000`).
    #[error("the document holds a NUL character (\\u0000), which no property may hold")]
    Nul,
    /// No `type`, or a `type` with no non-empty string in it.
    #[error("the document has no type")]
    MissingType,
    /// No `id` on a document that needs one.
    #[error("the document has no id")]
    MissingId,
    /// An `id` that is not an absolute http(s) IRI.
    #[error("the document's id is not an absolute http(s) IRI")]
    InvalidId,
    /// A `Link` without an absolute http(s) `href`.
    #[error("the link has no absolute http(s) href")]
    MissingHref,
}

/// Parsing state passed down to nested readers.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    max_items: usize,
    /// How many more levels of embedded documents may be read.
    depth_left: usize,
}

impl Ctx {
    fn new(limits: &Limits) -> Self {
        Ctx {
            max_items: limits.max_items,
            depth_left: limits.max_depth.min(MAX_DEPTH_CEILING),
        }
    }

    fn nested(self) -> Option<Ctx> {
        Some(Ctx {
            depth_left: self.depth_left.checked_sub(1)?,
            ..self
        })
    }
}

/// A reference to another document: its IRI, or the document itself when embedded.
#[derive(Debug, Clone, PartialEq)]
pub enum Ref {
    /// Only the IRI was sent (or the embedded object could not be read but had an id,
    /// or it was of an unknown kind).
    Iri(String),
    /// The document was embedded and read.
    Embedded(Box<Document>),
}

impl Ref {
    /// The referenced document's IRI (`None` for an embedded document without an id,
    /// e.g. a transient activity or an anonymous collection page).
    pub fn id(&self) -> Option<&str> {
        match self {
            Ref::Iri(i) => Some(i),
            Ref::Embedded(d) => d.id(),
        }
    }

    /// The embedded document, if it was embedded.
    pub fn embedded(&self) -> Option<&Document> {
        match self {
            Ref::Iri(_) => None,
            Ref::Embedded(d) => Some(d),
        }
    }
}

/// A document of a type we do not know and whose shape says nothing either.
#[derive(Debug, Clone, PartialEq)]
pub struct Unknown {
    /// The document's id.
    pub id: String,
    /// Its type (the first one, if `type` was an array).
    pub type_name: String,
    /// The whole document as received. Kept for the root document only: an unknown
    /// document embedded in another becomes a [`Ref::Iri`].
    pub raw: Value,
}

/// A remote ActivityStreams document.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one document is parsed at a time; embedded ones are already boxed in `Ref`"
)]
pub enum Document {
    /// An actor.
    Actor(Actor),
    /// A content object.
    Object(Object),
    /// An activity.
    Activity(Activity),
    /// A collection or collection page.
    Collection(Collection),
    /// A `Tombstone`.
    Tombstone(Tombstone),
    /// A `Link`.
    Link(Link),
    /// Anything else (with the raw JSON).
    Unknown(Unknown),
}

impl Document {
    /// The document's id. `None` only for a transient activity, an anonymous
    /// collection, or a `Link` without an `id` (whose identity is its `href`).
    pub fn id(&self) -> Option<&str> {
        match self {
            Document::Actor(a) => Some(&a.id),
            Document::Object(o) => Some(&o.id),
            Document::Activity(a) => a.id.as_deref(),
            Document::Collection(c) => c.id.as_deref(),
            Document::Tombstone(t) => Some(&t.id),
            Document::Link(l) => l.id.as_deref(),
            Document::Unknown(u) => Some(&u.id),
        }
    }

    /// The document's type, as a name: the canonical name of a known kind (so a
    /// Misskey `Like` with a reaction says `EmojiReact`), else the type as sent.
    pub fn kind(&self) -> &str {
        match self {
            Document::Actor(a) => a.kind.as_str(),
            Document::Object(o) => o.kind.as_str(),
            Document::Activity(a) => a.kind.as_str(),
            Document::Collection(c) => c.kind.as_str(),
            Document::Tombstone(_) => "Tombstone",
            Document::Link(_) => "Link",
            Document::Unknown(u) => &u.type_name,
        }
    }

    /// The activity's actor IRI (`None` for non-activities).
    pub fn actor_id(&self) -> Option<&str> {
        self.as_activity()?.actor_id()
    }

    /// The activity's (first) object IRI (`None` for non-activities).
    pub fn object_id(&self) -> Option<&str> {
        self.as_activity()?.object_id()
    }

    /// The document as an activity.
    pub fn as_activity(&self) -> Option<&Activity> {
        match self {
            Document::Activity(a) => Some(a),
            _ => None,
        }
    }

    /// The document as an actor.
    pub fn as_actor(&self) -> Option<&Actor> {
        match self {
            Document::Actor(a) => Some(a),
            _ => None,
        }
    }

    /// The document as a content object.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Document::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The document as a collection.
    pub fn as_collection(&self) -> Option<&Collection> {
        match self {
            Document::Collection(c) => Some(c),
            _ => None,
        }
    }

    /// The document as a tombstone.
    pub fn as_tombstone(&self) -> Option<&Tombstone> {
        match self {
            Document::Tombstone(t) => Some(t),
            _ => None,
        }
    }

    /// The addressing of an object or activity.
    pub fn audience(&self) -> Option<&Audience> {
        match self {
            Document::Object(o) => Some(&o.audience),
            Document::Activity(a) => Some(&a.audience),
            _ => None,
        }
    }
}

/// Parses a document with the default [`Limits`].
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    parse_with_limits(bytes, &Limits::default())
}

/// Parses a document within `limits`: size first, then nesting depth on the raw bytes,
/// then JSON, then the document. A leading UTF-8 byte-order mark is skipped.
pub fn parse_with_limits(bytes: &[u8], limits: &Limits) -> Result<Document, ParseError> {
    if bytes.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let max_depth = limits.max_depth.min(MAX_DEPTH_CEILING);
    if depth::bytes_exceed(bytes, max_depth) {
        return Err(ParseError::TooDeep { limit: max_depth });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ParseError::NotJson {
        line: e.line(),
        column: e.column(),
    })?;
    let Value::Object(m) = &value else {
        return Err(ParseError::NotAnObject);
    };
    if sluice_model::content::json_has_nul(&value) {
        return Err(ParseError::Nul);
    }
    read_document(m, Ctx::new(limits), true)
}

/// Reads a document from an already parsed JSON value, with the default [`Limits`]
/// (the size limit cannot apply).
pub fn parse_value(value: &Value) -> Result<Document, ParseError> {
    parse_value_with_limits(value, &Limits::default())
}

/// Reads a document from an already parsed JSON value within `limits` (depth and
/// items; the size limit cannot apply to a value).
pub fn parse_value_with_limits(value: &Value, limits: &Limits) -> Result<Document, ParseError> {
    let max_depth = limits.max_depth.min(MAX_DEPTH_CEILING);
    if depth::value_exceeds(value, max_depth) {
        return Err(ParseError::TooDeep { limit: max_depth });
    }
    let Value::Object(m) = value else {
        return Err(ParseError::NotAnObject);
    };
    if sluice_model::content::json_has_nul(value) {
        return Err(ParseError::Nul);
    }
    read_document(m, Ctx::new(limits), true)
}

/// What a document is, from its type (or, for an unknown type, its shape).
enum Class {
    Actor(ActorKind),
    Object(ObjectKind),
    Activity(ActivityKind),
    Collection(CollectionKind),
    Tombstone,
    Link,
    Unknown(String),
}

fn known(t: &str) -> Option<Class> {
    if let Some(k) = ActorKind::from_name(t) {
        return Some(Class::Actor(k));
    }
    if let Some(k) = ObjectKind::from_name(t) {
        return Some(Class::Object(k));
    }
    if let Some(k) = ActivityKind::from_name(t) {
        return Some(Class::Activity(k));
    }
    if let Some(k) = CollectionKind::from_name(t) {
        return Some(Class::Collection(k));
    }
    match t {
        "Tombstone" => Some(Class::Tombstone),
        "Link" => Some(Class::Link),
        _ => None,
    }
}

/// The first known type, else a guess from the document's shape for the first type:
/// an `inbox` makes an actor; an `actor` with an `object` (or without any content)
/// makes an activity (Lemmy's `Lock`, GoToSocial's `LikeRequest`); content-like fields
/// make a content object (Pleroma's `ChatMessage`, Pixelfed's `Story`); anything else
/// is unknown.
fn classify(types: &[&str], m: &Map<String, Value>) -> Class {
    if let Some(c) = types.iter().find_map(|t| known(t)) {
        return c;
    }
    let t = types[0].to_owned();
    let has = |k: &str| !matches!(m.get(k), None | Some(Value::Null));
    let content_like = [
        "content",
        "contentMap",
        "name",
        "attributedTo",
        "url",
        "summary",
    ]
    .iter()
    .any(|k| has(k));
    if has("inbox") {
        Class::Actor(ActorKind::Other(t))
    } else if has("actor") && (has("object") || !content_like) {
        Class::Activity(ActivityKind::Other(t))
    } else if content_like {
        Class::Object(ObjectKind::Other(t))
    } else {
        Class::Unknown(t)
    }
}

/// Reads one document (the root, or an embedded one).
fn read_document(m: &Map<String, Value>, ctx: Ctx, root: bool) -> Result<Document, ParseError> {
    let types = json::type_names(m, ctx.max_items);
    if types.is_empty() {
        return Err(ParseError::MissingType);
    }
    let id = match m.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(json::http_iri(s).ok_or(ParseError::InvalidId)?),
        Some(_) => return Err(ParseError::InvalidId),
    };
    let class = classify(&types, m);
    let need = |id: Option<String>| id.ok_or(ParseError::MissingId);
    Ok(match class {
        Class::Actor(k) => Document::Actor(Actor::read(m, need(id)?, k, ctx)),
        Class::Object(k) => Document::Object(Object::read(m, need(id)?, k, ctx)),
        Class::Activity(k) => Document::Activity(Activity::read(m, id, k, ctx)),
        Class::Collection(k) => Document::Collection(Collection::read(m, id, k, ctx)),
        Class::Tombstone => Document::Tombstone(Tombstone::read(m, need(id)?)),
        Class::Link => Document::Link(Link::read(m, id, ctx).ok_or(ParseError::MissingHref)?),
        Class::Unknown(type_name) => Document::Unknown(Unknown {
            id: need(id)?,
            type_name,
            raw: if root {
                Value::Object(m.clone())
            } else {
                Value::Null
            },
        }),
    })
}

/// Reads a reference: an IRI string, or an embedded object (read as a document, one
/// level deeper). An embedded object that cannot be read (no type — Hubzilla's
/// `{"id": …}` actor — or beyond the depth limit) or is of an unknown kind falls back
/// to its `id` (or a Link's `href`); without one it is dropped.
fn parse_ref(v: &Value, ctx: Ctx) -> Option<Ref> {
    match v {
        Value::String(s) => json::http_iri(s).map(Ref::Iri),
        Value::Object(m) => {
            let fallback = || json::iri(Some(v)).map(Ref::Iri);
            let Some(inner) = ctx.nested() else {
                return fallback();
            };
            match read_document(m, inner, false) {
                Ok(Document::Unknown(u)) => Some(Ref::Iri(u.id)),
                Ok(d) => Some(Ref::Embedded(Box::new(d))),
                Err(_) => fallback(),
            }
        }
        _ => None,
    }
}

/// Whether `iri` names the Public collection, under any of its three spellings:
/// `https://www.w3.org/ns/activitystreams#Public`, `as:Public`, `Public` — and the
/// `http:` variant old Mastodon versions sent (audience lists read by this module
/// already rewrite that one to the `https:` spelling).
pub fn is_public(iri: &str) -> bool {
    sluice_model::visibility::is_public_iri(iri) || iri == json::HTTP_PUBLIC
}

/// Whether `s` is an absolute `http`/`https` IRI with a host, at most [`MAX_IRI_LEN`]
/// bytes.
///
/// Stricter than a WHATWG URL parser, which repairs what it reads: whitespace and
/// control characters (silently stripped), backslashes (read as `/`), and a missing or
/// extra slash after the scheme (`https:/x`, `https:///x` are read as `https://x/`) are
/// refused, so that the string we store and compare is the one that was parsed.
pub fn is_http_iri(s: &str) -> bool {
    let lower_prefix = |p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    let rest = if lower_prefix("https://") {
        &s[8..]
    } else if lower_prefix("http://") {
        &s[7..]
    } else {
        return false;
    };
    if rest.starts_with('/') || s.contains('\\') {
        return false;
    }
    if s.is_empty()
        || s.len() > MAX_IRI_LEN
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// Whether two IRIs have the same origin: scheme, host and port (default ports
/// normalized, hosts compared case-insensitively and after IDNA). Anything that is not
/// an absolute http(s) IRI has no origin and matches nothing.
///
/// The inbox uses it to refuse an activity whose object lives on another host than the
/// activity (or its actor) unless it fetches the object from its origin.
pub fn same_origin(a: &str, b: &str) -> bool {
    if !is_http_iri(a) || !is_http_iri(b) {
        return false;
    }
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn public_spellings() {
        assert!(is_public("https://www.w3.org/ns/activitystreams#Public"));
        assert!(is_public("as:Public"));
        assert!(is_public("Public"));
        assert!(!is_public("https://example.com/users/a/followers"));
    }

    #[test]
    fn origins() {
        assert!(same_origin(
            "https://a.example/x",
            "https://A.example:443/y#z"
        ));
        assert!(!same_origin("https://a.example/x", "http://a.example/x"));
        assert!(!same_origin("https://a.example/x", "https://b.example/x"));
        assert!(!same_origin(
            "https://a.example:8443/x",
            "https://a.example/x"
        ));
        assert!(!same_origin("javascript:alert(1)", "javascript:alert(1)"));
        assert!(!same_origin(
            "https://a.example@b.example/",
            "https://a.example/"
        ));
    }

    #[test]
    fn iris() {
        assert!(is_http_iri("https://a.example/x"));
        assert!(is_http_iri("http://localhost:8080/users/a"));
        assert!(!is_http_iri("https:///x"));
        assert!(!is_http_iri("https:/x"));
        assert!(!is_http_iri("https://evil.example\\@good.example/"));
        assert!(is_http_iri("HTTPS://a.example/x"));
        assert!(!is_http_iri("https://a.example/ x"));
        assert!(!is_http_iri("ftp://a.example/x"));
        assert!(!is_http_iri("/users/a"));
        assert!(!is_http_iri(&format!(
            "https://a.example/{}",
            "x".repeat(MAX_IRI_LEN)
        )));
    }

    #[test]
    fn minimal_documents() {
        let d = parse_value(&json!({"id": "https://a.example/n", "type": "Note"})).unwrap();
        assert_eq!(d.kind(), "Note");
        assert_eq!(d.id(), Some("https://a.example/n"));
        let d =
            parse_value(&json!({"type": ["Foo", "as:Note"], "id": "https://a.example/n"})).unwrap();
        assert_eq!(d.kind(), "Note");
        let d = parse_value(&json!({"type": "Frobnicate", "id": "https://a.example/f"})).unwrap();
        match d {
            Document::Unknown(u) => {
                assert_eq!(u.type_name, "Frobnicate");
                assert_eq!(u.raw["type"], "Frobnicate");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_value(&json!({"type": "Note"})),
            Err(ParseError::MissingId)
        );
        assert_eq!(
            parse_value(&json!({"type": [], "id": "https://a.example/n"})),
            Err(ParseError::MissingType)
        );
        assert_eq!(
            parse_value(&json!({"type": "Note", "id": 7})),
            Err(ParseError::InvalidId)
        );
        let d = parse_value(&json!({"type": "Delete", "actor": "https://a.example/u", "object": "https://a.example/n"}))
            .unwrap();
        assert_eq!(d.id(), None);
        assert_eq!(d.actor_id(), Some("https://a.example/u"));
        assert_eq!(d.object_id(), Some("https://a.example/n"));
    }

    #[test]
    fn depth_limit_on_values_and_embedded_activities() {
        let v = json!({
            "id": "https://a.example/1", "type": "Undo", "actor": "https://a.example/u",
            "object": {"id": "https://a.example/2", "type": "Like", "actor": "https://a.example/u",
                       "object": {"id": "https://a.example/3", "type": "Note"}}
        });
        let limits = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        // The value itself is 3 levels deep: refused.
        assert_eq!(
            parse_value_with_limits(&v, &limits),
            Err(ParseError::TooDeep { limit: 2 })
        );
        let d = parse_value(&v).unwrap();
        let inner = d.as_activity().unwrap().object_activity().unwrap();
        assert_eq!(inner.object_id(), Some("https://a.example/3"));
    }
}
