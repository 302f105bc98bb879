//! Thread backfill: a reply arrives whose parent we do not have, so the parent (and
//! its parents) are fetched and stored, so the conversation reads whole.
//!
//! Bounded inside the work, not only between steps: at most [`MAX_DEPTH`] ancestors,
//! at most [`MAX_ITEMS`] fetches, and a [`DEADLINE`] checked before each fetch. A
//! thread deeper than that is shown from where the walk stopped.

use std::time::{Duration, Instant};

use url::Url;

use crate::document::{self, Document, same_origin};
use crate::inbox::InboxError;
use crate::inbox::convert::{fetched_create, remote_note};
use crate::service::Federation;

/// Ancestors fetched above a reply, at most.
pub const MAX_DEPTH: usize = 16;
/// Documents fetched by one backfill (ancestors and their authors), at most.
pub const MAX_ITEMS: usize = 32;
/// How long one backfill may take in all.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Budget of one backfill, checked before every fetch.
pub struct Budget {
    depth: usize,
    items: usize,
    deadline: Instant,
}

impl Budget {
    pub fn new() -> Self {
        Budget {
            depth: MAX_DEPTH,
            items: MAX_ITEMS,
            deadline: Instant::now() + DEADLINE,
        }
    }

    /// Takes one fetch from the budget; false when it is spent.
    fn take(&mut self) -> bool {
        if self.items == 0 || Instant::now() >= self.deadline {
            return false;
        }
        self.items -= 1;
        true
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

impl Federation {
    /// Makes sure the post `uri` (the parent of something being stored) is stored,
    /// fetching it and its ancestors within `budget`. Failures only end the walk: the
    /// reply is stored anyway, unthreaded where the chain broke.
    pub async fn backfill(&self, uri: &str, budget: &mut Budget) {
        // Walk up first, collecting the missing chain; store it top down so every
        // post finds its parent.
        let mut chain = Vec::new();
        let mut next = Some(uri.to_string());
        while let Some(uri) = next.take() {
            if budget.depth == 0 || chain.len() >= MAX_DEPTH {
                break;
            }
            match self.engine.status_by_uri(&uri).await {
                Ok(Some(_)) => break,
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(%uri, error = %e, "backfill stopped");
                    break;
                }
            }
            if self.is_local_uri(&uri) || !budget.take() {
                break;
            }
            budget.depth -= 1;
            match self.fetch_post(&uri, false).await {
                Ok(Some((author, object))) => {
                    next = object.in_reply_to.clone();
                    chain.push((author, object));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%uri, error = %e, "backfill fetch failed");
                    break;
                }
            }
        }
        for (author, object) in chain.into_iter().rev() {
            let Ok(note) = remote_note(&author, &object).await else {
                continue;
            };
            let record = fetched_create(&object);
            if let Err(e) = self
                .engine
                .remote_create_note(&author, &record, &note)
                .await
            {
                tracing::debug!(uri = %object.id, error = %e, "backfilled post not stored");
            }
        }
    }

    /// Whether `uri` is on our own server.
    pub(crate) fn is_local_uri(&self, uri: &str) -> bool {
        same_origin(uri, self.engine.urls.base())
    }

    /// The post at `url` (its id, or a page its server serves it at as ActivityStreams,
    /// such as a Mastodon `/@name/123` link), fetched and stored when it is new, with
    /// what it replies to (within a [`Budget`]): what a person pastes to reply to or
    /// favourite a post of another server. `None` when the document is not a post.
    pub async fn resolve_post(
        &self,
        url: &str,
    ) -> Result<Option<sluice_engine::rows::StatusRow>, InboxError> {
        if let Some(s) = self.engine.status_by_uri(url).await? {
            return Ok(Some(s));
        }
        if self.is_local_uri(url) {
            return Ok(None);
        }
        let Some((author, object)) = self.fetch_post(url, false).await? else {
            return Ok(None);
        };
        if let Some(s) = self.engine.status_by_uri(&object.id).await? {
            return Ok(Some(s));
        }
        if let Some(parent) = &object.in_reply_to {
            self.backfill(parent, &mut Budget::new()).await;
        }
        let Ok(mut note) = remote_note(&author, &object).await else {
            return Ok(None);
        };
        // Its quote's stamp is kept only once checked (against a quoted post we
        // have: a fetched post's quote is not followed).
        if note.quote.is_some() {
            note = Box::pin(crate::inbox::create_check_quote(self, &note)).await;
        }
        self.engine
            .remote_create_note(&author, &fetched_create(&object), &note)
            .await?;
        Ok(self.engine.status_by_uri(&object.id).await?)
    }

    /// Fetches a post and its author (the author counts against no budget: it is
    /// usually known, and fetched at most once per post); `fresh`: not from the
    /// fetcher's cache.
    pub(crate) async fn fetch_post(
        &self,
        uri: &str,
        fresh: bool,
    ) -> Result<Option<(sluice_engine::rows::AccountRow, document::Object)>, InboxError> {
        let url = Url::parse(uri).map_err(|_| InboxError::BadRequest("not a URL".into()))?;
        let fetched = self
            .get_json(&url, fresh)
            .await
            .map_err(|e| crate::inbox::fetch_failed(uri, &e))?;
        let doc = document::parse(fetched.bytes())
            .map_err(|e| InboxError::BadRequest(format!("{uri}: {e}")))?;
        let Document::Object(object) = doc else {
            return Ok(None);
        };
        // The document must be what it says: its id on the host it came from.
        if !same_origin(&object.id, fetched.url.as_str()) {
            return Ok(None);
        }
        let Some(author_uri) = object.attributed_to.clone() else {
            return Ok(None);
        };
        if !same_origin(&author_uri, &object.id) {
            return Ok(None);
        }
        let author = self.resolve_actor(&author_uri, false).await?;
        Ok(Some((author, object)))
    }
}
