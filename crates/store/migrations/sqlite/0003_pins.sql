-- Pinned statuses (Mastodon's "featured" posts): a local user's pins, and a remote
-- actor's as its featured collection and Add/Remove activities tell us. Expand-only
-- (see migrate.rs). Keep in step with the other engine's 0003_pins.sql.

CREATE TABLE pins (
    account_id BIGINT NOT NULL,
    status_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, status_id)
);
-- An account's pins, newest first (the profile, the featured collection).
CREATE INDEX pins_account ON pins (account_id, created_at, status_id);
-- Deleting a status removes its pin without scanning the table.
CREATE INDEX pins_status ON pins (status_id);
