-- Quote posts, the rest of FEP-044f (QuoteRequest, revoking, policy updates) and the
-- user's default quote policy. Expand-only (see migrate.rs): a nullable column and
-- indexes. Keep in step with the other engine's 0027_quote_requests.sql.

-- Who may quote a user's posts when a post does not say (`source[quote_policy]`):
-- `public`, `followers`, `nobody`; NULL is `public` (Mastodon's default).
ALTER TABLE users ADD COLUMN default_quote_policy TEXT;

-- An `Accept`/`Reject` names the QuoteRequest it answers; a `Delete` names the stamp.
CREATE INDEX status_quotes_request ON status_quotes (request_uri)
    WHERE request_uri IS NOT NULL;
CREATE INDEX status_quotes_authorization ON status_quotes (authorization_uri)
    WHERE authorization_uri IS NOT NULL;
