//! The remote side in the engine's words: remote ids and objects, pages, anchors, member
//! changes, and the target's failures, classified once (by the target) by what to do next.

use std::{fmt, time::Duration};

use model::ProviderId;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use uuid::Uuid;

pub use model::RemoteKind;

/// Remote properties as Graph's JSON spells them (`displayName`, `accountEnabled`, …).
pub type Properties = Map<String, serde_json::Value>;

/// The id of a remote object (an Entra object id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RemoteId(String);

impl RemoteId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RemoteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A remote object as the target read it: its id and the properties it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteObject {
    pub id: RemoteId,
    pub properties: Properties,
}

/// One page of a remote listing, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePage {
    pub objects: Vec<RemoteObject>,
    /// Opaque; pass it back to read the next page. `None` on the last page.
    pub next: Option<String>,
}

/// How to find a remote object without knowing its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// A user by `userPrincipalName` (regardless of case).
    UserPrincipalName(String),
    /// A user by `mail` (regardless of case).
    Mail(String),
    /// A user or group by `mailNickname`.
    MailNickname(String),
    /// A group by `displayName` (not unique in Entra: several may answer).
    DisplayName(String),
}

/// The key that makes a create idempotent: creating again with the same key answers the
/// object the first call made instead of a second one. Entra keeps it as a group's
/// `uniqueName` (users need none: their `userPrincipalName` is unique).
///
/// It is derived from the provider, the directory object and the remote object it replaces
/// (none for a first create), so that a create retried after a crash, a lost answer or a
/// restart uses the same key without anything being stored first, and creating an object
/// again after it was deleted in Entra uses a new one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CreateKey(String);

impl CreateKey {
    /// Namespace of the keys (a fixed, random UUID: the keys are UUIDv5 names under it).
    const NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_0c3e_9a54_4d2b_8e71_3f0a_5c9d_e214);

    pub fn derive(provider: ProviderId, object: Uuid, replacing: Option<&RemoteId>) -> Self {
        let mut name = Vec::with_capacity(80);
        name.extend_from_slice(provider.as_uuid().as_bytes());
        name.extend_from_slice(object.as_bytes());
        if let Some(previous) = replacing {
            name.extend_from_slice(previous.as_str().as_bytes());
        }
        let id = Uuid::new_v5(&Self::NAMESPACE, &name);
        Self(format!("es-{}", id.simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What adding or removing members did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberChange {
    /// Members whose membership changed.
    pub changed: Vec<RemoteId>,
    /// Members that were already in the state asked for (already members, or not members).
    pub unchanged: Vec<RemoteId>,
}

/// What the remote side said when it refused, kept so that an administrator can quote it to
/// the remote's support (its request id and date).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteFailure {
    /// The remote's error code (Graph's `error.code`, or a detail code such as
    /// `ObjectConflict`).
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub date: Option<String>,
}

impl RemoteFailure {
    /// A failure the engine states itself (no request behind it).
    pub fn local(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            request_id: None,
            date: None,
        }
    }
}

impl fmt::Display for RemoteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(request_id) = &self.request_id {
            write!(f, " (request-id {request_id}")?;
            if let Some(date) = &self.date {
                write!(f, ", {date}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A target's failure, classified once (by the target) by what the engine should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Try again later (throttled, a server or network fault, a reference not replicated yet).
    #[error("transient failure: {failure}")]
    Transient {
        retry_after: Option<Duration>,
        failure: RemoteFailure,
    },
    /// The object is gone remotely (or, right after it was made, not visible yet).
    #[error("not found: {failure}")]
    NotFound { failure: RemoteFailure },
    /// An object with the same unique property exists: look it up and adopt it.
    #[error("already exists: {failure}")]
    AlreadyExists { failure: RemoteFailure },
    /// This object was refused (an invalid value, a domain not verified): record it, go on.
    #[error("rejected: {failure}")]
    Rejected { failure: RemoteFailure },
    /// Nothing will work until an administrator acts (credentials, permissions, tenant).
    #[error("fatal: {failure}")]
    Fatal { failure: RemoteFailure },
}

impl TargetError {
    pub fn failure(&self) -> &RemoteFailure {
        match self {
            TargetError::Transient { failure, .. }
            | TargetError::NotFound { failure }
            | TargetError::AlreadyExists { failure }
            | TargetError::Rejected { failure }
            | TargetError::Fatal { failure } => failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_keys_are_stable_and_change_with_what_they_replace() {
        let provider = ProviderId::new();
        let object = Uuid::now_v7();
        let first = CreateKey::derive(provider, object, None);
        assert_eq!(first, CreateKey::derive(provider, object, None));
        assert!(first.as_str().starts_with("es-") && first.as_str().len() == 35);
        let gone = RemoteId::new("1f0c…");
        let again = CreateKey::derive(provider, object, Some(&gone));
        assert_ne!(first, again);
        assert_eq!(again, CreateKey::derive(provider, object, Some(&gone)));
        assert_ne!(first, CreateKey::derive(ProviderId::new(), object, None));
    }
}
