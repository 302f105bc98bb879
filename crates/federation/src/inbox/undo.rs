//! `Undo` of a Follow, Like, Announce or Block; an Undo whose activity has not arrived
//! is remembered, so the late activity is stored and not applied.

use sluice_engine::remote::Ignored;

use super::resolve::local_account;
use super::{Inbound, InboxError};
use crate::document::ActivityKind;

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let (engine, actor, record) = (&i.fed.engine, i.actor, i.record);
    let Some(inner) = i.activity.object_activity() else {
        // Only the id of what is undone: a Like or Announce we stored by id.
        return undo_by_id(i).await;
    };
    let inner_object = inner.object_ids().next().unwrap_or_default();
    match inner.kind {
        ActivityKind::Follow => match local_account(engine, inner_object).await? {
            Some(target) => {
                engine.remote_undo_follow(actor, record, &target).await?;
            }
            None => return i.ignore(Ignored::UnknownObject).await,
        },
        ActivityKind::Like => {
            // A Like we took as a reaction (its Undo may name it without the emoji).
            let id = inner.id.as_deref().unwrap_or_default();
            if !id.is_empty() && engine.reaction_by_uri(actor.id, id).await?.is_some() {
                engine
                    .remote_undo_react(actor, record, id, inner_object, "")
                    .await?;
            } else {
                engine.remote_undo_like(actor, record, inner_object).await?;
            }
        }
        ActivityKind::EmojiReact => {
            let id = inner.id.as_deref().unwrap_or_default();
            let text = inner.reaction.as_deref().unwrap_or_default();
            engine
                .remote_undo_react(actor, record, id, inner_object, text)
                .await?;
        }
        ActivityKind::Announce => {
            let id = inner.id.as_deref().unwrap_or_default();
            engine.remote_undo_announce(actor, record, id).await?;
        }
        ActivityKind::Block => match local_account(engine, inner_object).await? {
            Some(target) => {
                engine.remote_block(actor, record, &target, true).await?;
            }
            None => return i.ignore(Ignored::UnknownObject).await,
        },
        _ => return i.ignore(Ignored::UnsupportedType).await,
    }
    Ok(())
}

/// `Undo` naming only the id of what it undoes: a Like or an Announce we stored.
async fn undo_by_id(i: &Inbound<'_>) -> Result<(), InboxError> {
    let (engine, actor, record) = (&i.fed.engine, i.actor, i.record);
    if let Some(reblog) = engine.status_by_uri(&record.object_uri).await?
        && reblog.reblog_of_id.is_some()
    {
        engine
            .remote_undo_announce(actor, record, &record.object_uri)
            .await?;
        return Ok(());
    }
    if engine
        .reaction_by_uri(actor.id, &record.object_uri)
        .await?
        .is_some()
    {
        engine
            .remote_undo_react(actor, record, &record.object_uri, "", "")
            .await?;
        return Ok(());
    }
    match engine.favourite_by_uri(&record.object_uri).await? {
        Some(status_uri) => {
            engine.remote_undo_like(actor, record, &status_uri).await?;
        }
        None => {
            engine.remote_undo_missing(actor, record).await?;
        }
    }
    Ok(())
}
