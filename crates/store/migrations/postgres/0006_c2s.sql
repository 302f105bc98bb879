-- The ActivityPub client-to-server API. Expand-only (see migrate.rs): code of schema 5
-- runs on this schema. Keep in step with the other engine's 0006_c2s.sql.

-- A silent mention is a recipient from `bto`/`bcc` (or a delivery-only addressee): it
-- may see the post and is delivered to, but is never shown among the mentions.
ALTER TABLE mentions ADD COLUMN silent BOOLEAN NOT NULL DEFAULT FALSE;
