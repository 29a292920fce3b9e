//! Runs over the API: a provider's runs, one run with the objects that failed, a dry run's plan.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use model::{Run, RunId};
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
    /// `user`, `group` or `members` (a group's membership).
    pub object_kind: String,
    pub object_id: Uuid,
    pub object_name: String,
    /// The remote operations, in order: `create`, `adopt`, `update` (with each field's
    /// `before` and `after`), `recreate`, `delete`, `disable`, `unlink`, `add_members`,
    /// `remove_member`, each tagged by `operation`.
    #[schema(value_type = Vec<Object>)]
    pub operations: Vec<engine::Operation>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanPage {
    pub items: Vec<PlanEntry>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
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
    Ok(Json(run_detail(&state.store, RunId::from_uuid(id)).await?))
}

/// A run with (up to 1,000 of) the objects it could not sync: what the API answers and the
/// console exports.
pub async fn run_detail(store: &store::Store, id: RunId) -> Result<RunDetail, store::StoreError> {
    let run = store.get_run(id).await?;
    let failures = store
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
    Ok(RunDetail { run, failures })
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
            object_kind: item.subject.as_str().to_owned(),
            object_id: item.object_id,
            object_name: item.object_name,
            operations: item.operations,
        })
        .collect();
    Ok(Json(PlanPage { items, next_after }))
}
