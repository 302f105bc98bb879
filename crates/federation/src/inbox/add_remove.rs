//! `Add` or `Remove`: a pin or an unpin when the collection is the actor's own
//! `featured`, a featured hashtag when it is its `featuredTags`, a reply relayed by
//! the owner of its thread when the object is an activity (FEP-171b, in
//! [`super::conversation`]); Adds to anything else (a Lemmy community's moderators,
//! say) are only recorded.

use sluice_engine::remote::Ignored;

use super::{Inbound, InboxError};
use crate::document::{ActivityKind, Document, Ref};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    if i.activity.kind == ActivityKind::Add
        && let Some(inner) = i.activity.object_activity()
    {
        return super::conversation::apply(i, inner).await;
    }
    let target = i.activity.target_id();
    if target.is_some() {
        let tags_url = i.fed.engine.featured_tags_url(i.actor.id).await?;
        if !tags_url.is_empty() && target == Some(tags_url.as_str()) {
            return featured_tag(i).await;
        }
    }
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

/// An `Add` or `Remove` of a `Hashtag` (`{"type": "Hashtag", "name": "#tag", "href":
/// …/tags/tag}`) to the actor's `featuredTags`: its name from `name`, else from the
/// last segment of `href`.
async fn featured_tag(i: &Inbound<'_>) -> Result<(), InboxError> {
    let name = i.activity.object.first().and_then(|o| match o {
        Ref::Embedded(d) => match d.as_ref() {
            Document::Link(l) => l
                .name
                .clone()
                .or_else(|| tag_of_href(&l.href).map(str::to_string)),
            _ => None,
        },
        Ref::Iri(href) => tag_of_href(href).map(str::to_string),
    });
    let Some(name) = name else {
        return i.ignore(Ignored::OtherCollection).await;
    };
    let add = i.activity.kind == ActivityKind::Add;
    i.fed
        .engine
        .remote_featured_tag(i.actor, i.record, &name, add)
        .await?;
    Ok(())
}

/// `tag` of `https://host/tags/tag`.
fn tag_of_href(href: &str) -> Option<&str> {
    let (_, name) = href.rsplit_once("/tags/")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}
