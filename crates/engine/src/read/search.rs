//! Search (`GET /api/v2/search`): posts by their words with Mastodon's scope rules and
//! operators, and hashtags by prefix with their recent use. Accounts are searched in
//! `read/accounts.rs`; a URL or handle is resolved by federation.

use sluice_model::search::{Author, StatusQuery};
use sluice_model::{Id, api};
use sluice_store::StatusSearch;

use crate::{Engine, Result};

/// A status search: the query as read and the request's paging and account.
#[derive(Debug, Clone, Default)]
pub struct SearchAsk {
    pub query: StatusQuery,
    /// `account_id`: only this account's posts.
    pub account_id: Option<Id>,
    pub min_id: Option<Id>,
    pub max_id: Option<Id>,
    pub limit: i64,
    pub offset: i64,
}

/// Whether `s` can be a hashtag name (letters, digits, `_`).
fn tag_like(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

impl Engine {
    /// The posts `me` finds with `ask`, newest first: among their own posts, those
    /// they interacted with (favourited, reblogged, bookmarked, replied to, were
    /// mentioned in) and the public posts of accounts that allow being indexed; each
    /// checked again with the visibility rules. An empty query finds nothing; a
    /// `from:` naming nobody known finds nothing.
    pub async fn search_statuses(&self, me: Id, ask: &SearchAsk) -> Result<Vec<api::Status>> {
        let q = &ask.query;
        if q.is_empty() {
            return Ok(vec![]);
        }
        let from = match &q.from {
            None => None,
            Some(Author::Me) => Some(me),
            Some(Author::Acct(acct)) => match self.account_by_acct(acct).await? {
                Some(a) => Some(a.id),
                None => return Ok(vec![]),
            },
        };
        let account_id = match (from, ask.account_id) {
            (Some(a), Some(b)) if a != b => return Ok(vec![]),
            (a, b) => a.or(b),
        };
        let search = StatusSearch {
            terms: q.terms.clone(),
            excluded: q.excluded.clone(),
            account_id,
            has_media: q.has_media,
            has_poll: q.has_poll,
            is_reply: q.is_reply,
            is_sensitive: q.is_sensitive,
            language: q.language.clone(),
            since_ms: q.since_ms,
            until_ms: q.until_ms,
            library_only: q.library_only,
            min_id: ask.min_id,
            max_id: ask.max_id,
            limit: ask.limit,
            offset: ask.offset,
        };
        let rows = self.store.search_statuses(me, &search).await?;
        let rows = self.only_visible(Some(me), rows).await?;
        self.status_entities(Some(me), rows).await
    }

    /// Hashtags starting with `q` (a leading `#` and case ignored): the exact name
    /// first, then the most recently used, each with its use over the last
    /// [`crate::tags::TAG_HISTORY_DAYS`] days.
    pub async fn search_tags(
        &self,
        q: &str,
        viewer: Option<Id>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<api::Tag>> {
        let prefix = q.trim().trim_start_matches('#').to_lowercase();
        if !tag_like(&prefix) {
            return Ok(vec![]);
        }
        let rows = self.store.search_tags(&prefix, limit, offset).await?;
        self.tag_entities(
            viewer,
            rows.into_iter().map(|t| (Some(t.id), t.name)).collect(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::tag_like;

    #[test]
    fn tag_names() {
        assert!(tag_like("rust_lang"));
        assert!(tag_like("日本"));
        assert!(!tag_like(""));
        assert!(!tag_like("two words"));
        assert!(!tag_like("a%"));
    }
}
