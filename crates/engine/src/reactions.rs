//! Emoji reactions, as Pleroma/Akkoma and Misskey make them: an account reacts to a
//! post with one Unicode emoji or a custom emoji (this server's, or one a remote
//! reaction brought, remembered in `custom_emojis`). One reaction per (post, account,
//! emoji), at most [`EngineConfig::max_reactions_per_account`] distinct ones per
//! account and post; you react only to what you can see, and an author who blocks you
//! never gets your reaction. The author is notified (`pleroma:emoji_reaction`).
//! Federated as `EmojiReact` (`content` the emoji, `tag` the custom emoji's `Emoji`)
//! and its `Undo`, addressed as a `Like` is (to the author); received as `EmojiReact`,
//! Misskey's `Like` with `_misskey_reaction`, or a `Like` with `content`.
//!
//! [`EngineConfig::max_reactions_per_account`]: crate::EngineConfig

use serde_json::{Value, json};
use sluice_model::Id;
use sluice_model::activity::Verb;
use sluice_store::{AccountRow, CustomEmojiRow, ReactionRow, StatusRow, WriteTx};

use crate::effects::Changes;
use crate::emojis::{EmojiMap, RemoteEmoji, is_shortcode};
use crate::pipeline::Outcome;
use crate::remote::{Ignored, RemoteActivity};
use crate::{Engine, EngineError, Result};

/// Distinct reactions one account may give one post unless configured
/// (`SLUICE_MAX_REACTIONS_PER_ACCOUNT`).
pub const DEFAULT_MAX_REACTIONS_PER_ACCOUNT: usize = 5;
/// Most reactions listed by one `GET …/reactions` (each with its account).
pub const MAX_LISTED_REACTIONS: i64 = 1000;
/// The notification kind, as Pleroma names it.
pub const NOTIFICATION_KIND: &str = "pleroma:emoji_reaction";

/// Misskey's reactions from before it used Unicode emoji, still sent by old servers
/// (and in the fixtures): the names and the emoji Misskey shows for them.
const MISSKEY_LEGACY: [(&str, &str); 11] = [
    ("like", "👍"),
    ("love", "❤️"),
    ("laugh", "😆"),
    ("hmm", "🤔"),
    ("surprise", "😮"),
    ("congrats", "🎉"),
    ("angry", "💢"),
    ("confused", "😥"),
    ("rip", "😇"),
    ("pudding", "🍮"),
    ("star", "⭐"),
];

/// An emoji someone reacts with.
#[derive(Debug, Clone)]
pub enum Reaction {
    /// One Unicode emoji, fully qualified.
    Unicode(&'static str),
    /// A custom emoji (this server's: `domain` '').
    Custom(Box<CustomEmojiRow>),
}

impl Reaction {
    /// The name it is stored and shown under: the emoji, `code` for this server's
    /// custom emoji, `code@domain` for another server's.
    pub fn name(&self) -> String {
        match self {
            Reaction::Unicode(e) => (*e).to_string(),
            Reaction::Custom(e) if e.domain.is_empty() => e.shortcode.clone(),
            Reaction::Custom(e) => format!("{}@{}", e.shortcode, e.domain),
        }
    }
}

/// The fully qualified form of `s` when it is exactly one Unicode emoji (skin tones
/// and other variations included).
pub fn unicode_emoji(s: &str) -> Option<&'static str> {
    emojis::get(s).map(|e| e.as_str())
}

/// A stored reaction name split into a custom emoji's (domain, shortcode); None for a
/// Unicode emoji.
pub fn custom_parts(name: &str) -> Option<(&str, &str)> {
    if unicode_emoji(name).is_some() {
        return None;
    }
    match name.split_once('@') {
        Some((code, domain)) => Some((domain, code)),
        None => Some(("", name)),
    }
}

impl Engine {
    /// The reaction a client asks for: one Unicode emoji, or a custom emoji known here
    /// (`:code:` or `code`; another server's as `code@domain`). Anything else is 422.
    pub async fn reaction_from_input(&self, input: &str) -> Result<Reaction> {
        let s = input.trim();
        if let Some(e) = unicode_emoji(s) {
            return Ok(Reaction::Unicode(e));
        }
        let code = s
            .strip_prefix(':')
            .and_then(|c| c.strip_suffix(':'))
            .unwrap_or(s);
        let (code, domain) = code.split_once('@').unwrap_or((code, ""));
        let domain = if domain.eq_ignore_ascii_case(self.urls.domain()) {
            ""
        } else {
            domain
        };
        if is_shortcode(code)
            && let Some(e) = self
                .store
                .emojis_by_code(&[code], &[domain])
                .await?
                .into_iter()
                .next()
        {
            return Ok(Reaction::Custom(Box::new(e)));
        }
        Err(EngineError::invalid(
            "Validation failed: a reaction is one emoji: a Unicode emoji or a custom emoji of this server (:shortcode:)",
        ))
    }

    /// The reaction a remote activity names (`content` or `_misskey_reaction`), with
    /// the custom emoji of its `tag` (remembered first, under the sender's domain, or
    /// ours when the image is ours). None when it is not one emoji we can show.
    pub async fn reaction_from_remote(
        &self,
        actor: &AccountRow,
        text: &str,
        tags: &[RemoteEmoji],
    ) -> Result<Option<Reaction>> {
        let s = text.trim();
        if let Some(e) = unicode_emoji(s) {
            return Ok(Some(Reaction::Unicode(e)));
        }
        if let Some((_, e)) = MISSKEY_LEGACY.iter().find(|(name, _)| *name == s) {
            return Ok(unicode_emoji(e).map(Reaction::Unicode));
        }
        let Some(inner) = s.strip_prefix(':').and_then(|c| c.strip_suffix(':')) else {
            return Ok(None);
        };
        // Misskey writes another server's emoji as `:code@host:` (`@.` for its own).
        let code = inner.split_once('@').map_or(inner, |(c, _)| c);
        if !is_shortcode(code) {
            return Ok(None);
        }
        let Some(tag) = tags.iter().find(|t| t.shortcode == code) else {
            return Ok(None);
        };
        if tag.url.starts_with(&format!("{}/", self.urls.base())) {
            // One of ours, sent back to us.
            return Ok(self
                .store
                .local_emoji(code)
                .await?
                .map(|e| Reaction::Custom(Box::new(e))));
        }
        if actor.domain.is_empty() {
            return Ok(None);
        }
        self.remember_remote_emojis(&actor.domain, std::slice::from_ref(tag))
            .await?;
        Ok(self
            .store
            .emojis_by_code(&[code], &[actor.domain.as_str()])
            .await?
            .into_iter()
            .next()
            .map(|e| Reaction::Custom(Box::new(e))))
    }

    /// `PUT /api/v1/pleroma/statuses/:id/reactions/:emoji`: `actor` reacts to a post
    /// it can see. Reacting twice with one emoji changes nothing.
    pub async fn react(&self, actor: Id, status_id: Id, emoji: &str) -> Result<Outcome> {
        let reaction = self.reaction_from_input(emoji).await?;
        let actor = self.account_row(actor).await?;
        let status = self.visible_status(Some(actor.id), status_id).await?;
        let status = self.original_of(status).await?;
        let author = self.account_row(status.account_id).await?;
        let now = sluice_model::id::now_millis();
        let uri = format!("{}#reactions/{}", actor.uri, self.new_id());
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        let added = match self
            .add_reaction(
                &mut tx,
                &mut changes,
                &actor,
                &status,
                &author,
                &reaction,
                &uri,
            )
            .await?
        {
            Added::Yes => true,
            Added::Already => false,
            Added::TooMany => {
                let _ = tx.rollback().await;
                return Err(EngineError::invalid(format!(
                    "Validation failed: at most {} different reactions to one post",
                    self.config.max_reactions_per_account
                )));
            }
        };
        if added && !author.is_local() {
            let to = [author.uri.clone()];
            let doc = self.emoji_react_document(&actor, &uri, &status, &reaction, &to, now);
            self.record_document(&mut tx, &actor, doc, &to, &[], now)
                .await?;
        }
        self.commit(tx, changes).await?;
        Ok(Outcome::status(status.id, added))
    }

    /// `DELETE /api/v1/pleroma/statuses/:id/reactions/:emoji`: takes a reaction back.
    pub async fn unreact(&self, actor: Id, status_id: Id, emoji: &str) -> Result<Outcome> {
        let reaction = self.reaction_from_input(emoji).await?;
        let actor = self.account_row(actor).await?;
        let status = self.visible_status(Some(actor.id), status_id).await?;
        let status = self.original_of(status).await?;
        let author = self.account_row(status.account_id).await?;
        let now = sluice_model::id::now_millis();
        let name = reaction.name();
        let mut tx = self.store.begin().await?;
        let removed = tx.delete_reaction(status.id, actor.id, &name).await?;
        if removed.is_some() {
            tx.delete_reaction_notification(actor.id, author.id, status.id, &name)
                .await?;
        }
        if let Some(uri) = &removed
            && !author.is_local()
        {
            let to = [author.uri.clone()];
            let inner = self.emoji_react_document(&actor, uri, &status, &reaction, &to, now);
            let undo_id = format!("{uri}/undo");
            let mut object = inner;
            if let Some(o) = object.as_object_mut() {
                o.remove("@context");
            }
            let doc = crate::as2::activity::activity(
                &undo_id,
                Verb::Undo,
                &actor.uri,
                object,
                &to,
                &[],
                sluice_model::Timestamp(now),
            );
            self.record_document(&mut tx, &actor, doc, &to, &[], now)
                .await?;
        }
        self.commit(tx, Changes::at(now)).await?;
        Ok(Outcome::status(status.id, removed.is_some()))
    }

    /// The `EmojiReact` document of a reaction (Pleroma's and Misskey's shape:
    /// `content` the emoji, a custom emoji as `:code:` with its `Emoji` in `tag`).
    fn emoji_react_document(
        &self,
        actor: &AccountRow,
        uri: &str,
        status: &StatusRow,
        reaction: &Reaction,
        to: &[String],
        now: i64,
    ) -> Value {
        let mut doc = crate::as2::activity::activity(
            uri,
            Verb::EmojiReact,
            &actor.uri,
            json!(status.uri),
            to,
            &[],
            sluice_model::Timestamp(now),
        );
        match reaction {
            Reaction::Unicode(e) => doc["content"] = json!(e),
            Reaction::Custom(e) => {
                doc["content"] = json!(format!(":{}:", e.shortcode));
                let tag = if e.domain.is_empty() {
                    self.emoji_tag(e)
                } else {
                    json!({
                        "id": e.uri, "type": "Emoji",
                        "name": format!(":{}:", e.shortcode),
                        "icon": {"type": "Image", "mediaType": e.content_type, "url": e.url},
                    })
                };
                doc["tag"] = json!([tag]);
            }
        }
        doc
    }

    /// Stores a reaction with the author's notification (in the caller's transaction).
    #[allow(clippy::too_many_arguments)]
    async fn add_reaction(
        &self,
        tx: &mut WriteTx,
        changes: &mut Changes,
        actor: &AccountRow,
        status: &StatusRow,
        author: &AccountRow,
        reaction: &Reaction,
        uri: &str,
    ) -> Result<Added> {
        let name = reaction.name();
        let row = ReactionRow {
            id: self.new_id(),
            status_id: status.id,
            account_id: actor.id,
            emoji: name.clone(),
            uri: uri.to_string(),
            created_at: changes.now,
        };
        if !tx.insert_reaction(&row).await? {
            return Ok(Added::Already);
        }
        // Counted with the new one, in the transaction that adds it, so the limit
        // holds whatever runs beside it.
        let count = tx.count_reactions_by(status.id, actor.id).await?;
        if usize::try_from(count).unwrap_or(usize::MAX) > self.config.max_reactions_per_account {
            tx.delete_reaction(status.id, actor.id, &name).await?;
            return Ok(Added::TooMany);
        }
        if author.id != actor.id && author.is_local() {
            changes.events(
                self.notify_emoji(tx, author.id, actor.id, status.id, &name, changes.now)
                    .await?,
            );
        }
        Ok(Added::Yes)
    }

    /// A remote reaction (`EmojiReact`, Misskey's `Like` with a reaction, a `Like` with
    /// `content`) to a post we have. What cannot be applied is recorded with its reason.
    pub async fn remote_react(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        status_uri: &str,
        text: &str,
        tags: &[RemoteEmoji],
    ) -> Result<Outcome> {
        let Some(status) = self.store.status_by_uri(status_uri).await? else {
            return self.remote_ignored(actor, a, Ignored::UnknownObject).await;
        };
        let status = self.original_of(status).await?;
        let Some(reaction) = self.reaction_from_remote(actor, text, tags).await? else {
            return self
                .remote_ignored(actor, a, Ignored::ReactionRefused)
                .await;
        };
        if !self.can_see(Some(actor.id), &status).await? {
            return self
                .remote_ignored(actor, a, Ignored::ReactionRefused)
                .await;
        }
        let author = self.account_row(status.account_id).await?;
        let now = sluice_model::id::now_millis();
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut changes = Changes::at(now);
        let added = self
            .add_reaction(
                &mut tx,
                &mut changes,
                actor,
                &status,
                &author,
                &reaction,
                &a.uri,
            )
            .await?;
        self.commit(tx, changes).await?;
        if matches!(added, Added::TooMany) {
            self.not_applied(actor, a, Ignored::ReactionRefused);
        }
        Ok(Outcome::status(status.id, matches!(added, Added::Yes)))
    }

    /// `Undo` of a remote reaction: by the reaction's id, else by its post and emoji.
    pub async fn remote_undo_react(
        &self,
        actor: &AccountRow,
        a: &RemoteActivity,
        reaction_uri: &str,
        status_uri: &str,
        text: &str,
    ) -> Result<Outcome> {
        let now = sluice_model::id::now_millis();
        let status = self.store.status_by_uri(status_uri).await?;
        // By the emoji, when the reaction's id is not one we stored.
        let by_emoji = match (&status, self.reaction_from_remote(actor, text, &[]).await) {
            (Some(s), Ok(Some(r))) => Some((s.id, r.name())),
            (Some(s), _) => {
                // A custom emoji's Undo carries no tag we need: its name is enough.
                let inner = text.trim().trim_matches(':');
                let code = inner.split_once('@').map_or(inner, |(c, _)| c);
                is_shortcode(code).then(|| (s.id, format!("{code}@{}", actor.domain)))
            }
            _ => None,
        };
        let Some(mut tx) = self.begin_remote(actor, a, now).await? else {
            return Ok(Outcome::default());
        };
        let mut removed = tx.delete_reaction_by_uri(actor.id, reaction_uri).await?;
        if removed.is_none()
            && let Some((sid, name)) = &by_emoji
            && let Some(uri) = tx.delete_reaction(*sid, actor.id, name).await?
        {
            removed = Some(ReactionRow {
                id: 0,
                status_id: *sid,
                account_id: actor.id,
                emoji: name.clone(),
                uri,
                created_at: now,
            });
        }
        let Some(r) = removed else {
            self.remember_undone(&mut tx, actor, reaction_uri, now)
                .await?;
            self.commit(tx, Changes::at(now)).await?;
            return Ok(Outcome::default());
        };
        if let Some(author) = self.store.status(r.status_id).await?.map(|s| s.account_id) {
            tx.delete_reaction_notification(actor.id, author, r.status_id, &r.emoji)
                .await?;
        }
        self.commit(tx, Changes::at(now)).await?;
        Ok(Outcome::status(r.status_id, true))
    }

    /// Whether `uri` is a reaction of `actor`'s that we stored (an `Undo` naming only
    /// an id).
    pub async fn reaction_by_uri(&self, actor: Id, uri: &str) -> Result<Option<ReactionRow>> {
        Ok(self.store.reaction_by_uri(actor, uri).await?)
    }

    /// `GET /api/v1/pleroma/statuses/:id/reactions[/:emoji]`: the reactions to a post
    /// the viewer can see, per emoji (Akkoma's entity: `name`, `count`, `me`, `url`
    /// and `static_url` for a custom emoji, `accounts`, `account_ids`). Accounts the
    /// viewer blocks or is blocked by are left out.
    pub async fn reaction_list(
        &self,
        viewer: Option<Id>,
        status_id: Id,
        emoji: Option<&str>,
    ) -> Result<Vec<Value>> {
        let status = self.visible_status(viewer, status_id).await?;
        let status = self.original_of(status).await?;
        let name = match emoji {
            Some(e) => Some(self.reaction_from_input(e).await?.name()),
            None => None,
        };
        let rows = self
            .store
            .reactions_to(status.id, name.as_deref(), MAX_LISTED_REACTIONS)
            .await?;
        // Accounts blocked either way, in one query.
        let mut hidden = std::collections::HashSet::new();
        if let Some(me) = viewer {
            let mut ids: Vec<Id> = rows.iter().map(|r| r.account_id).collect();
            ids.sort_unstable();
            ids.dedup();
            for rel in self.store.relationships(me, &ids).await? {
                if rel.blocking || rel.blocked_by {
                    hidden.insert(rel.target);
                }
            }
        }
        let mut order: Vec<String> = Vec::new();
        let mut by_name: std::collections::HashMap<String, Vec<Id>> = Default::default();
        for r in rows.iter().filter(|r| !hidden.contains(&r.account_id)) {
            if !by_name.contains_key(&r.emoji) {
                order.push(r.emoji.clone());
            }
            by_name
                .entry(r.emoji.clone())
                .or_default()
                .push(r.account_id);
        }
        let summaries: Vec<sluice_store::ReactionSummary> = order
            .into_iter()
            .map(|emoji| {
                let accounts = by_name.remove(&emoji).unwrap_or_default();
                sluice_store::ReactionSummary {
                    me: viewer.is_some_and(|v| accounts.contains(&v)),
                    emoji,
                    accounts,
                }
            })
            .collect();
        let emoji_rows = self.reaction_emojis(&summaries).await?;
        let mut ids: Vec<Id> = summaries.iter().flat_map(|s| s.accounts.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let accounts: std::collections::HashMap<String, sluice_model::api::Account> = self
            .account_entities(&ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        Ok(summaries
            .iter()
            .map(|s| {
                let mut e = self.reaction_entity(s, &emoji_rows);
                let listed: Vec<&sluice_model::api::Account> = s
                    .accounts
                    .iter()
                    .filter_map(|id| accounts.get(&id.to_string()))
                    .collect();
                e["accounts"] = json!(listed);
                e
            })
            .collect())
    }

    /// The custom emojis `summaries` name, in one query.
    pub async fn reaction_emojis(
        &self,
        summaries: &[sluice_store::ReactionSummary],
    ) -> Result<EmojiMap> {
        let codes: Vec<(&str, String)> = summaries
            .iter()
            .filter_map(|s| custom_parts(&s.emoji))
            .map(|(d, c)| (d, format!(":{c}:")))
            .collect();
        self.emojis_for(codes.iter().map(|(d, c)| (*d, c.as_str())))
            .await
    }

    /// One emoji's reactions as Akkoma shows them in a Status's
    /// `pleroma.emoji_reactions`.
    pub fn reaction_entity(&self, s: &sluice_store::ReactionSummary, emojis: &EmojiMap) -> Value {
        let mut v = json!({
            "name": s.emoji,
            "count": s.accounts.len(),
            "me": s.me,
            "account_ids": s.accounts.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
        });
        if let Some((domain, code)) = custom_parts(&s.emoji) {
            let found = emojis.get(domain, code);
            v["url"] = found.map_or(Value::Null, |e| json!(self.emoji_url(e)));
            v["static_url"] = found.map_or(Value::Null, |e| json!(self.emoji_static_url(e)));
        } else {
            v["url"] = Value::Null;
        }
        v
    }

    /// The image of a reaction's emoji (None for a Unicode emoji or one gone).
    pub async fn reaction_url(&self, name: &str) -> Result<Option<String>> {
        let Some((domain, code)) = custom_parts(name) else {
            return Ok(None);
        };
        Ok(self
            .store
            .emojis_by_code(&[code], &[domain])
            .await?
            .first()
            .map(|e| self.emoji_url(e)))
    }
}

/// What adding a reaction did.
enum Added {
    Yes,
    /// The account reacted so already.
    Already,
    /// The account has as many different reactions on the post as allowed.
    TooMany,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_names() {
        assert_eq!(unicode_emoji("👍"), Some("👍"));
        assert_eq!(unicode_emoji("\u{2764}"), Some("❤️"), "unqualified");
        assert_eq!(unicode_emoji("👍🏽"), Some("👍🏽"), "skin tone kept");
        assert_eq!(unicode_emoji("👍👍"), None);
        assert_eq!(unicode_emoji("blob"), None);
        assert_eq!(custom_parts("👍"), None);
        assert_eq!(custom_parts("blob"), Some(("", "blob")));
        assert_eq!(
            custom_parts("blob@example.com:8443"),
            Some(("example.com:8443", "blob"))
        );
        for (name, emoji) in MISSKEY_LEGACY {
            assert!(unicode_emoji(emoji).is_some(), "{name}");
        }
    }
}
