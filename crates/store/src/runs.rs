//! Runs: one record per full sync (or dry run, or direct syncs' held deletes) of a provider,
//! with its typed report. A running run is owned through a lease its node renews; a run whose
//! lease ran out is marked interrupted by whichever node sweeps first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use model::{MemberCounts, OutcomeKind, ProviderId, Run, RunId, RunReport, RunStatus, Trigger};
use serde_json::{Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

use crate::leases::lease_end;
use crate::{Page, Result, Store, StoreError};

macro_rules! run_columns {
    () => {
        "id, provider_id, trigger, dry_run, status, started_at, finished_at, counts, report, error"
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
    report: Option<Json<RunReport>>,
    error: Option<String>,
}

/// A report from the flat counts runs were recorded with before reports were typed.
fn legacy_report(counts: &Map<String, Value>) -> RunReport {
    let number = |key: &str| counts.get(key).and_then(Value::as_u64).unwrap_or(0);
    let mut report = RunReport::default();
    for (key, value) in counts {
        if let (Ok(kind), Some(n)) = (key.parse::<OutcomeKind>(), value.as_u64()) {
            report.add(kind, n);
        }
    }
    report.members = MemberCounts {
        added: number("members_added"),
        removed: number("members_removed"),
        failed: number("members_failed"),
    };
    report.throttle_wait_ms = number("throttled_wait_ms");
    report
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
            report: match row.report {
                Some(Json(report)) => report,
                None => legacy_report(&row.counts.0),
            },
            error: row.error,
        })
    }
}

impl Store {
    /// Records a new run, running, owned by `owner` for `lease` (renew it while it runs).
    pub async fn start_run(
        &self,
        provider: ProviderId,
        trigger: Trigger,
        dry_run: bool,
        owner: &str,
        lease: Duration,
    ) -> Result<Run> {
        let now = self.now().await?;
        let run = Run {
            id: RunId::new(),
            provider_id: provider,
            trigger,
            dry_run,
            status: RunStatus::Running,
            started_at: now,
            finished_at: None,
            report: RunReport::default(),
            error: None,
        };
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO runs (id, provider_id, trigger, dry_run, status, started_at, \
                 finished_at, counts, report, error, owner, lease_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, '{}', $7, NULL, $8, $9)",
            )
            .bind(run.id.as_uuid())
            .bind(provider.as_uuid())
            .bind(trigger.as_str())
            .bind(dry_run)
            .bind(run.status.as_str())
            .bind(run.started_at)
            .bind(Json(&run.report))
            .bind(owner)
            .bind(lease_end(now, lease))
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

    /// Records how the run ended, with its report.
    pub async fn finish_run(
        &self,
        id: RunId,
        status: RunStatus,
        report: &RunReport,
        error: Option<&str>,
    ) -> Result<Run> {
        let now = self.now().await?;
        let row: Option<RunRow> = write_pool!(self, pool, _d => {
            sqlx::query_as(concat!(
                "UPDATE runs SET status = $2, finished_at = $3, report = $4, error = $5, \
                 lease_until = NULL WHERE id = $1 RETURNING ",
                run_columns!()
            ))
            .bind(id.as_uuid())
            .bind(status.as_str())
            .bind(now)
            .bind(Json(report))
            .bind(error)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or_else(|| StoreError::not_found("run", id))?
            .try_into()
    }

    /// Extends the leases of these running runs to `lease` from now. Returns the ones renewed
    /// (a run missing from the answer is no longer running: it was interrupted).
    pub async fn renew_runs(&self, runs: &[RunId], lease: Duration) -> Result<Vec<RunId>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let until = lease_end(self.now().await?, lease);
        let renewed: Vec<Uuid> = write_pool!(self, pool, _d => {
            let mut renew = sqlx::QueryBuilder::new("UPDATE runs SET lease_until = ");
            renew
                .push_bind(until)
                .push(" WHERE status = 'running' AND id IN (");
            let mut separated = renew.separated(", ");
            for run in runs {
                separated.push_bind(run.as_uuid());
            }
            separated.push_unseparated(") RETURNING id");
            renew.build_query_scalar().fetch_all(pool).await?
        });
        Ok(renewed.into_iter().map(RunId::from_uuid).collect())
    }

    /// Marks `interrupted` every running run whose lease ran out: its node died, hung, or lost
    /// its claim. Returns how many.
    pub async fn sweep_runs(&self) -> Result<u64> {
        let now = self.now().await?;
        let swept = write_pool!(self, pool, _d => {
            sqlx::query(
                "UPDATE runs SET status = 'interrupted', finished_at = $1, \
                 error = COALESCE(error, 'the node running it stopped renewing its claim \
                 (it died, hung, or another node took the run over)') \
                 WHERE status = 'running' AND (lease_until IS NULL OR lease_until < $1)",
            )
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(swept)
    }

    /// The provider's dry run being made right now, if any.
    pub async fn running_plan(&self, provider: ProviderId) -> Result<Option<Run>> {
        let row: Option<RunRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_runs!(
                "WHERE provider_id = $1 AND dry_run AND status = 'running' ORDER BY id DESC LIMIT 1"
            ))
            .bind(provider.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        row.map(Run::try_from).transpose()
    }

    /// When the provider's last full sync (not a dry run) that succeeded finished.
    pub async fn last_successful_sync(
        &self,
        provider: ProviderId,
    ) -> Result<Option<DateTime<Utc>>> {
        let at: Option<DateTime<Utc>> = read_pool!(self, pool, _d => {
            sqlx::query_scalar(
                "SELECT MAX(finished_at) FROM runs WHERE provider_id = $1 AND NOT dry_run \
                 AND status = 'succeeded'",
            )
            .bind(provider.as_uuid())
            .fetch_one(pool)
            .await?
        });
        Ok(at)
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

    /// Forgets the runs (and their plans and tallies) that finished before `before`. Returns
    /// how many.
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
