-- Scheduled statuses, muted conversations, endorsed accounts and instance
-- announcements (issue 16, item 7). Expand-only (see migrate.rs): new tables. Keep in
-- step with the other engine's 0018_scheduled_endorsements_announcements.sql.

-- A post to be made later (POST /api/v1/statuses with scheduled_at). `params` is the
-- post as asked for (JSON: text, visibility, media ids, …); the scheduler publishes it
-- when `scheduled_at` comes, with the idempotency key `scheduled:<id>`, so a crash
-- between the post and this row's removal never posts twice.
CREATE TABLE scheduled_statuses (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    params TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX scheduled_statuses_due ON scheduled_statuses (scheduled_at, id);
CREATE INDEX scheduled_statuses_account ON scheduled_statuses (account_id, id);

-- A thread an account muted (POST /api/v1/statuses/:id/mute): no notifications from
-- it. `thread_id` is statuses.thread_id.
CREATE TABLE conversation_mutes (
    account_id BIGINT NOT NULL,
    thread_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, thread_id)
);

-- Accounts an account features on its profile (POST /api/v1/accounts/:id/pin).
CREATE TABLE endorsements (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    target_account_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX endorsements_pair ON endorsements (account_id, target_account_id);
CREATE INDEX endorsements_target ON endorsements (target_account_id);

-- What the admin announces to every local user (`sluice admin announce`). `content`
-- is the rendered HTML of `text`; times are milliseconds since the epoch.
CREATE TABLE announcements (
    id BIGINT PRIMARY KEY,
    text TEXT NOT NULL,
    content TEXT NOT NULL,
    starts_at BIGINT,
    ends_at BIGINT,
    all_day BOOLEAN NOT NULL DEFAULT FALSE,
    published_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE announcement_dismissals (
    announcement_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    PRIMARY KEY (announcement_id, account_id)
);

-- One reaction per account, announcement and emoji (a Unicode emoji or a shortcode).
CREATE TABLE announcement_reactions (
    announcement_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (announcement_id, account_id, name)
);

-- Uploads held by a scheduled status: not swept as unattached, not attachable to
-- another post, attached when the status is published.
ALTER TABLE media ADD COLUMN scheduled_status_id BIGINT;
