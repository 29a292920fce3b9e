//! Where each provider stands: its change cursor, whether its work may run (enabled and
//! healthy, not degraded, not plans only), when its schedule fires next, its current snapshot,
//! and accidental-delete protection's approval and allowance.

use chrono::{DateTime, Utc};
use model::{ProviderId, ProviderSettings, RunId, Trigger};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    Result, Store, StoreError,
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
    /// The last full sync's snapshot of the tenant.
    pub current_snapshot: Option<Uuid>,
    /// The run whose deletes exceeded the threshold: until an administrator approves or
    /// rejects them, deletes and disables are held.
    pub approval_run: Option<RunId>,
    /// Deletes and disables an approval still lets past the threshold.
    pub delete_allowance: u64,
    /// In dry-run mode: its item rows wait (full syncs make plans).
    pub plans_only: bool,
    /// It keeps failing (timeouts, an unreachable endpoint): its rows wait until then.
    pub degraded_until: Option<DateTime<Utc>>,
    /// Why it is degraded.
    pub degraded_reason: Option<String>,
}

impl ProviderState {
    /// Where the provider stands, in one word, at `now`: `stopped` (see `health_reason`),
    /// `paused` (not `enabled`), `awaiting_approval`, `degraded`, `dry_run` or `healthy`.
    pub fn health(&self, enabled: bool, now: DateTime<Utc>) -> &'static str {
        let degraded = self.degraded_until.is_some_and(|until| until > now);
        match (&self.health_reason, enabled) {
            (Some(_), _) => "stopped",
            (None, false) => "paused",
            (None, true) if self.approval_run.is_some() => "awaiting_approval",
            (None, true) if degraded => "degraded",
            (None, true) if self.plans_only => "dry_run",
            (None, true) => "healthy",
        }
    }
}

#[derive(sqlx::FromRow)]
struct StateRow {
    provider_id: Uuid,
    change_cursor: i64,
    active: bool,
    health_reason: Option<String>,
    next_run_at: Option<DateTime<Utc>>,
    current_snapshot: Option<Uuid>,
    approval_run: Option<Uuid>,
    delete_allowance: i64,
    plans_only: bool,
    degraded_until: Option<DateTime<Utc>>,
    degraded_reason: Option<String>,
}

impl From<StateRow> for ProviderState {
    fn from(row: StateRow) -> Self {
        ProviderState {
            provider_id: ProviderId::from_uuid(row.provider_id),
            change_cursor: row.change_cursor,
            active: row.active,
            health_reason: row.health_reason,
            next_run_at: row.next_run_at,
            current_snapshot: row.current_snapshot,
            approval_run: row.approval_run.map(RunId::from_uuid),
            delete_allowance: row.delete_allowance.unsigned_abs(),
            plans_only: row.plans_only,
            degraded_until: row.degraded_until,
            degraded_reason: row.degraded_reason,
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
    ($tx:expr, $provider:expr, $trigger:expr, $at:expr) => {{
        let provider: &model::Provider = $provider;
        let at: chrono::DateTime<chrono::Utc> = $at;
        sqlx::query(
            "INSERT INTO provider_state (provider_id, change_cursor, active, health_reason, \
             next_run_at, plans_only) \
             SELECT $1, value, $2, NULL, $3, $4 FROM change_seq WHERE id = 1 \
             ON CONFLICT (provider_id) DO UPDATE SET active = excluded.active, \
             health_reason = NULL, next_run_at = excluded.next_run_at, \
             plans_only = excluded.plans_only, degraded_until = NULL, degraded_reason = NULL",
        )
        .bind(provider.id.as_uuid())
        .bind(provider.settings.enabled)
        .bind($crate::state::next_run(&provider.settings, at))
        .bind(provider.settings.dry_run)
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
                 current_snapshot, approval_run, delete_allowance, plans_only, degraded_until, \
                 degraded_reason FROM provider_state WHERE provider_id = $1",
            )
            .bind(id.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        Ok(row
            .ok_or_else(|| StoreError::not_found("provider", id))?
            .into())
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

    /// An administrator asks for a full sync: in one transaction, a stopped provider is made
    /// healthy again (active when enabled, no longer degraded) and the full sync is queued.
    pub async fn request_manual_sync(&self, id: ProviderId) -> Result<()> {
        let at = self.now().await?;
        write_pool!(self, pool, dialect => {
            let mut tx = pool.begin_write().await?;
            require_provider_state!(tx, dialect, id);
            let settings: Option<Json<Value>> =
                sqlx::query_scalar("SELECT settings FROM providers WHERE id = $1")
                    .bind(id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(Json(settings)) = settings else {
                return Err(StoreError::not_found("provider", id));
            };
            let enabled = serde_json::from_value::<ProviderSettings>(settings)
                .map_err(|err| StoreError::Corrupt(format!("provider {id}: {err}")))?
                .enabled;
            sqlx::query(
                "UPDATE provider_state SET active = $2, health_reason = NULL, \
                 degraded_until = NULL, degraded_reason = NULL WHERE provider_id = $1",
            )
            .bind(id.as_uuid())
            .bind(enabled)
            .execute(&mut *tx)
            .await?;
            enqueue_work!(tx, id, &[NewWork::full_sync(id, Trigger::Manual)], at);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The provider keeps failing (timeouts, an unreachable endpoint): its item rows wait until
    /// `until`, and its status says why. Nothing an administrator must do: it heals itself.
    pub async fn degrade_provider(
        &self,
        id: ProviderId,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<()> {
        write_pool!(self, pool, _d => {
            sqlx::query(
                "UPDATE provider_state SET degraded_until = $2, degraded_reason = $3 \
                 WHERE provider_id = $1",
            )
            .bind(id.as_uuid())
            .bind(until)
            .bind(reason)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The provider works again: no longer degraded.
    pub async fn clear_degraded(&self, id: ProviderId) -> Result<()> {
        write_pool!(self, pool, _d => {
            sqlx::query(
                "UPDATE provider_state SET degraded_until = NULL, degraded_reason = NULL \
                 WHERE provider_id = $1 AND degraded_reason IS NOT NULL",
            )
            .bind(id.as_uuid())
            .execute(pool)
            .await?;
        });
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
        // Queued due now (by the store's clock), whatever time the caller looked from.
        let at = self.now().await?;
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
                enqueue_work!(tx, id, &[NewWork::full_sync(id, Trigger::Schedule)], at);
                tx.commit().await?;
            }
            moved == 1
        });
        Ok(fired)
    }
}
