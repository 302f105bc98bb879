//! Stored rows, decoded the same way from both engines. Conversions to ActivityStreams
//! and Mastodon shapes live in the engine's `view` module, one place per entity.

use sluice_model::Id;

/// Columns of `accounts`, in the order of [`ACCOUNT_COLUMNS`].
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: Id,
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub note: String,
    pub note_source: String,
    pub fields: String,
    pub uri: String,
    pub url: String,
    pub inbox_url: String,
    pub shared_inbox_url: String,
    pub followers_url: String,
    pub avatar_url: String,
    pub header_url: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub hide_collections: bool,
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    pub last_status_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub suspended_at: Option<i64>,
    /// `Person`, `Service`, `Application`, `Group`, `Organization`.
    pub actor_type: String,
    pub outbox_url: String,
    pub following_url: String,
    pub featured_url: String,
    /// JSON array of actor IRIs.
    pub also_known_as: String,
    pub moved_to_account_id: Option<Id>,
    /// When a remote actor's document was last fetched (None for local accounts).
    pub fetched_at: Option<i64>,
    /// When a moderator limited the account (migration 29).
    pub silenced_at: Option<i64>,
    /// When a moderator had its media marked sensitive (migration 29).
    pub sensitized_at: Option<i64>,
    /// Who suspended it: `local` or `remote` (migration 29; None for older rows).
    pub suspension_origin: Option<String>,
}

impl AccountRow {
    pub fn is_local(&self) -> bool {
        self.domain.is_empty()
    }

    /// `user` for local accounts, `user@domain` for remote ones (Mastodon's `acct`).
    pub fn acct(&self) -> String {
        if self.domain.is_empty() {
            self.username.clone()
        } else {
            format!("{}@{}", self.username, self.domain)
        }
    }
}

pub const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.domain, a.display_name, a.note, a.note_source, \
    a.fields, a.uri, a.url, a.inbox_url, a.shared_inbox_url, a.followers_url, a.avatar_url, \
    a.header_url, a.locked, a.bot, a.discoverable, a.indexable, a.hide_collections, \
    a.followers_count, a.following_count, a.statuses_count, a.last_status_at, a.created_at, \
    a.updated_at, a.suspended_at, a.actor_type, a.outbox_url, a.following_url, a.featured_url, \
    a.also_known_as, a.moved_to_account_id, a.fetched_at, a.silenced_at, a.sensitized_at, \
    a.suspension_origin";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub account_id: Id,
    pub email: String,
    pub password_hash: String,
    pub admin: bool,
    pub approved: bool,
    pub disabled: bool,
    pub locale: String,
    pub registration_reason: String,
    pub default_visibility: String,
    pub default_sensitive: bool,
    pub default_language: Option<String>,
    pub created_at: i64,
    /// False until the e-mail address is confirmed (only asked when the server sends
    /// mail).
    pub confirmed: bool,
    /// `user`, `moderator` or `admin` (migration 25; `admin` mirrors `role = 'admin'`).
    pub role: String,
    /// Who may quote the user's posts when a post does not say (`public`,
    /// `followers`, `nobody`); None: `public` (migration 0027).
    #[sqlx(default)]
    pub default_quote_policy: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppRow {
    pub id: Id,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: String,
    pub scopes: String,
    pub client_id: String,
    pub client_secret: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: Id,
    pub app_id: Option<Id>,
    pub account_id: Option<Id>,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRow {
    pub code_hash: String,
    pub app_id: Id,
    pub account_id: Id,
    pub scopes: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusRow {
    pub id: Id,
    pub uri: String,
    pub url: String,
    pub account_id: Id,
    pub in_reply_to_id: Option<Id>,
    pub in_reply_to_account_id: Option<Id>,
    pub reblog_of_id: Option<Id>,
    pub thread_id: Id,
    pub object_type: String,
    pub content: String,
    pub source_text: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub visibility: String,
    pub language: Option<String>,
    pub local: bool,
    pub application_id: Option<Id>,
    pub replies_count: i64,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub updated_at: i64,
    /// The attachments, a JSON array of `sluice_model::media::Attachment`.
    pub attachments: String,
}

pub const STATUS_COLUMNS: &str = "s.id, s.uri, s.url, s.account_id, s.in_reply_to_id, \
    s.in_reply_to_account_id, s.reblog_of_id, s.thread_id, s.object_type, s.content, \
    s.source_text, s.spoiler_text, s.sensitive, s.visibility, s.language, s.local, \
    s.application_id, s.replies_count, s.reblogs_count, s.favourites_count, s.created_at, \
    s.edited_at, s.updated_at, s.attachments";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EditRow {
    pub id: Id,
    pub status_id: Id,
    pub content: String,
    pub source_text: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: Id,
    pub account_id: Id,
    pub from_account_id: Id,
    pub kind: String,
    pub status_id: Option<Id>,
    pub created_at: i64,
    /// The emoji of a `pleroma:emoji_reaction` (migration 23; absent from queries
    /// that do not name it).
    #[sqlx(default)]
    pub emoji: Option<String>,
    /// The report of an `admin.report` (migration 28; absent from queries that do
    /// not name it).
    #[sqlx(default)]
    pub report_id: Option<Id>,
    /// The warning of a `moderation_warning` (migration 29; absent from queries that
    /// do not name it).
    #[sqlx(default)]
    pub account_warning_id: Option<Id>,
}

/// A row of follows, follow_requests, blocks, mutes, favourites or bookmarks, seen as
/// "an account, listed under the relation row's id" (paging of such lists goes by the
/// relation's id, as Mastodon's does).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedId {
    /// The relation row's id: the paging cursor.
    pub rel_id: Id,
    /// The account or status listed.
    pub item_id: Id,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RelationRow {
    pub target: Id,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    /// When the mute ends (ms), if it has a duration.
    pub muting_expires_at: Option<i64>,
    pub requested: bool,
    pub requested_by: bool,
    /// The target's domain is one `me` blocked.
    pub domain_blocking: bool,
    /// `me`'s private note on the target ("" when none).
    pub note: String,
    /// `me` features the target on its profile.
    pub endorsed: bool,
}

/// An account that follows `target` and that the asker follows (familiar followers).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FamiliarFollower {
    pub target: Id,
    pub follower: Id,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub created_at: i64,
    pub kind: String,
    pub account_id: Option<Id>,
    pub recipient_id: Option<Id>,
    pub object_id: Option<Id>,
    pub data: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MarkerRow {
    pub timeline: String,
    pub last_read_id: Id,
    pub version: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PairRow {
    pub a: Id,
    pub b: Id,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagRow {
    pub status_id: Id,
    pub name: String,
}

/// Paging bounds as Mastodon takes them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub max_id: Option<Id>,
    pub since_id: Option<Id>,
    pub min_id: Option<Id>,
    pub limit: i64,
}

impl Page {
    /// Appends the bounds on `col` and the ORDER BY/LIMIT. With `min_id` the rows come
    /// back ascending (the page right after `min_id`); callers reverse them with
    /// [`Page::finish`].
    pub fn apply(&self, q: &mut crate::Query, col: &str) {
        self.bounds(q, col);
        let order = if self.min_id.is_some() { "ASC" } else { "DESC" };
        let lim = q.arg(self.limit);
        q.push(&format!(" ORDER BY {col} {order} LIMIT {lim}"));
    }

    /// Appends only the bounds on `col`, for a list ordered by something else.
    pub fn bounds(&self, q: &mut crate::Query, col: &str) {
        if let Some(max) = self.max_id {
            let p = q.arg(max);
            q.push(&format!(" AND {col} < {p}"));
        }
        if let Some(since) = self.since_id {
            let p = q.arg(since);
            q.push(&format!(" AND {col} > {p}"));
        }
        if let Some(min) = self.min_id {
            let p = q.arg(min);
            q.push(&format!(" AND {col} > {p}"));
        }
    }

    /// Puts rows fetched by [`Page::apply`] into newest-first order.
    pub fn finish<T>(&self, mut rows: Vec<T>) -> Vec<T> {
        if self.min_id.is_some() {
            rows.reverse();
        }
        rows
    }
}
