//! `Accept` or `Reject` of a Follow one of ours sent.

use sluice_engine::remote::Ignored;

use super::resolve::local_account;
use super::{Inbound, InboxError};
use crate::document::ActivityKind;

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let engine = &i.fed.engine;
    // The Follow it answers: embedded (actor = our follower), or only its id, which we
    // minted as `<follower>#follows/<n>`.
    let follower_uri = match i.activity.object_activity() {
        Some(inner) => inner
            .actor
            .as_ref()
            .and_then(|r| r.id())
            .unwrap_or_default()
            .to_string(),
        None => i
            .record
            .object_uri
            .split_once("#follows/")
            .map(|(a, _)| a.to_string())
            .unwrap_or_default(),
    };
    match local_account(engine, &follower_uri).await? {
        Some(follower) => {
            let accepted = i.activity.kind == ActivityKind::Accept;
            engine
                .remote_follow_answered(i.actor, i.record, &follower, accepted)
                .await?;
            Ok(())
        }
        None => i.ignore(Ignored::UnknownObject).await,
    }
}
