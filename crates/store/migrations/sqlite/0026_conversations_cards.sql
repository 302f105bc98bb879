-- Conversation containers (FEP-171b) and the pruning of link preview cards.
-- Expand-only (see migrate.rs): a new table and an index. Keep in step with the other
-- engine's 0026_conversations_cards.sql.

-- A remote reply taken from a thread owner's `Add` (FEP-171b) that is addressed to the
-- owner's followers collection: the followers of `account_id` (the thread's owner, not
-- the reply's author) may see it, as it was addressed. One row per such status.
CREATE TABLE status_audiences (
    status_id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL
);

-- Maintenance removes cached cards past their time that no post links any more, oldest
-- first, in small batches.
CREATE INDEX preview_cards_expires ON preview_cards (expires_at);
