-- A dry run's plan: per directory object, the remote operations a real run would perform.
CREATE TABLE plan_items (
    run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    object_kind text NOT NULL,
    object_id   uuid NOT NULL,
    object_name text NOT NULL,
    operations  jsonb NOT NULL,
    PRIMARY KEY (run_id, seq)
);
