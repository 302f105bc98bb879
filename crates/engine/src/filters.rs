//! Keyword filters: Mastodon's v2 filters (with keywords and single statuses) and the
//! v1 view of them (one v1 filter per keyword), their limits, and applying them to
//! rendered statuses for a viewer in a context.
//!
//! Every change appends a `filters_changed` event for its user in the same
//! transaction: the user's streams pass it on and reload the connection's filters.
//! Matching itself lives in `sluice_model::filter` (shared with streaming); a user's
//! compiled [`FilterSet`] is cached for [`crate::cache::FILTER_TTL`] and dropped by
//! this process's own changes.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use sluice_model::filter::{
    self, CompiledFilter, FilterAction, FilterContext, FilterSet, searchable_text,
};
use sluice_model::{Id, Timestamp, api};
use sluice_store::{FilterKeywordRow, FilterRow, FilterRows, FilterStatusRow, NewEvent, WriteTx};

use crate::{Engine, EngineError, Result};

/// Filters one user may have.
pub const MAX_FILTERS: i64 = 100;
/// Keywords one filter may have.
pub const MAX_FILTER_KEYWORDS: i64 = 100;
/// Statuses one filter may name.
pub const MAX_FILTER_STATUSES: i64 = 100;
/// Longest keyword, in characters.
pub const MAX_KEYWORD_CHARS: usize = 200;
/// Longest filter title, in characters.
pub const MAX_FILTER_TITLE_CHARS: usize = 256;

/// A change to a filter's keywords (`keywords_attributes[]`): a new keyword (no id),
/// a change to one (id), or its removal (`_destroy`).
#[derive(Debug, Clone, Default)]
pub struct KeywordChange {
    pub id: Option<Id>,
    pub keyword: Option<String>,
    pub whole_word: Option<bool>,
    pub destroy: bool,
}

/// Fields of a filter to create or change (None: unchanged, or the default).
#[derive(Debug, Clone, Default)]
pub struct FilterInput {
    pub title: Option<String>,
    pub context: Option<Vec<String>>,
    pub action: Option<String>,
    /// Seconds from now; `Some(None)`: never expires.
    pub expires_in: Option<Option<i64>>,
    pub keywords: Vec<KeywordChange>,
}

/// A change to a v1 filter, one keyword and its filter (`PUT /api/v1/filters/:id`);
/// None: unchanged.
#[derive(Debug, Clone, Default)]
pub struct FilterV1Change {
    /// The keyword's text.
    pub phrase: Option<String>,
    pub context: Option<Vec<String>>,
    /// True: the filter hides; false: it warns.
    pub irreversible: Option<bool>,
    pub whole_word: Option<bool>,
    /// Seconds from now; `Some(None)`: never expires.
    pub expires_in: Option<Option<i64>>,
}

fn contexts_of(row: &FilterRow) -> Vec<FilterContext> {
    serde_json::from_str::<Vec<String>>(&row.context)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| FilterContext::parse(c))
        .collect()
}

fn context_names(row: &FilterRow) -> Vec<String> {
    contexts_of(row)
        .into_iter()
        .map(|c| c.as_str().to_string())
        .collect()
}

fn check_context(names: &[String]) -> Result<String> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        let c = FilterContext::parse(n.trim()).ok_or_else(|| {
            EngineError::invalid(format!("Validation failed: Context {n:?} is not a filter context (home, notifications, public, thread, account)"))
        })?;
        if !out.contains(&c.as_str()) {
            out.push(c.as_str());
        }
    }
    if out.is_empty() {
        return Err(EngineError::invalid(
            "Validation failed: Context can't be blank",
        ));
    }
    Ok(json!(out).to_string())
}

fn check_keyword(k: &str) -> Result<String> {
    let k = k.trim();
    if k.is_empty() {
        return Err(EngineError::invalid(
            "Validation failed: Keyword can't be blank",
        ));
    }
    if k.chars().count() > MAX_KEYWORD_CHARS {
        return Err(EngineError::invalid(format!(
            "Validation failed: Keyword is too long (maximum is {MAX_KEYWORD_CHARS} characters)"
        )));
    }
    Ok(k.to_string())
}

fn check_title(t: &str) -> Result<String> {
    let t = t.trim();
    if t.is_empty() {
        return Err(EngineError::invalid(
            "Validation failed: Title can't be blank",
        ));
    }
    if t.chars().count() > MAX_FILTER_TITLE_CHARS {
        return Err(EngineError::invalid(format!(
            "Validation failed: Title is too long (maximum is {MAX_FILTER_TITLE_CHARS} characters)"
        )));
    }
    Ok(t.to_string())
}

fn check_action(a: &str) -> Result<String> {
    FilterAction::parse(a)
        .map(|a| a.as_str().to_string())
        .ok_or_else(|| {
            EngineError::invalid("Validation failed: Filter action must be warn or hide")
        })
}

fn expiry(expires_in: Option<i64>, now: i64) -> Result<Option<i64>> {
    match expires_in {
        None => Ok(None),
        Some(s) if s <= 0 || s > 10 * 365 * 86_400 => Err(EngineError::invalid(
            "Validation failed: expires_in must be a positive number of seconds",
        )),
        Some(s) => Ok(Some(now + s * 1000)),
    }
}

fn keyword_entity(k: &FilterKeywordRow) -> api::FilterKeyword {
    api::FilterKeyword {
        id: k.id.to_string(),
        keyword: k.keyword.clone(),
        whole_word: k.whole_word,
    }
}

fn status_entity(s: &FilterStatusRow) -> api::FilterStatus {
    api::FilterStatus {
        id: s.id.to_string(),
        status_id: s.status_id.to_string(),
    }
}

/// The Filter entity without its rules, as a FilterResult carries it.
fn filter_summary(f: &FilterRow) -> serde_json::Value {
    json!({
        "id": f.id.to_string(),
        "title": f.title,
        "context": context_names(f),
        "expires_at": f.expires_at.map(|t| Timestamp(t).to_rfc3339()),
        "filter_action": f.filter_action,
    })
}

/// Compiles a user's rows into a [`FilterSet`].
pub fn compile(rows: &FilterRows) -> FilterSet {
    let mut keywords: HashMap<Id, Vec<(String, bool)>> = HashMap::new();
    for k in &rows.keywords {
        keywords
            .entry(k.filter_id)
            .or_default()
            .push((k.keyword.clone(), k.whole_word));
    }
    let mut statuses: HashMap<Id, Vec<Id>> = HashMap::new();
    for s in &rows.statuses {
        statuses.entry(s.filter_id).or_default().push(s.status_id);
    }
    FilterSet::new(
        rows.filters
            .iter()
            .map(|f| {
                CompiledFilter::new(
                    f.id,
                    &contexts_of(f),
                    FilterAction::parse(&f.filter_action).unwrap_or(FilterAction::Warn),
                    f.expires_at,
                    keywords.remove(&f.id).unwrap_or_default(),
                    statuses.remove(&f.id).unwrap_or_default(),
                    filter_summary(f),
                )
            })
            .collect(),
    )
}

impl Engine {
    /// A user's filters, compiled (cached briefly; this process's changes drop it).
    pub async fn filter_set(&self, account_id: Id) -> Result<Arc<FilterSet>> {
        if let Some(set) = self.cache.filters.get(&account_id) {
            return Ok(set);
        }
        let rows = self.store.filter_rows(account_id, None).await?;
        let set = Arc::new(compile(&rows));
        self.cache.filters.put(account_id, set.clone());
        Ok(set)
    }

    /// Applies the viewer's filters in `context` to rendered statuses: statuses a
    /// `hide` filter matches are removed, the others get their `filtered` array (on the
    /// reblog too). Nothing happens for anonymous viewers or users without filters.
    pub async fn apply_filters(
        &self,
        viewer: Option<Id>,
        context: FilterContext,
        statuses: &mut Vec<api::Status>,
    ) -> Result<()> {
        let Some(me) = viewer else { return Ok(()) };
        let set = self.filter_set(me).await?;
        if set.is_empty() {
            return Ok(());
        }
        let now = sluice_model::id::now_millis();
        statuses.retain_mut(|s| filter_one(&set, context, now, s));
        Ok(())
    }

    /// [`Engine::apply_filters`] for the statuses of notifications (context
    /// `notifications`): a notification about a hidden status is removed.
    pub async fn apply_notification_filters(
        &self,
        me: Id,
        notifications: &mut Vec<api::Notification>,
    ) -> Result<()> {
        let set = self.filter_set(me).await?;
        if set.is_empty() {
            return Ok(());
        }
        let now = sluice_model::id::now_millis();
        notifications.retain_mut(|n| match n.status.as_mut() {
            Some(s) => filter_one(&set, FilterContext::Notifications, now, s),
            None => true,
        });
        Ok(())
    }

    /// The user's filters (v2 entities, with keywords and statuses).
    pub async fn filter_entities(&self, me: Id, only: Option<Id>) -> Result<Vec<api::Filter>> {
        let rows = self.store.filter_rows(me, only).await?;
        let mut keywords: HashMap<Id, Vec<api::FilterKeyword>> = HashMap::new();
        for k in &rows.keywords {
            keywords
                .entry(k.filter_id)
                .or_default()
                .push(keyword_entity(k));
        }
        let mut statuses: HashMap<Id, Vec<api::FilterStatus>> = HashMap::new();
        for s in &rows.statuses {
            statuses
                .entry(s.filter_id)
                .or_default()
                .push(status_entity(s));
        }
        Ok(rows
            .filters
            .iter()
            .map(|f| api::Filter {
                id: f.id.to_string(),
                title: f.title.clone(),
                context: context_names(f),
                expires_at: f.expires_at.map(|t| Timestamp(t).to_rfc3339()),
                filter_action: f.filter_action.clone(),
                keywords: keywords.remove(&f.id).unwrap_or_default(),
                statuses: statuses.remove(&f.id).unwrap_or_default(),
            })
            .collect())
    }

    pub async fn filter_entity(&self, me: Id, id: Id) -> Result<api::Filter> {
        self.filter_entities(me, Some(id))
            .await?
            .pop()
            .ok_or(EngineError::NotFound)
    }

    /// Commits a filter change with its `filters_changed` event.
    async fn commit_filters_change(&self, tx: WriteTx, me: Id, now: i64) -> Result<()> {
        let mut changes = crate::effects::Changes::at(now);
        changes.events([NewEvent {
            kind: "filters_changed".into(),
            account_id: Some(me),
            recipient_id: Some(me),
            ..Default::default()
        }]);
        self.commit(tx, changes).await?;
        self.cache.filters.remove(&me);
        Ok(())
    }

    /// Applies keyword changes to a filter inside `tx`, checking the limit.
    async fn change_keywords(
        &self,
        tx: &mut WriteTx,
        me: Id,
        filter_id: Id,
        changes: &[KeywordChange],
        now: i64,
    ) -> Result<()> {
        for c in changes {
            match c.id {
                Some(id) if c.destroy => {
                    tx.delete_filter_keyword(me, id, Some(filter_id)).await?;
                }
                Some(id) => {
                    let old = self
                        .store
                        .filter_keyword(me, id)
                        .await?
                        .filter(|k| k.filter_id == filter_id)
                        .ok_or(EngineError::NotFound)?;
                    let keyword = match &c.keyword {
                        Some(k) => check_keyword(k)?,
                        None => old.keyword,
                    };
                    tx.update_filter_keyword(
                        me,
                        id,
                        &keyword,
                        c.whole_word.unwrap_or(old.whole_word),
                    )
                    .await?;
                }
                None if c.destroy => {}
                None => {
                    let keyword = check_keyword(c.keyword.as_deref().unwrap_or(""))?;
                    tx.insert_filter_keyword(&FilterKeywordRow {
                        id: self.ids.next_at(now),
                        filter_id,
                        account_id: me,
                        keyword,
                        whole_word: c.whole_word.unwrap_or(true),
                        created_at: now,
                    })
                    .await?;
                }
            }
        }
        if tx.count_filter_rules(filter_id, false).await? > MAX_FILTER_KEYWORDS {
            return Err(EngineError::invalid(format!(
                "Validation failed: a filter has at most {MAX_FILTER_KEYWORDS} keywords"
            )));
        }
        Ok(())
    }

    /// `POST /api/v2/filters`.
    pub async fn create_filter(&self, me: Id, input: FilterInput) -> Result<api::Filter> {
        let id = self.create_filter_row(me, input).await?;
        self.filter_entity(me, id).await
    }

    async fn create_filter_row(&self, me: Id, input: FilterInput) -> Result<Id> {
        let title = check_title(input.title.as_deref().unwrap_or(""))?;
        let context = check_context(input.context.as_deref().unwrap_or(&[]))?;
        let action = check_action(input.action.as_deref().unwrap_or("warn"))?;
        let now = sluice_model::id::now_millis();
        let expires_at = expiry(input.expires_in.flatten(), now)?;
        let id = self.ids.next_at(now);
        let mut tx = self.store.begin().await?;
        tx.lock_account(me).await?;
        if tx.count_filters(me).await? >= MAX_FILTERS {
            return Err(EngineError::invalid(format!(
                "Validation failed: you can have at most {MAX_FILTERS} filters"
            )));
        }
        tx.insert_filter(&FilterRow {
            id,
            account_id: me,
            title,
            context,
            filter_action: action,
            expires_at,
            created_at: now,
            updated_at: now,
        })
        .await?;
        self.change_keywords(&mut tx, me, id, &input.keywords, now)
            .await?;
        self.commit_filters_change(tx, me, now).await?;
        Ok(id)
    }

    /// `PUT /api/v2/filters/:id`.
    pub async fn update_filter(&self, me: Id, id: Id, input: FilterInput) -> Result<api::Filter> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut row = tx
            .filter_for_update(me, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if let Some(t) = &input.title {
            row.title = check_title(t)?;
        }
        if let Some(c) = &input.context {
            row.context = check_context(c)?;
        }
        if let Some(a) = &input.action {
            row.filter_action = check_action(a)?;
        }
        if let Some(e) = input.expires_in {
            row.expires_at = expiry(e, now)?;
        }
        row.updated_at = now;
        tx.update_filter(&row).await?;
        self.change_keywords(&mut tx, me, id, &input.keywords, now)
            .await?;
        self.commit_filters_change(tx, me, now).await?;
        self.filter_entity(me, id).await
    }

    /// `DELETE /api/v2/filters/:id`.
    pub async fn delete_filter(&self, me: Id, id: Id) -> Result<()> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx.delete_filter(me, id).await? {
            return Err(EngineError::NotFound);
        }
        self.commit_filters_change(tx, me, now).await
    }

    /// `POST /api/v2/filters/:id/keywords`.
    pub async fn add_filter_keyword(
        &self,
        me: Id,
        filter_id: Id,
        keyword: &str,
        whole_word: bool,
    ) -> Result<api::FilterKeyword> {
        let keyword = check_keyword(keyword)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.filter_for_update(me, filter_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if tx.count_filter_rules(filter_id, false).await? >= MAX_FILTER_KEYWORDS {
            return Err(EngineError::invalid(format!(
                "Validation failed: a filter has at most {MAX_FILTER_KEYWORDS} keywords"
            )));
        }
        let row = FilterKeywordRow {
            id: self.ids.next_at(now),
            filter_id,
            account_id: me,
            keyword,
            whole_word,
            created_at: now,
        };
        tx.insert_filter_keyword(&row).await?;
        self.commit_filters_change(tx, me, now).await?;
        Ok(keyword_entity(&row))
    }

    pub async fn filter_keyword_entity(&self, me: Id, id: Id) -> Result<api::FilterKeyword> {
        self.store
            .filter_keyword(me, id)
            .await?
            .map(|k| keyword_entity(&k))
            .ok_or(EngineError::NotFound)
    }

    /// Keywords of one of the user's filters.
    pub async fn filter_keyword_entities(
        &self,
        me: Id,
        filter_id: Id,
    ) -> Result<Vec<api::FilterKeyword>> {
        Ok(self.filter_entity(me, filter_id).await?.keywords)
    }

    /// `PUT /api/v2/filters/keywords/:id`.
    pub async fn update_filter_keyword(
        &self,
        me: Id,
        id: Id,
        keyword: Option<&str>,
        whole_word: Option<bool>,
    ) -> Result<api::FilterKeyword> {
        let old = self
            .store
            .filter_keyword(me, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let keyword = match keyword {
            Some(k) => check_keyword(k)?,
            None => old.keyword.clone(),
        };
        let whole_word = whole_word.unwrap_or(old.whole_word);
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx
            .update_filter_keyword(me, id, &keyword, whole_word)
            .await?
        {
            return Err(EngineError::NotFound);
        }
        self.commit_filters_change(tx, me, now).await?;
        Ok(api::FilterKeyword {
            id: id.to_string(),
            keyword,
            whole_word,
        })
    }

    /// `DELETE /api/v2/filters/keywords/:id`.
    pub async fn delete_filter_keyword(&self, me: Id, id: Id) -> Result<()> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx.delete_filter_keyword(me, id, None).await? {
            return Err(EngineError::NotFound);
        }
        self.commit_filters_change(tx, me, now).await
    }

    /// `POST /api/v2/filters/:id/statuses`: the status must be one the user can see.
    pub async fn add_filter_status(
        &self,
        me: Id,
        filter_id: Id,
        status_id: Id,
    ) -> Result<api::FilterStatus> {
        self.visible_status(Some(me), status_id).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.filter_for_update(me, filter_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if tx.count_filter_rules(filter_id, true).await? >= MAX_FILTER_STATUSES {
            return Err(EngineError::invalid(format!(
                "Validation failed: a filter names at most {MAX_FILTER_STATUSES} statuses"
            )));
        }
        let row = FilterStatusRow {
            id: self.ids.next_at(now),
            filter_id,
            account_id: me,
            status_id,
            created_at: now,
        };
        if !tx.insert_filter_status(&row).await? {
            return Err(EngineError::invalid(
                "Validation failed: Status has already been taken",
            ));
        }
        self.commit_filters_change(tx, me, now).await?;
        Ok(status_entity(&row))
    }

    pub async fn filter_status_entity(&self, me: Id, id: Id) -> Result<api::FilterStatus> {
        self.store
            .filter_status(me, id)
            .await?
            .map(|s| status_entity(&s))
            .ok_or(EngineError::NotFound)
    }

    pub async fn filter_status_entities(
        &self,
        me: Id,
        filter_id: Id,
    ) -> Result<Vec<api::FilterStatus>> {
        Ok(self.filter_entity(me, filter_id).await?.statuses)
    }

    /// `DELETE /api/v2/filters/statuses/:id`.
    pub async fn delete_filter_status(&self, me: Id, id: Id) -> Result<()> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx.delete_filter_status(me, id).await? {
            return Err(EngineError::NotFound);
        }
        self.commit_filters_change(tx, me, now).await
    }

    // ---- v1: one filter per keyword -------------------------------------------------

    /// The user's keywords as v1 filters (the keyword's id is the v1 filter's id; an
    /// `irreversible` v1 filter is a `hide` filter).
    pub async fn filter_v1_entities(&self, me: Id) -> Result<Vec<api::FilterV1>> {
        let rows = self.store.filter_rows(me, None).await?;
        let filters: HashMap<Id, &FilterRow> = rows.filters.iter().map(|f| (f.id, f)).collect();
        Ok(rows
            .keywords
            .iter()
            .filter_map(|k| {
                let f = filters.get(&k.filter_id)?;
                Some(api::FilterV1 {
                    id: k.id.to_string(),
                    phrase: k.keyword.clone(),
                    context: context_names(f),
                    expires_at: f.expires_at.map(|t| Timestamp(t).to_rfc3339()),
                    irreversible: f.filter_action == "hide",
                    whole_word: k.whole_word,
                })
            })
            .collect())
    }

    pub async fn filter_v1_entity(&self, me: Id, id: Id) -> Result<api::FilterV1> {
        self.filter_v1_entities(me)
            .await?
            .into_iter()
            .find(|f| f.id == id.to_string())
            .ok_or(EngineError::NotFound)
    }

    /// `POST /api/v1/filters`: a filter titled by its phrase, with that one keyword.
    pub async fn create_filter_v1(
        &self,
        me: Id,
        phrase: &str,
        context: Vec<String>,
        irreversible: bool,
        whole_word: bool,
        expires_in: Option<i64>,
    ) -> Result<api::FilterV1> {
        let phrase = check_keyword(phrase)?;
        let filter_id = self
            .create_filter_row(
                me,
                FilterInput {
                    title: Some(phrase.clone()),
                    context: Some(context),
                    action: Some(if irreversible { "hide" } else { "warn" }.into()),
                    expires_in: Some(expires_in),
                    keywords: vec![KeywordChange {
                        keyword: Some(phrase),
                        whole_word: Some(whole_word),
                        ..Default::default()
                    }],
                },
            )
            .await?;
        let rows = self.store.filter_rows(me, Some(filter_id)).await?;
        let k = rows.keywords.first().ok_or(EngineError::NotFound)?;
        self.filter_v1_entity(me, k.id).await
    }

    /// `PUT /api/v1/filters/:id`: changes the keyword and its filter.
    pub async fn update_filter_v1(
        &self,
        me: Id,
        id: Id,
        change: FilterV1Change,
    ) -> Result<api::FilterV1> {
        let k = self
            .store
            .filter_keyword(me, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        self.update_filter(
            me,
            k.filter_id,
            FilterInput {
                title: None,
                context: change.context,
                action: change
                    .irreversible
                    .map(|i| if i { "hide" } else { "warn" }.into()),
                expires_in: change.expires_in,
                keywords: vec![KeywordChange {
                    id: Some(id),
                    keyword: change.phrase,
                    whole_word: change.whole_word,
                    destroy: false,
                }],
            },
        )
        .await?;
        self.filter_v1_entity(me, id).await
    }

    /// `DELETE /api/v1/filters/:id`: the keyword goes, and its filter with it when it
    /// was the filter's last keyword and the filter names no statuses.
    pub async fn delete_filter_v1(&self, me: Id, id: Id) -> Result<()> {
        let k = self
            .store
            .filter_keyword(me, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx.delete_filter_keyword(me, id, None).await? {
            return Err(EngineError::NotFound);
        }
        if tx.count_filter_rules(k.filter_id, false).await? == 0
            && tx.count_filter_rules(k.filter_id, true).await? == 0
        {
            tx.delete_filter(me, k.filter_id).await?;
        }
        self.commit_filters_change(tx, me, now).await
    }
}

/// Applies `set` to one rendered status; false when it is to be hidden.
fn filter_one(set: &FilterSet, context: FilterContext, now: i64, s: &mut api::Status) -> bool {
    let proper = s.reblog.as_deref().unwrap_or(s);
    let text = searchable_text(&proper.spoiler_text, &proper.content, []);
    let mut ids: Vec<Id> = Vec::with_capacity(2);
    ids.extend(s.id.parse::<Id>().ok());
    ids.extend(s.reblog.as_ref().and_then(|r| r.id.parse::<Id>().ok()));
    let matches = set.matches(context, now, &text, &ids);
    if matches.is_empty() {
        return true;
    }
    if filter::hides(&matches) {
        return false;
    }
    let results = filter::results(&matches);
    if let Some(r) = s.reblog.as_mut() {
        r.filtered = Some(results.clone());
    }
    s.filtered = Some(results);
    true
}
