-- Private notes on accounts (POST /api/v1/accounts/:id/note; Relationship.note).
-- Expand-only (see migrate.rs): a new table. Keep in step with the other engine's
-- 0015_account_notes.sql.
--
-- One note per owner and account noted; only its owner ever reads it. An empty note
-- is no row.
CREATE TABLE account_notes (
    account_id BIGINT NOT NULL,
    target_account_id BIGINT NOT NULL,
    comment TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);
