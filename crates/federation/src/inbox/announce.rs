//! `Announce`: a boost of a post, or a group relaying what a member did (FEP-1b12).

use sluice_engine::remote::Ignored;
use url::Url;

use super::error::fetch_failed;
use super::{Inbound, InboxError};
use crate::document::{self, Activity, ActivityKind, Document, Ref, same_origin};
use crate::fetch::FetchError;
use crate::service::Federation;

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    match i.activity.object_activity() {
        Some(inner) => apply_announced(i, inner).await,
        None => {
            i.fed
                .engine
                .remote_announce(
                    i.actor,
                    i.record,
                    &i.record.object_uri,
                    i.activity.published.map(|t| t.0),
                )
                .await?;
            Ok(())
        }
    }
}

/// An `Announce` of an activity: a group relaying what its members do (FEP-1b12, as
/// Lemmy, Mbin and others send it). A `Create`, `Update` or `Delete` relayed by an
/// actor that a local user follows is applied as its own actor's, through
/// [`super::apply`], with the checks a direct delivery gets. What the group says is
/// believed only for members on the group's server (whose signature we checked): for
/// anyone else the post is fetched from its own server instead of taken from the
/// announce, a `Delete` is applied only when that server no longer has the post, and
/// the relayed activity's id is not stored (it could be another activity's). A relayed
/// post is also the group's boost of it, which is how the group's followers see it.
async fn apply_announced(i: &Inbound<'_>, inner: &Activity) -> Result<(), InboxError> {
    let (fed, group, record) = (i.fed, i.actor, i.record);
    let engine = &fed.engine;
    let kinds = [
        ActivityKind::Create,
        ActivityKind::Update,
        ActivityKind::Delete,
    ];
    if !kinds.contains(&inner.kind) || !engine.has_local_followers(group.id).await? {
        return i.ignore(Ignored::AnnouncedActivity).await;
    }
    let (Some(member_uri), Some(object_uri)) = (inner.actor_id(), inner.object_id()) else {
        return i.ignore(Ignored::NoObject).await;
    };
    // Our own users' activities are never taken from another server; a relayed
    // activity's id, like any other, must be on its actor's server.
    if fed.is_local_uri(member_uri)
        || inner
            .id
            .as_deref()
            .is_some_and(|id| !same_origin(id, member_uri))
    {
        return i.ignore(Ignored::ForeignId).await;
    }
    let member = fed.resolve_actor(member_uri, false).await?;
    let mut relayed = inner.clone();
    if !same_origin(member_uri, &group.uri) {
        relayed.id = None;
        let verified = if inner.kind == ActivityKind::Delete {
            fed.gone(object_uri).await?
        } else {
            match fed.fetch_post(object_uri, true).await {
                Ok(Some((author, object))) if author.id == member.id => {
                    relayed.object = vec![Ref::Embedded(Box::new(Document::Object(object)))];
                    true
                }
                Ok(_) => false,
                Err(e) if !e.is_permanent() => return Err(e),
                Err(_) => false,
            }
        };
        if !verified {
            return i.ignore(Ignored::Unverified).await;
        }
    }
    Box::pin(super::apply(fed, &member, &relayed, record.json.clone())).await?;
    if inner.kind == ActivityKind::Create && engine.status_by_uri(object_uri).await?.is_some() {
        engine
            .remote_announce(group, record, object_uri, i.activity.published.map(|t| t.0))
            .await?;
    } else {
        engine.remote_record(group, record).await?;
    }
    Ok(())
}

impl Federation {
    /// Whether the object `uri` is gone from its server (404, 410, or a `Tombstone`
    /// now), asked afresh: how a `Delete` relayed by a group from another server is
    /// verified.
    async fn gone(&self, uri: &str) -> Result<bool, InboxError> {
        let url = Url::parse(uri).map_err(|_| InboxError::BadRequest("not a URL".into()))?;
        match self.get_json(&url, true).await {
            Ok(f) => Ok(matches!(
                document::parse(f.bytes()),
                Ok(Document::Tombstone(_))
            )),
            Err(FetchError::Status(404 | 410)) => Ok(true),
            Err(e) if e.is_retryable() => Err(fetch_failed(uri, &e)),
            Err(_) => Ok(false),
        }
    }
}
