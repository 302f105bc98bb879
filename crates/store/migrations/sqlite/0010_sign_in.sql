-- Sign-in failures per account and the clients that signed in to it (issue 13): after
-- a few failures, clients the account has not seen are slowed down exponentially,
-- while its known clients sign in as always. Expand-only (see migrate.rs): code of
-- schema 5 runs on this schema. Keep in step with the other engine's 0010_sign_in.sql.

-- Failed password checks since the last successful sign-in or password reset.
CREATE TABLE sign_in_failures (
    account_id BIGINT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);

-- Clients that signed in to an account: SHA-256 of `ip:<address>` or of
-- `device:<cookie>` (the cookie is a secret, so only its hash is kept). A few per
-- account, the most recently seen.
CREATE TABLE sign_in_clients (
    account_id BIGINT NOT NULL,
    client_hash TEXT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_hash)
);
