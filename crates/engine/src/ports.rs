//! The ports of the engine, in domain words: everything it reads and writes goes through these.
//! Implementations live elsewhere (`store` for the local ones, `entra` for the target, `runner`
//! for evaluation, fencing and the work queue); `testkit` has in-memory fakes of them all.
//!
//! Reading and writing are separate traits, so that the planner, which only decides, cannot
//! write: it is given [`TargetRead`] and [`LinksRead`], never [`Target`] or [`Links`].

use std::collections::HashMap;
use std::future::Future;

use mapping::{Mapped, MappingError};
use model::{Group, GroupId, Provider, ProviderId, RunId, User, UserId};
use serde_json::Value;
use uuid::Uuid;

use crate::local::{
    Item, Link, LocalError, NewLink, Reservation, Snapshot, SnapshotEntry, SnapshotId,
    SnapshotPurpose,
};
use crate::outcome::{Outcome, SyncError};
use crate::plan::{PlanItem, Planned};
use crate::remote::{
    Anchor, CreateKey, MemberChange, Properties, RemoteId, RemoteKind, RemoteObject, RemotePage,
    TargetError,
};

/// Reading the remote directory (Entra ID, or a fake).
pub trait TargetRead: Send + Sync {
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

    /// One page of a group's direct members (ids only are needed).
    fn list_members(
        &self,
        group: &RemoteId,
        next: Option<&str>,
    ) -> impl Future<Output = Result<RemotePage, TargetError>> + Send;
}

/// Writing the remote directory. Every method is one remote operation as the engine sees it;
/// how it maps onto requests (batching, chunking, retries within a call, pacing) is the
/// implementation's business.
pub trait Target: TargetRead {
    /// Creates an object with these properties. `key` makes it idempotent: a create with a key
    /// already used answers the object the first one made (whose answer may have been lost).
    fn create(
        &self,
        kind: RemoteKind,
        properties: &Properties,
        key: &CreateKey,
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

/// Reading a provider's links.
pub trait LinksRead: Send + Sync {
    /// The link of this directory object, if any.
    fn link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> impl Future<Output = Result<Option<Link>, LocalError>> + Send;

    /// The links of these directory objects (those that have one), in no order: what a
    /// membership step reads a page of members at a time instead of one query each.
    fn links_of(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Link>, LocalError>> + Send;

    /// The link to this remote object, if any.
    fn link_to_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote: &RemoteId,
    ) -> impl Future<Output = Result<Option<Link>, LocalError>> + Send;

    /// Up to `limit` links of `kind` with object ids after `after`, in object id order.
    fn links_page(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        after: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Link>, LocalError>> + Send;

    /// Like [`LinksRead::links_page`], only the links whose directory object is gone (what a
    /// full sync cleans up besides the objects that left its scope).
    fn orphaned_links_page(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        after: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Link>, LocalError>> + Send;
}

/// Writing a provider's links.
pub trait Links: LinksRead {
    /// Creates or replaces the link of `link.object`, stamped with the store's clock. Fails
    /// when another object of the provider is linked to the same remote object.
    fn save_link(&self, link: &NewLink) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// Removes the link of this directory object (nothing when there is none).
    fn remove_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> impl Future<Output = Result<(), LocalError>> + Send;
}

/// Snapshots of the tenant, as discovery lists it. Each discovery writes its own; none is
/// ever changed after it is finished, so a reader never sees another discovery's half.
pub trait Snapshots: Send + Sync {
    /// Starts a new, empty snapshot.
    fn begin_snapshot(
        &self,
        provider: ProviderId,
        purpose: SnapshotPurpose,
    ) -> impl Future<Output = Result<SnapshotId, LocalError>> + Send;

    /// Adds one listed page of remote objects to the snapshot.
    fn add_to_snapshot(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        entries: &[SnapshotEntry],
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// Marks the snapshot complete. A full sync's becomes the provider's current snapshot (the
    /// older ones go); a plan's stays private.
    fn finish_snapshot(
        &self,
        snapshot: SnapshotId,
    ) -> impl Future<Output = Result<Snapshot, LocalError>> + Send;

    /// Forgets a snapshot (a plan's, once the plan is made).
    fn drop_snapshot(
        &self,
        snapshot: SnapshotId,
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// The provider's current snapshot: the last full sync's.
    fn current_snapshot(
        &self,
        provider: ProviderId,
    ) -> impl Future<Output = Result<Option<Snapshot>, LocalError>> + Send;

    /// The remote object as the snapshot holds it.
    fn snapshot_object(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> impl Future<Output = Result<Option<RemoteObject>, LocalError>> + Send;

    /// The snapshot's objects with `key` among their [`SnapshotEntry::keys`].
    fn snapshot_matching(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        key: &str,
    ) -> impl Future<Output = Result<Vec<RemoteObject>, LocalError>> + Send;
}

/// One delete or disable, asked of accidental-delete protection.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteRequest<'a> {
    pub provider: &'a Provider,
    /// What it is, as the plan of held deletes lists it.
    pub item: PlanItem,
}

/// Accidental-delete protection's bookkeeping: the deletes and disables done per provider over
/// its rolling window, the approval that holds them, and what an approval allows.
pub trait Protection: Send + Sync {
    /// Asks to delete or disable one object now: allowed while the provider's deletes and
    /// disables within its window stay within its threshold (or an approval allows it), else
    /// held and listed under the provider's approval run (started if there is none). Atomic:
    /// two nodes asking at once never both pass the threshold.
    fn reserve_delete(
        &self,
        request: &DeleteRequest<'_>,
    ) -> impl Future<Output = Result<Reservation, LocalError>> + Send;

    /// A full sync found more deletes than the threshold: `run` holds these until an
    /// administrator decides (unless another run holds deletes already: that one is kept).
    fn hold_deletes(
        &self,
        provider: ProviderId,
        run: RunId,
        items: &[PlanItem],
    ) -> impl Future<Output = Result<RunId, LocalError>> + Send;

    /// The run whose held deletes await a decision, if any.
    fn approval_run(
        &self,
        provider: ProviderId,
    ) -> impl Future<Output = Result<Option<RunId>, LocalError>> + Send;

    /// Ends the wait for a decision: `allow` more deletes and disables may go past the
    /// threshold (the approved ones; 0 after a rejection).
    fn end_approval(
        &self,
        provider: ProviderId,
        allow: u64,
    ) -> impl Future<Output = Result<(), LocalError>> + Send;
}

/// A dry run's plan, as it is being made.
pub trait Plans: Send + Sync {
    /// Appends items to the run's plan (their `seq` grows).
    fn add_plan_items(
        &self,
        run: RunId,
        items: &[PlanItem],
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// What this run's plan does to a directory object's remote twin, when it changes its
    /// link (see [`Planned::of`]): what later steps of the same plan (membership) go by.
    fn planned(
        &self,
        run: RunId,
        kind: RemoteKind,
        object: Uuid,
    ) -> impl Future<Output = Result<Option<Planned>, LocalError>> + Send;

    /// [`Plans::planned`] for several objects at once: only those the plan changes appear.
    fn planned_of(
        &self,
        run: RunId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, Planned>, LocalError>> + Send;
}

/// Evaluating a provider's mappings. CPU work that may take up to the sandbox's limit: the
/// runner's implementation runs it off the async workers.
pub trait Evaluator: Send + Sync {
    /// The user's document; `link` is what the expression sees (`None` when creating).
    fn map_user(
        &self,
        user: &User,
        group_names: Vec<String>,
        link: Option<Value>,
    ) -> impl Future<Output = Result<Mapped, MappingError>> + Send;

    /// The group's document; `link` is what the expression sees (`None` when creating).
    fn map_group(
        &self,
        group: &Group,
        member_count: u64,
        link: Option<Value>,
    ) -> impl Future<Output = Result<Mapped, MappingError>> + Send;
}

/// Whether the work being done is still ours: checked before every remote write, so that a
/// node that lost its claim (it hung, its lease ran out, another node took over) stops.
pub trait Fence: Send + Sync {
    fn holds(&self) -> bool;
}

/// Work that is not shared with anyone (a test, a one-off command holding its own lock).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unfenced;

impl Fence for Unfenced {
    fn holds(&self) -> bool {
        true
    }
}

/// What the items of a run came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub outcomes: std::collections::BTreeMap<model::OutcomeKind, u64>,
    pub members: model::MemberCounts,
}

impl Tally {
    /// Counts one item's outcome: objects by outcome, memberships in the member counts.
    pub fn count(&mut self, item: Item, outcome: &Outcome) {
        match (item, outcome) {
            (
                Item::Members(_) | Item::Membership { .. },
                Outcome::Members {
                    added,
                    removed,
                    failed,
                },
            ) => {
                self.members.added += added;
                self.members.removed += removed;
                self.members.failed += failed;
            }
            (Item::Members(_) | Item::Membership { .. }, Outcome::Rejected { .. }) => {
                self.members.failed += 1;
            }
            (Item::Members(_) | Item::Membership { .. }, _) => {}
            (Item::User(_) | Item::Group(_), outcome) => {
                *self.outcomes.entry(outcome.kind()).or_insert(0) += 1;
            }
        }
    }
}

/// Where a full sync's items go to be reconciled: the runner's durable work table, shared with
/// direct syncs (so that one object is never reconciled twice at once) and with other nodes.
pub trait WorkQueue: Send + Sync {
    /// Queues these items of `provider`: for `run`, behind direct syncs; without a run, as
    /// direct syncs.
    fn enqueue(
        &self,
        provider: ProviderId,
        run: Option<RunId>,
        items: &[Item],
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// Waits until every item queued for `run` is done, reporting how many are left; fails
    /// when the run lost its claim or the provider was stopped.
    fn drain(
        &self,
        provider: ProviderId,
        run: RunId,
        left: &(dyn Fn(u64) + Send + Sync),
    ) -> impl Future<Output = Result<(), SyncError>> + Send;

    /// What the run's items came to so far.
    fn tally(&self, run: RunId) -> impl Future<Output = Result<Tally, LocalError>> + Send;
}
