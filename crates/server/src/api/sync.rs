//! A provider's sync over the API: ask for a full sync, a dry run or the sync of one object,
//! see where the provider stands and how one object fares, and decide on held deletes.

use std::sync::Arc;

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use model::{Run, Trigger};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::keys::resolve_object;
use super::providers::resolve_provider;
use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath},
};

/// This node's sync runner: dry runs, approvals, on-demand syncs and links need one.
pub(super) fn node_runner(state: &AppState) -> Result<Arc<runner::Runner>, ApiError> {
    state.runner.clone().ok_or_else(|| {
        ApiError::unavailable("this node runs no sync workers (workers = false): ask another node")
    })
}

/// Where a provider stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderStatus {
    pub provider: String,
    /// `healthy`, `stopped` (a mapping or authorisation error: see `reason`), `paused`,
    /// `degraded` (Entra keeps timing out or cannot be reached: its work waits a while, see
    /// `reason`), `dry_run` (plans only), or `awaiting_approval` (deletes beyond the threshold
    /// are held: see `approval_run`'s plan).
    pub health: String,
    pub reason: Option<String>,
    /// The run whose deletes await approval; its plan lists them.
    pub approval_run: Option<Uuid>,
    pub last_run: Option<Run>,
    /// When the schedule next runs a full sync (none when paused).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Objects and memberships waiting to be synced.
    pub queued: u64,
    /// How long the oldest of them has waited, in seconds.
    pub oldest_queued_seconds: Option<u64>,
}

/// Queue a full sync of the provider now (a manual run: it also clears a stopped state).
#[utoipa::path(post, path = "/providers/{provider}/sync", tag = "sync",
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 202, description = "Queued"), (status = 404, body = ErrorBody)))]
pub async fn request_sync(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    state.store.request_manual_sync(provider.id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Make the provider's dry-run plan (nothing is written to Entra). Answers with the run at
/// once; read it back until its status is no longer `running` (a run whose node dies becomes
/// `interrupted`), then read its plan. One dry run of a provider at a time: while one is being
/// made, the answer is 409 naming it.
#[utoipa::path(post, path = "/providers/{provider}/plan", tag = "sync",
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 202, body = Run), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn request_plan(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let run = start_dry_run(&state, provider.id).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

/// Starts the provider's dry run in a task of its own and answers with its run at once: what
/// the API and the console both do.
pub(crate) async fn start_dry_run(
    state: &AppState,
    provider: model::ProviderId,
) -> Result<Run, ApiError> {
    let runner = node_runner(state)?;
    let run = match runner.start_plan(provider, Trigger::Manual).await {
        Ok(run) => run,
        Err(runner::RunnerError::PlanRunning(run)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("a dry run of this provider is being made already: run {run}"),
            ));
        }
        Err(runner::RunnerError::Store(error)) => return Err(error.into()),
        Err(error) => {
            tracing::error!(%error, "starting a dry run");
            return Err(ApiError::internal());
        }
    };
    let started = run.clone();
    tokio::spawn(async move {
        if let Err(error) = runner.plan_run(started, &runner::Quiet).await {
            tracing::warn!(%error, "the dry run failed");
        }
    });
    Ok(run)
}

/// Where the provider stands: health, last run, next scheduled run, queued work.
#[utoipa::path(get, path = "/providers/{provider}/status", tag = "sync",
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 200, body = ProviderStatus), (status = 404, body = ErrorBody)))]
pub async fn provider_status(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<ProviderStatus>, ApiError> {
    let store = &state.store;
    let provider = resolve_provider(store, &key).await?;
    let sync = store.provider_state(provider.id).await?;
    let last_run = store
        .list_runs(provider.id, store::Page::first(1))
        .await?
        .into_iter()
        .next();
    let now = store.now().await?;
    let degraded = sync.degraded_until.is_some_and(|until| until > now);
    let health = sync.health(provider.settings.enabled, now);
    let reason = sync
        .health_reason
        .or_else(|| degraded.then_some(sync.degraded_reason).flatten());
    let oldest = store.oldest_queued(provider.id).await?;
    Ok(Json(ProviderStatus {
        provider: provider.name,
        health: health.to_owned(),
        reason,
        approval_run: sync.approval_run.map(|run| run.as_uuid()),
        last_run,
        next_run_at: sync.next_run_at,
        queued: store.queued_work(provider.id).await?,
        oldest_queued_seconds: oldest.map(|at| (now - at).num_seconds().max(0).unsigned_abs()),
    }))
}

/// How one directory object fares with a provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectSyncState {
    /// `user` or `group`.
    pub kind: String,
    pub object_id: Uuid,
    /// The remote object it is linked to, if any.
    pub remote_id: Option<String>,
    /// `synced`, `failed`, `skipped`, or `never` (not reconciled yet).
    pub status: String,
    /// What the last reconcile did (`created`, `updated`, `unchanged`, `failed`…).
    pub outcome: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub request_id: Option<String>,
}

/// How a user or group fares with the provider: its link, last sync and last error.
#[utoipa::path(get, path = "/providers/{provider}/objects/{kind}/{object}", tag = "sync",
    params(
        ("provider" = String, Path, description = "The provider's id or name"),
        ("kind" = String, Path, description = "`users` or `groups`"),
        ("object" = String, Path, description = "The user's id or username, or the group's id or name")),
    responses((status = 200, body = ObjectSyncState), (status = 404, body = ErrorBody)))]
pub async fn object_state(
    State(state): State<AppState>,
    ApiPath((key, kind, object)): ApiPath<(String, String, String)>,
) -> Result<Json<ObjectSyncState>, ApiError> {
    let store = &state.store;
    let provider = resolve_provider(store, &key).await?;
    let (kind, object_id) = resolve_object(store, &kind, &object).await?;
    let link = engine::LinksRead::link(store, provider.id, kind, object_id)
        .await
        .map_err(|error| {
            tracing::error!(%error, "reading a link");
            ApiError::internal()
        })?;
    let recorded = store.object_state(provider.id, kind, object_id).await?;
    Ok(Json(ObjectSyncState {
        kind: kind.as_str().to_owned(),
        object_id,
        remote_id: link.map(|link| link.remote_id.as_str().to_owned()),
        status: recorded
            .as_ref()
            .map_or_else(|| "never".to_owned(), |r| r.status.as_str().to_owned()),
        outcome: recorded.as_ref().map(|r| r.outcome.clone()),
        last_attempt_at: recorded.as_ref().map(|r| r.last_attempt_at),
        last_synced_at: recorded.as_ref().and_then(|r| r.last_synced_at),
        error_code: recorded.as_ref().and_then(|r| r.error_code.clone()),
        error_message: recorded.as_ref().and_then(|r| r.error_message.clone()),
        request_id: recorded.and_then(|r| r.request_id),
    }))
}

/// What an approval or a rejection did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decision {
    /// Objects whose deletes now proceed (approve), or whose links were dropped (reject).
    pub objects: u64,
}

/// Approve the deletes that accidental-delete protection holds: they proceed now.
#[utoipa::path(post, path = "/providers/{provider}/approve", tag = "sync",
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 200, body = Decision), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn approve_deletes(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Decision>, ApiError> {
    decide(state, key, true).await
}

/// Reject the held deletes: the links go, the remote objects stay, the provider resumes.
#[utoipa::path(post, path = "/providers/{provider}/reject", tag = "sync",
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 200, body = Decision), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn reject_deletes(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Decision>, ApiError> {
    decide(state, key, false).await
}

async fn decide(state: AppState, key: String, approve: bool) -> Result<Json<Decision>, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let runner = node_runner(&state)?;
    let decided = if approve {
        runner.approve_deletes(provider.id).await
    } else {
        runner.reject_deletes(provider.id).await
    };
    match decided {
        Ok(objects) => Ok(Json(Decision { objects })),
        Err(runner::RunnerError::NothingAwaitsApproval) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("no deletes await approval for provider {:?}", provider.name),
        )),
        Err(runner::RunnerError::Store(error)) => Err(error.into()),
        Err(error) => {
            tracing::error!(%error, "deciding on held deletes");
            Err(ApiError::internal())
        }
    }
}

/// The one object to sync: give `user` (id or username) or `group` (id or name).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectInput {
    pub user: Option<String>,
    pub group: Option<String>,
}

/// What an on-demand sync did: its outcome, or why it did not finish, and every exchange with
/// Entra (what was sent, what was answered).
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectSyncAnswer {
    #[schema(value_type = Object)]
    pub outcome: Option<serde_json::Value>,
    pub error: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub exchanges: serde_json::Value,
}

/// Sync one user or group now (a provider in dry-run mode plans it instead).
#[utoipa::path(post, path = "/providers/{provider}/sync-object", tag = "sync", request_body = ObjectInput,
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 200, body = ObjectSyncAnswer), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn sync_object(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(input): ApiJson<ObjectInput>,
) -> Result<Json<ObjectSyncAnswer>, ApiError> {
    sync_one(state, key, input, false).await
}

/// Sync one user or group now, writing to Entra even when the provider is in dry-run mode.
#[utoipa::path(post, path = "/providers/{provider}/sync-object-ignoring-dry-run", tag = "sync",
    request_body = ObjectInput,
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 200, body = ObjectSyncAnswer), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn sync_object_ignoring_dry_run(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(input): ApiJson<ObjectInput>,
) -> Result<Json<ObjectSyncAnswer>, ApiError> {
    sync_one(state, key, input, true).await
}

async fn sync_one(
    state: AppState,
    key: String,
    input: ObjectInput,
    ignoring_dry_run: bool,
) -> Result<Json<ObjectSyncAnswer>, ApiError> {
    let store = &state.store;
    let provider = resolve_provider(store, &key).await?;
    let object = match (input.user, input.group) {
        (Some(user), None) => engine::Item::User(super::keys::resolve_user(store, &user).await?.id),
        (None, Some(group)) => {
            engine::Item::Group(super::keys::resolve_group(store, &group).await?.id)
        }
        _ => return Err(ApiError::validation("user", "give either user or group")),
    };
    let runner = node_runner(&state)?;
    let done = if ignoring_dry_run {
        runner
            .sync_object_ignoring_dry_run(provider.id, object)
            .await
    } else {
        runner.sync_object(provider.id, object).await
    };
    match done {
        Ok(done) => Ok(Json(ObjectSyncAnswer {
            outcome: done
                .outcome
                .map(|o| serde_json::to_value(o).unwrap_or_default()),
            error: done.error,
            exchanges: serde_json::to_value(done.exchanges).unwrap_or_default(),
        })),
        Err(runner::RunnerError::Store(error)) => Err(error.into()),
        Err(error @ runner::RunnerError::Busy(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "busy",
            error.to_string(),
        )),
        Err(error) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            error.to_string(),
        )),
    }
}
