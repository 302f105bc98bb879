//! Instance metadata: `/api/v1/instance`, `/api/v2/instance` and what hangs off them
//! (extended description, privacy policy, languages), NodeInfo, custom emojis.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::{AppState, version_string};

fn configuration(state: &AppState) -> Value {
    json!({
        // Featured hashtags are not built yet: none may be featured.
        "accounts": { "max_featured_tags": 0, "max_pinned_statuses": sluice_engine::pipeline::MAX_PINS },
        "statuses": {
            "max_characters": state.engine.config.max_status_chars,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
            // The `content_type`s a post may be written in (Pleroma's parameter).
            "supported_mime_types": sluice_model::content::CONTENT_TYPES
        },
        "media_attachments": {
            "supported_mime_types": [
                "image/jpeg", "image/png", "image/gif", "image/webp",
                "video/mp4", "video/quicktime", "video/webm",
                "audio/mpeg", "audio/mp4", "audio/ogg", "audio/flac", "audio/wav"
            ],
            "image_size_limit": state.engine.config.media_max_bytes,
            "image_matrix_limit": 33_177_600,
            "video_size_limit": state.engine.config.media_max_bytes,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8_294_400,
            "description_limit": 1500
        },
        "polls": {
            "max_options": state.engine.config.polls.max_options,
            "max_characters_per_option": state.engine.config.polls.max_option_chars,
            "min_expiration": state.engine.config.polls.min_expiration_secs,
            "max_expiration": state.engine.config.polls.max_expiration_secs
        },
        "translation": { "enabled": false }
    })
}

fn registrations_open(state: &AppState) -> (bool, bool) {
    use sluice_engine::Registrations::*;
    match state.engine.config.registrations {
        Open => (true, false),
        Approval => (true, true),
        Closed => (false, false),
    }
}

async fn contact_account(state: &AppState) -> Option<Value> {
    let account = state.engine.contact_account().await.ok()??;
    serde_json::to_value(account).ok()
}

pub async fn v1(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let (users, statuses) = state.engine.instance_stats().await?;
    let (open, approval) = registrations_open(&state);
    let mut config = configuration(&state);
    config["urls"] = json!({ "streaming_api": state.config.streaming_url });
    Ok(Json(json!({
        "uri": state.engine.urls.domain(),
        "title": state.config.title,
        "short_description": state.config.description,
        "description": state.config.description,
        "email": state.config.contact_email,
        "version": version_string(),
        "urls": { "streaming_api": state.config.streaming_url },
        "stats": { "user_count": users, "status_count": statuses, "domain_count": 0 },
        "thumbnail": null,
        "languages": ["en"],
        "registrations": open,
        "approval_required": approval,
        "invites_enabled": false,
        "configuration": config,
        "contact_account": contact_account(&state).await,
        "vapid_key": state.engine.vapid_public_key(),
        "rules": rules_entities(&state.engine.instance_rules().await?)
    })))
}

pub async fn v2(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let (open, approval) = registrations_open(&state);
    let (active, _) = state.engine.instance_stats().await?;
    let mut config = configuration(&state);
    let base = state.engine.urls.base();
    config["urls"] = json!({
        "streaming": state.config.streaming_url,
        "status": null,
        "about": format!("{base}/about"),
        "privacy_policy": null,
        "terms_of_service": null,
    });
    config["vapid"] = json!({ "public_key": state.engine.vapid_public_key() });
    // Who may read which feed without signing in, as Mastodon 4.5 says it.
    let engine = &state.engine.config;
    config["timelines_access"] = json!({
        "live_feeds": {
            "local": engine.local_timeline.mastodon_name(),
            "remote": engine.federated_timeline.mastodon_name(),
        },
        "hashtag_feeds": { "local": "public", "remote": "public" },
    });
    config["accounts"]["max_display_name_length"] =
        json!(sluice_engine::accounts::MAX_DISPLAY_NAME_CHARS);
    config["accounts"]["max_note_length"] = json!(sluice_engine::accounts::MAX_NOTE_CHARS);
    config["accounts"]["max_profile_fields"] = json!(sluice_engine::accounts::MAX_FIELDS);
    config["accounts"]["profile_field_name_limit"] =
        json!(sluice_engine::accounts::MAX_FIELD_CHARS);
    config["accounts"]["profile_field_value_limit"] =
        json!(sluice_engine::accounts::MAX_FIELD_CHARS);
    Ok(Json(json!({
        "domain": state.engine.urls.domain(),
        "title": state.config.title,
        "version": version_string(),
        "source_url": env!("CARGO_PKG_REPOSITORY"),
        "description": state.config.description,
        "usage": { "users": { "active_month": active } },
        "thumbnail": { "url": state.engine.urls.default_header(), "blurhash": null, "versions": {} },
        "icon": [],
        "languages": ["en"],
        "configuration": config,
        "registrations": {
            "enabled": open,
            "approval_required": approval,
            "message": null,
            "url": null,
            "min_age": null,
            "reason_required": approval
        },
        "api_versions": { "mastodon": 2 },
        "contact": { "email": state.config.contact_email, "account": contact_account(&state).await },
        "rules": rules_entities(&state.engine.instance_rules().await?)
    })))
}

/// Plain text as HTML: paragraphs at blank lines, line breaks kept, everything escaped.
fn text_to_html(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(sluice_model::content::escape_html).collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

/// `GET /api/v1/instance/extended_description`: the instance's description, as HTML.
/// `updated_at` is null: the description comes from the configuration, which keeps no
/// date (Mastodon's is null too until an admin writes one).
pub async fn extended_description(State(state): State<AppState>) -> impl IntoResponse {
    Json(json!({
        "updated_at": null,
        "content": text_to_html(&state.config.description),
    }))
}

/// When [`DEFAULT_PRIVACY_POLICY`] was last changed.
const DEFAULT_PRIVACY_POLICY_UPDATED: &str = "2026-12-07T00:00:00Z";

/// The privacy policy served when the operator set none (`SLUICE_PRIVACY_POLICY_FILE`):
/// what this software keeps and shares, in general terms.
const DEFAULT_PRIVACY_POLICY: &str = "\
This server runs Sluice. It keeps what you give it to run your account: your email \
address and a hash of your password, your profile, your posts and media, and whom you \
follow, block and mute. Your sign-ins are recorded to protect your account.

Public and unlisted posts, your profile and whom you follow are public: they are sent \
to the servers of your followers and of the people you mention, and anyone may read \
them. Followers-only posts and direct messages are sent only to the servers of the \
people who may read them; their administrators can read them there.

When you delete a post or your account, this server deletes it and asks the other \
servers that received it to delete it too; it cannot make them.

The administrators of this server can read everything it stores. Ask them (see the \
contact address of this server) for a copy of your data or its deletion.";

/// `GET /api/v1/instance/privacy_policy`: the operator's policy (its file's text and
/// date) or [`DEFAULT_PRIVACY_POLICY`], as HTML.
pub async fn privacy_policy(State(state): State<AppState>) -> impl IntoResponse {
    let (text, updated_at) = match &state.config.privacy_policy {
        Some(p) => (
            p.text.as_str(),
            sluice_model::Timestamp(p.updated_at).to_rfc3339(),
        ),
        None => (
            DEFAULT_PRIVACY_POLICY,
            DEFAULT_PRIVACY_POLICY_UPDATED.to_string(),
        ),
    };
    Json(json!({ "updated_at": updated_at, "content": text_to_html(text) }))
}

/// `GET /api/v1/instance/languages`: the languages apps may offer for a post.
pub async fn languages() -> impl IntoResponse {
    let list: Vec<Value> = super::languages::LANGUAGES
        .iter()
        .map(|(code, name)| json!({ "code": code, "name": name }))
        .collect();
    Json(list)
}

/// `GET /api/v1/instance/domain_blocks`: the domains this server limits (silenced) or
/// suspends, each with the SHA-256 of its name (an obfuscated block's name partly
/// hidden), and the public comment when the configuration shows reasons to this caller;
/// 404 when it does not show the list to this caller (as Mastodon). Blocks that only
/// reject media are not listed.
pub async fn domain_blocks(
    State(state): State<AppState>,
    auth: crate::auth::Auth,
) -> ApiResult<impl IntoResponse> {
    use sluice_engine::federation_moderation::{domain_digest, obfuscated};
    let signed_in = auth.viewer().is_some();
    if !state.config.show_domain_blocks.shown_to(signed_in) {
        return Err(crate::error::ApiError::not_found());
    }
    let with_comment = state
        .config
        .show_domain_blocks_rationale
        .shown_to(signed_in);
    let list: Vec<Value> = state
        .engine
        .domain_blocks()
        .await?
        .into_iter()
        .filter(|b| matches!(b.severity.as_str(), "silence" | "suspend"))
        .map(|b| {
            let digest = domain_digest(&b.domain);
            let domain = if b.obfuscate {
                obfuscated(&b.domain)
            } else {
                b.domain.clone()
            };
            let mut v = json!({ "domain": domain, "digest": digest, "severity": b.severity });
            if with_comment {
                v["comment"] = json!(Some(b.reason).filter(|r| !r.is_empty()));
            }
            v
        })
        .collect();
    Ok(Json(list))
}

pub async fn peers() -> impl IntoResponse {
    Json(json!([]))
}

pub async fn activity() -> impl IntoResponse {
    Json(json!([]))
}

/// `GET /api/v1/instance/rules`: the instance's rules (`sluice admin rules`, the
/// admin page), in their order.
pub async fn rules(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let rules = state.engine.instance_rules().await?;
    Ok(Json(rules_entities(&rules)))
}

/// Rules as Mastodon's `Rule` entities.
pub(crate) fn rules_entities(rules: &[sluice_engine::rows::RuleRow]) -> Value {
    Value::Array(
        rules
            .iter()
            .map(|r| json!({ "id": r.id.to_string(), "text": r.text, "hint": r.hint }))
            .collect(),
    )
}

/// `GET /api/v1/custom_emojis`: the local emojis (`sluice admin emoji add`).
pub async fn custom_emojis(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let rows = state.engine.local_custom_emojis().await?;
    let list: Vec<Value> = rows.iter().map(|e| state.engine.emoji_entity(e)).collect();
    Ok(Json(list))
}

pub async fn nodeinfo_links(State(state): State<AppState>) -> impl IntoResponse {
    let base = state.base();
    Json(json!({
        "links": [
            { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("{base}/nodeinfo/2.0") },
            { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": format!("{base}/nodeinfo/2.1") }
        ]
    }))
}

async fn nodeinfo(state: &AppState, version: &str) -> ApiResult<Value> {
    let (users, posts) = state.engine.instance_stats().await?;
    let mut software = json!({ "name": "sluice", "version": crate::SLUICE_VERSION });
    if version == "2.1" {
        software["repository"] = json!(env!("CARGO_PKG_REPOSITORY"));
    }
    Ok(json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": { "outbound": [], "inbound": [] },
        "usage": {
            "users": { "total": users, "activeMonth": users, "activeHalfyear": users },
            "localPosts": posts
        },
        "openRegistrations": registrations_open(state).0,
        "metadata": nodeinfo_metadata(state)
    }))
}

/// NodeInfo's free-form `metadata`. `software.name` stays `sluice` (statistics sites
/// count us as what we are); what app detectors read to know that the Mastodon API is
/// here is said beside it:
/// - `upstream`: the Mastodon version whose API we implement. megalodon's `detector()`
///   takes a server whose `upstream.name` is Mastodon as Mastodon (Mastodon forks such as
///   kmyblue say theirs here).
/// - `features`: the APIs served, in the words Pleroma uses there (`mastodon_api`,
///   `mastodon_api_streaming`, `pleroma_emoji_reactions`).
/// - `postFormats`: the `content_type`s a post may be written in (Pleroma's name).
///
/// Instance v1 carries no `pleroma` object: apps that find one take the server for
/// Pleroma and change how they talk to it.
fn nodeinfo_metadata(state: &AppState) -> Value {
    json!({
        "nodeName": state.config.title,
        "nodeDescription": state.config.description,
        "upstream": { "name": "Mastodon", "version": crate::MASTODON_VERSION },
        "features": ["mastodon_api", "mastodon_api_streaming", "pleroma_emoji_reactions"],
        "postFormats": sluice_model::content::CONTENT_TYPES
    })
}

fn nodeinfo_response(body: Value, version: &str) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            format!(
                "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
            ),
        )],
        Json(body),
    )
}

pub async fn nodeinfo_20(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(nodeinfo_response(nodeinfo(&state, "2.0").await?, "2.0"))
}

pub async fn nodeinfo_21(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(nodeinfo_response(nodeinfo(&state, "2.1").await?, "2.1"))
}
