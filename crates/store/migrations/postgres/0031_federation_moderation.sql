-- Federation moderation (issue 17): what Mastodon's admin API keeps about domains,
-- e-mail addresses, IP addresses and the instance's rules. Expand-only (see
-- migrate.rs): columns with defaults (or NULL) on `domain_blocks`, new tables and
-- indexes. Keep in step with the other engine's 0031_federation_moderation.sql.

-- A domain block gets an id (the API names blocks by it), the comment only staff
-- read, whether the domain's reports are ignored, whether the public list shows the
-- domain half hidden, and how many of its posts the purge removed so far.
-- `reason` stays the public comment. Rows of an older process get no id: readers use
-- `COALESCE(id, created_at * 65536)`.
ALTER TABLE domain_blocks ADD COLUMN id BIGINT;
ALTER TABLE domain_blocks ADD COLUMN private_comment TEXT NOT NULL DEFAULT '';
ALTER TABLE domain_blocks ADD COLUMN reject_reports BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE domain_blocks ADD COLUMN obfuscate BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE domain_blocks ADD COLUMN purged_statuses BIGINT NOT NULL DEFAULT 0;
UPDATE domain_blocks SET id = created_at * 65536
    + (SELECT count(*) FROM domain_blocks d2 WHERE d2.domain < domain_blocks.domain);
CREATE UNIQUE INDEX domain_blocks_id ON domain_blocks (id);

-- Domains federated with in allow-list mode (`SLUICE_FEDERATION_MODE=allowlist`).
CREATE TABLE domain_allows (
    id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Sign-ups with an address at one of these domains (or a subdomain) are refused.
CREATE TABLE email_domain_blocks (
    id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Sign-ups whose address has this canonical form's SHA-256 (hex) are refused.
CREATE TABLE canonical_email_blocks (
    id BIGINT PRIMARY KEY,
    canonical_email_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Addresses and networks (CIDR text) whose sign-ups need approval
-- (`sign_up_requires_approval`), are refused (`sign_up_block`), or which may not use
-- the server at all (`no_access`); `expires_at` NULL: no end.
CREATE TABLE ip_blocks (
    id BIGINT PRIMARY KEY,
    ip TEXT NOT NULL UNIQUE,
    severity TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

-- The instance's rules (`/api/v1/instance/rules`), shown in `position` order.
CREATE TABLE instance_rules (
    id BIGINT PRIMARY KEY,
    text TEXT NOT NULL,
    hint TEXT NOT NULL DEFAULT '',
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- When the purge finished removing a suspended remote account's content: NULL, or
-- older than `suspended_at`, while some may be left.
ALTER TABLE accounts ADD COLUMN purged_at BIGINT;
-- Remote accounts that were suspended (whose content the purge removes).
CREATE INDEX accounts_suspended_remote ON accounts (suspended_at) WHERE suspended_at IS NOT NULL AND domain <> '';
