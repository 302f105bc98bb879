//! `QuoteRequest` (FEP-044f): a remote actor asks to quote one of our posts. The
//! quoting post (`instrument`) is taken embedded when it is the actor's own, else
//! fetched from its origin; the engine decides by the quoted post's policy and queues
//! the `Accept` (with our stamp) or `Reject`.

use sluice_engine::remote::Ignored;

use super::convert::{fetched_create, remote_note};
use super::create::create_note;
use super::{Inbound, InboxError};
use crate::document::{Document, same_origin};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let (fed, actor) = (i.fed, i.actor);
    let engine = &fed.engine;
    let quoted_uri = i.activity.object_id().unwrap_or_default();
    let quoted = match engine.status_by_uri(quoted_uri).await? {
        Some(s) if s.local => s,
        _ => return i.ignore(Ignored::UnknownObject).await,
    };
    let instrument = i.activity.instrument.as_ref();
    let instrument_uri = instrument
        .and_then(|r| r.id())
        .unwrap_or_default()
        .to_string();
    // A quoting post is the requester's own: on its origin.
    if !same_origin(&instrument_uri, &actor.uri) {
        return i.ignore(Ignored::ForeignId).await;
    }
    let mut quoting = engine.status_by_uri(&instrument_uri).await?;
    if quoting.is_none()
        && let Some(Document::Object(o)) = instrument.and_then(|r| r.embedded())
        && let Ok(note) = remote_note(actor, o).await
    {
        match create_note(fed, actor, &fetched_create(o), &note).await {
            // Its Create, delivered at the same time, stored it first: that one is kept.
            Ok(()) | Err(InboxError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        quoting = engine.status_by_uri(&instrument_uri).await?;
    }
    if quoting.is_none() {
        quoting = fed.resolve_post(&instrument_uri).await.ok().flatten();
    }
    engine
        .remote_quote_request(actor, i.record, &quoted, &instrument_uri, quoting.as_ref())
        .await?;
    Ok(())
}
