//! `Like` (and Misskey's `EmojiReact`, taken as one) of a post we have.

use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    i.fed
        .engine
        .remote_like(i.actor, i.record, &i.record.object_uri)
        .await?;
    Ok(())
}
