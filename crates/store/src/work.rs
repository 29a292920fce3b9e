//! The work queue: one row per directory object a provider must reconcile, coalesced (an object
//! dirtied again while queued has its row's `version` bumped, not a second row), leased by the
//! node working on it so that no two nodes reconcile the same object at once.

use std::{collections::HashSet, fmt, str::FromStr, time::Duration};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use model::{ObjectKind, ProviderId, RunId, Trigger};
use uuid::Uuid;

use crate::{
    Dialect, Result, Store, StoreError,
    rows::{ChangeRow, now},
};

/// What a work row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// Reconcile one user.
    User,
    /// Reconcile one group (its properties).
    Group,
    /// Reconcile one membership (a group and a user).
    Member,
    /// Run a full sync of the provider.
    FullSync,
}

impl WorkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::User => "user",
            WorkKind::Group => "group",
            WorkKind::Member => "member",
            WorkKind::FullSync => "full_sync",
        }
    }
}

impl fmt::Display for WorkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(WorkKind::User),
            "group" => Ok(WorkKind::Group),
            "member" => Ok(WorkKind::Member),
            "full_sync" => Ok(WorkKind::FullSync),
            other => Err(format!("unknown work kind {other:?}")),
        }
    }
}

/// A claimed work row. Hand it back to [`Store::complete_work`] or [`Store::retry_work`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub provider_id: ProviderId,
    pub kind: WorkKind,
    /// The user or group (for a membership, the group; for a full sync, the provider).
    pub object_id: Uuid,
    /// For a membership, the user.
    pub subject_id: Option<Uuid>,
    /// Bumped each time the row is dirtied again; completing an outdated version keeps the row.
    pub version: i64,
    /// The run that queued it, if a full sync did.
    pub run_id: Option<RunId>,
    /// For a full sync, what asked for it.
    pub trigger: Option<Trigger>,
    /// Failed attempts since the row was last dirtied.
    pub attempts: u32,
}

/// A row to queue (or to dirty again, when it is queued already).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NewWork {
    pub kind: WorkKind,
    pub object_id: Uuid,
    /// The user of a membership; the nil UUID otherwise (it is part of the key).
    pub subject_id: Uuid,
    pub run_id: Option<Uuid>,
    pub trigger: Option<Trigger>,
}

impl NewWork {
    pub fn object(kind: WorkKind, object_id: Uuid) -> Self {
        Self {
            kind,
            object_id,
            subject_id: Uuid::nil(),
            run_id: None,
            trigger: None,
        }
    }

    pub fn member(group: Uuid, user: Uuid) -> Self {
        Self {
            subject_id: user,
            ..Self::object(WorkKind::Member, group)
        }
    }

    pub fn full_sync(provider: ProviderId, trigger: Trigger) -> Self {
        Self {
            trigger: Some(trigger),
            ..Self::object(WorkKind::FullSync, provider.as_uuid())
        }
    }
}

/// What `ON CONFLICT` does to a queued row that is queued again: a new version, due now, its
/// failures forgotten; run and trigger replaced when the new row names them. The lease stays:
/// the holder's completion will see the new version and leave the row queued.
macro_rules! requeue_clause {
    () => {
        " ON CONFLICT (provider_id, kind, object_id, subject_id) DO UPDATE SET \
         version = work.version + 1, run_at = excluded.run_at, attempts = 0, last_error = NULL, \
         run_id = COALESCE(excluded.run_id, work.run_id), \
         trigger = COALESCE(excluded.trigger, work.trigger)"
    };
}

/// Queues `$rows` (a `&[NewWork]` without repeats) for `$provider` in the open transaction, due
/// at `$at`, in multi-row statements. Evaluates to the number of rows queued or dirtied again.
macro_rules! enqueue_work {
    ($tx:expr, $provider:expr, $rows:expr, $at:expr) => {{
        let provider: model::ProviderId = $provider;
        let rows: &[$crate::work::NewWork] = $rows;
        let at: chrono::DateTime<chrono::Utc> = $at;
        let mut queued: u64 = 0;
        for chunk in rows.chunks($crate::changes::ROWS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO work (provider_id, kind, object_id, subject_id, version, run_id, \
                 trigger, attempts, run_at) ",
            );
            insert.push_values(chunk, |mut row, work| {
                row.push_bind(provider.as_uuid())
                    .push_bind(work.kind.as_str())
                    .push_bind(work.object_id)
                    .push_bind(work.subject_id)
                    .push_bind(1_i64)
                    .push_bind(work.run_id)
                    .push_bind(work.trigger.map(|trigger| trigger.as_str()))
                    .push_bind(0_i32)
                    .push_bind(at);
            });
            insert.push($crate::work::requeue_clause!());
            queued += insert.build().execute(&mut *$tx).await?.rows_affected();
        }
        queued
    }};
}

pub(crate) use requeue_clause;

/// Reads the provider's change cursor in the open transaction (`None`: no such provider). On
/// PostgreSQL it locks the provider's state row: writers that queue many rows of one provider
/// (the change feed, `enqueue_all`) take it first, so they queue one after the other instead of
/// deadlocking on each other's rows.
macro_rules! lock_provider_state {
    ($tx:expr, $dialect:expr, $provider:expr) => {{
        let provider: model::ProviderId = $provider;
        let select = match $dialect {
            $crate::Dialect::Sqlite => {
                "SELECT change_cursor FROM provider_state WHERE provider_id = $1"
            }
            $crate::Dialect::Postgres => {
                "SELECT change_cursor FROM provider_state WHERE provider_id = $1 FOR UPDATE"
            }
        };
        let cursor: Option<i64> = sqlx::query_scalar(select)
            .bind(provider.as_uuid())
            .fetch_optional(&mut *$tx)
            .await?;
        cursor
    }};
}

/// Like [`lock_provider_state!`], failing the call with NotFound when there is no such provider.
macro_rules! require_provider_state {
    ($tx:expr, $dialect:expr, $provider:expr) => {{
        let provider: model::ProviderId = $provider;
        lock_provider_state!($tx, $dialect, provider)
            .ok_or_else(|| $crate::StoreError::not_found("provider", provider))?
    }};
}

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

/// The work rows one batch of change records asks for, without repeats, in first-seen order:
/// a user or group change dirties that object; a membership change dirties the membership and
/// the user (whose document may read its groups).
fn work_for_changes(changes: &[ChangeRow]) -> Result<Vec<NewWork>> {
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    let mut push = |work: NewWork| {
        if seen.insert(work) {
            rows.push(work);
        }
    };
    for change in changes {
        let kind: ObjectKind = change.kind.parse().map_err(StoreError::Corrupt)?;
        match kind {
            ObjectKind::User => push(NewWork::object(WorkKind::User, change.object_id)),
            ObjectKind::Group => push(NewWork::object(WorkKind::Group, change.object_id)),
            ObjectKind::Membership => {
                let user = change.subject_id.ok_or_else(|| {
                    StoreError::Corrupt(format!("membership change {} has no user", change.seq))
                })?;
                push(NewWork::member(change.object_id, user));
                push(NewWork::object(WorkKind::User, user));
            }
        }
    }
    Ok(rows)
}

/// Providers read per page when walking every provider.
pub(crate) const PROVIDERS_PER_PAGE: u32 = 100;

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
    /// Queues a full sync of the provider (or dirties the one queued already).
    pub async fn request_full_sync(&self, provider: ProviderId, trigger: Trigger) -> Result<()> {
        write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            require_provider_state!(tx, dialect, provider);
            enqueue_work!(tx, provider, &[NewWork::full_sync(provider, trigger)], now());
            tx.commit().await?;
        });
        Ok(())
    }

    /// Turns the change records each provider has not seen yet (at most `limit` per provider)
    /// into work rows, and moves the provider's cursor past them, in one transaction per
    /// provider. Returns how many rows were queued or dirtied again.
    pub async fn feed_changes(&self, limit: u32) -> Result<u64> {
        let limit = i64::from(limit.max(1));
        let mut queued = 0;
        let mut after = Uuid::nil();
        loop {
            let providers: Vec<Uuid> = read_pool!(self, pool, _d => {
                sqlx::query_scalar(
                    "SELECT provider_id FROM provider_state WHERE provider_id > $1 \
                     ORDER BY provider_id LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(PROVIDERS_PER_PAGE))
                .fetch_all(pool)
                .await?
            });
            for provider in &providers {
                queued += self
                    .feed_provider(ProviderId::from_uuid(*provider), limit)
                    .await?;
            }
            match providers.last() {
                Some(last) if providers.len() >= PROVIDERS_PER_PAGE as usize => after = *last,
                _ => break,
            }
        }
        Ok(queued)
    }

    async fn feed_provider(&self, provider: ProviderId, limit: i64) -> Result<u64> {
        let queued = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            // None: deleted since the providers were listed.
            let Some(cursor) = lock_provider_state!(tx, dialect, provider) else { return Ok(0) };
            let changes: Vec<ChangeRow> = sqlx::query_as(
                "SELECT seq, kind, op, object_id, subject_id, at FROM changes \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(cursor)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = changes.last().map(|change| change.seq) else { return Ok(0) };
            let rows = work_for_changes(&changes)?;
            let queued = enqueue_work!(tx, provider, &rows, now());
            sqlx::query("UPDATE provider_state SET change_cursor = $2 WHERE provider_id = $1")
                .bind(provider.as_uuid())
                .bind(last)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            queued
        });
        Ok(queued)
    }

    /// Queues these users or groups of the provider for a reconcile (after an approval of held
    /// deletes, say). Returns how many rows were queued or dirtied again.
    pub async fn enqueue_objects(
        &self,
        provider: ProviderId,
        kind: WorkKind,
        ids: &[Uuid],
    ) -> Result<u64> {
        let mut queued = 0;
        for chunk in ids.chunks(500) {
            let rows: Vec<NewWork> = chunk.iter().map(|id| NewWork::object(kind, *id)).collect();
            queued += write_pool!(self, pool, dialect => {
                let mut tx = pool.begin_write().await?;
                require_provider_state!(tx, dialect, provider);
                let queued = enqueue_work!(tx, provider, &rows, now());
                tx.commit().await?;
                queued
            });
        }
        Ok(queued)
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
        let at = now();
        let rows: Vec<WorkRow> = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            require_provider_state!(tx, dialect, provider);
            enqueue_work!(tx, provider, &[NewWork::object(kind, object)], at);
            let rows = sqlx::query_as(
                "UPDATE work SET lease_owner = $5, lease_until = $6 \
                 WHERE provider_id = $1 AND kind = $2 AND object_id = $3 AND subject_id = $4 \
                 AND (lease_until IS NULL OR lease_until < $7) \
                 RETURNING provider_id, kind, object_id, subject_id, version, run_id, trigger, \
                 attempts, run_at",
            )
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(object)
            .bind(Uuid::nil())
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

    /// Queues, for run `run`, every user, every group, and every linked object whose directory
    /// object is gone (its remote twin must be deleted or left). Runs in the database: memory
    /// stays flat however large the directory. Returns how many rows were queued or dirtied.
    pub async fn enqueue_all(&self, provider: ProviderId, run: RunId) -> Result<u64> {
        const USERS: &str = concat!(
            "INSERT INTO work (provider_id, kind, object_id, subject_id, version, run_id, \
             trigger, attempts, run_at) \
             SELECT $1, 'user', u.id, $2, 1, $3, NULL, 0, $4 FROM users u WHERE true",
            requeue_clause!()
        );
        const GROUPS: &str = concat!(
            "INSERT INTO work (provider_id, kind, object_id, subject_id, version, run_id, \
             trigger, attempts, run_at) \
             SELECT $1, 'group', g.id, $2, 1, $3, NULL, 0, $4 FROM groups g WHERE true",
            requeue_clause!()
        );
        const ORPHANS: &str = concat!(
            "INSERT INTO work (provider_id, kind, object_id, subject_id, version, run_id, \
             trigger, attempts, run_at) \
             SELECT $1, l.kind, l.object_id, $2, 1, $3, NULL, 0, $4 FROM links l \
             WHERE l.provider_id = $1 AND ( \
               (l.kind = 'user' AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = l.object_id)) \
               OR (l.kind = 'group' \
                   AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = l.object_id)))",
            requeue_clause!()
        );
        let at = now();
        let queued = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            require_provider_state!(tx, dialect, provider);
            let mut queued = 0;
            for statement in [USERS, GROUPS, ORPHANS] {
                queued += sqlx::query(statement)
                    .bind(provider.as_uuid())
                    .bind(Uuid::nil())
                    .bind(run.as_uuid())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            queued
        });
        Ok(queued)
    }

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
        let at = now();
        let rows: Vec<WorkRow> = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            require_provider_state!(tx, dialect, provider);
            enqueue_work!(tx, provider, &[NewWork::full_sync(provider, trigger)], at);
            let rows = sqlx::query_as(
                "UPDATE work SET lease_owner = $4, lease_until = $5 \
                 WHERE provider_id = $1 AND kind = 'full_sync' AND object_id = $2 \
                 AND subject_id = $3 AND (lease_until IS NULL OR lease_until < $6) \
                 RETURNING provider_id, kind, object_id, subject_id, version, run_id, trigger, \
                 attempts, run_at",
            )
            .bind(provider.as_uuid())
            .bind(provider.as_uuid())
            .bind(Uuid::nil())
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

    /// Object rows (not full syncs) of the provider still queued for run `run`.
    pub async fn pending_work(&self, provider: ProviderId, run: RunId) -> Result<u64> {
        let count: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM work \
                 WHERE provider_id = $1 AND run_id = $2 AND kind <> 'full_sync'",
            )
            .bind(provider.as_uuid())
            .bind(run.as_uuid())
            .fetch_one(pool)
            .await?
        });
        Ok(count.unsigned_abs())
    }

    /// Every object row (not full syncs) of the provider still queued.
    pub async fn queued_work(&self, provider: ProviderId) -> Result<u64> {
        let count: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM work WHERE provider_id = $1 AND kind <> 'full_sync'",
            )
            .bind(provider.as_uuid())
            .fetch_one(pool)
            .await?
        });
        Ok(count.unsigned_abs())
    }
}
