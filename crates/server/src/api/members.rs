use axum::{Json, extract::State};
use model::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::keys::{ListQuery, UserPage, next_after, page, resolve_group, resolve_user};
use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
};

/// Most users one membership call may name.
pub const MAX_USERS_PER_CALL: usize = 1000;

/// Users to add to or remove from a group, each by id or username.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberList {
    pub users: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembersAdded {
    pub added: Vec<UserId>,
    pub already_members: Vec<UserId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembersRemoved {
    pub removed: Vec<UserId>,
    pub not_members: Vec<UserId>,
}

async fn resolve_users(state: &AppState, list: &MemberList) -> Result<Vec<UserId>, ApiError> {
    if list.users.is_empty() {
        return Err(ApiError::validation("users", "name at least one user"));
    }
    if list.users.len() > MAX_USERS_PER_CALL {
        return Err(ApiError::validation(
            "users",
            format!("at most {MAX_USERS_PER_CALL} users per call"),
        ));
    }
    let mut ids = Vec::with_capacity(list.users.len());
    for (index, key) in list.users.iter().enumerate() {
        let user = resolve_user(&state.store, key)
            .await
            .map_err(|err| err.with_field(format!("users[{index}]")))?;
        ids.push(user.id);
    }
    Ok(ids)
}

/// List a group's direct members.
#[utoipa::path(get, path = "/groups/{group}/members", tag = "groups",
    params(("group" = String, Path, description = "The group's id or name"), ListQuery),
    responses((status = 200, body = UserPage), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<UserPage>, ApiError> {
    let page = page(query.after, query.limit)?;
    let group = resolve_group(&state.store, &key).await?;
    let items = state.store.list_members(group.id, page).await?;
    let next_after = next_after(&items, page, |user| user.id.as_uuid());
    Ok(Json(UserPage { items, next_after }))
}

/// Add users to a group: all of them or, when one is unknown, none.
#[utoipa::path(post, path = "/groups/{group}/members", tag = "groups", request_body = MemberList,
    params(("group" = String, Path, description = "The group's id or name")),
    responses((status = 200, body = MembersAdded), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_members(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(list): ApiJson<MemberList>,
) -> Result<Json<MembersAdded>, ApiError> {
    let group = resolve_group(&state.store, &key).await?;
    let users = resolve_users(&state, &list).await?;
    let change = state.store.add_members(group.id, &users).await?;
    Ok(Json(MembersAdded {
        added: change.changed,
        already_members: change.unchanged,
    }))
}

/// Remove users from a group.
#[utoipa::path(post, path = "/groups/{group}/members/remove", tag = "groups", request_body = MemberList,
    params(("group" = String, Path, description = "The group's id or name")),
    responses((status = 200, body = MembersRemoved), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_members(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(list): ApiJson<MemberList>,
) -> Result<Json<MembersRemoved>, ApiError> {
    let group = resolve_group(&state.store, &key).await?;
    let users = resolve_users(&state, &list).await?;
    let change = state.store.remove_members(group.id, &users).await?;
    Ok(Json(MembersRemoved {
        removed: change.changed,
        not_members: change.unchanged,
    }))
}
