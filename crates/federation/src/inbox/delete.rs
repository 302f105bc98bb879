//! `Delete` of the actor itself, of one of its posts (a post not yet here leaves a
//! tombstone, so its late Create does not bring it back), or of a QuoteAuthorization
//! stamp it gave (FEP-044f: the quote is revoked).

use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let engine = &i.fed.engine;
    if i.record.object_uri == i.actor.uri {
        engine.remote_delete_actor(i.actor, i.record).await?;
    } else if engine
        .remote_stamp_deleted(i.actor, i.record, &i.record.object_uri)
        .await?
        .is_some()
    {
        // A QuoteAuthorization stamp withdrawn by its giver: the quote is revoked.
    } else {
        engine
            .remote_delete_note(i.actor, i.record, &i.record.object_uri)
            .await?;
    }
    Ok(())
}
