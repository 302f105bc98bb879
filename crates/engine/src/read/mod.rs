//! Reads: what the API and the server-rendered pages show, asked of the engine by
//! entity. Handlers never reach the store; these functions choose the query (and its
//! plan), check visibility in batches, and return entities ready to render, with the
//! cursors a page's `Link` header is written from.
//!
//! - [`timelines`]: home, public, hashtag, list, an account's posts, bookmarks and
//!   favourites.
//! - [`statuses`]: one status, its thread context, edit history, who favourited or
//!   reblogged it.
//! - [`accounts`]: accounts by id, name or IRI, relationships, search, follower lists.
//! - [`lists`]: a user's lists, their members, blocked domains.
//! - [`notifications`]: notifications and read markers.
//! - [`notification_groups`]: grouped notifications (`/api/v2/notifications`), their
//!   group keys, unread counts.
//! - [`search`]: posts by their words (scope rules, operators), hashtags by prefix.
//! - [`instance`]: the contact account, applications, the store's write check.
//! - [`documents`]: stored ActivityPub documents (activities, collections, tombstones).
//! - [`federation`]: the rows behind the ActivityPub documents federation builds, and
//!   the lookups of receiving, resolving and C2S posting.
//! - [`events`]: the event log and the relations streaming filters with.
//! - `visibility`: which of many statuses a viewer may see, in one query.

pub mod accounts;
pub mod documents;
pub mod events;
pub mod federation;
pub mod instance;
pub mod lists;
pub mod notification_groups;
pub mod notifications;
pub mod search;
pub mod statuses;
pub mod timelines;
mod visibility;

use sluice_model::{Id, api};

/// A page of statuses as the viewer sees them, with the ids a `Link` header pages by
/// (taken from the page as read, before the viewer's `hide` filters took any out).
#[derive(Debug, Default)]
pub struct StatusPage {
    pub statuses: Vec<api::Status>,
    pub cursors: Vec<Id>,
}

/// A page of accounts, with the ids of the rows that list them (a follow, a list
/// membership, a favourite), which the `Link` header pages by.
#[derive(Debug, Default)]
pub struct AccountPage {
    pub accounts: Vec<api::Account>,
    pub cursors: Vec<Id>,
}
