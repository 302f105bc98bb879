-- Web sessions (issue 15): a browser signed in to the web app holds a cookie naming one
-- of these rows by the hash of its secret. Each session has its own read-only token for
-- the page's live stream (`token_id`), revoked with it: the API never accepts the
-- cookie, and the cookie is never a bearer token. Expand-only (see migrate.rs): a new
-- table. Keep in step with the other engine's 0012_web_sessions.sql.
CREATE TABLE web_sessions (
    id BIGINT PRIMARY KEY,
    -- SHA-256 of the cookie's secret: a copy of the database holds no usable cookie.
    secret_hash TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL,
    token_id BIGINT NOT NULL,
    -- What the settings page shows to tell sessions apart.
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_account ON web_sessions (account_id);
