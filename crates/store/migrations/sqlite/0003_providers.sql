-- Entra ID providers. `settings` holds everything but the credential, as JSON; the credential
-- is sealed with AES-256-GCM under the installation's secret key (never stored here).
CREATE TABLE providers (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE,
    settings        TEXT NOT NULL,
    credential_kind TEXT NOT NULL,
    credential      BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
