//! Notifications and read markers.

use serde_json::{Map, Value, json};
use sluice_model::{Id, Timestamp, api};
use sluice_store::{NotificationFilter, Page};

use crate::{Engine, Result};

/// A page of notifications, with the ids the `Link` header pages by (before the
/// user's filters took any out).
#[derive(Debug, Default)]
pub struct NotificationPage {
    pub notifications: Vec<api::Notification>,
    pub cursors: Vec<Id>,
}

impl Engine {
    /// A page of the notifications of `me`, filtered with their filters.
    pub async fn notifications_page(
        &self,
        me: Id,
        filter: &NotificationFilter,
        page: Page,
    ) -> Result<NotificationPage> {
        let rows = self.store.notifications(me, filter, page).await?;
        let cursors = rows.iter().map(|n| n.id).collect();
        let mut notifications = self.notification_entities(me, rows).await?;
        self.apply_notification_filters(me, &mut notifications)
            .await?;
        Ok(NotificationPage {
            notifications,
            cursors,
        })
    }

    /// One notification of `me`; None when it is not theirs, or its account or status
    /// is gone.
    pub async fn notification(&self, me: Id, id: Id) -> Result<Option<api::Notification>> {
        let Some(n) = self.store.notification(me, id).await? else {
            return Ok(None);
        };
        Ok(self.notification_entities(me, vec![n]).await?.pop())
    }

    /// The read markers of `me` for `timelines` (all when empty), as Mastodon's
    /// `{timeline: Marker}` map.
    pub async fn markers(&self, me: Id, timelines: &[&str]) -> Result<Value> {
        let mut out = Map::new();
        for m in self.store.markers(me, timelines).await? {
            out.insert(
                m.timeline.clone(),
                json!({
                    "last_read_id": m.last_read_id.to_string(),
                    "version": m.version,
                    "updated_at": Timestamp(m.updated_at).to_rfc3339()
                }),
            );
        }
        Ok(Value::Object(out))
    }
}
