//! Accidental-delete protection: beyond the threshold a full sync deletes nothing and waits;
//! approval releases the deletes, rejection drops them.

mod common;

use common::{Harness, Setup};
use model::{RunStatus, User};

async fn provider_with_threshold(threshold: u32) -> (Harness, Vec<User>) {
    let setup = Setup::new().await;
    let mut users = Vec::new();
    for n in 0..5 {
        users.push(setup.user(&format!("p{n}")).await);
    }
    let mut settings = setup.settings().await;
    settings.delete_threshold = threshold;
    let h = setup.provider(settings).await;
    assert_eq!(h.full_sync().await.status, RunStatus::Succeeded);
    assert_eq!(h.remote_users().len(), 5);
    (h, users)
}

/// Deletes three users in the directory, then runs a full sync (before any direct sync).
async fn delete_three_and_sync(h: &Harness, users: &[User]) -> model::Run {
    for user in &users[..3] {
        h.store.delete_user(user.id).await.expect("delete");
    }
    h.sync_again().await
}

#[tokio::test]
async fn deletes_beyond_the_threshold_wait_and_approval_releases_them() {
    let (h, users) = provider_with_threshold(2).await;
    let run = delete_three_and_sync(&h, &users).await;
    assert_eq!(run.status, RunStatus::AwaitingApproval, "{run:?}");
    assert_eq!(
        Harness::count(&run, "held_for_approval"),
        3,
        "{:?}",
        run.counts
    );
    h.drain().await;
    assert_eq!(h.remote_users().len(), 5, "nothing was deleted");
    let state = h.store.provider_state(h.provider.id).await.expect("state");
    assert_eq!(state.approval_run, Some(run.id));
    let list = h
        .store
        .plan_items(run.id, 0, 100)
        .await
        .expect("the held list");
    assert_eq!(list.len(), 3);

    assert_eq!(
        h.runner
            .approve_deletes(h.provider.id)
            .await
            .expect("approve"),
        3
    );
    h.drain().await;
    assert_eq!(
        h.remote_users().len(),
        2,
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
    let (h, users) = provider_with_threshold(2).await;
    let run = delete_three_and_sync(&h, &users).await;
    assert_eq!(run.status, RunStatus::AwaitingApproval);
    assert_eq!(
        h.runner
            .reject_deletes(h.provider.id)
            .await
            .expect("reject"),
        3
    );
    h.drain().await;
    assert_eq!(h.remote_users().len(), 5, "the remote users stay");
    let next = h.sync_again().await;
    assert_eq!(next.status, RunStatus::Succeeded, "{next:?}");
    assert_eq!(Harness::count(&next, "deleted"), 0);
}

#[tokio::test]
async fn deletes_within_the_threshold_just_happen() {
    let (h, users) = provider_with_threshold(3).await;
    let run = delete_three_and_sync(&h, &users).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(Harness::count(&run, "deleted"), 3);
    assert_eq!(h.remote_users().len(), 2);
}
