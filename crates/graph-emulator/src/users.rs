//! `/users`: create (required properties, verified UPN domain, case-insensitive UPN
//! uniqueness, password complexity), get by id or UPN, PATCH, soft DELETE and list.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::consistency::ReadLag;
use crate::directory::{DirObject, Directory, Kind};
use crate::error::{GraphError, msg, parse_object, undeclared_property};
use crate::listing;
use crate::odata;
use crate::state::AppState;

/// Characters Entra allows in the local part of a UPN.
fn valid_upn_local(local: &str) -> bool {
    !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c))
}

pub fn check_upn(state: &AppState, upn: &str) -> Result<(), GraphError> {
    let ok = upn
        .rsplit_once('@')
        .is_some_and(|(local, domain)| valid_upn_local(local) && state.is_verified_domain(domain));
    if ok {
        Ok(())
    } else {
        Err(GraphError::bad_request(msg::UPN_INVALID))
    }
}

/// Entra's complexity rule: 8–256 characters and three of the four character classes.
pub fn password_ok(p: &str) -> bool {
    let classes = [
        p.chars().any(|c| c.is_lowercase()),
        p.chars().any(|c| c.is_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_alphanumeric()),
    ];
    (8..=256).contains(&p.chars().count()) && classes.iter().filter(|b| **b).count() >= 3
}

/// mailNickname: 1–64 printable ASCII characters without `@ ( ) \\ [ ] " ; : < > ,` or space.
pub fn valid_mail_nickname(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control() && !"@()\\[]\";:<>, ".contains(c))
}

fn invalid(p: &str) -> GraphError {
    GraphError::bad_request(msg::invalid_property(p, "User"))
}

/// Every property is the user's (Graph's schema), with a value of its type.
fn check_declared(body: &Map<String, Value>) -> Result<(), GraphError> {
    if let Some(k) = body
        .keys()
        .find(|k| !k.starts_with('@') && !odata::is_declared(Kind::User, k))
    {
        return Err(undeclared_property(k));
    }
    match crate::schema::v1().object_mismatch("user", body) {
        Some((property, _)) => Err(invalid(&property)),
        None => Ok(()),
    }
}

fn check_password(body: &Map<String, Value>) -> Result<(), GraphError> {
    let Some(profile) = body.get("passwordProfile") else {
        return Ok(());
    };
    let password = profile
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("passwordProfile"))?;
    if password_ok(password) {
        Ok(())
    } else {
        Err(GraphError::bad_request(msg::WEAK_PASSWORD))
    }
}

/// Validates a create body and returns the properties to store.
pub fn validate_new(
    state: &AppState,
    mut body: Map<String, Value>,
) -> Result<Map<String, Value>, GraphError> {
    check_declared(&body)?;
    if !body.get("accountEnabled").is_some_and(Value::is_boolean) {
        return Err(invalid("accountEnabled"));
    }
    if body
        .get("displayName")
        .and_then(Value::as_str)
        .is_none_or(|s| s.trim().is_empty())
    {
        return Err(invalid("displayName"));
    }
    let nick = body.get("mailNickname").and_then(Value::as_str);
    if !nick.is_some_and(valid_mail_nickname) {
        return Err(invalid("mailNickname"));
    }
    if !body.get("passwordProfile").is_some_and(Value::is_object) {
        return Err(invalid("passwordProfile"));
    }
    let upn = body
        .get("userPrincipalName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("userPrincipalName"))?
        .to_owned();
    check_upn(state, &upn)?;
    check_password(&body)?;
    if state.dir().upn_taken(&upn, None) {
        return Err(GraphError::conflict("userPrincipalName", msg::UPN_CONFLICT));
    }
    // The password is write-only in Graph; it is checked, never stored or returned.
    body.remove("passwordProfile");
    body.remove("id");
    body.retain(|k, _| !k.starts_with('@'));
    for p in odata::USER_DEFAULT {
        body.entry(*p).or_insert(Value::Null);
    }
    if body.get("businessPhones").is_none_or(Value::is_null) {
        body.insert("businessPhones".into(), json!([]));
    }
    body.insert(
        "createdDateTime".into(),
        json!(crate::clock::utc_timestamp()),
    );
    body.entry("userType").or_insert(json!("Member"));
    Ok(body)
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = parse_object(&body)?;
    let props = validate_new(&state, body)?;
    let mut dir = state.dir();
    // Re-checked under the same lock as the insert so two racing creates cannot both win.
    if let Some(upn) = props.get("userPrincipalName").and_then(Value::as_str)
        && dir.upn_taken(upn, None)
    {
        return Err(GraphError::conflict("userPrincipalName", msg::UPN_CONFLICT));
    }
    let obj = dir.insert(Kind::User, Uuid::new_v4(), props);
    let body = listing::entity(&state, obj, None);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    listing::list(&state, Kind::User, q.as_deref(), &headers)
}

pub async fn count(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    listing::count(&state, Kind::User, q.as_deref(), &headers)
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    get_by_key(&state, &key, q.as_deref(), &headers)
}

/// The user a key (id or userPrincipalName) names, as a request by key sees it: a user
/// created within the read lag is a 404 like one that does not exist.
fn find_addressable<'d>(
    dir: &'d Directory,
    lag: &ReadLag,
    key: &str,
) -> Result<&'d DirObject, GraphError> {
    dir.find_user(key)
        .filter(|o| lag.addresses(o))
        .ok_or_else(|| GraphError::not_found(key))
}

/// GET by id or userPrincipalName (shared with the `users('…')` key form).
pub fn get_by_key(
    state: &AppState,
    key: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, GraphError> {
    let lag = state.read_lag();
    let dir = state.dir();
    let obj = find_addressable(&dir, &lag, key)?;
    listing::get_one(state, obj, raw_query, headers)
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    update_by_key(&state, &key, &body)
}

/// PATCH by id or userPrincipalName: validate everything, then merge.
pub fn update_by_key(state: &AppState, key: &str, body: &[u8]) -> Result<StatusCode, GraphError> {
    let mut body = parse_object(body)?;
    check_declared(&body)?;
    check_password(&body)?;
    if body.contains_key("displayName")
        && body
            .get("displayName")
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
    {
        return Err(invalid("displayName"));
    }
    if let Some(n) = body.get("mailNickname")
        && !n.as_str().is_some_and(valid_mail_nickname)
    {
        return Err(invalid("mailNickname"));
    }
    if let Some(upn) = body.get("userPrincipalName") {
        let upn = upn.as_str().ok_or_else(|| invalid("userPrincipalName"))?;
        check_upn(state, upn)?;
    }
    body.remove("passwordProfile");
    body.remove("id");
    body.retain(|k, _| !k.starts_with('@'));
    let lag = state.read_lag();
    let mut dir = state.dir();
    let id = find_addressable(&dir, &lag, key)?.id;
    if let Some(upn) = body.get("userPrincipalName").and_then(Value::as_str)
        && dir.upn_taken(upn, Some(id))
    {
        return Err(GraphError::conflict("userPrincipalName", msg::UPN_CONFLICT));
    }
    dir.update(id, body);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
) -> Result<StatusCode, GraphError> {
    delete_by_key(&state, &key)
}

/// Soft DELETE by id or userPrincipalName.
pub fn delete_by_key(state: &AppState, key: &str) -> Result<StatusCode, GraphError> {
    let lag = state.read_lag();
    let mut dir = state.dir();
    let id = find_addressable(&dir, &lag, key)?.id;
    dir.delete(id);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_complexity() {
        assert!(password_ok("xWwvJ]6NMw+bWH-d"));
        assert!(password_ok("abcDEF123"));
        assert!(!password_ok("abcdefgh"));
        assert!(!password_ok("Ab1!"));
    }

    #[test]
    fn upn_local_part_characters() {
        assert!(valid_upn_local("o'brien.a-b_c"));
        assert!(!valid_upn_local("josé"));
        assert!(!valid_upn_local("a b"));
        assert!(!valid_upn_local(""));
    }
}
