//! The client's errors. They carry what Graph said (status, code, message, detail codes) and
//! what an administrator quotes to Microsoft support (`request-id`, `date`), and whether a
//! non-idempotent request may have been applied anyway (`outcome_unknown`). Classifying them
//! into "what to do" is the caller's job (the `entra` crate), not this crate's; each variant's
//! comment says whether it is worth trying again later and whether anything may have changed.

use std::{fmt, time::Duration};

use serde_json::Value;

/// An error answer from Graph, as Graph gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// `error.code`, e.g. `Request_BadRequest`.
    pub code: String,
    pub message: String,
    /// `error.details[].code`, e.g. `ObjectConflict`.
    pub detail_codes: Vec<String>,
    /// `error.details[].target`, e.g. `userPrincipalName`.
    pub detail_targets: Vec<String>,
    /// From `innerError.request-id`, else the `request-id` header.
    pub request_id: Option<String>,
    /// The id this client sent.
    pub client_request_id: Option<String>,
    /// From `innerError.date`, else the `Date` header.
    pub date: Option<String>,
    /// `Retry-After`, when the answer carried one.
    pub retry_after: Option<Duration>,
    /// True when a non-idempotent request got a 5xx: it may or may not have been applied.
    pub outcome_unknown: bool,
}

impl ApiError {
    /// Parses Graph's error body (`{"error": {...}}`, graph-contract.md §8); header values
    /// fill in what the body lacks.
    pub fn from_parts(
        status: u16,
        body: &Value,
        header_request_id: Option<String>,
        header_date: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let err = &body["error"];
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let inner = if err["innerError"].is_object() {
            &err["innerError"]
        } else {
            &err["innererror"]
        };
        let details = err["details"].as_array().cloned().unwrap_or_default();
        Self {
            status,
            code: text(&err["code"]).unwrap_or_else(|| format!("HTTP{status}")),
            message: text(&err["message"]).unwrap_or_default(),
            detail_codes: details.iter().filter_map(|d| text(&d["code"])).collect(),
            detail_targets: details.iter().filter_map(|d| text(&d["target"])).collect(),
            request_id: text(&inner["request-id"]).or(header_request_id),
            client_request_id: text(&inner["client-request-id"]),
            date: text(&inner["date"]).or(header_date),
            retry_after,
            outcome_unknown: false,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)?;
        if !self.detail_codes.is_empty() {
            write!(f, " [{}]", self.detail_codes.join(", "))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id}")?;
            if let Some(date) = &self.date {
                write!(f, ", date {date}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Connection,
    /// The answer started but its body did not arrive whole.
    Body,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timeout",
            TransportKind::Connection => "connection error",
            TransportKind::Body => "incomplete response",
        })
    }
}

/// A failure of the token endpoint (AADSTS errors, graph-contract.md §0.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFailure {
    pub status: u16,
    /// `error`, e.g. `invalid_client`.
    pub error: String,
    /// `error_description` (starts with the AADSTS code).
    pub description: String,
    pub aadsts: Option<u64>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub timestamp: Option<String>,
}

impl fmt::Display for TokenFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} {}: {}",
            self.status, self.error, self.description
        )?;
        if let Some(t) = &self.trace_id {
            write!(f, " (trace-id {t})")?;
        }
        Ok(())
    }
}

impl TokenFailure {
    /// Throttling and service faults of the token endpoint are worth retrying; a wrong secret,
    /// tenant or client id is not.
    pub fn is_transient(&self) -> bool {
        self.status == 429
            || self.status >= 500
            || matches!(self.aadsts, Some(90055 | 90033 | 90024))
    }
}

/// Why a link (or a request path) was refused: it would have taken the bearer token somewhere
/// other than the configured Graph version root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("it is not an absolute URL ({0})")]
    Unparsable(String),
    #[error("its origin {found} is not the Graph base's ({expected})")]
    ForeignOrigin { expected: String, found: String },
    #[error("its path {path} is not under the Graph version root {root}")]
    OutsideVersionRoot { root: String, path: String },
    /// Userinfo (`https://user:pass@…`) would be sent as a second authorization.
    #[error("it carries user credentials")]
    Credentials,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    #[error("Graph error: {0}")]
    Api(Box<ApiError>),
    #[error("{kind} talking to Graph (client-request-id {client_request_id}): {message}")]
    Transport {
        kind: TransportKind,
        message: String,
        client_request_id: String,
        /// True when a non-idempotent request may have been applied.
        outcome_unknown: bool,
    },
    #[error("token request failed: {0}")]
    Token(Box<TokenFailure>),
    #[error("token endpoint unreachable: {0}")]
    TokenTransport(String),
    /// The token endpoint did not answer within `after` (the connect timeout or the token
    /// timeout of [`crate::ClientConfig`]). Transient; nothing was changed anywhere. Not
    /// retried inside the request: each try would hold it, and every caller waiting for the
    /// same token, for the whole timeout again.
    #[error("login endpoint {url} did not answer within {after:?}")]
    TokenTimeout { url: String, after: Duration },
    /// A link (`@odata.nextLink`, a stored `@odata.deltaLink`) or path that does not lead to
    /// the configured Graph base. Nothing was sent. Not transient: the link is wrong, or the
    /// endpoint that gave it is not Graph (a wrong Graph URL, a spoofing proxy).
    #[error("refused to send the Graph token to {link}: {reason}")]
    LinkRefused { link: String, reason: LinkRefusal },
    #[error("unexpected answer from Graph: {message}")]
    Decode {
        message: String,
        request_id: Option<String>,
    },
    #[error("credential error: {0}")]
    Credential(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl GraphError {
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            GraphError::Api(e) => Some(e),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// True when a non-idempotent request failed so that it may have been applied: the caller
    /// must look the object up before trying again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            GraphError::Api(e) => e.outcome_unknown,
            GraphError::Transport {
                outcome_unknown, ..
            } => *outcome_unknown,
            _ => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|e| e.retry_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_graph_error_body_with_details_and_inner_error() {
        let body = json!({"error": {"code": "Request_BadRequest",
            "message": "Another object with the same value for property userPrincipalName already exists.",
            "innerError": {"date": "2023-02-14T11:10:50", "request-id": "rid-1", "client-request-id": "c-1"},
            "details": [{"target": "userPrincipalName", "code": "ObjectConflict"}]}});
        let e = ApiError::from_parts(400, &body, Some("hdr".into()), None, None);
        assert_eq!(e.code, "Request_BadRequest");
        assert_eq!(e.detail_codes, vec!["ObjectConflict"]);
        assert_eq!(e.detail_targets, vec!["userPrincipalName"]);
        assert_eq!(e.request_id.as_deref(), Some("rid-1"));
        assert_eq!(e.date.as_deref(), Some("2023-02-14T11:10:50"));
        assert!(e.to_string().contains("rid-1"));
    }

    #[test]
    fn falls_back_to_headers_and_status_code() {
        let e = ApiError::from_parts(
            502,
            &json!("oops"),
            Some("h".into()),
            Some("d".into()),
            None,
        );
        assert_eq!(e.code, "HTTP502");
        assert_eq!(e.request_id.as_deref(), Some("h"));
        assert_eq!(e.date.as_deref(), Some("d"));
    }
}
