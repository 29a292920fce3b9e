-- What inbound SCIM keeps beside a directory object: the client's own id for it
-- (`externalId`, kept as sent) and the SCIM client (the name of its token) that created it.
-- Objects made by the admin API or an import have no row until a SCIM client writes them.
-- A row goes with its object.

CREATE TABLE scim_users (
    user_id     UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT,
    client      TEXT
);
CREATE INDEX scim_users_external_id ON scim_users (external_id);

CREATE TABLE scim_groups (
    group_id    UUID PRIMARY KEY NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    external_id TEXT,
    client      TEXT
);
CREATE INDEX scim_groups_external_id ON scim_groups (external_id);
