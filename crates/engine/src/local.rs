//! The local side in the engine's words: what it reconciles (an [`Item`]), links, snapshots of
//! the tenant, and failures of our own storage.

use std::fmt;

use chrono::{DateTime, Utc};
use model::{GroupId, ProviderId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::remote::{Properties, RemoteId, RemoteKind, RemoteObject};

/// One thing to reconcile: an object, one membership, or a whole group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum Item {
    User(UserId),
    Group(GroupId),
    /// One membership: after the user joined or left the group (or either changed scope).
    Membership {
        group: GroupId,
        user: UserId,
    },
    /// Every member of the group, in bulk (a full sync's membership step).
    Members(GroupId),
}

impl Item {
    /// The object an item is about, as links name it (`None` for memberships).
    pub fn object(self) -> Option<(RemoteKind, Uuid)> {
        match self {
            Item::User(id) => Some((RemoteKind::User, id.as_uuid())),
            Item::Group(id) => Some((RemoteKind::Group, id.as_uuid())),
            Item::Membership { .. } | Item::Members(_) => None,
        }
    }

    /// The item reconciling a user or group of `kind`.
    pub fn of(kind: RemoteKind, object: Uuid) -> Self {
        match kind {
            RemoteKind::User => Item::User(UserId::from_uuid(object)),
            RemoteKind::Group => Item::Group(GroupId::from_uuid(object)),
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::User(id) => write!(f, "user {id}"),
            Item::Group(id) => write!(f, "group {id}"),
            Item::Membership { group, user } => write!(f, "membership of user {user} in {group}"),
            Item::Members(id) => write!(f, "members of group {id}"),
        }
    }
}

/// A link: directory object `object` is remote object `remote_id` for `provider`, with what we
/// last wrote to it (the properties, create-only ones left out) and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub provider: ProviderId,
    pub kind: RemoteKind,
    /// The user or group id.
    pub object: Uuid,
    pub remote_id: RemoteId,
    /// What the remote object holds as far as we know: what we last wrote, over what was read
    /// when it was linked. A direct sync, which reads nothing remotely, compares with these.
    pub written: Properties,
    /// When the link was last written, by the store's clock (the database's, shared by every
    /// node).
    pub synced_at: DateTime<Utc>,
}

/// A link to write; the store stamps it with its clock.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    pub provider: ProviderId,
    pub kind: RemoteKind,
    pub object: Uuid,
    pub remote_id: RemoteId,
    pub written: Properties,
}

/// What a snapshot is for. Only a full sync's snapshot becomes the provider's current one (what
/// direct syncs compare with); a plan's is private to it and dropped when the plan is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotPurpose {
    Sync,
    Plan,
}

/// The id of one snapshot (one discovery's listing of the tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SnapshotId(Uuid);

impl SnapshotId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub const fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl Default for SnapshotId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A complete snapshot: every remote user and group as listed starting at `taken_at` (by the
/// store's clock, as links' `synced_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub id: SnapshotId,
    pub taken_at: DateTime<Utc>,
}

/// A remote object as discovery read it, with the keys discovery matches directory objects by:
/// for users `mail` and `userPrincipalName`, for groups `displayName`, each lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotEntry {
    pub object: RemoteObject,
    /// At most two keys (absent properties give none).
    pub keys: Vec<String>,
}

/// A failure of our own storage (the directory or the links), as the engine sees it: nothing to
/// classify, the run or the work row simply tries again later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LocalError(#[source] Box<dyn std::error::Error + Send + Sync>);

impl LocalError {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }

    pub fn message(message: impl Into<String>) -> Self {
        Self(message.into().into())
    }
}

/// What accidental-delete protection says to one delete or disable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Within the threshold (or approved): go ahead.
    Allowed,
    /// Held for an administrator's decision, recorded under this run.
    Held { run: model::RunId },
}
