//! Whole syncs over the in-memory ports: no SQLite, no HTTP, no emulator; each runs in
//! milliseconds. The fake target is as harsh as Graph where it matters (security groups may
//! share a nickname, answers can be lost after a write, reads lag behind writes).

use engine::{Item, Operation, Outcome, RemoteFailure, RemoteKind, SyncError, TargetError};
use model::{OutcomeKind, RunStatus};
use serde_json::json;
use testkit::{DOMAIN, Scenario, Write};

fn props(value: serde_json::Value) -> engine::Properties {
    value.as_object().cloned().unwrap_or_default()
}

fn lost_answer() -> TargetError {
    TargetError::Transient {
        retry_after: None,
        failure: RemoteFailure::local("timeout", "the answer was lost on the way back"),
    }
}

/// A directory of 5 users and 2 groups (3 members and 2 members).
fn small_directory(s: &Scenario) -> (Vec<model::User>, Vec<model::Group>) {
    let users: Vec<model::User> = (0..5).map(|n| s.user(&format!("user{n}"))).collect();
    let staff = s.store.add_group("Staff");
    let admins = s.store.add_group("Admins");
    for user in &users[..3] {
        s.store.add_member(staff.id, user.id);
    }
    for user in &users[3..] {
        s.store.add_member(admins.id, user.id);
    }
    (users, vec![staff, admins])
}

#[tokio::test]
async fn a_new_provider_creates_everything_and_a_second_sync_writes_nothing() {
    let s = Scenario::new();
    let (users, groups) = small_directory(&s);
    let (report, _) = s.full_sync().await.expect("first sync");
    assert_eq!(report.count(OutcomeKind::Created), 7, "{report:?}");
    assert_eq!(report.members.added, 5);
    assert_eq!(report.status(), RunStatus::Succeeded);
    let counts = s.target.counts();
    assert_eq!(counts.creates, 7);
    assert_eq!(counts.member_changes, 2, "one bulk add per group");
    assert_eq!(s.target.objects(RemoteKind::User).len(), users.len());
    assert_eq!(s.target.objects(RemoteKind::Group).len(), groups.len());

    let before = s.target.counts().writes();
    let (report, _) = s.full_sync().await.expect("second sync");
    assert_eq!(
        s.target.counts().writes(),
        before,
        "a second sync writes nothing"
    );
    assert_eq!(report.count(OutcomeKind::Unchanged), 7, "{report:?}");
}

#[tokio::test]
async fn existing_remote_objects_are_adopted_and_an_ambiguous_match_is_skipped() {
    let s = Scenario::new();
    let ann = s.user("ann");
    let bob = s.user("bob");
    let ann_remote = s.target.insert(
        RemoteKind::User,
        props(
            json!({"displayName": "Ann by hand", "userPrincipalName": format!("ANN@{DOMAIN}"),
            "mail": format!("ann@{DOMAIN}"), "accountEnabled": true, "mailNickname": "ann"}),
        ),
    );
    for n in 0..2 {
        s.target.insert(
            RemoteKind::User,
            props(
                json!({"displayName": format!("Bob {n}"), "mail": format!("bob@{DOMAIN}"),
                "userPrincipalName": format!("bob{n}@{DOMAIN}")}),
            ),
        );
    }
    let (report, outcomes) = s.full_sync().await.expect("sync");
    assert_eq!(report.count(OutcomeKind::Adopted), 1, "{report:?}");
    assert_eq!(report.count(OutcomeKind::Ambiguous), 1, "{report:?}");
    assert_eq!(s.target.counts().creates, 0, "nothing is created");
    let links = s.store.links(s.provider.id);
    assert!(
        links
            .iter()
            .any(|l| l.object == ann.id.as_uuid() && l.remote_id == ann_remote)
    );
    assert!(!links.iter().any(|l| l.object == bob.id.as_uuid()));
    let bob_outcome = outcomes
        .iter()
        .find(|(item, _)| *item == Item::User(bob.id))
        .map(|(_, outcome)| outcome.clone());
    assert!(
        matches!(&bob_outcome, Some(o @ Outcome::Ambiguous { candidates, .. })
            if candidates.len() == 2 && o.explanation().is_some_and(|e| e.contains("link add"))),
        "{bob_outcome:?}"
    );
    // Ann's display name was put in line (the adoption's PATCH).
    let remote = s.target.objects(RemoteKind::User);
    assert!(
        remote
            .iter()
            .any(|o| o.id == ann_remote && o.properties["displayName"] == "ann name")
    );
}

#[tokio::test]
async fn a_hand_edit_in_entra_is_put_back_and_only_that_property_is_sent() {
    let s = Scenario::new();
    let ann = s.user("ann");
    s.full_sync().await.expect("first sync");
    let remote = s.store.links(s.provider.id)[0].remote_id.clone();
    s.target
        .edit(&remote, props(json!({"displayName": "Edited by hand"})));
    s.target.clear_writes();
    let (report, _) = s.full_sync().await.expect("second sync");
    assert_eq!(report.count(OutcomeKind::Updated), 1);
    assert_eq!(
        s.target.writes(),
        vec![Write::Update {
            kind: RemoteKind::User,
            id: remote,
            properties: props(json!({"displayName": "ann name"}))
        }]
    );
    let _ = ann;
}

#[tokio::test]
async fn an_object_deleted_in_entra_is_created_again_once() {
    let s = Scenario::new();
    s.user("ann");
    let group = s.store.add_group("Staff");
    s.full_sync().await.expect("first sync");
    let old = s
        .store
        .links(s.provider.id)
        .into_iter()
        .find(|l| l.kind == RemoteKind::Group)
        .map(|l| l.remote_id)
        .expect("group linked");
    s.target.remove(&old);
    // Long enough ago that a 404 is not replication lag.
    s.store.age(engine::REPLICATION_GRACE * 2);
    let (report, _) = s.full_sync().await.expect("second sync");
    assert_eq!(report.count(OutcomeKind::Recreated), 1, "{report:?}");
    assert_eq!(s.target.objects(RemoteKind::Group).len(), 1);
    let (report, _) = s.full_sync().await.expect("third sync");
    assert_eq!(report.count(OutcomeKind::Recreated), 0);
    assert_eq!(s.target.objects(RemoteKind::Group).len(), 1, "once");
    let _ = group;
}

#[tokio::test]
async fn a_listing_that_misses_a_linked_group_never_makes_a_second_one() {
    // Graph's listings are eventually consistent (and before snapshots were per run, a
    // concurrent discovery could make one look short): an object a listing does not show is
    // asked for by id before anything is created again.
    let s = Scenario::new();
    for n in 0..4 {
        s.store.add_group(&format!("Team {n}"));
    }
    s.full_sync().await.expect("first sync");
    for group in s.target.objects(RemoteKind::Group) {
        s.target.hide_from_listings(&group.id);
    }
    let (report, _) = s.full_sync().await.expect("second sync");
    assert_eq!(
        s.target.objects(RemoteKind::Group).len(),
        4,
        "no duplicate group"
    );
    assert_eq!(report.count(OutcomeKind::Recreated), 0);
    assert_eq!(report.count(OutcomeKind::Unchanged), 4, "{report:?}");
}

#[tokio::test]
async fn a_group_create_whose_answer_was_lost_makes_one_group() {
    let s = Scenario::new();
    let group = s.store.add_group("Staff");
    s.target.fail_after_next_write(lost_answer());
    let outcome = s.direct(Item::Group(group.id)).await;
    assert!(
        matches!(outcome, Err(SyncError::Transient { .. })),
        "{outcome:?}"
    );
    // The same item again (a retry, or the next node after a crash): the same key.
    let outcome = s.direct(Item::Group(group.id)).await.expect("retry");
    assert!(matches!(outcome, Outcome::Created { .. }), "{outcome:?}");
    assert_eq!(
        s.target.objects(RemoteKind::Group).len(),
        1,
        "one group, not two"
    );
}

#[tokio::test]
async fn a_user_create_whose_answer_was_lost_is_adopted_by_its_upn() {
    let s = Scenario::new();
    let ann = s.user("ann");
    s.target.fail_after_next_write(lost_answer());
    assert!(s.direct(Item::User(ann.id)).await.is_err());
    let outcome = s.direct(Item::User(ann.id)).await.expect("retry");
    assert!(matches!(outcome, Outcome::Adopted { .. }), "{outcome:?}");
    assert_eq!(s.target.objects(RemoteKind::User).len(), 1);
}

#[tokio::test]
async fn a_404_right_after_a_create_is_lag_not_a_deletion() {
    let s = Scenario::new();
    let group = s.store.add_group("Staff");
    // Graph does not show what it made a moment ago: the PATCH and the GET answer 404.
    s.target.set_read_lag(3);
    s.direct(Item::Group(group.id)).await.expect("created");
    let mut renamed = group.clone();
    renamed.name = model::GroupName::parse("Staff (all)").expect("name");
    s.store.put_group(renamed);
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        match s.direct(Item::Group(group.id)).await {
            Err(SyncError::Transient { .. }) if attempts < 10 => continue,
            other => break other,
        }
    };
    assert!(
        matches!(outcome, Ok(Outcome::Updated { .. })),
        "{outcome:?}"
    );
    assert!(attempts > 1, "the first tries met the lag");
    let groups = s.target.objects(RemoteKind::Group);
    assert_eq!(groups.len(), 1, "never created again because of lag");
    assert_eq!(groups[0].properties["displayName"], "Staff (all)");
}

#[tokio::test]
async fn members_of_a_group_made_a_moment_ago_are_added_once_it_replicates() {
    let s = Scenario::new();
    small_directory(&s);
    s.target.set_read_lag(5);
    let (report, _) = s.full_sync().await.expect("sync");
    assert_eq!(report.members.added, 5, "every member lands: {report:?}");
    assert_eq!(report.members.failed, 0);
    for group in s.target.objects(RemoteKind::Group) {
        assert!(
            !s.target.members_of(&group.id).is_empty(),
            "no group stays empty"
        );
    }
}

#[tokio::test]
async fn a_dry_run_writes_nothing_links_nothing_and_lists_what_the_run_does() {
    let s = Scenario::new();
    small_directory(&s);
    let (run, report) = s.dry_run().await.expect("plan");
    assert_eq!(s.target.counts().writes(), 0, "nothing written");
    assert!(s.store.links(s.provider.id).is_empty(), "nothing linked");
    assert_eq!(s.store.snapshot_count(), 0, "its snapshot is dropped");
    assert_eq!(report.count(OutcomeKind::Created), 7);
    assert_eq!(report.members.added, 5);
    let plan = s.store.plan(run);
    let members: Vec<&Operation> = plan
        .iter()
        .flat_map(|item| &item.operations)
        .filter(|op| matches!(op, Operation::AddMembers { .. }))
        .collect();
    assert_eq!(
        members.len(),
        2,
        "each new group's members, planned against the planned group"
    );
    let (real, _) = s.full_sync().await.expect("run");
    assert_eq!(
        real.outcomes, report.outcomes,
        "the plan counts what the run does"
    );
    assert_eq!(real.members, report.members);
}

#[tokio::test]
async fn deletes_beyond_the_threshold_are_all_held_until_approved() {
    let mut s = Scenario::new();
    s.settings().delete_threshold = 2;
    let users: Vec<model::User> = (0..4).map(|n| s.user(&format!("u{n}"))).collect();
    s.full_sync().await.expect("first sync");
    for user in &users[..3] {
        s.store.delete_user(user.id);
    }
    let (report, _) = s.full_sync().await.expect("second sync");
    assert_eq!(report.status(), RunStatus::AwaitingApproval, "{report:?}");
    assert_eq!(report.held.map(|h| h.count), Some(3));
    assert_eq!(report.count(OutcomeKind::Held), 3);
    assert_eq!(s.target.counts().deletes, 0, "none is done");
    let evaluator = s.evaluator();
    let queue = s.queue(&evaluator);
    let approved = engine::approve(&s.provider, &s.store, &queue)
        .await
        .expect("approve");
    assert_eq!(approved, 3);
    queue.run_direct().await.expect("work the approved deletes");
    assert_eq!(s.target.counts().deletes, 3);
    assert_eq!(s.target.objects(RemoteKind::User).len(), 1);
}

#[tokio::test]
async fn rejected_deletes_drop_their_links_and_leave_entra_alone() {
    let mut s = Scenario::new();
    s.settings().delete_threshold = 1;
    let users: Vec<model::User> = (0..3).map(|n| s.user(&format!("u{n}"))).collect();
    s.full_sync().await.expect("first sync");
    for user in &users[..2] {
        s.store.delete_user(user.id);
    }
    s.full_sync().await.expect("held");
    let rejected = engine::reject(&s.provider, &s.store).await.expect("reject");
    assert_eq!(rejected, 2);
    assert_eq!(s.store.links(s.provider.id).len(), 1);
    assert_eq!(
        s.target.objects(RemoteKind::User).len(),
        3,
        "the remote users stay"
    );
    let (report, _) = s.full_sync().await.expect("resumes");
    assert_eq!(report.status(), RunStatus::Succeeded, "{report:?}");
}

#[tokio::test]
async fn direct_deletes_beyond_the_threshold_in_the_window_are_held() {
    let mut s = Scenario::new();
    s.settings().delete_threshold = 5;
    let staff = s.store.add_group("Staff");
    s.settings().user_scope.filter_group = Some(staff.id);
    let users: Vec<model::User> = (0..20).map(|n| s.user(&format!("u{n}"))).collect();
    for user in &users {
        s.store.add_member(staff.id, user.id);
    }
    s.full_sync().await.expect("first sync");
    assert_eq!(s.target.objects(RemoteKind::User).len(), 20);
    let mut held = 0;
    for user in &users {
        s.store.remove_member(staff.id, user.id);
        match s.direct(Item::User(user.id)).await.expect("direct sync") {
            Outcome::Held { .. } => held += 1,
            Outcome::Deleted { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        s.target.counts().deletes,
        5,
        "only the threshold goes through"
    );
    assert_eq!(held, 15);
    use engine::Protection;
    let run = s
        .store
        .approval_run(s.provider.id)
        .await
        .expect("state")
        .expect("an approval is asked for");
    assert_eq!(s.store.plan(run).len(), 15, "the held deletes are listed");
}

#[tokio::test]
async fn a_mapping_error_stops_the_sync_with_one_error_naming_mapping_and_object() {
    let s = Scenario::with_mappings(
        &[r#"if user.username == "bad" { throw "no good" } #{ displayName: user.name }"#],
        &[mapping::DEFAULT_GROUP_MAPPING],
    );
    s.user("good");
    s.user("bad");
    let error = s.full_sync().await.expect_err("stops");
    assert!(error.stops_provider());
    let message = error.to_string();
    assert!(
        message.contains("user 0") && message.contains("bad"),
        "{message}"
    );
}
