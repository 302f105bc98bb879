//! `Move` of the actor to another account: our followers follow the new one.

use sluice_engine::remote::Ignored;

use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    // Only the actor itself may move, and only to an account that names it among its
    // aliases (checked on a fresh copy of the target).
    let target_uri = i.activity.target_id().unwrap_or_default();
    if i.record.object_uri != i.actor.uri || target_uri.is_empty() {
        return i.ignore(Ignored::MoveRefused).await;
    }
    let target = i.fed.resolve_actor(target_uri, true).await?;
    let aliases: Vec<String> = serde_json::from_str(&target.also_known_as).unwrap_or_default();
    if !aliases.contains(&i.actor.uri) {
        return i.ignore(Ignored::MoveRefused).await;
    }
    i.fed.engine.remote_move(i.actor, i.record, &target).await?;
    Ok(())
}
