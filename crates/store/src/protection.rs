//! The engine's [`Protection`] port: accidental-delete protection's bookkeeping. Each delete or
//! disable that goes ahead is recorded per object; a reservation counts those within the
//! provider's window, in one transaction that holds the provider's state row (PostgreSQL) or
//! the write lock (SQLite), so that two nodes asking at once never both pass the threshold. A
//! held one is listed under the provider's approval run, started when there is none.

use chrono::{DateTime, Utc};
use engine::{DeleteRequest, LocalError, PlanItem, PlanSubject, Protection, Reservation};
use model::{HeldDeletes, ProviderId, RunId, RunReport, RunStatus, Trigger};
use sqlx::types::Json;
use uuid::Uuid;

use crate::plans::insert_plan_items;
use crate::{Dialect, Result, Store, StoreError};

/// Reads the provider's approval run and allowance in the open transaction, locking the row on
/// PostgreSQL. Fails with NotFound when there is no such provider.
macro_rules! lock_protection {
    ($tx:expr, $dialect:expr, $provider:expr) => {{
        let provider: model::ProviderId = $provider;
        let select = match $dialect {
            Dialect::Sqlite => {
                "SELECT approval_run, delete_allowance FROM provider_state WHERE provider_id = $1"
            }
            Dialect::Postgres => {
                "SELECT approval_run, delete_allowance FROM provider_state \
                 WHERE provider_id = $1 FOR UPDATE"
            }
        };
        let row: Option<(Option<Uuid>, i64)> = sqlx::query_as(select)
            .bind(provider.as_uuid())
            .fetch_optional(&mut *$tx)
            .await?;
        row.ok_or_else(|| StoreError::not_found("provider", provider))?
    }};
}

/// The next position in run `$run`'s plan, in the open transaction.
macro_rules! next_seq {
    ($tx:expr, $run:expr) => {{
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM plan_items WHERE run_id = $1")
                .bind($run.as_uuid())
                .fetch_one(&mut *$tx)
                .await?;
        last.unwrap_or(0) + 1
    }};
}

impl Store {
    async fn reserve(&self, request: &DeleteRequest<'_>) -> Result<Reservation> {
        let provider = request.provider;
        let settings = &provider.settings;
        let now = self.now().await?;
        let window = chrono::Duration::from_std(settings.delete_window())
            .unwrap_or(chrono::Duration::hours(1));
        let since: DateTime<Utc> = now.checked_sub_signed(window).unwrap_or(now);
        let kind = match request.item.subject {
            PlanSubject::Group => "group",
            PlanSubject::User | PlanSubject::Members => "user",
        };
        let object = request.item.object_id;
        let threshold = i64::from(settings.delete_threshold);
        let reservation = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let (approval, allowance) = lock_protection!(tx, dialect, provider.id);
            let held = match approval {
                Some(run) => Some(RunId::from_uuid(run)),
                None if allowance > 0 => {
                    sqlx::query(
                        "UPDATE provider_state SET delete_allowance = delete_allowance - 1 \
                         WHERE provider_id = $1",
                    )
                    .bind(provider.id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                    None
                }
                None if threshold == 0 => None,
                None => {
                    let recent: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM delete_events WHERE provider_id = $1 AND at > $2 \
                         AND NOT (kind = $3 AND object_id = $4)",
                    )
                    .bind(provider.id.as_uuid())
                    .bind(since)
                    .bind(kind)
                    .bind(object)
                    .fetch_one(&mut *tx)
                    .await?;
                    if recent < threshold {
                        None
                    } else {
                        // Past the threshold: a run of its own lists what is held.
                        let run = RunId::new();
                        let report = RunReport {
                            held: Some(HeldDeletes {
                                count: 0,
                                threshold: settings.delete_threshold,
                            }),
                            ..RunReport::default()
                        };
                        sqlx::query(
                            "INSERT INTO runs (id, provider_id, trigger, dry_run, status, \
                             started_at, finished_at, counts, report, error) \
                             VALUES ($1, $2, $3, $4, $5, $6, $6, '{}', $7, NULL)",
                        )
                        .bind(run.as_uuid())
                        .bind(provider.id.as_uuid())
                        .bind(Trigger::Direct.as_str())
                        .bind(false)
                        .bind(RunStatus::AwaitingApproval.as_str())
                        .bind(now)
                        .bind(Json(&report))
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE provider_state SET approval_run = $2 WHERE provider_id = $1",
                        )
                        .bind(provider.id.as_uuid())
                        .bind(run.as_uuid())
                        .execute(&mut *tx)
                        .await?;
                        tracing::warn!(provider = %provider.name, %run, threshold,
                            "direct syncs' deletes reached the threshold within the window: \
                             the rest wait for an administrator");
                        Some(run)
                    }
                }
            };
            let reservation = match held {
                Some(run) => {
                    // Listed once however often it is asked for (a full sync lists what it
                    // holds before its items ask).
                    let listed: Option<i64> = sqlx::query_scalar(
                        "SELECT seq FROM plan_items WHERE run_id = $1 AND object_id = $2 \
                         AND object_kind = $3 LIMIT 1",
                    )
                    .bind(run.as_uuid())
                    .bind(object)
                    .bind(crate::plans::subject_text(request.item.subject))
                    .fetch_optional(&mut *tx)
                    .await?;
                    if listed.is_some() {
                        tx.commit().await?;
                        return Ok(Reservation::Held { run });
                    }
                    let mut item = request.item.clone();
                    item.seq = next_seq!(tx, run);
                    insert_plan_items!(&mut *tx, run, std::slice::from_ref(&item));
                    // The run's count of held deletes follows its list.
                    let report: Option<Option<Json<RunReport>>> =
                        sqlx::query_scalar("SELECT report FROM runs WHERE id = $1")
                            .bind(run.as_uuid())
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some(Some(Json(mut report))) = report
                        && let Some(held) = &mut report.held
                    {
                        held.count += 1;
                        sqlx::query("UPDATE runs SET report = $2 WHERE id = $1")
                            .bind(run.as_uuid())
                            .bind(Json(&report))
                            .execute(&mut *tx)
                            .await?;
                    }
                    Reservation::Held { run }
                }
                None => {
                    sqlx::query(
                        "INSERT INTO delete_events (provider_id, kind, object_id, at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (provider_id, kind, object_id) DO UPDATE SET at = excluded.at",
                    )
                    .bind(provider.id.as_uuid())
                    .bind(kind)
                    .bind(object)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    Reservation::Allowed
                }
            };
            tx.commit().await?;
            reservation
        });
        Ok(reservation)
    }

    async fn hold(&self, provider: ProviderId, run: RunId, items: &[PlanItem]) -> Result<RunId> {
        let holder = write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            let (approval, _) = lock_protection!(tx, dialect, provider);
            let holder = match approval {
                Some(existing) => RunId::from_uuid(existing),
                None => {
                    sqlx::query(
                        "UPDATE provider_state SET approval_run = $2 WHERE provider_id = $1",
                    )
                    .bind(provider.as_uuid())
                    .bind(run.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                    run
                }
            };
            let first = next_seq!(tx, holder);
            let numbered: Vec<PlanItem> = items
                .iter()
                .zip(first..)
                .map(|(item, seq)| PlanItem {
                    seq,
                    ..item.clone()
                })
                .collect();
            insert_plan_items!(&mut *tx, holder, &numbered);
            tx.commit().await?;
            holder
        });
        Ok(holder)
    }

    /// The run whose held deletes await a decision, if any.
    pub async fn pending_approval(&self, provider: ProviderId) -> Result<Option<RunId>> {
        Ok(self.provider_state(provider).await?.approval_run)
    }

    async fn close_approval(&self, provider: ProviderId, allow: u64) -> Result<()> {
        let updated = write_pool!(self, pool, _d => {
            sqlx::query(
                "UPDATE provider_state SET approval_run = NULL, delete_allowance = $2 \
                 WHERE provider_id = $1",
            )
            .bind(provider.as_uuid())
            .bind(i64::try_from(allow).unwrap_or(i64::MAX))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::not_found("provider", provider));
        }
        Ok(())
    }

    /// Forgets deletes and disables older than `before` (they count in no window any more).
    pub async fn prune_delete_events(&self, before: DateTime<Utc>) -> Result<u64> {
        let pruned = write_pool!(self, pool, _d => {
            sqlx::query("DELETE FROM delete_events WHERE at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(pruned)
    }
}

impl Protection for Store {
    async fn reserve_delete(&self, request: &DeleteRequest<'_>) -> Result<Reservation, LocalError> {
        Ok(self.reserve(request).await?)
    }

    async fn hold_deletes(
        &self,
        provider: ProviderId,
        run: RunId,
        items: &[PlanItem],
    ) -> Result<RunId, LocalError> {
        Ok(self.hold(provider, run, items).await?)
    }

    async fn approval_run(&self, provider: ProviderId) -> Result<Option<RunId>, LocalError> {
        Ok(self.pending_approval(provider).await?)
    }

    async fn end_approval(&self, provider: ProviderId, allow: u64) -> Result<(), LocalError> {
        Ok(self.close_approval(provider, allow).await?)
    }
}
