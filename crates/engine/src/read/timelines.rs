//! Timelines: home, public, hashtag, a list's, an account's posts, and the saved lists
//! (bookmarks, favourites). Each is a page of [`StatusPage`], rendered for the viewer
//! and filtered with their `hide` filters for the timeline's context.

use std::collections::HashMap;

use sluice_model::filter::FilterContext;
use sluice_model::{Id, Visibility};
use sluice_store::{
    AccountStatusFilter, ListRow, Locality, Page, Relation, Saved, StatusRow, StatusView,
};

use super::StatusPage;
use crate::{Engine, EngineError, Result};

/// Above this many follows, the home timeline walks statuses newest-first instead of
/// reading each followed account's index (measured: docs/benchmarks.md).
const HOME_SCAN_FOLLOWS: i64 = 20;

/// What a client may ask of an account's posts (`GET /api/v1/accounts/:id/statuses`).
/// What the viewer may see of them the engine decides.
#[derive(Debug, Clone, Default)]
pub struct AccountPosts {
    pub exclude_replies: bool,
    pub exclude_reblogs: bool,
    /// Only posts with this hashtag.
    pub tagged: Option<String>,
    /// Only the pinned posts, most recently pinned first.
    pub pinned: bool,
    /// Only posts with media attachments, no reblogs.
    pub only_media: bool,
}

impl Engine {
    /// Renders a page read by the store, with its cursors, and applies the viewer's
    /// filters for `context`.
    pub(crate) async fn status_page(
        &self,
        viewer: Option<Id>,
        views: Vec<StatusView>,
        context: FilterContext,
    ) -> Result<StatusPage> {
        let cursors: Vec<Id> = views
            .iter()
            .filter(|v| v.requested)
            .map(|v| v.status.id)
            .collect();
        let mut statuses = self.page_entities(viewer, views).await?;
        self.apply_filters(viewer, context, &mut statuses).await?;
        Ok(StatusPage { statuses, cursors })
    }

    /// The home timeline of `me`: the posts of whom they follow and of the hashtags
    /// they follow.
    pub async fn home_timeline(&self, me: Id, page: Page) -> Result<StatusPage> {
        // Which plan is cheaper depends on how many accounts the viewer follows.
        let follows = self
            .cached_accounts(&[me])
            .await?
            .first()
            .map_or(0, |a| a.following_count);
        let tags = self.followed_tag_ids(me).await?;
        let views = self
            .store
            .home_timeline(me, follows > HOME_SCAN_FOLLOWS, &tags, page)
            .await?;
        self.status_page(Some(me), views, FilterContext::Home).await
    }

    /// The public timeline (all, local or remote posts).
    pub async fn public_timeline(
        &self,
        viewer: Option<Id>,
        locality: Locality,
        only_media: bool,
        page: Page,
    ) -> Result<StatusPage> {
        if viewer.is_none() && !self.timeline_open_to_visitors(locality) {
            // Mastodon's answer when a live feed is for signed-in people only.
            return Err(EngineError::invalid(
                "This method requires an authenticated user",
            ));
        }
        let views = self
            .store
            .public_timeline(viewer, locality, only_media, page)
            .await?;
        self.status_page(viewer, views, FilterContext::Public).await
    }

    /// Whether people who are not signed in may read the public timeline of `locality`
    /// (the configuration's `local_timeline`, `federated_timeline`).
    pub fn timeline_open_to_visitors(&self, locality: Locality) -> bool {
        let access = match locality {
            Locality::Local => self.config.local_timeline,
            _ => self.config.federated_timeline,
        };
        access == crate::TimelineAccess::Public
    }

    /// The public posts with hashtag `tag` (without its `#`, any case).
    pub async fn tag_timeline(
        &self,
        tag: &str,
        viewer: Option<Id>,
        local_only: bool,
        only_media: bool,
        page: Page,
    ) -> Result<StatusPage> {
        let views = self
            .store
            .tag_timeline(tag, viewer, local_only, only_media, page)
            .await?;
        self.status_page(viewer, views, FilterContext::Public).await
    }

    /// The timeline of `list`, a list of `me` ([`Engine::list`]), filtered as home is
    /// (Mastodon's `home` context covers lists).
    pub async fn list_timeline(&self, me: Id, list: &ListRow, page: Page) -> Result<StatusPage> {
        let views = self.store.list_timeline(me, list, page).await?;
        self.status_page(Some(me), views, FilterContext::Home).await
    }

    /// The posts of `account` that `viewer` may see: none when either blocks the
    /// other; private ones to followers and the author; direct ones to those they
    /// mention.
    pub async fn account_timeline(
        &self,
        viewer: Option<Id>,
        account: Id,
        ask: AccountPosts,
        page: Page,
    ) -> Result<StatusPage> {
        if let Some(me) = viewer
            && self.store.blocked_either_way(me, account).await?
        {
            return Ok(StatusPage::default());
        }
        let include_private = match viewer {
            Some(me) if me == account => true,
            Some(me) => {
                self.store
                    .has_relation(Relation::Follow, me, account)
                    .await?
            }
            None => false,
        };
        let filter = AccountStatusFilter {
            exclude_replies: ask.exclude_replies,
            exclude_reblogs: ask.exclude_reblogs,
            tagged: ask.tagged,
            include_private,
            include_direct_for: viewer,
            pinned: ask.pinned,
            only_media: ask.only_media,
        };
        let views = self.store.account_statuses(account, &filter, page).await?;
        self.status_page(viewer, views, FilterContext::Account)
            .await
    }

    /// The newest public posts of `account` (with the posts they reblog), as a page
    /// for everyone shows them (the profile page and its RSS feed).
    pub async fn public_posts(
        &self,
        account: Id,
        limit: i64,
    ) -> Result<Vec<sluice_model::api::Status>> {
        let page = Page {
            limit,
            ..Default::default()
        };
        let views = self
            .store
            .account_statuses(account, &AccountStatusFilter::default(), page)
            .await?;
        let views = views
            .into_iter()
            .filter(|v| !v.requested || v.status.visibility == Visibility::Public.as_str())
            .collect();
        self.page_entities(None, views).await
    }

    /// The statuses `me` bookmarked or favourited, newest saved first, paged by the
    /// saving row's id; those `me` may no longer see are left out.
    pub async fn saved_statuses(&self, me: Id, kind: Saved, page: Page) -> Result<StatusPage> {
        let listed = self.store.saved_statuses(me, kind, page).await?;
        let cursors: Vec<Id> = listed.iter().map(|l| l.rel_id).collect();
        let ids: Vec<Id> = listed.iter().map(|l| l.item_id).collect();
        let mut by_id: HashMap<Id, StatusRow> = self
            .store
            .statuses(&ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let ordered: Vec<StatusRow> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        let visible = self.only_visible(Some(me), ordered).await?;
        Ok(StatusPage {
            statuses: self.status_entities(Some(me), visible).await?,
            cursors,
        })
    }
}
