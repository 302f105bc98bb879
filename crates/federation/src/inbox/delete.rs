//! `Delete` of the actor itself, or of one of its posts (a post not yet here leaves a
//! tombstone, so its late Create does not bring it back).

use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let engine = &i.fed.engine;
    if i.record.object_uri == i.actor.uri {
        engine.remote_delete_actor(i.actor, i.record).await?;
    } else {
        engine
            .remote_delete_note(i.actor, i.record, &i.record.object_uri)
            .await?;
    }
    Ok(())
}
