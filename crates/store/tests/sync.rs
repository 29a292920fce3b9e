//! The sync engine's storage (links, snapshots, provider state, the work queue and its fenced
//! claims, schedules, accidental-delete protection, runs, their plans and tallies, object
//! states, the store's clock), run against SQLite and PostgreSQL alike.

mod common;

use std::{
    collections::{BTreeMap, HashSet},
    time::Duration,
};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use engine::{
    DeleteRequest, Directory, Document, FieldChange, Item, Link, Links, LinksRead, LocalError,
    NewLink, Operation, PlanItem, PlanSubject, Planned, Plans, Protection, RemoteId, RemoteKind,
    RemoteObject, RemoteRef, Reservation, SnapshotEntry, SnapshotId, SnapshotPurpose, Snapshots,
    Tally,
};
use model::{
    GroupId, GroupName, HeldDeletes, MemberCounts, NewGroup, NewUser, OutcomeKind, Provider,
    ProviderId, ProviderSettings, Run, RunId, RunReport, RunStatus, Schedule, Trigger, UserId,
    UserPatch, Username,
};
use serde_json::json;
use store::{
    ClaimToken, Completion, ObjectState, ObjectStatus, Page, ProviderCredential, ProviderUpdate,
    SecretKey, Store, StoreError, Work, WorkItem,
};
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(60);
/// A lease meant to run out during the test.
const SHORT: Duration = Duration::from_millis(100);
/// Long enough for a [`SHORT`] lease to run out.
const LAPSE: Duration = Duration::from_millis(150);

/// This machine's clock, at the precision both backends keep.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

async fn store_now(store: &Store) -> DateTime<Utc> {
    store.now().await.expect("the store's clock")
}

fn settings(cron: &str) -> ProviderSettings {
    ProviderSettings {
        schedule: Schedule {
            cron: cron.into(),
            paused: false,
        },
        ..ProviderSettings::new(
            "contoso.onmicrosoft.com",
            "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
            vec![],
            vec![],
        )
    }
}

fn key() -> SecretKey {
    SecretKey::generate().expect("key").0
}

async fn add_provider(store: &Store, name: &str, settings: ProviderSettings) -> ProviderId {
    let secret = ProviderCredential::ClientSecret("s3cr3t".to_owned().into());
    store
        .create_provider(name, settings, &secret, &key(), ProviderId::new())
        .await
        .expect("create provider")
        .id
}

/// Claims and completes every queued full sync (the providers' creation syncs), so that only
/// what a test queues is in the queue.
async fn drain_full_syncs(store: &Store) {
    while let Some(full) = store
        .claim_full_sync("setup", LEASE)
        .await
        .expect("claim a full sync")
    {
        assert_eq!(complete(store, &full).await, Completion::Done);
    }
}

async fn quiet_provider_named(store: &Store, name: &str) -> ProviderId {
    let id = add_provider(store, name, settings("0 3 * * *")).await;
    drain_full_syncs(store).await;
    id
}

async fn quiet_provider(store: &Store) -> ProviderId {
    quiet_provider_named(store, "Contoso").await
}

async fn user(store: &Store, name: &str) -> UserId {
    store
        .create_user(NewUser::new(Username::parse(name).expect("username")))
        .await
        .expect("create user")
        .id
}

async fn group(store: &Store, name: &str) -> GroupId {
    store
        .create_group(NewGroup::new(GroupName::parse(name).expect("name")))
        .await
        .expect("create group")
        .id
}

async fn rename(store: &Store, id: UserId, name: &str) {
    let patch = UserPatch {
        name: Some(name.into()),
        ..UserPatch::default()
    };
    store.update_user(id, patch).await.expect("update user");
}

async fn claim_for(store: &Store, owner: &str, limit: u32, lease: Duration) -> Vec<WorkItem> {
    store
        .claim_work(owner, limit, lease, &[], None)
        .await
        .expect("claim")
}

async fn claim(store: &Store, owner: &str, limit: u32) -> Vec<WorkItem> {
    claim_for(store, owner, limit, LEASE).await
}

async fn complete(store: &Store, item: &WorkItem) -> Completion {
    store
        .complete_work(item, &Tally::default())
        .await
        .expect("complete")
}

fn user_work(id: UserId) -> Work {
    Work::Item(Item::User(id))
}

fn group_work(id: GroupId) -> Work {
    Work::Item(Item::Group(id))
}

/// What the claimed items ask for, regardless of order.
fn works(items: &[WorkItem]) -> HashSet<Work> {
    items.iter().map(|item| item.work).collect()
}

/// The claimed item asking for `work`.
fn find(items: &[WorkItem], work: Work) -> WorkItem {
    items
        .iter()
        .find(|item| item.work == work)
        .cloned()
        .unwrap_or_else(|| panic!("{work:?} is not among {items:?}"))
}

fn properties(value: serde_json::Value) -> engine::Properties {
    value.as_object().cloned().expect("an object")
}

fn new_link(provider: ProviderId, kind: RemoteKind, object: Uuid, remote: &str) -> NewLink {
    NewLink {
        provider,
        kind,
        object,
        remote_id: RemoteId::new(remote),
        written: properties(json!({"displayName": remote})),
    }
}

/// A stored link without its stamp, to compare with what was saved.
fn unstamped(link: &Link) -> NewLink {
    NewLink {
        provider: link.provider,
        kind: link.kind,
        object: link.object,
        remote_id: link.remote_id.clone(),
        written: link.written.clone(),
    }
}

fn entry(id: &str, name: &str, keys: &[&str]) -> SnapshotEntry {
    SnapshotEntry {
        object: RemoteObject {
            id: RemoteId::new(id),
            properties: properties(json!({"displayName": name})),
        },
        keys: keys.iter().map(|key| (*key).to_owned()).collect(),
    }
}

fn ids(objects: &[RemoteObject]) -> Vec<&str> {
    objects.iter().map(|object| object.id.as_str()).collect()
}

/// The store error behind a port's error.
fn store_error(err: &LocalError) -> Option<&StoreError> {
    std::error::Error::source(err).and_then(|source| source.downcast_ref::<StoreError>())
}

fn is_conflict(err: &LocalError) -> bool {
    matches!(store_error(err), Some(StoreError::Conflict { .. }))
}

async fn begin(store: &Store, provider: ProviderId, purpose: SnapshotPurpose) -> SnapshotId {
    store
        .begin_snapshot(provider, purpose)
        .await
        .expect("begin a snapshot")
}

async fn add(store: &Store, snapshot: SnapshotId, entries: &[SnapshotEntry]) {
    store
        .add_to_snapshot(snapshot, RemoteKind::User, entries)
        .await
        .expect("add to the snapshot");
}

/// The display name the snapshot holds for remote user `id`.
async fn shown(store: &Store, snapshot: SnapshotId, id: &str) -> Option<serde_json::Value> {
    store
        .snapshot_object(snapshot, RemoteKind::User, &RemoteId::new(id))
        .await
        .expect("read the snapshot")
        .map(|object| object.properties["displayName"].clone())
}

async fn current(store: &Store, provider: ProviderId) -> Option<SnapshotId> {
    store
        .current_snapshot(provider)
        .await
        .expect("current snapshot")
        .map(|snapshot| snapshot.id)
}

fn tally(outcomes: &[(OutcomeKind, u64)], members: MemberCounts) -> Tally {
    Tally {
        outcomes: outcomes.iter().copied().collect::<BTreeMap<_, _>>(),
        members,
    }
}

async fn start_run(store: &Store, provider: ProviderId, dry_run: bool, lease: Duration) -> Run {
    store
        .start_run(provider, Trigger::Manual, dry_run, "node-1", lease)
        .await
        .expect("start a run")
}

// Links.

both_backends!(links_are_saved_found_replaced_and_removed, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = Uuid::now_v7();
    let first = new_link(provider, RemoteKind::User, alice, "r-1");
    let before = store_now(store).await;
    store.save_link(&first).await.expect("save");
    let after = store_now(store).await;
    let saved = store
        .link(provider, RemoteKind::User, alice)
        .await
        .expect("link")
        .expect("saved");
    assert_eq!(unstamped(&saved), first);
    assert!(
        before <= saved.synced_at && saved.synced_at <= after,
        "stamped by the store's clock: {before} <= {} <= {after}",
        saved.synced_at
    );
    assert_eq!(
        store
            .link_to_remote(provider, RemoteKind::User, &RemoteId::new("r-1"))
            .await
            .expect("by remote"),
        Some(saved.clone())
    );
    assert_eq!(
        store
            .link(provider, RemoteKind::Group, alice)
            .await
            .expect("link"),
        None,
        "kinds are apart"
    );

    // Saving again replaces the link of the object, stamped anew.
    let mut second = new_link(provider, RemoteKind::User, alice, "r-2");
    second.written = properties(json!({"displayName": "Alice", "accountEnabled": true}));
    store.save_link(&second).await.expect("replace");
    let replaced = store
        .link(provider, RemoteKind::User, alice)
        .await
        .expect("link")
        .expect("replaced");
    assert_eq!(unstamped(&replaced), second);
    assert!(replaced.synced_at >= saved.synced_at);
    assert_eq!(
        store
            .link_to_remote(provider, RemoteKind::User, &RemoteId::new("r-1"))
            .await
            .expect("by remote"),
        None
    );

    store
        .remove_link(provider, RemoteKind::User, alice)
        .await
        .expect("remove");
    assert_eq!(
        store
            .link(provider, RemoteKind::User, alice)
            .await
            .expect("link"),
        None
    );
    store
        .remove_link(provider, RemoteKind::User, alice)
        .await
        .expect("removing nothing is fine");

    // Listing, in object id order, a page at a time.
    let objects: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    for (index, object) in objects.iter().enumerate() {
        let link = new_link(provider, RemoteKind::User, *object, &format!("u-{index}"));
        store.save_link(&link).await.expect("save");
    }
    store
        .save_link(&new_link(
            provider,
            RemoteKind::Group,
            Uuid::now_v7(),
            "g-1",
        ))
        .await
        .expect("save group link");
    assert_eq!(
        store
            .count_links(provider, RemoteKind::User)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        store
            .count_links(provider, RemoteKind::Group)
            .await
            .expect("count"),
        1
    );
    let first_page = store
        .list_links(provider, RemoteKind::User, Page::first(2))
        .await
        .expect("list");
    let rest = store
        .list_links(
            provider,
            RemoteKind::User,
            Page::after(first_page[1].object, 2),
        )
        .await
        .expect("list");
    let listed: Vec<Uuid> = first_page
        .iter()
        .chain(&rest)
        .map(|link| link.object)
        .collect();
    assert_eq!(listed, objects);
    let port_first = store
        .links_page(provider, RemoteKind::User, None, 2)
        .await
        .expect("page");
    let port_rest = store
        .links_page(provider, RemoteKind::User, Some(objects[1]), 2)
        .await
        .expect("page");
    assert_eq!(port_first, first_page, "the port pages alike");
    assert_eq!(port_rest, rest);

    // Links of many objects at once: those that have one, whatever else is asked.
    let mut asked: Vec<Uuid> = (0..1200).map(|_| Uuid::now_v7()).collect();
    asked.splice(600..600, objects.iter().copied());
    let mut found: Vec<Uuid> = store
        .links_of(provider, RemoteKind::User, &asked)
        .await
        .expect("links_of")
        .iter()
        .map(|link| link.object)
        .collect();
    found.sort();
    let mut expected = objects.clone();
    expected.sort();
    assert_eq!(found, expected);
    assert!(
        store
            .links_of(provider, RemoteKind::Group, &objects)
            .await
            .expect("links_of")
            .is_empty(),
        "kinds apart"
    );

    store
        .delete_provider(provider)
        .await
        .expect("delete provider");
    assert_eq!(
        store
            .count_links(provider, RemoteKind::User)
            .await
            .expect("count"),
        0,
        "links go with their provider"
    );
});

both_backends!(a_remote_object_is_linked_to_one_object, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    store
        .save_link(&new_link(provider, RemoteKind::User, alice, "r-1"))
        .await
        .expect("save");
    store
        .save_link(&new_link(provider, RemoteKind::User, bob, "r-1"))
        .await
        .expect_err("r-1 is alice's");
    assert_eq!(
        store
            .link(provider, RemoteKind::User, bob)
            .await
            .expect("link"),
        None
    );
    let other = quiet_provider_named(store, "Fabrikam").await;
    store
        .save_link(&new_link(other, RemoteKind::User, bob, "r-1"))
        .await
        .expect("another provider's tenant has its own ids");
    store
        .save_link(&new_link(provider, RemoteKind::Group, bob, "r-1"))
        .await
        .expect("kinds are apart");
});

both_backends!(orphaned_links_are_those_whose_object_is_gone, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = user(store, "alice").await;
    let gone = user(store, "gone").await;
    let left = user(store, "left").await;
    let staff = group(store, "Staff").await;
    let old = group(store, "Old").await;
    for (kind, object, remote) in [
        (RemoteKind::User, alice.as_uuid(), "r-alice"),
        (RemoteKind::User, gone.as_uuid(), "r-gone"),
        (RemoteKind::User, left.as_uuid(), "r-left"),
        (RemoteKind::Group, staff.as_uuid(), "r-staff"),
        (RemoteKind::Group, old.as_uuid(), "r-old"),
    ] {
        store
            .save_link(&new_link(provider, kind, object, remote))
            .await
            .expect("link");
    }
    let other = quiet_provider_named(store, "Fabrikam").await;
    store
        .save_link(&new_link(other, RemoteKind::User, gone.as_uuid(), "x-gone"))
        .await
        .expect("another provider's link");
    let orphans = |kind: RemoteKind, after: Option<Uuid>, limit: u32| async move {
        store
            .orphaned_links_page(provider, kind, after, limit)
            .await
            .expect("orphans")
            .iter()
            .map(|link| link.object)
            .collect::<Vec<_>>()
    };
    assert!(orphans(RemoteKind::User, None, 10).await.is_empty());
    assert!(orphans(RemoteKind::Group, None, 10).await.is_empty());

    store.delete_user(gone).await.expect("delete");
    store.delete_user(left).await.expect("delete");
    store.delete_group(old).await.expect("delete");
    assert_eq!(
        orphans(RemoteKind::User, None, 10).await,
        [gone.as_uuid(), left.as_uuid()],
        "alice is still there"
    );
    assert_eq!(orphans(RemoteKind::Group, None, 10).await, [old.as_uuid()]);
    assert_eq!(
        orphans(RemoteKind::User, None, 1).await,
        [gone.as_uuid()],
        "a page at a time"
    );
    assert_eq!(
        orphans(RemoteKind::User, Some(gone.as_uuid()), 1).await,
        [left.as_uuid()]
    );
    assert!(
        orphans(RemoteKind::User, Some(left.as_uuid()), 1)
            .await
            .is_empty()
    );
    let elsewhere = store
        .orphaned_links_page(other, RemoteKind::User, None, 10)
        .await
        .expect("orphans");
    assert_eq!(
        elsewhere
            .iter()
            .map(|link| link.remote_id.as_str())
            .collect::<Vec<_>>(),
        ["x-gone"],
        "each provider's own"
    );
});

// The directory port.

both_backends!(the_directory_port_reads_users_groups_and_members, |t| {
    let store = &t.store;
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let staff = group(store, "Staff").await;
    let admins = group(store, "Admins").await;
    let empty = group(store, "Empty").await;
    store.add_members(staff, &[alice, bob]).await.expect("add");
    store.add_members(admins, &[alice]).await.expect("add");

    assert_eq!(
        Directory::user(store, alice)
            .await
            .expect("user")
            .map(|u| u.id),
        Some(alice)
    );
    assert!(
        Directory::user(store, UserId::new())
            .await
            .expect("user")
            .is_none()
    );
    assert_eq!(
        Directory::group(store, staff)
            .await
            .expect("group")
            .map(|g| g.id),
        Some(staff)
    );
    assert!(
        Directory::group(store, GroupId::new())
            .await
            .expect("group")
            .is_none()
    );
    assert_eq!(
        store.user_group_names(alice).await.expect("names"),
        ["Staff", "Admins"],
        "in group id order"
    );
    assert!(
        store
            .user_group_names(UserId::new())
            .await
            .expect("names")
            .is_empty()
    );
    assert!(store.is_member(admins, alice).await.expect("member"));
    assert!(!store.is_member(admins, bob).await.expect("member"));
    assert_eq!(store.member_count(staff).await.expect("count"), 2);
    assert_eq!(store.member_count(empty).await.expect("count"), 0);

    let first = store.members_page(staff, None, 1).await.expect("page");
    let second = store
        .members_page(staff, Some(first[0].id), 1)
        .await
        .expect("page");
    let third = store
        .members_page(staff, Some(second[0].id), 1)
        .await
        .expect("page");
    assert_eq!((first[0].id, second[0].id), (alice, bob));
    assert!(third.is_empty());
    assert!(
        store
            .members_page(GroupId::new(), None, 10)
            .await
            .expect("a deleted group has no members")
            .is_empty()
    );
    let users = store.users_page(Some(alice), 10).await.expect("users");
    assert_eq!(users.iter().map(|u| u.id).collect::<Vec<_>>(), [bob]);
    let groups = store.groups_page(None, 2).await.expect("groups");
    assert_eq!(
        groups.iter().map(|g| g.id).collect::<Vec<_>>(),
        [staff, admins]
    );
});

// Provider state.

both_backends!(a_new_provider_gets_its_state_and_a_full_sync, |t| {
    let store = &t.store;
    user(store, "before").await;
    let seq = store.last_change_seq().await.expect("seq");
    assert!(seq > 0);
    let daily = settings("0 3 * * *");
    let before = now();
    let id = add_provider(store, "Contoso", daily.clone()).await;
    let after = now();

    let state = store.provider_state(id).await.expect("state");
    assert_eq!(state.provider_id, id);
    assert_eq!(
        state.change_cursor, seq,
        "changes before the provider are the full sync's"
    );
    assert!(state.active);
    assert_eq!(state.health_reason, None);
    let next = state.next_run_at.expect("scheduled");
    assert!(
        daily.schedule.next_after(before) <= Some(next)
            && Some(next) <= daily.schedule.next_after(after)
    );
    assert_eq!(state.current_snapshot, None);
    assert_eq!(state.approval_run, None);
    assert_eq!(state.delete_allowance, 0);
    assert!(!state.plans_only);
    assert_eq!((state.degraded_until, state.degraded_reason), (None, None));
    assert_eq!(
        store.queued_work(id).await.expect("queued"),
        0,
        "full syncs are apart"
    );

    let claimed_at = store_now(store).await;
    let full = store
        .claim_full_sync("node-1", LEASE)
        .await
        .expect("claim")
        .expect("queued");
    assert_eq!(
        (
            full.provider_id,
            full.work,
            full.version,
            full.run_id,
            full.attempts
        ),
        (
            id,
            Work::FullSync {
                trigger: Trigger::Create
            },
            1,
            None,
            0
        )
    );
    assert!(full.lease_until >= claimed_at + TimeDelta::seconds(60));
    assert!(claim(store, "node-1", 10).await.is_empty());
    assert_eq!(complete(store, &full).await, Completion::Done);
    assert_eq!(
        store.claim_full_sync("node-1", LEASE).await.expect("claim"),
        None
    );

    // Disabled: queued but not claimed, not scheduled.
    let disabled_id = add_provider(
        store,
        "Disabled",
        ProviderSettings {
            enabled: false,
            ..daily.clone()
        },
    )
    .await;
    let disabled = store.provider_state(disabled_id).await.expect("state");
    assert!(!disabled.active);
    assert_eq!(disabled.next_run_at, None);
    assert_eq!(
        store.claim_full_sync("node-1", LEASE).await.expect("claim"),
        None
    );

    // Paused schedule: active, not scheduled.
    let mut paused = daily.clone();
    paused.schedule.paused = true;
    let paused_id = add_provider(store, "Paused", paused).await;
    let state = store.provider_state(paused_id).await.expect("state");
    assert!(state.active);
    assert_eq!(state.next_run_at, None);
    let full = store.claim_full_sync("node-1", LEASE).await.expect("claim");
    assert_eq!(full.as_ref().map(|item| item.provider_id), Some(paused_id));

    // A save clears an unhealthy state and queues a full sync, even when nothing changed.
    store
        .set_provider_health(id, Some("the credential was refused"))
        .await
        .expect("unhealthy");
    let state = store.provider_state(id).await.expect("state");
    assert!(!state.active);
    assert_eq!(
        state.health_reason.as_deref(),
        Some("the credential was refused")
    );
    store
        .update_provider(id, ProviderUpdate::default(), &key())
        .await
        .expect("save");
    let state = store.provider_state(id).await.expect("state");
    assert!(state.active);
    assert_eq!(state.health_reason, None);
    let full = store
        .claim_full_sync("node-1", LEASE)
        .await
        .expect("claim")
        .expect("queued by the save");
    assert_eq!(
        (full.provider_id, full.work),
        (
            id,
            Work::FullSync {
                trigger: Trigger::Save
            }
        )
    );

    // Enabling the disabled one: its queued creation sync is dirtied, now a save's.
    let update = ProviderUpdate {
        settings: Some(daily.clone()),
        ..ProviderUpdate::default()
    };
    store
        .update_provider(disabled_id, update, &key())
        .await
        .expect("enable");
    let state = store.provider_state(disabled_id).await.expect("state");
    assert!(state.active && state.next_run_at.is_some());
    let full = store
        .claim_full_sync("node-1", LEASE)
        .await
        .expect("claim")
        .expect("queued");
    assert_eq!(
        (full.provider_id, full.work, full.version),
        (
            disabled_id,
            Work::FullSync {
                trigger: Trigger::Save
            },
            2
        )
    );

    let err = store
        .provider_state(ProviderId::new())
        .await
        .expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
});

// The change feed and the work queue.

both_backends!(the_change_feed_queues_coalesced_work, |t| {
    let store = &t.store;
    user(store, "before").await;
    let provider = quiet_provider(store).await;

    let alice = user(store, "alice").await;
    let staff = group(store, "Staff").await;
    store.add_members(staff, &[alice]).await.expect("add");
    rename(store, alice, "Alice").await;
    assert_eq!(store.feed_changes(1000).await.expect("feed"), 3);
    assert_eq!(store.queued_work(provider).await.expect("queued"), 3);
    rename(store, alice, "Alice L.").await;
    assert_eq!(store.feed_changes(1000).await.expect("feed"), 1);
    assert_eq!(
        store.feed_changes(1000).await.expect("feed"),
        0,
        "nothing new"
    );
    assert_eq!(
        store
            .provider_state(provider)
            .await
            .expect("state")
            .change_cursor,
        store.last_change_seq().await.expect("seq")
    );

    let claimed = claim(store, "node-1", 10).await;
    assert_eq!(claimed.len(), 3, "one row per object: {claimed:?}");
    let versions: HashSet<(Work, i64)> = claimed
        .iter()
        .map(|item| (item.work, item.version))
        .collect();
    assert_eq!(
        versions,
        HashSet::from([
            (user_work(alice), 2),
            (group_work(staff), 1),
            (
                Work::Item(Item::Membership {
                    group: staff,
                    user: alice
                }),
                1
            ),
        ])
    );
    assert!(
        claimed.iter().all(|item| item.provider_id == provider
            && item.run_id.is_none()
            && item.attempts == 0)
    );

    // At most `limit` changes per provider per call; the cursor picks up where it stopped.
    for name in ["u1", "u2", "u3"] {
        user(store, name).await;
    }
    assert_eq!(store.feed_changes(2).await.expect("feed"), 2);
    assert_eq!(store.feed_changes(2).await.expect("feed"), 1);
    assert_eq!(store.feed_changes(2).await.expect("feed"), 0);

    // Every provider is fed; a membership removal dirties the membership and the user.
    let other = add_provider(store, "Fabrikam", settings("0 3 * * *")).await;
    store.remove_members(staff, &[alice]).await.expect("remove");
    assert_eq!(store.feed_changes(1000).await.expect("feed"), 4);
    assert_eq!(store.queued_work(other).await.expect("queued"), 2);
    assert_eq!(store.queued_work(provider).await.expect("queued"), 6);
});

both_backends!(completed_work_is_deleted, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = user(store, "alice").await;
    store.feed_changes(100).await.expect("feed");
    let claimed = claim(store, "node-1", 10).await;
    assert_eq!(works(&claimed), HashSet::from([user_work(alice)]));
    assert_eq!(complete(store, &claimed[0]).await, Completion::Done);
    assert_eq!(store.queued_work(provider).await.expect("queued"), 0);
    assert!(claim(store, "node-1", 10).await.is_empty());
    assert_eq!(
        complete(store, &claimed[0]).await,
        Completion::Lost,
        "a row done already is not ours any more"
    );
});

both_backends!(work_dirtied_while_claimed_is_requeued_on_completion, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = user(store, "alice").await;
    store.feed_changes(100).await.expect("feed");
    let first = claim(store, "node-1", 10).await;
    assert_eq!(first.len(), 1);

    rename(store, alice, "Alice").await;
    assert_eq!(store.feed_changes(100).await.expect("feed"), 1);
    assert!(
        claim(store, "node-2", 10).await.is_empty(),
        "still claimed by node-1"
    );
    assert_eq!(
        complete(store, &first[0]).await,
        Completion::Requeued,
        "an outdated version does not complete the row"
    );
    assert_eq!(store.queued_work(provider).await.expect("queued"), 1);
    let again = claim(store, "node-2", 10).await;
    assert_eq!(again.len(), 1, "released and due again");
    assert_eq!(again[0].version, first[0].version + 1);
    assert_ne!(again[0].claim, first[0].claim);
    assert_eq!(complete(store, &again[0]).await, Completion::Done);
    assert_eq!(store.queued_work(provider).await.expect("queued"), 0);
});

both_backends!(a_claimed_row_is_claimed_once, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    for index in 0..10 {
        user(store, &format!("user{index}")).await;
    }
    store.feed_changes(100).await.expect("feed");
    let a = claim(store, "node-a", 4).await;
    let b = claim(store, "node-b", 100).await;
    assert_eq!((a.len(), b.len()), (4, 6));
    assert!(works(&a).is_disjoint(&works(&b)));
    assert!(claim(store, "node-c", 100).await.is_empty());

    for item in a.iter().chain(&b) {
        assert_eq!(complete(store, item).await, Completion::Done);
    }
    for index in 10..30 {
        user(store, &format!("user{index}")).await;
    }
    store.feed_changes(100).await.expect("feed");
    assert_eq!(store.queued_work(provider).await.expect("queued"), 20);
    let (a, b) = tokio::join!(claim(store, "node-a", 20), claim(store, "node-b", 20));
    assert!(works(&a).is_disjoint(&works(&b)), "{a:?}\n{b:?}");
    assert_eq!(a.len() + b.len(), 20);
});

both_backends!(
    an_expired_lease_is_claimed_again_and_a_renewed_one_is_not,
    |t| {
        let store = &t.store;
        quiet_provider(store).await;
        user(store, "alice").await;
        store.feed_changes(100).await.expect("feed");
        let lease = Duration::from_millis(200);
        let first = claim_for(store, "node-a", 10, lease).await;
        assert_eq!(first.len(), 1);
        assert!(claim(store, "node-b", 10).await.is_empty());

        // Renewed before it runs out, it holds past its first end.
        tokio::time::sleep(Duration::from_millis(120)).await;
        let (renewed, until) = store
            .renew_claims(&[first[0].claim], lease)
            .await
            .expect("renew");
        assert_eq!(renewed, [first[0].claim]);
        assert!(
            until > first[0].lease_until,
            "{until} > {}",
            first[0].lease_until
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(
            claim(store, "node-b", 10).await.is_empty(),
            "renewed: still node-a's"
        );

        tokio::time::sleep(Duration::from_millis(150)).await;
        let second = claim(store, "node-b", 10).await;
        assert_eq!(works(&second), works(&first), "the lease ran out");
        assert_ne!(second[0].claim, first[0].claim);
        let (renewed, _) = store
            .renew_claims(&[first[0].claim], LEASE)
            .await
            .expect("renew");
        assert!(renewed.is_empty(), "node-a lost it");
        let (renewed, _) = store
            .renew_claims(&[second[0].claim], LEASE)
            .await
            .expect("renew");
        assert_eq!(renewed, [second[0].claim]);
    }
);

both_backends!(retried_work_counts_attempts_and_waits, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    store.feed_changes(100).await.expect("feed");
    let claimed = claim(store, "node-1", 10).await;
    assert_eq!(claimed.len(), 2);
    let (first, second) = (
        find(&claimed, user_work(alice)),
        find(&claimed, user_work(bob)),
    );

    let later = store_now(store).await + TimeDelta::hours(1);
    let due = || async move { store_now(store).await - TimeDelta::seconds(1) };
    assert!(
        store
            .retry_work(&first, later, "throttled")
            .await
            .expect("retry")
    );
    assert!(
        store
            .retry_work(&second, due().await, "reset")
            .await
            .expect("retry")
    );
    let again = claim(store, "node-2", 10).await;
    assert_eq!(works(&again), HashSet::from([user_work(bob)]));
    assert_eq!(again[0].attempts, 1);
    assert_eq!(
        store.queued_work(provider).await.expect("queued"),
        2,
        "alice waits"
    );

    assert!(
        store
            .retry_work(&again[0], due().await, "reset")
            .await
            .expect("retry")
    );
    let third = claim(store, "node-2", 10).await;
    assert_eq!(third[0].attempts, 2);

    // Dirtied while claimed: a retry releases it due now, its attempts forgotten.
    rename(store, bob, "Bob").await;
    store.feed_changes(100).await.expect("feed");
    assert!(
        store
            .retry_work(&third[0], later, "throttled")
            .await
            .expect("retry")
    );
    let fresh = claim(store, "node-2", 10).await;
    assert_eq!(works(&fresh), HashSet::from([user_work(bob)]));
    assert_eq!(
        (fresh[0].attempts, fresh[0].version),
        (0, third[0].version + 1)
    );
});

both_backends!(a_stale_holder_cannot_touch_a_row_claimed_again, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let carol = user(store, "carol").await;
    store.feed_changes(100).await.expect("feed");
    let stale = claim_for(store, "node-a", 10, SHORT).await;
    assert_eq!(
        works(&stale),
        HashSet::from([user_work(alice), user_work(bob), user_work(carol)])
    );
    tokio::time::sleep(LAPSE).await;
    let fresh = claim(store, "node-b", 10).await;
    assert_eq!(works(&fresh), works(&stale), "the lease ran out");
    let [stale_alice, stale_bob, stale_carol] =
        [alice, bob, carol].map(|id| find(&stale, user_work(id)));
    let [fresh_alice, fresh_bob, fresh_carol] =
        [alice, bob, carol].map(|id| find(&fresh, user_work(id)));
    assert_ne!(stale_alice.claim, fresh_alice.claim);
    let queued_at = store
        .oldest_queued(provider)
        .await
        .expect("oldest")
        .expect("queued");
    // Carol is dirtied again under node-b's claim: even so, node-a cannot release her row.
    rename(store, carol, "Carol").await;
    store.feed_changes(100).await.expect("feed");

    assert_eq!(complete(store, &stale_alice).await, Completion::Lost);
    assert_eq!(complete(store, &stale_carol).await, Completion::Lost);
    assert!(
        !store
            .retry_work(
                &stale_bob,
                store_now(store).await + TimeDelta::hours(1),
                "stale"
            )
            .await
            .expect("retry"),
        "a lost claim retries nothing"
    );
    assert!(!store.release_work(&stale_bob).await.expect("release"));
    let (renewed, _) = store
        .renew_claims(
            &[
                stale_alice.claim,
                stale_bob.claim,
                stale_carol.claim,
                fresh_alice.claim,
                fresh_bob.claim,
                fresh_carol.claim,
            ],
            LEASE,
        )
        .await
        .expect("renew");
    assert_eq!(
        renewed.into_iter().collect::<HashSet<ClaimToken>>(),
        HashSet::from([fresh_alice.claim, fresh_bob.claim, fresh_carol.claim]),
        "only node-b's claims hold"
    );
    assert_eq!(store.queued_work(provider).await.expect("queued"), 3);
    assert!(
        claim(store, "node-c", 10).await.is_empty(),
        "every row is still node-b's"
    );

    // Node-b's claims are intact.
    assert_eq!(complete(store, &fresh_alice).await, Completion::Done);
    assert_eq!(complete(store, &fresh_carol).await, Completion::Requeued);
    assert_eq!(
        store.oldest_queued(provider).await.expect("oldest"),
        Some(queued_at),
        "bob's row is due when it was: the stale retry moved nothing"
    );
    assert!(store.release_work(&fresh_bob).await.expect("release"));
    let again = claim(store, "node-c", 10).await;
    assert_eq!(
        works(&again),
        HashSet::from([user_work(bob), user_work(carol)])
    );
    let bob_again = find(&again, user_work(bob));
    assert_eq!(
        (bob_again.attempts, bob_again.version),
        (0, stale_bob.version),
        "no attempt counted by the stale retry"
    );
    assert_eq!(
        find(&again, user_work(carol)).version,
        stale_carol.version + 1
    );
    for item in &again {
        assert_eq!(complete(store, item).await, Completion::Done);
    }
    assert_eq!(store.queued_work(provider).await.expect("queued"), 0);
});

both_backends!(items_queued_for_a_run_join_the_rows_already_queued, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let other = quiet_provider_named(store, "Fabrikam").await;
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let staff = group(store, "Staff").await;
    // Queued by the feed: alice, bob and staff, for both providers.
    store.feed_changes(1000).await.expect("feed");
    assert_eq!(store.queued_work(provider).await.expect("queued"), 3);
    let carol = UserId::new();

    let run = start_run(store, provider, false, LEASE).await;
    let items = [
        Item::User(alice),
        Item::User(bob),
        Item::User(alice),
        Item::Group(staff),
        Item::User(carol),
        Item::Members(staff),
    ];
    assert_eq!(
        store
            .enqueue_items(provider, Some(run.id), &items)
            .await
            .expect("enqueue"),
        5,
        "a repeated item is queued once"
    );
    assert_eq!(
        store.pending_work(provider, run.id).await.expect("pending"),
        5
    );
    assert_eq!(
        store.queued_work(provider).await.expect("queued"),
        5,
        "rows already queued are taken into the run, not doubled"
    );
    assert_eq!(store.pending_work(other, run.id).await.expect("pending"), 0);
    assert_eq!(store.queued_work(other).await.expect("queued"), 3);

    let claimed = store
        .claim_work("node-1", 100, LEASE, &[], Some(provider))
        .await
        .expect("claim");
    let versions: HashSet<(Work, i64, Option<RunId>)> = claimed
        .iter()
        .map(|item| (item.work, item.version, item.run_id))
        .collect();
    assert_eq!(
        versions,
        HashSet::from([
            (user_work(alice), 2, Some(run.id)),
            (user_work(bob), 2, Some(run.id)),
            (group_work(staff), 2, Some(run.id)),
            (user_work(carol), 1, Some(run.id)),
            (Work::Item(Item::Members(staff)), 1, Some(run.id)),
        ])
    );
    for item in &claimed {
        assert_eq!(complete(store, item).await, Completion::Done);
    }
    assert_eq!(
        store.pending_work(provider, run.id).await.expect("pending"),
        0
    );

    // Without a run: direct syncs.
    assert_eq!(
        store
            .enqueue_items(provider, None, &[Item::User(alice)])
            .await
            .expect("enqueue"),
        1
    );
    let direct = store
        .claim_work("node-1", 100, LEASE, &[], Some(provider))
        .await
        .expect("claim");
    assert_eq!(
        direct
            .iter()
            .map(|item| (item.work, item.run_id))
            .collect::<Vec<_>>(),
        [(user_work(alice), None)]
    );

    let err = store
        .enqueue_items(ProviderId::new(), Some(run.id), &items)
        .await
        .expect_err("unknown provider");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
});

both_backends!(direct_syncs_are_claimed_before_a_full_syncs_rows, |t| {
    let store = &t.store;
    let early = user(store, "early").await;
    let earlier = user(store, "earlier").await;
    let provider = quiet_provider(store).await;
    let run = start_run(store, provider, false, LEASE).await;
    store
        .enqueue_items(
            provider,
            Some(run.id),
            &[Item::User(early), Item::User(earlier)],
        )
        .await
        .expect("enqueue");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let late = user(store, "late").await;
    store.feed_changes(100).await.expect("feed");

    let first = claim(store, "node-1", 1).await;
    assert_eq!(
        first
            .iter()
            .map(|item| (item.work, item.run_id))
            .collect::<Vec<_>>(),
        [(user_work(late), None)],
        "queued last, claimed first"
    );
    let rest = claim(store, "node-1", 10).await;
    assert_eq!(
        works(&rest),
        HashSet::from([user_work(early), user_work(earlier)])
    );
    assert!(rest.iter().all(|item| item.run_id == Some(run.id)));
    for item in first.iter().chain(&rest) {
        assert_eq!(complete(store, item).await, Completion::Done);
    }

    // One claim of both lanes hands out the direct rows first.
    store
        .enqueue_items(provider, Some(run.id), &[Item::User(early)])
        .await
        .expect("enqueue");
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .enqueue_items(provider, None, &[Item::User(late)])
        .await
        .expect("enqueue");
    let both = claim(store, "node-1", 10).await;
    assert_eq!(
        both.iter().map(|item| item.work).collect::<Vec<_>>(),
        [user_work(late), user_work(early)]
    );
});

both_backends!(
    a_direct_change_moves_a_full_sync_row_to_the_direct_lane_with_its_run,
    |t| {
        let store = &t.store;
        let first = user(store, "first").await;
        let second = user(store, "second").await;
        let provider = quiet_provider(store).await;
        let run = start_run(store, provider, false, LEASE).await;
        store
            .enqueue_items(provider, Some(run.id), &[Item::User(first)])
            .await
            .expect("enqueue");
        tokio::time::sleep(Duration::from_millis(5)).await;
        store
            .enqueue_items(provider, Some(run.id), &[Item::User(second)])
            .await
            .expect("enqueue");
        tokio::time::sleep(Duration::from_millis(5)).await;

        // Second, queued after first in the same lane, is changed: a direct sync now.
        rename(store, second, "Second").await;
        assert_eq!(store.feed_changes(100).await.expect("feed"), 1);
        let moved = claim(store, "node-1", 1).await;
        assert_eq!(
            moved
                .iter()
                .map(|item| (item.work, item.run_id, item.version))
                .collect::<Vec<_>>(),
            [(user_work(second), Some(run.id), 2)],
            "in the direct lane, still the run's"
        );
        let rest = claim(store, "node-1", 10).await;
        assert_eq!(works(&rest), HashSet::from([user_work(first)]));
        for item in moved.iter().chain(&rest) {
            assert_eq!(complete(store, item).await, Completion::Done);
        }
        assert_eq!(
            store.pending_work(provider, run.id).await.expect("pending"),
            0
        );

        // And a full sync taking in a direct row leaves it in the direct lane.
        store
            .enqueue_items(provider, Some(run.id), &[Item::User(first)])
            .await
            .expect("enqueue");
        tokio::time::sleep(Duration::from_millis(5)).await;
        rename(store, second, "Second again").await;
        store.feed_changes(100).await.expect("feed");
        tokio::time::sleep(Duration::from_millis(5)).await;
        store
            .enqueue_items(provider, Some(run.id), &[Item::User(second)])
            .await
            .expect("enqueue");
        let kept = claim(store, "node-1", 1).await;
        assert_eq!(
            kept.iter()
                .map(|item| (item.work, item.run_id))
                .collect::<Vec<_>>(),
            [(user_work(second), Some(run.id))],
            "taken into the run, still direct"
        );
    }
);

both_backends!(
    an_on_demand_sync_claims_its_row_unless_another_claim_holds_it,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        let alice = user(store, "alice").await;
        let now_claimed = store
            .claim_item_now(provider, Item::User(alice), "node-a", LEASE)
            .await
            .expect("claim now")
            .expect("nobody holds it");
        assert_eq!(
            (now_claimed.work, now_claimed.run_id),
            (user_work(alice), None)
        );
        assert!(claim(store, "node-b", 10).await.is_empty());
        assert_eq!(
            store
                .claim_item_now(provider, Item::User(alice), "node-b", LEASE)
                .await
                .expect("claim now"),
            None,
            "node-a holds it"
        );
        assert_eq!(
            complete(store, &now_claimed).await,
            Completion::Requeued,
            "the second request is not lost"
        );
        let again = claim(store, "node-b", 10).await;
        assert_eq!(works(&again), HashSet::from([user_work(alice)]));
        assert_eq!(again[0].version, now_claimed.version + 1);

        let full = store
            .claim_full_sync_now(provider, Trigger::Manual, "node-a", LEASE)
            .await
            .expect("claim now")
            .expect("no full sync runs");
        assert_eq!(
            full.work,
            Work::FullSync {
                trigger: Trigger::Manual
            }
        );
        assert_eq!(
            store
                .claim_full_sync_now(provider, Trigger::Manual, "node-b", LEASE)
                .await
                .expect("claim now"),
            None,
            "node-a runs it"
        );
        assert_eq!(
            store.claim_full_sync("node-b", LEASE).await.expect("claim"),
            None
        );
        let err = store
            .claim_item_now(ProviderId::new(), Item::User(alice), "node-a", LEASE)
            .await
            .expect_err("unknown provider");
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    }
);

both_backends!(claim_work_leaves_out_except_and_keeps_to_only, |t| {
    let store = &t.store;
    let first = quiet_provider_named(store, "Contoso").await;
    let second = quiet_provider_named(store, "Fabrikam").await;
    user(store, "alice").await;
    user(store, "bob").await;
    store.feed_changes(100).await.expect("feed");
    let claim_with = |except: Vec<ProviderId>, only: Option<ProviderId>| async move {
        let claimed = store
            .claim_work("node-1", 10, LEASE, &except, only)
            .await
            .expect("claim");
        let providers: HashSet<ProviderId> = claimed.iter().map(|item| item.provider_id).collect();
        for item in &claimed {
            assert!(store.release_work(item).await.expect("release"));
        }
        (claimed.len(), providers)
    };
    assert_eq!(
        claim_with(vec![first], None).await,
        (2, HashSet::from([second]))
    );
    assert_eq!(
        claim_with(vec![], Some(first)).await,
        (2, HashSet::from([first]))
    );
    assert_eq!(
        claim_with(vec![second], Some(first)).await,
        (2, HashSet::from([first]))
    );
    assert_eq!(
        claim_with(vec![first], Some(first)).await,
        (0, HashSet::new())
    );
    assert_eq!(
        claim_with(vec![first, second], None).await,
        (0, HashSet::new())
    );
    assert_eq!(
        claim_with(vec![], None).await,
        (4, HashSet::from([first, second]))
    );
});

both_backends!(
    plans_only_providers_item_rows_wait_but_their_full_syncs_run,
    |t| {
        let store = &t.store;
        let live = add_provider(store, "Live", settings("0 3 * * *")).await;
        let dry_settings = ProviderSettings {
            dry_run: true,
            ..settings("0 3 * * *")
        };
        let dry = add_provider(store, "Dry", dry_settings).await;
        assert!(store.provider_state(dry).await.expect("state").plans_only);
        assert!(!store.provider_state(live).await.expect("state").plans_only);
        let mut fulls = HashSet::new();
        while let Some(full) = store.claim_full_sync("node-1", LEASE).await.expect("claim") {
            fulls.insert(full.provider_id);
            assert_eq!(complete(store, &full).await, Completion::Done);
        }
        assert_eq!(
            fulls,
            HashSet::from([live, dry]),
            "a plans-only provider's full sync makes a plan"
        );

        let alice = user(store, "alice").await;
        store.feed_changes(100).await.expect("feed");
        let claimed = claim(store, "node-1", 10).await;
        assert_eq!(
            claimed
                .iter()
                .map(|item| (item.provider_id, item.work))
                .collect::<Vec<_>>(),
            [(live, user_work(alice))],
            "only the live provider's"
        );
        assert_eq!(store.queued_work(dry).await.expect("queued"), 1, "it waits");

        // Out of dry-run mode, its rows run.
        let update = ProviderUpdate {
            settings: Some(settings("0 3 * * *")),
            ..ProviderUpdate::default()
        };
        store
            .update_provider(dry, update, &key())
            .await
            .expect("save");
        assert!(!store.provider_state(dry).await.expect("state").plans_only);
        let claimed = claim(store, "node-1", 10).await;
        assert_eq!(
            claimed
                .iter()
                .map(|item| (item.provider_id, item.work))
                .collect::<Vec<_>>(),
            [(dry, user_work(alice))]
        );
    }
);

both_backends!(
    degraded_providers_item_rows_wait_until_the_time_passes_or_it_heals,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        let alice = user(store, "alice").await;
        store.feed_changes(100).await.expect("feed");
        let claimable = || async move {
            let claimed = store
                .claim_work("node-1", 10, LEASE, &[], Some(provider))
                .await
                .expect("claim");
            for item in &claimed {
                assert!(store.release_work(item).await.expect("release"));
            }
            works(&claimed)
        };
        let alice_only = HashSet::from([user_work(alice)]);
        assert_eq!(claimable().await, alice_only);

        let until = store_now(store).await + TimeDelta::hours(1);
        store
            .degrade_provider(provider, until, "timeouts")
            .await
            .expect("degrade");
        let state = store.provider_state(provider).await.expect("state");
        assert_eq!(
            (state.degraded_until, state.degraded_reason.as_deref()),
            (Some(until), Some("timeouts"))
        );
        assert!(state.active, "degraded is not stopped");
        assert!(claimable().await.is_empty(), "it waits");

        store
            .degrade_provider(
                provider,
                store_now(store).await - TimeDelta::seconds(1),
                "timeouts",
            )
            .await
            .expect("degrade");
        assert_eq!(claimable().await, alice_only, "the time has passed");

        store
            .degrade_provider(provider, until, "timeouts")
            .await
            .expect("degrade");
        store.clear_degraded(provider).await.expect("clear");
        let state = store.provider_state(provider).await.expect("state");
        assert_eq!((state.degraded_until, state.degraded_reason), (None, None));
        assert_eq!(claimable().await, alice_only, "cleared");

        // An administrator's sync request heals it (degraded or stopped) and queues a full sync.
        store
            .degrade_provider(provider, until, "timeouts")
            .await
            .expect("degrade");
        store
            .set_provider_health(provider, Some("denied"))
            .await
            .expect("unhealthy");
        store.request_manual_sync(provider).await.expect("request");
        let state = store.provider_state(provider).await.expect("state");
        assert!(state.active);
        assert_eq!(
            (
                state.health_reason,
                state.degraded_until,
                state.degraded_reason
            ),
            (None, None, None)
        );
        assert_eq!(claimable().await, alice_only);
        let full = store
            .claim_full_sync("node-1", LEASE)
            .await
            .expect("claim")
            .expect("requested");
        assert_eq!(
            full.work,
            Work::FullSync {
                trigger: Trigger::Manual
            }
        );
    }
);

both_backends!(unhealthy_providers_get_no_work, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    user(store, "alice").await;
    store.feed_changes(100).await.expect("feed");
    store
        .set_provider_health(provider, Some("Authorization_RequestDenied"))
        .await
        .expect("unhealthy");
    assert!(claim(store, "node-1", 10).await.is_empty());
    store
        .request_full_sync(provider, Trigger::Manual)
        .await
        .expect("request");
    assert_eq!(
        store.claim_full_sync("node-1", LEASE).await.expect("claim"),
        None
    );

    store
        .set_provider_health(provider, None)
        .await
        .expect("healthy");
    let state = store.provider_state(provider).await.expect("state");
    assert!(state.active && state.health_reason.is_none());
    assert_eq!(claim(store, "node-1", 10).await.len(), 1);
    let full = store.claim_full_sync("node-1", LEASE).await.expect("claim");
    assert_eq!(
        full.map(|item| item.work),
        Some(Work::FullSync {
            trigger: Trigger::Manual
        })
    );

    // Healthy again does not enable a disabled provider.
    let update = ProviderUpdate {
        settings: Some(ProviderSettings {
            enabled: false,
            ..settings("0 3 * * *")
        }),
        ..ProviderUpdate::default()
    };
    store
        .update_provider(provider, update, &key())
        .await
        .expect("disable");
    store
        .set_provider_health(provider, None)
        .await
        .expect("healthy");
    assert!(!store.provider_state(provider).await.expect("state").active);
    let err = store
        .set_provider_health(ProviderId::new(), None)
        .await
        .expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
});

// Schedules.

both_backends!(a_due_schedule_fires_once_under_concurrent_callers, |t| {
    let store = &t.store;
    let every_minute = settings("* * * * *");
    // Enough providers that each caller is still firing when the other reads what is due.
    let mut due = Vec::new();
    for index in 0..20 {
        due.push(add_provider(store, &format!("Provider {index}"), every_minute.clone()).await);
    }
    let unhealthy = add_provider(store, "Unhealthy", every_minute.clone()).await;
    store
        .set_provider_health(unhealthy, Some("denied"))
        .await
        .expect("unhealthy");
    due.sort();
    let mut times = Vec::new();
    for id in &due {
        let next = store.provider_state(*id).await.expect("state").next_run_at;
        times.push(next.expect("scheduled"));
    }
    let (earliest, latest) = (times.iter().min(), times.iter().max());
    let early = *earliest.expect("some") - TimeDelta::seconds(1);
    assert!(
        store
            .fire_due_schedules(early)
            .await
            .expect("fire")
            .is_empty()
    );

    let at = *latest.expect("some") + TimeDelta::seconds(90);
    let (first, second) = tokio::join!(store.fire_due_schedules(at), store.fire_due_schedules(at));
    let mut fired = first.expect("fire");
    fired.extend(second.expect("fire"));
    fired.sort();
    assert_eq!(
        fired, due,
        "each fired exactly once, the unhealthy one not at all"
    );
    for id in &due {
        let moved = store.provider_state(*id).await.expect("state").next_run_at;
        assert_eq!(moved, every_minute.schedule.next_after(at));
    }
    assert!(store.fire_due_schedules(at).await.expect("fire").is_empty());

    // Each creation's full sync, dirtied once by the schedule.
    for _ in &due {
        let full = store
            .claim_full_sync("node-1", LEASE)
            .await
            .expect("claim")
            .expect("queued");
        assert_eq!(
            (full.work, full.version),
            (
                Work::FullSync {
                    trigger: Trigger::Schedule
                },
                2
            ),
            "{full:?}"
        );
    }
    assert_eq!(
        store.claim_full_sync("node-1", LEASE).await.expect("claim"),
        None
    );
});

// Snapshots.

both_backends!(
    a_snapshot_is_written_page_by_page_and_matched_by_either_key,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        assert_eq!(current(store, provider).await, None);

        let before = store_now(store).await;
        let snapshot = begin(store, provider, SnapshotPurpose::Sync).await;
        let after = store_now(store).await;
        add(
            store,
            snapshot,
            &[
                entry("r-a", "Alice", &["alice@x.com", "alice@upn.com"]),
                entry("r-b", "Bob", &["shared@x.com"]),
                entry("r-c", "Carol", &[]),
            ],
        )
        .await;
        add(
            store,
            snapshot,
            &[
                entry("r-e", "Eve", &["eve@x.com", "shared@x.com"]),
                // Read again: the last reading wins, in a later page or in the same one.
                entry("r-a", "Alice 2", &["old@x.com"]),
                entry("r-a", "Alice 3", &["alice3@x.com"]),
            ],
        )
        .await;
        store
            .add_to_snapshot(
                snapshot,
                RemoteKind::Group,
                &[entry("r-g", "Staff", &["shared@x.com"])],
            )
            .await
            .expect("groups");

        let matching = |key: &'static str| async move {
            store
                .snapshot_matching(snapshot, RemoteKind::User, key)
                .await
                .expect("matching")
        };
        assert_eq!(
            ids(&matching("shared@x.com").await),
            ["r-b", "r-e"],
            "key1 or key2"
        );
        assert_eq!(ids(&matching("eve@x.com").await), ["r-e"]);
        assert!(
            matching("alice@upn.com").await.is_empty(),
            "replaced keys are gone"
        );
        assert!(matching("old@x.com").await.is_empty());
        let alice = matching("alice3@x.com").await;
        assert_eq!(alice.len(), 1);
        assert_eq!(alice[0].properties["displayName"], "Alice 3");
        assert_eq!(shown(store, snapshot, "r-c").await, Some(json!("Carol")));
        assert_eq!(
            store
                .snapshot_object(snapshot, RemoteKind::Group, &RemoteId::new("r-c"))
                .await
                .expect("object"),
            None
        );
        assert_eq!(
            store
                .snapshot_matching(snapshot, RemoteKind::Group, "shared@x.com")
                .await
                .expect("groups")
                .len(),
            1
        );
        assert_eq!(current(store, provider).await, None, "not complete yet");

        let finished = store.finish_snapshot(snapshot).await.expect("finish");
        assert_eq!(finished.id, snapshot);
        assert!(
            before <= finished.taken_at && finished.taken_at <= after,
            "taken when it began: {before} <= {} <= {after}",
            finished.taken_at
        );
        assert_eq!(
            store.current_snapshot(provider).await.expect("current"),
            Some(finished)
        );
        assert_eq!(
            store
                .provider_state(provider)
                .await
                .expect("state")
                .current_snapshot,
            Some(snapshot.as_uuid())
        );

        let err = store
            .begin_snapshot(ProviderId::new(), SnapshotPurpose::Sync)
            .await
            .expect_err("unknown provider");
        assert!(
            matches!(store_error(&err), Some(StoreError::NotFound { .. })),
            "{err:?}"
        );
    }
);

both_backends!(
    a_snapshot_begun_while_another_is_written_keeps_apart_from_it,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        let first = begin(store, provider, SnapshotPurpose::Sync).await;
        add(
            store,
            first,
            &[entry("r-1", "Alice (first)", &["alice@x.com"])],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(2)).await;
        let second = begin(store, provider, SnapshotPurpose::Sync).await;
        add(
            store,
            second,
            &[
                entry("r-1", "Alice (second)", &["alice@x.com"]),
                entry("r-2", "Bob", &[]),
            ],
        )
        .await;
        add(store, first, &[entry("r-3", "Carol", &[])]).await;

        assert_eq!(
            shown(store, first, "r-1").await,
            Some(json!("Alice (first)"))
        );
        assert_eq!(shown(store, first, "r-2").await, None);
        assert_eq!(shown(store, first, "r-3").await, Some(json!("Carol")));
        assert_eq!(
            shown(store, second, "r-1").await,
            Some(json!("Alice (second)"))
        );
        assert_eq!(shown(store, second, "r-3").await, None);
        let matching = store
            .snapshot_matching(first, RemoteKind::User, "alice@x.com")
            .await
            .expect("matching");
        assert_eq!(matching.len(), 1);
        assert_eq!(matching[0].properties["displayName"], "Alice (first)");

        // The first finishes while the second is still being written: the second goes on.
        store.finish_snapshot(first).await.expect("finish");
        assert_eq!(current(store, provider).await, Some(first));
        add(store, second, &[entry("r-4", "Dan", &[])]).await;
        assert_eq!(
            shown(store, second, "r-1").await,
            Some(json!("Alice (second)"))
        );
        assert_eq!(shown(store, first, "r-4").await, None);

        store.finish_snapshot(second).await.expect("finish");
        assert_eq!(current(store, provider).await, Some(second));
        assert_eq!(shown(store, second, "r-4").await, Some(json!("Dan")));
        assert_eq!(shown(store, first, "r-1").await, None, "the older one went");
    }
);

both_backends!(
    finishing_a_sync_snapshot_makes_it_current_and_drops_older_ones,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        let other = quiet_provider_named(store, "Fabrikam").await;
        let elsewhere = begin(store, other, SnapshotPurpose::Sync).await;
        add(store, elsewhere, &[entry("x-1", "Xavier", &[])]).await;
        store.finish_snapshot(elsewhere).await.expect("finish");

        let first = begin(store, provider, SnapshotPurpose::Sync).await;
        add(store, first, &[entry("r-1", "Alice", &[])]).await;
        store.finish_snapshot(first).await.expect("finish");
        assert_eq!(current(store, provider).await, Some(first));

        let second = begin(store, provider, SnapshotPurpose::Sync).await;
        add(store, second, &[entry("r-2", "Bob", &[])]).await;
        assert_eq!(
            current(store, provider).await,
            Some(first),
            "an unfinished snapshot replaces nothing"
        );
        assert_eq!(
            shown(store, first, "r-1").await,
            Some(json!("Alice")),
            "readers of the current one are not disturbed"
        );

        store.finish_snapshot(second).await.expect("finish");
        assert_eq!(current(store, provider).await, Some(second));
        assert_eq!(shown(store, second, "r-2").await, Some(json!("Bob")));
        assert_eq!(shown(store, first, "r-1").await, None, "the older one went");
        assert_eq!(
            current(store, other).await,
            Some(elsewhere),
            "another provider's stays"
        );
        assert_eq!(shown(store, elsewhere, "x-1").await, Some(json!("Xavier")));

        // Dropping the current one leaves none.
        store.drop_snapshot(second).await.expect("drop");
        assert_eq!(current(store, provider).await, None);
        assert_eq!(
            store
                .provider_state(provider)
                .await
                .expect("state")
                .current_snapshot,
            None
        );
    }
);

both_backends!(
    a_plan_snapshot_never_becomes_current_and_is_gone_once_dropped,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        let synced = begin(store, provider, SnapshotPurpose::Sync).await;
        store.finish_snapshot(synced).await.expect("finish");

        let plan = begin(store, provider, SnapshotPurpose::Plan).await;
        add(store, plan, &[entry("r-p", "Planned", &["p@x.com"])]).await;
        let finished = store.finish_snapshot(plan).await.expect("finish");
        assert_eq!(finished.id, plan);
        assert_eq!(
            current(store, provider).await,
            Some(synced),
            "a plan's snapshot stays private"
        );
        assert_eq!(shown(store, plan, "r-p").await, Some(json!("Planned")));

        // A full sync finishing meanwhile leaves the plan's snapshot alone.
        let later = begin(store, provider, SnapshotPurpose::Sync).await;
        store.finish_snapshot(later).await.expect("finish");
        assert_eq!(current(store, provider).await, Some(later));
        assert_eq!(shown(store, plan, "r-p").await, Some(json!("Planned")));

        store.drop_snapshot(plan).await.expect("drop");
        assert_eq!(shown(store, plan, "r-p").await, None);
        assert!(
            store
                .snapshot_matching(plan, RemoteKind::User, "p@x.com")
                .await
                .expect("matching")
                .is_empty()
        );
        assert_eq!(current(store, provider).await, Some(later));
        store
            .drop_snapshot(plan)
            .await
            .expect("dropping it again is fine");
    }
);

both_backends!(a_finished_snapshot_refuses_more_objects, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let snapshot = begin(store, provider, SnapshotPurpose::Sync).await;
    add(store, snapshot, &[entry("r-1", "Alice", &[])]).await;
    store.finish_snapshot(snapshot).await.expect("finish");

    let err = store
        .add_to_snapshot(
            snapshot,
            RemoteKind::User,
            &[entry("r-1", "Mallory", &[]), entry("r-2", "Bob", &[])],
        )
        .await
        .expect_err("finished");
    assert!(is_conflict(&err), "{err:?}");
    assert_eq!(shown(store, snapshot, "r-1").await, Some(json!("Alice")));
    assert_eq!(shown(store, snapshot, "r-2").await, None);
    let err = store
        .finish_snapshot(snapshot)
        .await
        .expect_err("finished already");
    assert!(is_conflict(&err), "{err:?}");

    let dropped = begin(store, provider, SnapshotPurpose::Plan).await;
    store.drop_snapshot(dropped).await.expect("drop");
    let err = store
        .add_to_snapshot(dropped, RemoteKind::User, &[entry("r-1", "Alice", &[])])
        .await
        .expect_err("gone");
    assert!(is_conflict(&err), "{err:?}");
});

both_backends!(pruning_snapshots_forgets_only_old_unfinished_ones, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let finished = begin(store, provider, SnapshotPurpose::Sync).await;
    add(store, finished, &[entry("r-1", "Alice", &[])]).await;
    store.finish_snapshot(finished).await.expect("finish");
    let plan = begin(store, provider, SnapshotPurpose::Plan).await;
    add(store, plan, &[entry("r-1", "Alice", &[])]).await;
    store.finish_snapshot(plan).await.expect("finish");
    let abandoned = begin(store, provider, SnapshotPurpose::Sync).await;
    add(store, abandoned, &[entry("r-1", "Alice", &[])]).await;
    let abandoned_plan = begin(store, provider, SnapshotPurpose::Plan).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cutoff = store_now(store).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let recent = begin(store, provider, SnapshotPurpose::Sync).await;

    assert_eq!(store.prune_snapshots(cutoff).await.expect("prune"), 2);
    assert_eq!(shown(store, abandoned, "r-1").await, None);
    let err = store
        .add_to_snapshot(
            abandoned_plan,
            RemoteKind::User,
            &[entry("r-2", "Bob", &[])],
        )
        .await
        .expect_err("pruned");
    assert!(is_conflict(&err), "{err:?}");
    assert_eq!(current(store, provider).await, Some(finished));
    assert_eq!(shown(store, finished, "r-1").await, Some(json!("Alice")));
    assert_eq!(shown(store, plan, "r-1").await, Some(json!("Alice")));
    add(store, recent, &[entry("r-2", "Bob", &[])]).await;
    assert_eq!(store.prune_snapshots(cutoff).await.expect("prune"), 0);
});

// Accidental-delete protection.

async fn guarded_provider(store: &Store, name: &str, threshold: u32) -> Provider {
    let settings = ProviderSettings {
        delete_threshold: threshold,
        ..settings("0 3 * * *")
    };
    let id = add_provider(store, name, settings).await;
    drain_full_syncs(store).await;
    store.get_provider(id).await.expect("provider")
}

fn delete_of(object: Uuid) -> PlanItem {
    PlanItem {
        seq: 0,
        subject: PlanSubject::User,
        object_id: object,
        object_name: format!("user-{object}"),
        operations: vec![Operation::Delete {
            kind: RemoteKind::User,
            remote_id: RemoteId::new(format!("r-{object}")),
        }],
    }
}

async fn reserve(store: &Store, provider: &Provider, object: Uuid) -> Reservation {
    store
        .reserve_delete(&DeleteRequest {
            provider,
            item: delete_of(object),
        })
        .await
        .expect("reserve")
}

fn held_under(reservation: Reservation) -> RunId {
    match reservation {
        Reservation::Held { run } => run,
        Reservation::Allowed => panic!("expected the delete to be held"),
    }
}

async fn planned_objects(store: &Store, run: RunId) -> Vec<(i64, Uuid)> {
    store
        .plan_items(run, 0, 1000)
        .await
        .expect("plan")
        .iter()
        .map(|item| (item.seq, item.object_id))
        .collect()
}

async fn held_count(store: &Store, run: RunId) -> Option<u64> {
    store
        .get_run(run)
        .await
        .expect("run")
        .report
        .held
        .map(|held| held.count)
}

both_backends!(
    deletes_past_the_threshold_are_held_under_an_approval_run,
    |t| {
        let store = &t.store;
        let provider = guarded_provider(store, "Guarded", 3).await;
        let objects: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
        // At the threshold, an object counted already is asked for again: it counts once.
        for object in [objects[0], objects[1], objects[2], objects[0]] {
            assert_eq!(
                reserve(store, &provider, object).await,
                Reservation::Allowed,
                "the same object twice counts once"
            );
        }
        assert_eq!(
            store.approval_run(provider.id).await.expect("approval"),
            None
        );

        let run = held_under(reserve(store, &provider, objects[3]).await);
        assert_eq!(
            store.approval_run(provider.id).await.expect("approval"),
            Some(run)
        );
        assert_eq!(
            store
                .provider_state(provider.id)
                .await
                .expect("state")
                .approval_run,
            Some(run)
        );
        let record = store.get_run(run).await.expect("the approval run");
        assert_eq!(
            (
                record.provider_id,
                record.trigger,
                record.status,
                record.dry_run
            ),
            (
                provider.id,
                Trigger::Direct,
                RunStatus::AwaitingApproval,
                false
            )
        );
        assert_eq!(
            record.report.held,
            Some(HeldDeletes {
                count: 1,
                threshold: 3
            })
        );
        let plan = store.plan_items(run, 0, 10).await.expect("plan");
        assert_eq!(
            plan,
            [PlanItem {
                seq: 1,
                ..delete_of(objects[3])
            }]
        );
        assert_eq!(held_under(reserve(store, &provider, objects[3]).await), run);
        assert_eq!(
            held_count(store, run).await,
            Some(1),
            "asked for again, a held object is listed and counted once"
        );
        assert_eq!(planned_objects(store, run).await, [(1, objects[3])]);

        // While it waits, every delete is held under it, even one counted before.
        assert_eq!(held_under(reserve(store, &provider, objects[4]).await), run);
        assert_eq!(held_count(store, run).await, Some(2));
        assert_eq!(held_under(reserve(store, &provider, objects[0]).await), run);
        assert_eq!(held_count(store, run).await, Some(3));
        assert_eq!(
            planned_objects(store, run).await,
            [(1, objects[3]), (2, objects[4]), (3, objects[0])]
        );

        // Another provider counts its own.
        let other = guarded_provider(store, "Other", 3).await;
        assert_eq!(
            reserve(store, &other, objects[5]).await,
            Reservation::Allowed
        );
    }
);

both_backends!(an_approval_lets_exactly_its_allowance_through, |t| {
    let store = &t.store;
    let provider = guarded_provider(store, "Guarded", 3).await;
    for _ in 0..3 {
        assert_eq!(
            reserve(store, &provider, Uuid::now_v7()).await,
            Reservation::Allowed
        );
    }
    let first = held_under(reserve(store, &provider, Uuid::now_v7()).await);

    store
        .end_approval(provider.id, 2)
        .await
        .expect("approve two");
    let state = store.provider_state(provider.id).await.expect("state");
    assert_eq!((state.approval_run, state.delete_allowance), (None, 2));
    assert_eq!(
        reserve(store, &provider, Uuid::now_v7()).await,
        Reservation::Allowed
    );
    assert_eq!(
        store
            .provider_state(provider.id)
            .await
            .expect("state")
            .delete_allowance,
        1
    );
    assert_eq!(
        reserve(store, &provider, Uuid::now_v7()).await,
        Reservation::Allowed
    );
    let second = held_under(reserve(store, &provider, Uuid::now_v7()).await);
    assert_ne!(second, first, "a new approval run");
    let state = store.provider_state(provider.id).await.expect("state");
    assert_eq!(
        (state.approval_run, state.delete_allowance),
        (Some(second), 0)
    );
    assert_eq!(held_count(store, second).await, Some(1));
    assert_eq!(held_count(store, first).await, Some(1));

    // A rejection allows nothing more: the window is still full.
    store.end_approval(provider.id, 0).await.expect("reject");
    assert_eq!(
        store.approval_run(provider.id).await.expect("approval"),
        None
    );
    let third = held_under(reserve(store, &provider, Uuid::now_v7()).await);
    assert!(third != first && third != second);

    let err = store
        .end_approval(ProviderId::new(), 1)
        .await
        .expect_err("unknown provider");
    assert!(
        matches!(store_error(&err), Some(StoreError::NotFound { .. })),
        "{err:?}"
    );
});

both_backends!(a_threshold_of_zero_never_holds, |t| {
    let store = &t.store;
    let provider = guarded_provider(store, "Unguarded", 0).await;
    for _ in 0..10 {
        assert_eq!(
            reserve(store, &provider, Uuid::now_v7()).await,
            Reservation::Allowed
        );
    }
    assert_eq!(
        store.approval_run(provider.id).await.expect("approval"),
        None
    );
});

both_backends!(holding_deletes_keeps_an_existing_approval_run, |t| {
    let store = &t.store;
    let provider = guarded_provider(store, "Guarded", 3).await;
    let run = start_run(store, provider.id, false, LEASE).await;
    let (a, b, c, d) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    assert_eq!(
        store
            .hold_deletes(provider.id, run.id, &[delete_of(a), delete_of(b)])
            .await
            .expect("hold"),
        run.id
    );
    assert_eq!(
        store.approval_run(provider.id).await.expect("approval"),
        Some(run.id)
    );
    assert_eq!(planned_objects(store, run.id).await, [(1, a), (2, b)]);

    let later = start_run(store, provider.id, false, LEASE).await;
    assert_eq!(
        store
            .hold_deletes(provider.id, later.id, &[delete_of(c)])
            .await
            .expect("hold"),
        run.id,
        "the run waiting already keeps them"
    );
    assert_eq!(
        planned_objects(store, run.id).await,
        [(1, a), (2, b), (3, c)]
    );
    assert!(planned_objects(store, later.id).await.is_empty());
    assert_eq!(
        store.approval_run(provider.id).await.expect("approval"),
        Some(run.id)
    );
    assert_eq!(
        held_under(reserve(store, &provider, d).await),
        run.id,
        "a direct sync's delete waits with them"
    );
    assert_eq!(
        planned_objects(store, run.id).await,
        [(1, a), (2, b), (3, c), (4, d)]
    );
});

both_backends!(concurrent_reservations_allow_exactly_the_threshold, |t| {
    let store = &t.store;
    let provider = guarded_provider(store, "Guarded", 5).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let provider = provider.clone();
            tokio::spawn(async move { reserve(&store, &provider, Uuid::now_v7()).await })
        })
        .collect();
    let mut allowed = 0;
    let mut runs = HashSet::new();
    for task in tasks {
        match task.await.expect("task") {
            Reservation::Allowed => allowed += 1,
            Reservation::Held { run } => {
                runs.insert(run);
            }
        }
    }
    assert_eq!(allowed, 5, "never past the threshold");
    assert_eq!(runs.len(), 1, "one approval run: {runs:?}");
    let run = runs.into_iter().next().expect("a run");
    assert_eq!(held_count(store, run).await, Some(15));
    let seqs: Vec<i64> = planned_objects(store, run)
        .await
        .iter()
        .map(|(seq, _)| *seq)
        .collect();
    assert_eq!(seqs, (1..=15).collect::<Vec<_>>());
});

// Runs, their plans and tallies.

both_backends!(runs_are_started_finished_and_listed_newest_first, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let first = store
        .start_run(provider, Trigger::Schedule, false, "node-1", LEASE)
        .await
        .expect("start");
    assert_eq!(first.status, RunStatus::Running);
    assert!(
        first.report == RunReport::default()
            && first.finished_at.is_none()
            && first.error.is_none()
    );
    assert_eq!(store.get_run(first.id).await.expect("get"), first);
    let second = store
        .start_run(provider, Trigger::Manual, true, "node-1", LEASE)
        .await
        .expect("start");
    let third = store
        .start_run(provider, Trigger::Save, false, "node-1", LEASE)
        .await
        .expect("start");

    let mut report = RunReport::default();
    report.add(OutcomeKind::Created, 2);
    report.add(OutcomeKind::Failed, 1);
    report.members.added = 4;
    let finished = store
        .finish_run(second.id, RunStatus::Partial, &report, Some("1 failed"))
        .await
        .expect("finish");
    assert_eq!(finished.status, RunStatus::Partial);
    assert_eq!(finished.report, report);
    assert_eq!(finished.error.as_deref(), Some("1 failed"));
    assert!(
        finished
            .finished_at
            .is_some_and(|at| at >= second.started_at)
    );
    assert!(finished.dry_run && finished.trigger == Trigger::Manual);
    assert_eq!(store.get_run(second.id).await.expect("get"), finished);

    let page = store
        .list_runs(provider, Page::first(2))
        .await
        .expect("list");
    assert_eq!(
        page.iter().map(|run| run.id).collect::<Vec<_>>(),
        [third.id, second.id]
    );
    let rest = store
        .list_runs(provider, Page::after(page[1].id.as_uuid(), 2))
        .await
        .expect("list");
    assert_eq!(rest, [first]);
    assert!(
        store
            .list_runs(ProviderId::new(), Page::first(10))
            .await
            .expect("list")
            .is_empty()
    );

    let missing = RunId::new();
    assert!(matches!(
        store.get_run(missing).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .finish_run(missing, RunStatus::Stopped, &RunReport::default(), None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .start_run(ProviderId::new(), Trigger::Manual, false, "node-1", LEASE)
            .await,
        Err(StoreError::NotFound { .. })
    ));
});

both_backends!(runs_whose_lease_ran_out_are_swept_as_interrupted, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let lease = Duration::from_millis(200);
    let renewed = start_run(store, provider, false, lease).await;
    let abandoned = start_run(store, provider, false, lease).await;
    let finished = start_run(store, provider, false, lease).await;
    let finished = store
        .finish_run(
            finished.id,
            RunStatus::Succeeded,
            &RunReport::default(),
            None,
        )
        .await
        .expect("finish");
    assert_eq!(store.sweep_runs().await.expect("sweep"), 0, "all live");

    assert_eq!(
        store
            .renew_runs(&[renewed.id, finished.id], LEASE)
            .await
            .expect("renew"),
        [renewed.id],
        "only a running run is renewed"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(store.sweep_runs().await.expect("sweep"), 1);
    let swept = store.get_run(abandoned.id).await.expect("run");
    assert_eq!(swept.status, RunStatus::Interrupted);
    assert!(swept.finished_at.is_some());
    assert!(
        swept
            .error
            .as_deref()
            .is_some_and(|error| error.contains("stopped renewing")),
        "{:?}",
        swept.error
    );
    assert_eq!(
        store.get_run(renewed.id).await.expect("run").status,
        RunStatus::Running,
        "renewed: left alone"
    );
    assert_eq!(
        store.get_run(finished.id).await.expect("run"),
        finished,
        "finished: left alone"
    );
    assert_eq!(store.sweep_runs().await.expect("sweep"), 0);
    assert!(
        store
            .renew_runs(&[abandoned.id], LEASE)
            .await
            .expect("renew")
            .is_empty(),
        "an interrupted run is not running any more"
    );
    assert!(
        store
            .renew_runs(&[], LEASE)
            .await
            .expect("renew")
            .is_empty()
    );
});

both_backends!(running_plan_finds_a_running_dry_run_only, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let other = quiet_provider_named(store, "Fabrikam").await;
    start_run(store, provider, false, LEASE).await;
    start_run(store, other, true, LEASE).await;
    assert_eq!(store.running_plan(provider).await.expect("plan"), None);

    let plan = start_run(store, provider, true, LEASE).await;
    assert_eq!(
        store.running_plan(provider).await.expect("plan"),
        Some(plan.clone())
    );
    store
        .finish_run(plan.id, RunStatus::Succeeded, &RunReport::default(), None)
        .await
        .expect("finish");
    assert_eq!(store.running_plan(provider).await.expect("plan"), None);
});

both_backends!(
    completing_a_runs_items_adds_to_its_tally_unless_the_claim_was_lost,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        let (alice, carol, bob) = (UserId::new(), UserId::new(), UserId::new());
        let staff = GroupId::new();
        let run = start_run(store, provider, false, LEASE).await;
        let other_run = start_run(store, provider, false, LEASE).await;
        assert_eq!(
            store.run_tally(run.id).await.expect("tally"),
            Tally::default()
        );
        store
            .enqueue_items(
                provider,
                Some(run.id),
                &[Item::User(alice), Item::User(carol), Item::Members(staff)],
            )
            .await
            .expect("enqueue");
        let claimed = claim(store, "node-a", 10).await;
        let created = tally(&[(OutcomeKind::Created, 1)], MemberCounts::default());
        for id in [alice, carol] {
            let item = find(&claimed, user_work(id));
            assert_eq!(
                store
                    .complete_work(&item, &created)
                    .await
                    .expect("complete"),
                Completion::Done
            );
        }
        let members = MemberCounts {
            added: 3,
            removed: 1,
            failed: 0,
        };
        let item = find(&claimed, Work::Item(Item::Members(staff)));
        assert_eq!(
            store
                .complete_work(&item, &tally(&[], members))
                .await
                .expect("complete"),
            Completion::Done
        );
        let expected = tally(&[(OutcomeKind::Created, 2)], members);
        assert_eq!(store.run_tally(run.id).await.expect("tally"), expected);

        // A stale holder's completion counts nothing; the new holder's does.
        store
            .enqueue_items(provider, Some(run.id), &[Item::User(bob)])
            .await
            .expect("enqueue");
        let stale = claim_for(store, "node-a", 10, SHORT).await;
        tokio::time::sleep(LAPSE).await;
        let fresh = claim(store, "node-b", 10).await;
        assert_eq!(works(&fresh), HashSet::from([user_work(bob)]));
        let updated = tally(&[(OutcomeKind::Updated, 1)], MemberCounts::default());
        assert_eq!(
            store
                .complete_work(&stale[0], &updated)
                .await
                .expect("complete"),
            Completion::Lost
        );
        assert_eq!(store.run_tally(run.id).await.expect("tally"), expected);
        assert_eq!(
            store
                .complete_work(&fresh[0], &updated)
                .await
                .expect("complete"),
            Completion::Done
        );
        assert_eq!(
            store.run_tally(run.id).await.expect("tally"),
            tally(
                &[(OutcomeKind::Created, 2), (OutcomeKind::Updated, 1)],
                members
            )
        );
        assert_eq!(
            store.run_tally(other_run.id).await.expect("tally"),
            Tally::default(),
            "each run its own"
        );
    }
);

both_backends!(an_item_still_completes_after_its_run_was_pruned, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let run = start_run(store, provider, false, LEASE).await;
    let alice = UserId::new();
    store
        .enqueue_items(provider, Some(run.id), &[Item::User(alice)])
        .await
        .expect("enqueue");
    store
        .finish_run(run.id, RunStatus::Interrupted, &RunReport::default(), None)
        .await
        .expect("finish");
    let cutoff = store_now(store).await + TimeDelta::seconds(1);
    assert_eq!(store.prune_runs(cutoff).await.expect("prune"), 1);

    // Its row outlived it (the provider was stopped, say): it is still done, counted nowhere.
    let claimed = claim(store, "node-1", 10).await;
    assert_eq!(
        claimed
            .iter()
            .map(|item| (item.work, item.run_id))
            .collect::<Vec<_>>(),
        [(user_work(alice), Some(run.id))]
    );
    let updated = tally(&[(OutcomeKind::Updated, 1)], MemberCounts::default());
    assert_eq!(
        store
            .complete_work(&claimed[0], &updated)
            .await
            .expect("complete"),
        Completion::Done
    );
    assert_eq!(store.queued_work(provider).await.expect("queued"), 0);
    assert_eq!(
        store.run_tally(run.id).await.expect("tally"),
        Tally::default()
    );
});

fn plan_item(seq: i64, subject: PlanSubject, object: Uuid, operations: Vec<Operation>) -> PlanItem {
    PlanItem {
        seq,
        subject,
        object_id: object,
        object_name: format!("object {seq}"),
        operations,
    }
}

fn document(name: &str) -> Document {
    Document::new(properties(json!({"displayName": name})))
}

both_backends!(planned_reads_back_what_a_plan_does_to_an_object, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let run = start_run(store, provider, true, LEASE).await;
    let other_run = start_run(store, provider, true, LEASE).await;
    let [
        created,
        adopted,
        deleted,
        disabled,
        unlinked,
        updated,
        replaced,
        staff,
    ] = [(); 8].map(|()| Uuid::now_v7());
    let person = RemoteKind::User;
    let items = vec![
        plan_item(
            1,
            PlanSubject::User,
            created,
            vec![Operation::Create {
                kind: person,
                document: document("Created"),
            }],
        ),
        plan_item(
            2,
            PlanSubject::User,
            adopted,
            vec![
                Operation::Adopt {
                    kind: person,
                    remote_id: RemoteId::new("r-adopted"),
                },
                Operation::Update {
                    kind: person,
                    remote_id: RemoteId::new("r-adopted"),
                    changes: vec![FieldChange {
                        property: "displayName".into(),
                        before: Some(json!("old")),
                        after: json!("Adopted"),
                    }],
                },
            ],
        ),
        plan_item(
            3,
            PlanSubject::Group,
            deleted,
            vec![Operation::Delete {
                kind: RemoteKind::Group,
                remote_id: RemoteId::new("r-deleted"),
            }],
        ),
        plan_item(
            4,
            PlanSubject::User,
            disabled,
            vec![Operation::Disable {
                remote_id: RemoteId::new("r-disabled"),
            }],
        ),
        plan_item(
            5,
            PlanSubject::User,
            unlinked,
            vec![Operation::Unlink {
                kind: person,
                remote_id: RemoteId::new("r-unlinked"),
            }],
        ),
        plan_item(
            6,
            PlanSubject::User,
            updated,
            vec![Operation::Update {
                kind: person,
                remote_id: RemoteId::new("r-updated"),
                changes: vec![],
            }],
        ),
        plan_item(
            7,
            PlanSubject::Group,
            staff,
            vec![Operation::Create {
                kind: RemoteKind::Group,
                document: document("Staff"),
            }],
        ),
        plan_item(
            8,
            PlanSubject::Members,
            staff,
            vec![Operation::AddMembers {
                group: RemoteRef::Planned {
                    kind: RemoteKind::Group,
                    object: staff,
                },
                members: vec![RemoteRef::Planned {
                    kind: person,
                    object: created,
                }],
            }],
        ),
        plan_item(
            9,
            PlanSubject::User,
            replaced,
            vec![Operation::Create {
                kind: person,
                document: document("Replaced"),
            }],
        ),
        plan_item(
            10,
            PlanSubject::User,
            replaced,
            vec![Operation::Delete {
                kind: person,
                remote_id: RemoteId::new("r-replaced"),
            }],
        ),
    ];
    Plans::add_plan_items(store, run.id, &items)
        .await
        .expect("add");
    let planned = |kind: RemoteKind, object: Uuid| async move {
        store.planned(run.id, kind, object).await.expect("planned")
    };
    assert_eq!(
        planned(person, created).await,
        Some(Planned::Remote(RemoteRef::Planned {
            kind: person,
            object: created
        }))
    );
    assert_eq!(
        planned(person, adopted).await,
        Some(Planned::Remote(RemoteRef::Linked {
            id: RemoteId::new("r-adopted")
        }))
    );
    assert_eq!(
        planned(RemoteKind::Group, deleted).await,
        Some(Planned::Deleted)
    );
    assert_eq!(planned(person, disabled).await, Some(Planned::Unlinked));
    assert_eq!(planned(person, unlinked).await, Some(Planned::Unlinked));
    assert_eq!(
        planned(person, updated).await,
        None,
        "an update leaves the link"
    );
    assert_eq!(
        planned(RemoteKind::Group, staff).await,
        Some(Planned::Remote(RemoteRef::Planned {
            kind: RemoteKind::Group,
            object: staff
        })),
        "its members' item is not the group's"
    );
    assert_eq!(
        planned(person, replaced).await,
        Some(Planned::Deleted),
        "the later item wins"
    );
    assert_eq!(
        planned(RemoteKind::Group, created).await,
        None,
        "kinds apart"
    );
    assert_eq!(planned(person, Uuid::now_v7()).await, None);
    assert_eq!(
        store
            .planned(other_run.id, person, created)
            .await
            .expect("planned"),
        None,
        "each run's plan its own"
    );
    assert_eq!(
        store.plan_items(run.id, 0, 100).await.expect("plan"),
        items,
        "read back as written"
    );
    assert_eq!(
        store.plan_items(run.id, 8, 100).await.expect("plan"),
        items[8..],
        "a page after a position"
    );

    // Many at once, as one at a time; more ids than one statement binds.
    let mut asked = vec![
        created, adopted, deleted, disabled, unlinked, updated, replaced, staff,
    ];
    asked.extend((0..1200).map(|_| Uuid::now_v7()));
    for kind in [person, RemoteKind::Group] {
        let mut one_by_one = std::collections::HashMap::new();
        for &object in &asked {
            if let Some(step) = store.planned(run.id, kind, object).await.expect("planned") {
                one_by_one.insert(object, step);
            }
        }
        let at_once = store
            .planned_of(run.id, kind, &asked)
            .await
            .expect("planned_of");
        assert_eq!(at_once, one_by_one, "{kind}");
    }
    assert_eq!(
        store
            .planned_of(run.id, person, &[])
            .await
            .expect("planned_of"),
        std::collections::HashMap::new()
    );
});

// Object states.

both_backends!(object_states_are_upserted_and_failures_listed_by_run, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let run1 = start_run(store, provider, false, LEASE).await;
    let run2 = start_run(store, provider, false, LEASE).await;
    let alice = Uuid::now_v7();
    let failed = ObjectState {
        provider_id: provider,
        kind: RemoteKind::User,
        object_id: alice,
        status: ObjectStatus::Failed,
        outcome: "rejected".into(),
        run_id: Some(run1.id),
        last_attempt_at: now(),
        last_synced_at: None,
        error_code: Some("Request_BadRequest".into()),
        error_message: Some("invalid mail".into()),
        request_id: Some("req-1".into()),
    };
    store.record_object_state(&failed).await.expect("record");
    assert_eq!(
        store
            .object_state(provider, RemoteKind::User, alice)
            .await
            .expect("state"),
        Some(failed.clone())
    );
    assert_eq!(
        store
            .object_state(provider, RemoteKind::Group, alice)
            .await
            .expect("state"),
        None
    );

    let synced_at = now();
    let synced = ObjectState {
        status: ObjectStatus::Synced,
        outcome: "updated".into(),
        run_id: Some(run2.id),
        last_attempt_at: synced_at,
        last_synced_at: Some(synced_at),
        error_code: None,
        error_message: None,
        request_id: None,
        ..failed.clone()
    };
    store.record_object_state(&synced).await.expect("record");
    assert_eq!(
        store
            .object_state(provider, RemoteKind::User, alice)
            .await
            .expect("state"),
        Some(synced.clone())
    );

    let failed_again = ObjectState {
        run_id: Some(run2.id),
        last_attempt_at: now() + TimeDelta::seconds(1),
        ..failed.clone()
    };
    store
        .record_object_state(&failed_again)
        .await
        .expect("record");
    let stored = store
        .object_state(provider, RemoteKind::User, alice)
        .await
        .expect("state")
        .expect("recorded");
    assert_eq!(
        stored,
        ObjectState {
            last_synced_at: Some(synced_at),
            ..failed_again.clone()
        },
        "a failure keeps when it was last synced"
    );

    for (kind, status, outcome) in [
        (RemoteKind::Group, ObjectStatus::Synced, "created"),
        (RemoteKind::User, ObjectStatus::Skipped, "out_of_scope"),
        (RemoteKind::User, ObjectStatus::Synced, "created"),
    ] {
        let state = ObjectState {
            kind,
            object_id: Uuid::now_v7(),
            status,
            outcome: outcome.into(),
            last_synced_at: (status == ObjectStatus::Synced).then(now),
            error_code: None,
            error_message: None,
            request_id: None,
            ..failed_again.clone()
        };
        store.record_object_state(&state).await.expect("record");
    }
    assert_eq!(
        store.run_failures(run2.id, 10).await.expect("failures"),
        [stored]
    );
    assert!(
        store
            .run_failures(run1.id, 10)
            .await
            .expect("failures")
            .is_empty(),
        "alice's state belongs to the later run now"
    );
    assert!(
        store
            .run_failures(run2.id, 0)
            .await
            .expect("failures")
            .is_empty()
    );
});

// The store's clock.

both_backends!(
    the_store_clock_agrees_with_ours_and_leases_compare_by_it,
    |t| {
        let store = &t.store;
        let ours_before = Utc::now();
        let theirs = store_now(store).await;
        let ours_after = Utc::now();
        assert!(
            theirs >= ours_before - TimeDelta::seconds(1)
                && theirs <= ours_after + TimeDelta::seconds(1),
            "{ours_before} <= {theirs} <= {ours_after}, give or take a second"
        );
        assert_eq!(theirs, theirs.trunc_subsecs(6), "microseconds, as stored");

        let provider = quiet_provider(store).await;
        let alice = user(store, "alice").await;
        let bob = user(store, "bob").await;
        store.feed_changes(100).await.expect("feed");
        let before = store_now(store).await;
        let claimed = claim(store, "node-1", 10).await;
        let after = store_now(store).await;
        assert_eq!(claimed.len(), 2);
        for item in &claimed {
            assert!(
                before + TimeDelta::seconds(60) <= item.lease_until
                    && item.lease_until <= after + TimeDelta::seconds(60),
                "a lease of 60 s from the store's now: {}",
                item.lease_until
            );
        }

        // Deferred to the store's now: due at once; to an hour from it: not due.
        let (alice_item, bob_item) = (
            find(&claimed, user_work(alice)),
            find(&claimed, user_work(bob)),
        );
        assert!(
            store
                .retry_work(&alice_item, store_now(store).await, "now")
                .await
                .expect("retry")
        );
        assert!(
            store
                .retry_work(
                    &bob_item,
                    store_now(store).await + TimeDelta::hours(1),
                    "later"
                )
                .await
                .expect("retry")
        );
        let due = claim_for(store, "node-2", 10, SHORT).await;
        assert_eq!(works(&due), HashSet::from([user_work(alice)]));
        assert!(due[0].lease_until > store_now(store).await, "not over yet");
        tokio::time::sleep(LAPSE).await;
        assert!(
            due[0].lease_until < store_now(store).await,
            "over by the store's clock"
        );
        let again = claim(store, "node-3", 10).await;
        assert_eq!(works(&again), HashSet::from([user_work(alice)]));
        assert_eq!(
            store.queued_work(provider).await.expect("queued"),
            2,
            "bob waits"
        );
    }
);

both_backends!(
    a_groups_bulk_members_and_its_memberships_are_never_worked_at_once,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        let staff = group(store, "Staff").await;
        let alice = user(store, "alice").await;
        let bulk = engine::Item::Members(staff);
        let single = engine::Item::Membership {
            group: staff,
            user: alice,
        };
        store
            .enqueue_items(provider, Some(model::RunId::new()), &[bulk])
            .await
            .expect("queue the bulk step");
        let held = claim(store, "node-1", 10).await;
        assert_eq!(works(&held), HashSet::from([Work::Item(bulk)]));
        store
            .enqueue_items(provider, None, &[single])
            .await
            .expect("queue one membership");
        assert!(
            claim(store, "node-2", 10).await.is_empty(),
            "the membership waits while the bulk step is claimed"
        );
        assert_eq!(complete(store, &held[0]).await, Completion::Done);
        let next = claim(store, "node-2", 10).await;
        assert_eq!(works(&next), HashSet::from([Work::Item(single)]));
        // And the other way round.
        store
            .enqueue_items(provider, Some(model::RunId::new()), &[bulk])
            .await
            .expect("queue the bulk step again");
        assert!(
            claim(store, "node-1", 10).await.is_empty(),
            "the bulk step waits while a membership is claimed"
        );
    }
);

both_backends!(
    one_claim_never_takes_a_groups_bulk_members_and_one_of_its_memberships_together,
    |t| {
        let store = &t.store;
        let provider = quiet_provider(store).await;
        let staff = group(store, "Staff").await;
        let alice = user(store, "alice").await;
        let bulk = engine::Item::Members(staff);
        let single = engine::Item::Membership {
            group: staff,
            user: alice,
        };
        let bulk_first = [Work::Item(bulk), Work::Item(single)];
        let single_first = [Work::Item(single), Work::Item(bulk)];
        // Both wait, unclaimed, when a worker with room for many asks: the one that waited
        // longer goes first, alone, whichever kind it is.
        for order in [bulk_first, single_first] {
            for work in &order {
                let Work::Item(item) = work else {
                    unreachable!("items only")
                };
                let run = matches!(item, engine::Item::Members(_)).then(model::RunId::new);
                store
                    .enqueue_items(provider, run, &[*item])
                    .await
                    .expect("queue");
                // Distinct times of queueing (the database's clock moves on).
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let held = claim(store, "node-1", 10).await;
            assert_eq!(
                works(&held),
                HashSet::from([order[0]]),
                "the older goes first, alone"
            );
            assert!(
                claim(store, "node-2", 10).await.is_empty(),
                "the other waits for it"
            );
            assert_eq!(complete(store, &held[0]).await, Completion::Done);
            let next = claim(store, "node-2", 10).await;
            assert_eq!(works(&next), HashSet::from([order[1]]));
            assert_eq!(complete(store, &next[0]).await, Completion::Done);
        }
    }
);

both_backends!(a_plan_is_found_by_kind_folded_name_and_operation, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let run = store
        .start_run(
            provider,
            model::Trigger::Manual,
            true,
            "node-1",
            Duration::from_secs(60),
        )
        .await
        .expect("run");
    let named = |seq, subject, name: &str, operations| PlanItem {
        object_name: name.to_owned(),
        ..plan_item(seq, subject, Uuid::now_v7(), operations)
    };
    let items = vec![
        named(
            1,
            PlanSubject::User,
            "Ärztin_1",
            vec![Operation::Create {
                kind: RemoteKind::User,
                document: document("Ärztin"),
            }],
        ),
        named(
            2,
            PlanSubject::Members,
            "Staff",
            vec![Operation::AddMembers {
                group: RemoteRef::linked(RemoteId::new("g")),
                members: vec![],
            }],
        ),
        named(
            3,
            PlanSubject::User,
            "bob",
            vec![
                Operation::Adopt {
                    kind: RemoteKind::User,
                    remote_id: RemoteId::new("r"),
                },
                Operation::Update {
                    kind: RemoteKind::User,
                    remote_id: RemoteId::new("r"),
                    changes: vec![],
                },
            ],
        ),
    ];
    store.add_plan_items(run.id, &items).await.expect("plan");
    let found = |filter: store::PlanFilter, after: i64| async move {
        store
            .find_plan_items(run.id, &filter, after, 10)
            .await
            .expect("found")
            .iter()
            .map(|item| item.seq)
            .collect::<Vec<_>>()
    };
    let by_name = |name: &str| store::PlanFilter {
        name: Some(name.to_owned()),
        ..Default::default()
    };
    let by_operation = |name: &'static str| store::PlanFilter {
        operation: Some(name),
        ..Default::default()
    };
    assert_eq!(found(store::PlanFilter::default(), 0).await, [1, 2, 3]);
    assert_eq!(found(store::PlanFilter::default(), 1).await, [2, 3]);
    assert_eq!(found(by_name("äRZT"), 0).await, [1], "folded beyond ASCII");
    assert_eq!(
        found(by_name("_"), 0).await,
        [1],
        "an underscore is literal"
    );
    assert_eq!(found(by_operation("update"), 0).await, [3]);
    assert_eq!(found(by_operation("adopt"), 0).await, [3]);
    assert_eq!(found(by_operation("add_members"), 0).await, [2]);
    assert!(found(by_operation("recreate"), 0).await.is_empty());
    let members = store::PlanFilter {
        subject: Some(PlanSubject::Members),
        ..Default::default()
    };
    assert_eq!(found(members, 0).await, [2]);
});
