//! SCIM's side of HTTP: error answers as RFC 7644 §3.12 has them, resources with their
//! `ETag` and `Location`, bodies read whatever their media type says (clients send
//! `application/scim+json` and `application/json` alike), and the `If-Match` versions.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use scim::ScimError;
use serde_json::Value;
use store::StoreError;

use super::SCIM_MEDIA_TYPE;

/// A SCIM error answer.
#[derive(Debug)]
pub struct ScimFailure(pub ScimError);

impl From<ScimError> for ScimFailure {
    fn from(error: ScimError) -> Self {
        Self(error)
    }
}

impl From<StoreError> for ScimFailure {
    fn from(error: StoreError) -> Self {
        Self(match error {
            StoreError::NotFound { kind, key } => {
                ScimError::not_found(format!("no {kind} has the id {key}"))
            }
            StoreError::Conflict { message, .. } => ScimError::uniqueness(message),
            StoreError::InUse { message } => ScimError::new(409, None, message),
            StoreError::Invalid(invalid) => ScimError::invalid_value(invalid.to_string()),
            other => {
                tracing::error!(error = %other, "a SCIM request could not reach the directory");
                ScimError::new(
                    503,
                    None,
                    "the directory cannot be reached right now; try again later",
                )
            }
        })
    }
}

impl IntoResponse for ScimFailure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        scim_json(status, &self.0.to_json())
    }
}

/// `value` as an `application/scim+json` answer.
pub fn scim_json(status: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_MEDIA_TYPE),
    );
    response
}

/// A resource answer, with its version as `ETag` (and its address as `Location` when made).
pub fn resource(status: StatusCode, resource: &Value) -> Response {
    let mut response = scim_json(status, resource);
    let headers = response.headers_mut();
    if let Some(version) = resource["meta"]["version"].as_str()
        && let Ok(value) = HeaderValue::from_str(version)
    {
        headers.insert(header::ETAG, value);
    }
    if status == StatusCode::CREATED
        && let Some(location) = resource["meta"]["location"].as_str()
        && let Ok(value) = HeaderValue::from_str(location)
    {
        headers.insert(header::LOCATION, value);
    }
    response
}

/// A resource's version: its last modification, to the microsecond, as a weak tag.
pub fn version(updated_at: DateTime<Utc>) -> String {
    format!("W/\"{}\"", updated_at.timestamp_micros())
}

/// Whether a precondition header (`If-Match`, `If-None-Match`) names `current` (or is `*`).
/// Weak and strong forms compare alike, as RFC 7232's weak comparison has it.
fn names(header_value: &str, current: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    header_value
        .split(',')
        .any(|tag| tag.trim() == "*" || bare(tag) == bare(current))
}

/// The `If-Match` of a request (a bulk operation's `version` plays its part).
pub fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::IF_MATCH)
        .and_then(|value| value.to_str().ok())
}

/// Refuses a write whose `If-Match` names another version than `current` (412).
pub fn check_if_match(wanted: Option<&str>, current: &str) -> Result<(), ScimError> {
    match wanted {
        Some(wanted) if !names(wanted, current) => Err(ScimError::precondition_failed(format!(
            "the resource is at version {current}, not {wanted}: read it again"
        ))),
        _ => Ok(()),
    }
}

/// Whether a read's `If-None-Match` names the current version (answer 304).
pub fn not_modified(headers: &HeaderMap, current: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|wanted| names(wanted, current))
}

/// The answer to a read whose `If-None-Match` matched.
pub fn not_modified_response(current: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(value) = HeaderValue::from_str(current) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// A request body as JSON, whatever media type it was sent as; a body that is not JSON is
/// `invalidSyntax`.
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimFailure;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status().as_u16();
                ScimError::new(status, None, rejection.body_text())
            })?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|error| ScimError::invalid_syntax(format!("the body is not JSON: {error}")))?;
        if !value.is_object() {
            return Err(ScimError::invalid_syntax("the body must be a JSON object").into());
        }
        Ok(Self(value))
    }
}

/// Where this server's SCIM resources live, as the client addressed it (`meta.location` and
/// members' `$ref` are built on it).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            host.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .filter(|scheme| *scheme == "https" || *scheme == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}/scim/v2")
}
