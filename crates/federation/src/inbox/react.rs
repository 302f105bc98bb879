//! Emoji reactions: `EmojiReact` (Pleroma, Akkoma), Misskey's `Like` with
//! `_misskey_reaction`, and a `Like` with `content` (read as `EmojiReact` by the
//! parser); the emoji's custom image from `tag`.

use super::convert::remote_emojis;
use super::{Inbound, InboxError};

pub(super) async fn apply(i: &Inbound<'_>) -> Result<(), InboxError> {
    let text = i.activity.reaction.as_deref().unwrap_or_default();
    i.fed
        .engine
        .remote_react(
            i.actor,
            i.record,
            &i.record.object_uri,
            text,
            &remote_emojis(&i.activity.emojis),
        )
        .await?;
    Ok(())
}
