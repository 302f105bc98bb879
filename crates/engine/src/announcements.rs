//! Announcements: what the admin tells every local user (`sluice admin announce`),
//! shown by apps above the home timeline, each dismissible and open to emoji
//! reactions (`/api/v1/announcements`).

use std::collections::HashMap;

use serde_json::{Value, json};
use sluice_model::{Id, Timestamp, content};
use sluice_store::AnnouncementRow;

use crate::{Engine, EngineError, Result};

/// Longest announcement text, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Distinct reactions one account may give one announcement (Mastodon: 1 per emoji,
/// and a cap on distinct ones).
pub const MAX_REACTIONS_PER_ACCOUNT: i64 = 8;

/// A new announcement as the admin gives it.
#[derive(Debug, Clone, Default)]
pub struct NewAnnouncement {
    pub text: String,
    /// Shown from / until (ms); both optional.
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub all_day: bool,
}

/// Whether `name` is a reaction we accept: one Unicode emoji (skin tones and other
/// variations included).
pub fn is_reaction(name: &str) -> bool {
    emojis::get(name).is_some()
}

impl Engine {
    /// Publishes an announcement to every local user.
    pub async fn publish_announcement(&self, a: NewAnnouncement) -> Result<AnnouncementRow> {
        let text = a.text.trim();
        if text.is_empty() {
            return Err(EngineError::invalid("An announcement needs a text"));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(EngineError::invalid(format!(
                "An announcement has at most {MAX_TEXT_CHARS} characters"
            )));
        }
        if let (Some(s), Some(e)) = (a.starts_at, a.ends_at)
            && e <= s
        {
            return Err(EngineError::invalid(
                "An announcement must end after it starts",
            ));
        }
        let now = sluice_model::id::now_millis();
        let html = content::plain_to_html(text, &|t| self.urls.tag(t), &|_| None);
        let row = AnnouncementRow {
            id: self.ids.next_at(now),
            text: text.to_string(),
            content: content::sanitize_html(&html),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            all_day: a.all_day,
            published_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_announcement(&row).await?;
        let entity = announcement_entity(&row, false, vec![]);
        self.commit_announcement_event(tx, "announcement", row.id, entity, now)
            .await?;
        Ok(row)
    }

    /// Commits an announcement's change with its streaming event (`announcement`,
    /// `announcement.reaction`, `announcement.delete`: every signed-in user's `user`
    /// stream gets it, as on Mastodon), `payload` as the event's.
    async fn commit_announcement_event(
        &self,
        tx: sluice_store::WriteTx,
        kind: &str,
        id: Id,
        payload: Value,
        now: i64,
    ) -> Result<()> {
        let mut changes = crate::effects::Changes::at(now);
        changes.events([sluice_store::NewEvent {
            kind: kind.into(),
            object_id: Some(id),
            data: json!({ "payload": payload }).to_string(),
            ..Default::default()
        }]);
        self.commit(tx, changes).await
    }

    /// Every announcement, newest first (for the admin's list).
    pub async fn all_announcements(&self) -> Result<Vec<AnnouncementRow>> {
        Ok(self.store.all_announcements().await?)
    }

    /// Removes an announcement; false when there was none.
    pub async fn remove_announcement(&self, id: Id) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_announcement(id).await? {
            return Ok(false);
        }
        let now = sluice_model::id::now_millis();
        self.commit_announcement_event(tx, "announcement.delete", id, json!(id.to_string()), now)
            .await?;
        Ok(true)
    }

    /// The announcements running now as the viewer sees them (Mastodon's Announcement
    /// entities): not dismissed ones unless `with_dismissed`.
    pub async fn announcements_for(&self, viewer: Id, with_dismissed: bool) -> Result<Vec<Value>> {
        let now = sluice_model::id::now_millis();
        let rows = self
            .store
            .current_announcements(viewer, now, with_dismissed)
            .await?;
        let ids: Vec<Id> = rows.iter().map(|(r, _)| r.id).collect();
        let mut reactions: HashMap<Id, Vec<Value>> = HashMap::new();
        for r in self.store.announcement_reactions(&ids, viewer).await? {
            reactions.entry(r.announcement_id).or_default().push(json!({
                "name": r.name,
                "count": r.count,
                "me": r.me,
                "url": null,
                "static_url": null,
            }));
        }
        Ok(rows
            .into_iter()
            .map(|(r, read)| {
                let reactions = reactions.remove(&r.id).unwrap_or_default();
                announcement_entity(&r, read, reactions)
            })
            .collect())
    }

    /// Marks an announcement read for `me`.
    pub async fn dismiss_announcement(&self, me: Id, id: Id) -> Result<()> {
        self.running_announcement(id).await?;
        Ok(self.store.dismiss_announcement(id, me).await?)
    }

    /// Adds (`on`) or removes `me`'s reaction `name` to an announcement.
    pub async fn react_to_announcement(&self, me: Id, id: Id, name: &str, on: bool) -> Result<()> {
        self.running_announcement(id).await?;
        if on {
            if !is_reaction(name) {
                return Err(EngineError::invalid(
                    "Validation failed: Name is not a recognized emoji",
                ));
            }
            if self.store.count_announcement_reactions(id, me).await? >= MAX_REACTIONS_PER_ACCOUNT {
                return Err(EngineError::invalid(format!(
                    "Validation failed: at most {MAX_REACTIONS_PER_ACCOUNT} reactions per announcement"
                )));
            }
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let count = tx.set_announcement_reaction(id, me, name, on, now).await?;
        let payload = json!({"name": name, "count": count, "announcement_id": id.to_string()});
        self.commit_announcement_event(tx, "announcement.reaction", id, payload, now)
            .await
    }

    async fn running_announcement(&self, id: Id) -> Result<()> {
        let now = sluice_model::id::now_millis();
        if self.store.announcement_running(id, now).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound)
        }
    }
}

/// Mastodon's Announcement entity; `read` and the reactions' `me` are the viewer's.
fn announcement_entity(r: &AnnouncementRow, read: bool, reactions: Vec<Value>) -> Value {
    let at = |ms: Option<i64>| ms.map(|t| Timestamp(t).to_rfc3339());
    json!({
        "id": r.id.to_string(),
        "content": r.content,
        "starts_at": at(r.starts_at),
        "ends_at": at(r.ends_at),
        "all_day": r.all_day,
        "published": true,
        "published_at": Timestamp(r.published_at).to_rfc3339(),
        "updated_at": Timestamp(r.updated_at).to_rfc3339(),
        "read": read,
        "mentions": [],
        "statuses": [],
        "tags": [],
        "emojis": [],
        "reactions": reactions,
    })
}

#[cfg(test)]
mod tests {
    use super::is_reaction;

    #[test]
    fn reactions_are_single_emoji() {
        assert!(is_reaction("👍"));
        assert!(is_reaction("👍🏽"));
        assert!(is_reaction("❤️"));
        assert!(!is_reaction("thumbsup"));
        assert!(!is_reaction("👍👍"));
        assert!(!is_reaction(""));
        assert!(!is_reaction("<b>"));
    }
}
