//! The behaviour every `Target` must show, as the engine relies on it. Run [`check`] against an
//! implementation; it panics, naming the broken promise, at the first deviation. It creates its
//! own uniquely named objects and deletes them, so it can run against a tenant that holds others.

use std::collections::BTreeSet;

use engine::{Anchor, CreateKey, Properties, RemoteId, RemoteKind, Target, TargetError};
use model::ProviderId;
use serde_json::json;

fn properties(value: serde_json::Value) -> Properties {
    match value {
        serde_json::Value::Object(map) => map,
        _ => Properties::new(),
    }
}

async fn all_ids<T: Target>(target: &T, kind: RemoteKind) -> Vec<RemoteId> {
    let mut ids = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = target
            .list(kind, &["displayName"], next.as_deref())
            .await
            .expect("list a page");
        ids.extend(page.objects.into_iter().map(|object| object.id));
        match page.next {
            Some(token) => next = Some(token),
            None => return ids,
        }
    }
}

async fn member_ids<T: Target>(target: &T, group: &RemoteId) -> BTreeSet<RemoteId> {
    let mut ids = BTreeSet::new();
    let mut next: Option<String> = None;
    loop {
        let page = target
            .list_members(group, next.as_deref())
            .await
            .expect("list members");
        ids.extend(page.objects.into_iter().map(|object| object.id));
        match page.next {
            Some(token) => next = Some(token),
            None => return ids,
        }
    }
}

fn user(suffix: &str, domain: &str, name: &str) -> Properties {
    properties(json!({
        "displayName": name,
        "userPrincipalName": format!("conformance.{suffix}@{domain}"),
        "mailNickname": format!("conformance{suffix}"),
        "accountEnabled": true,
        "passwordProfile": {"password": "Conformance-Pass-1234!", "forceChangePasswordNextSignIn": false},
    }))
}

/// Runs every check against `target`, whose users' UPNs must be in `domain`.
pub async fn check<T: Target>(target: &T, domain: &str) {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let s = &run[..12];
    let provider = ProviderId::new();
    // A fresh key per create: each stands for a different directory object.
    let key = || CreateKey::derive(provider, uuid::Uuid::now_v7(), None);

    // Users: create, read back, find by anchor regardless of case.
    let first = target
        .create(
            RemoteKind::User,
            &user(s, domain, "Conformance One"),
            &key(),
        )
        .await
        .expect("create a user");
    let read = target
        .get(
            RemoteKind::User,
            &first.id,
            &["displayName", "userPrincipalName"],
        )
        .await
        .expect("get the new user");
    assert_eq!(read.id, first.id, "get answers the object asked for");
    assert_eq!(read.properties["displayName"], "Conformance One");
    assert!(
        !read.properties.contains_key("passwordProfile"),
        "write-only properties are not read back"
    );
    let upn = format!("CONFORMANCE.{}@{domain}", s.to_uppercase());
    let found = target
        .find(
            RemoteKind::User,
            &Anchor::UserPrincipalName(upn),
            &["displayName"],
        )
        .await
        .expect("find by UPN");
    assert_eq!(
        found.iter().map(|o| &o.id).collect::<Vec<_>>(),
        [&first.id],
        "a UPN finds its user regardless of case"
    );

    // A second user with the same UPN is refused as AlreadyExists (so the engine can adopt).
    let mut twin = user(s, domain, "Conformance Twin");
    twin.insert("mailNickname".into(), json!(format!("twin{s}")));
    match target.create(RemoteKind::User, &twin, &key()).await {
        Err(TargetError::AlreadyExists { .. }) => {}
        other => panic!("a duplicate UPN must be AlreadyExists, got {other:?}"),
    }

    // Update sets exactly the given properties.
    target
        .update(
            RemoteKind::User,
            &first.id,
            &properties(json!({"displayName": "Conformance Renamed"})),
        )
        .await
        .expect("update");
    let read = target
        .get(
            RemoteKind::User,
            &first.id,
            &["displayName", "accountEnabled"],
        )
        .await
        .expect("get after update");
    assert_eq!(read.properties["displayName"], "Conformance Renamed");
    assert_eq!(
        read.properties["accountEnabled"], true,
        "other properties stay"
    );

    // Listing pages through every user exactly once.
    let ids = all_ids(target, RemoteKind::User).await;
    assert_eq!(
        ids.iter().filter(|id| **id == first.id).count(),
        1,
        "the listing holds the new user once"
    );

    // Groups: display names may repeat.
    let group_name = format!("Conformance {s}");
    let group = |nickname: String| {
        properties(json!({
            "displayName": group_name,
            "mailEnabled": false,
            "securityEnabled": true,
            "mailNickname": nickname,
        }))
    };
    let key_a = key();
    let group_a = target
        .create(
            RemoteKind::Group,
            &group(format!("conformance-a-{s}")),
            &key_a,
        )
        .await
        .expect("create a group");
    let group_b = target
        .create(
            RemoteKind::Group,
            &group(format!("conformance-b-{s}")),
            &key(),
        )
        .await
        .expect("a second group may have the same display name");

    // Creating again with the same key answers the same group: a create whose answer was lost
    // (a timeout, a crash) is retried without making a second one.
    let again = target
        .create(
            RemoteKind::Group,
            &group(format!("conformance-a-{s}")),
            &key_a,
        )
        .await
        .expect("create the group again with its key");
    assert_eq!(again.id, group_a.id, "the same key answers the same group");

    let same_name = target
        .find(
            RemoteKind::Group,
            &Anchor::DisplayName(group_name.clone()),
            &["displayName"],
        )
        .await
        .expect("find groups by display name");
    let found: BTreeSet<RemoteId> = same_name.into_iter().map(|o| o.id).collect();
    assert_eq!(
        found,
        BTreeSet::from([group_a.id.clone(), group_b.id.clone()]),
        "both groups answer to the display name"
    );

    // Security groups may share a mailNickname (only Microsoft 365 groups' are unique): a
    // target must not pretend otherwise, or the engine's tests would see conflicts Entra never
    // raises.
    let twin_group = target
        .create(
            RemoteKind::Group,
            &group(format!("conformance-a-{s}")),
            &key(),
        )
        .await
        .expect("a second security group with the same mailNickname is accepted");
    assert_ne!(twin_group.id, group_a.id, "it is another group");

    // Membership changes are idempotent and say what they changed.
    let second = target
        .create(
            RemoteKind::User,
            &user(&format!("{s}b"), domain, "Conformance Two"),
            &key(),
        )
        .await
        .expect("create a second user");
    let added = target
        .add_members(&group_a.id, &[first.id.clone(), second.id.clone()])
        .await
        .expect("add members");
    assert_eq!(added.changed.len(), 2, "both were added: {added:?}");
    let again = target
        .add_members(&group_a.id, std::slice::from_ref(&first.id))
        .await
        .expect("adding a member again is not an error");
    assert_eq!(
        (again.changed.len(), again.unchanged),
        (0, vec![first.id.clone()])
    );
    assert_eq!(
        member_ids(target, &group_a.id).await,
        BTreeSet::from([first.id.clone(), second.id.clone()])
    );
    let removed = target
        .remove_member(&group_a.id, &first.id)
        .await
        .expect("remove a member");
    assert_eq!(removed.changed, vec![first.id.clone()]);
    let removed_again = target
        .remove_member(&group_a.id, &first.id)
        .await
        .expect("removing a non-member is not an error");
    assert_eq!(removed_again.unchanged, vec![first.id.clone()]);
    assert_eq!(
        member_ids(target, &group_a.id).await,
        BTreeSet::from([second.id.clone()])
    );

    // Deleted objects are NotFound afterwards, for reads and writes alike.
    target
        .delete(RemoteKind::User, &second.id)
        .await
        .expect("delete a user");
    match target.get(RemoteKind::User, &second.id, &[]).await {
        Err(TargetError::NotFound { .. }) => {}
        other => panic!("a deleted user must be NotFound, got {other:?}"),
    }
    match target
        .update(
            RemoteKind::User,
            &second.id,
            &properties(json!({"displayName": "x"})),
        )
        .await
    {
        Err(TargetError::NotFound { .. }) => {}
        other => panic!("updating a deleted user must be NotFound, got {other:?}"),
    }

    for (kind, id) in [
        (RemoteKind::Group, &group_a.id),
        (RemoteKind::Group, &group_b.id),
        (RemoteKind::Group, &twin_group.id),
        (RemoteKind::User, &first.id),
    ] {
        target.delete(kind, id).await.expect("clean up");
    }
}
