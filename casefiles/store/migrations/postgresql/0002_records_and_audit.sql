-- Keyed records (users, groups, share links, notifications) and the hash-chained audit log
-- (casefiles/store/records.py). Records carry a version like cases; audit entries are only appended.

CREATE TABLE records (
    kind     text NOT NULL,
    key      text NOT NULL,
    version  integer NOT NULL CHECK (version > 0),
    doc      jsonb NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE TABLE audit (
    seq   bigint PRIMARY KEY,
    data  jsonb NOT NULL,
    prev  text NOT NULL,
    hash  text NOT NULL
);
