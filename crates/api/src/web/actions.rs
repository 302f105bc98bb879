//! What a signed-in person does to posts from a page: post, favourite, boost,
//! bookmark, pin, delete. Each is a form POST that goes through the same engine calls
//! as the Mastodon API and redirects back to the page it came from (`return_to`), so it
//! works without JavaScript; the script sends the same forms with `fetch` and updates
//! the post in place (it asks for JSON with `Accept: application/json`, and gets the
//! post's new counters instead of the redirect).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use sluice_engine::media::Upload as NewUpload;
use sluice_engine::pipeline::{Activity, NewNote};
use sluice_engine::polls::NewPoll;
use sluice_model::Visibility;
use sluice_model::id::parse_id;

use super::i18n::Arg;
use super::{Visitor, WebError, WebResult, back, page};
use crate::AppState;
use crate::params::{MAX_POST_FILES, Params, Upload};

#[derive(Debug, Deserialize)]
struct ComposeForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    in_reply_to_id: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    sensitive: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    return_to: Option<String>,
}

/// The compose form's poll (`poll_option_N`, `poll_expires_in`, `poll_multiple`), when
/// any choice is filled in; the engine checks it against the configured limits.
fn compose_poll(params: &crate::params::Params, max_options: usize) -> Option<NewPoll> {
    let text = |key: &str| {
        params
            .0
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .trim()
    };
    let options: Vec<String> = (0..max_options)
        .map(|n| text(&format!("poll_option_{n}")).to_string())
        .filter(|o| !o.is_empty())
        .collect();
    if options.is_empty() {
        return None;
    }
    Some(NewPoll {
        options,
        expires_in: text("poll_expires_in").parse().unwrap_or(24 * 3600),
        multiple: !text("poll_multiple").is_empty(),
        hide_totals: false,
    })
}

fn unprocessable(message: impl Into<String>) -> WebError {
    WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, message.into())
}

/// `POST /statuses`: a new post (or reply), with up to four media files (`media_0` …
/// `media_3`, each described by `description_N`), sent as a multipart form.
pub(super) async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    up: Upload<MAX_POST_FILES>,
) -> WebResult {
    let me = visitor.posting(&state, "/home", &up.params)?.clone();
    let form: ComposeForm = up.params.parse()?;
    let visibility = match form.visibility.as_str() {
        "" => None,
        v => Some(Visibility::parse(v).ok_or_else(|| {
            unprocessable(visitor.tf(
                &state,
                "compose-bad-visibility",
                &[("visibility", Arg::Str(v))],
            ))
        })?),
    };
    let in_reply_to = match form.in_reply_to_id.as_str() {
        "" => None,
        id => Some(parse_id(id).ok_or_else(WebError::not_found)?),
    };
    let poll = compose_poll(&up.params, state.engine.config.polls.max_options);
    let media_ids = upload_media(&state, me.account_id, &up).await?;
    crate::mentions::resolve_new_mentions(&state, &form.status).await;
    let note = NewNote {
        text: form.status,
        in_reply_to,
        sensitive: form.sensitive.is_some(),
        spoiler_text: form.spoiler_text,
        visibility,
        language: None,
        application_id: None,
        idempotency_key: None,
        client: None,
        media_ids,
        poll,
        ..Default::default()
    };
    let outcome = state
        .engine
        .submit(me.account_id, Activity::CreateNote(note))
        .await?;
    // The script's inline reply asks for the post, to put it under the one it answers.
    if wants_json(&headers)
        && let Some(row) = outcome.row
    {
        let entity = state.engine.status_entity(Some(me.account_id), row).await?;
        return Ok(Json(entity).into_response());
    }
    Ok(back(form.return_to.as_deref(), "/home"))
}

/// Whether the script sent the form (`Accept: application/json`) and wants the post
/// back rather than the redirect.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"))
}

/// Stores the post form's files, in the order of their fields, with their
/// descriptions; the ids to attach.
async fn upload_media(
    state: &AppState,
    me: sluice_model::Id,
    up: &Upload<MAX_POST_FILES>,
) -> Result<Vec<sluice_model::Id>, WebError> {
    let mut files: Vec<_> = up
        .files
        .iter()
        .filter(|f| !f.bytes.is_empty())
        .filter_map(|f| {
            let n: usize = f.name.strip_prefix("media_")?.parse().ok()?;
            Some((n, f))
        })
        .collect();
    if files.is_empty() {
        return Ok(Vec::new());
    }
    files.sort_by_key(|(n, _)| *n);
    let account = state
        .engine
        .account(me)
        .await?
        .ok_or_else(WebError::not_found)?;
    let mut ids = Vec::with_capacity(files.len());
    for (n, f) in files {
        let description = up
            .params
            .0
            .get(&format!("description_{n}"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let m = state
            .engine
            .upload_media(
                &account,
                NewUpload {
                    bytes: f.bytes.clone(),
                    description,
                    focus: None,
                    object_type: String::new(),
                },
            )
            .await?;
        ids.push(m.id);
    }
    Ok(ids)
}

/// `POST /statuses/{id}/{action}`: `favourite`, `unfavourite`, `reblog`, `unreblog`,
/// `bookmark`, `unbookmark`, `pin`, `unpin`, `delete`, `vote` (`choices_<id>[]`).
pub(super) async fn act(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/home", &p)?.clone();
    let form: ActionForm = p.parse().unwrap_or_default();
    let id = parse_id(&id).ok_or_else(WebError::not_found)?;
    let me = me.account_id;
    // The post must be one this person can see (a not-found otherwise, as the API).
    let status = state.engine.visible_status(Some(me), id).await?;
    let activity = match action.as_str() {
        "favourite" => Some(Activity::Like { status: id }),
        "unfavourite" => Some(Activity::UndoLike { status: id }),
        "reblog" => Some(Activity::Announce {
            status: id,
            visibility: Visibility::Public,
        }),
        "unreblog" => Some(Activity::UndoAnnounce { status: id }),
        "pin" => Some(Activity::Pin { status: id }),
        "unpin" => Some(Activity::Unpin { status: id }),
        "delete" | "redraft" => {
            if status.account_id != me || status.reblog_of_id.is_some() {
                return Err(WebError::not_found());
            }
            Some(Activity::DeleteNote { status: id })
        }
        "bookmark" | "unbookmark" => {
            state.engine.bookmark(me, id, action == "bookmark").await?;
            None
        }
        "vote" => {
            // The post's choices only: one page holds many polls in one form.
            let choices = crate::form::leaf::list(
                p.0.get(&format!("choices_{id}"))
                    .unwrap_or(&serde_json::Value::Null),
            )
            .unwrap_or_default();
            if choices.is_empty() {
                return Err(unprocessable(visitor.t(&state, "poll-vote-none")));
            }
            let choices: Vec<i64> = choices.iter().map(|c| c.parse().unwrap_or(-1)).collect();
            state.engine.vote(me, id, &choices).await?;
            None
        }
        _ => return Err(WebError::not_found()),
    };
    if let Some(activity) = activity {
        state.engine.submit(me, activity).await?;
    }
    if action == "redraft" {
        // Deleted; its text comes back in the post form, as Mastodon's composer does.
        let draft = Draft {
            text: status.source_text.clone(),
            spoiler_text: status.spoiler_text.clone(),
            visibility: status.visibility.clone(),
            sensitive: status.sensitive,
            in_reply_to_id: status.in_reply_to_id.map(|i| i.to_string()),
        };
        return Ok(page(
            &state,
            &visitor,
            "compose_page.html",
            minijinja::context! { title => visitor.t(&state, "compose-redraft-title"), draft => super::val(&draft) },
        )
        .await);
    }
    if wants_json(&headers) {
        if action == "delete" {
            return Ok(Json(serde_json::json!({ "deleted": true })).into_response());
        }
        let row = state.engine.visible_status(Some(me), id).await?;
        let entity = state.engine.status_entity(Some(me), row).await?;
        return Ok(Json(entity).into_response());
    }
    Ok(back(form.return_to.as_deref(), "/home"))
}

/// `POST /statuses/{id}/react/{emoji}` and `/statuses/{id}/unreact/{emoji}`: an emoji
/// reaction given or taken back (the buttons under a post).
pub(super) async fn react(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((id, action, emoji)): Path<(String, String, String)>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/home", &p)?.account_id;
    let form: ActionForm = p.parse().unwrap_or_default();
    let id = parse_id(&id).ok_or_else(WebError::not_found)?;
    match action.as_str() {
        "react" => state.engine.react(me, id, &emoji).await?,
        "unreact" => state.engine.unreact(me, id, &emoji).await?,
        _ => return Err(WebError::not_found()),
    };
    if wants_json(&headers) {
        let row = state.engine.visible_status(Some(me), id).await?;
        let entity = state.engine.status_entity(Some(me), row).await?;
        return Ok(Json(entity).into_response());
    }
    Ok(back(form.return_to.as_deref(), "/home"))
}

/// `GET /statuses/{id}/item`: one post as the timelines show it (the `<article>`
/// alone), for the script to add a post that arrived on the stream, rendered by the
/// same template as the page. `GET /statuses/{id}/reply`: the post form for a reply to
/// it, alone, which the script opens under the post. `GET /statuses/{id}/edit`: the post
/// form, filled with one's own post, to change it.
pub(super) async fn item(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, what)): Path<(String, String)>,
) -> WebResult {
    let id = parse_id(&id).ok_or_else(WebError::not_found)?;
    let viewer = visitor.account_id();
    let row = state.engine.visible_status(viewer, id).await?;
    match what.as_str() {
        "item" => {
            let entity = state.engine.status_entity(viewer, row).await?;
            Ok(page(
                &state,
                &visitor,
                "item.html",
                minijinja::context! { s => super::val(&entity) },
            )
            .await)
        }
        "reply" => {
            // The post form for a reply, alone, for the script to open under the post.
            visitor.signed_in(&visitor.here)?;
            let entity = state.engine.status_entity(viewer, row).await?;
            Ok(page(
                &state,
                &visitor,
                "reply_form.html",
                minijinja::context! { reply_to => super::val(&entity) },
            )
            .await)
        }
        "edit" => {
            let me = visitor.signed_in(&visitor.here)?.account_id;
            if row.account_id != me || row.reblog_of_id.is_some() {
                return Err(WebError::not_found());
            }
            let source = Draft {
                text: row.source_text.clone(),
                spoiler_text: row.spoiler_text.clone(),
                visibility: row.visibility.clone(),
                sensitive: row.sensitive,
                in_reply_to_id: row.in_reply_to_id.map(|i| i.to_string()),
            };
            let entity = state.engine.status_entity(Some(me), row).await?;
            Ok(page(
                &state,
                &visitor,
                "compose_page.html",
                minijinja::context! {
                    title => visitor.t(&state, "compose-edit-title"),
                    editing => super::val(&entity),
                    draft => super::val(&source),
                },
            )
            .await)
        }
        _ => Err(WebError::not_found()),
    }
}

/// `GET /statuses/{id}/edit`.
pub(super) async fn edit_page(
    state: State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> WebResult {
    item(state, visitor, Path((id, "edit".to_string()))).await
}

/// A post's text and settings put back into the post form (to edit it, or after
/// "delete and redraft").
#[derive(Debug, serde::Serialize)]
struct Draft {
    text: String,
    spoiler_text: String,
    visibility: String,
    sensitive: bool,
    in_reply_to_id: Option<String>,
}

/// `POST /statuses/{id}/edit`: the changed text, content warning and sensitivity of
/// one's own post (its media and audience stay).
pub(super) async fn edit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/home", &p)?.clone();
    let id = parse_id(&id).ok_or_else(WebError::not_found)?;
    let form: ComposeForm = p.parse()?;
    let row = state.engine.visible_status(Some(me.account_id), id).await?;
    if row.account_id != me.account_id || row.reblog_of_id.is_some() {
        return Err(WebError::not_found());
    }
    let edit = sluice_engine::pipeline::NoteEdit {
        text: form.status,
        sensitive: form.sensitive.is_some(),
        spoiler_text: form.spoiler_text,
        language: None,
        client: None,
        media_ids: None,
        content_type: None,
    };
    state
        .engine
        .submit(me.account_id, Activity::UpdateNote { status: id, edit })
        .await?;
    let author = state
        .engine
        .account(me.account_id)
        .await?
        .ok_or_else(WebError::not_found)?;
    Err(WebError::Redirect(format!("/@{}/{id}", author.username)))
}

/// The profile's mute form: `duration` in seconds (`0` or absent: until unmuted; at
/// most [`MAX_MUTE_SECS`]) and the `notifications` checkbox (hide their notifications
/// too). A form without `duration` (an older page's plain "Mute" button) hides
/// notifications, as the API's default does. A duration that is not such a number is
/// a 400, before anything is written.
fn mute_options(p: &Params) -> Result<(bool, Option<i64>), WebError> {
    let Some(raw) = p.0.get("duration") else {
        return Ok((true, None));
    };
    let secs = match raw {
        serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    };
    let secs = secs
        .filter(|s| (0..=MAX_MUTE_SECS).contains(s))
        .ok_or(WebError::Message(
            StatusCode::BAD_REQUEST,
            "mute-bad-duration",
        ))?;
    let notifications = p.0.get("notifications").is_some_and(|v| {
        !matches!(v, serde_json::Value::Bool(false) | serde_json::Value::Null)
            && !matches!(v.as_str(), Some("" | "0" | "false"))
    });
    Ok((notifications, (secs > 0).then_some(secs)))
}

/// The longest mute with an end the web form takes: a year (the form offers up to
/// seven days; "indefinitely" is 0).
const MAX_MUTE_SECS: i64 = 365 * 24 * 3600;

/// `POST /accounts/{id}/{action}`: `follow`, `unfollow`, `block`, `unblock`, `mute`
/// (with the options of [`mute_options`]), `unmute`.
pub(super) async fn account_act(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, action)): Path<(String, String)>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/home", &p)?.clone();
    let form: ActionForm = p.parse().unwrap_or_default();
    let target = parse_id(&id).ok_or_else(WebError::not_found)?;
    state
        .engine
        .account(target)
        .await?
        .ok_or_else(WebError::not_found)?;
    let me = me.account_id;
    if target == me {
        return Err(WebError::Message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "error-own-account",
        ));
    }
    match action.as_str() {
        "follow" => {
            let follow = Activity::Follow {
                target,
                reblogs: None,
                notify: None,
            };
            state.engine.submit(me, follow).await?;
        }
        "unfollow" => {
            state
                .engine
                .submit(me, Activity::UndoFollow { target })
                .await?;
        }
        "block" => {
            state.engine.submit(me, Activity::Block { target }).await?;
        }
        "unblock" => {
            state
                .engine
                .submit(me, Activity::UndoBlock { target })
                .await?;
        }
        "mute" => {
            let (notifications, duration) = mute_options(&p)?;
            state
                .engine
                .mute(me, target, notifications, duration)
                .await?
        }
        "unmute" => state.engine.unmute(me, target).await?,
        _ => return Err(WebError::not_found()),
    }
    Ok(back(form.return_to.as_deref(), "/home"))
}
