-- The sync engine's state, per provider: links to remote objects, the snapshot discovery read,
-- where the provider stands (change cursor, health, schedule), the work queue, runs, and how each
-- directory object last fared. Every row goes with its provider.

-- Directory object `object_id` is remote object `remote_id`; `written` is what we last wrote.
-- No foreign key to users or groups: a link outlives its object until the remote side is settled.
CREATE TABLE links (
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    object_id   BLOB NOT NULL,
    remote_id   TEXT NOT NULL,
    written     TEXT NOT NULL,
    synced_at   TEXT NOT NULL,
    PRIMARY KEY (provider_id, kind, object_id),
    UNIQUE (provider_id, kind, remote_id)
);

-- The tenant as discovery last read it, with up to two lower-cased match keys per object.
CREATE TABLE snapshot_objects (
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    remote_id   TEXT NOT NULL,
    properties  TEXT NOT NULL,
    key1        TEXT,
    key2        TEXT,
    PRIMARY KEY (provider_id, kind, remote_id)
);
CREATE INDEX snapshot_objects_key1 ON snapshot_objects (provider_id, kind, key1);
CREATE INDEX snapshot_objects_key2 ON snapshot_objects (provider_id, kind, key2);

-- `change_cursor`: the last change record turned into work. `active`: work may be claimed
-- (enabled and healthy). `next_run_at`: when the schedule fires next (NULL: never).
-- `snapshot_taken_at`: when the last complete snapshot started to be read (NULL: none).
CREATE TABLE provider_state (
    provider_id       BLOB PRIMARY KEY NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    change_cursor     INTEGER NOT NULL,
    active            BOOLEAN NOT NULL,
    health_reason     TEXT,
    next_run_at       TEXT,
    snapshot_taken_at TEXT
);

-- The work queue: one row per object to reconcile, coalesced (a row dirtied again has its
-- `version` bumped). `subject_id` is the user of a membership, else the nil UUID; a full sync's
-- `object_id` is its provider's id. A leased row belongs to `lease_owner` until `lease_until`.
CREATE TABLE work (
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'group', 'member', 'full_sync')),
    object_id   BLOB NOT NULL,
    subject_id  BLOB NOT NULL,
    version     INTEGER NOT NULL,
    run_id      BLOB,
    trigger     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_error  TEXT,
    PRIMARY KEY (provider_id, kind, object_id, subject_id)
);
CREATE INDEX work_by_run_at ON work (run_at);
CREATE INDEX work_by_run ON work (provider_id, run_id);

CREATE TABLE runs (
    id          BLOB PRIMARY KEY NOT NULL,
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    trigger     TEXT NOT NULL,
    dry_run     BOOLEAN NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    counts      TEXT NOT NULL,
    error       TEXT
);
-- Listings are newest first by id (UUIDv7: time-ordered).
CREATE INDEX runs_by_provider ON runs (provider_id, id);

-- How each directory object last fared with the provider.
CREATE TABLE object_states (
    provider_id     BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    object_id       BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('synced', 'failed', 'skipped')),
    outcome         TEXT NOT NULL,
    run_id          BLOB,
    last_attempt_at TEXT NOT NULL,
    last_synced_at  TEXT,
    error_code      TEXT,
    error_message   TEXT,
    request_id      TEXT,
    PRIMARY KEY (provider_id, kind, object_id)
);
CREATE INDEX object_states_by_run ON object_states (run_id);

-- Providers stored before this migration start as if created now: the cursor at the current
-- change, a full sync queued, and (enabled with a running schedule) the schedule due at once, so
-- that its first check computes the real next time (and coalesces with the queued full sync).
INSERT INTO provider_state (provider_id, change_cursor, active, next_run_at)
SELECT p.id,
       (SELECT c.value FROM change_seq c WHERE c.id = 1),
       COALESCE(json_extract(p.settings, '$.enabled'), 0),
       CASE
           WHEN COALESCE(json_extract(p.settings, '$.enabled'), 0)
                AND NOT COALESCE(json_extract(p.settings, '$.schedule.paused'), 0)
           THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
       END
FROM providers p;
INSERT INTO work (provider_id, kind, object_id, subject_id, version, trigger, attempts, run_at)
SELECT p.id, 'full_sync', p.id, X'00000000000000000000000000000000', 1, 'create', 0,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
FROM providers p;
