//! What reconciling did: outcomes are values, errors are only what stops or defers the work.

use std::time::Duration;

use mapping::MappingError;
use serde::Serialize;

use crate::ports::{LocalError, Properties, RemoteFailure, RemoteId, TargetError};

/// A remote operation a sync performs, or in a dry run would perform.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum Operation {
    /// Create the object with this document (secrets such as the password left out).
    Create { document: Properties },
    /// Create again an object deleted in Entra, and link the new one.
    Recreate {
        previous: RemoteId,
        document: Properties,
    },
    /// PATCH these properties (only those that differ).
    Update {
        remote_id: RemoteId,
        changes: Vec<FieldChange>,
    },
    /// Link an existing remote object.
    Adopt { remote_id: RemoteId },
    /// Delete the remote object.
    Delete { remote_id: RemoteId },
    /// Set `accountEnabled = false` on the remote user.
    Disable { remote_id: RemoteId },
    /// Forget the link, touch nothing remotely.
    Unlink { remote_id: RemoteId },
    /// Add members to a group: linked users by remote id, and (in a plan) users the run
    /// creates first, by username.
    AddMembers {
        group: RemoteId,
        members: Vec<RemoteId>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        new_members: Vec<String>,
    },
    /// Remove a member from a group.
    RemoveMember { group: RemoteId, member: RemoteId },
}

/// One property an update changes: what Entra holds (as far as we know) and what it will hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub property: String,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// What reconciling one object (or one membership) did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Created {
        remote_id: RemoteId,
    },
    /// Created again after it was deleted in Entra.
    Recreated {
        remote_id: RemoteId,
    },
    /// An existing remote object was linked (and brought in line: `changed` properties).
    Adopted {
        remote_id: RemoteId,
        changed: Vec<String>,
    },
    Updated {
        remote_id: RemoteId,
        changed: Vec<String>,
    },
    Unchanged,
    /// A mapping skipped the object (or there are no mappings).
    Skipped {
        reason: String,
    },
    /// Not in scope and not linked: nothing to do.
    OutOfScope,
    Deleted {
        remote_id: RemoteId,
    },
    Disabled {
        remote_id: RemoteId,
    },
    /// The link was removed; the remote object stays.
    Unlinked {
        remote_id: RemoteId,
    },
    /// The remote refused this object; the sync goes on with the next.
    Rejected {
        failure: RemoteFailure,
    },
    MembersChanged {
        added: u64,
        removed: u64,
    },
    /// Dry run: what would be done.
    Planned {
        operations: Vec<Operation>,
    },
    /// A delete or disable held by accidental-delete protection, waiting for approval.
    Held {
        operations: Vec<Operation>,
    },
}

impl Outcome {
    /// The name a run counts this outcome under.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Created { .. } => "created",
            Outcome::Recreated { .. } => "recreated",
            Outcome::Adopted { .. } => "adopted",
            Outcome::Updated { .. } => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped { .. } => "skipped",
            Outcome::OutOfScope => "out_of_scope",
            Outcome::Deleted { .. } => "deleted",
            Outcome::Disabled { .. } => "disabled",
            Outcome::Unlinked { .. } => "unlinked",
            Outcome::Rejected { .. } => "failed",
            Outcome::MembersChanged { .. } => "members_changed",
            Outcome::Planned { .. } => "planned",
            Outcome::Held { .. } => "held",
        }
    }

    /// The remote object the object is linked to afterwards, when the outcome says.
    pub fn remote_id(&self) -> Option<&RemoteId> {
        match self {
            Outcome::Created { remote_id }
            | Outcome::Recreated { remote_id }
            | Outcome::Adopted { remote_id, .. }
            | Outcome::Updated { remote_id, .. } => Some(remote_id),
            _ => None,
        }
    }
}

/// Why reconciling could not finish. Everything else (rejected, skipped, unchanged) is an
/// [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A mapping failed: stop the sync, naming the mapping and the object, rather than repeat
    /// the same error for every object.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// Nothing will work until an administrator acts (credentials, permissions, tenant).
    #[error("Entra refused the provider's access: {0}")]
    Fatal(RemoteFailure),
    /// Try again later.
    #[error("transient failure: {failure}")]
    Transient {
        retry_after: Option<Duration>,
        failure: RemoteFailure,
    },
    /// Something this depends on is not there yet (a membership whose group or user is not
    /// linked yet): try again shortly.
    #[error("not ready: {0}")]
    NotReady(String),
    #[error("local storage failed: {0}")]
    Local(#[from] LocalError),
}

impl SyncError {
    /// Whether this error stops the whole provider (and its run) until an administrator acts.
    pub fn stops_provider(&self) -> bool {
        matches!(self, SyncError::Mapping(_) | SyncError::Fatal(_))
    }
}

/// A target error that is not an outcome of its own: transient and fatal errors stop the
/// reconcile; the others are the caller's to turn into outcomes.
pub(crate) fn escalate(error: TargetError) -> Result<Outcome, SyncError> {
    match error {
        TargetError::Transient {
            retry_after,
            failure,
        } => Err(SyncError::Transient {
            retry_after,
            failure,
        }),
        TargetError::Fatal { failure } => Err(SyncError::Fatal(failure)),
        TargetError::NotFound { failure }
        | TargetError::AlreadyExists { failure }
        | TargetError::Rejected { failure } => Ok(Outcome::Rejected { failure }),
    }
}
