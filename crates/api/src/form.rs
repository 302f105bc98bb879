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
//! boolean`), a malformed id a 404, as [`crate::params::Params`] answers.
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

/// How a leaf value is read; shared by the typed forms and [`Params`]'s getters. The
/// error is the end of a sentence that starts with the parameter's name.
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
    use serde::de::Error;
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

    /// An id; a malformed one is answered 404, as Mastodon's lookups.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Id>, D::Error> {
        leaf::id(&Value::deserialize(d)?).map_err(|e| D::Error::custom(e.unwrap_or(NOT_AN_ID)))
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
