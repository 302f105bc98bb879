-- Keyword filters (Mastodon's v2 filters, which v1 filters map onto) and direct
-- conversations. Expand-only (see migrate.rs). Keep in step with the other engine's
-- 0005_filters.sql. Times are milliseconds since the epoch.

-- A user's filter: where it applies (`context`: a JSON array of home, notifications,
-- public, thread, account), what it does (`warn` or `hide`), until when.
CREATE TABLE filters (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '[]',
    filter_action TEXT NOT NULL DEFAULT 'warn',
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX filters_account ON filters (account_id, id);

-- Keywords of a filter (account_id repeated: a user's keywords load in one scan, and
-- `/api/v2/filters/keywords/:id` checks ownership without a join).
CREATE TABLE filter_keywords (
    id BIGINT PRIMARY KEY,
    filter_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    keyword TEXT NOT NULL,
    whole_word BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX filter_keywords_filter ON filter_keywords (filter_id, id);
CREATE INDEX filter_keywords_account ON filter_keywords (account_id, id);

-- Single statuses a filter applies to.
CREATE TABLE filter_statuses (
    id BIGINT PRIMARY KEY,
    filter_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    status_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX filter_statuses_pair ON filter_statuses (filter_id, status_id);
CREATE INDEX filter_statuses_account ON filter_statuses (account_id, id);
CREATE INDEX filter_statuses_status ON filter_statuses (status_id);

-- Direct conversations, one row per local participant and thread (Mastodon's
-- account_conversations): its newest direct status, whether it is unread, and the
-- other participants (account ids, comma-separated). Listed newest first by
-- last_status_id, which is also the paging cursor.
CREATE TABLE account_conversations (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    thread_id BIGINT NOT NULL,
    last_status_id BIGINT,
    unread BOOLEAN NOT NULL DEFAULT FALSE,
    participant_ids TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX account_conversations_thread ON account_conversations (account_id, thread_id);
CREATE INDEX account_conversations_list ON account_conversations (account_id, last_status_id);
-- Deleting a status finds the conversations it was the newest of.
CREATE INDEX account_conversations_last ON account_conversations (last_status_id);
