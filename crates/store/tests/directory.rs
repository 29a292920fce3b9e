//! The store's contract, run against SQLite and PostgreSQL alike.

mod common;

use std::collections::HashSet;

use model::{
    Attributes, ChangeOp, Email, GroupName, GroupPatch, ImportRecord, MembershipRef, NewGroup,
    NewUser, ObjectKind, UserKind, UserPatch, Username,
};
use store::{GroupFilter, ImportOutcome, Page, Store, StoreError, UserFilter};

fn new_user(username: &str) -> NewUser {
    NewUser::new(Username::parse(username).expect("valid username"))
}

fn with_email(username: &str, email: &str) -> NewUser {
    NewUser {
        email: Some(Email::parse(email).expect("valid email")),
        ..new_user(username)
    }
}

fn new_group(name: &str) -> NewGroup {
    NewGroup::new(GroupName::parse(name).expect("valid group name"))
}

async fn change_count(store: &Store) -> usize {
    store
        .changes_after(0, 100_000)
        .await
        .expect("changes")
        .len()
}

both_backends!(creates_reads_and_lists_a_user, |t| {
    let store = &t.store;
    let mut new = with_email("Alice", "Alice@Example.com");
    new.name = Some("Alice Liddell".into());
    new.kind = UserKind::External;
    new.attributes = Attributes::from_value(serde_json::json!({"department": "R&D", "level": 3}))
        .expect("object");
    let created = store.create_user(new).await.expect("create");
    assert_eq!(created.username.as_str(), "Alice");
    assert!(created.is_active);

    let read = store.get_user(created.id).await.expect("get");
    assert_eq!(read, created, "what a write returns is what a read returns");
    let by_name = store
        .find_user_by_username("aLiCe")
        .await
        .expect("find")
        .expect("found regardless of case");
    assert_eq!(by_name.id, created.id);
    assert!(
        store
            .find_user_by_username("bob")
            .await
            .expect("find")
            .is_none()
    );
});

both_backends!(usernames_are_unique_regardless_of_case, |t| {
    let store = &t.store;
    store.create_user(new_user("alice")).await.expect("first");
    let before = change_count(store).await;
    let err = store
        .create_user(new_user("ALICE"))
        .await
        .expect_err("duplicate");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "username",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        change_count(store).await,
        before,
        "a failed write leaves no change record"
    );
    let all = store
        .list_users(&UserFilter::default(), Page::first(100))
        .await
        .expect("list");
    assert_eq!(all.len(), 1, "a failed write leaves no row");
});

both_backends!(partial_updates_change_only_what_they_name, |t| {
    let store = &t.store;
    let user = store
        .create_user(with_email("bob", "bob@example.com"))
        .await
        .expect("create");
    let before = change_count(store).await;

    let patch: UserPatch =
        serde_json::from_str(r#"{"name":"Bob Builder","is_active":false}"#).expect("patch");
    let updated = store.update_user(user.id, patch).await.expect("update");
    assert_eq!(updated.name, "Bob Builder");
    assert!(!updated.is_active);
    assert_eq!(updated.email, user.email, "absent fields stay");
    assert!(updated.updated_at >= user.updated_at);
    assert_eq!(change_count(store).await, before + 1);

    let clear: UserPatch = serde_json::from_str(r#"{"email":null}"#).expect("patch");
    let cleared = store
        .update_user(user.id, clear)
        .await
        .expect("clear email");
    assert_eq!(cleared.email, None);
    assert_eq!(store.get_user(user.id).await.expect("get"), cleared);

    // A patch that changes nothing writes nothing.
    let same: UserPatch = serde_json::from_str(r#"{"name":"Bob Builder"}"#).expect("patch");
    let unchanged = store
        .update_user(user.id, same)
        .await
        .expect("no-op update");
    assert_eq!(unchanged, cleared);
    assert_eq!(change_count(store).await, before + 2);

    store.create_user(new_user("carol")).await.expect("carol");
    let rename: UserPatch = serde_json::from_str(r#"{"username":"Carol"}"#).expect("patch");
    let err = store.update_user(user.id, rename).await.expect_err("taken");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "username",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store
            .get_user(user.id)
            .await
            .expect("get")
            .username
            .as_str(),
        "bob"
    );
});

both_backends!(deleting_a_user_removes_its_memberships, |t| {
    let store = &t.store;
    let user = store.create_user(new_user("dave")).await.expect("user");
    let group = store.create_group(new_group("Staff")).await.expect("group");
    store.add_members(group.id, &[user.id]).await.expect("add");
    store.delete_user(user.id).await.expect("delete");
    assert!(matches!(
        store.get_user(user.id).await,
        Err(StoreError::NotFound { kind: "user", .. })
    ));
    assert!(
        store
            .list_members(group.id, Page::first(10))
            .await
            .expect("members")
            .is_empty()
    );
    assert!(matches!(
        store.delete_user(user.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let last = store
        .changes_after(0, 100)
        .await
        .expect("changes")
        .pop()
        .expect("one");
    assert_eq!(
        (last.kind, last.op, last.object_id),
        (ObjectKind::User, ChangeOp::Delete, user.id.as_uuid())
    );
});

both_backends!(groups_are_unique_by_name_and_can_be_renamed, |t| {
    let store = &t.store;
    let group = store
        .create_group(new_group("Engineering"))
        .await
        .expect("create");
    let err = store
        .create_group(new_group("engineering"))
        .await
        .expect_err("duplicate");
    assert!(
        matches!(err, StoreError::Conflict { field: "name", .. }),
        "{err:?}"
    );
    let patch: GroupPatch = serde_json::from_str(r#"{"name":"R&D"}"#).expect("patch");
    let renamed = store.update_group(group.id, patch).await.expect("rename");
    assert_eq!(renamed.name.as_str(), "R&D");
    assert_eq!(
        store
            .find_group_by_name(&GroupName::parse("r&d").expect("name"))
            .await
            .expect("find")
            .map(|g| g.id),
        Some(group.id)
    );
    store.delete_group(group.id).await.expect("delete");
    assert!(matches!(
        store.get_group(group.id).await,
        Err(StoreError::NotFound { kind: "group", .. })
    ));
});

both_backends!(membership_changes_are_all_or_nothing, |t| {
    let store = &t.store;
    let group = store
        .create_group(new_group("Admins"))
        .await
        .expect("group");
    let a = store.create_user(new_user("a")).await.expect("a");
    let b = store.create_user(new_user("b")).await.expect("b");
    let before = change_count(store).await;

    let missing = model::UserId::new();
    let err = store
        .add_members(group.id, &[a.id, missing])
        .await
        .expect_err("unknown user");
    assert!(
        matches!(err, StoreError::NotFound { kind: "user", .. }),
        "{err:?}"
    );
    assert!(
        store
            .list_members(group.id, Page::first(10))
            .await
            .expect("members")
            .is_empty(),
        "the known user was not added either"
    );
    assert_eq!(change_count(store).await, before);

    let added = store
        .add_members(group.id, &[a.id, b.id, a.id])
        .await
        .expect("add");
    assert_eq!(added.changed.len(), 2);
    let again = store
        .add_members(group.id, &[a.id])
        .await
        .expect("add again");
    assert_eq!((again.changed.len(), again.unchanged.len()), (0, 1));
    assert_eq!(
        change_count(store).await,
        before + 2,
        "one record per membership added"
    );

    let members: HashSet<_> = store
        .list_members(group.id, Page::first(10))
        .await
        .expect("members")
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(members, HashSet::from([a.id, b.id]));
    let groups = store
        .list_user_groups(a.id, Page::first(10))
        .await
        .expect("groups");
    assert_eq!(
        groups.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![group.id]
    );

    let removed = store
        .remove_members(group.id, &[a.id, missing])
        .await
        .expect("remove");
    assert_eq!(
        (removed.changed, removed.unchanged),
        (vec![a.id], vec![missing])
    );
    let records = store.changes_after(0, 1000).await.expect("changes");
    let last = records.last().expect("records");
    assert_eq!(
        (last.kind, last.op, last.object_id, last.subject_id),
        (
            ObjectKind::Membership,
            ChangeOp::Remove,
            group.id.as_uuid(),
            Some(a.id.as_uuid())
        )
    );

    let no_group = model::GroupId::new();
    assert!(matches!(
        store.add_members(no_group, &[a.id]).await,
        Err(StoreError::NotFound { kind: "group", .. })
    ));
    assert!(matches!(
        store.list_members(no_group, Page::first(1)).await,
        Err(StoreError::NotFound { .. })
    ));
});

both_backends!(keyset_paging_visits_every_user_once_in_order, |t| {
    let store = &t.store;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(
            store
                .create_user(new_user(&format!("user{i:02}")))
                .await
                .expect("create")
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut page = Page::first(10);
    loop {
        let batch = store
            .list_users(&UserFilter::default(), page)
            .await
            .expect("page");
        assert!(batch.len() <= 10);
        let Some(last) = batch.last() else { break };
        page = Page::after(last.id.as_uuid(), 10);
        seen.extend(batch.iter().map(|u| u.id));
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "every user once, in id order");
});

both_backends!(user_filters_narrow_the_listing, |t| {
    let store = &t.store;
    store
        .create_user(with_email("alice", "alice@contoso.com"))
        .await
        .expect("alice");
    store
        .create_user(with_email("alfred", "alfred@fabrikam.com"))
        .await
        .expect("alfred");
    let mut svc = new_user("svc_backup");
    svc.kind = UserKind::ServiceAccount;
    svc.is_active = false;
    store.create_user(svc).await.expect("svc");
    store
        .create_user(new_user("svcXbackup"))
        .await
        .expect("lookalike");

    let names = |users: Vec<model::User>| {
        let mut names: Vec<String> = users.into_iter().map(|u| u.username.to_string()).collect();
        names.sort();
        names
    };
    let list = |filter: UserFilter| async move {
        store
            .list_users(&filter, Page::first(100))
            .await
            .expect("list")
    };
    assert_eq!(
        names(
            list(UserFilter {
                username: Some("AL".into()),
                ..Default::default()
            })
            .await
        ),
        ["alfred", "alice"]
    );
    assert_eq!(
        names(
            list(UserFilter {
                email: Some("CONTOSO".into()),
                ..Default::default()
            })
            .await
        ),
        ["alice"]
    );
    assert_eq!(
        names(
            list(UserFilter {
                kind: Some(UserKind::ServiceAccount),
                ..Default::default()
            })
            .await
        ),
        ["svc_backup"]
    );
    assert_eq!(
        names(
            list(UserFilter {
                is_active: Some(false),
                ..Default::default()
            })
            .await
        ),
        ["svc_backup"]
    );
    // `_` is a literal underscore, not a LIKE wildcard.
    assert_eq!(
        names(
            list(UserFilter {
                username: Some("svc_".into()),
                ..Default::default()
            })
            .await
        ),
        ["svc_backup"]
    );

    store
        .create_group(new_group("Sales EMEA"))
        .await
        .expect("group");
    store
        .create_group(new_group("Support"))
        .await
        .expect("group");
    let groups = store
        .list_groups(
            &GroupFilter {
                name: Some("emea".into()),
            },
            Page::first(10),
        )
        .await
        .expect("groups");
    assert_eq!(groups.len(), 1);
});

both_backends!(every_write_leaves_one_numbered_change_record, |t| {
    let store = &t.store;
    assert_eq!(store.last_change_seq().await.expect("seq"), 0);
    let user = store.create_user(new_user("erin")).await.expect("user");
    let group = store.create_group(new_group("Ops")).await.expect("group");
    store.add_members(group.id, &[user.id]).await.expect("add");
    store
        .update_group(
            group.id,
            serde_json::from_str(r#"{"name":"DevOps"}"#).expect("patch"),
        )
        .await
        .expect("rename");
    store.delete_group(group.id).await.expect("delete");
    let records = store.changes_after(0, 100).await.expect("changes");
    let summary: Vec<_> = records.iter().map(|r| (r.seq, r.kind, r.op)).collect();
    assert_eq!(
        summary,
        vec![
            (1, ObjectKind::User, ChangeOp::Create),
            (2, ObjectKind::Group, ChangeOp::Create),
            (3, ObjectKind::Membership, ChangeOp::Add),
            (4, ObjectKind::Group, ChangeOp::Update),
            // Deleting a group ends its memberships, each recorded (a user's document may
            // read its groups).
            (5, ObjectKind::Membership, ChangeOp::Remove),
            (6, ObjectKind::Group, ChangeOp::Delete),
        ]
    );
    assert_eq!(store.changes_after(3, 100).await.expect("after").len(), 3);
    assert_eq!(store.last_change_seq().await.expect("seq"), 6);
});

both_backends!(concurrent_writers_get_gap_free_sequence_numbers, |t| {
    let store = &t.store;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.create_user(new_user(&format!("c{i}"))).await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("create");
    }
    let seqs: Vec<i64> = store
        .changes_after(0, 100)
        .await
        .expect("changes")
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
});

both_backends!(import_upserts_and_reports_each_record, |t| {
    let store = &t.store;
    let record =
        |json: serde_json::Value| -> ImportRecord { serde_json::from_value(json).expect("record") };
    let batch = vec![
        record(serde_json::json!({"type": "membership", "group": "Eng", "user": "frank"})),
        record(
            serde_json::json!({"type": "user", "username": "frank", "email": "frank@example.com"}),
        ),
        record(serde_json::json!({"type": "group", "name": "Eng"})),
        record(serde_json::json!({"type": "membership", "group": "Eng", "user": "nobody"})),
        record(serde_json::json!({"type": "membership", "group": "Nope", "user": "frank"})),
    ];
    let outcomes = store.import(batch.clone()).await.expect("import");
    assert_eq!(
        outcomes[0],
        ImportOutcome::Created,
        "memberships are applied after objects"
    );
    assert_eq!(outcomes[1], ImportOutcome::Created);
    assert_eq!(outcomes[2], ImportOutcome::Created);
    assert_eq!(
        outcomes[3],
        ImportOutcome::Failed {
            message: "no user named \"nobody\"".into()
        }
    );
    assert_eq!(
        outcomes[4],
        ImportOutcome::Failed {
            message: "no group named \"Nope\"".into()
        }
    );
    let after_first = change_count(store).await;
    assert_eq!(after_first, 3);
    let counts = store.counts().await.expect("counts");
    assert_eq!((counts.users, counts.groups, counts.memberships), (1, 1, 1));

    let again = store.import(batch).await.expect("re-import");
    assert_eq!(
        &again[..3],
        &[
            ImportOutcome::Unchanged,
            ImportOutcome::Unchanged,
            ImportOutcome::Unchanged
        ]
    );
    assert_eq!(
        change_count(store).await,
        after_first,
        "re-importing the same file writes nothing"
    );

    let changed = store
        .import(vec![ImportRecord::User(NewUser {
            is_active: false,
            ..with_email("FRANK", "frank@example.com")
        })])
        .await
        .expect("update");
    assert_eq!(changed, vec![ImportOutcome::Updated]);
    let frank = store
        .find_user_by_username("frank")
        .await
        .expect("find")
        .expect("frank");
    assert!(!frank.is_active);
    assert_eq!(frank.username.as_str(), "FRANK");
    let membership = ImportRecord::Membership(MembershipRef {
        group: GroupName::parse("eng").expect("name"),
        user: Username::parse("Frank").expect("name"),
    });
    assert_eq!(
        store.import(vec![membership]).await.expect("import"),
        vec![ImportOutcome::Unchanged]
    );
});

both_backends!(import_handles_names_repeated_within_a_batch, |t| {
    let store = &t.store;
    let record =
        |json: serde_json::Value| -> ImportRecord { serde_json::from_value(json).expect("record") };
    store
        .create_user(with_email("gus", "gus@example.com"))
        .await
        .expect("existing user");
    let outcomes = store
        .import(vec![
            record(serde_json::json!({"type": "user", "username": "hana"})),
            record(serde_json::json!({"type": "user", "username": "HANA", "name": "Hana H."})),
            record(serde_json::json!({"type": "user", "username": "gus", "email": "gus@example.com", "is_active": false})),
            record(serde_json::json!({"type": "user", "username": "gus", "email": "gus@example.com", "name": "Gus"})),
            record(serde_json::json!({"type": "group", "name": "Ops"})),
            record(serde_json::json!({"type": "membership", "group": "ops", "user": "hana"})),
            record(serde_json::json!({"type": "membership", "group": "Ops", "user": "Hana"})),
            record(serde_json::json!({"type": "membership", "group": "Ops", "user": "gus"})),
        ])
        .await
        .expect("import");
    use ImportOutcome::{Created, Unchanged, Updated};
    assert_eq!(
        outcomes,
        vec![
            Created, Updated, Updated, Updated, Created, Created, Unchanged, Created
        ]
    );
    let hana = store
        .find_user_by_username("hana")
        .await
        .expect("find")
        .expect("hana");
    assert_eq!(
        (hana.username.as_str(), hana.name.as_str()),
        ("HANA", "Hana H."),
        "the later record wins"
    );
    let gus = store
        .find_user_by_username("gus")
        .await
        .expect("find")
        .expect("gus");
    assert!(
        gus.is_active,
        "the last record for gus leaves is_active at its default"
    );
    assert_eq!(gus.name, "Gus");
    let counts = store.counts().await.expect("counts");
    assert_eq!((counts.users, counts.groups, counts.memberships), (2, 1, 2));
    let kinds: Vec<(ObjectKind, ChangeOp)> = store
        .changes_after(1, 100)
        .await
        .expect("changes")
        .iter()
        .map(|c| (c.kind, c.op))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ObjectKind::User, ChangeOp::Create),
            (ObjectKind::User, ChangeOp::Update),
            (ObjectKind::Group, ChangeOp::Create),
            (ObjectKind::Membership, ChangeOp::Add),
            (ObjectKind::Membership, ChangeOp::Add),
        ],
        "one record per object changed, whatever the batch repeats"
    );
});

both_backends!(api_tokens_are_kept_only_as_hashes, |t| {
    let store = &t.store;
    assert_eq!(store.count_api_tokens().await.expect("count"), 0);
    store
        .add_api_token("admin", "es_secret_token")
        .await
        .expect("add");
    store
        .add_api_token("admin", "es_secret_token")
        .await
        .expect("add twice");
    assert_eq!(store.count_api_tokens().await.expect("count"), 1);
    assert!(
        store
            .api_token_is_valid("es_secret_token")
            .await
            .expect("check")
    );
    assert!(
        !store
            .api_token_is_valid("es_secret_tokeN")
            .await
            .expect("check")
    );
    assert_ne!(store::token_hash("es_secret_token"), "es_secret_token");
});

both_backends!(the_database_answers_pings, |t| {
    t.store.ping().await.expect("ping");
});

both_backends!(mappings_are_stored_by_unique_name, |t| {
    use model::{MappingKind, NewPropertyMapping, PropertyMappingPatch};
    let store = &t.store;
    let new = |name: &str, kind| NewPropertyMapping {
        name: name.into(),
        kind,
        expression: "#{ department: \"R&D\" }".into(),
    };
    let department = store
        .create_mapping(new("Department", MappingKind::User))
        .await
        .expect("create");
    store
        .create_mapping(new("Group names", MappingKind::Group))
        .await
        .expect("create");
    let err = store
        .create_mapping(new("department", MappingKind::Group))
        .await
        .expect_err("taken");
    assert!(
        matches!(err, StoreError::Conflict { field: "name", .. }),
        "{err:?}"
    );

    let found = store
        .find_mapping_by_name("DEPARTMENT")
        .await
        .expect("find")
        .expect("found");
    assert_eq!(found, department);
    let users = store
        .list_mappings(Some(MappingKind::User), Page::first(10))
        .await
        .expect("list");
    assert_eq!(
        users.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["Department"]
    );
    assert_eq!(
        store
            .list_mappings(None, Page::first(10))
            .await
            .expect("list")
            .len(),
        2
    );

    let patch = PropertyMappingPatch {
        expression: Some("()".into()),
        ..Default::default()
    };
    let updated = store
        .update_mapping(department.id, patch)
        .await
        .expect("update");
    assert_eq!(
        (updated.expression.as_str(), updated.kind),
        ("()", MappingKind::User)
    );
    assert_eq!(
        store.get_mapping(department.id).await.expect("get"),
        updated
    );

    store
        .ensure_mappings(&[
            new("department", MappingKind::User),
            new("Other", MappingKind::User),
        ])
        .await
        .expect("ensure");
    assert_eq!(
        store
            .list_mappings(None, Page::first(10))
            .await
            .expect("list")
            .len(),
        3,
        "existing names are kept"
    );
    assert_eq!(
        store
            .get_mapping(department.id)
            .await
            .expect("get")
            .expression,
        "()",
        "and not overwritten"
    );

    store.delete_mapping(department.id).await.expect("delete");
    assert!(matches!(
        store.get_mapping(department.id).await,
        Err(StoreError::NotFound {
            kind: "mapping",
            ..
        })
    ));
    assert_eq!(
        store.last_change_seq().await.expect("seq"),
        0,
        "mappings are not directory changes"
    );
});

both_backends!(providers_keep_their_credential_sealed, |t| {
    use model::{
        Cloud, GroupDeleteAction, GroupScope, ProviderId, ProviderSettings, Schedule,
        UserDeleteAction, UserScope,
    };
    use secrecy::ExposeSecret;
    use store::{ProviderCredential, ProviderUpdate, SecretKey};

    let store = &t.store;
    let (key, _) = SecretKey::generate().expect("key");
    let id = ProviderId::new();
    let settings = ProviderSettings {
        tenant_id: "contoso.onmicrosoft.com".into(),
        client_id: "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e".into(),
        cloud: Cloud::Global,
        user_mappings: vec![],
        group_mappings: vec![],
        user_scope: UserScope {
            filter_group: None,
            exclude_service_accounts: true,
        },
        group_scope: GroupScope::All,
        user_delete_action: UserDeleteAction::Suspend,
        group_delete_action: GroupDeleteAction::Delete,
        dry_run: true,
        discovery: true,
        remove_unmanaged_members: false,
        delete_threshold: model::DEFAULT_DELETE_THRESHOLD,
        delete_window_minutes: model::DEFAULT_DELETE_WINDOW_MINUTES,
        schedule: Schedule::default_for(id),
        enabled: true,
    };
    let secret = ProviderCredential::ClientSecret("s3cr3t-value".to_owned().into());
    let created = store
        .create_provider("Contoso", settings.clone(), &secret, &key, id)
        .await
        .expect("create");
    assert_eq!(created.credential, model::CredentialKind::ClientSecret);
    assert_eq!(store.get_provider(id).await.expect("get"), created);
    assert_eq!(
        store
            .find_provider_by_name("contoso")
            .await
            .expect("find")
            .map(|p| p.id),
        Some(id)
    );
    let err = store
        .create_provider(
            "CONTOSO",
            settings.clone(),
            &secret,
            &key,
            ProviderId::new(),
        )
        .await
        .expect_err("taken");
    assert!(
        matches!(err, StoreError::Conflict { field: "name", .. }),
        "{err:?}"
    );

    match store.provider_credential(id, &key).await.expect("open") {
        ProviderCredential::ClientSecret(value) => {
            assert_eq!(value.expose_secret(), "s3cr3t-value")
        }
        other => panic!("{other:?}"),
    }
    let (other_key, _) = SecretKey::generate().expect("key");
    assert!(
        store.provider_credential(id, &other_key).await.is_err(),
        "another key cannot open it"
    );

    let (unchanged, changed) = store
        .update_provider(id, ProviderUpdate::default(), &key)
        .await
        .expect("no-op");
    assert!(!changed);
    assert_eq!(unchanged, created);
    let certificate = ProviderCredential::Certificate {
        certificate_pem: "-----BEGIN CERTIFICATE-----".into(),
        private_key_pem: "-----BEGIN PRIVATE KEY-----".to_owned().into(),
    };
    let update = ProviderUpdate {
        settings: Some(ProviderSettings {
            dry_run: false,
            ..settings.clone()
        }),
        credential: Some(certificate),
        ..ProviderUpdate::default()
    };
    let (updated, changed) = store
        .update_provider(id, update, &key)
        .await
        .expect("update");
    assert!(changed && !updated.settings.dry_run);
    assert_eq!(updated.credential, model::CredentialKind::Certificate);
    assert!(matches!(
        store.provider_credential(id, &key).await.expect("open"),
        ProviderCredential::Certificate { .. }
    ));

    let bad = ProviderSettings {
        client_id: "not-a-guid".into(),
        ..settings
    };
    let err = store
        .create_provider("Fabrikam", bad, &secret, &key, ProviderId::new())
        .await
        .expect_err("invalid");
    assert!(
        matches!(err, StoreError::Invalid(ref v) if v.field == "client_id"),
        "{err:?}"
    );

    assert_eq!(
        store
            .list_providers(Page::first(10))
            .await
            .expect("list")
            .len(),
        1
    );
    store.delete_provider(id).await.expect("delete");
    assert!(matches!(
        store.get_provider(id).await,
        Err(StoreError::NotFound {
            kind: "provider",
            ..
        })
    ));
});

both_backends!(what_a_provider_uses_cannot_vanish_under_it, |t| {
    use model::{ProviderId, ProviderSettings};
    use store::{ProviderCredential, ProviderUpdate, SecretKey};

    let store = &t.store;
    let (key, _) = SecretKey::generate().expect("key");
    let staff = store.create_group(new_group("Staff")).await.expect("group");
    let spare = store.create_group(new_group("Spare")).await.expect("group");
    let mapping = store
        .create_mapping(model::NewPropertyMapping {
            name: "names".into(),
            kind: model::MappingKind::User,
            expression: "#{ displayName: user.name }".into(),
        })
        .await
        .expect("mapping");
    let mut settings = ProviderSettings::new(
        "contoso.onmicrosoft.com",
        "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
        vec![mapping.id],
        vec![],
    );
    settings.user_scope.filter_group = Some(staff.id);
    let secret = ProviderCredential::ClientSecret("s3cr3t-value".to_owned().into());
    let provider = store
        .create_provider(
            "Contoso",
            settings.clone(),
            &secret,
            &key,
            ProviderId::new(),
        )
        .await
        .expect("provider");
    // Refused inside the delete's own transaction, naming the provider.
    for refused in [
        store.delete_group(staff.id).await,
        store.delete_mapping(mapping.id).await,
    ] {
        match refused {
            Err(StoreError::InUse { message }) => assert!(message.contains("Contoso"), "{message}"),
            other => panic!("expected InUse, got {other:?}"),
        }
    }
    store
        .delete_group(spare.id)
        .await
        .expect("an unused group goes");
    // A save naming a group that is gone is refused, naming the field.
    settings.user_scope.filter_group = Some(spare.id);
    let update = ProviderUpdate {
        name: None,
        settings: Some(settings),
        credential: None,
    };
    match store.update_provider(provider.id, update, &key).await {
        Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.field, "user_scope.filter_group"),
        other => panic!("expected Invalid, got {other:?}"),
    }
});

both_backends!(
    old_change_records_are_pruned_only_once_every_provider_read_them,
    |t| {
        use model::{ProviderId, ProviderSettings};
        use store::{ProviderCredential, SecretKey};

        let store = &t.store;
        store.create_user(new_user("one")).await.expect("user");
        store.create_user(new_user("two")).await.expect("user");
        let (key, _) = SecretKey::generate().expect("key");
        let secret = ProviderCredential::ClientSecret("s3cr3t-value".to_owned().into());
        // A provider starts after the changes so far: they are read as far as it is concerned.
        store
            .create_provider(
                "Reader",
                ProviderSettings::new(
                    "contoso.onmicrosoft.com",
                    "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
                    vec![],
                    vec![],
                ),
                &secret,
                &key,
                ProviderId::new(),
            )
            .await
            .expect("provider");
        store.create_user(new_user("three")).await.expect("user");
        let later = chrono::Utc::now() + chrono::Duration::hours(1);
        assert_eq!(
            store.prune_changes(later).await.expect("prune"),
            2,
            "the unread one stays"
        );
        assert_eq!(store.changes_after(0, 10).await.expect("changes").len(), 1);
        store.feed_changes(100).await.expect("feed");
        assert_eq!(store.prune_changes(later).await.expect("prune"), 1);
        let earlier = chrono::Utc::now() - chrono::Duration::hours(1);
        store.create_user(new_user("four")).await.expect("user");
        store.feed_changes(100).await.expect("feed");
        assert_eq!(
            store.prune_changes(earlier).await.expect("prune"),
            0,
            "recent ones stay"
        );
    }
);
