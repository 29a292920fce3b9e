-- The directory (users, groups, memberships), its change log (the outbox) and API tokens.
-- UUIDs are stored as 16-byte blobs, timestamps as RFC 3339 text, JSON as text.

CREATE TABLE users (
    id           BLOB PRIMARY KEY NOT NULL,
    username     TEXT NOT NULL,
    -- case-folded username: uniqueness regardless of case
    username_key TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    email        TEXT,
    -- lower-cased email, for lookups and substring filters
    email_key    TEXT,
    is_active    BOOLEAN NOT NULL,
    kind         TEXT NOT NULL,
    attributes   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX users_email_key ON users (email_key);

CREATE TABLE groups (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE memberships (
    group_id BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id, group_id);

-- One row per directory write, committed with it. `seq` comes from change_seq, which every
-- writing transaction bumps just before it commits, so sequence order is commit order.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    op         TEXT NOT NULL,
    object_id  BLOB NOT NULL,
    subject_id BLOB,
    at         TEXT NOT NULL
);

CREATE TABLE change_seq (
    id    INTEGER PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO change_seq (id, value) VALUES (1, 0);

-- Only a SHA-256 of each token is kept.
CREATE TABLE api_tokens (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
