-- API tokens that can be listed, revoked and made to expire.
--
-- Each token gets a kind (which API it opens: `admin` for now), a name unique regardless of
-- case (so that it can be revoked by name), an optional expiry and the time it was last used.
-- The configured `admin_token` now lives under one fixed id whose hash each start replaces.
-- The rows earlier starts left for it (all named "admin (configured)", one per value ever
-- configured) are dropped: they are the old values that were never revoked, and the next start
-- stores the value configured now.
--
-- SQLite cannot add a NOT NULL UNIQUE column to a table with rows, so the table is rebuilt.
CREATE TABLE api_tokens_0007 (
    id           BLOB PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT
);

-- Names were not unique before: a repeated name keeps its first holder and the others get
-- their id appended, which no other name can hold.
INSERT INTO api_tokens_0007 (id, name, name_key, kind, token_hash, created_at)
SELECT id, name || suffix, lower(name || suffix), 'admin', token_hash, created_at
FROM (
    SELECT id, name, token_hash, created_at,
           CASE
               WHEN ROW_NUMBER() OVER (PARTITION BY lower(name) ORDER BY created_at, id) = 1 THEN ''
               ELSE ' (' || lower(hex(id)) || ')'
           END AS suffix
    FROM api_tokens
    WHERE name <> 'admin (configured)'
);

DROP TABLE api_tokens;
ALTER TABLE api_tokens_0007 RENAME TO api_tokens;
