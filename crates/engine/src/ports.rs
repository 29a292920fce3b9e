//! The ports of the engine, in domain words. Implementations live elsewhere: `entra` implements
//! [`Target`] over Microsoft Graph; tests use in-memory fakes.

use std::{fmt, future::Future, time::Duration};

use chrono::{DateTime, Utc};
use model::{Group, GroupId, ProviderId, User, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Remote properties as Graph's JSON spells them (`displayName`, `accountEnabled`, …).
pub type Properties = Map<String, Value>;

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

/// Which kind of remote object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteKind {
    User,
    Group,
}

impl RemoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteKind::User => "user",
            RemoteKind::Group => "group",
        }
    }
}

impl fmt::Display for RemoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// The object is gone remotely.
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

/// The remote directory the engine reconciles (Entra ID, or a fake). Every method is one
/// remote operation as the engine sees it; how it maps onto requests (batching, chunking,
/// retries within a call, pacing) is the implementation's business.
pub trait Target: Send + Sync {
    /// One page of every remote object of `kind`, with at least `select`ed properties.
    fn list(
        &self,
        kind: RemoteKind,
        select: &[&str],
        next: Option<&str>,
    ) -> impl Future<Output = Result<RemotePage, TargetError>> + Send;

    /// The object with this id (`NotFound` when it is gone).
    fn get(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        select: &[&str],
    ) -> impl Future<Output = Result<RemoteObject, TargetError>> + Send;

    /// The objects that answer to `anchor` (none, one, or, for display names, several).
    fn find(
        &self,
        kind: RemoteKind,
        anchor: &Anchor,
        select: &[&str],
    ) -> impl Future<Output = Result<Vec<RemoteObject>, TargetError>> + Send;

    /// Creates an object with these properties.
    fn create(
        &self,
        kind: RemoteKind,
        properties: &Properties,
    ) -> impl Future<Output = Result<RemoteObject, TargetError>> + Send;

    /// Sets these properties (only these) on the object.
    fn update(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        properties: &Properties,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;

    /// Deletes the object.
    fn delete(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;

    /// One page of a group's direct members (ids only are needed).
    fn list_members(
        &self,
        group: &RemoteId,
        next: Option<&str>,
    ) -> impl Future<Output = Result<RemotePage, TargetError>> + Send;

    /// Adds members to a group, any number of them (the target chunks as its remote allows);
    /// members already there count as unchanged, not as failures.
    fn add_members(
        &self,
        group: &RemoteId,
        members: &[RemoteId],
    ) -> impl Future<Output = Result<MemberChange, TargetError>> + Send;

    /// Removes one member; one that was not a member counts as unchanged.
    fn remove_member(
        &self,
        group: &RemoteId,
        member: &RemoteId,
    ) -> impl Future<Output = Result<MemberChange, TargetError>> + Send;
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

/// The directory as the engine reads it: users, groups and direct memberships.
pub trait Directory: Send + Sync {
    /// The user, or `None` when it was deleted.
    fn user(&self, id: UserId) -> impl Future<Output = Result<Option<User>, LocalError>> + Send;

    /// The group, or `None` when it was deleted.
    fn group(&self, id: GroupId) -> impl Future<Output = Result<Option<Group>, LocalError>> + Send;

    /// Names of the groups the user is a direct member of (what mappings read as `user.groups`).
    fn user_group_names(
        &self,
        id: UserId,
    ) -> impl Future<Output = Result<Vec<String>, LocalError>> + Send;

    /// How many direct members the group has.
    fn member_count(&self, group: GroupId) -> impl Future<Output = Result<u64, LocalError>> + Send;

    /// Whether the user is a direct member of the group.
    fn is_member(
        &self,
        group: GroupId,
        user: UserId,
    ) -> impl Future<Output = Result<bool, LocalError>> + Send;

    /// Up to `limit` users with ids after `after`, in id order.
    fn users_page(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<User>, LocalError>> + Send;

    /// Up to `limit` groups with ids after `after`, in id order.
    fn groups_page(
        &self,
        after: Option<GroupId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Group>, LocalError>> + Send;

    /// Up to `limit` direct members of the group with ids after `after`, in id order.
    fn members_page(
        &self,
        group: GroupId,
        after: Option<UserId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<User>, LocalError>> + Send;
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
    /// The properties we last wrote (or, for an adopted object, none yet). A direct sync, which
    /// reads nothing remotely, compares the new document against these.
    pub written: Properties,
    /// When we last wrote to the remote object (or linked it).
    pub synced_at: DateTime<Utc>,
}

/// A remote object as discovery read it, with the keys discovery matches directory objects by:
/// for users `mail` and `userPrincipalName`, for groups `displayName`, each lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotEntry {
    pub object: RemoteObject,
    /// At most two keys (absent properties give none).
    pub keys: Vec<String>,
}

/// The links of a provider, and the snapshot of the tenant that discovery read.
pub trait Links: Send + Sync {
    /// The link of this directory object, if any.
    fn link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> impl Future<Output = Result<Option<Link>, LocalError>> + Send;

    /// The link to this remote object, if any.
    fn link_to_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote: &RemoteId,
    ) -> impl Future<Output = Result<Option<Link>, LocalError>> + Send;

    /// Creates or replaces the link of `link.object`.
    fn save_link(&self, link: &Link) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// Removes the link of this directory object (nothing when there is none).
    fn remove_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// Starts a new snapshot of the tenant: forgets the previous one.
    fn begin_snapshot(
        &self,
        provider: ProviderId,
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// Adds one listed page of remote objects to the snapshot.
    fn add_to_snapshot(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        entries: &[SnapshotEntry],
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// Marks the snapshot complete, as read starting at `started_at`.
    fn finish_snapshot(
        &self,
        provider: ProviderId,
        started_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// When the last complete snapshot started to be read (`None`: there is none).
    fn snapshot_taken_at(
        &self,
        provider: ProviderId,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, LocalError>> + Send;

    /// The remote object as the snapshot holds it.
    fn snapshot_object(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> impl Future<Output = Result<Option<RemoteObject>, LocalError>> + Send;

    /// The snapshot's objects with `key` among their [`SnapshotEntry::keys`].
    fn snapshot_matching(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        key: &str,
    ) -> impl Future<Output = Result<Vec<RemoteObject>, LocalError>> + Send;
}
