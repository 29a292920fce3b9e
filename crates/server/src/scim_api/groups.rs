//! `/scim/v2/Groups`: create, read, replace, patch, delete, list and search. A member added
//! must be a user of the directory; groups do not nest.

use axum::{
    Extension,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use model::{Group, GroupId, GroupName};
use scim::ScimError;
use serde_json::Value;
use store::{GroupFilter, Page, ScimGroup};

use super::{
    auth::ScimClient,
    group,
    list::{ListQuery, QueryParams, Window, mentions},
    response::{
        ScimBody, ScimFailure, base_url, check_if_match, if_match, not_modified,
        not_modified_response, resource, scim_json, version,
    },
};
use crate::AppState;

/// Groups read per page while a filter is evaluated over the whole directory.
const SCAN_PAGE: u32 = 200;

fn group_id(text: &str) -> Result<GroupId, ScimFailure> {
    text.parse::<uuid::Uuid>()
        .map(GroupId::from_uuid)
        .map_err(|_| {
            ScimFailure(ScimError::not_found(format!(
                "no Group has the id {text:?}"
            )))
        })
}

fn projected(resource: Value, query: &ListQuery) -> Value {
    query.project(resource, &scim::GROUP)
}

/// The group `partial` describes, over `current`.
fn over(current: &Group, partial: group::PartialGroup) -> ScimGroup {
    ScimGroup {
        group: Group {
            name: partial.name,
            attributes: partial.attributes,
            ..current.clone()
        },
        record: partial.record,
        members: partial.members,
    }
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

/// Creates a group (with its members) from a resource; answers its rendering.
pub(super) async fn create_one(
    state: &AppState,
    client: &ScimClient,
    base: &str,
    body: &Value,
) -> Result<Value, ScimFailure> {
    let mut partial = group::from_resource(body, None)?;
    partial.record.client = Some(client.0.clone());
    let created = state
        .store
        .scim_create_group(
            model::NewGroup {
                name: partial.name,
                attributes: partial.attributes,
            },
            partial.record,
            &partial.members,
        )
        .await
        .map_err(group::write_error)?;
    tracing::info!(group = %created.group.id, "SCIM created a group");
    Ok(group::render(&created, base, true))
}

pub async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ScimFailure> {
    let query = ListQuery::from_query(query)?;
    let found = state.store.scim_group(group_id(&id)?).await?;
    let current = version(found.group.updated_at);
    if not_modified(&headers, &current) {
        return Ok(not_modified_response(&current));
    }
    let rendered = group::render(&found, &base_url(&headers), query.wants("members"));
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

/// Replaces a group, its members too (PUT); answers its rendering.
pub(super) async fn replace_one(
    state: &AppState,
    base: &str,
    id: &str,
    wanted_version: Option<&str>,
    body: &Value,
) -> Result<Value, ScimFailure> {
    let written = state
        .store
        .scim_modify_group(group_id(id)?, |current| {
            check_if_match(wanted_version, &version(current.group.updated_at))?;
            let partial = group::from_resource(body, Some(&current.group.attributes))?;
            Ok::<_, ScimError>(over(&current.group, partial))
        })
        .await
        .map_err(group::write_error)??;
    Ok(group::render(&written, base, true))
}

/// Answered with 204 and the new version: a group's whole member list can be long, and
/// clients that patch groups do not read it back.
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFailure> {
    let written = patch_one(&state, &base_url(&headers), &id, if_match(&headers), &body).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(tag) = HeaderValue::from_str(&written) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// Applies a PatchOp to a group; answers its new version.
pub(super) async fn patch_one(
    state: &AppState,
    base: &str,
    id: &str,
    wanted_version: Option<&str>,
    body: &Value,
) -> Result<String, ScimFailure> {
    let operations = scim::parse_patch(body)?;
    let written = state
        .store
        .scim_modify_group(group_id(id)?, |current| {
            check_if_match(wanted_version, &version(current.group.updated_at))?;
            let mut patched = group::render(current, base, true);
            scim::apply_patch(&mut patched, &operations, &scim::GROUP)?;
            // The rendering held every attribute: what the patch left is the whole group.
            let partial = group::from_resource(&patched, None)?;
            Ok::<_, ScimError>(over(&current.group, partial))
        })
        .await
        .map_err(group::write_error)??;
    Ok(version(written.group.updated_at))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimFailure> {
    delete_one(&state, &id, if_match(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn delete_one(
    state: &AppState,
    id: &str,
    wanted_version: Option<&str>,
) -> Result<(), ScimFailure> {
    let id = group_id(id)?;
    if wanted_version.is_some() {
        let current = state.store.get_group(id).await?;
        check_if_match(wanted_version, &version(current.updated_at))?;
    }
    state.store.delete_group(id).await?;
    tracing::info!(group = %id, "SCIM deleted a group");
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

/// The groups the query's filter matches. An equality on `displayName`, `externalId` or `id`
/// is answered from an index; members are read only when the answer or the filter needs them.
pub(super) async fn matching(
    state: &AppState,
    base: &str,
    query: &ListQuery,
) -> Result<Window, ScimFailure> {
    let store = &state.store;
    let with_members = query.wants("members");
    let filter_members = query
        .filter
        .as_ref()
        .is_some_and(|filter| mentions(filter, "members"));
    let mut window = Window::new(query, scim::GROUP);
    let indexed: Option<Vec<GroupId>> = if let Some(name) = query.equality("displayname") {
        Some(match GroupName::parse(name) {
            Ok(name) => store
                .find_group_by_name(&name)
                .await?
                .map(|group| group.id)
                .into_iter()
                .collect(),
            Err(_) => Vec::new(),
        })
    } else if let Some(external_id) = query.equality("externalid") {
        Some(store.groups_by_external_id(&external_id).await?)
    } else {
        query.equality("id").map(|id| {
            id.parse::<uuid::Uuid>()
                .map(GroupId::from_uuid)
                .into_iter()
                .collect()
        })
    };
    let offer = |found: &ScimGroup, window: &mut Window| {
        let rendered = group::render(found, base, with_members || filter_members);
        let matches = query
            .filter
            .as_ref()
            .is_none_or(|filter| filter.matches(&rendered, &scim::GROUP));
        if matches {
            window.offer(found.group.id.as_uuid(), rendered, |mut rendered| {
                if !with_members && let Some(object) = rendered.as_object_mut() {
                    object.remove("members");
                }
                projected(rendered, query)
            });
        }
    };
    if let Some(ids) = indexed {
        for id in ids {
            match store.scim_group(id).await {
                Ok(found) => offer(&found, &mut window),
                Err(store::StoreError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
    } else {
        let mut after = None;
        loop {
            let page = store
                .list_groups(
                    &GroupFilter::default(),
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
            if with_members || filter_members {
                for found in page {
                    match store.scim_group(found.id).await {
                        Ok(found) => offer(&found, &mut window),
                        Err(store::StoreError::NotFound { .. }) => {}
                        Err(error) => return Err(error.into()),
                    }
                }
            } else {
                let ids: Vec<GroupId> = page.iter().map(|group| group.id).collect();
                let mut records = store.scim_group_records(&ids).await?;
                for found in page {
                    let record = records.remove(&found.id).unwrap_or_default();
                    offer(
                        &ScimGroup {
                            group: found,
                            record,
                            members: Vec::new(),
                        },
                        &mut window,
                    );
                }
            }
        }
    }
    for id in window.sorted_window() {
        match store.scim_group(GroupId::from_uuid(id)).await {
            Ok(found) => window.push(projected(group::render(&found, base, with_members), query)),
            // Deleted since it was counted: the page is one shorter.
            Err(store::StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(window)
}
