-- API tokens that can be listed, revoked and made to expire.
--
-- Each token gets a kind (which API it opens: `admin` for now), a name unique regardless of
-- case (so that it can be revoked by name), an optional expiry and the time it was last used.
-- The configured `admin_token` now lives under one fixed id whose hash each start replaces.
-- The rows earlier starts left for it (all named "admin (configured)", one per value ever
-- configured) are dropped: they are the old values that were never revoked, and the next start
-- stores the value configured now.
DELETE FROM api_tokens WHERE name = 'admin (configured)';

ALTER TABLE api_tokens
    ADD COLUMN name_key     TEXT,
    ADD COLUMN kind         TEXT NOT NULL DEFAULT 'admin',
    ADD COLUMN expires_at   TIMESTAMPTZ,
    ADD COLUMN last_used_at TIMESTAMPTZ;

-- Names were not unique before: a repeated name keeps its first holder and the others get
-- their id appended, which no other name can hold.
UPDATE api_tokens AS t
SET name = t.name || r.suffix,
    name_key = lower(t.name || r.suffix)
FROM (
    SELECT id,
           CASE
               WHEN ROW_NUMBER() OVER (PARTITION BY lower(name) ORDER BY created_at, id) = 1 THEN ''
               ELSE ' (' || replace(id::text, '-', '') || ')'
           END AS suffix
    FROM api_tokens
) AS r
WHERE r.id = t.id;

ALTER TABLE api_tokens
    ALTER COLUMN name_key SET NOT NULL,
    -- Every insert says which kind it makes.
    ALTER COLUMN kind DROP DEFAULT,
    ADD CONSTRAINT api_tokens_name_key_key UNIQUE (name_key);
