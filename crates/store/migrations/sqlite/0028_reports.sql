-- Reports (issue 17): filed through the API as well as received as a `Flag`, then
-- handled by moderators. Expand-only (see migrate.rs): columns with defaults (or
-- NULL) and an index. Keep in step with the other engine's 0028_reports.sql.

-- `category`: spam, legal, violation or other (Mastodon's). `rule_ids`: the instance
-- rules a `violation` cites, a JSON array of id strings. `forwarded`: a `Flag` was
-- sent to the reported account's server. `assigned_account_id`: the moderator who
-- took it. `action_taken_at`/`action_taken_by_account_id`: resolved, when and by whom
-- (NULL: open; the command line resolves with no account). `updated_at`: the last
-- change (0 for rows of the previous schema; read as `created_at` then).
ALTER TABLE reports ADD COLUMN category TEXT NOT NULL DEFAULT 'other';
ALTER TABLE reports ADD COLUMN rule_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE reports ADD COLUMN forwarded BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE reports ADD COLUMN assigned_account_id BIGINT;
ALTER TABLE reports ADD COLUMN action_taken_by_account_id BIGINT;
ALTER TABLE reports ADD COLUMN action_taken_at BIGINT;
ALTER TABLE reports ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX reports_reporter ON reports (account_id, id);

-- The report an `admin.report` notification is about (NULL for every other kind).
ALTER TABLE notifications ADD COLUMN report_id BIGINT;
