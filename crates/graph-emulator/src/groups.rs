//! `/groups`: create (required properties, only Microsoft 365 and security groups, at most 20
//! bound relationships), get, PATCH with `members@odata.bind`, DELETE, list, and the
//! `PATCH /groups(uniqueName='…')` upsert with `Prefer: create-if-missing`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::directory::{Kind, is_unified};
use crate::error::{GraphError, msg, parse_object, undeclared_property};
use crate::listing;
use crate::members::{MAX_BIND, bind_list, check_addable, check_referenced};
use crate::odata;
use crate::state::AppState;
use crate::users::valid_mail_nickname;

const MEMBERS_BIND: &str = "members@odata.bind";
const OWNERS_BIND: &str = "owners@odata.bind";

fn invalid(p: &str) -> GraphError {
    GraphError::bad_request(msg::invalid_property(p, "Group"))
}

fn too_many_binds() -> GraphError {
    GraphError::bad_request(format!(
        "A maximum of {MAX_BIND} relationships, such as owners and members, can be added in a single request."
    ))
}

fn check_declared(body: &Map<String, Value>) -> Result<(), GraphError> {
    match body.keys().find(|k| {
        !k.starts_with('@')
            && *k != MEMBERS_BIND
            && *k != OWNERS_BIND
            && !odata::is_declared(Kind::Group, k)
    }) {
        Some(k) => Err(undeclared_property(k)),
        None => Ok(()),
    }
}

/// Only Microsoft 365 (Unified) and security groups can be managed through Graph.
fn check_kind(props: &Map<String, Value>) -> Result<(), GraphError> {
    let mail = props
        .get("mailEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let security = props
        .get("securityEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !is_unified(props) && (mail || !security) {
        return Err(GraphError::bad_request(msg::MAIL_ENABLED_SECURITY));
    }
    Ok(())
}

fn check_common(body: &Map<String, Value>) -> Result<(), GraphError> {
    if body.contains_key("displayName")
        && !body
            .get("displayName")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= 256)
    {
        return Err(invalid("displayName"));
    }
    if body.contains_key("mailNickname")
        && !body
            .get("mailNickname")
            .and_then(Value::as_str)
            .is_some_and(valid_mail_nickname)
    {
        return Err(invalid("mailNickname"));
    }
    Ok(())
}

/// Stable SID-like identifier derived from the object id, shaped like Entra's.
fn security_identifier(id: Uuid) -> String {
    let b = id.as_bytes();
    let part = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    format!("S-1-12-1-{}-{}-{}-{}", part(0), part(4), part(8), part(12))
}

/// Validates a create body; returns the properties to store and the members to bind.
fn validate_new(
    state: &AppState,
    body: &Map<String, Value>,
) -> Result<(Map<String, Value>, Vec<Uuid>), GraphError> {
    check_declared(body)?;
    for p in ["displayName", "mailNickname"] {
        if !body.get(p).is_some_and(Value::is_string) {
            return Err(invalid(p));
        }
    }
    for p in ["mailEnabled", "securityEnabled"] {
        if !body.get(p).is_some_and(Value::is_boolean) {
            return Err(invalid(p));
        }
    }
    check_common(body)?;
    check_kind(body)?;
    let members = bind_list(body, MEMBERS_BIND)?;
    let owners = bind_list(body, OWNERS_BIND)?;
    if members.len() + owners.len() > MAX_BIND {
        return Err(too_many_binds());
    }
    let lag = Duration::from_millis(state.knobs().replication_lag_ms);
    {
        let dir = state.dir();
        check_referenced(&dir, &members, lag)?;
        check_referenced(&dir, &owners, lag)?;
        let nick = body
            .get("mailNickname")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if is_unified(body) && dir.unified_nickname_taken(nick, None) {
            return Err(GraphError::conflict(
                "mailNickname",
                msg::MAIL_NICKNAME_CONFLICT,
            ));
        }
        if let Some(u) = body.get("uniqueName").and_then(Value::as_str)
            && dir.find_by_unique_name(u).is_some()
        {
            return Err(GraphError::conflict(
                "uniqueName",
                "Another object with the same value for property uniqueName already exists.",
            ));
        }
    }
    let now = crate::clock::utc_timestamp();
    let unified = is_unified(body);
    let nick = body
        .get("mailNickname")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mail = unified.then(|| format!("{nick}@{}", state.default_domain()));
    let mut props: Map<String, Value> = json!({
        "deletedDateTime": null, "classification": null, "createdDateTime": now,
        "description": null, "expirationDateTime": null, "groupTypes": [],
        "isAssignableToRole": null, "mail": mail, "membershipRule": null,
        "membershipRuleProcessingState": null, "onPremisesDomainName": null,
        "onPremisesLastSyncDateTime": null, "onPremisesNetBiosName": null,
        "onPremisesSamAccountName": null, "onPremisesSecurityIdentifier": null,
        "onPremisesSyncEnabled": null, "preferredDataLocation": null, "preferredLanguage": null,
        "proxyAddresses": mail.iter().map(|m| format!("SMTP:{m}")).collect::<Vec<_>>(),
        "renewedDateTime": now, "resourceBehaviorOptions": [], "resourceProvisioningOptions": [],
        "theme": null, "visibility": if unified { json!("Public") } else { Value::Null },
        "onPremisesProvisioningErrors": [],
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    for (k, v) in body {
        if !k.starts_with('@') && k != MEMBERS_BIND && k != OWNERS_BIND && k != "id" {
            props.insert(k.clone(), v.clone());
        }
    }
    Ok((props, members))
}

/// Creates a validated group with its bound members; returns the 201 answer.
fn insert(state: &AppState, props: Map<String, Value>, members: &[Uuid]) -> Response {
    let id = Uuid::new_v4();
    let mut props = props;
    props.insert("securityIdentifier".into(), json!(security_identifier(id)));
    let mut dir = state.dir();
    dir.insert(Kind::Group, id, props);
    for m in members {
        dir.add_member(id, *m);
    }
    let body = dir
        .get(&id)
        .map(|o| listing::entity(state, o, None))
        .unwrap_or_default();
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = parse_object(&body)?;
    let (props, members) = validate_new(&state, &body)?;
    Ok(insert(&state, props, &members))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    listing::list(&state, Kind::Group, q.as_deref(), &headers)
}

pub async fn count(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    listing::count(&state, Kind::Group, q.as_deref(), &headers)
}

fn parse_id(key: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(key).map_err(|_| GraphError::not_found(key))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    let id = parse_id(&key)?;
    let dir = state.dir();
    let obj = dir
        .get_kind(Kind::Group, &id)
        .ok_or_else(|| GraphError::not_found(&key))?;
    listing::get_one(&state, obj, q.as_deref(), &headers)
}

/// Applies a PATCH body to an existing group: all checks first, then all changes.
fn apply_patch(state: &AppState, id: Uuid, mut body: Map<String, Value>) -> Result<(), GraphError> {
    check_declared(&body)?;
    check_common(&body)?;
    let members = bind_list(&body, MEMBERS_BIND)?;
    if members.len() + bind_list(&body, OWNERS_BIND)?.len() > MAX_BIND {
        return Err(too_many_binds());
    }
    let lag = Duration::from_millis(state.knobs().replication_lag_ms);
    let mut dir = state.dir();
    let current = dir
        .get_kind(Kind::Group, &id)
        .ok_or_else(|| GraphError::not_found(&id.to_string()))?;
    let mut merged = current.props.clone();
    body.retain(|k, _| !k.starts_with('@') && k != MEMBERS_BIND && k != OWNERS_BIND && k != "id");
    merged.extend(body.clone());
    check_kind(&merged)?;
    if let Some(n) = body.get("mailNickname").and_then(Value::as_str)
        && is_unified(&merged)
        && dir.unified_nickname_taken(n, Some(id))
    {
        return Err(GraphError::conflict(
            "mailNickname",
            msg::MAIL_NICKNAME_CONFLICT,
        ));
    }
    if !members.is_empty() {
        check_addable(&dir, id, &members, lag)?;
    }
    dir.update(id, body);
    for m in members {
        dir.add_member(id, m);
    }
    Ok(())
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = parse_object(&body)?;
    let id = parse_id(&key)?;
    apply_patch(&state, id, body)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
) -> Result<StatusCode, GraphError> {
    let id = parse_id(&key)?;
    let mut dir = state.dir();
    dir.get_kind(Kind::Group, &id)
        .ok_or_else(|| GraphError::not_found(&key))?;
    dir.delete(id);
    Ok(StatusCode::NO_CONTENT)
}

/// `uniqueName` out of a `groups(uniqueName='…')` segment (quotes doubled as in OData).
pub fn unique_name_key(segment: &str) -> Option<String> {
    let inner = segment
        .strip_prefix("groups(uniqueName=")?
        .strip_suffix(')')?;
    let inner = inner.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// `GET /groups(uniqueName='…')`.
pub fn get_by_unique_name(
    state: &AppState,
    name: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, GraphError> {
    let dir = state.dir();
    let obj = dir
        .find_by_unique_name(name)
        .ok_or_else(|| GraphError::not_found(name))?;
    listing::get_one(state, obj, raw_query, headers)
}

/// `PATCH /groups(uniqueName='…')`: update, or with `Prefer: create-if-missing` create (201).
pub fn upsert(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GraphError> {
    let mut body = parse_object(body)?;
    let existing = state.dir().find_by_unique_name(name).map(|o| o.id);
    if let Some(id) = existing {
        body.remove("uniqueName");
        apply_patch(state, id, body)?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let create = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("create-if-missing"))
        });
    if !create {
        return Err(GraphError::not_found(name));
    }
    body.insert("uniqueName".into(), json!(name));
    let (props, members) = validate_new(state, &body)?;
    Ok(insert(state, props, &members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_name_segment() {
        assert_eq!(
            unique_name_key("groups(uniqueName='a''b')").as_deref(),
            Some("a'b")
        );
        assert_eq!(unique_name_key("groups(id='x')"), None);
        assert_eq!(unique_name_key("users"), None);
    }

    #[test]
    fn only_m365_and_security_groups() {
        let p = |v: Value| v.as_object().cloned().expect("object");
        assert!(check_kind(&p(json!({"mailEnabled": false, "securityEnabled": true}))).is_ok());
        assert!(
            check_kind(&p(
                json!({"mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]})
            ))
            .is_ok()
        );
        assert!(check_kind(&p(json!({"mailEnabled": true, "securityEnabled": true}))).is_err());
        assert!(check_kind(&p(json!({"mailEnabled": true, "securityEnabled": false}))).is_err());
    }
}
