-- Portability (issue 17, M4): moving an account, account deletion by its owner, CSV
-- imports. Expand-only (see migrate.rs): new tables. Keep in step with the other
-- engine's 0030_portability.sql.

-- One row per Move of a local account (`account_id` moved to `target_uri`): the newest
-- one starts the cool-down before the next (Mastodon: 30 days).
CREATE TABLE account_migrations (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    target_account_id BIGINT NOT NULL,
    target_uri TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX account_migrations_account ON account_migrations (account_id, id);

-- A local account its owner deleted: the row of `accounts` stays (its username is
-- reserved: nobody can register it again), its data is purged in bounded batches by
-- the deletion job; `done_at` is set once nothing is left.
CREATE TABLE account_deletions (
    account_id BIGINT PRIMARY KEY,
    requested_at BIGINT NOT NULL,
    done_at BIGINT
);

-- CSV imports (`/settings/import`): one row per upload, its rows in `import_rows`,
-- processed in batches in id order; `done_up_to` is the last row done, so a restarted
-- process goes on where the last one stopped. `kind`: follows, blocks, mutes,
-- domain_blocks, lists, bookmarks; `mode`: merge or overwrite; `state`: pending,
-- done. `locked_until`: the lease of the process working on it.
CREATE TABLE imports (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    mode TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    processed BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    done_up_to BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX imports_account ON imports (account_id, id);
CREATE INDEX imports_state ON imports (state, id);
-- One CSV row: `data` is its fields as a JSON array of strings.
CREATE TABLE import_rows (
    id BIGINT PRIMARY KEY,
    import_id BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX import_rows_import ON import_rows (import_id, id);

-- Archives of an account's data (`/settings/export`): `state` pending, done or
-- failed; `file` the zip's name under the media directory's `archives` folder once
-- done; `locked_until` the lease of the process writing it.
CREATE TABLE archives (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    locked_until BIGINT NOT NULL DEFAULT 0,
    file TEXT NOT NULL DEFAULT '',
    size BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX archives_account ON archives (account_id, id);
