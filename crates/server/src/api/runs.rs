//! A provider's sync over the API: ask for a full sync or a dry run, see where the provider
//! stands, and read its runs, their failures and their plans.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use model::{Run, RunId, Trigger};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::keys::{ListQuery, next_after, page};
use super::providers::resolve_provider;
use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiPath, ApiQuery},
};

/// Where a provider stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderStatus {
    pub provider: String,
    /// `healthy`, `stopped` (a mapping or authorisation error: see `reason`), `paused`, or
    /// `awaiting_approval` (deletes beyond the threshold are held: see `approval_run`'s plan).
    pub health: String,
    pub reason: Option<String>,
    /// The run whose deletes await approval; its plan lists them.
    pub approval_run: Option<Uuid>,
    pub last_run: Option<Run>,
    /// When the schedule next runs a full sync (none when paused).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Objects and memberships waiting to be synced.
    pub queued: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunPage {
    pub items: Vec<Run>,
    pub next_after: Option<Uuid>,
}

/// An object a run could not sync, with the remote's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunFailure {
    /// `user` or `group`.
    pub kind: String,
    pub object_id: Uuid,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Graph's request id, to quote to Microsoft support.
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: Run,
    /// Up to 1,000 objects that failed.
    pub failures: Vec<RunFailure>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Return items after this position.
    pub after: Option<i64>,
    /// At most this many items (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// One directory object's part of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanEntry {
    pub seq: i64,
    /// `user`, `group` or `members`.
    pub object_kind: String,
    pub object_id: Uuid,
    pub object_name: String,
    #[schema(value_type = Vec<Object>)]
    pub operations: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanPage {
    pub items: Vec<PlanEntry>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
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
    state.store.set_provider_health(provider.id, None).await?;
    state
        .store
        .request_full_sync(provider.id, Trigger::Manual)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Make the provider's dry-run plan (nothing is written to Entra). Answers with the run at
/// once; read it back until its status is no longer `running`, then read its plan.
#[utoipa::path(post, path = "/providers/{provider}/plan", tag = "sync",
    params(("provider" = String, Path, description = "The provider's id or name")),
    responses((status = 202, body = Run), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn request_plan(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let Some(runner) = state.runner.clone() else {
        return Err(ApiError::unavailable(
            "this node runs no sync workers (workers = false): ask another node",
        ));
    };
    let run = state
        .store
        .start_run(provider.id, Trigger::Manual, true)
        .await?;
    let started = run.clone();
    tokio::spawn(async move {
        if let Err(error) = runner.plan_run(started, &runner::Quiet).await {
            tracing::warn!(%error, "the dry run failed");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(run)))
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
    let health = match (&sync.health_reason, provider.settings.enabled) {
        (Some(_), _) => "stopped",
        (None, false) => "paused",
        (None, true) if sync.approval_run.is_some() => "awaiting_approval",
        (None, true) => "healthy",
    };
    Ok(Json(ProviderStatus {
        provider: provider.name,
        health: health.to_owned(),
        reason: sync.health_reason,
        approval_run: sync.approval_run.map(|run| run.as_uuid()),
        last_run,
        next_run_at: sync.next_run_at,
        queued: store.queued_work(provider.id).await?,
    }))
}

/// The provider's runs, newest first.
#[utoipa::path(get, path = "/providers/{provider}/runs", tag = "sync", params(
    ("provider" = String, Path, description = "The provider's id or name"), ListQuery),
    responses((status = 200, body = RunPage), (status = 404, body = ErrorBody)))]
pub async fn list_runs(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<RunPage>, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let page = page(query.after, query.limit)?;
    let items = state.store.list_runs(provider.id, page).await?;
    let next_after = next_after(&items, page, |run| run.id.as_uuid());
    Ok(Json(RunPage { items, next_after }))
}

/// One run, with the objects that failed.
#[utoipa::path(get, path = "/runs/{run}", tag = "sync",
    params(("run" = Uuid, Path, description = "The run's id")),
    responses((status = 200, body = RunDetail), (status = 404, body = ErrorBody)))]
pub async fn get_run(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RunDetail>, ApiError> {
    let run = state.store.get_run(RunId::from_uuid(id)).await?;
    let failures = state
        .store
        .run_failures(run.id, 1000)
        .await?
        .into_iter()
        .map(|state| RunFailure {
            kind: state.kind.as_str().to_owned(),
            object_id: state.object_id,
            error_code: state.error_code,
            error_message: state.error_message,
            request_id: state.request_id,
            at: state.last_attempt_at,
        })
        .collect();
    Ok(Json(RunDetail { run, failures }))
}

/// A dry run's plan, a page at a time.
#[utoipa::path(get, path = "/runs/{run}/plan", tag = "sync",
    params(("run" = Uuid, Path, description = "The run's id"), PlanQuery),
    responses((status = 200, body = PlanPage), (status = 404, body = ErrorBody)))]
pub async fn get_plan(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PlanQuery>,
) -> Result<Json<PlanPage>, ApiError> {
    let run = state.store.get_run(RunId::from_uuid(id)).await?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::validation("limit", "limit must be 1 to 1000"));
    }
    let items = state
        .store
        .plan_items(run.id, query.after.unwrap_or(0), limit)
        .await?;
    let next_after = (items.len() == limit as usize)
        .then(|| items.last().map(|item| item.seq))
        .flatten();
    let items = items
        .into_iter()
        .map(|item| PlanEntry {
            seq: item.seq,
            object_kind: item.object_kind,
            object_id: item.object_id,
            object_name: item.object_name,
            operations: item.operations,
        })
        .collect();
    Ok(Json(PlanPage { items, next_after }))
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
    let (kind, object_id) = match kind.as_str() {
        "users" => (
            engine::RemoteKind::User,
            super::keys::resolve_user(store, &object)
                .await?
                .id
                .as_uuid(),
        ),
        "groups" => (
            engine::RemoteKind::Group,
            super::keys::resolve_group(store, &object)
                .await?
                .id
                .as_uuid(),
        ),
        _ => return Err(ApiError::validation("kind", "kind must be users or groups")),
    };
    let link = engine::Links::link(store, provider.id, kind, object_id)
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
    let Some(runner) = state.runner.clone() else {
        return Err(ApiError::unavailable(
            "this node runs no sync workers (workers = false): ask another node",
        ));
    };
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
    crate::extract::ApiJson(input): crate::extract::ApiJson<ObjectInput>,
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
    crate::extract::ApiJson(input): crate::extract::ApiJson<ObjectInput>,
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
        (Some(user), None) => {
            runner::ObjectRef::User(super::keys::resolve_user(store, &user).await?.id)
        }
        (None, Some(group)) => {
            runner::ObjectRef::Group(super::keys::resolve_group(store, &group).await?.id)
        }
        _ => return Err(ApiError::validation("user", "give either user or group")),
    };
    let Some(runner) = state.runner.clone() else {
        return Err(ApiError::unavailable(
            "this node runs no sync workers (workers = false): ask another node",
        ));
    };
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
        Err(error) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            error.to_string(),
        )),
    }
}

/// A link: directory object `object_id` is remote object `remote_id` for the provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    /// `user` or `group`.
    pub kind: String,
    pub object_id: Uuid,
    pub remote_id: String,
    /// When we last wrote to the remote object (or linked it).
    pub synced_at: DateTime<Utc>,
    /// What we last wrote (create-only properties left out).
    #[schema(value_type = Object)]
    pub written: serde_json::Value,
    /// What Entra holds now (`GET` of one link only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub remote: Option<serde_json::Value>,
}

impl From<engine::Link> for LinkView {
    fn from(link: engine::Link) -> Self {
        Self {
            kind: link.kind.as_str().to_owned(),
            object_id: link.object,
            remote_id: link.remote_id.as_str().to_owned(),
            synced_at: link.synced_at,
            written: serde_json::Value::Object(link.written),
            remote: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkPage {
    pub items: Vec<LinkView>,
    pub next_after: Option<Uuid>,
}

/// A link to make by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// The remote object's id (an Entra object id).
    pub remote_id: String,
}

/// `users` or `groups` and the object named in the path.
async fn linked_object(
    store: &store::Store,
    kind: &str,
    object: &str,
) -> Result<(engine::RemoteKind, Uuid), ApiError> {
    match kind {
        "users" => Ok((
            engine::RemoteKind::User,
            super::keys::resolve_user(store, object).await?.id.as_uuid(),
        )),
        "groups" => Ok((
            engine::RemoteKind::Group,
            super::keys::resolve_group(store, object)
                .await?
                .id
                .as_uuid(),
        )),
        _ => Err(ApiError::validation("kind", "kind must be users or groups")),
    }
}

fn link_error(error: runner::LinkError) -> ApiError {
    use runner::LinkError;
    match error {
        LinkError::AlreadyLinked(_) | LinkError::RemoteTaken(..) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", error.to_string())
        }
        LinkError::NoSuchRemote(..) => ApiError::not_found(error.to_string()),
        LinkError::Remote(_) => ApiError::unavailable(error.to_string()),
        LinkError::Runner(runner::RunnerError::Store(error)) => error.into(),
        other => {
            tracing::error!(error = %other, "link");
            ApiError::internal()
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    pub after: Option<Uuid>,
    pub limit: Option<u32>,
}

/// The provider's links of one kind (`users` or `groups`).
#[utoipa::path(get, path = "/providers/{provider}/links/{kind}", tag = "links", params(
    ("provider" = String, Path, description = "The provider's id or name"),
    ("kind" = String, Path, description = "`users` or `groups`"), LinkQuery),
    responses((status = 200, body = LinkPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_links(
    State(state): State<AppState>,
    ApiPath((key, kind)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<LinkQuery>,
) -> Result<Json<LinkPage>, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let kind = match kind.as_str() {
        "users" => engine::RemoteKind::User,
        "groups" => engine::RemoteKind::Group,
        _ => return Err(ApiError::validation("kind", "kind must be users or groups")),
    };
    let page = page(query.after, query.limit)?;
    let links = state.store.list_links(provider.id, kind, page).await?;
    let next_after = next_after(&links, page, |link| link.object);
    Ok(Json(LinkPage {
        items: links.into_iter().map(LinkView::from).collect(),
        next_after,
    }))
}

/// One link, with what Entra holds now.
#[utoipa::path(get, path = "/providers/{provider}/links/{kind}/{object}", tag = "links", params(
    ("provider" = String, Path, description = "The provider's id or name"),
    ("kind" = String, Path, description = "`users` or `groups`"),
    ("object" = String, Path, description = "The user's id or username, or the group's id or name")),
    responses((status = 200, body = LinkView), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_link(
    State(state): State<AppState>,
    ApiPath((key, kind, object)): ApiPath<(String, String, String)>,
) -> Result<Json<LinkView>, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let (kind, object) = linked_object(&state.store, &kind, &object).await?;
    let link = engine::Links::link(&state.store, provider.id, kind, object)
        .await
        .map_err(|_| ApiError::internal())?
        .ok_or_else(|| ApiError::not_found("this object is not linked"))?;
    let remote_id = link.remote_id.clone();
    let mut view = LinkView::from(link);
    if let Some(runner) = state.runner.clone() {
        view.remote = Some(
            match runner.read_remote(provider.id, kind, &remote_id).await {
                Ok(remote) => serde_json::Value::Object(remote.properties),
                Err(error) => serde_json::json!({"error": error.to_string()}),
            },
        );
    }
    Ok(Json(view))
}

/// Link a directory object to an existing remote object by hand (it is read from Entra first).
#[utoipa::path(put, path = "/providers/{provider}/links/{kind}/{object}", tag = "links",
    request_body = LinkInput, params(
    ("provider" = String, Path, description = "The provider's id or name"),
    ("kind" = String, Path, description = "`users` or `groups`"),
    ("object" = String, Path, description = "The user's id or username, or the group's id or name")),
    responses((status = 201, body = LinkView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_link(
    State(state): State<AppState>,
    ApiPath((key, kind, object)): ApiPath<(String, String, String)>,
    crate::extract::ApiJson(input): crate::extract::ApiJson<LinkInput>,
) -> Result<(StatusCode, Json<LinkView>), ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let (kind, object) = linked_object(&state.store, &kind, &object).await?;
    let Some(runner) = state.runner.clone() else {
        return Err(ApiError::unavailable(
            "this node runs no sync workers (workers = false): ask another node",
        ));
    };
    let (link, remote) = runner
        .link_by_hand(
            provider.id,
            kind,
            object,
            engine::RemoteId::new(input.remote_id),
        )
        .await
        .map_err(link_error)?;
    let mut view = LinkView::from(link);
    view.remote = Some(serde_json::Value::Object(remote.properties));
    Ok((StatusCode::CREATED, Json(view)))
}

/// Remove a link (local only: nothing changes in Entra; the next sync may create the object
/// again, or discovery may link it again).
#[utoipa::path(delete, path = "/providers/{provider}/links/{kind}/{object}", tag = "links", params(
    ("provider" = String, Path, description = "The provider's id or name"),
    ("kind" = String, Path, description = "`users` or `groups`"),
    ("object" = String, Path, description = "The user's id or username, or the group's id or name")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody)))]
pub async fn delete_link(
    State(state): State<AppState>,
    ApiPath((key, kind, object)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let provider = resolve_provider(&state.store, &key).await?;
    let (kind, object) = linked_object(&state.store, &kind, &object).await?;
    let store = &state.store;
    let link = engine::Links::link(store, provider.id, kind, object)
        .await
        .map_err(|_| ApiError::internal())?;
    if link.is_none() {
        return Err(ApiError::not_found("this object is not linked"));
    }
    engine::Links::remove_link(store, provider.id, kind, object)
        .await
        .map_err(|_| ApiError::internal())?;
    Ok(StatusCode::NO_CONTENT)
}
