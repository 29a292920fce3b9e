//! Graph-shaped errors (`{"error": {"code", "message", "innerError": {...}}}`) and the crate's
//! own start-up error.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Errors of the library API (starting the emulator), not of the emulated Graph.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid certificate: {0}")]
    Certificate(String),
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The exact messages Graph uses for the cases the emulator reproduces (graph-contract.md §8
/// and graph-examples/); kept in one place so handlers and tests cannot drift apart.
pub mod msg {
    pub const UPN_CONFLICT: &str =
        "Another object with the same value for property userPrincipalName already exists.";
    pub const MAIL_NICKNAME_CONFLICT: &str =
        "Another object with the same value for property mailNickname already exists.";
    pub const ALREADY_MEMBER: &str = "One or more added object references already exist for the following modified properties: 'members'.";
    pub const REFERENCED_MISSING: &str =
        "The source resource object or one of the objects being referenced don't exist.";
    pub const UPN_INVALID: &str = "Property userPrincipalName is invalid.";
    pub const INVALID_VALUES: &str = "One or more properties contains invalid values.";
    pub const WEAK_PASSWORD: &str = "The specified password does not comply with password complexity requirements. Please provide a different password.";
    pub const TOKEN_EMPTY: &str = "Access token is empty.";
    pub const TOKEN_EXPIRED: &str = "Access token has expired or is not yet valid.";
    pub const TOKEN_UNPARSABLE: &str = "CompactToken parsing failed with error code: 80049217";
    pub const TOKEN_BAD_SIGNATURE: &str = "Access token validation failure.";
    pub const TOKEN_BAD_AUDIENCE: &str = "Access token validation failure. Invalid audience.";
    pub const METHOD_NOT_ALLOWED: &str =
        "Specified HTTP method is not allowed for the request target.";
    pub const THROTTLED: &str = "Please retry again later.";
    pub const MAIL_ENABLED_SECURITY: &str =
        "Cannot create a mail-enabled security groups and or distribution list.";
    pub const COUNT_UNSUPPORTED: &str = "$count is not currently supported.";
    pub const UNIQUE_NAME_CONFLICT: &str =
        "Another object with the same value for property uniqueName already exists.";
    /// Not a message seen from Graph: its docs only call the property an alternate key.
    pub const UNIQUE_NAME_IMMUTABLE: &str =
        "Property 'uniqueName' cannot be changed once it has been set.";

    pub fn not_found(id: &str) -> String {
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        )
    }

    pub fn invalid_property(prop: &str, resource: &str) -> String {
        format!("Invalid value specified for property '{prop}' of resource '{resource}'.")
    }

    pub fn bad_page_size(raw: &str) -> String {
        format!("Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive.")
    }
}

/// One Graph error answer. `into_response` adds `innerError` with the date, the request id and
/// the client's `client-request-id` (filled in by the request-id layer, see `counters`).
#[derive(Debug, Clone)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Rarely used parts, boxed to keep `Result<_, GraphError>` small.
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Clone, Default)]
struct Extra {
    details: Option<Value>,
    headers: HeaderMap,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            msg::not_found(id),
        )
    }

    /// Duplicate key on create: 400 (not 409, as Graph answers) with an `ObjectConflict` detail.
    pub fn conflict(property: &'static str, message: &'static str) -> Self {
        let mut e = Self::bad_request(message);
        e.extra.get_or_insert_default().details =
            Some(json!([{ "target": property, "code": "ObjectConflict" }]));
        e
    }

    pub fn unauthorized(message: &'static str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }

    /// The OData query-option errors Graph answers with the plain `BadRequest` code.
    pub fn odata(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.extra.get_or_insert_default().headers.insert(name, v);
        }
        self
    }
}

/// The Graph-style UTC timestamp used in `innerError.date` (no fractional seconds, no `Z`).
pub fn graph_date() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        // The request-id layer fills in the real ids: it rewrites the placeholder `innerError`
        // after the handler ran, because handlers do not all see the request extensions.
        let mut error = json!({
            "code": self.code,
            "message": self.message,
            "innerError": { "date": graph_date() },
        });
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            // Graph's 429 sample nests code/status/message in innerError as well.
            error["innerError"]["code"] = json!("429");
            error["innerError"]["status"] = json!("429");
            error["innerError"]["message"] = json!("Please retry after");
        }
        let extra = self.extra.map(|e| *e).unwrap_or_default();
        if let Some(details) = extra.details {
            error["details"] = details;
        }
        let mut resp = (self.status, axum::Json(json!({ "error": error }))).into_response();
        resp.headers_mut().extend(extra.headers);
        resp.extensions_mut().insert(NeedsInnerIds);
        resp
    }
}

/// Marks a response whose `innerError` still lacks the request ids.
#[derive(Debug, Clone, Copy)]
pub struct NeedsInnerIds;

/// Parses a JSON object request body with Graph's answer for anything else.
pub fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, GraphError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(GraphError::odata(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )),
    }
}

/// Graph's answer to a property that is not on the resource.
pub fn undeclared_property(prop: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Property '{prop}' does not exist as a declared property or extension property."
    ))
}
