-- Emoji reactions and markdown posts (issue 16, items 9 and 12). Expand-only (see
-- migrate.rs): new tables and a nullable column older code never names. Keep in step
-- with the other engine's 0023_reactions.sql.

-- An emoji reaction of an account (local or remote) to a post, as Pleroma/Akkoma and
-- Misskey make them: `emoji` is one Unicode emoji, or a custom emoji's name (`blobcat`
-- for this server's, `blobcat@example.com` for another server's, whose image is in
-- `custom_emojis`). One row per (post, account, emoji). `uri` is the `EmojiReact`'s id
-- (ours or its sender's), which an `Undo` names.
CREATE TABLE status_reactions (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    emoji TEXT NOT NULL,
    uri TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX status_reactions_one ON status_reactions (status_id, account_id, emoji);
CREATE UNIQUE INDEX status_reactions_uri ON status_reactions (uri);
CREATE INDEX status_reactions_account ON status_reactions (account_id);

-- The emoji of a `pleroma:emoji_reaction` notification (NULL for other kinds).
ALTER TABLE notifications ADD COLUMN emoji TEXT;

-- The source format of a local post when it is not plain text (`text/markdown`): the
-- edit form and `/api/v1/statuses/:id/source` give it back. No row: plain text.
CREATE TABLE status_content_types (
    status_id BIGINT PRIMARY KEY,
    content_type TEXT NOT NULL
);
