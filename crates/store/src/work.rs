//! The work queue: one row per directory object a provider must reconcile, coalesced (an object
//! dirtied again while queued has its row's `version` bumped, not a second row), leased by the
//! node working on it so that no two nodes reconcile the same object at once.

use std::{collections::HashSet, fmt, str::FromStr};

use model::{ObjectKind, ProviderId, RunId, Trigger};
use uuid::Uuid;

use crate::{
    Result, Store, StoreError,
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
