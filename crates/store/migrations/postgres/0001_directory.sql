-- The directory (users, groups, memberships), its change log (the outbox) and API tokens.

CREATE TABLE users (
    id           UUID PRIMARY KEY,
    username     TEXT NOT NULL,
    -- case-folded username: uniqueness regardless of case
    username_key TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    email        TEXT,
    -- lower-cased email, for lookups and substring filters
    email_key    TEXT,
    is_active    BOOLEAN NOT NULL,
    kind         TEXT NOT NULL,
    attributes   JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_email_key ON users (email_key);

CREATE TABLE groups (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,
    attributes JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    group_id UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id, group_id);

-- One row per directory write, committed with it. `seq` comes from change_seq, whose single row
-- every writing transaction locks (by bumping it) just before it commits: writers take numbers
-- in commit order, so a reader that has seen seq N never later finds a new record below N.
CREATE TABLE changes (
    seq        BIGINT PRIMARY KEY,
    kind       TEXT NOT NULL,
    op         TEXT NOT NULL,
    object_id  UUID NOT NULL,
    subject_id UUID,
    at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE change_seq (
    id    INTEGER PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO change_seq (id, value) VALUES (1, 0);

-- Only a SHA-256 of each token is kept.
CREATE TABLE api_tokens (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);
