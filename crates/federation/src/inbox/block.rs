//! `Block` of a local account.

use sluice_engine::remote::Ignored;

use super::resolve::local_account;
use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let engine = &i.fed.engine;
    match local_account(engine, &i.record.object_uri).await? {
        Some(target) => {
            engine
                .remote_block(i.actor, i.record, &target, false)
                .await?;
            Ok(())
        }
        None => i.ignore(Ignored::UnknownObject).await,
    }
}
