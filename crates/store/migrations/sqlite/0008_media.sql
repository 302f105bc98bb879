-- Media attachments. Expand-only (see migrate.rs): code of schema 5 runs on this
-- schema. Keep in step with the other engine's 0008_media.sql.

-- A post's attachments in order, as JSON (sluice_model::media::Attachment): uploads
-- for a local post, links to the files of a remote one. Read with the post, no join.
ALTER TABLE statuses ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';

-- Files uploaded here (Mastodon API /api/v1/media, /api/v2/media; ActivityPub
-- uploadMedia). Unattached uploads are removed after a day.
CREATE TABLE media (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    -- The post it is attached to; NULL until then (and again once the post is deleted).
    status_id BIGINT,
    -- image | gifv | video | audio
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    -- The file under the media directory: random, so its URL cannot be guessed.
    file_name TEXT NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    width BIGINT,
    height BIGINT,
    description TEXT NOT NULL DEFAULT '',
    focus_x REAL,
    focus_y REAL,
    -- The ActivityStreams type given by a client's uploadMedia shell (Image, Video…).
    object_type TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX media_account ON media (account_id, id);
CREATE INDEX media_status ON media (status_id);
CREATE INDEX media_unattached ON media (updated_at) WHERE status_id IS NULL;

-- Blind copies received: a post another server delivered to a local user's own inbox
-- without addressing them (its author's bto/bcc). Kept until the post is stored, then
-- the user becomes a silent recipient (may see it, notified, never shown as mentioned).
CREATE TABLE blind_copies (
    object_uri TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX blind_copies_pair ON blind_copies (object_uri, account_id);
CREATE INDEX blind_copies_age ON blind_copies (received_at);
