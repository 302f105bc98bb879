//! Scheduled statuses: a post asked for with `scheduled_at` is checked now, stored with
//! its parameters, and published by [`Engine::spawn_scheduler`] when its time comes.
//!
//! Publishing is crash-safe without a transaction spanning the post: the uploads are
//! let go first, the post is made with the idempotency key `scheduled:<id>`, and the
//! row is removed last. A crash anywhere in between leaves the row, and the next run
//! gets the post already made back from the idempotency key instead of posting twice.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sluice_model::{Id, Timestamp, Visibility};
use sluice_store::{Page, ScheduledStatusRow};

use crate::pipeline::{Activity, NewNote};
use crate::{Engine, EngineError, Result};

/// How far ahead a post must be scheduled (Mastodon: 5 minutes).
pub const MIN_LEAD_MS: i64 = 5 * 60 * 1000;
/// Scheduled statuses one account may hold at once (Mastodon's limit).
pub const MAX_PER_ACCOUNT: i64 = 300;
/// Scheduled statuses one account may have due on one (UTC) day (Mastodon's limit).
pub const MAX_PER_DAY: i64 = 25;
/// Posts published per run of the scheduler; the next run continues.
pub const PUBLISH_BATCH: i64 = 50;
/// Longest sleep of the scheduler between looks at the soonest due post.
pub const SCHEDULER_INTERVAL: Duration = Duration::from_secs(60);
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A scheduled post's parameters as stored (JSON in `scheduled_statuses.params`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScheduledParams {
    pub text: String,
    #[serde(default)]
    pub in_reply_to_id: Option<Id>,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub spoiler_text: String,
    /// None: the account's default visibility when it is published.
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub media_ids: Vec<Id>,
    #[serde(default)]
    pub application_id: Option<Id>,
    /// Its poll; `expires_in` counts from when it is published.
    #[serde(default)]
    pub poll: Option<crate::polls::NewPoll>,
    /// The format of `text` (`text/markdown`); None: plain text, as rows stored
    /// before formats were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The status it quotes (checked again when it is published).
    #[serde(default)]
    pub quoted_status_id: Option<Id>,
    /// Who may quote it (`public`, `followers`, `nobody`); None: the account's default
    /// when it is published.
    #[serde(default)]
    pub quote_approval_policy: Option<String>,
}

impl ScheduledParams {
    fn from_note(n: &NewNote) -> ScheduledParams {
        ScheduledParams {
            text: n.text.clone(),
            in_reply_to_id: n.in_reply_to,
            sensitive: n.sensitive,
            spoiler_text: n.spoiler_text.clone(),
            visibility: n.visibility.map(|v| v.as_str().to_string()),
            language: n.language.clone(),
            media_ids: n.media_ids.clone(),
            application_id: n.application_id,
            poll: n.poll.clone(),
            content_type: n.content_type.clone(),
            quoted_status_id: n.quoted_status_id,
            quote_approval_policy: n.quote_policy.map(|p| p.as_str().to_string()),
        }
    }

    fn into_note(self, idempotency_key: String) -> NewNote {
        NewNote {
            text: self.text,
            in_reply_to: self.in_reply_to_id,
            sensitive: self.sensitive,
            spoiler_text: self.spoiler_text,
            visibility: self.visibility.as_deref().and_then(Visibility::parse),
            language: self.language,
            application_id: self.application_id,
            idempotency_key: Some(idempotency_key),
            client: None,
            media_ids: self.media_ids,
            poll: self.poll,
            content_type: self.content_type,
            quoted_status_id: self.quoted_status_id,
            quote_policy: self
                .quote_approval_policy
                .as_deref()
                .and_then(crate::quotes::QuotePolicy::parse),
        }
    }
}

/// Start of the UTC day holding `ms`.
fn day_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

impl Engine {
    /// Schedules `note` for `at` (ms): checked as a post now (text, language, the post
    /// replied to, uploads), then stored. Answers the ScheduledStatus entity.
    pub async fn schedule_status(&self, actor: Id, note: &NewNote, at: i64) -> Result<Value> {
        let now = sluice_model::id::now_millis();
        if at < now + MIN_LEAD_MS {
            return Err(EngineError::invalid(
                "Validation failed: Scheduled at must be at least 5 minutes in the future",
            ));
        }
        let (all, that_day) = self.store.count_scheduled(actor, day_start(at)).await?;
        if all >= MAX_PER_ACCOUNT {
            return Err(EngineError::invalid(format!(
                "Validation failed: You have exceeded the limit of {MAX_PER_ACCOUNT} scheduled statuses"
            )));
        }
        if that_day >= MAX_PER_DAY {
            return Err(EngineError::invalid(format!(
                "Validation failed: You have exceeded the limit of {MAX_PER_DAY} scheduled statuses on that day"
            )));
        }
        self.check_text(&note.text, &note.spoiler_text, !note.media_ids.is_empty())?;
        crate::pipeline::check_language(note.language.as_deref())?;
        if let Some(parent) = note.in_reply_to {
            self.visible_status(Some(actor), parent).await?;
        }
        if let Some(q) = note.quoted_status_id {
            // The quote is checked now as it would be for a post made now (and again
            // when it is published).
            let author = self.account_row(actor).await?;
            let visibility = match note.visibility {
                Some(v) => v,
                None => Visibility::parse(
                    &self
                        .store
                        .user(actor)
                        .await?
                        .map(|u| u.default_visibility)
                        .unwrap_or_default(),
                )
                .unwrap_or(Visibility::Public),
            };
            self.draft_quote(&author, q, visibility).await?;
        }
        if let Some(p) = &note.poll {
            if !note.media_ids.is_empty() {
                return Err(EngineError::invalid(
                    "Validation failed: Media attachments cannot be added to a post with a poll",
                ));
            }
            self.config.polls.check(p)?;
        }
        if note.media_ids.len() > crate::media::MAX_ATTACHMENTS {
            return Err(EngineError::invalid(format!(
                "Validation failed: at most {} attachments",
                crate::media::MAX_ATTACHMENTS
            )));
        }
        let params = ScheduledParams::from_note(note);
        let row = ScheduledStatusRow {
            id: self.ids.next_at(now),
            account_id: actor,
            scheduled_at: at,
            params: serde_json::to_string(&params)
                .map_err(|e| EngineError::Internal(e.to_string()))?,
            created_at: now,
        };
        if !self
            .store
            .insert_scheduled_status(&row, &note.media_ids)
            .await?
        {
            return Err(crate::pipeline::media_not_found(&note.media_ids));
        }
        self.scheduler_wake.notify_one();
        self.scheduled_entity(&row).await
    }

    /// The account's scheduled statuses, newest first.
    pub async fn scheduled_statuses(&self, me: Id, page: Page) -> Result<Vec<(Id, Value)>> {
        let rows = self.store.scheduled_statuses(me, page).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push((r.id, self.scheduled_entity(&r).await?));
        }
        Ok(out)
    }

    /// One of the account's scheduled statuses (404 for anyone else's).
    pub async fn scheduled_status(&self, me: Id, id: Id) -> Result<Value> {
        let row = self
            .store
            .scheduled_status(me, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        self.scheduled_entity(&row).await
    }

    /// Moves one of the account's scheduled statuses to `at`, with the same checks as
    /// scheduling it.
    pub async fn reschedule_status(&self, me: Id, id: Id, at: i64) -> Result<Value> {
        let row = self
            .store
            .scheduled_status(me, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        if at < now + MIN_LEAD_MS {
            return Err(EngineError::invalid(
                "Validation failed: Scheduled at must be at least 5 minutes in the future",
            ));
        }
        if day_start(at) != day_start(row.scheduled_at) {
            let (_, that_day) = self.store.count_scheduled(me, day_start(at)).await?;
            if that_day >= MAX_PER_DAY {
                return Err(EngineError::invalid(format!(
                    "Validation failed: You have exceeded the limit of {MAX_PER_DAY} scheduled statuses on that day"
                )));
            }
        }
        if !self.store.reschedule_status(me, id, at).await? {
            return Err(EngineError::NotFound);
        }
        self.scheduler_wake.notify_one();
        self.scheduled_status(me, id).await
    }

    /// Cancels one of the account's scheduled statuses; its uploads are free again.
    pub async fn cancel_scheduled_status(&self, me: Id, id: Id) -> Result<()> {
        let now = sluice_model::id::now_millis();
        if !self.store.delete_scheduled_status(me, id, now).await? {
            return Err(EngineError::NotFound);
        }
        Ok(())
    }

    /// Mastodon's ScheduledStatus entity for a row.
    async fn scheduled_entity(&self, row: &ScheduledStatusRow) -> Result<Value> {
        let p: ScheduledParams = serde_json::from_str(&row.params).unwrap_or_default();
        let mut media = Vec::with_capacity(p.media_ids.len());
        for id in &p.media_ids {
            if let Some(m) = self.store.media(*id).await? {
                media.push(self.media_attachment(&m).entity());
            }
        }
        let ids: Vec<String> = p.media_ids.iter().map(Id::to_string).collect();
        Ok(json!({
            "id": row.id.to_string(),
            "scheduled_at": Timestamp(row.scheduled_at).to_rfc3339(),
            "params": {
                "text": p.text,
                "poll": p.poll.as_ref().map(|p| json!({
                    "options": p.options,
                    "expires_in": p.expires_in.to_string(),
                    "multiple": p.multiple,
                    "hide_totals": p.hide_totals,
                })),
                "media_ids": if ids.is_empty() { Value::Null } else { json!(ids) },
                "sensitive": p.sensitive,
                "spoiler_text": if p.spoiler_text.is_empty() { Value::Null } else { json!(p.spoiler_text) },
                "visibility": p.visibility,
                "in_reply_to_id": p.in_reply_to_id.map(|i| i.to_string()),
                "language": p.language,
                "application_id": p.application_id.map(|i| i.to_string()),
                "quoted_status_id": p.quoted_status_id.map(|i| i.to_string()),
                "quote_approval_policy": p.quote_approval_policy,
                "scheduled_at": null,
                "idempotency": null,
                "with_rate_limit": false
            },
            "media_attachments": media,
        }))
    }

    /// Publishes the scheduled statuses due now, at most [`PUBLISH_BATCH`]; returns how
    /// many were handled (published, or dropped because they can no longer be made).
    pub async fn publish_due_statuses(&self) -> Result<usize> {
        let now = sluice_model::id::now_millis();
        let due = self
            .store
            .due_scheduled_statuses(now, PUBLISH_BATCH)
            .await?;
        let mut handled = 0;
        for row in due {
            let params: ScheduledParams = match serde_json::from_str(&row.params) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(id = %row.id, error = %e, "scheduled status unreadable: dropped");
                    self.store
                        .delete_scheduled_status(row.account_id, row.id, now)
                        .await?;
                    handled += 1;
                    continue;
                }
            };
            // Its uploads become attachable first (the post takes them).
            self.store.release_media_of_schedule(row.id, now).await?;
            let note = params.into_note(format!("scheduled:{}", row.id));
            match self
                .submit(row.account_id, Activity::CreateNote(note))
                .await
            {
                Ok(_) => {}
                Err(EngineError::Store(e)) => return Err(EngineError::Store(e)),
                Err(EngineError::Internal(e)) => return Err(EngineError::Internal(e)),
                // The post can no longer be made as asked (the post replied to is gone,
                // the account is suspended, …): as Mastodon, it is dropped, said in
                // the log.
                Err(e) => {
                    tracing::warn!(id = %row.id, account = %row.account_id, error = %e,
                        "scheduled status could not be published: dropped");
                }
            }
            self.store
                .delete_scheduled_status(row.account_id, row.id, now)
                .await?;
            handled += 1;
        }
        Ok(handled)
    }

    /// Publishes scheduled statuses when they are due: sleeps until the soonest (at
    /// most [`SCHEDULER_INTERVAL`], woken early by a new or moved one), publishes, and
    /// runs until `shutdown` changes. Due rows are in the database, so a restart
    /// publishes what came due while the server was down.
    pub fn spawn_scheduler(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        crate::tasks::spawn_guarded("scheduled statuses", shutdown.clone(), move || {
            let (engine, mut shutdown) = (engine.clone(), shutdown.clone());
            async move {
                loop {
                    let now = sluice_model::id::now_millis();
                    let wait = match engine.store.next_scheduled_at().await {
                        Ok(Some(at)) if at <= now => match engine.publish_due_statuses().await {
                            Ok(_) => continue,
                            Err(e) => {
                                tracing::warn!(error = %e, "publishing scheduled statuses failed");
                                SCHEDULER_INTERVAL
                            }
                        },
                        Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0)),
                        Ok(None) => SCHEDULER_INTERVAL,
                        Err(e) => {
                            tracing::warn!(error = %e, "reading the next scheduled status failed");
                            SCHEDULER_INTERVAL
                        }
                    }
                    .min(SCHEDULER_INTERVAL);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = engine.scheduler_wake.notified() => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_start_is_utc_midnight() {
        let noon = 1_700_000_000_000 - 1_700_000_000_000 % DAY_MS + DAY_MS / 2;
        assert_eq!(day_start(noon), noon - DAY_MS / 2);
        assert_eq!(day_start(noon - DAY_MS / 2), noon - DAY_MS / 2);
    }

    #[test]
    fn params_round_trip_to_a_note_with_the_schedule_key() {
        let p = ScheduledParams {
            text: "later".into(),
            visibility: Some("unlisted".into()),
            media_ids: vec![7],
            content_type: Some("text/markdown".into()),
            ..Default::default()
        };
        let stored = serde_json::to_string(&p).unwrap();
        let back: ScheduledParams = serde_json::from_str(&stored).unwrap();
        let n = back.into_note("scheduled:9".into());
        assert_eq!(n.text, "later");
        assert_eq!(n.visibility, Some(Visibility::Unlisted));
        assert_eq!(n.media_ids, vec![7]);
        assert_eq!(n.idempotency_key.as_deref(), Some("scheduled:9"));
        assert_eq!(n.content_type.as_deref(), Some("text/markdown"));
        // A row stored before formats were kept is plain text.
        let old: ScheduledParams = serde_json::from_str(r#"{"text": "x"}"#).unwrap();
        assert_eq!(old.into_note("k".into()).content_type, None);
    }
}
