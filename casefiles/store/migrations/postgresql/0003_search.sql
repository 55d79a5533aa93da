-- Ranked search (issue #17): the columns casefiles/store/postgres_search.py keeps beside each case.
-- Text is folded by CaseDeck (casefiles/store/fulltext.py: lower case, one spelling through the
-- vocabulary) before it gets here, so the tsvector is built from lexemes as given ('simple' rules,
-- no stemming) and both store backends agree on what a word is. Weights are field groups:
-- A diagnosis; B title, tags, category; C findings, differential, captions, body part, modality;
-- D history, teaching points, author, difficulty. Rows written before this migration are filled
-- in by the store when it opens (search_state.fingerprint tells it which folding they were made with).

ALTER TABLE cases
    ADD COLUMN search_vector     tsvector NOT NULL DEFAULT ''::tsvector,
    ADD COLUMN diagnosis_phrase  text NOT NULL DEFAULT '',
    ADD COLUMN search_modalities text[] NOT NULL DEFAULT '{}',
    ADD COLUMN body_key          text NOT NULL DEFAULT '',
    ADD COLUMN body_label        text NOT NULL DEFAULT '',
    ADD COLUMN category_key      text NOT NULL DEFAULT '',
    ADD COLUMN category_label    text NOT NULL DEFAULT '',
    ADD COLUMN difficulty        text NOT NULL DEFAULT '',
    ADD COLUMN author_key        text NOT NULL DEFAULT '',
    ADD COLUMN author_label      text NOT NULL DEFAULT '';

CREATE INDEX cases_search_vector ON cases USING gin (search_vector);

-- Who may see a case, as columns PostgreSQL keeps in step with the document itself (whoever writes
-- it): reading the sharing out of the compressed document cost ~5 µs a row, most of a search.
-- No stored sharing (a case made before accounts) is department-wide, as casefiles.visibility says.
ALTER TABLE cases
    ADD COLUMN sharing_visibility text GENERATED ALWAYS AS (
        CASE WHEN coalesce(doc->'sharing', 'null'::jsonb) IN ('null'::jsonb, '{}'::jsonb) THEN 'department'
             ELSE coalesce(doc->'sharing'->>'visibility', 'private') END) STORED,
    ADD COLUMN sharing_owner text GENERATED ALWAYS AS (coalesce(doc->'sharing'->>'owner', '')) STORED,
    ADD COLUMN sharing_groups jsonb GENERATED ALWAYS AS (coalesce(doc->'sharing'->'groups', '[]'::jsonb)) STORED;

-- Every word of the library (never removed: a stale word only widens a typo's candidates), for typo
-- tolerance: a mistyped word is looked up by trigram similarity (pg_trgm, created in 0001).
CREATE TABLE search_words (
    word text PRIMARY KEY
);
CREATE INDEX search_words_trigrams ON search_words USING gin (word gin_trgm_ops);

CREATE TABLE search_state (
    key   text PRIMARY KEY,
    value text NOT NULL
);
