//! Keyword filters (Mastodon's v2 filters): the list, a form to make one and to change
//! one (its title, where it applies, warn or hide, when it expires, its keywords), and
//! deleting one. The engine's calls are the API's (`/api/v2/filters`); a filter is
//! created or changed with its keywords in one transaction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sluice_engine::filters::{FilterInput, KeywordChange};
use sluice_model::Id;
use sluice_model::api;
use sluice_model::id::parse_id;

use super::{refusal, saved, saved_to, settings_page};
use crate::AppState;
use crate::form::field;
use crate::params::Params;
use crate::web::i18n::Arg;
use crate::web::{Visitor, WebError, WebResult, val};

/// Where a filter applies: the API's names and the message ids of what the form
/// calls them.
const CONTEXTS: [(&str, &str); 5] = [
    ("home", "filter-context-home"),
    ("notifications", "filter-context-notifications"),
    ("public", "filter-context-public"),
    ("thread", "filter-context-thread"),
    ("account", "filter-context-account"),
];

/// When a filter expires, in seconds ("" never), and the message ids of the choices.
const EXPIRIES: [(&str, &str); 8] = [
    ("", "filter-expires-never"),
    ("1800", "filter-expires-1800"),
    ("3600", "filter-expires-3600"),
    ("21600", "filter-expires-21600"),
    ("43200", "filter-expires-43200"),
    ("86400", "filter-expires-86400"),
    ("604800", "filter-expires-604800"),
    ("2592000", "filter-expires-2592000"),
];

/// The expiry choice that leaves a filter's as it is (editing).
const KEEP_EXPIRY: &str = "keep";
/// Blank keyword rows the form offers beyond the filter's own.
const NEW_KEYWORD_ROWS: usize = 3;

/// The filter form, as sent.
#[derive(Debug, Default, Deserialize)]
struct FilterForm {
    #[serde(default)]
    title: String,
    /// Checkboxes `context[]`.
    #[serde(default, deserialize_with = "field::list")]
    context: Vec<String>,
    #[serde(default)]
    filter_action: String,
    #[serde(default)]
    expires_in: String,
    /// Rows `keywords[0][id]`, `keywords[0][keyword]`, `keywords[0][whole_word]`,
    /// `keywords[0][destroy]`.
    #[serde(default, deserialize_with = "keyword_rows")]
    keywords: Option<Vec<KeywordForm>>,
}

#[derive(Debug, Default, Deserialize)]
struct KeywordForm {
    #[serde(default, deserialize_with = "field::id")]
    id: Option<Id>,
    #[serde(default, deserialize_with = "field::string")]
    keyword: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    whole_word: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    destroy: Option<String>,
}

fn keyword_rows<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<KeywordForm>>, D::Error> {
    field::indexed(d, Some("must be a list of keywords"))
}

/// What the form shows: a filter as stored, a new one, or what was sent back.
#[derive(Debug, Serialize)]
struct FilterValues {
    title: String,
    context: Vec<String>,
    filter_action: String,
    expires_in: String,
    /// When the filter expires now (editing), as shown.
    expires_at: Option<String>,
    keywords: Vec<KeywordValues>,
}

#[derive(Debug, Default, Serialize)]
struct KeywordValues {
    id: Option<String>,
    keyword: String,
    whole_word: bool,
    destroy: bool,
}

fn blank_rows(n: usize) -> impl Iterator<Item = KeywordValues> {
    (0..n).map(|_| KeywordValues {
        whole_word: true,
        ..Default::default()
    })
}

impl FilterValues {
    fn new_filter() -> Self {
        FilterValues {
            title: String::new(),
            context: vec!["home".into(), "public".into(), "thread".into()],
            filter_action: "warn".into(),
            expires_in: String::new(),
            expires_at: None,
            keywords: blank_rows(NEW_KEYWORD_ROWS).collect(),
        }
    }

    fn stored(f: &api::Filter) -> Self {
        FilterValues {
            title: f.title.clone(),
            context: f.context.clone(),
            filter_action: f.filter_action.clone(),
            expires_in: KEEP_EXPIRY.into(),
            expires_at: f.expires_at.as_deref().map(shown_time),
            keywords: f
                .keywords
                .iter()
                .map(|k| KeywordValues {
                    id: Some(k.id.clone()),
                    keyword: k.keyword.clone(),
                    whole_word: k.whole_word,
                    destroy: false,
                })
                .chain(blank_rows(NEW_KEYWORD_ROWS))
                .collect(),
        }
    }
}

/// An RFC 3339 time as pages show it.
fn shown_time(t: &str) -> String {
    format!("{} UTC", t.get(..16).unwrap_or(t).replace('T', " "))
}

impl FilterForm {
    fn values(&self, editing: Option<&api::Filter>) -> FilterValues {
        let mut keywords: Vec<KeywordValues> = self
            .keywords
            .iter()
            .flatten()
            .filter(|k| k.id.is_some() || !blank(&k.keyword))
            .map(|k| KeywordValues {
                id: k.id.map(|id| id.to_string()),
                keyword: k.keyword.clone().unwrap_or_default(),
                whole_word: k.whole_word.is_some(),
                destroy: k.destroy.is_some(),
            })
            .collect();
        keywords.extend(blank_rows(NEW_KEYWORD_ROWS));
        FilterValues {
            title: self.title.clone(),
            context: self.context.clone(),
            filter_action: self.filter_action.clone(),
            expires_in: self.expires_in.clone(),
            expires_at: editing
                .and_then(|f| f.expires_at.as_deref())
                .map(shown_time),
            keywords,
        }
    }

    /// The change the form asks for. Blank new rows are ignored; an existing keyword
    /// emptied or ticked for removal is removed.
    fn input(&self) -> Result<FilterInput, String> {
        let expires_in = match self.expires_in.trim() {
            KEEP_EXPIRY => None,
            "" => Some(None),
            s => Some(Some(s.parse::<i64>().map_err(|_| {
                format!("{s:?} is not a number of seconds until the filter expires")
            })?)),
        };
        let keywords = self
            .keywords
            .iter()
            .flatten()
            .filter_map(|k| {
                let whole_word = Some(k.whole_word.is_some());
                match k.id {
                    Some(id) if k.destroy.is_some() || blank(&k.keyword) => Some(KeywordChange {
                        id: Some(id),
                        destroy: true,
                        ..Default::default()
                    }),
                    Some(id) => Some(KeywordChange {
                        id: Some(id),
                        keyword: k.keyword.clone(),
                        whole_word,
                        destroy: false,
                    }),
                    None if blank(&k.keyword) || k.destroy.is_some() => None,
                    None => Some(KeywordChange {
                        id: None,
                        keyword: k.keyword.clone(),
                        whole_word,
                        destroy: false,
                    }),
                }
            })
            .collect();
        Ok(FilterInput {
            title: Some(self.title.clone()),
            context: Some(self.context.clone()),
            action: Some(self.filter_action.clone()),
            expires_in,
            keywords,
        })
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// `GET /settings/filters`.
pub(super) async fn index(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = visitor.signed_in("/settings/filters")?;
    let filters = state.engine.filter_entities(me.account_id, None).await?;
    let shown: Vec<_> = filters
        .iter()
        .map(|f| {
            let contexts: Vec<_> = CONTEXTS
                .iter()
                .filter(|(c, _)| f.context.iter().any(|x| x == c))
                .map(|(_, label)| visitor.t(&state, label))
                .collect();
            context! {
                id => &f.id,
                title => &f.title,
                contexts,
                hide => f.filter_action == "hide",
                expires_at => f.expires_at.as_deref().map(shown_time),
                keywords => val(&f.keywords),
            }
        })
        .collect();
    Ok(settings_page(
        &state,
        &visitor,
        "settings_filters.html",
        context! { title => visitor.t(&state, "settings-section-filters"), filters => shown, saved => saved(&p) },
        StatusCode::OK,
    )
    .await)
}

async fn filter_form(
    state: &AppState,
    visitor: &Visitor,
    editing: Option<&api::Filter>,
    values: &FilterValues,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let contexts: Vec<_> = CONTEXTS
        .iter()
        .map(|&(value, label)| context! { value, label => visitor.t(state, label) })
        .collect();
    let mut expiries: Vec<_> = EXPIRIES
        .iter()
        .map(|&(value, label)| context! { value, label => visitor.t(state, label) })
        .collect();
    if editing.is_some() {
        let label = match &values.expires_at {
            Some(at) => visitor.tf(state, "filter-expires-keep", &[("at", Arg::Str(at))]),
            None => visitor.t(state, "filter-expires-keep-never"),
        };
        expiries.insert(0, context! { value => KEEP_EXPIRY, label });
    }
    let title = visitor.t(
        state,
        if editing.is_some() {
            "filter-edit-title"
        } else {
            "filter-new-title"
        },
    );
    settings_page(
        state,
        visitor,
        "settings_filter.html",
        context! {
            title,
            id => editing.map(|f| &f.id),
            filter => val(values),
            contexts,
            expiries,
            error,
        },
        status,
    )
    .await
}

/// `GET /settings/filters/new`.
pub(super) async fn new(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    visitor.signed_in("/settings/filters/new")?;
    Ok(filter_form(
        &state,
        &visitor,
        None,
        &FilterValues::new_filter(),
        None,
        StatusCode::OK,
    )
    .await)
}

/// `POST /settings/filters`: a new filter with its keywords.
pub(super) async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor
        .posting(&state, "/settings/filters/new", &p)?
        .clone();
    let form: FilterForm = p.parse()?;
    let created = match form.input() {
        Ok(input) => state
            .engine
            .create_filter(me.account_id, input)
            .await
            .map_err(refusal),
        Err(message) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, message))),
    };
    match created {
        Ok(_) => Ok(saved_to("/settings/filters")),
        Err(refused) => {
            let (status, message) = refused?;
            Ok(filter_form(
                &state,
                &visitor,
                None,
                &form.values(None),
                Some(&message),
                status,
            )
            .await)
        }
    }
}

async fn own_filter(state: &AppState, me: Id, id: &str) -> Result<api::Filter, WebError> {
    let id = parse_id(id).ok_or_else(WebError::not_found)?;
    Ok(state.engine.filter_entity(me, id).await?)
}

/// `GET /settings/filters/{id}`: the form to change a filter.
pub(super) async fn edit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> WebResult {
    let me = visitor.signed_in("/settings/filters")?;
    let filter = own_filter(&state, me.account_id, &id).await?;
    Ok(filter_form(
        &state,
        &visitor,
        Some(&filter),
        &FilterValues::stored(&filter),
        None,
        StatusCode::OK,
    )
    .await)
}

/// `POST /settings/filters/{id}`: changes a filter and its keywords.
pub(super) async fn update(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/filters", &p)?.clone();
    let filter = own_filter(&state, me.account_id, &id).await?;
    let filter_id = parse_id(&filter.id).ok_or_else(WebError::not_found)?;
    let form: FilterForm = p.parse()?;
    let updated = match form.input() {
        Ok(input) => state
            .engine
            .update_filter(me.account_id, filter_id, input)
            .await
            .map_err(refusal),
        Err(message) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, message))),
    };
    match updated {
        Ok(_) => Ok(saved_to("/settings/filters")),
        Err(refused) => {
            let (status, message) = refused?;
            Ok(filter_form(
                &state,
                &visitor,
                Some(&filter),
                &form.values(Some(&filter)),
                Some(&message),
                status,
            )
            .await)
        }
    }
}

/// `POST /settings/filters/{id}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/filters", &p)?.clone();
    let id = parse_id(&id).ok_or_else(WebError::not_found)?;
    state.engine.delete_filter(me.account_id, id).await?;
    Ok(saved_to("/settings/filters"))
}
