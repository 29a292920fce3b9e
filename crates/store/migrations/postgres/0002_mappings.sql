-- Property mappings: admin-written expressions, stored as source (compiled when saved and when
-- a sync loads them).
CREATE TABLE mappings (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    expression TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
