//! The work queue: one row per item a provider must reconcile, coalesced (an item dirtied
//! again while queued has its row's `version` bumped, not a second row), in two lanes (direct
//! syncs before a full sync's rows), and claimed by one node at a time (see `leases`).

use std::{collections::HashSet, fmt, str::FromStr};

use engine::Item;
use model::{GroupId, ObjectKind, ProviderId, RunId, Trigger, UserId};
use uuid::Uuid;

use crate::{Result, Store, StoreError, rows::ChangeRow};

/// The kind of a work row, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    User,
    Group,
    /// One membership (a group and a user).
    Member,
    /// A group's members in bulk.
    Members,
    FullSync,
}

impl WorkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::User => "user",
            WorkKind::Group => "group",
            WorkKind::Member => "member",
            WorkKind::Members => "members",
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
            "members" => Ok(WorkKind::Members),
            "full_sync" => Ok(WorkKind::FullSync),
            other => Err(format!("unknown work kind {other:?}")),
        }
    }
}

/// What a work row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// Reconcile an item (a direct sync, or one of a full sync's).
    Item(Item),
    /// Run a full sync of the provider.
    FullSync { trigger: Trigger },
}

/// The lane a row waits in: direct syncs first, so that a leaver's disable never waits behind
/// a full sync's backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    Direct = 0,
    FullSync = 1,
}

impl Lane {
    /// Its name in metrics and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Direct => "direct",
            Lane::FullSync => "full_sync",
        }
    }
}

/// A claim on a row. Every renew, completion and retry names it, and does nothing when the row
/// was claimed again since: a holder whose lease ran out cannot touch the new holder's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClaimToken(Uuid);

impl ClaimToken {
    pub(crate) fn new() -> Self {
        Self(Uuid::new_v4())
    }

    pub(crate) fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A claimed work row. Hand it back to [`Store::complete_work`], [`Store::retry_work`] or
/// [`Store::release_work`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub provider_id: ProviderId,
    pub work: Work,
    /// Bumped each time the row is dirtied again; completing an outdated version keeps the row.
    pub version: i64,
    /// The run whose items include it, if a full sync queued it (for a full sync row: none).
    pub run_id: Option<RunId>,
    /// Failed attempts since the row was last dirtied.
    pub attempts: u32,
    pub claim: ClaimToken,
    /// When the claim runs out unless renewed (by the store's clock).
    pub lease_until: chrono::DateTime<chrono::Utc>,
    /// When the row was last due: when it was last dirtied (a change fed in), or the time a
    /// retry was put off to.
    pub run_at: chrono::DateTime<chrono::Utc>,
}

impl WorkItem {
    /// The row's key: kind, object and subject (the nil UUID when there is none).
    pub(crate) fn key(&self) -> (WorkKind, Uuid, Uuid) {
        NewWork::of(self.provider_id, self.work, None).key()
    }
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
    pub lane: Lane,
}

impl NewWork {
    /// The row for `work` of `provider`, queued for `run` (a full sync's lane) or not.
    pub fn of(provider: ProviderId, work: Work, run: Option<RunId>) -> Self {
        let lane = if run.is_some() {
            Lane::FullSync
        } else {
            Lane::Direct
        };
        let (kind, object_id, subject_id, trigger) = match work {
            Work::Item(Item::User(id)) => (WorkKind::User, id.as_uuid(), Uuid::nil(), None),
            Work::Item(Item::Group(id)) => (WorkKind::Group, id.as_uuid(), Uuid::nil(), None),
            Work::Item(Item::Membership { group, user }) => {
                (WorkKind::Member, group.as_uuid(), user.as_uuid(), None)
            }
            Work::Item(Item::Members(id)) => (WorkKind::Members, id.as_uuid(), Uuid::nil(), None),
            Work::FullSync { trigger } => (
                WorkKind::FullSync,
                provider.as_uuid(),
                Uuid::nil(),
                Some(trigger),
            ),
        };
        Self {
            kind,
            object_id,
            subject_id,
            run_id: run.map(|run| run.as_uuid()),
            trigger,
            lane,
        }
    }

    pub fn full_sync(provider: ProviderId, trigger: Trigger) -> Self {
        Self::of(provider, Work::FullSync { trigger }, None)
    }

    pub fn key(&self) -> (WorkKind, Uuid, Uuid) {
        (self.kind, self.object_id, self.subject_id)
    }
}

/// The work a stored row asks for.
pub(crate) fn work_of(
    kind: WorkKind,
    object_id: Uuid,
    subject_id: Uuid,
    trigger: Option<Trigger>,
) -> Work {
    match kind {
        WorkKind::User => Work::Item(Item::User(UserId::from_uuid(object_id))),
        WorkKind::Group => Work::Item(Item::Group(GroupId::from_uuid(object_id))),
        WorkKind::Member => Work::Item(Item::Membership {
            group: GroupId::from_uuid(object_id),
            user: UserId::from_uuid(subject_id),
        }),
        WorkKind::Members => Work::Item(Item::Members(GroupId::from_uuid(object_id))),
        WorkKind::FullSync => Work::FullSync {
            trigger: trigger.unwrap_or(Trigger::Manual),
        },
    }
}

/// What `ON CONFLICT` does to a queued row that is queued again: a new version, due now, its
/// failures forgotten, in the faster of the two lanes; run and trigger replaced when the new row
/// names them. The claim stays: the holder's completion will see the new version and leave the
/// row queued.
macro_rules! requeue_clause {
    () => {
        " ON CONFLICT (provider_id, kind, object_id, subject_id) DO UPDATE SET \
         version = work.version + 1, run_at = excluded.run_at, attempts = 0, last_error = NULL, \
         priority = CASE WHEN excluded.priority < work.priority \
           THEN excluded.priority ELSE work.priority END, \
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
                 trigger, attempts, run_at, priority) ",
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
                    .push_bind(at)
                    .push_bind(work.lane as i32);
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
/// (the change feed, a full sync's enqueue) take it first, so they queue one after the other
/// instead of deadlocking on each other's rows.
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
fn work_for_changes(provider: ProviderId, changes: &[ChangeRow]) -> Result<Vec<NewWork>> {
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    let mut push = |item: Item| {
        let work = NewWork::of(provider, Work::Item(item), None);
        if seen.insert(work) {
            rows.push(work);
        }
    };
    for change in changes {
        let kind: ObjectKind = change.kind.parse().map_err(StoreError::Corrupt)?;
        match kind {
            ObjectKind::User => push(Item::User(UserId::from_uuid(change.object_id))),
            ObjectKind::Group => push(Item::Group(GroupId::from_uuid(change.object_id))),
            ObjectKind::Membership => {
                let user = change.subject_id.ok_or_else(|| {
                    StoreError::Corrupt(format!("membership change {} has no user", change.seq))
                })?;
                let user = UserId::from_uuid(user);
                push(Item::Membership {
                    group: GroupId::from_uuid(change.object_id),
                    user,
                });
                push(Item::User(user));
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
        let at = self.now().await?;
        write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            require_provider_state!(tx, dialect, provider);
            enqueue_work!(tx, provider, &[NewWork::full_sync(provider, trigger)], at);
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
        let at = self.now().await?;
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
            let rows = work_for_changes(provider, &changes)?;
            let queued = enqueue_work!(tx, provider, &rows, at);
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

    /// Queues these items of the provider: for `run` (a full sync's lane), or as direct syncs.
    /// Returns how many rows were queued or dirtied again.
    pub async fn enqueue_items(
        &self,
        provider: ProviderId,
        run: Option<RunId>,
        items: &[Item],
    ) -> Result<u64> {
        let mut queued = 0;
        for chunk in items.chunks(500) {
            let mut seen = HashSet::new();
            let rows: Vec<NewWork> = chunk
                .iter()
                .map(|item| NewWork::of(provider, Work::Item(*item), run))
                .filter(|row| seen.insert(row.key()))
                .collect();
            let at = self.now().await?;
            queued += write_pool!(self, pool, dialect => {
                let mut tx = pool.begin_write().await?;
                require_provider_state!(tx, dialect, provider);
                let queued = enqueue_work!(tx, provider, &rows, at);
                tx.commit().await?;
                queued
            });
        }
        Ok(queued)
    }

    /// Item rows (not full syncs) of the provider still queued for run `run`.
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

    /// Every item row (not full syncs) of the provider still queued.
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

    /// The provider's queued item rows per lane: how many, and when the oldest was due.
    pub async fn queue_by_lane(
        &self,
        provider: ProviderId,
    ) -> Result<Vec<(Lane, u64, Option<chrono::DateTime<chrono::Utc>>)>> {
        let rows: Vec<(i32, i64, Option<chrono::DateTime<chrono::Utc>>)> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT priority, COUNT(*), MIN(run_at) FROM work \
                 WHERE provider_id = $1 AND kind <> 'full_sync' GROUP BY priority",
            )
            .bind(provider.as_uuid())
            .fetch_all(pool)
            .await?
        });
        Ok([Lane::Direct, Lane::FullSync]
            .into_iter()
            .map(|lane| {
                let found = rows
                    .iter()
                    .find(|(priority, _, _)| *priority == lane as i32);
                (
                    lane,
                    found.map_or(0, |(_, count, _)| count.unsigned_abs()),
                    found.and_then(|(_, _, oldest)| *oldest),
                )
            })
            .collect())
    }

    /// When the provider's oldest queued item row was queued (its age is how far behind it is).
    pub async fn oldest_queued(
        &self,
        provider: ProviderId,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let oldest: Option<chrono::DateTime<chrono::Utc>> = read_pool!(self, pool, _d => {
            sqlx::query_scalar(
                "SELECT MIN(run_at) FROM work WHERE provider_id = $1 AND kind <> 'full_sync'",
            )
            .bind(provider.as_uuid())
            .fetch_one(pool)
            .await?
        });
        Ok(oldest)
    }
}
