-- Moderation (issue 17): staff roles and the audit log. Expand-only (see migrate.rs):
-- a column with a default and a new table. Keep in step with the other engine's
-- 0025_moderation.sql.

-- A local user's role: `user`, `moderator` (reports and users) or `admin` (everything,
-- roles included). `users.admin` stays, written as `role = 'admin'`, for the processes
-- of the previous schema during a rolling upgrade.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
UPDATE users SET role = 'admin' WHERE admin;

-- The audit log: one row per moderator action. `account_id`: who acted (NULL: the
-- command line on the server); `action`: what (`suspend`, `resolve_report`,
-- `set_role`, ...); `target_type` and `target_id`: on what (`account` and its id,
-- `report`, `domain_block` and the domain, ...); `target_label`: a name a person
-- reads (the account's handle, the domain) kept as it was then; `text`: why, as the
-- moderator wrote it.
CREATE TABLE admin_actions (
    id BIGINT PRIMARY KEY,
    account_id BIGINT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_label TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX admin_actions_target ON admin_actions (target_type, target_id, id);
