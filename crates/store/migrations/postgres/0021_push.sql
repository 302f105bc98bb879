-- Web Push (issue 16): a subscription per access token, and push messages queued on
-- the delivery queue. Expand-only (see migrate.rs): a new table and a nullable column
-- that older code never names. Keep in step with the other engine's 0021_push.sql.

-- One per access token (as Mastodon): made, replaced, changed and removed through
-- /api/v1/push/subscription with that token, and removed when it is revoked.
-- `access_token` is the token itself: Mastodon's push payload carries it, so the one
-- secret stored in the clear is the one the push message must contain.
-- `p256dh` (an uncompressed P-256 point, 65 bytes) and `auth` (16 bytes) are
-- base64url without padding; `alerts` is a JSON object of the Mastodon alert names
-- that are on; `policy` is all, followed, follower or none.
CREATE TABLE push_subscriptions (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    token_id BIGINT NOT NULL,
    access_token TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    alerts TEXT NOT NULL,
    policy TEXT NOT NULL DEFAULT 'all',
    standard BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX push_subscriptions_token ON push_subscriptions (token_id);
CREATE INDEX push_subscriptions_account ON push_subscriptions (account_id);

-- A push message is a delivery row like an activity's: `activity_id` holds the
-- notification's id, `inbox_url` the push endpoint, `sender_account_id` the
-- subscriber, and this column the subscription (NULL for activities).
ALTER TABLE deliveries ADD COLUMN push_subscription_id BIGINT;
