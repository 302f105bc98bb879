-- Quote posts (issue 16, item 9: Mastodon 4.5, FEP-044f). Expand-only (see
-- migrate.rs): a new table. Keep in step with the other engine's 0024_quotes.sql.

-- One row per status that has a quote policy of its own, quotes another, or both.
-- `policy`: who may quote this status (`public`, `followers`, `nobody`; NULL: nobody,
-- as for posts made before quotes existed). `quotes_count`: its accepted quotes.
-- `quoted_status_id`: the status this one quotes (kept when that one is deleted, so the
-- quote shows as `deleted`), `quoted_uri` its id; `quote_state`: `pending`,
-- `accepted`, `rejected`, `revoked`; `authorization_uri`: the QuoteAuthorization
-- stamp that accepted it (ours at `/quote_authorizations/:id` for a local quoted post);
-- `request_uri`: the QuoteRequest sent or received for it.
CREATE TABLE status_quotes (
    status_id BIGINT PRIMARY KEY,
    policy TEXT,
    quotes_count BIGINT NOT NULL DEFAULT 0,
    quoted_status_id BIGINT,
    quoted_uri TEXT,
    quote_state TEXT,
    authorization_uri TEXT,
    request_uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX status_quotes_quoted ON status_quotes (quoted_status_id, status_id)
    WHERE quoted_status_id IS NOT NULL;
CREATE INDEX status_quotes_quoted_uri ON status_quotes (quoted_uri)
    WHERE quoted_uri IS NOT NULL;
