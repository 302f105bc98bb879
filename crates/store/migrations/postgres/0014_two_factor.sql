-- Two-factor sign-in (TOTP, RFC 6238; issue 15). Expand-only (see migrate.rs): new
-- tables. Keep in step with the other engine's 0014_two_factor.sql.
--
-- One row per local user that has started or finished enabling it: `pending_secret`
-- (base32) is a secret shown on the settings page and not yet confirmed with a code;
-- `secret` is set only once a code from it was confirmed, and only then does sign-in
-- ask for a code. `last_step` is the time step (unix seconds / 30) of the last code
-- accepted: a code of that step or an earlier one is never accepted again.
CREATE TABLE two_factor (
    account_id BIGINT PRIMARY KEY,
    secret TEXT,
    pending_secret TEXT,
    last_step BIGINT NOT NULL DEFAULT 0,
    enabled_at BIGINT
);

-- Recovery codes: SHA-256 of each, deleted when used.
CREATE TABLE two_factor_recovery_codes (
    account_id BIGINT NOT NULL,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (account_id, code_hash)
);

-- Sign-ins waiting for their second step: SHA-256 of the secret the second form
-- carries, the account, what it is bound to (a hash of the browser's anonymous
-- cookie, or of the OAuth request), until when it works, and the wrong codes tried
-- with it. Deleted when used, after too many wrong codes, or once expired.
CREATE TABLE two_factor_challenges (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    bound_to TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);
CREATE INDEX two_factor_challenges_account ON two_factor_challenges (account_id);
