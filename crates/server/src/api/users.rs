use axum::{Json, extract::State, http::StatusCode};
use model::{NewUser, User, UserKind, UserPatch};
use serde::Deserialize;
use store::UserFilter;
use utoipa::IntoParams;
use uuid::Uuid;

use super::keys::{
    GroupPage, ListQuery, ScimOrigin, UserDetail, UserPage, next_after, page, resolve_user,
};
use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
};

/// Filters and paging of the user listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Return the users after this id (the `next_after` of the previous page).
    after: Option<Uuid>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Case-insensitive substring of the username.
    username: Option<String>,
    /// Case-insensitive substring of the email.
    email: Option<String>,
    kind: Option<UserKind>,
    /// `true` for active users only, `false` for inactive ones.
    active: Option<bool>,
}

/// List users, in id order, one keyset page at a time.
#[utoipa::path(get, path = "/users", tag = "users", params(UserListQuery),
    responses((status = 200, body = UserPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<UserListQuery>,
) -> Result<Json<UserPage>, ApiError> {
    let page = page(query.after, query.limit)?;
    let filter = UserFilter {
        username: query.username,
        email: query.email,
        kind: query.kind,
        is_active: query.active,
    };
    let items = state.store.list_users(&filter, page).await?;
    let next_after = next_after(&items, page, |user| user.id.as_uuid());
    Ok(Json(UserPage { items, next_after }))
}

/// Create a user.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let user = state.store.create_user(new).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Get a user by id or username (with the SCIM client that created it, if one did).
#[utoipa::path(get, path = "/users/{user}", tag = "users",
    params(("user" = String, Path, description = "The user's id or username")),
    responses((status = 200, body = UserDetail), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<UserDetail>, ApiError> {
    let user = resolve_user(&state.store, &key).await?;
    let scim = state.store.scim_user(user.id).await?;
    Ok(Json(UserDetail {
        user: scim.user,
        scim: ScimOrigin::of(scim.record),
    }))
}

/// Update some fields of a user; absent fields stay, `"email": null` clears the email.
#[utoipa::path(patch, path = "/users/{user}", tag = "users", request_body = UserPatch,
    params(("user" = String, Path, description = "The user's id or username")),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<User>, ApiError> {
    let user = resolve_user(&state.store, &key).await?;
    Ok(Json(state.store.update_user(user.id, patch).await?))
}

/// Delete a user (and its memberships).
#[utoipa::path(delete, path = "/users/{user}", tag = "users",
    params(("user" = String, Path, description = "The user's id or username")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let user = resolve_user(&state.store, &key).await?;
    state.store.delete_user(user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the groups a user is a direct member of.
#[utoipa::path(get, path = "/users/{user}/groups", tag = "users",
    params(("user" = String, Path, description = "The user's id or username"), ListQuery),
    responses((status = 200, body = GroupPage), (status = 404, body = ErrorBody)))]
pub async fn list_user_groups(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<GroupPage>, ApiError> {
    let page = page(query.after, query.limit)?;
    let user = resolve_user(&state.store, &key).await?;
    let items = state.store.list_user_groups(user.id, page).await?;
    let next_after = next_after(&items, page, |group| group.id.as_uuid());
    Ok(Json(GroupPage { items, next_after }))
}
