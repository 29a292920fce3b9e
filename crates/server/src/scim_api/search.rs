//! `POST /.search` at the root (RFC 7644 §3.4.3): one query over every resource type, Users
//! then Groups, paged across both as one list. `sortBy` orders each type's part.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::{
    groups,
    list::ListQuery,
    response::{ScimBody, ScimFailure, base_url, scim_json},
    users,
};
use crate::AppState;

pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFailure> {
    let query = ListQuery::from_search(&body)?;
    let base = base_url(&headers);
    let users = users::matching(&state, &base, &query).await?;
    // The groups' part of the window: what is left of it once the users are counted.
    let mut rest = query.clone();
    rest.start_index = query.start_index.saturating_sub(users.total).max(1);
    rest.count = query.count.saturating_sub(users.resources.len() as u64);
    let groups = groups::matching(&state, &base, &rest).await?;
    let total = users.total + groups.total;
    let mut resources = users.resources;
    resources.extend(groups.resources);
    Ok(scim_json(
        StatusCode::OK,
        &scim::list_response(total, query.start_index, resources),
    ))
}
