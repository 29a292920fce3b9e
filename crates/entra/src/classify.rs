//! The one place where Graph's answers become the engine's error kinds (design.md §5,
//! graph-contract.md §8). Directory error codes are coarse (`Request_BadRequest` covers
//! duplicates, existing members and invalid values), so a few message matches are needed.

use std::time::Duration;

use engine::{RemoteFailure, TargetError};
use msgraph::{ApiError, GraphError};

/// The application permissions this target needs (named in permission errors).
pub const REQUIRED_PERMISSIONS: &str =
    "User.ReadWrite.All, Group.ReadWrite.All, GroupMember.ReadWrite.All";

/// How long to wait for a just-created object to replicate before referencing it again.
pub const REPLICATION_WAIT: Duration = Duration::from_secs(2);

pub(crate) fn failure(api: &ApiError) -> RemoteFailure {
    let code = if api.detail_codes.iter().any(|c| c == "ObjectConflict") {
        "ObjectConflict".to_owned()
    } else {
        api.code.clone()
    };
    RemoteFailure {
        code,
        message: api.message.clone(),
        request_id: api.request_id.clone(),
        date: api.date.clone(),
    }
}

fn plain(code: &str, message: String) -> RemoteFailure {
    RemoteFailure {
        code: code.to_owned(),
        message,
        request_id: None,
        date: None,
    }
}

/// Member add: "One or more added object references already exist …".
pub fn is_already_member(err: &GraphError) -> bool {
    err.api().is_some_and(|a| {
        a.status == 400 && a.message.contains("added object references already exist")
    })
}

/// Member removal of a non-member: 404, or the 400 "removed object references do not exist".
pub fn is_not_member(err: &GraphError) -> bool {
    err.api().is_some_and(|a| {
        a.status == 404
            || (a.status == 400 && a.message.contains("removed object references do not exist"))
    })
}

/// A duplicate unique property (UPN, mailNickname, proxyAddresses): 400 + ObjectConflict.
pub fn is_conflict(api: &ApiError) -> bool {
    api.status == 400
        && (api.detail_codes.iter().any(|c| c == "ObjectConflict")
            || (api
                .message
                .starts_with("Another object with the same value for property")
                && api.message.ends_with("already exists.")))
}

/// "The source resource object or one of the objects being referenced don't exist." — a
/// reference to an object that has not replicated yet.
fn is_reference_missing(api: &ApiError) -> bool {
    api.status == 400
        && (api.message.contains("objects being referenced don't exist")
            || api.message.contains("referenced object does not exist"))
}

/// Classifies a Graph error (after msgraph's own retries and its one token refresh).
pub fn classify(err: &GraphError) -> TargetError {
    match err {
        GraphError::Api(api) => classify_api(api),
        GraphError::Transport {
            kind,
            message,
            client_request_id,
            ..
        } => TargetError::Transient {
            retry_after: None,
            // Graph gave no request-id; the id we sent is what its logs can be searched by.
            failure: plain(
                &kind.to_string(),
                format!("{message} (client-request-id {client_request_id})"),
            ),
        },
        GraphError::Token(t) => {
            let f = RemoteFailure {
                code: t.error.clone(),
                message: format!("token request refused: {}", t.description),
                request_id: t.trace_id.clone(),
                date: t.timestamp.clone(),
            };
            if t.is_transient() {
                TargetError::Transient {
                    retry_after: None,
                    failure: f,
                }
            } else {
                TargetError::Fatal { failure: f }
            }
        }
        GraphError::TokenTransport(m) => TargetError::Transient {
            retry_after: None,
            failure: plain("tokenEndpointUnreachable", m.clone()),
        },
        GraphError::TokenTimeout { url, after } => TargetError::Transient {
            retry_after: None,
            failure: plain(
                "tokenEndpointTimeout",
                format!(
                    "the login endpoint {url} did not answer within {} s",
                    after.as_secs()
                ),
            ),
        },
        // A wrong Graph URL or an endpoint that is not Graph: nothing works until it is fixed.
        GraphError::LinkRefused { link, reason } => TargetError::Fatal {
            failure: plain(
                "linkRefused",
                format!("refused to send the Graph token to {link}: {reason}"),
            ),
        },
        GraphError::Decode {
            message,
            request_id,
        } => TargetError::Transient {
            retry_after: None,
            failure: RemoteFailure {
                code: "unexpectedAnswer".into(),
                message: message.clone(),
                request_id: request_id.clone(),
                date: None,
            },
        },
        GraphError::Credential(m) => TargetError::Fatal {
            failure: plain("credential", m.clone()),
        },
        GraphError::InvalidRequest(m) => TargetError::Rejected {
            failure: plain("invalidRequest", m.clone()),
        },
    }
}

fn classify_api(api: &ApiError) -> TargetError {
    let f = failure(api);
    match api.status {
        429 | 500 | 502 | 503 | 504 => TargetError::Transient {
            retry_after: api.retry_after,
            failure: f,
        },
        401 => TargetError::Fatal {
            failure: RemoteFailure {
                message: format!(
                    "{} (Graph refused a fresh token: check the tenant, client id and credential)",
                    f.message
                ),
                ..f
            },
        },
        403 => TargetError::Fatal {
            failure: RemoteFailure {
                message: format!(
                    "{} The application needs the application permissions {REQUIRED_PERMISSIONS} with admin consent.",
                    f.message
                ),
                ..f
            },
        },
        404 => TargetError::NotFound { failure: f },
        400 if is_conflict(api) => TargetError::AlreadyExists { failure: f },
        400 if is_reference_missing(api) => TargetError::Transient {
            retry_after: Some(REPLICATION_WAIT),
            failure: f,
        },
        _ => TargetError::Rejected { failure: f },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, message: &str, details: &[&str]) -> GraphError {
        GraphError::Api(Box::new(ApiError {
            status,
            code: code.into(),
            message: message.into(),
            detail_codes: details.iter().map(|d| (*d).to_owned()).collect(),
            request_id: Some("rid".into()),
            date: Some("2026-11-26T14:00:00".into()),
            retry_after: Some(Duration::from_secs(3)),
            ..ApiError::default()
        }))
    }

    #[test]
    fn the_table() {
        let conflict = api(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
            &["ObjectConflict"],
        );
        assert!(
            matches!(classify(&conflict), TargetError::AlreadyExists { ref failure } if failure.code == "ObjectConflict" && failure.request_id.as_deref() == Some("rid"))
        );
        let nick = api(
            400,
            "Request_BadRequest",
            "Another object with the same value for property mailNickname already exists.",
            &[],
        );
        assert!(matches!(classify(&nick), TargetError::AlreadyExists { .. }));
        let lag = api(
            400,
            "Request_BadRequest",
            "The source resource object or one of the objects being referenced don't exist.",
            &[],
        );
        assert!(matches!(
            classify(&lag),
            TargetError::Transient {
                retry_after: Some(_),
                ..
            }
        ));
        let denied = api(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            &[],
        );
        match classify(&denied) {
            TargetError::Fatal { failure } => {
                for p in [
                    "User.ReadWrite.All",
                    "Group.ReadWrite.All",
                    "GroupMember.ReadWrite.All",
                ] {
                    assert!(failure.message.contains(p), "{}", failure.message);
                }
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(&api(401, "InvalidAuthenticationToken", "x", &[])),
            TargetError::Fatal { .. }
        ));
        assert!(matches!(
            classify(&api(404, "Request_ResourceNotFound", "x", &[])),
            TargetError::NotFound { .. }
        ));
        assert!(
            matches!(classify(&api(429, "TooManyRequests", "x", &[])), TargetError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(3))
        );
        assert!(matches!(
            classify(&api(503, "serviceNotAvailable", "x", &[])),
            TargetError::Transient { .. }
        ));
        match classify(&api(
            400,
            "Request_BadRequest",
            "Property userPrincipalName is invalid.",
            &[],
        )) {
            TargetError::Rejected { failure } => {
                assert_eq!(failure.code, "Request_BadRequest");
                assert_eq!(failure.message, "Property userPrincipalName is invalid.");
            }
            other => panic!("{other:?}"),
        }
        let transport = GraphError::Transport {
            kind: msgraph::TransportKind::Timeout,
            message: "timed out".into(),
            client_request_id: "c".into(),
            outcome_unknown: false,
        };
        assert!(matches!(
            classify(&transport),
            TargetError::Transient { .. }
        ));
    }

    #[test]
    fn member_idempotency_predicates() {
        assert!(is_already_member(&api(
            400,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'members'.",
            &[]
        )));
        assert!(is_not_member(&api(
            404,
            "Request_ResourceNotFound",
            "x",
            &[]
        )));
        assert!(is_not_member(&api(
            400,
            "Request_BadRequest",
            "One or more removed object references do not exist for the following modified properties: 'members'.",
            &[]
        )));
        assert!(!is_not_member(&api(
            400,
            "Request_BadRequest",
            "Invalid",
            &[]
        )));
    }
}
