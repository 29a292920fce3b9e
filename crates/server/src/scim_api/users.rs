//! `/scim/v2/Users`: create, read, replace, patch, delete, list and search.

use axum::{
    Extension,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use model::UserId;
use scim::ScimError;
use serde_json::Value;
use store::{Page, ScimUser, UserFilter};

use super::{
    auth::ScimClient,
    list::{ListQuery, QueryParams, Window},
    response::{
        ScimBody, ScimFailure, base_url, check_if_match, if_match, not_modified,
        not_modified_response, resource, scim_json, version,
    },
    user,
};
use crate::AppState;

/// Users read per page while a filter is evaluated over the whole directory.
const SCAN_PAGE: u32 = 500;

/// A user id from a path; one that cannot be an id names no user.
fn user_id(text: &str) -> Result<UserId, ScimFailure> {
    text.parse::<uuid::Uuid>()
        .map(UserId::from_uuid)
        .map_err(|_| ScimFailure(ScimError::not_found(format!("no User has the id {text:?}"))))
}

fn projected(resource: Value, query: &ListQuery) -> Value {
    query.project(resource, &scim::USER)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(client): Extension<ScimClient>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFailure> {
    let created = create_one(&state, &client, &base_url(&headers), &body).await?;
    Ok(resource(StatusCode::CREATED, &created))
}

/// Creates a user from a resource; answers its rendering.
pub(super) async fn create_one(
    state: &AppState,
    client: &ScimClient,
    base: &str,
    body: &Value,
) -> Result<Value, ScimFailure> {
    let (partial, mut record) = user::from_resource(body, None)?;
    record.client = Some(client.0.clone());
    let created = state
        .store
        .scim_create_user(partial.into_new(), record)
        .await?;
    tracing::info!(user = %created.user.id, "SCIM created a user");
    Ok(user::render(&created, base))
}

pub async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ScimFailure> {
    let query = ListQuery::from_query(query)?;
    let found = state.store.scim_user(user_id(&id)?).await?;
    let current = version(found.user.updated_at);
    if not_modified(&headers, &current) {
        return Ok(not_modified_response(&current));
    }
    let rendered = user::render(&found, &base_url(&headers));
    Ok(resource(StatusCode::OK, &projected(rendered, &query)))
}

pub async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFailure> {
    let written = replace_one(&state, &base_url(&headers), &id, if_match(&headers), &body).await?;
    Ok(resource(StatusCode::OK, &written))
}

/// Replaces a user with a resource (PUT); answers its rendering.
pub(super) async fn replace_one(
    state: &AppState,
    base: &str,
    id: &str,
    wanted_version: Option<&str>,
    body: &Value,
) -> Result<Value, ScimFailure> {
    let written = state
        .store
        .scim_modify_user(user_id(id)?, |current| {
            check_if_match(wanted_version, &version(current.user.updated_at))?;
            let (partial, record) = user::from_resource(body, Some(&current.user.attributes))?;
            Ok::<_, ScimError>(ScimUser {
                user: partial.over(&current.user),
                record,
            })
        })
        .await??;
    Ok(user::render(&written, base))
}

pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFailure> {
    let written = patch_one(&state, &base_url(&headers), &id, if_match(&headers), &body).await?;
    Ok(resource(StatusCode::OK, &written))
}

/// Applies a PatchOp to a user; answers its rendering.
pub(super) async fn patch_one(
    state: &AppState,
    base: &str,
    id: &str,
    wanted_version: Option<&str>,
    body: &Value,
) -> Result<Value, ScimFailure> {
    let operations = scim::parse_patch(body)?;
    let written = state
        .store
        .scim_modify_user(user_id(id)?, |current| {
            check_if_match(wanted_version, &version(current.user.updated_at))?;
            let mut patched = user::render(current, base);
            scim::apply_patch(&mut patched, &operations, &scim::USER)?;
            let (partial, record) = user::from_resource(&patched, Some(&current.user.attributes))?;
            Ok::<_, ScimError>(ScimUser {
                user: partial.over(&current.user),
                record,
            })
        })
        .await??;
    Ok(user::render(&written, base))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimFailure> {
    delete_one(&state, &id, if_match(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deletes a user (the provider's delete action and the accidental-delete guard then apply,
/// as to any directory delete).
pub(super) async fn delete_one(
    state: &AppState,
    id: &str,
    wanted_version: Option<&str>,
) -> Result<(), ScimFailure> {
    let id = user_id(id)?;
    if wanted_version.is_some() {
        let current = state.store.get_user(id).await?;
        check_if_match(wanted_version, &version(current.updated_at))?;
    }
    state.store.delete_user(id).await?;
    tracing::info!(user = %id, "SCIM deleted a user");
    Ok(())
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ScimFailure> {
    let query = ListQuery::from_query(query)?;
    let found = matching(&state, &base_url(&headers), &query).await?;
    Ok(scim_json(StatusCode::OK, &found.answer()))
}

pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFailure> {
    let query = ListQuery::from_search(&body)?;
    let found = matching(&state, &base_url(&headers), &query).await?;
    Ok(scim_json(StatusCode::OK, &found.answer()))
}

/// The users the query's filter matches, as a list response. An equality on `userName`,
/// `externalId` or `id` is answered from an index; any other filter reads the directory a
/// page at a time.
pub(super) async fn matching(
    state: &AppState,
    base: &str,
    query: &ListQuery,
) -> Result<Window, ScimFailure> {
    let store = &state.store;
    let mut window = Window::new(query, scim::USER);
    let offer = |found: &ScimUser, window: &mut Window| {
        let rendered = user::render(found, base);
        let matches = query
            .filter
            .as_ref()
            .is_none_or(|filter| filter.matches(&rendered, &scim::USER));
        if matches {
            window.offer(found.user.id.as_uuid(), rendered, |rendered| {
                projected(rendered, query)
            });
        }
    };
    let indexed: Option<Vec<UserId>> = if let Some(name) = query.equality("username") {
        Some(
            store
                .find_user_by_username(&name)
                .await?
                .map(|user| user.id)
                .into_iter()
                .collect(),
        )
    } else if let Some(external_id) = query.equality("externalid") {
        Some(store.users_by_external_id(&external_id).await?)
    } else {
        query.equality("id").map(|id| {
            id.parse::<uuid::Uuid>()
                .map(UserId::from_uuid)
                .into_iter()
                .collect()
        })
    };
    if let Some(ids) = indexed {
        for id in ids {
            match store.scim_user(id).await {
                Ok(found) => offer(&found, &mut window),
                Err(store::StoreError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
    } else {
        let mut after = None;
        loop {
            let page = store
                .list_users(
                    &UserFilter::default(),
                    Page {
                        after,
                        limit: SCAN_PAGE,
                    },
                )
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.id.as_uuid());
            let ids: Vec<UserId> = page.iter().map(|user| user.id).collect();
            let mut records = store.scim_user_records(&ids).await?;
            for found in page {
                let record = records.remove(&found.id).unwrap_or_default();
                offer(
                    &ScimUser {
                        user: found,
                        record,
                    },
                    &mut window,
                );
            }
        }
    }
    for id in window.sorted_window() {
        match store.scim_user(UserId::from_uuid(id)).await {
            Ok(found) => window.push(projected(user::render(&found, base), query)),
            // Deleted since it was counted: the page is one shorter.
            Err(store::StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(window)
}
