//! `/groups`: create (required properties, only Microsoft 365 and security groups, at most 20
//! bound relationships), get, PATCH with `members@odata.bind`, DELETE and list. The
//! `uniqueName` alternate key and its upsert are in `unique_name`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::consistency::ReadLag;
use crate::directory::{DirObject, Directory, Kind, is_unified};
use crate::error::{GraphError, msg, parse_object, undeclared_property};
use crate::listing;
use crate::members::{MAX_BIND, bind_list, check_addable, check_referenced};
use crate::odata;
use crate::state::AppState;
use crate::unique_name;
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

/// Every property is the group's (Graph's schema), with a value of its type.
fn check_declared(body: &Map<String, Value>) -> Result<(), GraphError> {
    if let Some(k) = body.keys().find(|k| {
        !k.starts_with('@')
            && *k != MEMBERS_BIND
            && *k != OWNERS_BIND
            && !odata::is_declared(Kind::Group, k)
    }) {
        return Err(undeclared_property(k));
    }
    match crate::schema::v1().object_mismatch("group", body) {
        Some((property, _)) => Err(invalid(&property)),
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

/// The keys Graph keeps unique among groups: `mailNickname` among Microsoft 365 groups only
/// (security groups may share one, as in Entra), and `uniqueName` among all groups. A taken
/// key is a 400 with an `ObjectConflict` detail, as for users' userPrincipalName.
fn check_unique_keys(
    dir: &Directory,
    props: &Map<String, Value>,
    except: Option<Uuid>,
) -> Result<(), GraphError> {
    check_nickname_free(dir, props, except)?;
    check_unique_name_free(dir, props, except)
}

fn check_nickname_free(
    dir: &Directory,
    props: &Map<String, Value>,
    except: Option<Uuid>,
) -> Result<(), GraphError> {
    match props.get("mailNickname").and_then(Value::as_str) {
        Some(nick) if is_unified(props) && dir.unified_nickname_taken(nick, except) => Err(
            GraphError::conflict("mailNickname", msg::MAIL_NICKNAME_CONFLICT),
        ),
        _ => Ok(()),
    }
}

fn check_unique_name_free(
    dir: &Directory,
    props: &Map<String, Value>,
    except: Option<Uuid>,
) -> Result<(), GraphError> {
    match unique_name::of(props) {
        Some(name) if dir.unique_name_taken(name, except) => Err(GraphError::conflict(
            unique_name::PROPERTY,
            msg::UNIQUE_NAME_CONFLICT,
        )),
        _ => Ok(()),
    }
}

/// Validates a create body; returns the properties to store and the members to bind.
pub(crate) fn validate_new(
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
    unique_name::check_value(body)?;
    let members = bind_list(body, MEMBERS_BIND)?;
    let owners = bind_list(body, OWNERS_BIND)?;
    if members.len() + owners.len() > MAX_BIND {
        return Err(too_many_binds());
    }
    let lag = state.reference_lag();
    {
        let dir = state.dir();
        check_referenced(&dir, &members, lag)?;
        check_referenced(&dir, &owners, lag)?;
        check_unique_keys(&dir, body, None)?;
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
pub(crate) fn insert(
    state: &AppState,
    props: Map<String, Value>,
    members: &[Uuid],
) -> Result<Response, GraphError> {
    let id = Uuid::new_v4();
    let mut props = props;
    props.insert("securityIdentifier".into(), json!(security_identifier(id)));
    let mut dir = state.dir();
    // Checked again under the lock the insert holds: two racing creates (two retries of one
    // upsert, say) must not both win.
    check_unique_keys(&dir, &props, None)?;
    dir.insert(Kind::Group, id, props);
    for m in members {
        dir.add_member(id, *m);
    }
    let body = dir
        .get(&id)
        .map(|o| listing::entity(state, o, None))
        .unwrap_or_default();
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = parse_object(&body)?;
    let (props, members) = validate_new(&state, &body)?;
    insert(&state, props, &members)
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

/// The group a request by id reaches: one created within the read lag is a 404, as if it did
/// not exist yet.
fn find_addressable<'d>(
    dir: &'d Directory,
    lag: &ReadLag,
    key: &str,
) -> Result<&'d DirObject, GraphError> {
    let id = parse_id(key)?;
    dir.get_kind(Kind::Group, &id)
        .filter(|o| lag.addresses(o))
        .ok_or_else(|| GraphError::not_found(key))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    let lag = state.read_lag();
    let dir = state.dir();
    let obj = find_addressable(&dir, &lag, &key)?;
    listing::get_one(&state, obj, q.as_deref(), &headers)
}

/// Applies a PATCH body to an existing group: all checks first, then all changes.
pub(crate) fn apply_patch(
    state: &AppState,
    id: Uuid,
    mut body: Map<String, Value>,
) -> Result<(), GraphError> {
    check_declared(&body)?;
    check_common(&body)?;
    unique_name::check_value(&body)?;
    let members = bind_list(&body, MEMBERS_BIND)?;
    if members.len() + bind_list(&body, OWNERS_BIND)?.len() > MAX_BIND {
        return Err(too_many_binds());
    }
    let read_lag = state.read_lag();
    let lag = state.reference_lag();
    let mut dir = state.dir();
    let current = dir
        .get_kind(Kind::Group, &id)
        .ok_or_else(|| GraphError::not_found(&id.to_string()))?;
    if read_lag.is_fresh(current) {
        // Graph's group-update page documents this case: binding members to a group created
        // moments ago may answer "referenced ... don't exist" (400). Any other PATCH of it is
        // a 404, as for a GET.
        return Err(if members.is_empty() {
            GraphError::not_found(&id.to_string())
        } else {
            GraphError::bad_request(msg::REFERENCED_MISSING)
        });
    }
    body.retain(|k, _| !k.starts_with('@') && k != MEMBERS_BIND && k != OWNERS_BIND && k != "id");
    unique_name::check_unchanged(&current.props, &mut body)?;
    let mut merged = current.props.clone();
    merged.extend(body.clone());
    check_kind(&merged)?;
    // Only the keys this PATCH touches are checked, so an old clash (seeded fixtures skip
    // these checks) does not block unrelated edits.
    if body.contains_key("mailNickname") || body.contains_key("groupTypes") {
        check_nickname_free(&dir, &merged, Some(id))?;
    }
    if body.contains_key(unique_name::PROPERTY) {
        check_unique_name_free(&dir, &merged, Some(id))?;
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
    let lag = state.read_lag();
    let mut dir = state.dir();
    let id = find_addressable(&dir, &lag, &key)?.id;
    dir.delete(id);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_that_lost_a_race_for_its_unique_name_is_a_conflict() {
        let emulator =
            crate::Emulator::new(crate::EmulatorConfig::default(), "http://x").expect("emulator");
        let state = emulator.state();
        let body = json!({"displayName": "g", "mailEnabled": false, "mailNickname": "g",
                          "securityEnabled": true, "uniqueName": "k"});
        let body = body.as_object().cloned().expect("object");
        // Both creates validate before either is inserted, as two racing requests can.
        let (first, first_members) = validate_new(state, &body).expect("valid");
        let (second, second_members) = validate_new(state, &body).expect("valid");
        assert!(insert(state, first, &first_members).is_ok());
        let lost = insert(state, second, &second_members).expect_err("conflict");
        assert_eq!(lost.status, StatusCode::BAD_REQUEST);
        assert_eq!(lost.message, msg::UNIQUE_NAME_CONFLICT);
        assert_eq!(state.dir().all().count(), 1);
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
