//! Tolerant readers for single JSON values: every helper takes what it can and returns
//! `None` (or an empty list) for anything else, never an error.
//!
//! Shared rules, applied everywhere in the parser:
//! - a field may hold one value or an array of values ([`many`]); `null` means absent;
//! - arrays are cut to the caller's `max_items`, the rest is dropped silently;
//! - text fields take strings, numbers (rendered as decimal text) and JSON-LD value
//!   objects `{"@value": …}`; an empty or blank string counts as absent;
//! - IRIs are kept byte for byte as sent (trimmed), but only when they are absolute
//!   `http`/`https` IRIs ([`super::is_http_iri`]): `javascript:`, `at://`, `wss://`,
//!   relative or template strings never come out of these helpers.

use serde_json::{Map, Value};
use sluice_model::Timestamp;

use super::{date::parse_date, is_http_iri, is_public};

/// A JSON object.
pub(super) type Obj = Map<String, Value>;

/// The values of a field that may be a single value or an array, without `null`s,
/// at most `max` of them.
pub(super) fn many(v: Option<&Value>, max: usize) -> impl Iterator<Item = &Value> {
    let slice: &[Value] = match v {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a.as_slice(),
        Some(x) => std::slice::from_ref(x),
    };
    slice.iter().filter(|x| !x.is_null()).take(max)
}

fn scalar_text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Object(m) => match m.get("@value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return None,
        },
        _ => return None,
    };
    if s.trim().is_empty() { None } else { Some(s) }
}

/// Text from a field that should be a string: a string, a number (some servers send
/// numeric usernames or names as numbers), a JSON-LD `{"@value": …}` object, or the
/// first of these in an array. Empty and blank strings are `None`.
pub(super) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Array(a) => a.iter().find_map(scalar_text),
        other => scalar_text(other),
    }
}

/// Text of `key`, or else the first non-empty value of the language map `map_key`
/// (`contentMap`, `nameMap`, `summaryMap`), with that value's language tag.
///
/// When both are present the plain field wins: Akkoma sends `contentMap: {"en": ""}`
/// beside a non-empty `content`. The language is the map key whose value equals the
/// plain text, else the map's only key.
pub(super) fn text_with_map(
    obj: &Obj,
    key: &str,
    map_key: &str,
) -> (Option<String>, Option<String>) {
    let plain = text(obj.get(key));
    let Some(Value::Object(map)) = obj.get(map_key) else {
        return (plain, None);
    };
    match plain {
        Some(p) => {
            let lang = map
                .iter()
                .find(|(_, v)| v.as_str() == Some(p.as_str()))
                .map(|(k, _)| k.clone())
                .or_else(|| {
                    (map.len() == 1)
                        .then(|| map.keys().next().cloned())
                        .flatten()
                });
            (Some(p), lang.filter(|l| !l.trim().is_empty()))
        }
        None => map
            .iter()
            .find_map(|(k, v)| scalar_text(v).map(|t| (Some(t), Some(k.clone()))))
            .unwrap_or((None, None)),
    }
}

/// `Some(trimmed)` if `s` is an absolute http(s) IRI.
pub(super) fn http_iri(s: &str) -> Option<String> {
    let t = s.trim();
    is_http_iri(t).then(|| t.to_owned())
}

fn object_iri(m: &Obj) -> Option<String> {
    match m.get("id") {
        Some(Value::String(s)) => http_iri(s),
        // A Link object used as a reference: its identity is its href.
        None | Some(Value::Null) => match m.get("href") {
            Some(Value::String(s)) => http_iri(s),
            _ => None,
        },
        _ => None,
    }
}

/// One IRI from a reference: an IRI string, the `id` (or a Link's `href`) of an embedded
/// object, or the first of these in an array.
pub(super) fn iri(v: Option<&Value>) -> Option<String> {
    fn one(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => http_iri(s),
            Value::Object(m) => object_iri(m),
            _ => None,
        }
    }
    match v? {
        Value::Array(a) => a.iter().find_map(one),
        other => one(other),
    }
}

/// Every IRI of a reference list (see [`iri`]), at most `max`.
pub(super) fn iris(v: Option<&Value>, max: usize) -> Vec<String> {
    many(v, max).filter_map(|x| iri(Some(x))).collect()
}

/// The Public collection with an `http` scheme, as old Mastodon versions wrote it (see
/// `mastodon/mastodon-undo-announce.json`).
pub(super) const HTTP_PUBLIC: &str = "http://www.w3.org/ns/activitystreams#Public";

/// An audience list (`to`, `cc`, `bto`, `bcc`, `audience`): strings or embedded objects,
/// one or many. Keeps absolute http(s) IRIs and the three spellings of the Public
/// collection as sent (`as:Public` and `Public` are not IRIs, so they are let through
/// explicitly); the `http:` spelling of the Public collection ([`HTTP_PUBLIC`]) is
/// rewritten to the canonical `https:` one, so that code comparing with
/// `sluice_model::visibility::is_public_iri` sees it. Anything else is dropped.
pub(super) fn audience_list(v: Option<&Value>, max: usize) -> Vec<String> {
    many(v, max)
        .filter_map(|x| match x {
            Value::String(s) => {
                let t = s.trim();
                if t == HTTP_PUBLIC {
                    Some(sluice_model::visibility::PUBLIC.to_owned())
                } else {
                    (is_public(t) || is_http_iri(t)).then(|| t.to_owned())
                }
            }
            Value::Object(m) => object_iri(m),
            _ => None,
        })
        .collect()
}

/// A boolean: `true`/`false`, the strings `"true"`/`"false"` (any case), `1`/`0`.
/// `null` and anything else is `None`.
pub(super) fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        Value::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A non-negative integer: a JSON integer, an integral float, or a decimal string.
pub(super) fn count(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 9_007_199_254_740_992.0)
                .then_some(f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A pixel dimension (see [`count`]), if it fits in a `u32`.
pub(super) fn dimension(v: Option<&Value>) -> Option<u32> {
    count(v).and_then(|n| u32::try_from(n).ok())
}

/// A date (see [`parse_date`]); anything unparseable is `None`.
pub(super) fn date(v: Option<&Value>) -> Option<Timestamp> {
    match v? {
        Value::String(s) => parse_date(s),
        Value::Array(a) => a.iter().find_map(|x| x.as_str().and_then(parse_date)),
        _ => None,
    }
}

/// The media type of an object: `mediaType`, or `mimeType` as Prismo and Funkwhale send.
pub(super) fn media_type(m: &Obj) -> Option<String> {
    text(m.get("mediaType")).or_else(|| text(m.get("mimeType")))
}

/// Strips the prefixes under which uncompacted or oddly compacted documents name
/// ActivityStreams and Mastodon/LitePub types (`as:Note`, the full AS namespace IRI,
/// `toot:Emoji`, `litepub:EmojiReact`).
pub(super) fn normalize_type(t: &str) -> &str {
    const PREFIXES: [&str; 6] = [
        "https://www.w3.org/ns/activitystreams#",
        "http://www.w3.org/ns/activitystreams#",
        "http://joinmastodon.org/ns#",
        "as:",
        "toot:",
        "litepub:",
    ];
    let t = t.trim();
    PREFIXES.iter().find_map(|p| t.strip_prefix(p)).unwrap_or(t)
}

/// The type names of an object: `type` as a string or an array of strings (normalized,
/// empty ones dropped).
pub(super) fn type_names(m: &Obj, max: usize) -> Vec<&str> {
    many(m.get("type"), max)
        .filter_map(Value::as_str)
        .map(normalize_type)
        .filter(|t| !t.is_empty())
        .collect()
}

/// The first type name of an object, if any.
pub(super) fn first_type(m: &Obj) -> Option<&str> {
    match m.get("type")? {
        Value::String(s) => Some(normalize_type(s)),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(normalize_type)
            .next(),
        _ => None,
    }
    .filter(|t| !t.is_empty())
}

/// A candidate link: its IRI and media type, if stated.
pub(super) struct LinkCandidate {
    pub href: String,
    pub media_type: Option<String>,
}

/// The links of a `url`-like field: IRI strings, Link objects (`href`, `mediaType` or
/// `mimeType`), objects with a string `url`, one or many. Non-http(s) links (PeerTube's
/// `wss://` trackers, Bridgy Fed's `at://` canonical links) are dropped.
pub(super) fn links(v: Option<&Value>, max: usize) -> Vec<LinkCandidate> {
    many(v, max)
        .filter_map(|x| match x {
            Value::String(s) => http_iri(s).map(|href| LinkCandidate {
                href,
                media_type: None,
            }),
            Value::Object(m) => {
                let href = match (m.get("href"), m.get("url")) {
                    (Some(Value::String(s)), _) | (None, Some(Value::String(s))) => http_iri(s),
                    _ => None,
                }?;
                Some(LinkCandidate {
                    href,
                    media_type: media_type(m),
                })
            }
            _ => None,
        })
        .collect()
}

/// The best `url` of an object for people to open: the first link with media type
/// `text/html` (PeerTube and Funkwhale list the HTML page among media files), else the
/// first link without a media type, else the first link.
pub(super) fn html_url(v: Option<&Value>, max: usize) -> Option<String> {
    let all = links(v, max);
    let pick = all
        .iter()
        .position(|l| {
            l.media_type
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"))
        })
        .or_else(|| all.iter().position(|l| l.media_type.is_none()))
        .or_else(|| (!all.is_empty()).then_some(0))?;
    all.into_iter().nth(pick).map(|l| l.href)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn many_takes_single_values_arrays_and_caps() {
        let one = json!("a");
        assert_eq!(many(Some(&one), 10).count(), 1);
        let arr = json!(["a", null, "b", "c"]);
        assert_eq!(many(Some(&arr), 2).count(), 2);
        assert_eq!(many(Some(&Value::Null), 10).count(), 0);
        assert_eq!(many(None, 10).count(), 0);
    }

    #[test]
    fn text_is_tolerant() {
        assert_eq!(text(Some(&json!("x"))), Some("x".into()));
        assert_eq!(text(Some(&json!(42))), Some("42".into()));
        assert_eq!(text(Some(&json!({"@value": "v"}))), Some("v".into()));
        assert_eq!(text(Some(&json!(["", "y"]))), Some("y".into()));
        assert_eq!(text(Some(&json!("  "))), None);
        assert_eq!(text(Some(&json!({"a": 1}))), None);
        assert_eq!(text(Some(&json!(true))), None);
    }

    #[test]
    fn iri_takes_strings_objects_links_and_arrays() {
        assert_eq!(
            iri(Some(&json!(" https://a.example/x "))),
            Some("https://a.example/x".into())
        );
        assert_eq!(
            iri(Some(&json!({"id": "https://a.example/x"}))),
            Some("https://a.example/x".into())
        );
        assert_eq!(
            iri(Some(
                &json!({"type": "Link", "href": "https://a.example/l"})
            )),
            Some("https://a.example/l".into())
        );
        assert_eq!(
            iri(Some(&json!(["javascript:alert(1)", "https://a.example/y"]))),
            Some("https://a.example/y".into())
        );
        assert_eq!(iri(Some(&json!("/relative"))), None);
        assert_eq!(iri(Some(&json!(12))), None);
    }

    #[test]
    fn html_url_prefers_text_html() {
        let v = json!([
            {"type": "Link", "mediaType": "video/mp4", "href": "https://a.example/v.mp4"},
            {"type": "Link", "mimeType": "text/html", "href": "https://a.example/page"},
        ]);
        assert_eq!(
            html_url(Some(&v), 10),
            Some("https://a.example/page".into())
        );
        let v = json!(["https://a.example/r", {"href": "at://did:plc:x/post", "rel": "canonical"}]);
        assert_eq!(html_url(Some(&v), 10), Some("https://a.example/r".into()));
    }

    #[test]
    fn counts_and_flags() {
        assert_eq!(count(Some(&json!(3))), Some(3));
        assert_eq!(count(Some(&json!(3.0))), Some(3));
        assert_eq!(count(Some(&json!("7"))), Some(7));
        assert_eq!(count(Some(&json!(-1))), None);
        assert_eq!(count(Some(&json!(1.5))), None);
        assert_eq!(flag(Some(&json!("TRUE"))), Some(true));
        assert_eq!(flag(Some(&json!(null))), None);
    }
}
