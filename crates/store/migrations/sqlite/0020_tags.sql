-- Followed and featured hashtags (issue 16, item 4), and dismissed follow suggestions.
-- Expand-only (see migrate.rs): new tables and a column with a default. Keep in step
-- with the other engine's 0020_tags.sql.

-- Hashtags a local user follows: public posts carrying them join their home timeline
-- (computed on read, as home is) and their user stream. Paged by `id`
-- (GET /api/v1/followed_tags).
CREATE TABLE tag_follows (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    tag_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tag_follows_pair ON tag_follows (account_id, tag_id);
CREATE INDEX tag_follows_tag ON tag_follows (tag_id);

-- Hashtags an account features on its profile: a local user's own choice
-- (/api/v1/featured_tags), a remote actor's as its `featuredTags` collection says.
CREATE TABLE featured_tags (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    tag_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX featured_tags_pair ON featured_tags (account_id, tag_id);

-- A remote actor's `featuredTags` collection, so an `Add` or `Remove` of a Hashtag to
-- it can be told from other Adds.
ALTER TABLE accounts ADD COLUMN featured_tags_url TEXT NOT NULL DEFAULT '';

-- Accounts a user dismissed from their follow suggestions (DELETE /api/v1/suggestions/:id).
CREATE TABLE suggestion_dismissals (
    account_id BIGINT NOT NULL,
    target_account_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);
