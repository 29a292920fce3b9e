//! Group membership: list (paged), add by `$ref`, remove by `$ref`, and the checks shared with
//! `members@odata.bind` (existence, replication lag, already a member).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::directory::{Directory, Kind};
use crate::error::{GraphError, msg, parse_object};
use crate::odata::{self, Query, paging};
use crate::state::AppState;

/// Most references one request may bind (Graph's limit for PATCH and create).
pub const MAX_BIND: usize = 20;

/// Where references point: Graph's own host for the cloud the emulator stands for (the global
/// one), whatever address the emulator itself answers on. Real Graph refuses a reference to
/// another host, so the emulator does too.
pub const REFERENCE_ROOT: &str = "https://graph.microsoft.com/v1.0/";

/// Object id from a reference URL such as `https://graph.microsoft.com/v1.0/directoryObjects/{id}`
/// (or `…/users/{id}`, `…/groups/{id}`).
pub fn resolve_ref(url: &str) -> Result<Uuid, GraphError> {
    let invalid = || {
        GraphError::bad_request(format!(
            "Invalid URL format specified in @odata.bind or @odata.id: '{url}'. References \
             name {REFERENCE_ROOT}directoryObjects/{{id}}."
        ))
    };
    let rest = url
        .get(..REFERENCE_ROOT.len())
        .filter(|root| root.eq_ignore_ascii_case(REFERENCE_ROOT))
        .and_then(|_| url.get(REFERENCE_ROOT.len()..))
        .ok_or_else(invalid)?;
    let (collection, last) = rest
        .trim_end_matches('/')
        .split_once('/')
        .ok_or_else(invalid)?;
    if !["directoryObjects", "users", "groups"]
        .iter()
        .any(|known| known.eq_ignore_ascii_case(collection))
    {
        return Err(invalid());
    }
    Uuid::parse_str(last)
        .map_err(|_| GraphError::bad_request(format!("Invalid object identifier '{last}'.")))
}

/// The list of `members@odata.bind` (or `owners@odata.bind`) URLs in a body.
pub fn bind_list(body: &Map<String, Value>, key: &str) -> Result<Vec<Uuid>, GraphError> {
    let Some(v) = body.get(key) else {
        return Ok(Vec::new());
    };
    let arr = v
        .as_array()
        .ok_or_else(|| GraphError::bad_request(msg::INVALID_VALUES))?;
    let ids = arr
        .iter()
        .map(|u| {
            u.as_str()
                .ok_or_else(|| GraphError::bad_request(msg::INVALID_VALUES))
                .and_then(resolve_ref)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = HashSet::new();
    if let Some(dup) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(GraphError::bad_request(format!(
            "The object '{dup}' can only be present once as an add/remove change."
        )));
    }
    Ok(ids)
}

/// Every referenced object must exist (404) and be past the replication-lag window (400).
pub fn check_referenced(dir: &Directory, ids: &[Uuid], lag: Duration) -> Result<(), GraphError> {
    for id in ids {
        let obj = dir
            .get(id)
            .ok_or_else(|| GraphError::not_found(&id.to_string()))?;
        if !lag.is_zero() && obj.created_at.elapsed() < lag {
            return Err(GraphError::bad_request(msg::REFERENCED_MISSING));
        }
    }
    Ok(())
}

/// Checks that `new` can be added to `group` all at once (Graph adds none if any fails).
pub fn check_addable(
    dir: &Directory,
    group: Uuid,
    new: &[Uuid],
    lag: Duration,
) -> Result<(), GraphError> {
    let g = dir
        .get_kind(Kind::Group, &group)
        .ok_or_else(|| GraphError::not_found(&group.to_string()))?;
    if !lag.is_zero() && g.created_at.elapsed() < lag {
        return Err(GraphError::bad_request(msg::REFERENCED_MISSING));
    }
    check_referenced(dir, new, lag)?;
    if new.iter().any(|m| g.members.contains(m)) {
        return Err(GraphError::bad_request(msg::ALREADY_MEMBER));
    }
    Ok(())
}

fn group_id(key: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(key).map_err(|_| GraphError::not_found(key))
}

#[derive(Debug, Serialize, Deserialize)]
struct MemberCursor {
    after: Uuid,
}

/// `GET /groups/{id}/members`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = Query::parse(raw.as_deref())?;
    let gid = group_id(&key)?;
    let lag = state.read_lag();
    let dir = state.dir();
    let g = dir
        .get_kind(Kind::Group, &gid)
        .filter(|g| lag.addresses(g))
        .ok_or_else(|| GraphError::not_found(&key))?;
    let after = q
        .skiptoken
        .as_deref()
        .map(paging::decode::<MemberCursor>)
        .transpose()?
        .map(|c| c.after);
    let size = q.page_size();
    let range = match after {
        Some(a) => g
            .members
            .range((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
        None => g.members.range(..),
    };
    let mut value = Vec::new();
    let mut last = None;
    let mut more = false;
    for m in range {
        let Some(o) = dir.get(m) else { continue };
        if value.len() == size {
            more = true;
            break;
        }
        let mut item = Map::new();
        item.insert("@odata.type".into(), json!(o.kind.odata_type()));
        item.extend(odata::project(o.kind, &o.props, q.select.as_deref()));
        value.push(Value::Object(item));
        last = Some(*m);
    }
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(odata::collection_context(
            &state.base,
            "directoryObjects",
            q.select.as_deref()
        )),
    );
    if let (true, Some(last)) = (more, last) {
        let token = paging::encode(&MemberCursor { after: last });
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}/groups/{key}/members?{}",
                state.base,
                q.link_query("$skiptoken", &token)
            )),
        );
    }
    body.insert("value".into(), Value::Array(value));
    Ok(axum::Json(Value::Object(body)).into_response())
}

/// `POST /groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`.
pub async fn add(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = parse_object(&body)?;
    let member = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request(msg::INVALID_VALUES))
        .and_then(resolve_ref)?;
    let gid = group_id(&key)?;
    let lag = state.reference_lag();
    let mut dir = state.dir();
    check_addable(&dir, gid, &[member], lag)?;
    dir.add_member(gid, member);
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /groups/{id}/members/{memberId}/$ref`; a non-member is a 404.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    Path((key, member)): Path<(String, String)>,
) -> Result<StatusCode, GraphError> {
    let gid = group_id(&key)?;
    let lag = state.read_lag();
    let mut dir = state.dir();
    let g = dir
        .get_kind(Kind::Group, &gid)
        .ok_or_else(|| GraphError::not_found(&key))?;
    if lag.is_fresh(g) {
        // The same answer as adding to a group the replica has not seen yet.
        return Err(GraphError::bad_request(msg::REFERENCED_MISSING));
    }
    let mid = Uuid::parse_str(&member)
        .ok()
        .filter(|m| g.members.contains(m))
        .ok_or_else(|| GraphError::not_found(&member))?;
    dir.remove_member(gid, mid);
    Ok(StatusCode::NO_CONTENT)
}
