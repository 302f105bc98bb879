-- Collections a user makes through the ActivityPub client-to-server API (a Create of a
-- Collection or OrderedCollection; Add and Remove of items). Expand-only (see
-- migrate.rs). Keep in step with the other engine's 0007_collections.sql.

CREATE TABLE collections (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    uri TEXT NOT NULL UNIQUE,
    -- Collection or OrderedCollection.
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    -- Who may read it: the audience of its Create (JSON arrays of IRIs).
    to_json TEXT NOT NULL DEFAULT '[]',
    cc_json TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX collections_account ON collections (account_id, id);

CREATE TABLE collection_items (
    id BIGINT PRIMARY KEY,
    collection_id BIGINT NOT NULL,
    object_uri TEXT NOT NULL,
    added_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX collection_items_object ON collection_items (collection_id, object_uri);
CREATE INDEX collection_items_page ON collection_items (collection_id, id);
