-- Out-of-order inbox activities. Expand-only (see migrate.rs): code of schema 5 runs
-- on this schema. Keep in step with the other engine's 0009_inbox_order.sql.

-- What a queued inbox activity is about, as a 64-bit hash of that thing's IRI (the
-- object of a Create/Update/Delete, the activity an Undo undoes, …); 0 for nothing.
-- A row is claimed only when no earlier row with the same key is still queued, so
-- the activities about one thing are applied one at a time, in arrival order.
ALTER TABLE inbox_queue ADD COLUMN order_key BIGINT NOT NULL DEFAULT 0;
CREATE INDEX inbox_queue_order ON inbox_queue (order_key, id);

-- Activities undone before they arrived: an Undo whose target we do not have is
-- remembered here, so the late activity (a Like, an Announce, a Follow, a Block) with
-- that id from that actor is recorded and not applied. Pruned after some days.
CREATE TABLE undone_activities (
    uri TEXT NOT NULL,
    actor_id BIGINT NOT NULL,
    undone_at BIGINT NOT NULL,
    PRIMARY KEY (uri, actor_id)
);
CREATE INDEX undone_activities_age ON undone_activities (undone_at);
