//! The group alternate key `uniqueName` (graph-contract.md §2.2,
//! graph-examples/group-upsert-uniquename.txt): `GET /groups(uniqueName='…')`, the upsert
//! `PATCH /groups(uniqueName='…')` with `Prefer: create-if-missing`, and the property's rules:
//!
//! - a string, given on create (in a `POST /groups` body or as the upsert's key), or set once
//!   on a group that has none;
//! - unique among groups: a second group with it is a 400 with an `ObjectConflict` detail, as
//!   for the other directory keys. Like them it is compared case-insensitively (Graph's docs
//!   do not say; this is the emulator's choice, the stricter one for a client);
//! - immutable once set: a PATCH with another value, or `null`, is a 400; the same value is
//!   accepted and changes nothing.
//!
//! The upsert is the idempotent create: retrying it after a lost answer updates the group the
//! first try made instead of making a second one.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::error::{GraphError, msg, parse_object};
use crate::groups;
use crate::listing;
use crate::odata;
use crate::state::AppState;

pub const PROPERTY: &str = "uniqueName";

/// The key of a `groups(uniqueName='…')` segment, with OData's doubled quotes undone.
pub fn from_segment(segment: &str) -> Option<String> {
    let inner = segment
        .strip_prefix("groups(uniqueName=")?
        .strip_suffix(')')?;
    let inner = inner.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// A group's uniqueName, if it has one.
pub fn of(props: &Map<String, Value>) -> Option<&str> {
    props.get(PROPERTY).and_then(Value::as_str)
}

/// Do two uniqueNames name the same group?
fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn invalid() -> GraphError {
    GraphError::bad_request(msg::invalid_property(PROPERTY, "Group"))
}

/// A uniqueName in a body must be a non-empty string (or `null`, which sets nothing).
pub fn check_value(body: &Map<String, Value>) -> Result<(), GraphError> {
    match body.get(PROPERTY) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        Some(_) => Err(invalid()),
    }
}

/// Holds a PATCH to the immutability rule. A body that repeats the current value (or sends
/// `null` to a group without one) has the property taken out, so it changes nothing.
pub fn check_unchanged(
    current: &Map<String, Value>,
    body: &mut Map<String, Value>,
) -> Result<(), GraphError> {
    let Some(new) = body.get(PROPERTY) else {
        return Ok(());
    };
    match (of(current), new) {
        (Some(old), Value::String(new)) if same(old, new) => {}
        (Some(_), _) => return Err(GraphError::bad_request(msg::UNIQUE_NAME_IMMUTABLE)),
        (None, Value::Null) => {}
        (None, _) => return Ok(()),
    }
    body.remove(PROPERTY);
    Ok(())
}

/// The group with this uniqueName as a request by key sees it (a fresh one is hidden by the
/// read lag).
fn find_addressable(state: &AppState, name: &str) -> Option<uuid::Uuid> {
    let lag = state.read_lag();
    state
        .dir()
        .find_by_unique_name(name)
        .filter(|o| lag.addresses(o))
        .map(|o| o.id)
}

/// `GET /groups(uniqueName='…')`.
pub fn get(
    state: &AppState,
    name: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, GraphError> {
    let lag = state.read_lag();
    let dir = state.dir();
    let obj = dir
        .find_by_unique_name(name)
        .filter(|o| lag.addresses(o))
        .ok_or_else(|| GraphError::not_found(name))?;
    listing::get_one(state, obj, raw_query, headers)
}

/// `PATCH /groups(uniqueName='…')`: 204 after updating the group with that uniqueName; when
/// there is none, 201 with a new group under `Prefer: create-if-missing`, else 404.
///
/// The lookup reads through the read lag like any request by key. A group created moments
/// ago is therefore missing: a plain update answers 404, and create-if-missing goes on to
/// create it and meets the uniqueName conflict, since uniqueness is checked where writes land.
/// Either way no second group is made.
pub fn upsert(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GraphError> {
    let mut body = parse_object(body)?;
    if let Some(id) = find_addressable(state, name) {
        groups::apply_patch(state, id, body)?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    if !odata::prefers(headers, "create-if-missing") {
        return Err(GraphError::not_found(name));
    }
    match body.get(PROPERTY) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if same(s, name) => {}
        Some(_) => return Err(invalid()),
    }
    body.insert(PROPERTY.into(), Value::String(name.to_owned()));
    let (props, members) = groups::validate_new(state, &body)?;
    groups::insert(state, props, &members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn segment_keys_undo_doubled_quotes() {
        assert_eq!(
            from_segment("groups(uniqueName='a''b')").as_deref(),
            Some("a'b")
        );
        assert_eq!(from_segment("groups(uniqueName='')").as_deref(), Some(""));
        assert_eq!(from_segment("groups(id='x')"), None);
        assert_eq!(from_segment("groups(uniqueName=x)"), None);
        assert_eq!(from_segment("users"), None);
    }

    #[test]
    fn values_must_be_non_empty_strings() {
        assert!(check_value(&props(json!({}))).is_ok());
        assert!(check_value(&props(json!({"uniqueName": null}))).is_ok());
        assert!(check_value(&props(json!({"uniqueName": "k"}))).is_ok());
        assert!(check_value(&props(json!({"uniqueName": " "}))).is_err());
        assert!(check_value(&props(json!({"uniqueName": 7}))).is_err());
    }

    #[test]
    fn set_once_then_immutable() {
        let none = props(json!({}));
        let mut set = props(json!({"uniqueName": "k"}));
        assert!(check_unchanged(&none, &mut set).is_ok());
        assert_eq!(set.get(PROPERTY), Some(&json!("k")), "first value is kept");

        let current = props(json!({"uniqueName": "Key"}));
        let mut again = props(json!({"uniqueName": "key", "description": "d"}));
        assert!(check_unchanged(&current, &mut again).is_ok());
        assert!(
            !again.contains_key(PROPERTY),
            "the same value changes nothing"
        );
        for other in [json!("other"), Value::Null] {
            let mut change = props(json!({ "uniqueName": other }));
            assert!(check_unchanged(&current, &mut change).is_err());
        }
    }
}
