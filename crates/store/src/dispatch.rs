//! One body of SQL code, expanded once per backend. Inside `$body`, `$pool` is the backend's
//! pool (typed `SqlitePool` or `PgPool`) and `$dialect` the matching [`crate::Dialect`], for the
//! few statements whose SQL differs.

/// Runs `$body` against the pool that serves reads.
macro_rules! read_pool {
    ($store:expr, $pool:ident, $dialect:ident => $body:block) => {
        match &$store.backend {
            $crate::Backend::Sqlite { read: $pool, .. } => {
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Sqlite;
                $body
            }
            $crate::Backend::Postgres($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Postgres;
                $body
            }
        }
    };
}

/// Runs `$body` against the pool that serves writes.
macro_rules! write_pool {
    ($store:expr, $pool:ident, $dialect:ident => $body:block) => {
        match &$store.backend {
            $crate::Backend::Sqlite { write: $pool, .. } => {
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Sqlite;
                $body
            }
            $crate::Backend::Postgres($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Postgres;
                $body
            }
        }
    };
}

/// Appends change records inside the open transaction `$tx`. It takes the sequence numbers by
/// bumping the single `change_seq` row, which holds that row's lock until commit: numbers are
/// handed out in commit order. Call it last, just before commit, to keep that lock short.
macro_rules! append_changes {
    ($tx:expr, $changes:expr) => {{
        let changes: &[$crate::changes::PendingChange] = $changes;
        if !changes.is_empty() {
            let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
            let last: i64 = sqlx::query_scalar(
                "UPDATE change_seq SET value = value + $1 WHERE id = 1 RETURNING value",
            )
            .bind(count)
            .fetch_one(&mut *$tx)
            .await?;
            let mut seq = last - count;
            for change in changes {
                seq += 1;
                sqlx::query(
                    "INSERT INTO changes (seq, kind, op, object_id, subject_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(seq)
                .bind(change.kind.as_str())
                .bind(change.op.as_str())
                .bind(change.object_id)
                .bind(change.subject_id)
                .bind(change.at)
                .execute(&mut *$tx)
                .await?;
            }
        }
    }};
}
