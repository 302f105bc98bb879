//! `Create` of a post: stored (a reply's missing ancestors fetched first), its blind
//! copies applied.

use sluice_engine::remote::{Ignored, RemoteActivity, RemoteNote};
use sluice_engine::rows::AccountRow;

use super::convert::{authored_by, remote_note};
use super::{Inbound, InboxError};
use crate::document::Document;
use crate::service::Federation;

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    // A vote in one of our polls: a Note named by the chosen option, answering the
    // poll, without content (as Mastodon, Misskey and Pleroma send votes).
    if let Some(Document::Object(o)) = i.activity.embedded_object()
        && let (Some(option), Some(poll)) = (&o.name, &o.in_reply_to)
        && o.content.as_deref().is_none_or(|c| c.trim().is_empty())
        && authored_by(o, i.actor).is_ok()
        && i.fed
            .engine
            .remote_vote(i.actor, i.record, poll, option, &o.id)
            .await?
            .is_some()
    {
        return Ok(());
    }
    let note = match i.activity.embedded_object() {
        Some(Document::Object(o)) => remote_note(i.actor, o).await,
        Some(_) => Err(Ignored::UnsupportedObject),
        None => Err(Ignored::NoObject),
    };
    match note {
        Ok(note) => create_note(i.fed, i.actor, i.record, &note).await,
        Err(reason) => i.ignore(reason).await,
    }
}

/// Stores a new remote post (a Create's, or an Update's of a post we did not have).
pub(super) async fn create_note(
    fed: &Federation,
    actor: &AccountRow,
    record: &RemoteActivity,
    note: &RemoteNote,
) -> Result<(), InboxError> {
    let engine = &fed.engine;
    // A reply to a post we do not have: fetch the thread above it first.
    if let Some(parent) = &note.in_reply_to {
        fed.backfill(parent, &mut crate::backfill::Budget::new())
            .await;
    }
    let checked;
    let note = if note.quote.is_some() {
        checked = check_quote(fed, note, true).await;
        &checked
    } else {
        note
    };
    engine.remote_create_note(actor, record, note).await?;
    // Blind copies are recorded only of posts not public or unlisted: the others cost
    // no lookup here.
    if !matches!(
        sluice_engine::remote::visibility_of(&note.to, &note.cc, &actor.followers_url),
        sluice_model::Visibility::Public | sluice_model::Visibility::Unlisted
    ) {
        engine.apply_blind_copies(&note.uri).await?;
    }
    Ok(())
}

/// A quoting post made ready to store: the quoted post fetched when we do not have it
/// and `fetch` says so (that one post, through the one fetcher: its own quote is not
/// followed), and its `quoteAuthorization` kept only when the stamp is the quoted
/// author's: served from their origin (or ours, for a stamp we gave), naming this post
/// and the quoted one.
pub(crate) async fn check_quote(fed: &Federation, note: &RemoteNote, fetch: bool) -> RemoteNote {
    let mut note = note.clone();
    let Some(quoted_uri) = note.quote.clone() else {
        return note;
    };
    let quoted = match fed.engine.status_by_uri(&quoted_uri).await {
        Ok(Some(s)) => Some(s),
        Ok(None) if fetch => fed.resolve_post(&quoted_uri).await.ok().flatten(),
        Ok(None) => None,
        Err(_) => None,
    };
    let stamp = note.quote_authorization.take();
    let (Some(quoted), Some(stamp)) = (quoted, stamp) else {
        return note;
    };
    let Ok(Some(author)) = fed.engine.account(quoted.account_id).await else {
        return note;
    };
    let valid = if fed.is_local_uri(&stamp) {
        fed.engine
            .quote_stamp_valid(&stamp, &note.uri, quoted.id)
            .await
            .unwrap_or(false)
    } else {
        remote_stamp_valid(fed, &stamp, &author.uri, &note.uri, &quoted.uri).await
    };
    if valid {
        note.quote_authorization = Some(stamp);
    }
    note
}

/// Fetches a QuoteAuthorization and checks it: on the quoted author's origin, by them,
/// for this quote of this post.
pub(crate) async fn remote_stamp_valid(
    fed: &Federation,
    stamp: &str,
    author: &str,
    quoting: &str,
    quoted: &str,
) -> bool {
    if !crate::document::same_origin(stamp, author) {
        return false;
    }
    let Ok(url) = url::Url::parse(stamp) else {
        return false;
    };
    let Ok(fetched) = fed.get_json(&url, true).await else {
        return false;
    };
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(fetched.bytes()) else {
        return false;
    };
    let field = |k: &str| match doc.get(k) {
        Some(serde_json::Value::String(s)) => Some(s.as_str()),
        Some(serde_json::Value::Object(o)) => o.get("id").and_then(|v| v.as_str()),
        _ => None,
    };
    field("type") == Some("QuoteAuthorization")
        && field("id") == Some(stamp)
        && field("attributedTo") == Some(author)
        && field("interactingObject") == Some(quoting)
        && field("interactionTarget") == Some(quoted)
}
