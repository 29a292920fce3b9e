//! SCIM's writes on both backends: one transaction each with its change records, decided
//! against the row as it is inside the transaction (no lost update between two writers), a
//! refusal writes nothing, the record goes with its object.

mod common;

use model::{Attributes, ChangeOp, GroupName, NewGroup, NewUser, ObjectKind, UserId, Username};
use store::{ScimRecord, ScimUser, StoreError};

fn record(external_id: &str) -> ScimRecord {
    ScimRecord {
        external_id: Some(external_id.to_owned()),
        client: Some("okta".to_owned()),
    }
}

async fn changes(store: &store::Store) -> Vec<(ObjectKind, ChangeOp)> {
    store
        .changes_after(0, 1000)
        .await
        .expect("changes")
        .into_iter()
        .map(|change| (change.kind, change.op))
        .collect()
}

both_backends!(a_scim_user_is_written_with_its_record_and_change, |t| {
    let store = &t.store;
    let created = store
        .scim_create_user(
            NewUser::new(Username::parse("grace").expect("name")),
            record("ext-1"),
        )
        .await
        .expect("create");
    let read = store.scim_user(created.user.id).await.expect("read");
    assert_eq!(read, created);
    assert_eq!(
        store.users_by_external_id("ext-1").await.expect("index"),
        vec![created.user.id]
    );
    assert!(
        store
            .users_by_external_id("EXT-1")
            .await
            .expect("index")
            .is_empty(),
        "case-exact"
    );
    assert_eq!(changes(store).await, [(ObjectKind::User, ChangeOp::Create)]);

    // Only the record changes: the version moves, no change record (Entra has nothing new).
    let moved = store
        .scim_modify_user(created.user.id, |current| {
            Ok::<_, ()>(ScimUser {
                user: current.user.clone(),
                record: ScimRecord {
                    external_id: Some("ext-2".into()),
                    client: Some("someone else".into()),
                },
            })
        })
        .await
        .expect("store")
        .expect("decided");
    assert!(moved.user.updated_at > created.user.updated_at);
    assert_eq!(
        moved.record.client.as_deref(),
        Some("okta"),
        "the creator stays"
    );
    assert_eq!(changes(store).await.len(), 1);

    // A refusal writes nothing.
    let refused = store
        .scim_modify_user(created.user.id, |_| Err::<ScimUser, _>("no"))
        .await
        .expect("store");
    assert_eq!(refused, Err("no"));
    assert_eq!(store.scim_user(created.user.id).await.expect("read"), moved);

    let taken = store
        .scim_create_user(
            NewUser::new(Username::parse("GRACE").expect("name")),
            ScimRecord::default(),
        )
        .await
        .expect_err("taken");
    assert!(
        matches!(
            taken,
            StoreError::Conflict {
                field: "username",
                ..
            }
        ),
        "{taken}"
    );

    store.delete_user(created.user.id).await.expect("delete");
    assert!(
        store
            .users_by_external_id("ext-2")
            .await
            .expect("index")
            .is_empty(),
        "the record went with it"
    );
});

both_backends!(two_scim_writers_never_lose_each_other, |t| {
    let store = &t.store;
    let created = store
        .scim_create_user(
            NewUser::new(Username::parse("ada").expect("name")),
            ScimRecord::default(),
        )
        .await
        .expect("create");
    let id = created.user.id;
    let writers = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .scim_modify_user(id, move |current| {
                    let mut map = current.user.attributes.as_map().clone();
                    map.insert(format!("k{n}"), serde_json::json!(n));
                    let mut user = current.user.clone();
                    user.attributes = Attributes::try_from(map).expect("attributes");
                    Ok::<_, ()>(ScimUser {
                        user,
                        record: current.record.clone(),
                    })
                })
                .await
                .expect("store")
                .expect("decided")
        })
    });
    for writer in writers {
        writer.await.expect("writer");
    }
    let after = store.get_user(id).await.expect("read");
    assert_eq!(after.attributes.as_map().len(), 8, "{:?}", after.attributes);
});

both_backends!(a_scim_group_writes_its_members_as_one_change, |t| {
    let store = &t.store;
    let mut users = Vec::new();
    for name in ["a", "b", "c"] {
        users.push(
            store
                .create_user(NewUser::new(Username::parse(name).expect("name")))
                .await
                .expect("user")
                .id,
        );
    }
    let before = changes(store).await.len();
    let created = store
        .scim_create_group(
            NewGroup::new(GroupName::parse("Staff").expect("name")),
            record("g-1"),
            &[users[0], users[1], users[0]],
        )
        .await
        .expect("create");
    let mut expected = vec![users[0], users[1]];
    expected.sort();
    assert_eq!(created.members, expected);
    assert_eq!(
        store.scim_group(created.group.id).await.expect("read"),
        created
    );
    let written = changes(store).await;
    assert_eq!(written.len() - before, 3, "the group and two memberships");

    let stranger = UserId::new();
    let refused = store
        .scim_modify_group(created.group.id, |current| {
            let mut wanted = current.clone();
            wanted.members.push(stranger);
            Ok::<_, ()>(wanted)
        })
        .await
        .expect_err("a member that is no user");
    assert!(
        matches!(refused, StoreError::NotFound { kind: "user", .. }),
        "{refused}"
    );
    assert_eq!(
        store.scim_group(created.group.id).await.expect("read"),
        created,
        "nothing written"
    );

    let modified = store
        .scim_modify_group(created.group.id, |current| {
            let mut wanted = current.clone();
            wanted.group.name = GroupName::parse("Staff (all)").expect("name");
            wanted.members = vec![users[1], users[2]];
            Ok::<_, ()>(wanted)
        })
        .await
        .expect("store")
        .expect("decided");
    assert!(modified.group.updated_at > created.group.updated_at);
    let tail: Vec<_> = changes(store).await.split_off(written.len());
    assert_eq!(
        tail,
        [
            (ObjectKind::Group, ChangeOp::Update),
            (ObjectKind::Membership, ChangeOp::Add),
            (ObjectKind::Membership, ChangeOp::Remove),
        ]
    );
    assert_eq!(
        store.groups_by_external_id("g-1").await.expect("index"),
        vec![created.group.id]
    );
});
