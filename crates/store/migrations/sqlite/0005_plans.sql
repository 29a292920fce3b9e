-- A dry run's plan: per directory object, the remote operations a real run would perform.
CREATE TABLE plan_items (
    run_id      BLOB NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    object_kind TEXT NOT NULL,
    object_id   BLOB NOT NULL,
    object_name TEXT NOT NULL,
    operations  TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
