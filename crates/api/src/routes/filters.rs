//! Keyword filters: `/api/v2/filters` (filters with `keywords_attributes[]`, their
//! keywords and statuses sub-resources) and `/api/v1/filters` (one v1 filter per
//! keyword, as Mastodon maps them). Scopes `read:filters` / `write:filters`. The
//! engine checks limits and input (422) and tells the user's streams
//! (`filters_changed`).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sluice_engine::filters::{FilterInput, KeywordChange};
use sluice_model::Id;

use super::accounts::path_id;
use super::scopes::{READ_FILTERS, WRITE_FILTERS};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;

/// `expires_in`: absent (None), empty or null (never expires), or seconds.
fn expires_in(p: &Params) -> ApiResult<Option<Option<i64>>> {
    match p.0.get("expires_in") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(_) => Ok(Some(p.int("expires_in")?)),
    }
}

/// `context[]`, when given.
fn context(p: &Params) -> ApiResult<Option<Vec<String>>> {
    Ok(match p.get("context") {
        None => None,
        Some(_) => Some(p.list("context")?),
    })
}

/// `keywords_attributes`: an array of hashes (`keywords_attributes[][keyword]=…` or
/// JSON), or a hash of them by index (`keywords_attributes[0][keyword]=…`).
fn keyword_changes(p: &Params) -> ApiResult<Vec<KeywordChange>> {
    let items: Vec<Params> = match p.get("keywords_attributes") {
        None => return Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::Object(m) => Ok(Params(m.clone())),
                _ => Err(ApiError::unprocessable(
                    "Validation failed: keywords_attributes must be a list of keywords",
                )),
            })
            .collect::<ApiResult<_>>()?,
        Some(Value::Object(m)) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(u64::MAX));
            entries
                .into_iter()
                .map(|(_, v)| match v {
                    Value::Object(m) => Ok(Params(m.clone())),
                    _ => Err(ApiError::unprocessable(
                        "Validation failed: keywords_attributes must be a list of keywords",
                    )),
                })
                .collect::<ApiResult<_>>()?
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "Validation failed: keywords_attributes must be a list of keywords",
            ));
        }
    };
    items
        .iter()
        .map(|k| {
            Ok(KeywordChange {
                id: k.id("id")?,
                keyword: k.str("keyword")?,
                whole_word: k.bool("whole_word")?,
                destroy: k.flag("_destroy")?,
            })
        })
        .collect()
}

fn input(p: &Params) -> ApiResult<FilterInput> {
    Ok(FilterInput {
        title: p.str("title")?,
        context: context(p)?,
        action: p.str("filter_action")?,
        expires_in: expires_in(p)?,
        keywords: keyword_changes(p)?,
    })
}

// ---- v2 ---------------------------------------------------------------------------

pub async fn index(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FILTERS)?;
    Ok(Json(
        state.engine.filter_entities(me.account_id, None).await?,
    ))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    Ok(Json(
        state
            .engine
            .create_filter(me.account_id, input(&p)?)
            .await?,
    ))
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FILTERS)?;
    Ok(Json(
        state
            .engine
            .filter_entity(me.account_id, path_id(&id)?)
            .await?,
    ))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    Ok(Json(
        state
            .engine
            .update_filter(me.account_id, path_id(&id)?, input(&p)?)
            .await?,
    ))
}

pub async fn destroy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    state
        .engine
        .delete_filter(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

pub async fn keywords(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FILTERS)?;
    Ok(Json(
        state
            .engine
            .filter_keyword_entities(me.account_id, path_id(&id)?)
            .await?,
    ))
}

pub async fn add_keyword(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    Ok(Json(
        state
            .engine
            .add_filter_keyword(
                me.account_id,
                path_id(&id)?,
                &p.string("keyword")?,
                p.bool("whole_word")?.unwrap_or(true),
            )
            .await?,
    ))
}

pub async fn keyword(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FILTERS)?;
    Ok(Json(
        state
            .engine
            .filter_keyword_entity(me.account_id, path_id(&id)?)
            .await?,
    ))
}

pub async fn update_keyword(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    Ok(Json(
        state
            .engine
            .update_filter_keyword(
                me.account_id,
                path_id(&id)?,
                p.str("keyword")?.as_deref(),
                p.bool("whole_word")?,
            )
            .await?,
    ))
}

pub async fn destroy_keyword(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    state
        .engine
        .delete_filter_keyword(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

pub async fn statuses(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FILTERS)?;
    Ok(Json(
        state
            .engine
            .filter_status_entities(me.account_id, path_id(&id)?)
            .await?,
    ))
}

pub async fn add_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    let status: Id = p
        .id("status_id")?
        .ok_or_else(|| ApiError::unprocessable("Validation failed: Status can't be blank"))?;
    Ok(Json(
        state
            .engine
            .add_filter_status(me.account_id, path_id(&id)?, status)
            .await?,
    ))
}

pub async fn status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FILTERS)?;
    Ok(Json(
        state
            .engine
            .filter_status_entity(me.account_id, path_id(&id)?)
            .await?,
    ))
}

pub async fn destroy_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    state
        .engine
        .delete_filter_status(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

// ---- v1 ---------------------------------------------------------------------------

pub async fn v1_index(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FILTERS)?;
    Ok(Json(state.engine.filter_v1_entities(me.account_id).await?))
}

pub async fn v1_create(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    Ok(Json(
        state
            .engine
            .create_filter_v1(
                me.account_id,
                &p.string("phrase")?,
                p.list("context")?,
                p.flag("irreversible")?,
                p.flag("whole_word")?,
                expires_in(&p)?.flatten(),
            )
            .await?,
    ))
}

pub async fn v1_show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FILTERS)?;
    Ok(Json(
        state
            .engine
            .filter_v1_entity(me.account_id, path_id(&id)?)
            .await?,
    ))
}

pub async fn v1_update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    Ok(Json(
        state
            .engine
            .update_filter_v1(
                me.account_id,
                path_id(&id)?,
                p.str("phrase")?.as_deref(),
                context(&p)?,
                p.bool("irreversible")?,
                p.bool("whole_word")?,
                expires_in(&p)?,
            )
            .await?,
    ))
}

pub async fn v1_destroy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FILTERS)?;
    state
        .engine
        .delete_filter_v1(me.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}
