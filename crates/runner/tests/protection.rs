//! Accidental-delete protection, one guard for both paths: a full sync that would delete or
//! disable more than the threshold does none of it and waits; direct syncs go ahead until the
//! threshold is reached within the window, then wait. Approval releases the held ones,
//! rejection drops them.

mod common;

use common::{Harness, Setup};
use model::{GroupId, RunStatus, Trigger, User};

/// A provider whose scope is the filter group `Staff` of `count` users, synced once.
async fn staff_provider(threshold: u32, count: usize) -> (Harness, Vec<User>, GroupId) {
    let setup = Setup::new().await;
    let mut users = Vec::new();
    for n in 0..count {
        users.push(setup.user(&format!("p{n:02}")).await);
    }
    let members: Vec<&User> = users.iter().collect();
    let staff = setup.group("Staff", &members).await;
    setup.group("Nobody", &[]).await;
    let mut settings = setup.settings().await;
    settings.delete_threshold = threshold;
    settings.user_scope.filter_group = Some(staff.id);
    let h = setup.provider(settings).await;
    assert_eq!(h.full_sync().await.status, RunStatus::Succeeded);
    assert_eq!(h.remote_users().len(), count);
    (h, users, staff.id)
}

/// Saves the provider with the empty group `Nobody` as its filter: every user leaves scope at
/// once, with no change record (only the save's full sync sees it).
async fn empty_the_scope(h: &Harness) -> model::Run {
    let nobody = h
        .store
        .find_group_by_name(&model::GroupName::parse("Nobody").expect("name"))
        .await
        .expect("read")
        .expect("Nobody");
    let mut settings = h
        .store
        .get_provider(h.provider.id)
        .await
        .expect("read")
        .settings;
    settings.user_scope.filter_group = Some(nobody.id);
    h.store
        .update_provider(
            h.provider.id,
            store::ProviderUpdate {
                name: None,
                settings: Some(settings),
                credential: None,
            },
            &h.key,
        )
        .await
        .expect("save");
    let run = h.full_sync().await;
    assert_eq!(run.trigger, Trigger::Save);
    run
}

#[tokio::test]
async fn a_full_sync_beyond_the_threshold_holds_every_delete_until_approved() {
    let (h, _, _) = staff_provider(2, 5).await;
    let run = empty_the_scope(&h).await;
    assert_eq!(run.status, RunStatus::AwaitingApproval, "{run:?}");
    assert_eq!(
        Harness::count(&run, "held_for_approval"),
        5,
        "{:?}",
        run.report
    );
    assert_eq!(Harness::count(&run, "held"), 5, "{:?}", run.report);
    assert_eq!(h.remote_users().len(), 5, "nothing was deleted");
    let state = h.store.provider_state(h.provider.id).await.expect("state");
    assert_eq!(state.approval_run, Some(run.id));
    let list = h
        .store
        .plan_items(run.id, 0, 100)
        .await
        .expect("the held list");
    assert_eq!(list.len(), 5);

    assert_eq!(
        h.runner
            .approve_deletes(h.provider.id)
            .await
            .expect("approve"),
        5
    );
    h.drain().await;
    assert!(
        h.remote_users().is_empty(),
        "the approved deletes went through"
    );
    let state = h.store.provider_state(h.provider.id).await.expect("state");
    assert!(state.approval_run.is_none());
    assert!(matches!(
        h.runner.approve_deletes(h.provider.id).await,
        Err(runner::RunnerError::NothingAwaitsApproval)
    ));
}

#[tokio::test]
async fn rejected_deletes_are_dropped_and_the_provider_resumes() {
    let (h, _, _) = staff_provider(2, 5).await;
    let run = empty_the_scope(&h).await;
    assert_eq!(run.status, RunStatus::AwaitingApproval);
    assert_eq!(
        h.runner
            .reject_deletes(h.provider.id)
            .await
            .expect("reject"),
        5
    );
    h.drain().await;
    assert_eq!(h.remote_users().len(), 5, "the remote users stay");
    let next = h.sync_again().await;
    assert_eq!(next.status, RunStatus::Succeeded, "{next:?}");
    assert_eq!(Harness::count(&next, "deleted"), 0);
}

#[tokio::test]
async fn deletes_within_the_threshold_just_happen() {
    let (h, _, _) = staff_provider(5, 5).await;
    let run = empty_the_scope(&h).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(Harness::count(&run, "deleted"), 5);
    assert!(h.remote_users().is_empty());
}

#[tokio::test]
async fn direct_syncs_hold_deletes_past_the_threshold_within_the_window() {
    // The review's reproduction: threshold 5, twenty users removed from the filter group at
    // once. Five go, fifteen wait for an administrator, listed under one approval run.
    let (h, users, staff) = staff_provider(5, 20).await;
    let ids: Vec<model::UserId> = users.iter().map(|u| u.id).collect();
    h.store.remove_members(staff, &ids).await.expect("remove");
    h.drain().await;
    assert_eq!(
        h.remote_users().len(),
        15,
        "only the threshold went through"
    );
    let state = h.store.provider_state(h.provider.id).await.expect("state");
    let run = state.approval_run.expect("an approval is asked for");
    let held = h.store.get_run(run).await.expect("the approval run");
    assert_eq!(held.status, RunStatus::AwaitingApproval);
    assert_eq!(held.trigger, Trigger::Direct);
    assert_eq!(held.report.held.map(|h| h.count), Some(15));
    assert_eq!(
        h.store.plan_items(run, 0, 100).await.expect("list").len(),
        15
    );
    let object = h
        .store
        .object_state(
            h.provider.id,
            engine::RemoteKind::User,
            users[19].id.as_uuid(),
        )
        .await
        .expect("state")
        .expect("recorded");
    assert_eq!(object.outcome, "held");

    assert_eq!(
        h.runner
            .approve_deletes(h.provider.id)
            .await
            .expect("approve"),
        15
    );
    h.drain().await;
    assert!(
        h.remote_users().is_empty(),
        "the approved deletes went through"
    );
}
