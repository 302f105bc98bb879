//! Request parameters, the way Mastodon accepts them: query string, form-encoded body
//! (with `key[]` arrays and `key[sub]` hashes), JSON body, or multipart form — merged
//! into one JSON object so every handler reads them the same way, as a typed form
//! ([`Params::parse`], `crate::form`). Unknown parameters are ignored; a value of the
//! wrong type is a 422 naming the parameter, never a 500.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Deepest JSON nesting accepted in a body: Mastodon's parameters are at most 3 deep;
/// this bound keeps hostile bodies from costing recursion.
pub const MAX_JSON_DEPTH: usize = 16;
/// Most parameters taken from one request.
pub const MAX_PARAMS: usize = 1000;

/// A request's parameters, merged; read with [`Params::parse`].
#[derive(Debug, Default, Clone)]
pub struct Params(pub Map<String, Value>);

/// Most file parts read from one API form (an upload has its file and a thumbnail; a
/// profile its avatar and header). The web app's post form takes [`MAX_POST_FILES`].
pub const MAX_FILES: usize = 2;
/// Most files in the web app's post form: the attachments of one post.
pub const MAX_POST_FILES: usize = sluice_engine::media::MAX_ATTACHMENTS;

/// A file part of a multipart form.
#[derive(Debug, Clone)]
pub struct FilePart {
    /// The form field's name (`file`, `thumbnail`).
    pub name: String,
    pub bytes: axum::body::Bytes,
}

/// The parameters and files of a request (media uploads). Files are read whole: the
/// body limit of the upload routes bounds them.
#[derive(Debug, Default)]
pub struct Upload<const N: usize = MAX_FILES> {
    pub params: Params,
    pub files: Vec<FilePart>,
}

impl<const N: usize> Upload<N> {
    /// The file sent as field `name`.
    pub fn file(&self, name: &str) -> Option<&FilePart> {
        self.files.iter().find(|f| f.name == name)
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read(req, state, None, 0).await
    }
}

impl<S: Send + Sync, const N: usize> FromRequest<S> for Upload<N> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut files = Vec::new();
        let params = read(req, state, Some(&mut files), N).await?;
        Ok(Upload { params, files })
    }
}

/// Reads the parameters of a request; the files of a multipart form too when `files`
/// is given (else they are skipped).
async fn read<S: Send + Sync>(
    req: Request,
    state: &S,
    mut files: Option<&mut Vec<FilePart>>,
    max_files: usize,
) -> ApiResult<Params> {
    let mut map = Map::new();
    if let Some(q) = req.uri().query() {
        merge_pairs(
            &mut map,
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )?;
    }
    let ctype = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let mut mp = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {e}")))?;
        let mut pairs = Vec::new();
        while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
            let Some(name) = field.name().map(str::to_string) else {
                continue;
            };
            if field.file_name().is_some() {
                let Some(files) = files.as_deref_mut() else {
                    // Not an upload route: the bytes are skipped.
                    continue;
                };
                if files.len() == max_files {
                    return Err(ApiError::unprocessable(format!(
                        "Validation failed: at most {max_files} files per request"
                    )));
                }
                let bytes = field.bytes().await.map_err(multipart_error)?;
                files.push(FilePart { name, bytes });
                continue;
            }
            let text = field.text().await.map_err(multipart_error)?;
            pairs.push((name, text));
        }
        merge_pairs(&mut map, pairs.into_iter())?;
    } else {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                let status = e.status();
                ApiError::new(
                    status,
                    if status.as_u16() == 413 {
                        "Request body too large".to_string()
                    } else {
                        e.body_text()
                    },
                )
            })?;
        if !bytes.is_empty() {
            if ctype.starts_with("application/json")
                || (ctype.is_empty() && bytes.first() == Some(&b'{'))
            {
                check_depth(&bytes)?;
                let v: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| ApiError::bad_request(format!("Malformed JSON body: {e}")))?;
                match v {
                    Value::Object(o) => {
                        for (k, v) in o {
                            map.insert(k, v);
                        }
                    }
                    _ => return Err(ApiError::bad_request("JSON body must be an object")),
                }
            } else {
                merge_pairs(
                    &mut map,
                    form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())),
                )?;
            }
        }
    }
    refuse_nul(&map)?;
    Ok(Params(map))
}

/// Refuses parameters holding a NUL character, in a name or a value, at any depth: no
/// parameter means anything with one, and PostgreSQL cannot store one in text.
pub(crate) fn refuse_nul(map: &Map<String, Value>) -> ApiResult<()> {
    use sluice_model::content::json_has_nul;
    if map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)) {
        return Err(ApiError::bad_request(
            "NUL characters are not accepted in parameters",
        ));
    }
    Ok(())
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status().as_u16() == 413 {
        ApiError::new(e.status(), "Request body too large")
    } else {
        ApiError::bad_request(format!("Malformed multipart body: {}", e.body_text()))
    }
}

/// Rejects JSON nested deeper than [`MAX_JSON_DEPTH`] before parsing it.
pub(crate) fn check_depth(bytes: &[u8]) -> ApiResult<()> {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(ApiError::bad_request(
                        "Malformed JSON body: nested too deeply",
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Folds `a=1`, `list[]=x`, `h[k]=v`, `h[k][]=v`, `arr[0][name]=v` pairs into JSON.
fn merge_pairs(
    map: &mut Map<String, Value>,
    pairs: impl Iterator<Item = (String, String)>,
) -> ApiResult<()> {
    for (i, (key, value)) in pairs.enumerate() {
        if i >= MAX_PARAMS {
            return Err(ApiError::bad_request("Too many parameters"));
        }
        let (base, rest) = match key.find('[') {
            Some(pos) => (&key[..pos], &key[pos..]),
            None => (key.as_str(), ""),
        };
        let mut path: Vec<&str> = Vec::new();
        let mut r = rest;
        while let Some(stripped) = r.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            path.push(&stripped[..end]);
            r = &stripped[end + 1..];
        }
        insert_path(map, base, &path, Value::String(value));
    }
    Ok(())
}

fn insert_path(map: &mut Map<String, Value>, key: &str, path: &[&str], value: Value) {
    match path.split_first() {
        None => {
            map.insert(key.to_string(), value);
        }
        Some((&"", [])) => {
            let entry = map
                .entry(key.to_string())
                .or_insert_with(|| Value::Array(vec![]));
            if !entry.is_array() {
                *entry = Value::Array(vec![]);
            }
            if let Value::Array(a) = entry {
                a.push(value);
            }
        }
        // `list[][k]=v` (Rails): an array of hashes; a key the last hash has already
        // starts the next one.
        Some((&"", rest)) => {
            let entry = map
                .entry(key.to_string())
                .or_insert_with(|| Value::Array(vec![]));
            if !entry.is_array() {
                *entry = Value::Array(vec![]);
            }
            if let Value::Array(a) = entry {
                let starts_new = match a.last() {
                    Some(Value::Object(m)) => m.contains_key(rest[0]),
                    _ => true,
                };
                if starts_new {
                    a.push(Value::Object(Map::new()));
                }
                if let Some(Value::Object(m)) = a.last_mut() {
                    insert_path(m, rest[0], &rest[1..], value);
                }
            }
        }
        Some((sub, rest)) => {
            let entry = map
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(m) = entry {
                insert_path(m, sub, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Params {
        let mut m = Map::new();
        merge_pairs(
            &mut m,
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )
        .unwrap();
        Params(m)
    }

    #[test]
    fn rails_style_keys() {
        let p = parse(
            "types[]=mention&types[]=follow&source[privacy]=private&fields_attributes[0][name]=a&x=1",
        );
        assert_eq!(
            Value::Object(p.0),
            serde_json::json!({
                "types": ["mention", "follow"],
                "source": {"privacy": "private"},
                "fields_attributes": {"0": {"name": "a"}},
                "x": "1",
            })
        );
        let p = parse("k[][keyword]=a&k[][whole_word]=0&k[][keyword]=b&k[][id]=7&k[][_destroy]=1");
        assert_eq!(
            p.0["k"],
            serde_json::json!([{"keyword": "a", "whole_word": "0"}, {"keyword": "b", "id": "7", "_destroy": "1"}])
        );
    }

    #[test]
    fn deep_json_is_refused() {
        let deep = "[".repeat(MAX_JSON_DEPTH + 1);
        assert!(check_depth(deep.as_bytes()).is_err());
        assert!(check_depth(br#"{"a": "[[[[[[[[[[[[[[[[[[[[[[["}"#).is_ok());
    }
}
