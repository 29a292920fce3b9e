//! The sync engine's storage (links, snapshots, provider state, the work queue, schedules, runs,
//! object states), run against SQLite and PostgreSQL alike.

mod common;

use std::{collections::HashSet, time::Duration};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use engine::{Directory, Link, Links, RemoteId, RemoteKind, RemoteObject, SnapshotEntry};
use model::{
    Cloud, GroupDeleteAction, GroupId, GroupName, GroupScope, NewGroup, NewUser, ProviderId,
    ProviderSettings, RunId, RunStatus, Schedule, Trigger, UserDeleteAction, UserId, UserPatch,
    UserScope, Username,
};
use serde_json::json;
use store::{
    ObjectState, ObjectStatus, Page, ProviderCredential, ProviderUpdate, SecretKey, Store,
    StoreError, WorkItem, WorkKind,
};
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(60);

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn settings(cron: &str) -> ProviderSettings {
    ProviderSettings {
        tenant_id: "contoso.onmicrosoft.com".into(),
        client_id: "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e".into(),
        cloud: Cloud::Global,
        user_mappings: vec![],
        group_mappings: vec![],
        user_scope: UserScope::default(),
        group_scope: GroupScope::All,
        user_delete_action: UserDeleteAction::Delete,
        group_delete_action: GroupDeleteAction::Delete,
        dry_run: false,
        discovery: true,
        remove_unmanaged_members: false,
        delete_threshold: model::DEFAULT_DELETE_THRESHOLD,
        schedule: Schedule {
            cron: cron.into(),
            paused: false,
        },
        enabled: true,
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

/// A provider whose creation full sync is claimed and done, so that only what a test queues is
/// in the queue.
async fn quiet_provider(store: &Store) -> ProviderId {
    let id = add_provider(store, "Contoso", settings("0 3 * * *")).await;
    let full = store
        .claim_full_sync("setup", LEASE)
        .await
        .expect("claim")
        .expect("the creation's full sync");
    assert!(store.complete_work(&full).await.expect("complete"));
    id
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

fn link(provider: ProviderId, kind: RemoteKind, object: Uuid, remote: &str) -> Link {
    Link {
        provider,
        kind,
        object,
        remote_id: RemoteId::new(remote),
        written: json!({"displayName": remote})
            .as_object()
            .cloned()
            .expect("object"),
        synced_at: now(),
    }
}

fn entry(id: &str, name: &str, keys: &[&str]) -> SnapshotEntry {
    SnapshotEntry {
        object: RemoteObject {
            id: RemoteId::new(id),
            properties: json!({"displayName": name})
                .as_object()
                .cloned()
                .expect("object"),
        },
        keys: keys.iter().map(|key| (*key).to_owned()).collect(),
    }
}

fn ids(objects: &[RemoteObject]) -> Vec<&str> {
    objects.iter().map(|object| object.id.as_str()).collect()
}

/// The claimed items, keyed for comparison regardless of order.
fn keys(items: &[WorkItem]) -> HashSet<(WorkKind, Uuid, Option<Uuid>)> {
    items
        .iter()
        .map(|item| (item.kind, item.object_id, item.subject_id))
        .collect()
}

both_backends!(links_are_saved_found_replaced_and_removed, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = Uuid::now_v7();
    let first = link(provider, RemoteKind::User, alice, "r-1");
    store.save_link(&first).await.expect("save");
    assert_eq!(
        store
            .link(provider, RemoteKind::User, alice)
            .await
            .expect("link"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .link_to_remote(provider, RemoteKind::User, &RemoteId::new("r-1"))
            .await
            .expect("by remote"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .link(provider, RemoteKind::Group, alice)
            .await
            .expect("link"),
        None,
        "kinds are apart"
    );

    // Saving again replaces the link of the object.
    let mut second = link(provider, RemoteKind::User, alice, "r-2");
    second.written = json!({"displayName": "Alice", "accountEnabled": true})
        .as_object()
        .cloned()
        .expect("object");
    store.save_link(&second).await.expect("replace");
    assert_eq!(
        store
            .link(provider, RemoteKind::User, alice)
            .await
            .expect("link"),
        Some(second.clone())
    );
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
        let link = link(provider, RemoteKind::User, *object, &format!("u-{index}"));
        store.save_link(&link).await.expect("save");
    }
    store
        .save_link(&link(provider, RemoteKind::Group, Uuid::now_v7(), "g-1"))
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
        .save_link(&link(provider, RemoteKind::User, alice, "r-1"))
        .await
        .expect("save");
    store
        .save_link(&link(provider, RemoteKind::User, bob, "r-1"))
        .await
        .expect_err("r-1 is alice's");
    assert_eq!(
        store
            .link(provider, RemoteKind::User, bob)
            .await
            .expect("link"),
        None
    );
    let other = add_provider(store, "Fabrikam", settings("0 3 * * *")).await;
    store
        .save_link(&link(other, RemoteKind::User, bob, "r-1"))
        .await
        .expect("another provider's tenant has its own ids");
    store
        .save_link(&link(provider, RemoteKind::Group, bob, "r-1"))
        .await
        .expect("kinds are apart");
});

both_backends!(snapshots_are_rebuilt_and_matched_by_either_key, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    assert_eq!(
        store.snapshot_taken_at(provider).await.expect("taken"),
        None
    );

    store.begin_snapshot(provider).await.expect("begin");
    store
        .add_to_snapshot(
            provider,
            RemoteKind::User,
            &[
                entry("r-a", "Alice", &["alice@x.com", "alice@upn.com"]),
                entry("r-b", "Bob", &["shared@x.com"]),
                entry("r-c", "Carol", &[]),
            ],
        )
        .await
        .expect("page 1");
    store
        .add_to_snapshot(
            provider,
            RemoteKind::User,
            &[
                entry("r-e", "Eve", &["eve@x.com", "shared@x.com"]),
                // Read again: the last reading wins, in a later page or in the same one.
                entry("r-a", "Alice 2", &["old@x.com"]),
                entry("r-a", "Alice 3", &["alice3@x.com"]),
            ],
        )
        .await
        .expect("page 2");
    store
        .add_to_snapshot(
            provider,
            RemoteKind::Group,
            &[entry("r-g", "Staff", &["shared@x.com"])],
        )
        .await
        .expect("groups");

    let matching = |key: &'static str| async move {
        store
            .snapshot_matching(provider, RemoteKind::User, key)
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
    assert_eq!(
        store
            .snapshot_object(provider, RemoteKind::User, &RemoteId::new("r-c"))
            .await
            .expect("object")
            .map(|object| object.properties["displayName"].clone()),
        Some(json!("Carol"))
    );
    assert_eq!(
        store
            .snapshot_object(provider, RemoteKind::Group, &RemoteId::new("r-c"))
            .await
            .expect("object"),
        None
    );
    assert_eq!(
        store
            .snapshot_matching(provider, RemoteKind::Group, "shared@x.com")
            .await
            .expect("groups")
            .len(),
        1
    );
    assert_eq!(
        store.snapshot_taken_at(provider).await.expect("taken"),
        None,
        "not complete yet"
    );

    let started = now() - TimeDelta::minutes(5);
    store
        .finish_snapshot(provider, started)
        .await
        .expect("finish");
    assert_eq!(
        store.snapshot_taken_at(provider).await.expect("taken"),
        Some(started)
    );

    store.begin_snapshot(provider).await.expect("begin again");
    assert_eq!(
        store.snapshot_taken_at(provider).await.expect("taken"),
        None
    );
    assert!(
        matching("shared@x.com").await.is_empty(),
        "the old snapshot is forgotten"
    );
    assert_eq!(
        store
            .snapshot_object(provider, RemoteKind::User, &RemoteId::new("r-c"))
            .await
            .expect("object"),
        None
    );
});

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
    assert_eq!(state.snapshot_taken_at, None);
    assert_eq!(
        store.queued_work(id).await.expect("queued"),
        0,
        "full syncs are apart"
    );

    let full = store
        .claim_full_sync("node-1", LEASE)
        .await
        .expect("claim")
        .expect("queued");
    assert_eq!(
        full,
        WorkItem {
            provider_id: id,
            kind: WorkKind::FullSync,
            object_id: id.as_uuid(),
            subject_id: None,
            version: 1,
            run_id: None,
            trigger: Some(Trigger::Create),
            attempts: 0,
        }
    );
    assert!(
        store
            .claim_work("node-1", 10, LEASE)
            .await
            .expect("claim")
            .is_empty()
    );
    assert!(store.complete_work(&full).await.expect("complete"));
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
    assert_eq!((full.provider_id, full.trigger), (id, Some(Trigger::Save)));

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
        (full.provider_id, full.trigger, full.version),
        (disabled_id, Some(Trigger::Save), 2)
    );

    let err = store
        .provider_state(ProviderId::new())
        .await
        .expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
});

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

    let claimed = store.claim_work("node-1", 10, LEASE).await.expect("claim");
    assert_eq!(claimed.len(), 3, "one row per object: {claimed:?}");
    let versions: HashSet<(WorkKind, Uuid, Option<Uuid>, i64)> = claimed
        .iter()
        .map(|item| (item.kind, item.object_id, item.subject_id, item.version))
        .collect();
    assert_eq!(
        versions,
        HashSet::from([
            (WorkKind::User, alice.as_uuid(), None, 2),
            (WorkKind::Group, staff.as_uuid(), None, 1),
            (WorkKind::Member, staff.as_uuid(), Some(alice.as_uuid()), 1),
        ])
    );
    assert!(claimed.iter().all(|item| item.provider_id == provider
        && item.run_id.is_none()
        && item.trigger.is_none()
        && item.attempts == 0));

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
    let claimed = store.claim_work("node-1", 10, LEASE).await.expect("claim");
    assert_eq!(
        keys(&claimed),
        HashSet::from([(WorkKind::User, alice.as_uuid(), None)])
    );
    assert!(store.complete_work(&claimed[0]).await.expect("complete"));
    assert_eq!(store.queued_work(provider).await.expect("queued"), 0);
    assert!(
        store
            .claim_work("node-1", 10, LEASE)
            .await
            .expect("claim")
            .is_empty()
    );
});

both_backends!(work_dirtied_while_leased_stays_queued, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = user(store, "alice").await;
    store.feed_changes(100).await.expect("feed");
    let first = store.claim_work("node-1", 10, LEASE).await.expect("claim");
    assert_eq!(first.len(), 1);

    rename(store, alice, "Alice").await;
    assert_eq!(store.feed_changes(100).await.expect("feed"), 1);
    assert!(
        store
            .claim_work("node-2", 10, LEASE)
            .await
            .expect("claim")
            .is_empty(),
        "still leased to node-1"
    );
    assert!(
        !store.complete_work(&first[0]).await.expect("complete"),
        "an outdated version does not complete the row"
    );
    assert_eq!(store.queued_work(provider).await.expect("queued"), 1);
    let again = store.claim_work("node-2", 10, LEASE).await.expect("claim");
    assert_eq!(again.len(), 1, "released and due again");
    assert_eq!(again[0].version, first[0].version + 1);
    assert!(store.complete_work(&again[0]).await.expect("complete"));
    assert_eq!(store.queued_work(provider).await.expect("queued"), 0);
});

both_backends!(a_leased_row_is_claimed_once, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    for index in 0..10 {
        user(store, &format!("user{index}")).await;
    }
    store.feed_changes(100).await.expect("feed");
    let a = store.claim_work("node-a", 4, LEASE).await.expect("claim");
    let b = store.claim_work("node-b", 100, LEASE).await.expect("claim");
    assert_eq!((a.len(), b.len()), (4, 6));
    assert!(keys(&a).is_disjoint(&keys(&b)));
    assert!(
        store
            .claim_work("node-c", 100, LEASE)
            .await
            .expect("claim")
            .is_empty()
    );

    for item in a.iter().chain(&b) {
        assert!(store.complete_work(item).await.expect("complete"));
    }
    for index in 10..30 {
        user(store, &format!("user{index}")).await;
    }
    store.feed_changes(100).await.expect("feed");
    assert_eq!(store.queued_work(provider).await.expect("queued"), 20);
    let (a, b) = tokio::join!(
        store.claim_work("node-a", 20, LEASE),
        store.claim_work("node-b", 20, LEASE)
    );
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    assert!(keys(&a).is_disjoint(&keys(&b)), "{a:?}\n{b:?}");
    assert_eq!(a.len() + b.len(), 20);
});

both_backends!(an_expired_lease_is_claimed_again, |t| {
    let store = &t.store;
    quiet_provider(store).await;
    user(store, "alice").await;
    store.feed_changes(100).await.expect("feed");
    let short = Duration::from_millis(200);
    let first = store.claim_work("node-a", 10, short).await.expect("claim");
    assert_eq!(first.len(), 1);
    assert!(
        store
            .claim_work("node-b", 10, LEASE)
            .await
            .expect("claim")
            .is_empty()
    );
    assert!(
        store
            .renew_lease(&first[0], "node-a", short)
            .await
            .expect("renew")
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = store.claim_work("node-b", 10, LEASE).await.expect("claim");
    assert_eq!(keys(&second), keys(&first), "the lease ran out");
    assert!(
        !store
            .renew_lease(&first[0], "node-a", LEASE)
            .await
            .expect("renew"),
        "node-a lost it"
    );
    assert!(
        store
            .renew_lease(&second[0], "node-b", LEASE)
            .await
            .expect("renew")
    );
});

both_backends!(retried_work_counts_attempts_and_waits, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    store.feed_changes(100).await.expect("feed");
    let claimed = store.claim_work("node-1", 10, LEASE).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    let (first, second) = if claimed[0].object_id == alice.as_uuid() {
        (&claimed[0], &claimed[1])
    } else {
        (&claimed[1], &claimed[0])
    };
    assert_eq!(second.object_id, bob.as_uuid());

    let later = now() + TimeDelta::hours(1);
    store
        .retry_work(first, later, "throttled")
        .await
        .expect("retry");
    store
        .retry_work(second, now() - TimeDelta::seconds(1), "reset")
        .await
        .expect("retry");
    let again = store.claim_work("node-2", 10, LEASE).await.expect("claim");
    assert_eq!(
        keys(&again),
        HashSet::from([(WorkKind::User, bob.as_uuid(), None)])
    );
    assert_eq!(again[0].attempts, 1);
    assert_eq!(
        store.queued_work(provider).await.expect("queued"),
        2,
        "alice waits"
    );

    store
        .retry_work(&again[0], now() - TimeDelta::seconds(1), "reset")
        .await
        .expect("retry");
    let third = store.claim_work("node-2", 10, LEASE).await.expect("claim");
    assert_eq!(third[0].attempts, 2);

    // Dirtied while leased: a retry releases it due now, its attempts forgotten.
    rename(store, bob, "Bob").await;
    store.feed_changes(100).await.expect("feed");
    store
        .retry_work(&third[0], later, "throttled")
        .await
        .expect("retry");
    let fresh = store.claim_work("node-2", 10, LEASE).await.expect("claim");
    assert_eq!(
        keys(&fresh),
        HashSet::from([(WorkKind::User, bob.as_uuid(), None)])
    );
    assert_eq!(
        (fresh[0].attempts, fresh[0].version),
        (0, third[0].version + 1)
    );
});

both_backends!(enqueue_all_queues_users_groups_and_orphan_links, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let gone = user(store, "gone").await;
    let staff = group(store, "Staff").await;
    let old = group(store, "Old").await;
    for (kind, object, remote) in [
        (RemoteKind::User, alice.as_uuid(), "r-alice"),
        (RemoteKind::User, gone.as_uuid(), "r-gone"),
        (RemoteKind::Group, old.as_uuid(), "r-old"),
    ] {
        store
            .save_link(&link(provider, kind, object, remote))
            .await
            .expect("link");
    }
    store.delete_user(gone).await.expect("delete");
    store.delete_group(old).await.expect("delete");
    let other = add_provider(store, "Fabrikam", settings("0 3 * * *")).await;
    store
        .save_link(&link(
            other,
            RemoteKind::User,
            Uuid::now_v7(),
            "r-elsewhere",
        ))
        .await
        .expect("another provider's link");
    // Rows already queued by the feed are taken into the run, not doubled.
    store.feed_changes(1000).await.expect("feed");
    let queued = store.queued_work(provider).await.expect("queued");
    assert_eq!(queued, 5, "alice, bob, gone, staff, old");

    let run = store
        .start_run(provider, Trigger::Manual, false)
        .await
        .expect("run");
    assert_eq!(
        store.enqueue_all(provider, run.id).await.expect("enqueue"),
        5
    );
    assert_eq!(
        store.pending_work(provider, run.id).await.expect("pending"),
        5
    );
    assert_eq!(store.queued_work(provider).await.expect("queued"), 5);
    assert_eq!(store.pending_work(other, run.id).await.expect("pending"), 0);
    assert_eq!(
        store.queued_work(other).await.expect("queued"),
        0,
        "created after"
    );

    let mut claimed = store.claim_work("node-1", 100, LEASE).await.expect("claim");
    claimed.retain(|item| item.provider_id == provider);
    assert_eq!(
        keys(&claimed),
        HashSet::from([
            (WorkKind::User, alice.as_uuid(), None),
            (WorkKind::User, bob.as_uuid(), None),
            (WorkKind::User, gone.as_uuid(), None),
            (WorkKind::Group, staff.as_uuid(), None),
            (WorkKind::Group, old.as_uuid(), None),
        ])
    );
    assert!(
        claimed
            .iter()
            .all(|item| item.run_id == Some(run.id) && item.version == 2)
    );

    // The feed keeps the run of a row it dirties.
    rename(store, alice, "Alice").await;
    store.feed_changes(1000).await.expect("feed");
    for item in &claimed {
        store.complete_work(item).await.expect("complete");
    }
    assert_eq!(
        store.pending_work(provider, run.id).await.expect("pending"),
        1
    );
    let alice_row = store.claim_work("node-1", 100, LEASE).await.expect("claim");
    let alice_row: Vec<_> = alice_row
        .iter()
        .filter(|i| i.provider_id == provider)
        .collect();
    assert_eq!(alice_row.len(), 1);
    assert_eq!(alice_row[0].run_id, Some(run.id));

    let err = store
        .enqueue_all(ProviderId::new(), run.id)
        .await
        .expect_err("unknown provider");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
});

both_backends!(unhealthy_providers_get_no_work, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    user(store, "alice").await;
    store.feed_changes(100).await.expect("feed");
    store
        .set_provider_health(provider, Some("Authorization_RequestDenied"))
        .await
        .expect("unhealthy");
    assert!(
        store
            .claim_work("node-1", 10, LEASE)
            .await
            .expect("claim")
            .is_empty()
    );
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
    assert_eq!(
        store
            .claim_work("node-1", 10, LEASE)
            .await
            .expect("claim")
            .len(),
        1
    );
    let full = store.claim_full_sync("node-1", LEASE).await.expect("claim");
    assert_eq!(full.and_then(|item| item.trigger), Some(Trigger::Manual));

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
            (full.trigger, full.version),
            (Some(Trigger::Schedule), 2),
            "{full:?}"
        );
    }
    assert_eq!(
        store.claim_full_sync("node-1", LEASE).await.expect("claim"),
        None
    );
});

both_backends!(runs_are_started_finished_and_listed_newest_first, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let first = store
        .start_run(provider, Trigger::Schedule, false)
        .await
        .expect("start");
    assert_eq!(first.status, RunStatus::Running);
    assert!(first.counts.is_empty() && first.finished_at.is_none() && first.error.is_none());
    assert_eq!(store.get_run(first.id).await.expect("get"), first);
    let second = store
        .start_run(provider, Trigger::Manual, true)
        .await
        .expect("start");
    let third = store
        .start_run(provider, Trigger::Save, false)
        .await
        .expect("start");

    let counts = json!({"created": 2, "failed": 1})
        .as_object()
        .cloned()
        .expect("object");
    let finished = store
        .finish_run(
            second.id,
            RunStatus::Partial,
            counts.clone(),
            Some("1 failed"),
        )
        .await
        .expect("finish");
    assert_eq!(finished.status, RunStatus::Partial);
    assert_eq!(finished.counts, counts);
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
            .finish_run(missing, RunStatus::Stopped, Default::default(), None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .start_run(ProviderId::new(), Trigger::Manual, false)
            .await,
        Err(StoreError::NotFound { .. })
    ));
});

both_backends!(object_states_are_upserted_and_counted_by_run, |t| {
    let store = &t.store;
    let provider = quiet_provider(store).await;
    let run1 = store
        .start_run(provider, Trigger::Manual, false)
        .await
        .expect("run");
    let run2 = store
        .start_run(provider, Trigger::Manual, false)
        .await
        .expect("run");
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
        store.run_outcome_counts(run2.id).await.expect("counts"),
        [
            ("created".to_owned(), 2),
            ("out_of_scope".to_owned(), 1),
            ("rejected".to_owned(), 1)
        ]
    );
    assert!(
        store
            .run_outcome_counts(run1.id)
            .await
            .expect("counts")
            .is_empty(),
        "alice's state belongs to the later run now"
    );
    assert_eq!(
        store.run_failures(run2.id, 10).await.expect("failures"),
        [stored]
    );
    assert!(
        store
            .run_failures(run2.id, 0)
            .await
            .expect("failures")
            .is_empty()
    );
});
