//! Claims on work rows: claiming due rows (at most one claim holds a row), queueing and claiming
//! one row at once (an on-demand sync), renewing claims, and finishing a row: cleared if nothing
//! dirtied it meanwhile, deferred after a failure, or released. Every claim carries a token; a
//! renew, completion or retry that names a token the row no longer holds does nothing, so a
//! holder whose lease ran out can never disturb the row's new holder. (The queueing macros come
//! from `work`, declared before this module.)

use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use engine::Tally;
use model::{ProviderId, RunId, Trigger};
use uuid::Uuid;

use crate::{
    Dialect, Result, Store, StoreError,
    work::{ClaimToken, NewWork, Work, WorkItem, WorkKind, work_of},
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
    priority: i32,
    claim_token: Option<Uuid>,
    lease_until: Option<DateTime<Utc>>,
}

macro_rules! work_columns {
    () => {
        "provider_id, kind, object_id, subject_id, version, run_id, trigger, attempts, run_at, \
         priority, claim_token, lease_until"
    };
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
        let trigger: Option<Trigger> = row
            .trigger
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(corrupt)?;
        let (Some(claim), Some(lease_until)) = (row.claim_token, row.lease_until) else {
            return Err(corrupt("claimed without a token".into()));
        };
        Ok(WorkItem {
            provider_id: ProviderId::from_uuid(row.provider_id),
            work: work_of(kind, row.object_id, row.subject_id, trigger),
            version: row.version,
            run_id: row.run_id.map(RunId::from_uuid),
            attempts: u32::try_from(row.attempts)
                .map_err(|_| corrupt(format!("attempts {}", row.attempts)))?,
            claim: ClaimToken::from_uuid(claim),
            lease_until,
            run_at: row.run_at,
        })
    }
}

fn items_from(mut rows: Vec<WorkRow>) -> Result<Vec<WorkItem>> {
    // RETURNING gives no order; hand out direct syncs first, then the oldest.
    rows.sort_by_key(|row| (row.priority, row.run_at));
    rows.into_iter().map(WorkItem::try_from).collect()
}

/// When a lease taken at `at` runs out, at the precision both backends keep (and capped at a
/// day: a claim is renewed while its work runs, never taken for longer).
pub(crate) fn lease_end(at: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    let cap = TimeDelta::days(1);
    let lease = TimeDelta::from_std(lease).map_or(cap, |lease| lease.min(cap));
    at.checked_add_signed(lease).unwrap_or(at).trunc_subsecs(6)
}

/// The key of one work row: `$1` provider, `$2` kind, `$3` object, `$4` subject.
macro_rules! where_item {
    () => {
        "WHERE provider_id = $1 AND kind = $2 AND object_id = $3 AND subject_id = $4"
    };
}

/// How finishing a row went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Deleted: nothing dirtied it meanwhile.
    Done,
    /// It was dirtied again while worked on: released, due again.
    Requeued,
    /// The claim was no longer ours (the lease ran out and another holder took the row, or the
    /// row is gone): nothing was touched.
    Lost,
}

impl Store {
    /// Claims up to `limit` due item rows (not full syncs) of active providers for `owner`,
    /// for `lease`, direct syncs first then the oldest, leaving out the providers in `except`
    /// (those this node is already busy with), and only `only`'s when given. On PostgreSQL,
    /// concurrent claimers skip each other's rows.
    pub async fn claim_work(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
        except: &[ProviderId],
        only: Option<ProviderId>,
    ) -> Result<Vec<WorkItem>> {
        self.claim(owner, limit, lease, except, only, false).await
    }

    /// Claims one due full sync of an active provider for `owner`.
    pub async fn claim_full_sync(&self, owner: &str, lease: Duration) -> Result<Option<WorkItem>> {
        Ok(self
            .claim(owner, 1, lease, &[], None, true)
            .await?
            .into_iter()
            .next())
    }

    async fn claim(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
        except: &[ProviderId],
        only: Option<ProviderId>,
        full_syncs: bool,
    ) -> Result<Vec<WorkItem>> {
        let at = self.now().await?;
        let token = ClaimToken::new();
        let rows: Vec<WorkRow> = write_pool!(self, pool, dialect => {
            let mut claim = sqlx::QueryBuilder::new("UPDATE work SET lease_owner = ");
            claim.push_bind(owner);
            claim.push(", lease_until = ").push_bind(lease_end(at, lease));
            claim.push(", claim_token = ").push_bind(token.as_uuid());
            claim.push(
                " WHERE (provider_id, kind, object_id, subject_id) IN ( \
                 SELECT w.provider_id, w.kind, w.object_id, w.subject_id FROM work w WHERE ",
            );
            claim.push(if full_syncs {
                "w.kind = 'full_sync'"
            } else {
                "w.kind <> 'full_sync'"
            });
            claim.push(" AND w.run_at <= ").push_bind(at);
            claim.push(" AND (w.lease_until IS NULL OR w.lease_until < ").push_bind(at);
            // Plans-only providers (dry-run mode) keep their item rows: a plan clears nothing.
            claim.push(
                ") AND EXISTS (SELECT 1 FROM provider_state s \
                 WHERE s.provider_id = w.provider_id AND s.active",
            );
            if !full_syncs {
                claim.push(" AND NOT s.plans_only AND (s.degraded_until IS NULL OR s.degraded_until <= ");
                claim.push_bind(at).push(")");
            }
            claim.push(")");
            if !full_syncs {
                // A group's members in bulk and one of its memberships are never worked at
                // once: the bulk step's adds would undo a removal made meanwhile. Neither is
                // claimed while the other is; and since one claim may take many rows, each
                // also waits while the other is due and has waited longer (the older goes
                // first: a stream of membership changes cannot starve the bulk step, nor the
                // bulk step a membership), so that the same claim never takes both.
                claim.push(
                    " AND NOT (w.kind IN ('member', 'members') AND EXISTS (SELECT 1 FROM work o \
                     WHERE o.provider_id = w.provider_id AND o.object_id = w.object_id \
                     AND o.kind IN ('member', 'members') AND o.kind <> w.kind \
                     AND ((o.lease_until IS NOT NULL AND o.lease_until >= ",
                );
                claim.push_bind(at);
                claim.push(
                    ") OR (o.run_at < w.run_at) \
                     OR (o.run_at = w.run_at AND o.kind = 'member'))))",
                );
            }
            if let Some(only) = only {
                claim.push(" AND w.provider_id = ").push_bind(only.as_uuid());
            }
            if !except.is_empty() {
                claim.push(" AND w.provider_id NOT IN (");
                let mut separated = claim.separated(", ");
                for provider in except {
                    separated.push_bind(provider.as_uuid());
                }
                separated.push_unseparated(")");
            }
            claim.push(" ORDER BY w.priority, w.run_at LIMIT ").push_bind(i64::from(limit.max(1)));
            if dialect == Dialect::Postgres {
                claim.push(" FOR UPDATE SKIP LOCKED");
            }
            claim.push(concat!(") RETURNING ", work_columns!()));
            claim.build_query_as().fetch_all(pool).await?
        });
        items_from(rows)
    }

    /// Queues this one item and claims its row at once, so that no worker reconciles it
    /// meanwhile (`None`: another claim holds it right now; try again shortly). An on-demand
    /// sync of one object goes through this, like every other reconcile.
    pub async fn claim_item_now(
        &self,
        provider: ProviderId,
        item: engine::Item,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<WorkItem>> {
        self.queue_and_claim(
            provider,
            NewWork::of(provider, Work::Item(item), None),
            owner,
            lease,
        )
        .await
    }

    /// Queues a full sync of the provider and claims it at once (`None`: another node is
    /// running this provider's full sync right now). What an administrator's "sync now, here"
    /// uses, so that no other node takes the request over.
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

    /// Queues `work` (or dirties its row again) and claims the row for `owner`, in one
    /// transaction, unless another claim on it still runs.
    async fn queue_and_claim(
        &self,
        provider: ProviderId,
        work: NewWork,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<WorkItem>> {
        let at = self.now().await?;
        let token = ClaimToken::new();
        let rows: Vec<WorkRow> = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            require_provider_state!(tx, dialect, provider);
            enqueue_work!(tx, provider, &[work], at);
            let rows = sqlx::query_as(concat!(
                "UPDATE work SET lease_owner = $5, lease_until = $6, claim_token = $8 ",
                where_item!(),
                " AND (lease_until IS NULL OR lease_until < $7) RETURNING ",
                work_columns!()
            ))
            .bind(provider.as_uuid())
            .bind(work.kind.as_str())
            .bind(work.object_id)
            .bind(work.subject_id)
            .bind(owner)
            .bind(lease_end(at, lease))
            .bind(at)
            .bind(token.as_uuid())
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows
        });
        Ok(items_from(rows)?.into_iter().next())
    }

    /// Extends the claims still held among `claims` to `lease` from now. Returns the ones
    /// renewed, with their new end; a claim missing from the answer is lost.
    pub async fn renew_claims(
        &self,
        claims: &[ClaimToken],
        lease: Duration,
    ) -> Result<(Vec<ClaimToken>, DateTime<Utc>)> {
        let until = lease_end(self.now().await?, lease);
        let mut renewed = Vec::with_capacity(claims.len());
        for chunk in claims.chunks(500) {
            let tokens: Vec<Uuid> = write_pool!(self, pool, _d => {
                let mut renew = sqlx::QueryBuilder::new("UPDATE work SET lease_until = ");
                renew.push_bind(until).push(" WHERE claim_token IN (");
                let mut separated = renew.separated(", ");
                for claim in chunk {
                    separated.push_bind(claim.as_uuid());
                }
                separated.push_unseparated(") RETURNING claim_token");
                renew.build_query_scalar().fetch_all(pool).await?
            });
            renewed.extend(tokens.into_iter().map(ClaimToken::from_uuid));
        }
        Ok((renewed, until))
    }

    /// Done with the row: deletes it, unless it was dirtied again while worked on (its version
    /// moved: it is released, due again). `tally` (the item's outcome) is added to the run's,
    /// in the same transaction. Nothing at all happens when the claim was lost.
    pub async fn complete_work(&self, item: &WorkItem, tally: &Tally) -> Result<Completion> {
        self.finish_work(item, tally, None).await
    }

    /// [`Store::complete_work`], recording the object's `state` in the same transaction (one
    /// commit per item, and a stale holder's state never overwrites the new holder's).
    pub async fn finish_work(
        &self,
        item: &WorkItem,
        tally: &Tally,
        state: Option<&crate::ObjectState>,
    ) -> Result<Completion> {
        let (kind, object, subject) = item.key();
        let completion = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query(concat!(
                "DELETE FROM work ", where_item!(), " AND claim_token = $5 AND version = $6"
            ))
            .bind(item.provider_id.as_uuid())
            .bind(kind.as_str())
            .bind(object)
            .bind(subject)
            .bind(item.claim.as_uuid())
            .bind(item.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let completion = if deleted == 1 {
                Completion::Done
            } else {
                let released = sqlx::query(concat!(
                    "UPDATE work SET lease_owner = NULL, lease_until = NULL, claim_token = NULL ",
                    where_item!(),
                    " AND claim_token = $5"
                ))
                .bind(item.provider_id.as_uuid())
                .bind(kind.as_str())
                .bind(object)
                .bind(subject)
                .bind(item.claim.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if released == 1 { Completion::Requeued } else { Completion::Lost }
            };
            if completion != Completion::Lost
                && let Some(run) = item.run_id
            {
                // A row may outlive its run (pruned since): there is no tally to add to then,
                // and the row must still complete. The run's key is locked against a prune.
                let select = match dialect {
                    Dialect::Sqlite => "SELECT 1 FROM runs WHERE id = $1",
                    Dialect::Postgres => "SELECT 1 FROM runs WHERE id = $1 FOR KEY SHARE",
                };
                let exists: Option<i32> = sqlx::query_scalar(select)
                    .bind(run.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_some() {
                    add_tally!(tx, run, tally);
                }
            }
            if completion != Completion::Lost
                && let Some(state) = state
            {
                upsert_object_state!(&mut *tx, state);
            }
            tx.commit().await?;
            completion
        });
        Ok(completion)
    }

    /// The attempt failed: releases the row, due again at `run_at`, with one more attempt and
    /// `error` recorded (a row dirtied again meanwhile is released due now, attempts reset).
    /// False when the claim was lost: nothing was touched.
    pub async fn retry_work(
        &self,
        item: &WorkItem,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        let (kind, object, subject) = item.key();
        let now = self.now().await?;
        let held = write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            let deferred = sqlx::query(concat!(
                "UPDATE work SET attempts = attempts + 1, run_at = $7, last_error = $8, \
                 lease_owner = NULL, lease_until = NULL, claim_token = NULL ",
                where_item!(),
                " AND claim_token = $5 AND version = $6"
            ))
            .bind(item.provider_id.as_uuid())
            .bind(kind.as_str())
            .bind(object)
            .bind(subject)
            .bind(item.claim.as_uuid())
            .bind(item.version)
            .bind(run_at)
            .bind(error)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let held = deferred == 1 || {
                sqlx::query(concat!(
                    "UPDATE work SET attempts = 0, run_at = $6, lease_owner = NULL, \
                     lease_until = NULL, claim_token = NULL ",
                    where_item!(),
                    " AND claim_token = $5"
                ))
                .bind(item.provider_id.as_uuid())
                .bind(kind.as_str())
                .bind(object)
                .bind(subject)
                .bind(item.claim.as_uuid())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1
            };
            tx.commit().await?;
            held
        });
        Ok(held)
    }

    /// Gives the row back untouched, due at once (this node stops, or cannot do it). False
    /// when the claim was lost.
    pub async fn release_work(&self, item: &WorkItem) -> Result<bool> {
        let (kind, object, subject) = item.key();
        let released = write_pool!(self, pool, _d => {
            sqlx::query(concat!(
                "UPDATE work SET lease_owner = NULL, lease_until = NULL, claim_token = NULL ",
                where_item!(),
                " AND claim_token = $5"
            ))
            .bind(item.provider_id.as_uuid())
            .bind(kind.as_str())
            .bind(object)
            .bind(subject)
            .bind(item.claim.as_uuid())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(released == 1)
    }
}
