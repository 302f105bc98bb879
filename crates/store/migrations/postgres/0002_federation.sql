-- Federation: actor keys, what we know of remote actors, the durable delivery queue, the
-- per-host circuit breaker, domain blocks and reports. Expand-only (see migrate.rs).
-- Keep in step with the other engine's 0002_federation.sql.

-- Remote actor documents carry more than local accounts need.
ALTER TABLE accounts ADD COLUMN actor_type TEXT NOT NULL DEFAULT 'Person';
ALTER TABLE accounts ADD COLUMN outbox_url TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN following_url TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN featured_url TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN also_known_as TEXT NOT NULL DEFAULT '[]';
ALTER TABLE accounts ADD COLUMN moved_to_account_id BIGINT;
-- When a remote actor's document was last fetched (NULL: local account).
ALTER TABLE accounts ADD COLUMN fetched_at BIGINT;

-- Signing keys. Local actors (users and the instance actor) hold a private key; remote
-- actors' public keys are cached here by key id (one actor may have several).
CREATE TABLE actor_keys (
    key_id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT,
    created_at BIGINT NOT NULL,
    fetched_at BIGINT NOT NULL
);
CREATE INDEX actor_keys_account ON actor_keys (account_id);

-- One row per (activity, inbox): a post to 500 followers on one server that offers a
-- shared inbox is one row. Claimed by workers with a lease (`locked_until`), so several
-- processes can share the queue; done rows are deleted, expired ones kept as 'expired'
-- until pruned so `sluice admin deliveries` can show them.
CREATE TABLE deliveries (
    id BIGINT PRIMARY KEY,
    activity_id BIGINT NOT NULL,
    sender_account_id BIGINT NOT NULL,
    inbox_url TEXT NOT NULL,
    host TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX deliveries_pair ON deliveries (activity_id, inbox_url);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_host ON deliveries (host, state);

-- Per-host circuit breaker for deliveries: a host that keeps failing is marked down and
-- probed; its deliveries wait (not dropped) until it is back or they expire.
CREATE TABLE delivery_hosts (
    host TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT 'up',
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    down_since BIGINT,
    next_probe_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

-- Domain blocks set by the admin: 'suspend' (nothing fetched from or delivered to it),
-- 'silence' (hidden from public timelines), 'noop' (only media rejected, with reject_media).
CREATE TABLE domain_blocks (
    domain TEXT PRIMARY KEY,
    severity TEXT NOT NULL,
    reject_media BOOLEAN NOT NULL DEFAULT FALSE,
    reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

-- Reports (from a remote Flag, or later from the API).
CREATE TABLE reports (
    id BIGINT PRIMARY KEY,
    uri TEXT,
    account_id BIGINT NOT NULL,
    target_account_id BIGINT NOT NULL,
    status_ids TEXT NOT NULL DEFAULT '[]',
    comment TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX reports_uri ON reports (uri);
CREATE INDEX reports_target ON reports (target_account_id, id);

-- Verified inbox activities waiting to be applied. Durable, so an activity answered
-- with 202 is applied even if the process stops first; claimed with a lease like the
-- delivery queue; its size bounds the inbox (503 when full).
CREATE TABLE inbox_queue (
    id BIGINT PRIMARY KEY,
    actor_id BIGINT NOT NULL,
    activity_uri TEXT NOT NULL,
    json TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbox_queue_due ON inbox_queue (locked_until, id);
