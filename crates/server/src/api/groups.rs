use axum::{Json, extract::State, http::StatusCode};
use model::{Group, GroupPatch, NewGroup};
use serde::Deserialize;
use store::GroupFilter;
use utoipa::IntoParams;
use uuid::Uuid;

use super::keys::{GroupDetail, GroupPage, ScimOrigin, next_after, page, resolve_group};
use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
};

/// Filters and paging of the group listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GroupListQuery {
    /// Return the groups after this id (the `next_after` of the previous page).
    after: Option<Uuid>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Case-insensitive substring of the name.
    name: Option<String>,
}

/// List groups, in id order, one keyset page at a time.
#[utoipa::path(get, path = "/groups", tag = "groups", params(GroupListQuery),
    responses((status = 200, body = GroupPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_groups(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<GroupListQuery>,
) -> Result<Json<GroupPage>, ApiError> {
    let page = page(query.after, query.limit)?;
    let filter = GroupFilter { name: query.name };
    let items = state.store.list_groups(&filter, page).await?;
    let next_after = next_after(&items, page, |group| group.id.as_uuid());
    Ok(Json(GroupPage { items, next_after }))
}

/// Create a group.
#[utoipa::path(post, path = "/groups", tag = "groups", request_body = NewGroup,
    responses((status = 201, body = Group), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_group(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewGroup>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let group = state.store.create_group(new).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// Get a group by id or name (with the SCIM client that created it, if one did).
#[utoipa::path(get, path = "/groups/{group}", tag = "groups",
    params(("group" = String, Path, description = "The group's id or name")),
    responses((status = 200, body = GroupDetail), (status = 404, body = ErrorBody)))]
pub async fn get_group(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<GroupDetail>, ApiError> {
    let group = resolve_group(&state.store, &key).await?;
    let record = state
        .store
        .scim_group_records(&[group.id])
        .await?
        .remove(&group.id)
        .unwrap_or_default();
    Ok(Json(GroupDetail {
        group,
        scim: ScimOrigin::of(record),
    }))
}

/// Update some fields of a group.
#[utoipa::path(patch, path = "/groups/{group}", tag = "groups", request_body = GroupPatch,
    params(("group" = String, Path, description = "The group's id or name")),
    responses((status = 200, body = Group), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_group(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(patch): ApiJson<GroupPatch>,
) -> Result<Json<Group>, ApiError> {
    let group = resolve_group(&state.store, &key).await?;
    Ok(Json(state.store.update_group(group.id, patch).await?))
}

/// Delete a group (and its memberships).
#[utoipa::path(delete, path = "/groups/{group}", tag = "groups",
    params(("group" = String, Path, description = "The group's id or name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_group(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let group = resolve_group(&state.store, &key).await?;
    // Refused in the delete's own transaction while a provider's scope names the group.
    state.store.delete_group(group.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
