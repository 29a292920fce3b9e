//! Where each provider stands: its change cursor, whether its work may run (enabled and
//! healthy), when its schedule fires next, and when its last snapshot was taken.

use chrono::{DateTime, Utc};
use model::{ProviderId, ProviderSettings, RunId, Trigger};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    Result, Store, StoreError,
    rows::now,
    work::{NewWork, PROVIDERS_PER_PAGE},
};

/// A provider's sync state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProviderState {
    pub provider_id: ProviderId,
    /// The last change record turned into work.
    pub change_cursor: i64,
    /// Whether its work may be claimed: enabled, and not stopped as unhealthy.
    pub active: bool,
    /// Why it was stopped (credentials refused, permissions missing, …).
    pub health_reason: Option<String>,
    /// When its schedule fires next (`None`: disabled, or the schedule is paused).
    pub next_run_at: Option<DateTime<Utc>>,
    /// When the last complete snapshot of the tenant started to be read.
    pub snapshot_taken_at: Option<DateTime<Utc>>,
    /// The run whose deletes exceeded the threshold: until an administrator approves or
    /// rejects them, deletes and disables are held.
    pub approval_run: Option<RunId>,
}

#[derive(sqlx::FromRow)]
struct StateRow {
    provider_id: Uuid,
    change_cursor: i64,
    active: bool,
    health_reason: Option<String>,
    next_run_at: Option<DateTime<Utc>>,
    snapshot_taken_at: Option<DateTime<Utc>>,
    approval_run: Option<Uuid>,
}

impl From<StateRow> for ProviderState {
    fn from(row: StateRow) -> Self {
        ProviderState {
            provider_id: ProviderId::from_uuid(row.provider_id),
            change_cursor: row.change_cursor,
            active: row.active,
            health_reason: row.health_reason,
            next_run_at: row.next_run_at,
            snapshot_taken_at: row.snapshot_taken_at,
            approval_run: row.approval_run.map(RunId::from_uuid),
        }
    }
}

/// When a provider with these settings is next due, looking from `at`.
pub(crate) fn next_run(settings: &ProviderSettings, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if settings.enabled {
        settings.schedule.next_after(at)
    } else {
        None
    }
}

/// Writes the state a saved provider starts from, in the open transaction, and queues its full
/// sync: active when enabled (a save clears an unhealthy state), the schedule computed afresh.
/// A new provider's change cursor starts at the last change: the full sync covers what came
/// before.
macro_rules! save_provider_state {
    ($tx:expr, $provider:expr, $trigger:expr) => {{
        let provider: &model::Provider = $provider;
        let at = $crate::rows::now();
        sqlx::query(
            "INSERT INTO provider_state (provider_id, change_cursor, active, health_reason, \
             next_run_at, snapshot_taken_at) \
             SELECT $1, value, $2, NULL, $3, NULL FROM change_seq WHERE id = 1 \
             ON CONFLICT (provider_id) DO UPDATE SET active = excluded.active, \
             health_reason = NULL, next_run_at = excluded.next_run_at",
        )
        .bind(provider.id.as_uuid())
        .bind(provider.settings.enabled)
        .bind($crate::state::next_run(&provider.settings, at))
        .execute(&mut *$tx)
        .await?;
        enqueue_work!(
            $tx,
            provider.id,
            &[$crate::work::NewWork::full_sync(provider.id, $trigger)],
            at
        );
    }};
}

#[derive(sqlx::FromRow)]
struct DueRow {
    provider_id: Uuid,
    next_run_at: DateTime<Utc>,
    settings: Json<Value>,
}

impl Store {
    pub async fn provider_state(&self, id: ProviderId) -> Result<ProviderState> {
        let row: Option<StateRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT provider_id, change_cursor, active, health_reason, next_run_at, \
                 snapshot_taken_at, approval_run FROM provider_state WHERE provider_id = $1",
            )
            .bind(id.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        Ok(row
            .ok_or_else(|| StoreError::not_found("provider", id))?
            .into())
    }

    /// `Some(run)`: the run's deletes exceeded the threshold; deletes and disables are held
    /// until an administrator decides. `None`: the decision was made.
    pub async fn set_approval_run(&self, id: ProviderId, run: Option<RunId>) -> Result<()> {
        let updated = write_pool!(self, pool, _d => {
            sqlx::query("UPDATE provider_state SET approval_run = $2 WHERE provider_id = $1")
                .bind(id.as_uuid())
                .bind(run.map(|run| run.as_uuid()))
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::not_found("provider", id));
        }
        Ok(())
    }

    /// `Some(reason)`: stops the provider's work (nothing is claimed) until an administrator
    /// acts. `None`: healthy again; its work runs if it is enabled.
    pub async fn set_provider_health(&self, id: ProviderId, reason: Option<&str>) -> Result<()> {
        let updated = write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            let settings: Option<Json<Value>> =
                sqlx::query_scalar("SELECT settings FROM providers WHERE id = $1")
                    .bind(id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(Json(settings)) = settings else {
                return Err(StoreError::not_found("provider", id));
            };
            let enabled = match reason {
                Some(_) => false,
                None => serde_json::from_value::<ProviderSettings>(settings)
                    .map_err(|err| StoreError::Corrupt(format!("provider {id}: {err}")))?
                    .enabled,
            };
            let updated = sqlx::query(
                "UPDATE provider_state SET active = $2, health_reason = $3 WHERE provider_id = $1",
            )
            .bind(id.as_uuid())
            .bind(enabled)
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            updated
        });
        if updated == 0 {
            return Err(StoreError::not_found("provider", id));
        }
        Ok(())
    }

    /// Queues a full sync (trigger `schedule`) for every active provider whose schedule is due
    /// at `now`, and moves its schedule on. Each provider fires once however many nodes call
    /// this at the same time: the move is a compare-and-swap on the time that was due, made in
    /// the transaction that queues the sync. Returns the providers fired.
    pub async fn fire_due_schedules(&self, now: DateTime<Utc>) -> Result<Vec<ProviderId>> {
        let mut fired = Vec::new();
        let mut after = Uuid::nil();
        loop {
            let due: Vec<DueRow> = read_pool!(self, pool, _d => {
                sqlx::query_as(
                    "SELECT s.provider_id, s.next_run_at, p.settings \
                     FROM provider_state s JOIN providers p ON p.id = s.provider_id \
                     WHERE s.active AND s.next_run_at <= $1 AND s.provider_id > $2 \
                     ORDER BY s.provider_id LIMIT $3",
                )
                .bind(now)
                .bind(after)
                .bind(i64::from(PROVIDERS_PER_PAGE))
                .fetch_all(pool)
                .await?
            });
            for row in &due {
                let id = ProviderId::from_uuid(row.provider_id);
                let settings: ProviderSettings = serde_json::from_value(row.settings.0.clone())
                    .map_err(|err| StoreError::Corrupt(format!("provider {id}: {err}")))?;
                if self
                    .fire_schedule(id, row.next_run_at, next_run(&settings, now))
                    .await?
                {
                    fired.push(id);
                }
            }
            match due.last() {
                Some(last) if due.len() >= PROVIDERS_PER_PAGE as usize => {
                    after = last.provider_id;
                }
                _ => break,
            }
        }
        Ok(fired)
    }

    /// Moves the provider's schedule from `due` to `next` and queues its full sync, unless
    /// another caller moved it first. Whether this call fired it.
    async fn fire_schedule(
        &self,
        id: ProviderId,
        due: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let fired = write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            let moved = sqlx::query(
                "UPDATE provider_state SET next_run_at = $2 \
                 WHERE provider_id = $1 AND next_run_at = $3 AND active",
            )
            .bind(id.as_uuid())
            .bind(next)
            .bind(due)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 1 {
                enqueue_work!(tx, id, &[NewWork::full_sync(id, Trigger::Schedule)], now());
                tx.commit().await?;
            }
            moved == 1
        });
        Ok(fired)
    }
}
