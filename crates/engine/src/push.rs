//! Web Push (Mastodon's `/api/v1/push/subscription`): the instance's VAPID key, one
//! subscription per access token, and push messages queued for each notification on
//! the durable delivery queue.
//!
//! - The VAPID key pair is made once (by the federation crate's cryptography, handed in
//!   as a function) and recorded in `instance_settings`, so every process of a
//!   deployment signs with the same key and shows the same public key.
//! - [`Engine::queue_pushes`] is called by [`Engine::notify`], the one function every
//!   notification goes through, in the notification's transaction: one `deliveries` row
//!   per subscription of the recipient whose alerts include the notification's type and
//!   whose policy admits its sender. Nothing is encrypted or rendered there.
//! - At delivery, [`Engine::push_message`] builds the payload Mastodon apps read; the
//!   federation crate encrypts it (RFC 8291), signs (RFC 8292) and POSTs it.

use std::sync::OnceLock;

use serde_json::{Value, json};
use sluice_model::Id;
use sluice_store::{DeliveryRow, PushSubscriptionRow, WriteTx};

use crate::{Engine, EngineError, Result};

/// The `instance_settings` key of the VAPID key pair.
pub const VAPID_SETTING: &str = "vapid_key";

/// Mastodon's alert names, in its order (the keys of `alerts`).
pub const ALERTS: &[&str] = &[
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
];

/// Whose notifications are pushed.
pub const POLICIES: &[&str] = &["all", "followed", "follower", "none"];

/// How long a push message is kept trying (and the `TTL` asked of the push service):
/// Mastodon's 48 hours.
pub const PUSH_TTL_SECS: i64 = 48 * 60 * 60;

/// Longest push endpoint URL accepted.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// Characters of a notification's body in the push payload (Mastodon's 140).
const BODY_CHARS: usize = 140;

/// The instance's VAPID key pair. Not `Debug`: the private half is a secret.
#[derive(Clone)]
pub struct VapidKey {
    /// The public key, an uncompressed P-256 point, base64url without padding (what
    /// browsers take as `applicationServerKey`).
    pub public: String,
    /// The private key, PKCS#8 DER, standard base64.
    pub private_pkcs8: String,
}

impl Drop for VapidKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.private_pkcs8);
    }
}

/// Makes a VAPID key pair (the federation crate's).
pub type MakeVapidKey = fn() -> std::result::Result<VapidKey, String>;

/// A subscription as asked for (already checked by the caller: https endpoint, keys
/// that decode to a P-256 point and 16 bytes).
#[derive(Debug, Clone)]
pub struct NewPushSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// The alerts that are on.
    pub alerts: Vec<String>,
    pub policy: String,
    pub standard: bool,
}

/// What one push message needs: where, the subscriber's keys and the clear payload.
#[derive(Debug, Clone)]
pub struct PushMessage {
    pub subscription_id: Id,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// The JSON payload (before encryption).
    pub payload: String,
}

pub(crate) fn vapid_cell() -> OnceLock<VapidKey> {
    OnceLock::new()
}

fn alerts_json(on: &[String]) -> String {
    let mut map = serde_json::Map::new();
    for name in ALERTS {
        map.insert(
            (*name).to_string(),
            Value::Bool(on.iter().any(|a| a == name)),
        );
    }
    Value::Object(map).to_string()
}

/// The alerts of a stored subscription, every known name present.
fn alerts_of(stored: &str) -> serde_json::Map<String, Value> {
    let parsed: serde_json::Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    ALERTS
        .iter()
        .map(|n| {
            (
                (*n).to_string(),
                Value::Bool(parsed.get(*n).and_then(Value::as_bool).unwrap_or(false)),
            )
        })
        .collect()
}

/// Cuts `text` to `max` characters, with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl Engine {
    /// Loads the instance's VAPID key pair, making and recording it first if there is
    /// none (the first process to record wins; the others read its key).
    pub async fn ensure_vapid_key(&self, make: MakeVapidKey) -> Result<()> {
        if self.vapid.get().is_some() {
            return Ok(());
        }
        let stored = match self.store.instance_setting(VAPID_SETTING).await? {
            Some(s) => s.value,
            None => {
                let key = make().map_err(|e| EngineError::Internal(format!("VAPID key: {e}")))?;
                let value = json!({"public": key.public, "private": key.private_pkcs8});
                let mut text = value.to_string();
                let recorded = self
                    .store
                    .record_instance_setting(VAPID_SETTING, &text, sluice_model::id::now_millis())
                    .await;
                zeroize::Zeroize::zeroize(&mut text);
                recorded?.value
            }
        };
        let v: Value = serde_json::from_str(&stored)
            .map_err(|e| EngineError::Internal(format!("stored VAPID key: {e}")))?;
        let key = VapidKey {
            public: v["public"].as_str().unwrap_or_default().to_string(),
            private_pkcs8: v["private"].as_str().unwrap_or_default().to_string(),
        };
        if key.public.is_empty() || key.private_pkcs8.is_empty() {
            return Err(EngineError::Internal(
                "stored VAPID key is incomplete".into(),
            ));
        }
        let _ = self.vapid.set(key);
        Ok(())
    }

    /// The VAPID key pair, once [`Engine::ensure_vapid_key`] loaded it.
    pub fn vapid_key(&self) -> Option<&VapidKey> {
        self.vapid.get()
    }

    /// The VAPID public key (base64url), or "" before it is loaded.
    pub fn vapid_public_key(&self) -> &str {
        self.vapid.get().map_or("", |k| k.public.as_str())
    }

    /// Mastodon's WebPushSubscription entity.
    pub fn push_subscription_entity(&self, row: &PushSubscriptionRow) -> Value {
        json!({
            "id": row.id.to_string(),
            "endpoint": row.endpoint,
            "standard": row.standard,
            "alerts": alerts_of(&row.alerts),
            "server_key": self.vapid_public_key(),
            "policy": row.policy,
        })
    }

    /// The subscription of access token `token_id`.
    pub async fn push_subscription(&self, token_id: Id) -> Result<Option<PushSubscriptionRow>> {
        Ok(self.store.push_subscription_of_token(token_id).await?)
    }

    /// Makes (or replaces) the subscription of the token `token_id` of `account`;
    /// `access_token` is the token itself (the payload carries it).
    pub async fn create_push_subscription(
        &self,
        account: Id,
        token_id: Id,
        access_token: &str,
        new: NewPushSubscription,
    ) -> Result<PushSubscriptionRow> {
        check_policy(&new.policy)?;
        if new.endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(EngineError::invalid(
                "Validation failed: Endpoint is too long",
            ));
        }
        let now = sluice_model::id::now_millis();
        let row = PushSubscriptionRow {
            id: self.ids.next_at(now),
            account_id: account,
            token_id,
            access_token: access_token.to_string(),
            endpoint: new.endpoint,
            p256dh: new.p256dh,
            auth: new.auth,
            alerts: alerts_json(&new.alerts),
            policy: new.policy,
            standard: new.standard,
            created_at: now,
            updated_at: now,
        };
        self.store.replace_push_subscription(&row).await?;
        Ok(row)
    }

    /// Changes the alerts (those named in `alerts`; the others stay) and the policy of
    /// the token's subscription. NotFound when it has none.
    pub async fn update_push_subscription(
        &self,
        token_id: Id,
        alerts: &[(String, bool)],
        policy: Option<&str>,
    ) -> Result<PushSubscriptionRow> {
        let row = self
            .store
            .push_subscription_of_token(token_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let policy = policy.unwrap_or(&row.policy);
        check_policy(policy)?;
        let mut map = alerts_of(&row.alerts);
        for (name, on) in alerts {
            if ALERTS.contains(&name.as_str()) {
                map.insert(name.clone(), Value::Bool(*on));
            }
        }
        let now = sluice_model::id::now_millis();
        self.store
            .update_push_subscription(token_id, &Value::Object(map).to_string(), policy, now)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Removes the token's subscription (nothing to remove is not an error, as on
    /// Mastodon).
    pub async fn delete_push_subscription(&self, token_id: Id) -> Result<()> {
        self.store
            .delete_push_subscription_of_token(token_id)
            .await?;
        Ok(())
    }

    /// The push service said the subscription is gone (404/410): it is removed.
    pub async fn push_subscription_gone(&self, id: Id) -> Result<()> {
        self.store.delete_push_subscription(id).await?;
        Ok(())
    }

    /// Queues a push message of notification `notification` (of `kind`, from `from`)
    /// for each subscription of `to` that wants it, in the notification's transaction.
    pub(crate) async fn queue_pushes(
        &self,
        tx: &mut WriteTx,
        to: Id,
        from: Id,
        kind: &str,
        notification: Id,
        now: i64,
    ) -> Result<()> {
        let subs = tx.push_targets(to, now).await?;
        if subs.is_empty() {
            return Ok(());
        }
        // The relations a policy asks about, each read once and only when asked.
        let mut follower: Option<bool> = None;
        let mut followed: Option<bool> = None;
        let mut targets = Vec::new();
        for s in subs {
            let alerts: serde_json::Map<String, Value> =
                serde_json::from_str(&s.alerts).unwrap_or_default();
            if alerts.get(kind).and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let admitted = match s.policy.as_str() {
                "all" => true,
                "follower" => match follower {
                    Some(v) => v,
                    None => *follower.insert(tx.follows(from, to).await?),
                },
                "followed" => match followed {
                    Some(v) => v,
                    None => *followed.insert(tx.follows(to, from).await?),
                },
                _ => false,
            };
            if !admitted {
                continue;
            }
            let Some(host) = url::Url::parse(&s.endpoint)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            else {
                continue;
            };
            targets.push((s.id, s.endpoint, host));
        }
        if targets.is_empty() {
            return Ok(());
        }
        let ids = self.ids.next_block(now, targets.len());
        tx.enqueue_pushes(
            &ids,
            notification,
            to,
            &targets,
            now,
            now + PUSH_TTL_SECS * 1000,
        )
        .await?;
        self.deliveries_queued();
        Ok(())
    }

    /// The message of a queued push delivery: None when its subscription (or its
    /// token) or its notification is gone, which ends the delivery.
    pub async fn push_message(&self, row: &DeliveryRow) -> Result<Option<PushMessage>> {
        let Some(sub_id) = row.push_subscription_id else {
            return Ok(None);
        };
        let now = sluice_model::id::now_millis();
        let Some(sub) = self.store.live_push_subscription(sub_id, now).await? else {
            return Ok(None);
        };
        let Some(n) = self
            .store
            .notification(sub.account_id, row.activity_id)
            .await?
        else {
            return Ok(None);
        };
        let Some(from) = self.store.account(n.from_account_id).await? else {
            return Ok(None);
        };
        let locale = self
            .store
            .user(sub.account_id)
            .await?
            .map_or_else(|| "en".to_string(), |u| u.locale);
        let name = if from.display_name.trim().is_empty() {
            from.username.clone()
        } else {
            from.display_name.clone()
        };
        let status = match n.status_id {
            Some(id) => self.store.status(id).await?,
            None => None,
        };
        let body = match &status {
            Some(s) if !s.spoiler_text.trim().is_empty() => s.spoiler_text.clone(),
            Some(s) => sluice_model::content::html_to_plain(&s.content),
            None => sluice_model::content::html_to_plain(&from.note),
        };
        let icon = if from.avatar_url.is_empty() {
            self.urls.default_avatar()
        } else {
            from.avatar_url.clone()
        };
        let payload = json!({
            "access_token": sub.access_token,
            "preferred_locale": locale,
            "notification_id": n.id.to_string(),
            "notification_type": n.kind,
            "icon": icon,
            "title": title(&n.kind, &name),
            "body": truncate(&body, BODY_CHARS),
        });
        Ok(Some(PushMessage {
            subscription_id: sub.id,
            endpoint: sub.endpoint.clone(),
            p256dh: sub.p256dh.clone(),
            auth: sub.auth.clone(),
            payload: payload.to_string(),
        }))
    }
}

fn check_policy(policy: &str) -> Result<()> {
    if POLICIES.contains(&policy) {
        Ok(())
    } else {
        Err(EngineError::invalid(format!(
            "Validation failed: Policy must be one of {}",
            POLICIES.join(", ")
        )))
    }
}

/// The notification's title, in English (the payload says the recipient's locale, for
/// apps that word it themselves).
fn title(kind: &str, name: &str) -> String {
    match kind {
        "mention" => format!("{name} mentioned you"),
        "status" => format!("{name} posted"),
        "reblog" => format!("{name} boosted your post"),
        "follow" => format!("{name} followed you"),
        "follow_request" => format!("{name} asked to follow you"),
        "favourite" => format!("{name} favourited your post"),
        "poll" => "A poll you took part in has ended".to_string(),
        "update" => format!("{name} edited a post"),
        "admin.sign_up" => format!("{name} signed up"),
        "admin.report" => format!("{name} filed a report"),
        other => format!("{name}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_every_known_name() {
        let stored = alerts_json(&["mention".into(), "bogus".into()]);
        let map = alerts_of(&stored);
        assert_eq!(map.len(), ALERTS.len());
        assert_eq!(map["mention"], Value::Bool(true));
        assert_eq!(map["follow"], Value::Bool(false));
        assert!(!map.contains_key("bogus"));
    }

    #[test]
    fn bodies_are_cut_with_an_ellipsis() {
        assert_eq!(truncate("  short ", 140), "short");
        let long = "é".repeat(200);
        let cut = truncate(&long, 140);
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with('…'));
    }
}
