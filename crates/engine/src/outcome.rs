//! What reconciling did: outcomes are values, errors are only what stops or defers the work.

use std::time::Duration;

use mapping::MappingError;
use model::OutcomeKind;
use serde::Serialize;

use crate::local::LocalError;
use crate::plan::Operation;
use crate::remote::{RemoteFailure, RemoteId, TargetError};

/// What reconciling one item did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Created {
        remote_id: RemoteId,
    },
    /// Created again after Entra confirmed the linked object was gone.
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
    /// Several unlinked remote objects match it; none is linked, none is created.
    Ambiguous {
        kind: crate::remote::RemoteKind,
        key: String,
        candidates: Vec<RemoteId>,
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
    /// Members added and removed (and refused).
    Members {
        added: u64,
        removed: u64,
        failed: u64,
    },
    /// Dry run: what would be done.
    Planned {
        operations: Vec<Operation>,
    },
    /// A delete or disable held by accidental-delete protection, waiting for approval under
    /// the run `run`.
    Held {
        run: model::RunId,
        operations: Vec<Operation>,
    },
}

impl Outcome {
    /// What a run counts this outcome as.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Created { .. } => OutcomeKind::Created,
            Outcome::Recreated { .. } => OutcomeKind::Recreated,
            Outcome::Adopted { .. } => OutcomeKind::Adopted,
            Outcome::Updated { .. } => OutcomeKind::Updated,
            Outcome::Unchanged => OutcomeKind::Unchanged,
            Outcome::Skipped { .. } => OutcomeKind::Skipped,
            Outcome::Ambiguous { .. } => OutcomeKind::Ambiguous,
            Outcome::OutOfScope => OutcomeKind::OutOfScope,
            Outcome::Deleted { .. } => OutcomeKind::Deleted,
            Outcome::Disabled { .. } => OutcomeKind::Disabled,
            Outcome::Unlinked { .. } => OutcomeKind::Unlinked,
            Outcome::Rejected { .. } => OutcomeKind::Failed,
            Outcome::Members { .. } => OutcomeKind::Members,
            Outcome::Planned { .. } => OutcomeKind::Planned,
            Outcome::Held { .. } => OutcomeKind::Held,
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

    /// Why nothing was done, for an administrator: a skip's reason, an ambiguity's candidates.
    pub fn explanation(&self) -> Option<String> {
        match self {
            Outcome::Skipped { reason } => Some(reason.clone()),
            Outcome::Ambiguous {
                kind,
                key,
                candidates,
            } => {
                let ids: Vec<&str> = candidates.iter().map(RemoteId::as_str).collect();
                Some(format!(
                    "{} {kind}s in Entra match {key:?} ({}): link the right one by hand \
                     (entrasync link add), or tell them apart in Entra",
                    candidates.len(),
                    ids.join(", ")
                ))
            }
            Outcome::Held { .. } => {
                Some("held by accidental-delete protection: awaiting approval".to_owned())
            }
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
    /// The provider was stopped meanwhile (by an error another item met, or an administrator):
    /// the reason.
    #[error("{0}")]
    Stopped(String),
    /// The claim on this work was lost (another node holds it now): stop writing, leave it.
    #[error("the claim on this work was lost: another node holds it now")]
    LeaseLost,
    #[error("local storage failed: {0}")]
    Local(#[from] LocalError),
}

impl SyncError {
    /// Whether this error stops the whole provider (and its run) until an administrator acts.
    pub fn stops_provider(&self) -> bool {
        matches!(self, SyncError::Mapping(_) | SyncError::Fatal(_))
    }

    pub(crate) fn transient(code: &str, message: impl Into<String>, after: Duration) -> Self {
        SyncError::Transient {
            retry_after: Some(after),
            failure: RemoteFailure::local(code, message),
        }
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
