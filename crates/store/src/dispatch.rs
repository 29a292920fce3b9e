//! One body of SQL code, expanded once per backend. Inside `$body`, `$pool` is the backend's
//! pool (typed `SqlitePool` or `PgPool`) and `$dialect` the matching [`crate::Dialect`], for the
//! few statements whose SQL differs.

/// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
/// deferred transaction that read first cannot upgrade while another process (a second
/// `entrasync` on the same file) has written, and fails with "database is locked" instead of
/// waiting its turn. PostgreSQL's row locks need no such thing.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

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
                #[allow(unused_imports)]
                use $crate::dispatch::BeginWrite as _;
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Sqlite;
                $body
            }
            $crate::Backend::Postgres($pool) => {
                #[allow(unused_imports)]
                use $crate::dispatch::BeginWrite as _;
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
/// Records go in multi-row statements, so a bulk import costs a few round trips, not one each.
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
            let first = last - count + 1;
            let mut seq = first;
            for chunk in changes.chunks($crate::changes::ROWS_PER_STATEMENT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO changes (seq, kind, op, object_id, subject_id, at) ",
                );
                insert.push_values(chunk, |mut row, change| {
                    row.push_bind(seq)
                        .push_bind(change.kind.as_str())
                        .push_bind(change.op.as_str())
                        .push_bind(change.object_id)
                        .push_bind(change.subject_id)
                        .push_bind(change.at);
                    seq += 1;
                });
                insert.build().execute(&mut *$tx).await?;
            }
        }
    }};
}
