-- Custom emoji (issue 16, item 8). Expand-only (see migrate.rs): a new table. Keep in
-- step with the other engine's 0019_custom_emojis.sql.

-- An image shown in place of `:shortcode:` in posts, names and bios. Local ones
-- (`domain` '') are added by the admin (`sluice admin emoji add`): `file_name` is the
-- file under the media directory. Remote ones come from `Emoji` tags of posts and
-- actors: `url` and `static_url` are the image's address as given (not downloaded),
-- `uri` the emoji's own id. Shortcodes are `[A-Za-z0-9_]{2,}`, unique per domain.
CREATE TABLE custom_emojis (
    id BIGINT PRIMARY KEY,
    shortcode TEXT NOT NULL,
    domain TEXT NOT NULL DEFAULT '',
    file_name TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    static_url TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    visible_in_picker BOOLEAN NOT NULL DEFAULT TRUE,
    category TEXT NOT NULL DEFAULT '',
    uri TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX custom_emojis_code ON custom_emojis (shortcode, domain);
