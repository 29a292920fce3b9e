-- Entra ID providers. `settings` holds everything but the credential, as JSON; the credential
-- is sealed with AES-256-GCM under the installation's secret key (never stored here).
CREATE TABLE providers (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE,
    settings        JSONB NOT NULL,
    credential_kind TEXT NOT NULL,
    credential      BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
