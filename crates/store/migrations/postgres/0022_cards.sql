-- Link preview cards (issue 16, item 5). Expand-only (see migrate.rs): new tables.
-- Keep in step with the other engine's 0022_cards.sql.
--
-- One row per fetched URL (the link as found in posts, without its fragment): `card`
-- is the card's JSON (model::card::Card), NULL when the page gave none or the fetch
-- failed (a negative entry: `error` says why). `expires_at`: until then the entry is
-- used as it is; after it the next post linking the URL fetches it again, with
-- `etag`/`last_modified` for a conditional GET (a 304 keeps the card).
CREATE TABLE preview_cards (
    url TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    card TEXT,
    etag TEXT,
    last_modified TEXT,
    fetched_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    error TEXT
);

-- The link of a post that gets a card (at most one per post). `waiting`: the card was
-- not there when the post was stored, so its arrival is announced (`status.update`).
CREATE TABLE status_cards (
    status_id BIGINT PRIMARY KEY,
    url TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    waiting BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX status_cards_url ON status_cards (url, status_id);
CREATE INDEX status_cards_recent ON status_cards (created_at);

-- The durable queue of URLs to fetch, written in the transaction of the post that
-- links them; one row per URL however many posts wait for it. A worker leases a row
-- (`leased_until`) and removes it when done, or moves `run_at` (a host that asked us
-- to wait).
CREATE TABLE card_jobs (
    url TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    leased_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX card_jobs_due ON card_jobs (run_at);

-- Politeness per host, across processes: `busy_until` is the lease of the one request
-- in flight, `next_at` the earliest time of the next one (the minimum spacing, or a
-- Retry-After the host sent, remembered).
CREATE TABLE card_hosts (
    host TEXT PRIMARY KEY,
    busy_until BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL DEFAULT 0
);
