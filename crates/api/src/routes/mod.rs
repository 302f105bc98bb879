//! Route table. One module per group of Mastodon endpoints; each handler parses,
//! authorizes, calls the engine and renders.

mod accounts;
pub(crate) mod activitypub;
mod admin_accounts;
mod admin_federation;
mod announcements;
mod c2s;
#[cfg(test)]
mod compat_table;
mod conversations;
mod filters;
mod grouped_notifications;
pub(crate) mod health;
mod instance;
mod languages;
mod lists;
pub(crate) mod media;
mod notifications;
pub(crate) mod oauth;
pub(crate) mod portability;
mod profile;
mod push;
mod quotes;
mod reactions;
mod relations;
mod reports;
mod scheduled;
mod search;
mod statuses;
pub(crate) mod streaming;
mod suggestions;
mod tags;
mod timelines;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::AppState;
use crate::error::ApiError;

/// Scopes accepted for each kind of access, top-level scope first.
pub(crate) mod scopes {
    pub const READ_ACCOUNTS: &[&str] = &["read:accounts"];
    pub const WRITE_ACCOUNTS: &[&str] = &["write:accounts"];
    pub const READ_STATUSES: &[&str] = &["read:statuses"];
    pub const WRITE_STATUSES: &[&str] = &["write:statuses"];
    pub const READ_FOLLOWS: &[&str] = &["read:follows"];
    pub const WRITE_FOLLOWS: &[&str] = &["write:follows"];
    pub const READ_BLOCKS: &[&str] = &["read:blocks"];
    pub const WRITE_BLOCKS: &[&str] = &["write:blocks"];
    pub const READ_MUTES: &[&str] = &["read:mutes"];
    pub const WRITE_MUTES: &[&str] = &["write:mutes"];
    pub const READ_FAVOURITES: &[&str] = &["read:favourites"];
    pub const WRITE_FAVOURITES: &[&str] = &["write:favourites"];
    pub const READ_BOOKMARKS: &[&str] = &["read:bookmarks"];
    pub const WRITE_BOOKMARKS: &[&str] = &["write:bookmarks"];
    pub const READ_NOTIFICATIONS: &[&str] = &["read:notifications"];
    pub const WRITE_NOTIFICATIONS: &[&str] = &["write:notifications"];
    pub const READ_LISTS: &[&str] = &["read:lists"];
    pub const WRITE_LISTS: &[&str] = &["write:lists"];
    pub const READ_FILTERS: &[&str] = &["read:filters"];
    pub const WRITE_FILTERS: &[&str] = &["write:filters"];
    pub const WRITE_CONVERSATIONS: &[&str] = &["write:conversations"];
    pub const WRITE_MEDIA: &[&str] = &["write:media"];
    /// verify_credentials also accepts the `profile` scope.
    pub const PROFILE: &[&str] = &["read:accounts", "profile"];
}

/// Bytes percent-encoded in a path segment we put into a URL: controls, space, and the
/// characters that would end or change the segment (as the WHATWG URL standard's
/// path-segment set, plus `%` so the segment comes back as it was sent).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

/// A path made of fixed text and segments taken from a request, each percent-encoded:
/// `local_path(&["/@"], &[name])` is `/@name` whatever characters `name` holds.
pub(crate) fn local_path(parts: &[&str], segments: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        out.push_str(part);
        if let Some(seg) = segments.get(i) {
            out.extend(utf8_percent_encode(seg, SEGMENT));
        }
    }
    out
}

/// A `303 See Other` to `location`. Every redirect is built here: a location that cannot be
/// a header value (a control character slipped in) is a 400, never a panic.
pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => ApiError::bad_request("The redirect target is not a valid URL").into_response(),
    }
}

/// Routes that get Mastodon's CORS policy: the API, token endpoints, well-known.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        // instance metadata
        .route("/api/v1/streaming", get(streaming::stream))
        .route("/api/v1/streaming/health", get(streaming::health))
        .route("/api/v1/streaming/status", get(streaming::status))
        .route(
            "/api/v1/streaming/status/per_timeline",
            get(streaming::status_per_timeline),
        )
        .route(
            "/api/v1/streaming/status/queue",
            get(streaming::status_queue),
        )
        .route("/metrics", get(crate::metrics::metrics))
        .route("/api/v1/streaming/{*stream}", get(streaming::stream))
        .route("/api/v1/instance", get(instance::v1))
        .route("/api/v2/instance", get(instance::v2))
        .route("/api/v1/instance/peers", get(instance::peers))
        .route("/api/v1/instance/activity", get(instance::activity))
        .route("/api/v1/instance/rules", get(instance::rules))
        .route(
            "/api/v1/instance/extended_description",
            get(instance::extended_description),
        )
        .route(
            "/api/v1/instance/privacy_policy",
            get(instance::privacy_policy),
        )
        .route("/api/v1/instance/languages", get(instance::languages))
        .route(
            "/api/v1/instance/domain_blocks",
            get(instance::domain_blocks),
        )
        .route("/api/v1/custom_emojis", get(instance::custom_emojis))
        .route("/.well-known/nodeinfo", get(instance::nodeinfo_links))
        .route("/.well-known/webfinger", get(activitypub::webfinger))
        .route("/.well-known/host-meta", get(activitypub::host_meta))
        .route("/nodeinfo/2.0", get(instance::nodeinfo_20))
        .route("/nodeinfo/2.1", get(instance::nodeinfo_21))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        // OAuth
        .route("/api/v1/apps", post(oauth::create_app))
        .route("/api/v1/apps/verify_credentials", get(oauth::verify_app))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        // accounts
        .route(
            "/api/v1/accounts",
            post(accounts::register).get(accounts::many),
        )
        .route(
            "/api/v1/accounts/verify_credentials",
            get(accounts::verify_credentials),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            axum::routing::patch(accounts::update_credentials),
        )
        .route("/api/v1/accounts/lookup", get(accounts::lookup))
        .route(
            "/api/v1/accounts/relationships",
            get(accounts::relationships),
        )
        .route("/api/v1/accounts/search", get(accounts::search))
        .route(
            "/api/v1/accounts/familiar_followers",
            get(accounts::familiar_followers),
        )
        .route("/api/v1/accounts/{id}", get(accounts::show))
        .route("/api/v1/accounts/{id}/statuses", get(accounts::statuses))
        .route("/api/v1/accounts/{id}/followers", get(accounts::followers))
        .route("/api/v1/accounts/{id}/following", get(accounts::following))
        .route("/api/v1/accounts/{id}/follow", post(accounts::follow))
        .route("/api/v1/accounts/{id}/unfollow", post(accounts::unfollow))
        .route("/api/v1/accounts/{id}/block", post(accounts::block))
        .route("/api/v1/accounts/{id}/unblock", post(accounts::unblock))
        .route("/api/v1/accounts/{id}/lists", get(lists::account_lists))
        .route("/api/v1/accounts/{id}/mute", post(accounts::mute))
        .route("/api/v1/accounts/{id}/unmute", post(accounts::unmute))
        .route("/api/v1/accounts/{id}/note", post(accounts::note))
        .route("/api/v1/accounts/{id}/pin", post(profile::endorse))
        .route("/api/v1/accounts/{id}/unpin", post(profile::unendorse))
        .route(
            "/api/v1/accounts/{id}/endorsements",
            get(profile::account_endorsements),
        )
        .route("/api/v1/endorsements", get(profile::endorsements))
        .route("/api/v1/directory", get(profile::directory))
        .route("/api/v1/profile", get(profile::show).patch(profile::update))
        .route(
            "/api/v1/accounts/{id}/remove_from_followers",
            post(accounts::remove_from_followers),
        )
        .route("/api/v1/preferences", get(accounts::preferences))
        // statuses
        .route(
            "/api/v1/statuses",
            post(statuses::create).get(statuses::many),
        )
        .route("/api/v1/scheduled_statuses", get(scheduled::index))
        .route(
            "/api/v1/scheduled_statuses/{id}",
            get(scheduled::show)
                .put(scheduled::update)
                .delete(scheduled::destroy),
        )
        .route("/api/v1/media", post(media::upload))
        .route("/api/v2/media", post(media::upload))
        .route(
            "/api/v1/media/{id}",
            get(media::show).put(media::update).delete(media::destroy),
        )
        .route("/media/{file}", get(media::file_content))
        .route(
            "/api/v1/profile/{which}",
            axum::routing::delete(accounts::delete_profile_image),
        )
        .route(
            "/api/v1/statuses/{id}",
            get(statuses::show)
                .delete(statuses::destroy)
                .put(statuses::edit),
        )
        .route("/api/v1/statuses/{id}/history", get(statuses::history))
        .route("/api/v1/statuses/{id}/source", get(statuses::source))
        .route("/api/v1/statuses/{id}/context", get(statuses::context))
        .route("/api/v1/statuses/{id}/favourite", post(statuses::favourite))
        .route(
            "/api/v1/statuses/{id}/unfavourite",
            post(statuses::unfavourite),
        )
        .route("/api/v1/statuses/{id}/reblog", post(statuses::reblog))
        .route("/api/v1/statuses/{id}/unreblog", post(statuses::unreblog))
        .route("/api/v1/statuses/{id}/mute", post(statuses::mute))
        .route("/api/v1/statuses/{id}/unmute", post(statuses::unmute))
        .route("/api/v1/statuses/{id}/pin", post(statuses::pin))
        .route("/api/v1/statuses/{id}/unpin", post(statuses::unpin))
        .route("/api/v1/statuses/{id}/bookmark", post(statuses::bookmark))
        .route(
            "/api/v1/statuses/{id}/unbookmark",
            post(statuses::unbookmark),
        )
        .route(
            "/api/v1/statuses/{id}/favourited_by",
            get(statuses::favourited_by),
        )
        .route(
            "/api/v1/statuses/{id}/reblogged_by",
            get(statuses::reblogged_by),
        )
        // quote posts (Mastodon 4.5)
        .route("/api/v1/statuses/{id}/quotes", get(quotes::index))
        .route(
            "/api/v1/statuses/{id}/quotes/{quoting}/revoke",
            post(quotes::revoke),
        )
        .route(
            "/api/v1/statuses/{id}/interaction_policy",
            put(quotes::interaction_policy),
        )
        .route("/api/v1/polls/{id}", get(statuses::poll))
        .route("/api/v1/polls/{id}/votes", post(statuses::vote))
        // reports, and the admin API of reports
        .route("/api/v1/reports", post(reports::create))
        .route("/api/v1/admin/reports", get(reports::index))
        .route(
            "/api/v1/admin/reports/{id}",
            get(reports::show).put(reports::update),
        )
        .route("/api/v1/admin/reports/{id}/{action}", post(reports::act))
        // emoji reactions (Pleroma/Akkoma's API)
        .route(
            "/api/v1/pleroma/statuses/{id}/reactions",
            get(reactions::index),
        )
        .route(
            "/api/v1/pleroma/statuses/{id}/reactions/{emoji}",
            get(reactions::show)
                .put(reactions::react)
                .delete(reactions::unreact),
        )
        // aliases and moving (Akkoma's API)
        .route(
            "/api/pleroma/aliases",
            get(portability::aliases)
                .put(portability::add_alias)
                .delete(portability::remove_alias),
        )
        .route("/api/pleroma/move_account", post(portability::move_account))
        .route(
            "/api/pleroma/delete_account",
            post(portability::delete_account),
        )
        // timelines and saved lists
        .route("/api/v1/timelines/home", get(timelines::home))
        .route("/api/v1/timelines/public", get(timelines::public))
        .route("/api/v1/timelines/tag/{tag}", get(timelines::tag))
        .route("/api/v1/timelines/link", get(timelines::link))
        .route("/api/v1/timelines/list/{id}", get(lists::timeline))
        .route("/api/v1/bookmarks", get(timelines::bookmarks))
        .route("/api/v1/favourites", get(timelines::favourites))
        // notifications and markers
        .route("/api/v1/notifications", get(notifications::index))
        .route("/api/v1/notifications/clear", post(notifications::clear))
        .route("/api/v1/notifications/{id}", get(notifications::show))
        .route(
            "/api/v1/notifications/{id}/dismiss",
            post(notifications::dismiss),
        )
        .route(
            "/api/v1/notifications/unread_count",
            get(grouped_notifications::unread_count_v1),
        )
        .route(
            "/api/v1/notifications/policy",
            get(grouped_notifications::policy_v1).patch(grouped_notifications::update_policy_v1),
        )
        .route(
            "/api/v1/notifications/requests",
            get(grouped_notifications::requests),
        )
        .route(
            "/api/v1/notifications/requests/merged",
            get(grouped_notifications::requests_merged),
        )
        .route(
            "/api/v1/notifications/requests/accept",
            post(grouped_notifications::act_on_requests),
        )
        .route(
            "/api/v1/notifications/requests/dismiss",
            post(grouped_notifications::act_on_requests),
        )
        .route(
            "/api/v1/notifications/requests/{id}",
            get(grouped_notifications::request),
        )
        .route(
            "/api/v1/notifications/requests/{id}/accept",
            post(grouped_notifications::act_on_request),
        )
        .route(
            "/api/v1/notifications/requests/{id}/dismiss",
            post(grouped_notifications::act_on_request),
        )
        .route("/api/v2/notifications", get(grouped_notifications::index))
        .route(
            "/api/v2/notifications/unread_count",
            get(grouped_notifications::unread_count_v2),
        )
        .route(
            "/api/v2/notifications/policy",
            get(grouped_notifications::policy_v2).patch(grouped_notifications::update_policy_v2),
        )
        .route(
            "/api/v2/notifications/{group_key}",
            get(grouped_notifications::show),
        )
        .route(
            "/api/v2/notifications/{group_key}/accounts",
            get(grouped_notifications::accounts),
        )
        .route(
            "/api/v2/notifications/{group_key}/dismiss",
            post(grouped_notifications::dismiss),
        )
        .route(
            "/api/v1/markers",
            get(notifications::markers).post(notifications::set_markers),
        )
        // Web Push: the subscription of the calling token
        .route(
            "/api/v1/push/subscription",
            get(push::show)
                .post(push::create)
                .put(push::update)
                .delete(push::destroy),
        )
        // moderation: accounts
        .route("/api/v1/admin/accounts", get(admin_accounts::index_v1))
        .route("/api/v2/admin/accounts", get(admin_accounts::index_v2))
        .route(
            "/api/v1/admin/accounts/{id}",
            get(admin_accounts::show).delete(admin_accounts::destroy),
        )
        .route(
            "/api/v1/admin/accounts/{id}/approve",
            post(admin_accounts::approve),
        )
        .route(
            "/api/v1/admin/accounts/{id}/reject",
            post(admin_accounts::reject),
        )
        .route(
            "/api/v1/admin/accounts/{id}/action",
            post(admin_accounts::action),
        )
        .route(
            "/api/v1/admin/accounts/{id}/enable",
            post(admin_accounts::enable),
        )
        .route(
            "/api/v1/admin/accounts/{id}/unsilence",
            post(admin_accounts::unsilence),
        )
        .route(
            "/api/v1/admin/accounts/{id}/unsuspend",
            post(admin_accounts::unsuspend),
        )
        .route(
            "/api/v1/admin/accounts/{id}/unsensitive",
            post(admin_accounts::unsensitive),
        )
        // relations
        .route("/api/v1/blocks", get(relations::blocks))
        .route("/api/v1/mutes", get(relations::mutes))
        .route("/api/v1/follow_requests", get(relations::follow_requests))
        .route(
            "/api/v1/follow_requests/{id}/authorize",
            post(relations::authorize),
        )
        .route(
            "/api/v1/follow_requests/{id}/reject",
            post(relations::reject),
        )
        // lists and domain blocks
        .route("/api/v1/lists", get(lists::index).post(lists::create))
        .route(
            "/api/v1/lists/{id}",
            get(lists::show).put(lists::update).delete(lists::destroy),
        )
        .route(
            "/api/v1/lists/{id}/accounts",
            get(lists::accounts)
                .post(lists::add_accounts)
                .delete(lists::remove_accounts),
        )
        .route(
            "/api/v1/domain_blocks",
            get(lists::domain_blocks)
                .post(lists::block_domain)
                .delete(lists::unblock_domain),
        )
        // keyword filters
        .route(
            "/api/v1/filters",
            get(filters::v1_index).post(filters::v1_create),
        )
        .route(
            "/api/v1/filters/{id}",
            get(filters::v1_show)
                .put(filters::v1_update)
                .delete(filters::v1_destroy),
        )
        .route("/api/v2/filters", get(filters::index).post(filters::create))
        .route(
            "/api/v2/filters/{id}",
            get(filters::show)
                .put(filters::update)
                .delete(filters::destroy),
        )
        .route(
            "/api/v2/filters/{id}/keywords",
            get(filters::keywords).post(filters::add_keyword),
        )
        .route(
            "/api/v2/filters/keywords/{id}",
            get(filters::keyword)
                .put(filters::update_keyword)
                .delete(filters::destroy_keyword),
        )
        .route(
            "/api/v2/filters/{id}/statuses",
            get(filters::statuses).post(filters::add_status),
        )
        .route(
            "/api/v2/filters/statuses/{id}",
            get(filters::status).delete(filters::destroy_status),
        )
        // federation and sign-up moderation (admin)
        .route(
            "/api/v1/admin/domain_blocks",
            get(admin_federation::domain_blocks).post(admin_federation::create_domain_block),
        )
        .route(
            "/api/v1/admin/domain_blocks/{id}",
            get(admin_federation::domain_block)
                .put(admin_federation::update_domain_block)
                .delete(admin_federation::delete_domain_block),
        )
        .route(
            "/api/v1/admin/domain_allows",
            get(admin_federation::domain_allows).post(admin_federation::create_domain_allow),
        )
        .route(
            "/api/v1/admin/domain_allows/{id}",
            get(admin_federation::domain_allow).delete(admin_federation::delete_domain_allow),
        )
        .route(
            "/api/v1/admin/email_domain_blocks",
            get(admin_federation::email_domain_blocks)
                .post(admin_federation::create_email_domain_block),
        )
        .route(
            "/api/v1/admin/email_domain_blocks/{id}",
            get(admin_federation::email_domain_block)
                .delete(admin_federation::delete_email_domain_block),
        )
        .route(
            "/api/v1/admin/canonical_email_blocks",
            get(admin_federation::canonical_email_blocks)
                .post(admin_federation::create_canonical_email_block),
        )
        .route(
            "/api/v1/admin/canonical_email_blocks/test",
            post(admin_federation::test_canonical_email_block),
        )
        .route(
            "/api/v1/admin/canonical_email_blocks/{id}",
            get(admin_federation::canonical_email_block)
                .delete(admin_federation::delete_canonical_email_block),
        )
        .route(
            "/api/v1/admin/ip_blocks",
            get(admin_federation::ip_blocks).post(admin_federation::create_ip_block),
        )
        .route(
            "/api/v1/admin/ip_blocks/{id}",
            get(admin_federation::ip_block)
                .put(admin_federation::update_ip_block)
                .delete(admin_federation::delete_ip_block),
        )
        // announcements
        .route("/api/v1/announcements", get(announcements::index))
        .route(
            "/api/v1/announcements/{id}/dismiss",
            post(announcements::dismiss),
        )
        .route(
            "/api/v1/announcements/{id}/reactions/{name}",
            axum::routing::put(announcements::add_reaction).delete(announcements::remove_reaction),
        )
        // direct conversations
        .route("/api/v1/conversations", get(conversations::index))
        .route(
            "/api/v1/conversations/{id}",
            axum::routing::delete(conversations::destroy),
        )
        .route("/api/v1/conversations/{id}/read", post(conversations::read))
        // hashtags: one tag, following and featuring them, trends
        .route("/api/v1/tags/{name}", get(tags::show))
        .route("/api/v1/tags/{name}/follow", post(tags::follow))
        .route("/api/v1/tags/{name}/unfollow", post(tags::unfollow))
        .route("/api/v1/tags/{name}/feature", post(tags::feature))
        .route("/api/v1/tags/{name}/unfeature", post(tags::unfeature))
        .route("/api/v1/followed_tags", get(tags::followed))
        .route(
            "/api/v1/featured_tags",
            get(tags::featured).post(tags::create_featured),
        )
        .route("/api/v1/featured_tags/suggestions", get(tags::suggestions))
        .route(
            "/api/v1/featured_tags/{id}",
            axum::routing::delete(tags::delete_featured),
        )
        .route("/api/v1/accounts/{id}/featured_tags", get(tags::of_account))
        .route("/api/v1/trends", get(tags::trending_tags))
        .route("/api/v1/trends/tags", get(tags::trending_tags))
        .route("/api/v1/trends/statuses", get(tags::trending_statuses))
        // whom to follow
        .route("/api/v2/suggestions", get(suggestions::v2))
        .route("/api/v1/suggestions", get(suggestions::v1))
        .route(
            "/api/v1/suggestions/{id}",
            axum::routing::delete(suggestions::dismiss),
        )
        .route("/api/v1/trends/links", get(tags::trending_links))
        .route("/api/v2/search", get(search::search))
        // Any other API path is an API 404 (JSON), never a web page: without this,
        // `/api/x` would be read as the web's `/{handle}/{id}`.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { ApiError::not_found() }),
        )
}

/// ActivityPub documents for other servers, and the C2S API for clients (with CORS).
pub fn activitypub_routes() -> Router<AppState> {
    Router::new()
        .route("/actor", get(activitypub::instance_actor))
        .route("/users/{name}", get(activitypub::actor))
        .route(
            "/users/{name}/outbox",
            get(activitypub::outbox).post(c2s::post_outbox),
        )
        .route("/users/{name}/followers", get(activitypub::followers))
        .route("/users/{name}/following", get(activitypub::following))
        .route(
            "/users/{name}/collections/featured",
            get(activitypub::featured),
        )
        .route(
            "/users/{name}/collections/tags",
            get(activitypub::featured_tags),
        )
        .route("/users/{name}/collections/{id}", get(c2s::collection))
        .route("/users/{name}/statuses/{id}", get(activitypub::status))
        .route(
            "/users/{name}/quote_authorizations/{id}",
            get(quotes::authorization),
        )
        .route("/emojis/{id}", get(activitypub::emoji))
        .route(
            "/users/{name}/statuses/{id}/{collection}",
            get(activitypub::status_collection),
        )
        .route(
            "/users/{name}/statuses/{id}/activity",
            get(c2s::status_activity),
        )
        .route("/users/{name}/activities/{id}", get(c2s::activity))
        .route("/users/{name}/liked", get(activitypub::liked))
        .route("/users/{name}/media/{id}", get(media::media_object))
        .route(media::UPLOAD_MEDIA_PATH, post(media::upload_media))
        .route(
            sluice_federation::local::PROXY_PATH,
            axum::routing::post(c2s::proxy),
        )
        .route("/inbox", post(activitypub::inbox))
        .route(
            "/users/{name}/inbox",
            post(activitypub::inbox).get(c2s::inbox),
        )
        .route("/actor/inbox", post(activitypub::inbox))
}

/// The OAuth sign-in and consent page (HTML, no CORS).
pub fn oauth_pages() -> Router<AppState> {
    Router::new().route(
        "/oauth/authorize",
        get(oauth::authorize_page).post(oauth::authorize_submit),
    )
}
