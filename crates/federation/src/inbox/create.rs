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
