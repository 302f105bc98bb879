-- E-mail (issue 15): with SMTP configured, a new account confirms its address before it
-- signs in, and a forgotten password is reset through a link sent by mail. Expand-only
-- (see migrate.rs): a column with a default (every existing user counts as confirmed)
-- and a new table. Keep in step with the other engine's 0013_email.sql.
ALTER TABLE users ADD COLUMN confirmed BOOLEAN NOT NULL DEFAULT TRUE;

-- Links sent by mail: SHA-256 of the secret in the link, what it is for (`confirm`,
-- `reset`), until when it works. Used once.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX email_tokens_account ON email_tokens (account_id);
