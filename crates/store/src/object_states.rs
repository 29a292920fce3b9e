//! How each directory object last fared with each provider: what the last attempt did, when
//! it last reached the remote side in step, and the remote's words when it failed.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use engine::RemoteKind;
use model::{ProviderId, RunId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Result, Store, StoreError, links::remote_kind};

/// Where an object stands with a provider after its last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectStatus {
    /// The remote object is as the directory says.
    Synced,
    /// The last attempt failed (rejected, or out of retries).
    Failed,
    /// Nothing to do: out of scope, or a mapping skipped it.
    Skipped,
}

impl ObjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectStatus::Synced => "synced",
            ObjectStatus::Failed => "failed",
            ObjectStatus::Skipped => "skipped",
        }
    }
}

impl fmt::Display for ObjectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ObjectStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "synced" => Ok(ObjectStatus::Synced),
            "failed" => Ok(ObjectStatus::Failed),
            "skipped" => Ok(ObjectStatus::Skipped),
            other => Err(format!("unknown object status {other:?}")),
        }
    }
}

/// One object's standing with one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectState {
    pub provider_id: ProviderId,
    pub kind: RemoteKind,
    /// The user or group id.
    pub object_id: Uuid,
    pub status: ObjectStatus,
    /// What the last attempt did (`created`, `updated`, `unchanged`, `rejected`, …).
    pub outcome: String,
    /// The run of the last attempt (`None` for a direct sync).
    pub run_id: Option<RunId>,
    pub last_attempt_at: DateTime<Utc>,
    /// When it was last synced; kept across later failures.
    pub last_synced_at: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The remote's request id for the failed request, to quote to its support.
    pub request_id: Option<String>,
}

macro_rules! state_columns {
    () => {
        "provider_id, kind, object_id, status, outcome, run_id, last_attempt_at, last_synced_at, \
         error_code, error_message, request_id"
    };
}

/// Writes `$state` (replacing the object's previous state; one that is not `synced` keeps the
/// previous `last_synced_at`) on the pool or in the transaction `$on`.
macro_rules! upsert_object_state {
    ($on:expr, $state:expr) => {{
        let state: &$crate::ObjectState = $state;
        sqlx::query(concat!(
            "INSERT INTO object_states (",
            state_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (provider_id, kind, object_id) DO UPDATE SET \
             status = excluded.status, outcome = excluded.outcome, run_id = excluded.run_id, \
             last_attempt_at = excluded.last_attempt_at, \
             last_synced_at = CASE WHEN excluded.status = 'synced' \
               THEN excluded.last_synced_at ELSE object_states.last_synced_at END, \
             error_code = excluded.error_code, error_message = excluded.error_message, \
             request_id = excluded.request_id"
        ))
        .bind(state.provider_id.as_uuid())
        .bind(state.kind.as_str())
        .bind(state.object_id)
        .bind(state.status.as_str())
        .bind(&state.outcome)
        .bind(state.run_id.map(|id| id.as_uuid()))
        .bind(state.last_attempt_at)
        .bind(state.last_synced_at)
        .bind(state.error_code.as_deref())
        .bind(state.error_message.as_deref())
        .bind(state.request_id.as_deref())
        .execute($on)
        .await?;
    }};
}

#[derive(sqlx::FromRow)]
struct StateRow {
    provider_id: Uuid,
    kind: String,
    object_id: Uuid,
    status: String,
    outcome: String,
    run_id: Option<Uuid>,
    last_attempt_at: DateTime<Utc>,
    last_synced_at: Option<DateTime<Utc>>,
    error_code: Option<String>,
    error_message: Option<String>,
    request_id: Option<String>,
}

impl TryFrom<StateRow> for ObjectState {
    type Error = StoreError;
    fn try_from(row: StateRow) -> Result<Self> {
        Ok(ObjectState {
            provider_id: ProviderId::from_uuid(row.provider_id),
            kind: remote_kind(&row.kind)?,
            object_id: row.object_id,
            status: row.status.parse().map_err(StoreError::Corrupt)?,
            outcome: row.outcome,
            run_id: row.run_id.map(RunId::from_uuid),
            last_attempt_at: row.last_attempt_at,
            last_synced_at: row.last_synced_at,
            error_code: row.error_code,
            error_message: row.error_message,
            request_id: row.request_id,
        })
    }
}

impl Store {
    /// Records the object's state, replacing the previous one; a state that is not `synced`
    /// keeps the previous `last_synced_at`.
    pub async fn record_object_state(&self, state: &ObjectState) -> Result<()> {
        write_pool!(self, pool, _d => {
            upsert_object_state!(pool, state);
        });
        Ok(())
    }

    pub async fn object_state(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<ObjectState>> {
        let row: Option<StateRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(concat!(
                "SELECT ",
                state_columns!(),
                " FROM object_states WHERE provider_id = $1 AND kind = $2 AND object_id = $3"
            ))
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(object)
            .fetch_optional(pool)
            .await?
        });
        row.map(ObjectState::try_from).transpose()
    }

    /// Up to `limit` objects whose last attempt, in this run, failed.
    pub async fn run_failures(&self, run: RunId, limit: u32) -> Result<Vec<ObjectState>> {
        let rows: Vec<StateRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(concat!(
                "SELECT ",
                state_columns!(),
                " FROM object_states WHERE run_id = $1 AND status = 'failed' \
                 ORDER BY kind, object_id LIMIT $2"
            ))
            .bind(run.as_uuid())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ObjectState::try_from).collect()
    }
}

impl Store {
    /// Forgets the states of users and groups that are gone from the directory, last tried
    /// before `before`. Returns how many.
    pub async fn prune_object_states(&self, before: DateTime<Utc>) -> Result<u64> {
        let pruned = write_pool!(self, pool, _d => {
            sqlx::query(
                "DELETE FROM object_states WHERE last_attempt_at < $1 AND ( \
                   (kind = 'user' AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = object_id)) \
                   OR (kind = 'group' \
                       AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = object_id)))",
            )
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(pruned)
    }
}
