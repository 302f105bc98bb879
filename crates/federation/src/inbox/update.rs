//! `Update` of the actor itself (its profile fetched again) or of one of its posts.

use sluice_engine::remote::{Ignored, RemoteNote};

use super::convert::remote_note;
use super::create::create_note;
use super::{Inbound, InboxError};
use crate::document::{Document, same_origin};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let (fed, actor, record) = (i.fed, i.actor, i.record);
    match i.activity.embedded_object() {
        Some(Document::Actor(a)) if a.id == actor.uri => {
            fed.store_actor(a).await?;
            fed.engine.remote_record(actor, record).await?;
            Ok(())
        }
        Some(Document::Object(o)) => match remote_note(actor, o).await {
            Ok(note) => update_note(i, &note).await,
            Err(reason) => i.ignore(reason).await,
        },
        // Only the post's id: its current state is fetched from its origin.
        None if same_origin(&record.object_uri, &actor.uri) => {
            match fed.fetch_post(&record.object_uri, true).await? {
                Some((author, o)) if author.id == actor.id => match remote_note(actor, &o).await {
                    Ok(note) => update_note(i, &note).await,
                    Err(reason) => i.ignore(reason).await,
                },
                Some(_) => i.ignore(Ignored::NotAuthor).await,
                None => i.ignore(Ignored::UnknownObject).await,
            }
        }
        Some(Document::Actor(_)) => i.ignore(Ignored::NotAuthor).await,
        Some(_) => i.ignore(Ignored::UnsupportedObject).await,
        None if record.object_uri.is_empty() => i.ignore(Ignored::NoObject).await,
        None => i.ignore(Ignored::ForeignId).await,
    }
}

/// Applies an Update of one of the actor's posts. A post we do not have is stored as
/// its Create would have stored it (the Create is late: a sender's retries reorder
/// deliveries; or it never came): an Update carries the whole post, newer than the
/// Create's copy, which then changes nothing when it arrives. A post deleted here
/// stays deleted (its tombstone).
async fn update_note(i: &Inbound<'_>, note: &RemoteNote) -> Result<(), InboxError> {
    let (fed, actor, record) = (i.fed, i.actor, i.record);
    if fed.engine.status_by_uri(&note.uri).await?.is_none() {
        return create_note(fed, actor, record, note).await;
    }
    // A stamp it carries now is kept only once checked, as a new post's.
    let checked;
    let note = if note.quote.is_some() && note.quote_authorization.is_some() {
        checked = super::create::check_quote(fed, note, true).await;
        &checked
    } else {
        note
    };
    fed.engine.remote_update_note(actor, record, note).await?;
    Ok(())
}
