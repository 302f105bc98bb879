//! Media: uploads through the Mastodon API (`/api/v1/media`, `/api/v2/media`) and the
//! ActivityPub `uploadMedia` endpoint, their descriptions, and the files themselves
//! (`GET /media/:file`, with byte ranges for audio and video players).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use sluice_engine::media::{Upload as NewUpload, content_type_of, is_media_file_name};
use sluice_engine::rows::{AccountRow, MediaRow};
use sluice_model::media::parse_focus;

use super::scopes::WRITE_MEDIA;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::params::{Params, Upload};
use crate::ratelimit::Bucket;

/// Where an account's ActivityPub client uploads media (`endpoints.uploadMedia`).
pub const UPLOAD_MEDIA_PATH: &str = sluice_federation::local::UPLOAD_MEDIA_PATH;

/// Whether a path is one of the upload endpoints (media; a profile's avatar and
/// header, through the API or the settings page), whose body limit is the media one.
pub fn is_upload_path(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/media"
            | "/api/v2/media"
            | "/api/v1/accounts/update_credentials"
            | "/settings/profile"
    ) || path == UPLOAD_MEDIA_PATH
}

/// The signed-in user's account, for a write (counted against the write limit).
async fn me_account(state: &AppState, auth: &Auth, scopes: &[&str]) -> ApiResult<AccountRow> {
    let me = auth.user(scopes)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    account(state, me.account_id).await
}

async fn account(state: &AppState, id: sluice_model::Id) -> ApiResult<AccountRow> {
    state
        .engine
        .account(id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `POST /api/v1/media` and `PUT /api/v1/media/:id`.
#[derive(Debug, Deserialize)]
struct MediaForm {
    #[serde(default, deserialize_with = "field::string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    focus: Option<String>,
}

/// `POST /api/ap/upload_media`: the shell object, as JSON text or a JSON object.
#[derive(Debug, Deserialize)]
struct UploadMediaForm {
    #[serde(default)]
    object: Option<Value>,
}

/// The `focus` parameter: `"x,y"`, each in -1..=1. None: not given.
fn focus(focus: Option<String>) -> ApiResult<Option<Option<[f64; 2]>>> {
    match focus {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(Some(None)),
        Some(s) => parse_focus(&s).map(|f| Some(Some(f))).ok_or_else(|| {
            ApiError::unprocessable(
                "Validation failed: focus must be two numbers from -1.0 to 1.0, as \"x,y\"",
            )
        }),
    }
}

fn file(up: &Upload) -> ApiResult<Bytes> {
    up.file("file")
        .map(|f| f.bytes.clone())
        .ok_or_else(|| ApiError::unprocessable("Validation failed: File can't be blank"))
}

fn entity(state: &AppState, m: &MediaRow) -> Value {
    state.engine.media_attachment(m).entity()
}

/// `POST /api/v1/media` and `/api/v2/media`: a multipart form with `file`, and
/// `description` and `focus`. The file is ready when this answers: 200 on both (v2
/// answers 202 only while a file is processed later, which never happens here).
pub async fn upload(State(state): State<AppState>, auth: Auth, up: Upload) -> ApiResult<Response> {
    let me = me_account(&state, &auth, WRITE_MEDIA).await?;
    let bytes = file(&up)?;
    let form: MediaForm = up.params.parse()?;
    let m = state
        .engine
        .upload_media(
            &me,
            NewUpload {
                bytes,
                description: form.description.unwrap_or_default(),
                focus: focus(form.focus)?.flatten(),
                object_type: String::new(),
            },
        )
        .await?;
    Ok(Json(entity(&state, &m)).into_response())
}

/// `GET /api/v1/media/:id`: one of the user's uploads.
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let me = account(&state, auth.user(WRITE_MEDIA)?.account_id).await?;
    let m = state.engine.own_media(&me, media_id(&id)?).await?;
    Ok(Json(entity(&state, &m)).into_response())
}

/// `PUT /api/v1/media/:id`: the description and focal point of an upload not yet
/// attached to a post.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let me = me_account(&state, &auth, WRITE_MEDIA).await?;
    let form: MediaForm = p.parse()?;
    let m = state
        .engine
        .update_media(&me, media_id(&id)?, form.description, focus(form.focus)?)
        .await?;
    Ok(Json(entity(&state, &m)).into_response())
}

/// `DELETE /api/v1/media/:id`: an upload not attached to a post.
pub async fn destroy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let me = me_account(&state, &auth, WRITE_MEDIA).await?;
    state.engine.delete_media(&me, media_id(&id)?).await?;
    Ok(Json(serde_json::json!({})).into_response())
}

fn media_id(s: &str) -> ApiResult<sluice_model::Id> {
    sluice_model::id::parse_id(s).ok_or_else(ApiError::not_found)
}

/// `POST /api/ap/upload_media` (`endpoints.uploadMedia`, the SocialCG media upload
/// extension): `file` and `object`, a shell ActivityStreams object whose `type`, `name`
/// (alt text) and `focalPoint` are kept. 201, `Location` the object's id, the object as
/// the body. Attach it by putting its id (or its `url`) in a post's `attachment`.
pub async fn upload_media(
    State(state): State<AppState>,
    auth: Auth,
    up: Upload,
) -> ApiResult<Response> {
    let me = me_account(&state, &auth, &["write:media", "write:statuses"]).await?;
    let form: UploadMediaForm = up.params.parse()?;
    let shell: serde_json::Map<String, Value> = match form.object {
        None => serde_json::Map::new(),
        Some(Value::String(s)) => {
            crate::params::check_depth(s.as_bytes())?;
            match serde_json::from_str(&s) {
                Ok(Value::Object(o)) => o,
                _ => return Err(ApiError::bad_request("object must be a JSON object")),
            }
        }
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ApiError::bad_request("object must be a JSON object")),
    };
    let object_type = match shell.get("type") {
        None => String::new(),
        Some(Value::String(t))
            if (1..=64).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            t.clone()
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "object.type must be an ActivityStreams type name",
            ));
        }
    };
    let text = |k: &str| shell.get(k).and_then(Value::as_str).unwrap_or_default();
    let description = if text("name").is_empty() {
        text("summary")
    } else {
        text("name")
    }
    .to_string();
    let focus = match shell.get("focalPoint").and_then(Value::as_array) {
        Some(a) if a.len() == 2 => a[0]
            .as_f64()
            .zip(a[1].as_f64())
            .and_then(|(x, y)| sluice_model::media::focus(x, y)),
        _ => None,
    };
    let bytes = file(&up)?;
    let m = state
        .engine
        .upload_media(
            &me,
            NewUpload {
                bytes,
                description,
                focus,
                object_type,
            },
        )
        .await?;
    let doc = state.engine.media_object(&me, &m);
    let mut res = super::c2s::as2_private(StatusCode::CREATED, &doc);
    if let Ok(v) = HeaderValue::from_str(&state.engine.urls.media_object(&me.username, m.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `GET /users/:name/media/:id`: the object of an upload, to its owner, and once it is
/// attached to a post, to whoever may see the post.
pub async fn media_object(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    let owner = super::activitypub::local_account(&state, &name).await?;
    let m = state.engine.own_media(&owner, media_id(&id)?).await?;
    let viewer = auth.viewer();
    let visible = viewer == Some(owner.id)
        || match m.status_id {
            Some(s) => state.engine.visible_status(viewer, s).await.is_ok(),
            None => false,
        };
    if !visible {
        return Err(ApiError::not_found());
    }
    Ok(super::c2s::as2_private(
        StatusCode::OK,
        &state.engine.media_object(&owner, &m),
    ))
}

/// How much of a file one read takes.
const CHUNK: usize = 64 * 1024;

/// `GET /media/:file`: an uploaded file. Files never change (a new upload is a new
/// name), so they are cached for a year; they are served with a sandboxing policy so a
/// file opened directly can never run script; a `Range` of bytes is answered with 206
/// (players seek in audio and video that way).
pub async fn file_content(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
    // Ranges are parsed here (`byte_range`), the file streamed by tokio-util. Not
    // tower-http's `ServeFile`: it sets its own content type, adds `Last-Modified` and
    // conditional requests these never-changing files do not need, answers a list of
    // ranges with 416 (or the whole file) where this answers the first, and brings
    // `mime_guess`. Not `http-range-header` either: 1,400 lines (multi-range
    // validation) for the twenty of `byte_range`, which reads the same cases alike.
    if !is_media_file_name(&name) {
        return Err(ApiError::not_found());
    }
    let mut f = tokio::fs::File::open(state.engine.media_path(&name))
        .await
        .map_err(|_| ApiError::not_found())?;
    let len = f.metadata().await.map_err(|_| ApiError::not_found())?.len();
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(r) => match byte_range(r, len) {
            Some(r) => Some(r),
            None => {
                let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                res.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
                );
                return Ok(res);
            }
        },
    };
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    let count = if len == 0 { 0 } else { end - start + 1 };
    if start > 0 {
        f.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|_| ApiError::not_found())?;
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(f.take(count), CHUNK);
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type_of(&name)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if range.is_some() {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        res.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).expect("ascii"),
        );
    }
    Ok(res)
}

/// One range of `Range: bytes=…` (`a-b`, `a-`, `-n`) within a file of `len` bytes, as
/// inclusive bounds; None when it cannot be satisfied. A list of ranges is answered
/// with its first (allowed: a server may ignore what it does not support).
fn byte_range(header: &str, len: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let first = spec.split(',').next()?.trim();
    let (a, b) = first.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return None;
        }
        (len.saturating_sub(n), len.checked_sub(1)?)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len.checked_sub(1)?
        } else {
            b.parse::<u64>().ok()?.min(len.checked_sub(1)?)
        };
        (start, end)
    };
    (start <= end && end < len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges() {
        assert_eq!(byte_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(byte_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=-200", 100), Some((0, 99)));
        assert_eq!(byte_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(byte_range("bytes=0-1,5-6", 100), Some((0, 1)));
        assert_eq!(byte_range("bytes=100-", 100), None);
        assert_eq!(byte_range("bytes=9-3", 100), None);
        assert_eq!(byte_range("bytes=-0", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
        assert_eq!(byte_range("bytes=0-", 0), None);
    }
}
