//! `Flag`: a report about one of ours (and some of their posts).

use sluice_engine::remote::Ignored;

use super::resolve::local_account;
use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let engine = &i.fed.engine;
    // The object lists the reported account and some of its posts.
    let mut target = None;
    let mut posts = Vec::new();
    for id in i.activity.object_ids() {
        match local_account(engine, id).await? {
            Some(a) if target.is_none() => target = Some(a),
            _ => posts.push(id.to_string()),
        }
    }
    if target.is_none()
        && let Some(first) = posts.first()
        && let Some(s) = engine.status_by_uri(first).await?
        && let Some(a) = engine.account(s.account_id).await?
        && a.is_local()
    {
        target = Some(a);
    }
    let Some(target) = target else {
        return i.ignore(Ignored::UnknownObject).await;
    };
    let comment = i.activity.content.clone().unwrap_or_default();
    engine
        .remote_flag(i.actor, i.record, &target, &posts, &comment)
        .await?;
    Ok(())
}
