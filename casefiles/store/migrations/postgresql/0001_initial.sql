-- CaseDeck's library in PostgreSQL, first layout (casefiles/store/postgres_store.py).
-- Documents are the shapes of casefiles/store/documents.py; the columns beside them are what lists,
-- filters and the blob reference query use, kept in step by the store on every write.

-- Substring search of a case's words (LIKE '%word%') by trigram index; trusted since PostgreSQL 13.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE cases (
    id          text PRIMARY KEY,
    version     integer NOT NULL CHECK (version > 0),
    schema      integer NOT NULL,
    created     timestamptz NOT NULL,
    -- as written, for the modality facet; modalities: upper-cased parts split on "/", for the filter
    modality    text NOT NULL,
    modalities  text[] NOT NULL,
    tags        text[] NOT NULL,
    study_uids  text[] NOT NULL,
    manifests   text[] NOT NULL,
    -- documents.search_text(doc): lower-case title, history, findings, diagnosis, differential,
    -- teaching points, tags, body part
    search      text NOT NULL,
    doc         jsonb NOT NULL
);
-- newest first, then id descending (byte order, as Python compares str)
CREATE INDEX cases_newest ON cases (created DESC, id COLLATE "C" DESC);
CREATE INDEX cases_modalities ON cases USING gin (modalities);
CREATE INDEX cases_tags ON cases USING gin (tags);
CREATE INDEX cases_study_uids ON cases USING gin (study_uids);
CREATE INDEX cases_manifests ON cases USING gin (manifests);
CREATE INDEX cases_search ON cases USING gin (search gin_trgm_ops);

-- One series' instance records, immutable, addressed by the SHA-256 of their canonical JSON.
CREATE TABLE manifests (
    digest  text PRIMARY KEY,
    doc     jsonb NOT NULL
);

-- Every blob a case refers to, directly or through its manifests: "which cases use this blob".
CREATE TABLE blob_refs (
    case_id text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    blob    text NOT NULL,
    PRIMARY KEY (case_id, blob)
);
CREATE INDEX blob_refs_blob ON blob_refs (blob);

CREATE TABLE conferences (
    id       text PRIMARY KEY,
    version  integer NOT NULL CHECK (version > 0),
    schema   integer NOT NULL,
    created  timestamptz NOT NULL,
    doc      jsonb NOT NULL
);
CREATE INDEX conferences_newest ON conferences (created DESC, id COLLATE "C" DESC);

CREATE TABLE meta (
    key    text PRIMARY KEY,
    value  text NOT NULL
);
