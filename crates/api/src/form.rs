//! Typed request forms: a handler names what it reads as a `Deserialize` struct and
//! reads it with [`Params::parse`] where it read the parameters by key before (after
//! its scope and rate-limit checks, so those still answer first). The parameters are
//! first merged as Mastodon accepts them (query,
//! form, JSON or multipart; Rails-style `key[]` and `key[0][name]`, see
//! [`crate::params`]), then deserialized from that one JSON object, so every content
//! type fills the same struct. Unknown parameters are ignored, as Mastodon does.
//!
//! Leaf values are read as Rails reads them, with the field helpers of [`field`] in
//! `#[serde(deserialize_with = …)]` (`"true"`, `1` and `"on"` are a true boolean;
//! numbers may come as text; a single value is a one-element list). A value of the
//! wrong type is a 422 naming the parameter (`Validation failed: exclusive must be a
//! boolean`; a nested one by its path, `source.sensitive`), a malformed id a 404.
//! Nested hashes and lists of them (`source[privacy]`, `fields_attributes[0][name]`)
//! are read with [`field::object`] and [`field::indexed`].
//!
//! Why our own and not `serde_qs` or `serde_html_form`: those read one query string or
//! form body, while Mastodon clients send the same parameters as JSON, multipart or a
//! query string and a body together; the merge is already ours, and deserializing the
//! merged object needs nothing but serde_json and the leaf rules below.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::params::Params;

/// The error text a field helper gives for a malformed id: answered 404, not 422.
const NOT_AN_ID: &str = "is not an id";

impl Params {
    /// These parameters as the typed form `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> ApiResult<T> {
        serde_path_to_error::deserialize(Value::Object(self.0.clone())).map_err(|e| {
            let path = e.path().to_string();
            let reason = e.into_inner().to_string();
            if reason == NOT_AN_ID {
                ApiError::not_found()
            } else {
                ApiError::unprocessable(format!("Validation failed: {path} {reason}"))
            }
        })
    }
}

/// How a leaf value is read, for the [`field`] helpers and a form's own
/// `deserialize_with` functions. The error is the end of a sentence that starts with
/// the parameter's name.
pub(crate) mod leaf {
    use serde_json::Value;
    use sluice_model::Id;

    pub type Result<T> = std::result::Result<T, &'static str>;

    /// A string; numbers and booleans as their text.
    pub fn string(v: &Value) -> Result<Option<String>> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            _ => Err("must be a string"),
        }
    }

    /// A boolean as Rails reads it: true, "true", "1", "on", 1 … ; false, "false", "0", "".
    pub fn bool(v: &Value) -> Result<Option<bool>> {
        match v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            Value::Number(n) => Ok(Some(n.as_f64() != Some(0.0))),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" | "t" => Ok(Some(true)),
                "false" | "0" | "off" | "no" | "f" | "" => Ok(Some(false)),
                _ => Err("must be a boolean"),
            },
            _ => Err("must be a boolean"),
        }
    }

    /// An integer, or its text; blank text is none.
    pub fn int(v: &Value) -> Result<Option<i64>> {
        match v {
            Value::Null => Ok(None),
            Value::Number(n) => n.as_i64().map(Some).ok_or("must be an integer"),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s.trim().parse().map(Some).map_err(|_| "must be an integer"),
            _ => Err("must be an integer"),
        }
    }

    /// An id (string or number); blank is none. `Err(None)`: malformed (not found).
    pub fn id(v: &Value) -> std::result::Result<Option<Id>, Option<&'static str>> {
        match string(v).map_err(Some)? {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => sluice_model::id::parse_id(&s).map(Some).ok_or(None),
        }
    }

    /// A list: `key[]=a&key[]=b`, a JSON array, or a single value.
    pub fn list(v: &Value) -> Result<Vec<String>> {
        match v {
            Value::Null => Ok(vec![]),
            Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err("must be a list of strings"),
                })
                .collect(),
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Number(n) => Ok(vec![n.to_string()]),
            _ => Err("must be a list"),
        }
    }
}

/// Field helpers for `#[serde(default, deserialize_with = "field::…")]`: each reads an
/// optional leaf the way [`leaf`] does (a missing field needs `default`).
pub mod field {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{Error, MapAccess, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;
    use sluice_model::Id;

    use super::{NOT_AN_ID, leaf};

    fn read<'de, D: Deserializer<'de>, T>(
        d: D,
        f: impl FnOnce(&Value) -> leaf::Result<T>,
    ) -> Result<T, D::Error> {
        f(&Value::deserialize(d)?).map_err(D::Error::custom)
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        read(d, leaf::string)
    }

    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        read(d, leaf::bool)
    }

    /// A boolean that is false when not given.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        read(d, |v| leaf::bool(v).map(Option::unwrap_or_default))
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        read(d, leaf::int)
    }

    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        read(d, leaf::list)
    }

    /// A list that is None when not given (null is not given), so that an update can
    /// tell "leave it" from "make it empty".
    pub fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        read(d, |v| match v {
            Value::Null => Ok(None),
            v => leaf::list(v).map(Some),
        })
    }

    /// An integer that may be cleared: not given is None, null or blank is `Some(None)`
    /// (a filter's `expires_in`: never).
    pub fn clearable_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        read(d, |v| leaf::int(v).map(Some))
    }

    /// An id; a malformed one is answered 404, as Mastodon's lookups.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Id>, D::Error> {
        leaf::id(&Value::deserialize(d)?).map_err(|e| D::Error::custom(e.unwrap_or(NOT_AN_ID)))
    }

    /// A nested hash (`source[privacy]=…` or JSON `{"source": {…}}`) read as the form
    /// `T`; null is `T`'s default, anything but a hash "must be an object".
    pub fn object<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        d.deserialize_any(Hash(PhantomData))
            .map(Option::unwrap_or_default)
    }

    /// A list of hashes as Rails reads it: a hash by index (`key[0][name]=…`, in index
    /// order), `key[][name]=…` or a JSON array, each entry read as the form `T`. None
    /// when null; null entries are skipped, an entry that is not a hash "must be an
    /// object". A value that is neither a list nor a hash is the error `invalid`, or
    /// an empty list when `invalid` is None. Called from a field's own
    /// `deserialize_with` function, which chooses `invalid`.
    pub fn indexed<'de, D, T>(
        d: D,
        invalid: Option<&'static str>,
    ) -> Result<Option<Vec<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        d.deserialize_any(Indexed {
            invalid,
            entry: PhantomData,
        })
    }

    const NOT_A_HASH: &str = "must be an object";

    /// Reads a hash as `T`: Some(T), None for null, an error for anything else.
    struct Hash<T>(PhantomData<T>);

    /// The error of [`Hash`] and [`Indexed`] for a value of another kind.
    macro_rules! refuse_scalars {
        ($err:expr) => {
            fn visit_bool<E: Error>(self, _: bool) -> Result<Self::Value, E> {
                ($err)(self)
            }
            fn visit_i64<E: Error>(self, _: i64) -> Result<Self::Value, E> {
                ($err)(self)
            }
            fn visit_u64<E: Error>(self, _: u64) -> Result<Self::Value, E> {
                ($err)(self)
            }
            fn visit_f64<E: Error>(self, _: f64) -> Result<Self::Value, E> {
                ($err)(self)
            }
            fn visit_str<E: Error>(self, _: &str) -> Result<Self::Value, E> {
                ($err)(self)
            }
        };
    }

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Hash<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(A::Error::custom(NOT_A_HASH))
        }

        refuse_scalars!(|_| Err(E::custom(NOT_A_HASH)));
    }

    /// One entry of [`indexed`]: a hash, or null (skipped).
    struct Entry<T>(Option<T>);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entry<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Hash(PhantomData)).map(Entry)
        }
    }

    struct Indexed<T> {
        invalid: Option<&'static str>,
        entry: PhantomData<T>,
    }

    impl<T> Indexed<T> {
        fn other<E: Error>(self) -> Result<Option<Vec<T>>, E> {
            match self.invalid {
                Some(reason) => Err(E::custom(reason)),
                None => Ok(Some(vec![])),
            }
        }
    }

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Indexed<T> {
        type Value = Option<Vec<T>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of objects")
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Entry(e)) = seq.next_element()? {
                out.extend(e);
            }
            Ok(Some(out))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                if let Entry(Some(e)) = map.next_value()? {
                    out.push((key.parse::<u64>().unwrap_or(u64::MAX), e));
                }
            }
            // Stable: keys that are not indexes keep their order, after the others.
            out.sort_by_key(|(i, _)| *i);
            Ok(Some(out.into_iter().map(|(_, e)| e).collect()))
        }

        refuse_scalars!(Indexed::other);
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::field;
    use crate::params::Params;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(default, deserialize_with = "field::string")]
        title: Option<String>,
        #[serde(default, deserialize_with = "field::flag")]
        exclusive: bool,
        #[serde(default, deserialize_with = "field::int")]
        limit: Option<i64>,
        #[serde(default, deserialize_with = "field::list")]
        types: Vec<String>,
        #[serde(default, deserialize_with = "field::id")]
        account_id: Option<sluice_model::Id>,
        #[serde(default)]
        home: Marker,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Marker {
        #[serde(default, deserialize_with = "field::id")]
        last_read_id: Option<sluice_model::Id>,
    }

    fn params(v: serde_json::Value) -> Params {
        Params(v.as_object().unwrap().clone())
    }

    #[test]
    fn rails_leaves_and_nesting() {
        let p = params(json!({
            "title": 7, "exclusive": "on", "limit": " 20 ", "types": "mention",
            "account_id": "12", "home": {"last_read_id": 5}, "unknown": [1, 2]
        }));
        let s: Sample = p.parse().unwrap();
        assert_eq!(
            s,
            Sample {
                title: Some("7".into()),
                exclusive: true,
                limit: Some(20),
                types: vec!["mention".into()],
                account_id: Some(12),
                home: Marker {
                    last_read_id: Some(5)
                },
            }
        );
        let s: Sample = params(json!({"exclusive": null, "title": null}))
            .parse()
            .unwrap();
        assert!(!s.exclusive && s.title.is_none() && s.types.is_empty());
    }

    #[derive(Debug, Deserialize)]
    struct Nested {
        #[serde(default, deserialize_with = "field::object")]
        source: Source,
        #[serde(default, deserialize_with = "entries")]
        fields: Option<Vec<Source>>,
        #[serde(default, deserialize_with = "field::opt_list")]
        context: Option<Vec<String>>,
        #[serde(default, deserialize_with = "field::clearable_int")]
        expires_in: Option<Option<i64>>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Source {
        #[serde(default, deserialize_with = "field::string")]
        name: Option<String>,
    }

    fn entries<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<Source>>, D::Error> {
        field::indexed(d, Some("must be a list"))
    }

    fn named(names: &[&str]) -> Option<Vec<Source>> {
        Some(
            names
                .iter()
                .map(|n| Source {
                    name: Some(n.to_string()),
                })
                .collect(),
        )
    }

    #[test]
    fn lenient_leaves() {
        let s: Sample = params(json!({"exclusive": "0", "limit": ""}))
            .parse()
            .unwrap();
        assert!(!s.exclusive && s.limit.is_none());
        let e = params(json!({"limit": "abc"}))
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!(
            e.body["error"],
            "Validation failed: limit must be an integer"
        );
    }

    #[test]
    fn hashes_and_lists_of_them() {
        // A hash by index is read in index order; an array as it is; nulls are skipped.
        let s: Nested = params(json!({
            "source": {"name": "a"},
            "fields": {"10": {"name": "c"}, "2": {"name": "b"}, "0": null},
        }))
        .parse()
        .unwrap();
        assert_eq!(s.source.name.as_deref(), Some("a"));
        assert_eq!(s.fields, named(&["b", "c"]));
        let s: Nested = params(json!({"source": null, "fields": [{"name": "x"}, null]}))
            .parse()
            .unwrap();
        assert_eq!(s.source, Source::default());
        assert_eq!(s.fields, named(&["x"]));
        let s: Nested = params(json!({"fields": null})).parse().unwrap();
        assert!(s.fields.is_none() && s.context.is_none() && s.expires_in.is_none());
        let s: Nested = params(json!({"context": [], "expires_in": ""}))
            .parse()
            .unwrap();
        assert_eq!(s.context, Some(vec![]));
        assert_eq!(s.expires_in, Some(None));
        let s: Nested = params(json!({"expires_in": null})).parse().unwrap();
        assert_eq!(s.expires_in, Some(None));

        for (p, error) in [
            (json!({"source": "x"}), "source must be an object"),
            (json!({"source": [1]}), "source must be an object"),
            (json!({"fields": "x"}), "fields must be a list"),
            (json!({"fields": [1]}), "fields[0] must be an object"),
            (
                json!({"fields": {"0": {"name": []}}}),
                "fields.0.name must be a string",
            ),
        ] {
            let e = params(p).parse::<Nested>().unwrap_err();
            assert_eq!(e.body["error"], format!("Validation failed: {error}"));
        }
    }

    #[test]
    fn errors_name_the_parameter() {
        let e = params(json!({"exclusive": "maybe"}))
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(
            e.body["error"],
            "Validation failed: exclusive must be a boolean"
        );
        let e = params(json!({"home": {"last_read_id": [1]}}))
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!(
            e.body["error"],
            "Validation failed: home.last_read_id must be a string"
        );
        let e = params(json!({"account_id": "12x"}))
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 404);
    }
}
