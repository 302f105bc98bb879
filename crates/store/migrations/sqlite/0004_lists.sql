-- Lists (Mastodon's `/api/v1/lists`) and user-level domain blocks
-- (`/api/v1/domain_blocks`). Expand-only (see migrate.rs): new tables and an index,
-- nothing an older binary reads. Keep in step with the other engine's 0004_lists.sql.

CREATE TABLE lists (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    -- 'followed' | 'list' | 'none': which replies the list timeline shows.
    replies_policy TEXT NOT NULL DEFAULT 'list',
    -- Members' posts are left out of the owner's home timeline.
    exclusive BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX lists_account ON lists (account_id, id);

-- Members of a list: only accounts its owner follows (unfollowing removes them).
CREATE TABLE list_accounts (
    list_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    PRIMARY KEY (list_id, account_id)
);
-- "Which lists hold this account" (unfollow, GET /api/v1/accounts/:id/lists).
CREATE INDEX list_accounts_account ON list_accounts (account_id, list_id);

-- Domains a user has blocked for themselves. `id` is the paging cursor of
-- GET /api/v1/domain_blocks (Mastodon pages them by row id).
CREATE TABLE account_domain_blocks (
    account_id BIGINT NOT NULL,
    domain TEXT NOT NULL,
    id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, domain)
);
CREATE UNIQUE INDEX account_domain_blocks_id ON account_domain_blocks (account_id, id);

-- Accounts of a domain, for hiding a blocked domain's posts without a table scan.
CREATE INDEX accounts_domain ON accounts (domain);
