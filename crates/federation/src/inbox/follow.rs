//! `Follow` of a local account.

use sluice_engine::remote::Ignored;

use super::resolve::local_account;
use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let engine = &i.fed.engine;
    match local_account(engine, &i.record.object_uri).await? {
        Some(target) => {
            engine.remote_follow(i.actor, i.record, &target).await?;
            Ok(())
        }
        None => i.ignore(Ignored::UnknownObject).await,
    }
}
