//! Mastodon 4.x API entities, exactly as clients read them. Field names, nullability and
//! nesting follow Mastodon's documentation; ids are strings. The engine fills these from
//! stored rows (one conversion per entity, in `sluice_engine::view`).

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub display_name: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub group: bool,
    pub created_at: String,
    pub note: String,
    pub url: String,
    pub uri: String,
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    pub last_status_at: Option<String>,
    pub hide_collections: bool,
    pub noindex: bool,
    pub emojis: Vec<Value>,
    pub roles: Vec<Value>,
    pub fields: Vec<Field>,
    /// Only in `verify_credentials` and `update_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<AccountSource>,
    /// Only in `verify_credentials` and `update_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Value>,
    /// The account this one moved to (Mastodon's `moved`), only when it moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<Box<Account>>,
    /// `true`, only when the account is suspended (Mastodon 3.3+: its profile is
    /// then blank: no name, bio, fields, emojis or images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended: Option<bool>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub verified_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountSource {
    pub privacy: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub note: String,
    pub fields: Vec<Field>,
    pub follow_requests_count: i64,
    pub hide_collections: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub attribution_domains: Vec<String>,
    /// Who may quote the user's posts by default (Mastodon 4.5).
    pub quote_policy: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mention {
    pub id: String,
    pub username: String,
    pub url: String,
    pub acct: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagRef {
    pub name: String,
    pub url: String,
}

/// A hashtag (`GET /api/v2/search`'s `hashtags`): its uses in the last days.
#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub id: String,
    pub name: String,
    pub url: String,
    /// Newest day first.
    pub history: Vec<TagHistory>,
    /// Whether the viewer follows the tag; absent for visitors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<bool>,
    /// Whether the viewer features the tag on their profile (Mastodon 4.4); absent for
    /// visitors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub featuring: Option<bool>,
}

/// A hashtag an account features on its profile (Mastodon's FeaturedTag).
#[derive(Debug, Clone, Serialize)]
pub struct FeaturedTag {
    pub id: String,
    pub name: String,
    /// The account's posts with the tag (its profile filtered by it).
    pub url: String,
    pub statuses_count: i64,
    /// The day of the newest such post (`YYYY-MM-DD`), if any.
    pub last_status_at: Option<String>,
}

/// The uses of a hashtag on one day (UTC), as Mastodon writes them: strings.
#[derive(Debug, Clone, Serialize)]
pub struct TagHistory {
    /// The day's start, Unix seconds.
    pub day: String,
    pub uses: String,
    pub accounts: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusApplication {
    pub name: String,
    pub website: Option<String>,
}

/// A poll (Mastodon's Poll entity). Its id is its status's.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Poll {
    pub id: String,
    /// None for a poll without an end.
    pub expires_at: Option<String>,
    pub expired: bool,
    pub multiple: bool,
    pub votes_count: i64,
    /// None when the poll's server does not say.
    pub voters_count: Option<i64>,
    pub options: Vec<PollOption>,
    pub emojis: Vec<Value>,
    /// Whether the viewer voted (or wrote the poll); absent for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voted: Option<bool>,
    /// The options the viewer chose; absent for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_votes: Option<Vec<i64>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PollOption {
    pub title: String,
    /// None while the totals are hidden (`hide_totals`, until the poll ends).
    pub votes_count: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub id: String,
    pub created_at: String,
    pub in_reply_to_id: Option<String>,
    pub in_reply_to_account_id: Option<String>,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub visibility: String,
    pub language: Option<String>,
    pub uri: String,
    pub url: Option<String>,
    pub replies_count: i64,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub quotes_count: i64,
    pub edited_at: Option<String>,
    /// Viewer-dependent flags: absent for anonymous viewers, as in Mastodon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favourited: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reblogged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bookmarked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Vec<Value>>,
    pub content: String,
    pub reblog: Option<Box<Status>>,
    pub application: Option<StatusApplication>,
    pub account: Account,
    pub media_attachments: Vec<Value>,
    pub mentions: Vec<Mention>,
    pub tags: Vec<TagRef>,
    pub emojis: Vec<Value>,
    pub card: Option<Value>,
    pub poll: Option<Poll>,
    /// What it quotes (Mastodon 4.5): a [`Quote`] with the quoted status, or, inside a
    /// quoted status, a [`Quote::Shallow`] (one level only).
    pub quote: Option<Quote>,
    pub quote_approval: QuoteApproval,
    /// The source text: only in the response to a delete ("delete and redraft").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Pleroma's and Akkoma's additions, read by their clients (Mastodon's ignore
    /// it): `emoji_reactions`.
    pub pleroma: StatusPleroma,
}

/// The `pleroma` object of a Status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusPleroma {
    /// Per emoji: `name`, `count`, `me`, `account_ids`, `url` (custom emoji).
    pub emoji_reactions: Vec<Value>,
}

/// A quote (Mastodon's Quote and ShallowQuote entities).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Quote {
    Full {
        /// `pending`, `accepted`, `rejected`, `revoked`, `deleted`, `unauthorized`, …
        state: String,
        /// Set only when `state` is `accepted` (and the viewer may see it).
        quoted_status: Option<Box<Status>>,
    },
    Shallow {
        state: String,
        quoted_status_id: Option<String>,
    },
}

/// Who may quote a status, and what that means for the viewer (QuoteApproval).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuoteApproval {
    /// `public`, `followers`: quotes accepted at once.
    pub automatic: Vec<String>,
    /// Sluice, as Mastodon, approves nothing by hand: always empty for local posts.
    pub manual: Vec<String>,
    /// `automatic`, `manual`, `denied` or `unknown`.
    pub current_user: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusEdit {
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub created_at: String,
    pub account: Account,
    pub poll: Option<Value>,
    pub media_attachments: Vec<Value>,
    pub emojis: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusSource {
    pub id: String,
    pub text: String,
    pub spoiler_text: String,
    /// The text's format (Pleroma's): `text/plain` or `text/markdown`.
    pub content_type: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub ancestors: Vec<Status>,
    pub descendants: Vec<Status>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub group_key: String,
    pub account: Account,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// An `admin.report`'s report (Mastodon's Report entity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
    /// A `pleroma:emoji_reaction`'s emoji and its image (Akkoma's shape).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<NotificationReaction>,
    /// A `moderation_warning`'s AccountWarning (Mastodon 4.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation_warning: Option<serde_json::Value>,
}

/// The emoji of a `pleroma:emoji_reaction` notification.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationReaction {
    pub emoji: String,
    /// The custom emoji's image; null for a Unicode emoji.
    pub emoji_url: Option<String>,
}

/// One group of Mastodon 4.3's grouped notifications (`/api/v2/notifications`).
#[derive(Debug, Clone, Serialize)]
pub struct NotificationGroup {
    pub group_key: String,
    /// How many notifications of the group the page covers.
    pub notifications_count: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub most_recent_notification_id: String,
    pub page_min_id: String,
    pub page_max_id: String,
    pub latest_page_notification_at: String,
    /// Up to 8 accounts behind the group, most recent first.
    pub sample_account_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<String>,
    /// An `admin.report`'s report (such a group holds one notification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
    /// A `pleroma:emoji_reaction`'s emoji (such a group holds one notification).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<NotificationReaction>,
}

/// The few account fields `expand_accounts=partial_avatars` gives for accounts that are
/// not the most recent of their group (Mastodon's `PartialAccountWithAvatar`).
#[derive(Debug, Clone, Serialize)]
pub struct PartialAccount {
    pub id: String,
    pub acct: String,
    pub url: String,
    pub avatar: String,
    pub avatar_static: String,
    pub locked: bool,
    pub bot: bool,
}

impl PartialAccount {
    /// The partial form of a full account.
    pub fn of(a: &Account) -> Self {
        PartialAccount {
            id: a.id.clone(),
            acct: a.acct.clone(),
            url: a.url.clone(),
            avatar: a.avatar.clone(),
            avatar_static: a.avatar_static.clone(),
            locked: a.locked,
            bot: a.bot,
        }
    }
}

/// `GET /api/v2/notifications`'s body: the groups and the accounts and statuses they
/// refer to, each once.
#[derive(Debug, Clone, Serialize, Default)]
pub struct GroupedNotifications {
    pub accounts: Vec<Account>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_accounts: Option<Vec<PartialAccount>>,
    pub statuses: Vec<Status>,
    pub notification_groups: Vec<NotificationGroup>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Relationship {
    pub id: String,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub languages: Option<Vec<String>>,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    /// When the mute ends (ISO 8601), null when it lasts until undone or there is no
    /// mute. An addition: Mastodon's Relationship has no such field (its mutes list,
    /// [`MutedAccount`], does); clients that do not know it ignore it.
    pub mute_expires_at: Option<String>,
    pub requested: bool,
    pub requested_by: bool,
    pub domain_blocking: bool,
    pub endorsed: bool,
    pub note: String,
}

/// `GET /api/v1/accounts/familiar_followers`: for one account asked about, the
/// accounts the asker follows that also follow it.
#[derive(Debug, Clone, Serialize)]
pub struct FamiliarFollowers {
    pub id: String,
    pub accounts: Vec<Account>,
}

/// An account in `GET /api/v1/mutes`: the account, and when its mute ends.
#[derive(Debug, Clone, Serialize)]
pub struct MutedAccount {
    #[serde(flatten)]
    pub account: Account,
    /// ISO 8601; null when the mute lasts until undone.
    pub mute_expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub redirect_uris: Vec<String>,
    pub vapid_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Token {
    pub access_token: String,
    pub token_type: String,
    pub scope: String,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Error {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// A v2 filter (`/api/v2/filters`).
#[derive(Debug, Clone, Serialize)]
pub struct Filter {
    pub id: String,
    pub title: String,
    pub context: Vec<String>,
    pub expires_at: Option<String>,
    pub filter_action: String,
    pub keywords: Vec<FilterKeyword>,
    pub statuses: Vec<FilterStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterKeyword {
    pub id: String,
    pub keyword: String,
    pub whole_word: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterStatus {
    pub id: String,
    pub status_id: String,
}

/// A v1 filter (`/api/v1/filters`): one keyword of a v2 filter.
#[derive(Debug, Clone, Serialize)]
pub struct FilterV1 {
    pub id: String,
    pub phrase: String,
    pub context: Vec<String>,
    pub expires_at: Option<String>,
    pub irreversible: bool,
    pub whole_word: bool,
}

/// A direct conversation as one participant sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: String,
    pub unread: bool,
    pub accounts: Vec<Account>,
    pub last_status: Option<Status>,
}
