//! Hashtags as people use them: one tag with its recent use (`/api/v1/tags/:name`),
//! following tags (their public posts join home and the user stream), featuring tags
//! on a profile (federated as Mastodon does, `Add`/`Remove` of a `Hashtag` to the
//! actor's `featuredTags` collection), and trends of tags and posts read from recent
//! posts with a bounded scan and kept for a while.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};
use sluice_model::activity::Verb;
use sluice_model::{Id, Timestamp, Visibility, api};
use sluice_store::{AccountRow, FeaturedTagRow, HashtagRow, Page, WriteTx};

use crate::effects::Changes;
use crate::{Engine, EngineError, Result, as2};

/// Most hashtags a user may follow (each is a walk of that tag's posts in their home).
pub const MAX_FOLLOWED_TAGS: i64 = 100;
/// Most hashtags an account features (Mastodon's limit).
pub const MAX_FEATURED_TAGS: i64 = 10;
/// Days of use shown in a hashtag's `history` (today included), as Mastodon.
pub const TAG_HISTORY_DAYS: i64 = 7;
/// Posts of their own scanned for featured-tag suggestions.
const SUGGESTION_SCAN: i64 = 500;
/// Suggestions offered (Mastodon: 10).
const SUGGESTIONS: i64 = 10;
/// Trends read the newest posts of this window ...
const TREND_WINDOW_MS: i64 = 2 * DAY_MS;
/// ... at most this many of them: the bound on a trends computation's work.
pub const TREND_SCAN: i64 = 20_000;
/// A tag trends when this many accounts used it in the window.
pub const TREND_MIN_ACCOUNTS: i64 = 2;
/// A post trends with this many favourites and boosts together.
pub const TREND_MIN_INTERACTIONS: i64 = 2;
/// Trending tags and posts computed and kept (clients page through them).
const TRENDS_KEPT: i64 = 40;
const DAY_MS: i64 = 86_400_000;

/// What is trending, as last computed.
#[derive(Debug, Clone, Default)]
pub struct Trends {
    /// Tag ids and names, most used first.
    pub tags: Vec<(Id, String)>,
    /// Post ids, highest ranked first.
    pub statuses: Vec<Id>,
}

impl Engine {
    /// The ids of the hashtags `me` follows (cached for a few seconds, dropped by
    /// this process's own changes).
    pub(crate) async fn followed_tag_ids(&self, me: Id) -> Result<Arc<Vec<Id>>> {
        if let Some(ids) = self.cache.followed_tags.get(&me) {
            return Ok(ids);
        }
        let ids = Arc::new(self.store.followed_tag_ids(me, MAX_FOLLOWED_TAGS).await?);
        self.cache.followed_tags.put(me, ids.clone());
        Ok(ids)
    }

    /// Hashtag entities for `tags` (id, name), with their use over the last
    /// [`TAG_HISTORY_DAYS`] days and, for a signed-in viewer, whether they follow and
    /// feature each. A tag never used here has the id `""` (as Mastodon's unsaved tag).
    pub async fn tag_entities(
        &self,
        viewer: Option<Id>,
        tags: Vec<(Option<Id>, String)>,
    ) -> Result<Vec<api::Tag>> {
        let today = sluice_model::id::now_millis().div_euclid(DAY_MS);
        let first_day = today - (TAG_HISTORY_DAYS - 1);
        let ids: Vec<Id> = tags.iter().filter_map(|t| t.0).collect();
        let uses: HashMap<(Id, i64), (i64, i64)> = self
            .store
            .tag_history(&ids, first_day * DAY_MS)
            .await?
            .into_iter()
            .map(|d| ((d.tag_id, d.day), (d.uses, d.accounts)))
            .collect();
        let (followed, featured): (HashSet<Id>, HashSet<Id>) = match viewer {
            Some(me) if !ids.is_empty() => (
                self.followed_tag_ids(me).await?.iter().copied().collect(),
                self.store
                    .featured_tags(me)
                    .await?
                    .into_iter()
                    .map(|f| f.tag_id)
                    .collect(),
            ),
            _ => Default::default(),
        };
        Ok(tags
            .into_iter()
            .map(|(id, name)| api::Tag {
                id: id.map(|i| i.to_string()).unwrap_or_default(),
                url: self.urls.tag(&name),
                history: (first_day..=today)
                    .rev()
                    .map(|day| {
                        let (n, accounts) = id
                            .and_then(|id| uses.get(&(id, day)).copied())
                            .unwrap_or((0, 0));
                        api::TagHistory {
                            day: (day * 86_400).to_string(),
                            uses: n.to_string(),
                            accounts: accounts.to_string(),
                        }
                    })
                    .collect(),
                following: viewer.map(|_| id.is_some_and(|i| followed.contains(&i))),
                featuring: viewer.map(|_| id.is_some_and(|i| featured.contains(&i))),
                name,
            })
            .collect())
    }

    /// The hashtag `name` as typed (`#Rust`, `rust`): 404 when it cannot be one.
    pub async fn tag(&self, viewer: Option<Id>, name: &str) -> Result<api::Tag> {
        let name = sluice_model::content::normalize_tag(name).ok_or(EngineError::NotFound)?;
        let id = self.store.tag_by_name(&name).await?.map(|t| t.id);
        let mut tags = self.tag_entities(viewer, vec![(id, name)]).await?;
        tags.pop().ok_or(EngineError::NotFound)
    }

    /// The hashtag `name`'s row, made if it is new; 404 when it cannot be a hashtag.
    async fn ensure_tag(&self, tx: &mut WriteTx, name: &str, now: i64) -> Result<HashtagRow> {
        let name = sluice_model::content::normalize_tag(name).ok_or(EngineError::NotFound)?;
        let id = tx.ensure_tag(&name, self.new_id(), now).await?;
        Ok(HashtagRow { id, name })
    }

    /// `me` follows the hashtag `name` (again: nothing changes), at most
    /// [`MAX_FOLLOWED_TAGS`]. Its public posts join their home from now on.
    pub async fn follow_tag(&self, me: Id, name: &str) -> Result<api::Tag> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let tag = self.ensure_tag(&mut tx, name, now).await?;
        if !self.followed_tag_ids(me).await?.contains(&tag.id)
            && tx.count_followed_tags(me).await? >= MAX_FOLLOWED_TAGS
        {
            return Err(EngineError::invalid(format!(
                "Validation failed: You cannot follow more than {MAX_FOLLOWED_TAGS} hashtags"
            )));
        }
        if tx.follow_tag(self.new_id(), me, tag.id, now).await? {
            self.commit_tag_follows(tx, me, now).await?;
        } else {
            tx.commit().await?;
        }
        self.tag(Some(me), &tag.name).await
    }

    /// `me` stops following the hashtag `name` (not following it is no error).
    pub async fn unfollow_tag(&self, me: Id, name: &str) -> Result<api::Tag> {
        let name = sluice_model::content::normalize_tag(name).ok_or(EngineError::NotFound)?;
        if let Some(tag) = self.store.tag_by_name(&name).await? {
            let now = sluice_model::id::now_millis();
            let mut tx = self.store.begin().await?;
            if tx.unfollow_tag(me, tag.id).await? {
                self.commit_tag_follows(tx, me, now).await?;
            } else {
                tx.commit().await?;
            }
        }
        self.tag(Some(me), &name).await
    }

    /// Commits a change of `me`'s followed tags with the event that has their
    /// streaming connections load them again, and forgets the cached ones.
    async fn commit_tag_follows(&self, tx: WriteTx, me: Id, now: i64) -> Result<()> {
        let mut changes = Changes::at(now);
        changes.events([crate::lists::lists_event(me)]);
        self.commit(tx, changes).await?;
        self.cache.followed_tags.remove(&me);
        Ok(())
    }

    /// The hashtags `me` follows, paged by when they followed them; with the page's
    /// cursors (the follows' ids).
    pub async fn followed_tags(&self, me: Id, page: Page) -> Result<(Vec<api::Tag>, Vec<Id>)> {
        let rows = self.store.followed_tags(me, page).await?;
        let cursors = rows.iter().map(|r| r.follow_id).collect();
        let tags = self
            .tag_entities(
                Some(me),
                rows.into_iter().map(|r| (Some(r.id), r.name)).collect(),
            )
            .await?;
        Ok((tags, cursors))
    }

    // ---- featured tags ----

    fn featured_entity(&self, account: &AccountRow, row: FeaturedTagRow) -> api::FeaturedTag {
        let profile = if account.is_local() {
            self.urls.profile(&account.username)
        } else if account.url.is_empty() {
            account.uri.clone()
        } else {
            account.url.clone()
        };
        api::FeaturedTag {
            id: row.id.to_string(),
            url: format!("{}/tagged/{}", profile.trim_end_matches('/'), row.name),
            statuses_count: row.statuses_count,
            last_status_at: row.last_status_at.map(|t| Timestamp(t).to_date()),
            name: row.name,
        }
    }

    /// The hashtags `account` features on its profile, as listed there.
    pub async fn featured_tags_of(&self, account: &AccountRow) -> Result<Vec<api::FeaturedTag>> {
        Ok(self
            .store
            .featured_tags(account.id)
            .await?
            .into_iter()
            .map(|r| self.featured_entity(account, r))
            .collect())
    }

    /// `me` features the hashtag `name` (at most [`MAX_FEATURED_TAGS`]); their
    /// followers' servers get an `Add` of the Hashtag to `featuredTags`. Featuring it
    /// again changes nothing. An invalid name is a 422 here, as Mastodon.
    pub async fn feature_tag(&self, me: &AccountRow, name: &str) -> Result<api::FeaturedTag> {
        if sluice_model::content::normalize_tag(name).is_none() {
            return Err(EngineError::invalid("Validation failed: Tag is invalid"));
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let tag = self.ensure_tag(&mut tx, name, now).await?;
        let existing = self.store.featured_tags(me.id).await?;
        if let Some(row) = existing.iter().find(|f| f.tag_id == tag.id) {
            tx.commit().await?;
            return Ok(self.featured_entity(me, row.clone()));
        }
        if tx.count_featured_tags(me.id).await? >= MAX_FEATURED_TAGS {
            return Err(EngineError::invalid(format!(
                "Validation failed: You cannot feature more than {MAX_FEATURED_TAGS} hashtags"
            )));
        }
        let id = tx.feature_tag(self.new_id(), me.id, tag.id, now).await?;
        self.record_featured_tag(&mut tx, me, Verb::Add, &tag.name, now)
            .await?;
        self.commit(tx, Changes::at(now)).await?;
        self.store
            .featured_tags(me.id)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .map(|r| self.featured_entity(me, r))
            .ok_or(EngineError::NotFound)
    }

    /// `me` stops featuring the featured tag `id` (404 when it is not theirs); their
    /// followers' servers get a `Remove`.
    pub async fn unfeature_tag(&self, me: &AccountRow, id: Id) -> Result<()> {
        let row = self
            .store
            .featured_tags(me.id)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx.unfeature_tag(me.id, id).await? {
            return Err(EngineError::NotFound);
        }
        self.record_featured_tag(&mut tx, me, Verb::Remove, &row.name, now)
            .await?;
        self.commit(tx, Changes::at(now)).await
    }

    /// The hashtags `me` used most in their recent posts and does not feature yet.
    pub async fn featured_tag_suggestions(&self, me: Id) -> Result<Vec<api::Tag>> {
        let rows = self
            .store
            .tag_suggestions(me, SUGGESTION_SCAN, SUGGESTIONS)
            .await?;
        self.tag_entities(
            Some(me),
            rows.into_iter().map(|r| (Some(r.id), r.name)).collect(),
        )
        .await
    }

    /// A Hashtag object as the `featuredTags` collection and its Add/Remove carry it.
    pub fn hashtag_object(&self, name: &str) -> Value {
        json!({"type": "Hashtag", "href": self.urls.tag(name), "name": format!("#{name}")})
    }

    /// Records (and queues for the followers) the `Add` or `Remove` of a Hashtag to the
    /// actor's `featuredTags` collection.
    async fn record_featured_tag(
        &self,
        tx: &mut WriteTx,
        actor: &AccountRow,
        verb: Verb,
        name: &str,
        now: i64,
    ) -> Result<()> {
        let (to, cc) = Visibility::Public.addressing(&actor.followers_url, &[]);
        let id = format!("{}#featured_tags/{}", actor.uri, self.new_id());
        let mut doc = as2::activity(
            &id,
            verb,
            &actor.uri,
            self.hashtag_object(name),
            &to,
            &cc,
            Timestamp(now),
        );
        doc["target"] = json!(self.urls.featured_tags(&actor.username));
        self.record_document(tx, actor, doc, &to, &cc, now).await
    }

    /// A remote actor featured (`add`) or stopped featuring the hashtag `name` (from
    /// an `Add`/`Remove` `a` to its `featuredTags`): the featured tags of its profile
    /// here, at most [`MAX_FEATURED_TAGS`]. A name that cannot be a hashtag, or one
    /// over the limit, is recorded as ignored.
    pub async fn remote_featured_tag(
        &self,
        actor: &AccountRow,
        a: &crate::remote::RemoteActivity,
        name: &str,
        add: bool,
    ) -> Result<crate::pipeline::Outcome> {
        use crate::remote::Ignored;
        let Some(name) = sluice_model::content::normalize_tag(name) else {
            return self
                .remote_ignored(actor, a, Ignored::OtherCollection)
                .await;
        };
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(crate::pipeline::Outcome::default());
        };
        let tag = self.ensure_tag(&mut tx, &name, now).await?;
        let changed = if add {
            let new = self.new_id();
            tx.count_featured_tags(actor.id).await? < MAX_FEATURED_TAGS
                && tx.feature_tag(new, actor.id, tag.id, now).await? == new
        } else {
            let row = self
                .store
                .featured_tags(actor.id)
                .await?
                .into_iter()
                .find(|f| f.tag_id == tag.id);
            match row {
                Some(r) => tx.unfeature_tag(actor.id, r.id).await?,
                None => false,
            }
        };
        self.commit(tx, Changes::at(now)).await?;
        Ok(crate::pipeline::Outcome {
            changed,
            ..Default::default()
        })
    }

    /// A remote actor's featured tags as its `featuredTags` collection lists them
    /// (names as sent, `#` or not; those that cannot be hashtags are left out, at most
    /// [`MAX_FEATURED_TAGS`]).
    pub async fn set_remote_featured_tags(
        &self,
        actor: &AccountRow,
        names: &[String],
    ) -> Result<()> {
        if actor.is_local() {
            return Err(EngineError::invalid("not a remote account"));
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut ids = Vec::new();
        for name in names.iter().take(MAX_FEATURED_TAGS as usize) {
            if sluice_model::content::normalize_tag(name).is_some() {
                let tag = self.ensure_tag(&mut tx, name, now).await?;
                if !ids.contains(&tag.id) {
                    ids.push(tag.id);
                }
            }
        }
        tx.replace_featured_tags(actor.id, &ids, &|| self.new_id(), now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A remote account's `featuredTags` collection ('' when it has none).
    pub async fn featured_tags_url(&self, account: Id) -> Result<String> {
        Ok(self.store.featured_tags_url(account).await?)
    }

    /// The `featuredTags` collection of a local account: its featured Hashtags.
    pub async fn featured_tags_collection(&self, account: &AccountRow) -> Result<Value> {
        let items: Vec<Value> = self
            .store
            .featured_tags(account.id)
            .await?
            .iter()
            .map(|r| self.hashtag_object(&r.name))
            .collect();
        Ok(json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": self.urls.featured_tags(&account.username),
            "type": "Collection",
            "totalItems": items.len(),
            "items": items,
        }))
    }

    // ---- trends ----

    /// What is trending, computed from the newest public posts of the last two days
    /// (at most [`TREND_SCAN`] of them) by accounts that allow being discovered:
    /// hashtags used by at least [`TREND_MIN_ACCOUNTS`] accounts, posts with at least
    /// [`TREND_MIN_INTERACTIONS`] favourites and boosts, ranked with the age of the post
    /// (Hacker News' gravity). Kept for [`crate::cache::TRENDS_TTL`]: every reader of
    /// that time shares one computation.
    pub async fn trends(&self) -> Result<Arc<Trends>> {
        if let Some(t) = self.cache.trends.get(&()) {
            return Ok(t);
        }
        let now = sluice_model::id::now_millis();
        let floor = sluice_model::id::id_floor_for_millis(now - TREND_WINDOW_MS);
        let tags = self
            .store
            .trending_tags(floor, TREND_SCAN, TREND_MIN_ACCOUNTS, TRENDS_KEPT)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let mut posts = self
            .store
            .trending_statuses(floor, TREND_SCAN, TREND_MIN_INTERACTIONS, TRENDS_KEPT * 4)
            .await?;
        let score = |interactions: i64, created_at: i64| {
            let hours = ((now - created_at).max(0) as f64) / 3_600_000.0;
            interactions as f64 / (hours + 2.0).powf(1.5)
        };
        posts.sort_by(|a, b| {
            score(b.interactions, b.created_at)
                .total_cmp(&score(a.interactions, a.created_at))
                .then(b.id.cmp(&a.id))
        });
        posts.truncate(TRENDS_KEPT as usize);
        let trends = Arc::new(Trends {
            tags,
            statuses: posts.into_iter().map(|p| p.id).collect(),
        });
        self.cache.trends.put((), trends.clone());
        Ok(trends)
    }

    /// Trending hashtags, `offset` and `limit` into the list.
    pub async fn trending_tags(
        &self,
        viewer: Option<Id>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<api::Tag>> {
        let trends = self.trends().await?;
        let page = trends
            .tags
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(id, name)| (Some(*id), name.clone()))
            .collect();
        self.tag_entities(viewer, page).await
    }

    /// Trending posts the viewer may see, `offset` and `limit` into the list.
    pub async fn trending_statuses(
        &self,
        viewer: Option<Id>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<api::Status>> {
        let trends = self.trends().await?;
        let ids: Vec<Id> = trends
            .statuses
            .iter()
            .skip(offset)
            .take(limit)
            .copied()
            .collect();
        let rows = self.store.statuses(&ids).await?;
        let order: HashMap<Id, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut rows = self.only_visible(viewer, rows).await?;
        rows.sort_by_key(|r| order.get(&r.id).copied().unwrap_or(usize::MAX));
        self.status_entities(viewer, rows).await
    }
}
