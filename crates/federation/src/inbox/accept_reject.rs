//! `Accept` or `Reject` of a Follow one of ours sent, or of the QuoteRequest of one of
//! our quotes (FEP-044f).

use sluice_engine::remote::Ignored;

use super::resolve::local_account;
use super::{Inbound, InboxError};
use crate::document::{ActivityKind, same_origin};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let engine = &i.fed.engine;
    // The answer to one of our QuoteRequests: named by its id, which we minted.
    if i.activity
        .object_activity()
        .is_none_or(|a| a.kind == ActivityKind::QuoteRequest)
        && let Some((quoting, quoted_uri)) = engine.quote_by_request(&i.record.object_uri).await?
    {
        return quote_answered(i, &quoting, &quoted_uri).await;
    }
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

/// `Accept` (its `result` the stamp, which must be on the accepting actor's origin and
/// check out: fetched, by them, naming the two posts) or `Reject` of our QuoteRequest.
async fn quote_answered(
    i: &Inbound<'_>,
    quoting: &sluice_engine::rows::StatusRow,
    quoted_uri: &str,
) -> Result<(), InboxError> {
    let engine = &i.fed.engine;
    if i.activity.kind == ActivityKind::Reject {
        engine
            .remote_quote_answered(i.actor, i.record, quoting, None)
            .await?;
        return Ok(());
    }
    let Some(stamp) = i.activity.result.as_ref().and_then(|r| r.id()) else {
        return i.ignore(Ignored::NoObject).await;
    };
    let valid = same_origin(stamp, &i.actor.uri)
        && super::create::remote_stamp_valid(i.fed, stamp, &i.actor.uri, &quoting.uri, quoted_uri)
            .await;
    if !valid {
        return i.ignore(Ignored::Unverified).await;
    }
    engine
        .remote_quote_answered(i.actor, i.record, quoting, Some(stamp))
        .await?;
    Ok(())
}
