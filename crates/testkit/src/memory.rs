//! [`MemoryStore`]: the engine's local ports in memory (directory, links, snapshots,
//! accidental-delete protection, plans), keeping the promises the real store keeps: one link
//! per remote object, snapshots that never change once finished, a plan's snapshot never
//! current, and atomic reservations against the threshold.

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

impl Directory for MemoryStore {
    async fn user(&self, id: UserId) -> Result<Option<User>, LocalError> {
        Ok(self.state().users.get(&id).cloned())
    }

    async fn group(&self, id: GroupId) -> Result<Option<Group>, LocalError> {
        Ok(self.state().groups.get(&id).cloned())
    }

    async fn user_group_names(&self, id: UserId) -> Result<Vec<String>, LocalError> {
        let state = self.state();
        let mut names: Vec<String> = state
            .members
            .iter()
            .filter(|(_, user)| *user == id)
            .filter_map(|(group, _)| state.groups.get(group))
            .map(|group| group.name.as_str().to_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    async fn member_count(&self, group: GroupId) -> Result<u64, LocalError> {
        Ok(self
            .state()
            .members
            .iter()
            .filter(|(g, _)| *g == group)
            .count() as u64)
    }

    async fn is_member(&self, group: GroupId, user: UserId) -> Result<bool, LocalError> {
        Ok(self.state().members.contains(&(group, user)))
    }

    async fn users_page(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, LocalError> {
        Ok(page(&self.state().users, after, limit))
    }

    async fn groups_page(
        &self,
        after: Option<GroupId>,
        limit: u32,
    ) -> Result<Vec<Group>, LocalError> {
        Ok(page(&self.state().groups, after, limit))
    }

    async fn members_page(
        &self,
        group: GroupId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, LocalError> {
        let state = self.state();
        Ok(state
            .members
            .iter()
            .filter(|(g, user)| *g == group && after.is_none_or(|after| *user > after))
            .filter_map(|(_, user)| state.users.get(user).cloned())
            .take(limit as usize)
            .collect())
    }
}

impl LinksRead for MemoryStore {
    async fn link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Link>, LocalError> {
        Ok(self.state().links.get(&(provider, kind, object)).cloned())
    }

    async fn links_of(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> Result<Vec<Link>, LocalError> {
        let state = self.state();
        Ok(objects
            .iter()
            .filter_map(|object| state.links.get(&(provider, kind, *object)).cloned())
            .collect())
    }

    async fn link_to_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote: &RemoteId,
    ) -> Result<Option<Link>, LocalError> {
        Ok(self
            .state()
            .links
            .values()
            .find(|l| l.provider == provider && l.kind == kind && &l.remote_id == remote)
            .cloned())
    }

    async fn links_page(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Link>, LocalError> {
        Ok(self
            .state()
            .links
            .values()
            .filter(|l| l.provider == provider && l.kind == kind)
            .filter(|l| after.is_none_or(|after| l.object > after))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn orphaned_links_page(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Link>, LocalError> {
        let state = self.state();
        Ok(state
            .links
            .values()
            .filter(|l| l.provider == provider && l.kind == kind)
            .filter(|l| after.is_none_or(|after| l.object > after))
            .filter(|l| match kind {
                RemoteKind::User => !state.users.contains_key(&UserId::from_uuid(l.object)),
                RemoteKind::Group => !state.groups.contains_key(&GroupId::from_uuid(l.object)),
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

impl Links for MemoryStore {
    async fn save_link(&self, link: &NewLink) -> Result<(), LocalError> {
        let mut state = self.state();
        let taken = state.links.values().any(|l| {
            l.provider == link.provider
                && l.kind == link.kind
                && l.remote_id == link.remote_id
                && l.object != link.object
        });
        if taken {
            return Err(LocalError::message(format!(
                "remote object {} is linked to another object",
                link.remote_id
            )));
        }
        state.links.insert(
            (link.provider, link.kind, link.object),
            Link {
                provider: link.provider,
                kind: link.kind,
                object: link.object,
                remote_id: link.remote_id.clone(),
                written: link.written.clone(),
                synced_at: Utc::now(),
            },
        );
        Ok(())
    }

    async fn remove_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<(), LocalError> {
        self.state().links.remove(&(provider, kind, object));
        Ok(())
    }
}

impl Snapshots for MemoryStore {
    async fn begin_snapshot(
        &self,
        provider: ProviderId,
        purpose: SnapshotPurpose,
    ) -> Result<SnapshotId, LocalError> {
        let id = SnapshotId::new();
        self.state().snapshots.insert(
            id,
            StoredSnapshot {
                provider,
                purpose,
                started_at: Utc::now(),
                finished: false,
                objects: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    async fn add_to_snapshot(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        entries: &[SnapshotEntry],
    ) -> Result<(), LocalError> {
        let mut state = self.state();
        let Some(stored) = state.snapshots.get_mut(&snapshot).filter(|s| !s.finished) else {
            return Err(LocalError::message(format!(
                "snapshot {snapshot} is finished or gone"
            )));
        };
        for entry in entries {
            stored
                .objects
                .insert((kind, entry.object.id.clone()), entry.clone());
        }
        Ok(())
    }

    async fn finish_snapshot(&self, snapshot: SnapshotId) -> Result<Snapshot, LocalError> {
        let mut state = self.state();
        let Some(stored) = state.snapshots.get_mut(&snapshot) else {
            return Err(LocalError::message(format!("snapshot {snapshot} is gone")));
        };
        stored.finished = true;
        let (provider, purpose, taken_at) = (stored.provider, stored.purpose, stored.started_at);
        if purpose == SnapshotPurpose::Sync {
            state.current.insert(provider, snapshot);
            state.snapshots.retain(|id, s| {
                *id == snapshot || s.provider != provider || s.purpose != SnapshotPurpose::Sync
            });
        }
        Ok(Snapshot {
            id: snapshot,
            taken_at,
        })
    }

    async fn drop_snapshot(&self, snapshot: SnapshotId) -> Result<(), LocalError> {
        let mut state = self.state();
        state.snapshots.remove(&snapshot);
        state.current.retain(|_, id| *id != snapshot);
        Ok(())
    }

    async fn current_snapshot(&self, provider: ProviderId) -> Result<Option<Snapshot>, LocalError> {
        let state = self.state();
        Ok(state.current.get(&provider).and_then(|id| {
            state.snapshots.get(id).map(|s| Snapshot {
                id: *id,
                taken_at: s.started_at,
            })
        }))
    }

    async fn snapshot_object(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> Result<Option<RemoteObject>, LocalError> {
        Ok(self
            .state()
            .snapshots
            .get(&snapshot)
            .and_then(|s| s.objects.get(&(kind, id.clone())))
            .map(|entry| entry.object.clone()))
    }

    async fn snapshot_matching(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        key: &str,
    ) -> Result<Vec<RemoteObject>, LocalError> {
        Ok(self
            .state()
            .snapshots
            .get(&snapshot)
            .map(|s| {
                s.objects
                    .iter()
                    .filter(|((k, _), entry)| *k == kind && entry.keys.iter().any(|x| x == key))
                    .map(|(_, entry)| entry.object.clone())
                    .collect()
            })
            .unwrap_or_default())
    }
}

impl Protection for MemoryStore {
    async fn reserve_delete(&self, request: &DeleteRequest<'_>) -> Result<Reservation, LocalError> {
        let settings = &request.provider.settings;
        let now = Utc::now();
        let window =
            chrono::Duration::from_std(settings.delete_window()).unwrap_or(chrono::Duration::MAX);
        let kind = match request.item.subject {
            PlanSubject::Group => RemoteKind::Group,
            _ => RemoteKind::User,
        };
        let mut state = self.state();
        let protection = state.protection.entry(request.provider.id).or_default();
        let held_run = if let Some(run) = protection.approval_run {
            Some(run)
        } else if protection.allowance > 0 {
            protection.allowance -= 1;
            None
        } else {
            let recent = protection
                .done
                .iter()
                .filter(|(object, at)| {
                    **object != (kind, request.item.object_id)
                        && now.signed_duration_since(**at) < window
                })
                .count() as u64;
            let threshold = u64::from(settings.delete_threshold);
            (threshold > 0 && recent >= threshold).then(|| {
                let run = RunId::new();
                protection.approval_run = Some(run);
                run
            })
        };
        match held_run {
            Some(run) => {
                let items = state.plans.entry(run).or_default();
                if items.iter().any(|listed| {
                    listed.object_id == request.item.object_id
                        && listed.subject == request.item.subject
                }) {
                    return Ok(Reservation::Held { run });
                }
                let mut item = request.item.clone();
                item.seq = items.len() as i64 + 1;
                items.push(item);
                Ok(Reservation::Held { run })
            }
            None => {
                protection.done.insert((kind, request.item.object_id), now);
                Ok(Reservation::Allowed)
            }
        }
    }

    async fn hold_deletes(
        &self,
        provider: ProviderId,
        run: RunId,
        items: &[PlanItem],
    ) -> Result<RunId, LocalError> {
        let mut state = self.state();
        let protection = state.protection.entry(provider).or_default();
        let run = *protection.approval_run.get_or_insert(run);
        state.plans.entry(run).or_default().extend_from_slice(items);
        Ok(run)
    }

    async fn approval_run(&self, provider: ProviderId) -> Result<Option<RunId>, LocalError> {
        Ok(self
            .state()
            .protection
            .get(&provider)
            .and_then(|p| p.approval_run))
    }

    async fn end_approval(&self, provider: ProviderId, allow: u64) -> Result<(), LocalError> {
        let mut state = self.state();
        let protection = state.protection.entry(provider).or_default();
        protection.approval_run = None;
        protection.allowance = allow;
        Ok(())
    }
}

impl Plans for MemoryStore {
    async fn add_plan_items(&self, run: RunId, items: &[PlanItem]) -> Result<(), LocalError> {
        self.state()
            .plans
            .entry(run)
            .or_default()
            .extend_from_slice(items);
        Ok(())
    }

    async fn planned(
        &self,
        run: RunId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Planned>, LocalError> {
        let subject = match kind {
            RemoteKind::User => PlanSubject::User,
            RemoteKind::Group => PlanSubject::Group,
        };
        // The last item that changes the object has the last word, as in the store.
        Ok(self.state().plans.get(&run).and_then(|items| {
            items
                .iter()
                .rev()
                .filter(|item| item.subject == subject && item.object_id == object)
                .find_map(|item| Planned::of(kind, object, &item.operations))
        }))
    }

    async fn planned_of(
        &self,
        run: RunId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> Result<HashMap<Uuid, Planned>, LocalError> {
        let mut planned = HashMap::new();
        for object in objects {
            if let Some(step) = self.planned(run, kind, *object).await? {
                planned.insert(*object, step);
            }
        }
        Ok(planned)
    }
}
