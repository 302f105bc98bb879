-- Polls (a post's `poll`, a `Question` in ActivityPub) and their votes.
-- Expand-only (see migrate.rs): new tables. Keep in step with the other engine's
-- 0016_polls.sql.
--
-- One poll per status (its id is the status's). `options` is a JSON array of the
-- option titles, `tallies` a JSON array of their vote counts, same length: for a local
-- poll counted from poll_votes in the vote's transaction, for a remote one as its
-- server last said (plus our own users' votes since). `voters_count` is NULL when a
-- remote server does not say. `expires_at` is NULL for a poll without an end (Misskey);
-- `closed_at` is set once its end was handled (notifications sent, the final counts
-- federated), so the expiry task is driven by the database and survives restarts.
CREATE TABLE polls (
    status_id BIGINT PRIMARY KEY,
    options TEXT NOT NULL,
    tallies TEXT NOT NULL,
    multiple BOOLEAN NOT NULL DEFAULT FALSE,
    hide_totals BOOLEAN NOT NULL DEFAULT FALSE,
    voters_count BIGINT,
    expires_at BIGINT,
    closed_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX polls_open ON polls (expires_at) WHERE closed_at IS NULL AND expires_at IS NOT NULL;

-- A vote: one row per chosen option. `uri` is the vote's object id (ours for a local
-- voter, the sender's for a remote one).
CREATE TABLE poll_votes (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    choice BIGINT NOT NULL,
    uri TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (status_id, account_id, choice)
);
CREATE INDEX poll_votes_account ON poll_votes (account_id);
