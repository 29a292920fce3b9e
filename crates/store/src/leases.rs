//! Leases on work rows: claiming due rows (at most one node holds a row), queueing and leasing
//! one row at once (an on-demand sync), renewing, and finishing a row: cleared if nothing
//! dirtied it meanwhile, or deferred after a failure. (The queueing macros come from `work`,
//! declared before this module.)

use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use model::{ProviderId, RunId, Trigger};
use uuid::Uuid;

use crate::{
    Dialect, Result, Store, StoreError,
    rows::now,
    work::{NewWork, WorkItem, WorkKind},
};

#[derive(sqlx::FromRow)]
struct WorkRow {
    provider_id: Uuid,
    kind: String,
    object_id: Uuid,
    subject_id: Uuid,
    version: i64,
    run_id: Option<Uuid>,
    trigger: Option<String>,
    attempts: i32,
    run_at: DateTime<Utc>,
}

impl TryFrom<WorkRow> for WorkItem {
    type Error = StoreError;
    fn try_from(row: WorkRow) -> Result<Self> {
        let corrupt = |what: String| {
            StoreError::Corrupt(format!(
                "work row {} {} of provider {}: {what}",
                row.kind, row.object_id, row.provider_id
            ))
        };
        let kind: WorkKind = row.kind.parse().map_err(corrupt)?;
        Ok(WorkItem {
            provider_id: ProviderId::from_uuid(row.provider_id),
            kind,
            object_id: row.object_id,
            subject_id: (kind == WorkKind::Member).then_some(row.subject_id),
            version: row.version,
            run_id: row.run_id.map(RunId::from_uuid),
            trigger: row
                .trigger
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(corrupt)?,
            attempts: u32::try_from(row.attempts)
                .map_err(|_| corrupt(format!("attempts {}", row.attempts)))?,
        })
    }
}

fn items_from(mut rows: Vec<WorkRow>) -> Result<Vec<WorkItem>> {
    // RETURNING gives no order; hand out the oldest first.
    rows.sort_by_key(|row| row.run_at);
    rows.into_iter().map(WorkItem::try_from).collect()
}

/// When a lease taken at `at` runs out, at the precision both backends keep (and capped at a
/// century, so that SQLite's text timestamps keep comparing in time order).
fn lease_end(at: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    let century = TimeDelta::days(36_525);
    let lease = TimeDelta::from_std(lease).map_or(century, |lease| lease.min(century));
    (at + lease).trunc_subsecs(6)
}

/// The key of one work row: `$1` provider, `$2` kind, `$3` object, `$4` subject.
macro_rules! where_item {
    () => {
        "WHERE provider_id = $1 AND kind = $2 AND object_id = $3 AND subject_id = $4"
    };
}

macro_rules! claim_sql {
    ($kind:literal, $lock:literal) => {
        concat!(
            "UPDATE work SET lease_owner = $1, lease_until = $2 \
             WHERE (provider_id, kind, object_id, subject_id) IN ( \
               SELECT w.provider_id, w.kind, w.object_id, w.subject_id FROM work w \
               WHERE ",
            $kind,
            " AND w.run_at <= $3 AND (w.lease_until IS NULL OR w.lease_until < $3) \
               AND EXISTS (SELECT 1 FROM provider_state s \
                           WHERE s.provider_id = w.provider_id AND s.active) \
               ORDER BY w.run_at LIMIT $4",
            $lock,
            ") RETURNING provider_id, kind, object_id, subject_id, version, run_id, trigger, \
             attempts, run_at"
        )
    };
}

const CLAIM_WORK_SQLITE: &str = claim_sql!("w.kind <> 'full_sync'", "");
const CLAIM_WORK_POSTGRES: &str = claim_sql!("w.kind <> 'full_sync'", " FOR UPDATE SKIP LOCKED");
const CLAIM_FULL_SYNC_SQLITE: &str = claim_sql!("w.kind = 'full_sync'", "");
const CLAIM_FULL_SYNC_POSTGRES: &str =
    claim_sql!("w.kind = 'full_sync'", " FOR UPDATE SKIP LOCKED");

impl Store {
    /// Leases up to `limit` due object rows (not full syncs) of active providers to `owner` for
    /// `lease`, oldest first. A row leased to a node is not handed to another until the lease
    /// runs out; on PostgreSQL, concurrent claimers skip each other's rows.
    pub async fn claim_work(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<WorkItem>> {
        let at = now();
        let rows: Vec<WorkRow> = write_pool!(self, pool, dialect => {
            let claim = match dialect {
                Dialect::Sqlite => CLAIM_WORK_SQLITE,
                Dialect::Postgres => CLAIM_WORK_POSTGRES,
            };
            sqlx::query_as(claim)
                .bind(owner)
                .bind(lease_end(at, lease))
                .bind(at)
                .bind(i64::from(limit.max(1)))
                .fetch_all(pool)
                .await?
        });
        items_from(rows)
    }

    /// Leases one due full sync of an active provider to `owner` for `lease`.
    pub async fn claim_full_sync(&self, owner: &str, lease: Duration) -> Result<Option<WorkItem>> {
        let at = now();
        let rows: Vec<WorkRow> = write_pool!(self, pool, dialect => {
            let claim = match dialect {
                Dialect::Sqlite => CLAIM_FULL_SYNC_SQLITE,
                Dialect::Postgres => CLAIM_FULL_SYNC_POSTGRES,
            };
            sqlx::query_as(claim)
                .bind(owner)
                .bind(lease_end(at, lease))
                .bind(at)
                .bind(1_i64)
                .fetch_all(pool)
                .await?
        });
        Ok(items_from(rows)?.into_iter().next())
    }

    /// Queues this one user or group and leases its row to `owner` at once, so that no worker
    /// reconciles it meanwhile (`None`: another worker holds it right now; try again shortly).
    /// An on-demand sync of one object goes through this, like every other reconcile.
    pub async fn claim_object(
        &self,
        provider: ProviderId,
        kind: WorkKind,
        object: Uuid,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<WorkItem>> {
        self.queue_and_claim(provider, NewWork::object(kind, object), owner, lease)
            .await
    }

    /// Queues a full sync of the provider and leases it to `owner` at once (`None`: another
    /// node is running this provider's full sync right now; ask again when it is done). What an
    /// administrator's "sync now, here" uses, so that no other node takes the request over.
    pub async fn claim_full_sync_now(
        &self,
        provider: ProviderId,
        trigger: Trigger,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<WorkItem>> {
        self.queue_and_claim(
            provider,
            NewWork::full_sync(provider, trigger),
            owner,
            lease,
        )
        .await
    }

    /// Queues `work` (or dirties its row again) and leases the row to `owner`, in one
    /// transaction, unless another owner's lease on it still runs.
    async fn queue_and_claim(
        &self,
        provider: ProviderId,
        work: NewWork,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<WorkItem>> {
        let at = now();
        let rows: Vec<WorkRow> = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            require_provider_state!(tx, dialect, provider);
            enqueue_work!(tx, provider, &[work], at);
            let rows = sqlx::query_as(
                "UPDATE work SET lease_owner = $5, lease_until = $6 \
                 WHERE provider_id = $1 AND kind = $2 AND object_id = $3 AND subject_id = $4 \
                 AND (lease_until IS NULL OR lease_until < $7) \
                 RETURNING provider_id, kind, object_id, subject_id, version, run_id, trigger, \
                 attempts, run_at",
            )
            .bind(provider.as_uuid())
            .bind(work.kind.as_str())
            .bind(work.object_id)
            .bind(work.subject_id)
            .bind(owner)
            .bind(lease_end(at, lease))
            .bind(at)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows
        });
        Ok(items_from(rows)?.into_iter().next())
    }

    /// Extends `owner`'s lease on the row. False when the lease was lost (the row was claimed by
    /// another owner, or is gone).
    pub async fn renew_lease(&self, item: &WorkItem, owner: &str, lease: Duration) -> Result<bool> {
        let renewed = write_pool!(self, pool, _d => {
            sqlx::query(concat!(
                "UPDATE work SET lease_until = $6 ", where_item!(), " AND lease_owner = $5"
            ))
            .bind(item.provider_id.as_uuid())
            .bind(item.kind.as_str())
            .bind(item.object_id)
            .bind(item.subject_id.unwrap_or(Uuid::nil()))
            .bind(owner)
            .bind(lease_end(now(), lease))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(renewed == 1)
    }

    /// Done with the row: deletes it, unless it was dirtied again while worked on (its version
    /// moved), in which case it is released, due again, and this returns false.
    pub async fn complete_work(&self, item: &WorkItem) -> Result<bool> {
        let completed = write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query(concat!(
                "DELETE FROM work ", where_item!(), " AND version = $5"
            ))
            .bind(item.provider_id.as_uuid())
            .bind(item.kind.as_str())
            .bind(item.object_id)
            .bind(item.subject_id.unwrap_or(Uuid::nil()))
            .bind(item.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted == 0 {
                sqlx::query(concat!(
                    "UPDATE work SET lease_owner = NULL, lease_until = NULL ", where_item!()
                ))
                .bind(item.provider_id.as_uuid())
                .bind(item.kind.as_str())
                .bind(item.object_id)
                .bind(item.subject_id.unwrap_or(Uuid::nil()))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            deleted == 1
        });
        Ok(completed)
    }

    /// The attempt failed: releases the row, due again at `run_at`, with one more attempt and
    /// `error` recorded. A row dirtied again meanwhile is released due now, attempts reset.
    pub async fn retry_work(
        &self,
        item: &WorkItem,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            let deferred = sqlx::query(concat!(
                "UPDATE work SET attempts = attempts + 1, run_at = $6, last_error = $7, \
                 lease_owner = NULL, lease_until = NULL ", where_item!(), " AND version = $5"
            ))
            .bind(item.provider_id.as_uuid())
            .bind(item.kind.as_str())
            .bind(item.object_id)
            .bind(item.subject_id.unwrap_or(Uuid::nil()))
            .bind(item.version)
            .bind(run_at)
            .bind(error)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deferred == 0 {
                sqlx::query(concat!(
                    "UPDATE work SET attempts = 0, run_at = $5, lease_owner = NULL, \
                     lease_until = NULL ", where_item!()
                ))
                .bind(item.provider_id.as_uuid())
                .bind(item.kind.as_str())
                .bind(item.object_id)
                .bind(item.subject_id.unwrap_or(Uuid::nil()))
                .bind(now())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
