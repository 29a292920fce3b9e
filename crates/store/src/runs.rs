//! Runs: one record per full sync (or dry run) of a provider.

use chrono::{DateTime, Utc};
use model::{ProviderId, Run, RunId, RunStatus, Trigger};
use serde_json::{Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Page, Result, Store, StoreError, rows::now};

macro_rules! run_columns {
    () => {
        "id, provider_id, trigger, dry_run, status, started_at, finished_at, counts, error"
    };
}

macro_rules! select_runs {
    ($tail:literal) => {
        concat!("SELECT ", run_columns!(), " FROM runs ", $tail)
    };
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: Uuid,
    provider_id: Uuid,
    trigger: String,
    dry_run: bool,
    status: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    counts: Json<Map<String, Value>>,
    error: Option<String>,
}

impl TryFrom<RunRow> for Run {
    type Error = StoreError;
    fn try_from(row: RunRow) -> Result<Self> {
        let corrupt = |what: String| StoreError::Corrupt(format!("run {}: {what}", row.id));
        Ok(Run {
            id: RunId::from_uuid(row.id),
            provider_id: ProviderId::from_uuid(row.provider_id),
            trigger: row.trigger.parse().map_err(corrupt)?,
            dry_run: row.dry_run,
            status: row.status.parse().map_err(corrupt)?,
            started_at: row.started_at,
            finished_at: row.finished_at,
            counts: row.counts.0,
            error: row.error,
        })
    }
}

impl Store {
    /// Records a new run, running.
    pub async fn start_run(
        &self,
        provider: ProviderId,
        trigger: Trigger,
        dry_run: bool,
    ) -> Result<Run> {
        let run = Run {
            id: RunId::new(),
            provider_id: provider,
            trigger,
            dry_run,
            status: RunStatus::Running,
            started_at: now(),
            finished_at: None,
            counts: Map::new(),
            error: None,
        };
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO runs (id, provider_id, trigger, dry_run, status, started_at, \
                 finished_at, counts, error) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, NULL)",
            )
            .bind(run.id.as_uuid())
            .bind(provider.as_uuid())
            .bind(trigger.as_str())
            .bind(dry_run)
            .bind(run.status.as_str())
            .bind(run.started_at)
            .bind(Json(&run.counts))
            .execute(pool)
            .await
            .map_err(|err| match &err {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::not_found("provider", provider)
                }
                _ => err.into(),
            })?;
        });
        Ok(run)
    }

    /// Records how the run ended.
    pub async fn finish_run(
        &self,
        id: RunId,
        status: RunStatus,
        counts: Map<String, Value>,
        error: Option<&str>,
    ) -> Result<Run> {
        let row: Option<RunRow> = write_pool!(self, pool, _d => {
            sqlx::query_as(concat!(
                "UPDATE runs SET status = $2, finished_at = $3, counts = $4, error = $5 \
                 WHERE id = $1 RETURNING ",
                run_columns!()
            ))
            .bind(id.as_uuid())
            .bind(status.as_str())
            .bind(now())
            .bind(Json(&counts))
            .bind(error)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or_else(|| StoreError::not_found("run", id))?
            .try_into()
    }

    pub async fn get_run(&self, id: RunId) -> Result<Run> {
        let row: Option<RunRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_runs!("WHERE id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("run", id))?
            .try_into()
    }

    /// One keyset page of the provider's runs, newest first: `page.after` is the last run of
    /// the previous page.
    pub async fn list_runs(&self, provider: ProviderId, page: Page) -> Result<Vec<Run>> {
        let rows: Vec<RunRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_runs!(
                "WHERE provider_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
            ))
            .bind(provider.as_uuid())
            // Run ids are UUIDv7: newer runs have greater ids, and every id is below the max.
            .bind(page.after.unwrap_or(Uuid::max()))
            .bind(page.sql_limit())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Run::try_from).collect()
    }

    /// Forgets the runs (and their plans) that finished before `before`. Returns how many.
    pub async fn prune_runs(&self, before: DateTime<Utc>) -> Result<u64> {
        let pruned = write_pool!(self, pool, _d => {
            sqlx::query("DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(pruned)
    }
}
