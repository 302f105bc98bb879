//! Keyword filters: `/api/v2/filters` (filters with `keywords_attributes[]`, their
//! keywords and statuses sub-resources) and `/api/v1/filters` (one v1 filter per
//! keyword, as Mastodon maps them). Scopes `read:filters` / `write:filters`. The
//! engine checks limits and input (422) and tells the user's streams
//! (`filters_changed`).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Deserializer};
use serde_json::json;
use sluice_engine::filters::{FilterInput, FilterV1Change, KeywordChange};
use sluice_model::Id;

use super::accounts::path_id;
use super::scopes::{READ_FILTERS, WRITE_FILTERS};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::params::Params;

/// `POST /api/v2/filters` and `PUT /api/v2/filters/:id`: what is not sent stays.
#[derive(Debug, Deserialize)]
struct FilterForm {
    #[serde(default, deserialize_with = "field::string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "field::opt_list")]
    context: Option<Vec<String>>,
    #[serde(default, deserialize_with = "field::string")]
    filter_action: Option<String>,
    /// Absent (None), empty or null (never expires), or seconds.
    #[serde(default, deserialize_with = "field::clearable_int")]
    expires_in: Option<Option<i64>>,
    #[serde(default, deserialize_with = "keywords_attributes")]
    keywords_attributes: Option<Vec<KeywordForm>>,
}

/// One of `keywords_attributes`: a new keyword, or a change to (or `_destroy` of) the
/// keyword `id`.
#[derive(Debug, Deserialize)]
struct KeywordForm {
    #[serde(default, deserialize_with = "field::id")]
    id: Option<Id>,
    #[serde(default, deserialize_with = "field::string")]
    keyword: Option<String>,
    #[serde(default, deserialize_with = "field::bool")]
    whole_word: Option<bool>,
    #[serde(default, rename = "_destroy", deserialize_with = "field::flag")]
    destroy: bool,
}

/// `keywords_attributes`: an array of hashes (`keywords_attributes[][keyword]=…` or
/// JSON), or a hash of them by index (`keywords_attributes[0][keyword]=…`).
fn keywords_attributes<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<KeywordForm>>, D::Error> {
    field::indexed(d, Some("must be a list of keywords"))
}

impl From<FilterForm> for FilterInput {
    fn from(f: FilterForm) -> Self {
        FilterInput {
            title: f.title,
            context: f.context,
            action: f.filter_action,
            expires_in: f.expires_in,
            keywords: f
                .keywords_attributes
                .unwrap_or_default()
                .into_iter()
                .map(|k| KeywordChange {
                    id: k.id,
                    keyword: k.keyword,
                    whole_word: k.whole_word,
                    destroy: k.destroy,
                })
                .collect(),
        }
    }
}

/// `POST /api/v2/filters/:id/keywords` and `PUT /api/v2/filters/keywords/:id`.
#[derive(Debug, Deserialize)]
struct KeywordParams {
    #[serde(default, deserialize_with = "field::string")]
    keyword: Option<String>,
    #[serde(default, deserialize_with = "field::bool")]
    whole_word: Option<bool>,
}

/// `POST /api/v2/filters/:id/statuses`.
#[derive(Debug, Deserialize)]
struct FilterStatusForm {
    #[serde(default, deserialize_with = "field::id")]
    status_id: Option<Id>,
}

/// `POST /api/v1/filters` and `PUT /api/v1/filters/:id` (one keyword and its filter):
/// on an update, what is not sent stays.
#[derive(Debug, Deserialize)]
struct FilterV1Form {
    #[serde(default, deserialize_with = "field::string")]
    phrase: Option<String>,
    #[serde(default, deserialize_with = "field::opt_list")]
    context: Option<Vec<String>>,
    #[serde(default, deserialize_with = "field::bool")]
    irreversible: Option<bool>,
    #[serde(default, deserialize_with = "field::bool")]
    whole_word: Option<bool>,
    #[serde(default, deserialize_with = "field::clearable_int")]
    expires_in: Option<Option<i64>>,
}

impl From<FilterV1Form> for FilterV1Change {
    fn from(f: FilterV1Form) -> Self {
        FilterV1Change {
            phrase: f.phrase,
            context: f.context,
            irreversible: f.irreversible,
            whole_word: f.whole_word,
            expires_in: f.expires_in,
        }
    }
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
            .create_filter(me.account_id, p.parse::<FilterForm>()?.into())
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
            .update_filter(
                me.account_id,
                path_id(&id)?,
                p.parse::<FilterForm>()?.into(),
            )
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
    let id = path_id(&id)?;
    let form: KeywordParams = p.parse()?;
    Ok(Json(
        state
            .engine
            .add_filter_keyword(
                me.account_id,
                id,
                &form.keyword.unwrap_or_default(),
                form.whole_word.unwrap_or(true),
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
    let id = path_id(&id)?;
    let form: KeywordParams = p.parse()?;
    Ok(Json(
        state
            .engine
            .update_filter_keyword(me.account_id, id, form.keyword.as_deref(), form.whole_word)
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
        .parse::<FilterStatusForm>()?
        .status_id
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
    let form: FilterV1Form = p.parse()?;
    Ok(Json(
        state
            .engine
            .create_filter_v1(
                me.account_id,
                &form.phrase.unwrap_or_default(),
                form.context.unwrap_or_default(),
                form.irreversible.unwrap_or(false),
                form.whole_word.unwrap_or(false),
                form.expires_in.flatten(),
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
    let id = path_id(&id)?;
    let form: FilterV1Form = p.parse()?;
    Ok(Json(
        state
            .engine
            .update_filter_v1(me.account_id, id, form.into())
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
