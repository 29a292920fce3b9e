//! [`MemoryStore`]: the engine's local ports in memory (directory, links, snapshots,
//! accidental-delete protection, plans), keeping the promises the real store keeps: one link
//! per remote object, snapshots that never change once finished, a plan's snapshot never
//! current, and atomic reservations against the threshold.

mod directory;
mod links;
mod plans;
mod protection;
mod snapshots;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use engine::{
    DeleteRequest, Directory, Link, Links, LinksRead, LocalError, NewLink, PlanItem, PlanSubject,
    Planned, Plans, Protection, RemoteId, RemoteKind, RemoteObject, Reservation, Snapshot,
    SnapshotEntry, SnapshotId, SnapshotPurpose, Snapshots,
};
use model::{
    Attributes, Email, Group, GroupId, GroupName, ProviderId, RunId, User, UserId, UserKind,
    Username,
};
use uuid::Uuid;

struct StoredSnapshot {
    provider: ProviderId,
    purpose: SnapshotPurpose,
    started_at: DateTime<Utc>,
    finished: bool,
    objects: BTreeMap<(RemoteKind, RemoteId), SnapshotEntry>,
}

#[derive(Default)]
struct ProviderProtection {
    approval_run: Option<RunId>,
    allowance: u64,
    /// When each object's last delete or disable went ahead.
    done: BTreeMap<(RemoteKind, Uuid), DateTime<Utc>>,
}

#[derive(Default)]
struct State {
    users: BTreeMap<UserId, User>,
    groups: BTreeMap<GroupId, Group>,
    members: BTreeSet<(GroupId, UserId)>,
    links: BTreeMap<(ProviderId, RemoteKind, Uuid), Link>,
    snapshots: BTreeMap<SnapshotId, StoredSnapshot>,
    current: BTreeMap<ProviderId, SnapshotId>,
    protection: BTreeMap<ProviderId, ProviderProtection>,
    /// Held deletes and dry-run plans, by run.
    plans: BTreeMap<RunId, Vec<PlanItem>>,
}

/// See the module documentation.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a user with this username and email (its display name is `name`).
    pub fn add_user(&self, username: &str, email: Option<&str>) -> User {
        let now = Utc::now();
        let user = User {
            id: UserId::new(),
            username: Username::parse(username).unwrap_or_else(|e| panic!("username: {e}")),
            name: format!("{username} name"),
            email: email.map(|e| Email::parse(e).unwrap_or_else(|err| panic!("email: {err}"))),
            is_active: true,
            kind: UserKind::Internal,
            attributes: Attributes::new(),
            created_at: now,
            updated_at: now,
        };
        self.state().users.insert(user.id, user.clone());
        user
    }

    /// Replaces a user (an edit in the directory).
    pub fn put_user(&self, user: User) {
        self.state().users.insert(user.id, user);
    }

    pub fn delete_user(&self, id: UserId) {
        let mut state = self.state();
        state.users.remove(&id);
        state.members.retain(|(_, user)| *user != id);
    }

    pub fn add_group(&self, name: &str) -> Group {
        let now = Utc::now();
        let group = Group {
            id: GroupId::new(),
            name: GroupName::parse(name).unwrap_or_else(|e| panic!("group name: {e}")),
            attributes: Attributes::new(),
            created_at: now,
            updated_at: now,
        };
        self.state().groups.insert(group.id, group.clone());
        group
    }

    /// Replaces a group (an edit in the directory).
    pub fn put_group(&self, group: Group) {
        self.state().groups.insert(group.id, group);
    }

    pub fn delete_group(&self, id: GroupId) {
        let mut state = self.state();
        state.groups.remove(&id);
        state.members.retain(|(group, _)| *group != id);
    }

    pub fn add_member(&self, group: GroupId, user: UserId) {
        self.state().members.insert((group, user));
    }

    pub fn remove_member(&self, group: GroupId, user: UserId) {
        self.state().members.remove(&(group, user));
    }

    /// Every link of the provider.
    pub fn links(&self, provider: ProviderId) -> Vec<Link> {
        self.state()
            .links
            .values()
            .filter(|link| link.provider == provider)
            .cloned()
            .collect()
    }

    /// Makes every link (and snapshot) `by` older, as if written that long ago.
    pub fn age(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        let mut state = self.state();
        for link in state.links.values_mut() {
            link.synced_at -= by;
        }
        for snapshot in state.snapshots.values_mut() {
            snapshot.started_at -= by;
        }
    }

    /// The items of a run's plan (or its held deletes).
    pub fn plan(&self, run: RunId) -> Vec<PlanItem> {
        self.state().plans.get(&run).cloned().unwrap_or_default()
    }

    /// How many snapshots are kept (finished or not).
    pub fn snapshot_count(&self) -> usize {
        self.state().snapshots.len()
    }
}

fn page<K: Ord + Copy, V: Clone>(map: &BTreeMap<K, V>, after: Option<K>, limit: u32) -> Vec<V> {
    let range = match after {
        Some(after) => map.range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
        None => map.range(..),
    };
    range.take(limit as usize).map(|(_, v)| v.clone()).collect()
}
