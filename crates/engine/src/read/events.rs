//! What the streaming crate reads: the event log it tails (and how it learns of other
//! processes' commits), and the relations a user's connections filter with.

use sluice_model::Id;
use sluice_store::{EventRow, EventWakeups, FilterRows, StreamListRow};

use crate::{Engine, Result};

/// What a user's streaming connections filter events with, as stored now
/// ([`Engine::stream_relations`]).
#[derive(Debug, Default)]
pub struct StreamRelations {
    /// The user's keyword filters.
    pub filters: FilterRows,
    /// Accounts the user follows, blocks, mutes.
    pub following: Vec<Id>,
    pub blocked: Vec<Id>,
    pub muted: Vec<Id>,
    /// The user's lists, a row per member (or one without a member for an empty list).
    pub lists: Vec<StreamListRow>,
    /// Domains the user blocked.
    pub domains: Vec<String>,
    /// The hashtags the user follows (names).
    pub followed_tags: Vec<String>,
}

impl Engine {
    /// The id of the newest event in the log (0 when it is empty).
    pub async fn last_event_id(&self) -> Result<i64> {
        Ok(self.store.last_event_id().await?)
    }

    /// Up to `limit` events after `after`, oldest first.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>> {
        Ok(self.store.events_after(after, limit).await?)
    }

    /// Wake-ups for other processes' commits of events (PostgreSQL's `NOTIFY`); None
    /// where the database sends none (SQLite: poll).
    pub async fn event_wakeups(&self) -> Result<Option<EventWakeups>> {
        Ok(self.store.event_wakeups().await?)
    }

    /// A marker that changes when the database may have changed (SQLite's wal-index
    /// header); None where there is none. See `Store::change_marker`.
    pub fn change_marker(&self) -> Option<[u8; 48]> {
        self.store.change_marker()
    }

    /// The relations `me`'s connections filter with, each kind bounded by `limit`
    /// rows.
    pub async fn stream_relations(&self, me: Id, limit: i64) -> Result<StreamRelations> {
        let filters = self.store.filter_rows(me, None).await?;
        let [following, blocked, muted] = self.store.stream_relations(me, limit).await?;
        let lists = self.store.stream_lists(me, limit).await?;
        let domains = self.store.blocked_domains(me, limit).await?;
        let followed_tags = self
            .store
            .followed_tag_names(me, crate::tags::MAX_FOLLOWED_TAGS)
            .await?;
        Ok(StreamRelations {
            followed_tags,
            filters,
            following,
            blocked,
            muted,
            lists,
            domains,
        })
    }
}
