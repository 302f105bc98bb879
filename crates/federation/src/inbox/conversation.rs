//! `Add` of an activity to a conversation container (FEP-171b, as Mitra and Streams
//! send it): the owner of a thread (the author of its first post) relays a reply it
//! was sent to the thread's audience, wrapped as `Add {object: Create {object: Note},
//! target: {type: OrderedCollection, id: <the thread's context>, attributedTo: owner}}`.
//! This is how a reply to a followers-only post reaches the owner's other followers.
//!
//! What the owner relays is never taken as it is: the reply is fetched from its own
//! server by its id (through the one fetcher), and is applied only when that server
//! serves it, by the actor the `Create` names, as a reply within a thread the `Add`'s
//! actor started, and the `target` is a collection of the owner (its origin, and its
//! `attributedTo` when given). It is then stored as its `Create` would be, with the
//! audience it was addressed to: addressed to the owner's followers collection, the
//! owner's followers may see it (`status_audiences`). Anything else is recorded,
//! logged with the reason and counted (`Ignored`), never applied.

use sluice_engine::remote::Ignored;
use sluice_engine::rows::StatusRow;

use super::convert::remote_note;
use super::{Inbound, InboxError};
use crate::document::{Activity, ActivityKind, Document, Ref, same_origin};

/// Applies `Add(inner)` of `i`, a conversation container's `Add`.
pub(super) async fn apply(i: &Inbound<'_>, inner: &Activity) -> Result<(), InboxError> {
    let (fed, owner) = (i.fed, i.actor);
    let engine = &fed.engine;
    let refuse = async |reason: Ignored, why: &str| {
        tracing::debug!(add = %i.record.uri, reason = reason.as_str(), why, "conversation Add not applied");
        i.ignore(reason).await
    };
    if inner.kind != ActivityKind::Create {
        return refuse(Ignored::UnsupportedType, "only a Create is applied").await;
    }
    // The target: a collection of the owner's (FEP-171b: the thread's container).
    let Some(target) = i.activity.target_id() else {
        return refuse(Ignored::OtherCollection, "no target").await;
    };
    if !same_origin(target, &owner.uri)
        || target_owner(&i.record.json).is_some_and(|a| a != owner.uri)
    {
        return refuse(Ignored::OtherCollection, "the target is not the actor's").await;
    }
    let Some(note_uri) = inner.object_id() else {
        return refuse(Ignored::NoObject, "the Create names no object").await;
    };
    // Ours, or stored already (the owner relays a reply to everyone, its author's
    // server included): nothing more to do.
    if fed.is_local_uri(note_uri) || engine.status_by_uri(note_uri).await?.is_some() {
        engine.remote_record(owner, i.record).await?;
        return Ok(());
    }
    // Never the embedded copy: the reply as its own server serves it.
    let (author, object) = match fed.fetch_post(note_uri, true).await {
        Ok(Some((author, object))) if object.id == note_uri => (author, object),
        Ok(_) => {
            return refuse(Ignored::Unverified, "the reply's server does not serve it").await;
        }
        Err(e) if !e.is_permanent() => return Err(e),
        Err(_) => return refuse(Ignored::Unverified, "the reply could not be fetched").await,
    };
    if inner.actor_id().is_some_and(|a| a != author.uri) {
        return refuse(
            Ignored::NotAuthor,
            "the Create's actor did not write the reply",
        )
        .await;
    }
    // A reply in a thread the owner started.
    let Some(parent_uri) = object.in_reply_to.as_deref() else {
        return refuse(Ignored::OtherCollection, "not a reply").await;
    };
    let parent = match engine.status_by_uri(parent_uri).await? {
        Some(p) => Some(p),
        None => {
            fed.backfill(parent_uri, &mut crate::backfill::Budget::new())
                .await;
            engine.status_by_uri(parent_uri).await?
        }
    };
    let Some(parent) = parent else {
        return refuse(Ignored::UnknownObject, "the post replied to is unknown").await;
    };
    if !thread_owned_by(fed, &parent, owner.id).await? {
        return refuse(Ignored::NotAuthor, "the thread is not the actor's").await;
    }
    let mut note = match remote_note(&author, &object).await {
        Ok(n) => n,
        Err(reason) => return refuse(reason, "not a post we store").await,
    };
    if !owner.followers_url.is_empty()
        && note
            .to
            .iter()
            .chain(&note.cc)
            .any(|a| *a == owner.followers_url)
    {
        note.audience_of = Some(owner.id);
    }
    // The Create as its author's: its id only when it is on the relaying owner's own
    // server (ids are taken only from the server they belong to), else a transient one.
    let mut relayed = inner.clone();
    if !relayed
        .id
        .as_deref()
        .is_some_and(|id| same_origin(id, &author.uri) && same_origin(id, &owner.uri))
    {
        relayed.id = None;
    }
    relayed.object = vec![Ref::Embedded(Box::new(Document::Object(object)))];
    let record = super::convert::remote_activity(engine, &relayed, i.record.json.clone());
    super::create::create_note(fed, &author, &record, &note).await?;
    engine.remote_record(owner, i.record).await?;
    Ok(())
}

/// `attributedTo` of the `target` as the JSON says it, when given.
fn target_owner(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    match v.get("target")?.get("attributedTo")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("id")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// Whether the thread of `post` begins with a post of `owner`.
async fn thread_owned_by(
    fed: &crate::service::Federation,
    post: &StatusRow,
    owner: sluice_model::Id,
) -> Result<bool, InboxError> {
    if post.thread_id == post.id {
        return Ok(post.account_id == owner);
    }
    Ok(fed
        .engine
        .status(post.thread_id)
        .await?
        .is_some_and(|root| root.account_id == owner))
}
