-- Web console sessions: one per sign-in with an admin token. Only a SHA-256 of the session's
-- cookie is kept. A session ends when it expires, when its holder signs out, or when its token
-- is revoked (the row goes with the token).
CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    token_id   UUID NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
