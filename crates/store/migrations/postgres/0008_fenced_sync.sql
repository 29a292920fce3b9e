-- Sync that holds under overlap, crashes and lag: fenced claims and lanes on the work table,
-- a snapshot per discovery, accidental-delete protection over a rolling window, runs owned
-- through a lease, typed reports and their tallies.

-- The work queue: `claim_token` fences a claim (every renew, completion and retry names it, so
-- a holder whose lease ran out can no longer touch the row); `priority` puts direct syncs (0)
-- before a full sync's rows (1); `members` is a whole group's membership in bulk. Leases taken
-- before this migration are dropped: their holders cannot name a token.
ALTER TABLE work DROP CONSTRAINT work_kind_check;
ALTER TABLE work ADD CONSTRAINT work_kind_check
    CHECK (kind IN ('user', 'group', 'member', 'members', 'full_sync'));
ALTER TABLE work ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE work ADD COLUMN claim_token UUID;
UPDATE work SET lease_owner = NULL, lease_until = NULL,
                priority = CASE WHEN run_id IS NULL THEN 0 ELSE 1 END;
DROP INDEX work_by_run_at;
CREATE INDEX work_by_due ON work (priority, run_at);
CREATE INDEX work_by_claim ON work (claim_token);

-- One snapshot per discovery, never changed once finished: a discovery never disturbs what
-- another run reads. The provider's current snapshot is its last full sync's.
DROP TABLE snapshot_objects;
CREATE TABLE snapshots (
    id          UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('sync', 'plan')),
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX snapshots_by_provider ON snapshots (provider_id);
CREATE TABLE snapshot_objects (
    snapshot_id UUID NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    remote_id   TEXT NOT NULL,
    properties  JSONB NOT NULL,
    key1        TEXT,
    key2        TEXT,
    PRIMARY KEY (snapshot_id, kind, remote_id)
);
CREATE INDEX snapshot_objects_key1 ON snapshot_objects (snapshot_id, kind, key1);
CREATE INDEX snapshot_objects_key2 ON snapshot_objects (snapshot_id, kind, key2);
ALTER TABLE provider_state DROP COLUMN snapshot_taken_at;
ALTER TABLE provider_state ADD COLUMN current_snapshot UUID;

-- `plans_only`: a provider in dry-run mode, whose object rows wait (a plan clears nothing).
-- `degraded_until`/`degraded_reason`: the provider keeps failing (timeouts): its rows wait
-- until then, and its status says why. `delete_allowance`: deletes and disables an approval
-- lets past the threshold.
ALTER TABLE provider_state ADD COLUMN plans_only BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE provider_state ADD COLUMN degraded_until TIMESTAMPTZ;
ALTER TABLE provider_state ADD COLUMN degraded_reason TEXT;
ALTER TABLE provider_state ADD COLUMN delete_allowance BIGINT NOT NULL DEFAULT 0;
UPDATE provider_state s SET plans_only = COALESCE((p.settings ->> 'dry_run')::boolean, false)
FROM providers p WHERE p.id = s.provider_id;

-- Deletes and disables that went ahead, per object, for the rolling window.
CREATE TABLE delete_events (
    provider_id UUID NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    object_id   UUID NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider_id, kind, object_id)
);
CREATE INDEX delete_events_by_time ON delete_events (provider_id, at);

-- A run is owned through a lease its node renews; one whose lease ran out was interrupted.
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN report JSONB;
UPDATE runs SET status = 'interrupted', error = 'the node running it stopped before it finished',
       finished_at = now()
WHERE status = 'running';

-- What a run's items came to, counted as each completes.
CREATE TABLE run_tally (
    run_id UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  BIGINT NOT NULL,
    PRIMARY KEY (run_id, name)
);

CREATE INDEX plan_items_by_object ON plan_items (run_id, object_id);
