//! Web Push subscriptions (migration 21): one per access token, and the push messages
//! queued for them on the delivery queue (`deliveries` rows whose
//! `push_subscription_id` is set; `activity_id` is then the notification's id).

use crate::query::{Query, Scalar};
use crate::{Id, Result, Store, WriteTx};

/// A push subscription. `p256dh` and `auth` are base64url without padding; `alerts` a
/// JSON object of alert names that are on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushSubscriptionRow {
    pub id: Id,
    pub account_id: Id,
    pub token_id: Id,
    pub access_token: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub alerts: String,
    pub policy: String,
    pub standard: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What the notification path needs of a subscription to decide whether to queue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushTarget {
    pub id: Id,
    pub endpoint: String,
    pub alerts: String,
    pub policy: String,
}

const COLUMNS: &str = "id, account_id, token_id, access_token, endpoint, p256dh, auth, alerts, \
     policy, standard, created_at, updated_at";

/// A subscription counts only while its token is live (not revoked, not expired):
/// whatever path revoked the token, nothing is pushed with it.
const LIVE_TOKEN: &str = "EXISTS (SELECT 1 FROM tokens t WHERE t.id = p.token_id
       AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $9))";

impl Store {
    /// The subscription of an access token.
    pub async fn push_subscription_of_token(
        &self,
        token_id: Id,
    ) -> Result<Option<PushSubscriptionRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {COLUMNS} FROM push_subscriptions WHERE token_id = $1"
            ))
            .bind(token_id),
        )
        .await
    }

    /// A subscription by id, while its token is live (what a push message is sent to).
    pub async fn live_push_subscription(
        &self,
        id: Id,
        now: i64,
    ) -> Result<Option<PushSubscriptionRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {COLUMNS} FROM push_subscriptions p WHERE p.id = $1 AND {}",
                LIVE_TOKEN.replace("$9", "$2")
            ))
            .bind(id)
            .bind(now),
        )
        .await
    }

    /// Makes `row` the subscription of its token, replacing the one it had (a new id,
    /// as Mastodon's create does), in one transaction.
    pub async fn replace_push_subscription(&self, row: &PushSubscriptionRow) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.exec(
            Query::new("DELETE FROM push_subscriptions WHERE token_id = $1").bind(row.token_id),
        )
        .await?;
        tx.exec(
            Query::new(format!(
                "INSERT INTO push_subscriptions ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(row.id)
            .bind(row.account_id)
            .bind(row.token_id)
            .bind(row.access_token.as_str())
            .bind(row.endpoint.as_str())
            .bind(row.p256dh.as_str())
            .bind(row.auth.as_str())
            .bind(row.alerts.as_str())
            .bind(row.policy.as_str())
            .bind(row.standard)
            .bind(row.created_at)
            .bind(row.updated_at),
        )
        .await?;
        tx.commit().await
    }

    /// Changes the alerts and policy of a token's subscription; the row as it is now,
    /// or None when the token has none.
    pub async fn update_push_subscription(
        &self,
        token_id: Id,
        alerts: &str,
        policy: &str,
        now: i64,
    ) -> Result<Option<PushSubscriptionRow>> {
        let mut tx = self.begin().await?;
        let row = tx
            .opt(
                Query::new(format!(
                    "UPDATE push_subscriptions SET alerts = $2, policy = $3, updated_at = $4
                     WHERE token_id = $1 RETURNING {COLUMNS}"
                ))
                .bind(token_id)
                .bind(alerts)
                .bind(policy)
                .bind(now),
            )
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Removes a token's subscription; how many rows went (0 or 1).
    pub async fn delete_push_subscription_of_token(&self, token_id: Id) -> Result<u64> {
        self.exec(Query::new("DELETE FROM push_subscriptions WHERE token_id = $1").bind(token_id))
            .await
    }

    /// Removes a subscription (the push service said it is gone: 404 or 410), with the
    /// messages still queued for it.
    pub async fn delete_push_subscription(&self, id: Id) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = tx
            .exec(Query::new("DELETE FROM push_subscriptions WHERE id = $1").bind(id))
            .await?;
        tx.exec(
            Query::new(
                "DELETE FROM deliveries WHERE push_subscription_id = $1 AND state = 'pending'
                   AND locked_until = 0",
            )
            .bind(id),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// How many push subscriptions exist (benchmarks, tests).
    pub async fn count_push_subscriptions(&self) -> Result<i64> {
        Ok(self
            .one::<Scalar>(Query::new("SELECT COUNT(*) AS v FROM push_subscriptions"))
            .await?
            .v)
    }
}

impl WriteTx {
    /// The subscriptions of `account` whose tokens are live.
    pub async fn push_targets(&mut self, account: Id, now: i64) -> Result<Vec<PushTarget>> {
        self.all(
            Query::new(format!(
                "SELECT p.id, p.endpoint, p.alerts, p.policy FROM push_subscriptions p
                 WHERE p.account_id = $1 AND {}",
                LIVE_TOKEN.replace("$9", "$2")
            ))
            .bind(account)
            .bind(now),
        )
        .await
    }

    /// Whether `account` follows `target`.
    pub async fn follows(&mut self, account: Id, target: Id) -> Result<bool> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT COUNT(*) AS v FROM follows WHERE account_id = $1 AND target_account_id = $2",
                )
                .bind(account)
                .bind(target),
            )
            .await?
            .v
            > 0)
    }

    /// Queues one push message per `(subscription, endpoint, host)` for notification
    /// `notification` of `account`, on the delivery queue.
    pub async fn enqueue_pushes(
        &mut self,
        ids: &[Id],
        notification: Id,
        account: Id,
        targets: &[(Id, String, String)],
        now: i64,
        expires_at: i64,
    ) -> Result<u64> {
        debug_assert_eq!(ids.len(), targets.len());
        let mut queued = 0;
        for ((sub, endpoint, host), id) in targets.iter().zip(ids) {
            queued += self
                .exec(
                    Query::new(
                        "INSERT INTO deliveries (id, activity_id, sender_account_id, inbox_url, host,
                           next_attempt_at, created_at, expires_at, push_subscription_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)
                         ON CONFLICT (activity_id, inbox_url) DO NOTHING",
                    )
                    .bind(*id)
                    .bind(notification)
                    .bind(account)
                    .bind(endpoint.as_str())
                    .bind(host.as_str())
                    .bind(now)
                    .bind(expires_at)
                    .bind(*sub),
                )
                .await?;
        }
        Ok(queued)
    }

    /// Removes the subscriptions of `account`'s revoked tokens (called after every
    /// revocation, so revoking a token removes its subscription).
    pub async fn drop_revoked_push_subscriptions(&mut self, account: Id) -> Result<u64> {
        self.exec(
            Query::new(
                "DELETE FROM push_subscriptions WHERE account_id = $1 AND token_id IN (
                   SELECT t.id FROM tokens t WHERE t.account_id = $1 AND t.revoked_at IS NOT NULL)",
            )
            .bind(account),
        )
        .await
    }

    /// Removes the subscription of the token whose access or refresh hash is `hash`.
    pub async fn drop_push_subscription_of_hash(&mut self, hash: &str) -> Result<u64> {
        self.exec(
            Query::new(
                "DELETE FROM push_subscriptions WHERE token_id IN (
                   SELECT t.id FROM tokens t WHERE t.token_hash = $1 OR t.refresh_hash = $1)",
            )
            .bind(hash),
        )
        .await
    }

    /// Removes the subscription of token `token_id`.
    pub async fn drop_push_subscription_of_token(&mut self, token_id: Id) -> Result<u64> {
        self.exec(Query::new("DELETE FROM push_subscriptions WHERE token_id = $1").bind(token_id))
            .await
    }
}
