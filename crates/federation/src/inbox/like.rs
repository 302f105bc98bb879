//! `Like` of a post we have: a favourite (a `Like` carrying an emoji is a reaction,
//! `react.rs`).

use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    i.fed
        .engine
        .remote_like(i.actor, i.record, &i.record.object_uri)
        .await?;
    Ok(())
}
