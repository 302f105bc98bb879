-- Account moderation (issue 17): silenced and sensitized accounts, who suspended an
-- account, and the warnings moderators give. Expand-only (see migrate.rs): nullable
-- columns and new tables and indexes. Keep in step with the other engine's
-- 0029_account_moderation.sql.

-- When a moderator limited (silenced) the account: its posts are kept out of public
-- timelines, trends and search, its notifications reach only its followers.
ALTER TABLE accounts ADD COLUMN silenced_at BIGINT;
-- When a moderator had its media marked sensitive.
ALTER TABLE accounts ADD COLUMN sensitized_at BIGINT;
-- Who suspended it (with `suspended_at`): `local` (a moderator here) or `remote` (its
-- own server said `suspended: true`, which a later `suspended: false` undoes).
-- NULL for rows suspended before this version (a remote actor's Delete).
ALTER TABLE accounts ADD COLUMN suspension_origin TEXT;
CREATE INDEX accounts_silenced ON accounts (id) WHERE silenced_at IS NOT NULL;
CREATE INDEX accounts_suspended ON accounts (suspended_at) WHERE suspended_at IS NOT NULL;

-- A moderator's action on an account, as its owner is told (Mastodon's
-- AccountWarning): `account_id` who acted (NULL: the command line), `action`
-- (`none`, `disable`, `sensitive`, `silence`, `suspend`), `text` the warning's words,
-- `report_id` the report it answered.
CREATE TABLE account_warnings (
    id BIGINT PRIMARY KEY,
    account_id BIGINT,
    target_account_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    report_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX account_warnings_target ON account_warnings (target_account_id, id);

-- The warning a `moderation_warning` notification is about.
ALTER TABLE notifications ADD COLUMN account_warning_id BIGINT;
