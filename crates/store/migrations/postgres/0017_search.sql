-- Full-text search of posts (GET /api/v2/search, type=statuses; store/src/search.rs).
-- Expand-only (see migrate.rs): a new table. Keep in step with the other engine's
-- 0017_search.sql.
--
-- One row per post (not per reblog): the words of its content warning and of the plain
-- text of its content, as model::search::indexed_text cuts them, in the `simple`
-- configuration (lowercased, no stemming, no stop words: every language alike),
-- written in the transaction that inserts, edits or deletes the post.
CREATE TABLE status_search (
    status_id BIGINT PRIMARY KEY,
    body TSVECTOR NOT NULL
);
CREATE INDEX status_search_body ON status_search USING GIN (body);

-- The posts already stored: their markup dropped here in SQL (tags, the common
-- character references, then everything but letters and digits); later writes index
-- what the Rust code cuts.
INSERT INTO status_search (status_id, body)
SELECT id, to_tsvector('simple', regexp_replace(regexp_replace(regexp_replace(
           spoiler_text || ' ' || content,
           '<[^>]*>', ' ', 'g'),
           '&(amp|lt|gt|quot|#39|nbsp);', ' ', 'g'),
           '[^[:alnum:]]+', ' ', 'g'))
FROM statuses WHERE reblog_of_id IS NULL;
