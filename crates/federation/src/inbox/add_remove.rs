//! `Add` or `Remove`: a pin or an unpin when the collection is the actor's own
//! `featured`; Adds to anything else (a Lemmy community's moderators, say) are only
//! recorded.

use sluice_engine::remote::Ignored;

use super::{Inbound, InboxError};
use crate::document::ActivityKind;

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let featured = &i.actor.featured_url;
    let to_featured = !featured.is_empty() && i.activity.target_id() == Some(featured.as_str());
    if !to_featured {
        return i.ignore(Ignored::OtherCollection).await;
    }
    let pinned = i.activity.kind == ActivityKind::Add;
    i.fed
        .engine
        .remote_pin(i.actor, i.record, &i.record.object_uri, pinned)
        .await?;
    Ok(())
}
