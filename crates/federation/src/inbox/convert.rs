//! AS2 -> rows: the one place where a parsed remote document becomes what the engine
//! stores. An actor becomes a [`RemoteActor`] (an account), an object a [`RemoteNote`]
//! (a post, its HTML sanitized, its attachments), an activity the [`RemoteActivity`]
//! the engine records; or the [`Ignored`] reason why it is not one we take. Parsing the
//! JSON is `crate::document`'s; deciding what an activity does is its kind's module's.

use sluice_engine::Engine;
use sluice_engine::remote::{Ignored, RemoteActivity, RemoteNote, RemotePoll};
use sluice_engine::rows::{AccountRow, RemoteActor};
use sluice_model::content::sanitize_html;
use url::Url;

use crate::document::{Activity, Actor, Object, ObjectKind, same_origin};

/// The record of `activity` as the engine stores it, its JSON as received (`json`);
/// an activity without an id gets a transient one.
pub(super) fn remote_activity(
    engine: &Engine,
    activity: &Activity,
    json: String,
) -> RemoteActivity {
    RemoteActivity {
        uri: activity.id.clone().unwrap_or_else(|| transient_uri(engine)),
        kind: activity.type_name.clone(),
        object_uri: activity.object_ids().next().unwrap_or_default().to_string(),
        to: activity.audience.to.clone(),
        cc: activity.audience.cc.clone(),
        json,
    }
}

/// The record of a post fetched (not delivered: a reply's missing ancestor), stored as
/// its `Create` would be, under an id of its own that no server sends.
pub(crate) fn fetched_create(object: &Object) -> RemoteActivity {
    RemoteActivity {
        uri: format!("{}#fetched", object.id),
        kind: "Create".into(),
        object_uri: object.id.clone(),
        to: object.audience.to.clone(),
        cc: object.audience.cc.clone(),
        json: String::new(),
    }
}

/// The account fields of a parsed actor; None when it cannot be an account (no inbox,
/// no usable name).
pub(super) fn remote_actor(a: &Actor) -> Option<RemoteActor> {
    let url = Url::parse(&a.id).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let domain = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    let username = a
        .preferred_username
        .clone()
        .filter(|u| !u.is_empty() && u.len() <= 100)
        .or_else(|| {
            url.path_segments()?
                .next_back()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })?;
    let inbox = a.inbox.clone()?;
    let fields: Vec<serde_json::Value> = a
        .fields
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": field_name_text(&f.name),
                "value": sanitize_html(&f.value),
            })
        })
        .collect();
    Some(RemoteActor {
        uri: a.id.clone(),
        username,
        domain,
        actor_type: a.kind.as_str().to_string(),
        display_name: a.name.clone().unwrap_or_default(),
        note: sanitize_html(a.summary.as_deref().unwrap_or_default()),
        url: a.url.clone().unwrap_or_else(|| a.id.clone()),
        inbox_url: inbox,
        shared_inbox_url: a.shared_inbox.clone().unwrap_or_default(),
        outbox_url: a.outbox.clone().unwrap_or_default(),
        followers_url: a.followers.clone().unwrap_or_default(),
        following_url: a.following.clone().unwrap_or_default(),
        featured_url: a.featured.clone().unwrap_or_default(),
        featured_tags_url: a.featured_tags.clone().unwrap_or_default(),
        avatar_url: a.icon.as_ref().map(|i| i.url.clone()).unwrap_or_default(),
        header_url: a.image.as_ref().map(|i| i.url.clone()).unwrap_or_default(),
        locked: a.manually_approves_followers,
        bot: a.is_bot(),
        discoverable: a.discoverable.unwrap_or(false),
        indexable: a.indexable.unwrap_or(false),
        fields: serde_json::to_string(&fields).unwrap_or_else(|_| "[]".into()),
        also_known_as: serde_json::to_string(&a.also_known_as).unwrap_or_else(|_| "[]".into()),
        created_at: a
            .published
            .map(|t| t.0)
            .unwrap_or_else(sluice_model::id::now_millis),
    })
}

/// A remote profile field's name as stored and shown: plain text, as Mastodon's
/// clients treat it (they escape it themselves). What a server sends there is read as
/// HTML all the same, since some send markup or character references: tags dropped,
/// references decoded, on one line.
fn field_name_text(name: &str) -> String {
    sluice_model::content::html_to_plain(name)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An object's `summary` as a paragraph of the text the Mastodon API shows, sanitized
/// (for the types whose summary is an abstract, not a content warning).
pub(crate) async fn summary_html(summary: &str) -> String {
    let html = sluice_engine::tasks::sanitize_html(summary.to_string()).await;
    if html.trim_start().starts_with('<') {
        html
    } else {
        format!("<p>{html}</p>")
    }
}

/// Object types that are not posts: Pleroma's `ChatMessage` belongs to a chat, which
/// Mastodon's API has no place for (Mastodon does not store them either).
const NOT_POSTS: [&str; 1] = ["ChatMessage"];

/// Whether `o` may be taken as `actor`'s: attributed to it (an object that names no
/// author is its activity's actor's, as Mastodon reads it), and its id on the actor's
/// server (ids are taken only from the server they belong to).
pub(super) fn authored_by(o: &Object, actor: &AccountRow) -> Result<(), Ignored> {
    if o.attributed_to.as_deref().is_some_and(|a| a != actor.uri) {
        return Err(Ignored::NotAuthor);
    }
    if !same_origin(&o.id, &actor.uri) {
        return Err(Ignored::ForeignId);
    }
    Ok(())
}

/// The id an activity without one (a transient activity: GoToSocial's `Delete`, say)
/// is recorded under: unique, and never an id a remote server may send (those are
/// http(s) IRIs on the sender's server), so it neither blocks nor repeats another.
fn transient_uri(engine: &Engine) -> String {
    format!("urn:sluice:transient:{}", engine.new_id())
}

/// A remote post as the engine stores it, or why it is not one we store (not the
/// sender's, its id on another server, not a post).
pub(crate) async fn remote_note(actor: &AccountRow, o: &Object) -> Result<RemoteNote, Ignored> {
    authored_by(o, actor)?;
    if NOT_POSTS.contains(&o.kind.as_str()) {
        return Err(Ignored::UnsupportedObject);
    }
    let mut content = o
        .content
        .clone()
        .or_else(|| o.misskey_content.clone())
        .unwrap_or_default();
    // Shown as Mastodon shows these types: title, summary (an abstract, not a content
    // warning), then the content and a link to the original.
    let converted = matches!(
        o.kind,
        ObjectKind::Page | ObjectKind::Article | ObjectKind::Event
    );
    let mut summary = o.summary.clone().unwrap_or_default();
    if converted {
        let mut head = String::new();
        if let Some(name) = o.name.as_deref().filter(|n| !n.trim().is_empty()) {
            head = format!(
                "<p><strong>{}</strong></p>",
                sluice_model::content::escape_html(name)
            );
        }
        if !summary.trim().is_empty() {
            head.push_str(&summary_html(&summary).await);
        }
        let link = o.url.as_deref().unwrap_or(&o.id);
        let link = sluice_model::content::escape_html(link);
        content = format!("{head}{content}<p><a href=\"{link}\">{link}</a></p>");
        summary.clear();
    }
    Ok(RemoteNote {
        uri: o.id.clone(),
        url: o.url.clone().unwrap_or_default(),
        object_type: o.kind.as_str().to_string(),
        content: sluice_engine::tasks::sanitize_html(content).await,
        summary,
        sensitive: o.sensitive,
        language: o.language.clone(),
        in_reply_to: o.in_reply_to.clone(),
        published: o
            .published
            .map(|t| t.0)
            .unwrap_or_else(sluice_model::id::now_millis),
        updated: o.updated.map(|t| t.0),
        to: o.audience.to.clone(),
        cc: o.audience.cc.clone(),
        mentions: o.mentions.iter().map(|m| m.href.clone()).collect(),
        tags: o
            .hashtags
            .iter()
            .map(|h| h.name.trim_start_matches('#').to_lowercase())
            .filter(|t| !t.is_empty() && !t.contains(','))
            .collect(),
        attachments: o.attachments.iter().map(stored_attachment).collect(),
        poll: o.poll.as_ref().and_then(remote_poll),
        emojis: remote_emojis(&o.emojis),
        quote: o.quote.clone(),
        // Checked against the quoted author before the post is stored
        // (`create::check_quote`).
        quote_authorization: o.quote_authorization.clone(),
        quote_policy: o
            .can_quote
            .as_ref()
            .map(|a| sluice_engine::quotes::remote_quote_policy(a, &actor.followers_url).into()),
        // Set by `conversation` once the thread's owner and the reply are checked.
        audience_of: None,
    })
}

/// `Emoji` tags as the engine remembers them (image URLs as given).
pub(crate) fn remote_emojis(
    tags: &[crate::document::Emoji],
) -> Vec<sluice_engine::emojis::RemoteEmoji> {
    tags.iter()
        .map(|e| sluice_engine::emojis::RemoteEmoji {
            shortcode: e.shortcode.clone(),
            url: e.url.clone(),
            static_url: None,
            uri: e.id.clone(),
            media_type: e.media_type.clone(),
        })
        .collect()
}

/// A remote `Question`'s poll as the engine stores it; None without options (an open
/// question is a post without a poll).
fn remote_poll(p: &crate::document::Poll) -> Option<RemotePoll> {
    if p.options.is_empty() {
        return None;
    }
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let end = p.end_time.map(|t| t.0);
    Some(RemotePoll {
        options: p
            .options
            .iter()
            .map(|o| (o.name.clone(), o.votes.map_or(0, count)))
            .collect(),
        multiple: p.multiple,
        expires_at: end,
        // `closed: true` says when no more than that it ended: at its end, else now.
        closed_at: p.closed.then(|| {
            p.closed_at
                .map(|t| t.0)
                .or(end)
                .unwrap_or_else(sluice_model::id::now_millis)
        }),
        voters_count: p.voters_count.map(count),
    })
}

/// A remote attachment as a post stores it (the engine gives it an id).
fn stored_attachment(a: &crate::document::Attachment) -> sluice_model::media::Attachment {
    use sluice_model::media::{Attachment, MAX_DESCRIPTION_CHARS};
    Attachment {
        id: String::new(),
        kind: Attachment::kind_of(a.media_type.as_deref(), &a.kind).into(),
        media_type: a.media_type.clone().unwrap_or_default(),
        url: a.url.clone(),
        description: a
            .name
            .as_deref()
            .map(|n| n.chars().take(MAX_DESCRIPTION_CHARS).collect())
            .unwrap_or_default(),
        width: a.width,
        height: a.height,
        focus: a.focal_point,
        blurhash: a.blurhash.clone().filter(|b| b.len() <= 100),
        remote: true,
    }
}
