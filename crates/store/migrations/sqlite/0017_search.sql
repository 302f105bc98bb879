-- Full-text search of posts (GET /api/v2/search, type=statuses; store/src/search.rs).
-- Expand-only (see migrate.rs): a new table. Keep in step with the other engine's
-- 0017_search.sql.
--
-- One row per post (not per reblog), rowid = the status id: the words of its content
-- warning and of the plain text of its content, as model::search::indexed_text cuts
-- them, written in the transaction that inserts, edits or deletes the post.
-- Contentless (the text lives in `statuses`), with deletes; unicode61 folds case and
-- diacritics of every script.
CREATE VIRTUAL TABLE status_search USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The posts already stored: their markup dropped here in SQL (tags, then the common
-- character references); later writes index what the Rust code cuts.
WITH RECURSIVE strip(id, done, rest) AS (
    SELECT id, spoiler_text || ' ', content FROM statuses WHERE reblog_of_id IS NULL
    UNION ALL
    SELECT id,
        done || CASE WHEN instr(rest, '<') = 0 THEN rest
                     ELSE substr(rest, 1, instr(rest, '<') - 1) || ' ' END,
        CASE WHEN instr(rest, '<') = 0 THEN NULL
             WHEN instr(substr(rest, instr(rest, '<')), '>') = 0 THEN ''
             ELSE substr(rest, instr(rest, '<') + instr(substr(rest, instr(rest, '<')), '>'))
        END
    FROM strip WHERE rest IS NOT NULL
)
INSERT INTO status_search (rowid, body)
SELECT id, replace(replace(replace(replace(replace(replace(done,
           '&amp;', ' '), '&lt;', ' '), '&gt;', ' '), '&quot;', ' '), '&#39;', ' '), '&nbsp;', ' ')
FROM strip WHERE rest IS NULL;
