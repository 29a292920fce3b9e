//! Triggers, scope changes, delete actions for groups, fatal errors, concurrency and restarts,
//! end to end over a real store and the Graph emulator.

mod common;

use std::time::Duration;

use common::{Harness, Setup, member_ids};
use model::{GroupDeleteAction, RunStatus, Trigger};
use serde_json::json;

#[tokio::test]
async fn a_due_schedule_queues_one_full_sync() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.full_sync().await;
    assert!(
        h.runner
            .full_sync_once(&runner::Quiet)
            .await
            .expect("claim")
            .is_none()
    );
    // Four hours and a bit later, two nodes look at the schedules: it fires once.
    let later = chrono::Utc::now() + chrono::Duration::hours(4) + chrono::Duration::minutes(1);
    let (first, second) = tokio::join!(
        h.store.fire_due_schedules(later),
        h.store.fire_due_schedules(later)
    );
    let fired = first.expect("fire").len() + second.expect("fire").len();
    assert_eq!(fired, 1);
    let run = h.full_sync().await;
    assert_eq!(run.trigger, Trigger::Schedule);
    assert_eq!(run.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn saving_a_provider_runs_a_full_sync() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let settings = setup.settings().await;
    let h = setup.provider(settings.clone()).await;
    h.full_sync().await;
    let mut changed = settings;
    changed.user_delete_action = model::UserDeleteAction::Suspend;
    h.store
        .update_provider(
            h.provider.id,
            store::ProviderUpdate {
                name: None,
                settings: Some(changed),
                credential: None,
            },
            &h.key,
        )
        .await
        .expect("save");
    let run = h.full_sync().await;
    assert_eq!(run.trigger, Trigger::Save);
}

#[tokio::test]
async fn a_user_entering_scope_is_created() {
    let setup = Setup::new().await;
    let synced = setup.group("Synced", &[]).await;
    let mut settings = setup.settings().await;
    settings.user_scope.filter_group = Some(synced.id);
    let ann = setup.user("ann").await;
    let h = setup.provider(settings).await;
    h.full_sync().await;
    assert!(h.remote_user("ann").is_none());
    h.store
        .add_members(synced.id, &[ann.id])
        .await
        .expect("add member");
    h.drain().await;
    assert!(h.remote_user("ann").is_some(), "entered scope: created");
    let group = h
        .remote_group("Synced")
        .expect("the filter group is synced too");
    assert_eq!(member_ids(&group).len(), 1, "and ann is its member");
}

#[tokio::test]
async fn group_delete_actions() {
    for (action, remains) in [
        (GroupDeleteAction::Delete, false),
        (GroupDeleteAction::DoNothing, true),
    ] {
        let setup = Setup::new().await;
        let group = setup.group("Doomed", &[]).await;
        let mut settings = setup.settings().await;
        settings.group_delete_action = action;
        let h = setup.provider(settings).await;
        h.full_sync().await;
        assert!(h.remote_group("Doomed").is_some());
        h.store.delete_group(group.id).await.expect("delete group");
        h.drain().await;
        assert_eq!(h.remote_group("Doomed").is_some(), remains, "{action:?}");
    }
}

#[tokio::test]
async fn unmanaged_remote_members_stay_unless_the_provider_removes_them() {
    for remove in [false, true] {
        let setup = Setup::new().await;
        let domain = setup.domain.clone();
        let ann = setup.user("ann").await;
        setup.group("Team", &[&ann]).await;
        let mut settings = setup.settings().await;
        settings.remove_unmanaged_members = remove;
        let h = setup.provider(settings).await;
        h.full_sync().await;
        // Someone adds a user we do not manage to the group in Entra.
        h.emulator
            .seed(json!({"users": [{"userPrincipalName": format!("guest@{domain}")}]}))
            .expect("seed");
        let guest = h.remote_user("guest").expect("guest")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let team = h.remote_group("Team").expect("team")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let runtime = h.runner.runtime(h.provider.id).await.expect("runtime");
        engine::Target::add_members(
            &*runtime.target,
            &engine::RemoteId::new(team),
            &[engine::RemoteId::new(guest.clone())],
        )
        .await
        .expect("add by hand");
        let run = h.sync_again().await;
        let members = member_ids(&h.remote_group("Team").expect("team"));
        assert_eq!(
            members.contains(&guest),
            !remove,
            "remove={remove}: {run:?}"
        );
        assert_eq!(members.len(), if remove { 1 } else { 2 });
    }
}

#[tokio::test]
async fn bad_credentials_stop_the_run_and_mark_the_provider_unhealthy() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let settings = setup.settings().await;
    let h = setup
        .provider_with_secret(settings, "not-the-secret".into())
        .await;
    let run = h.full_sync().await;
    assert_eq!(run.status, RunStatus::Stopped, "{run:?}");
    let state = h.store.provider_state(h.provider.id).await.expect("state");
    assert!(!state.active);
    let reason = state.health_reason.expect("a reason");
    assert!(
        reason.contains("invalid_client") || reason.contains("secret"),
        "{reason}"
    );
    assert!(h.remote_users().is_empty());
}

#[tokio::test]
async fn direct_syncs_during_a_full_sync_never_create_twice() {
    let setup = Setup::new().await;
    let mut users = Vec::new();
    for n in 0..60 {
        users.push(setup.user(&format!("u{n:02}")).await);
    }
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.emulator.set_knobs(graph_emulator::Knobs {
        latency_ms: 5,
        ..Default::default()
    });
    let second = h.another_runner("second-node");
    let _second_node = second.assist(h.provider.id);
    let edits = async {
        for (n, user) in users.iter().enumerate().take(30) {
            let patch = model::UserPatch {
                name: Some(format!("renamed {n}")),
                ..Default::default()
            };
            h.store.update_user(user.id, patch).await.expect("edit");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        for n in 0..10 {
            h.user_in_directory(&format!("late{n}")).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let (run, ()) = tokio::join!(h.full_sync(), edits);
    assert_ne!(run.status, RunStatus::Stopped);
    h.drain().await;
    let mut upns: Vec<String> = h
        .remote_users()
        .iter()
        .filter_map(|u| u["userPrincipalName"].as_str().map(str::to_owned))
        .collect();
    let total = upns.len();
    upns.dedup();
    assert_eq!(total, 70);
    assert_eq!(upns.len(), 70, "no user created twice");
    assert_eq!(
        h.remote_user("u05").expect("u05")["displayName"],
        json!("renamed 5")
    );
}

#[tokio::test]
async fn changes_made_while_no_worker_runs_are_synced_after_a_restart() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.full_sync().await;
    // Written while nothing syncs (the process was down).
    for n in 0..5 {
        h.user_in_directory(&format!("offline{n}")).await;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    let restarted = h.another_runner("restarted");
    let left = restarted
        .work_until_idle(h.provider.id, Duration::from_secs(30))
        .await
        .expect("work");
    assert_eq!(left, 0);
    assert_eq!(h.remote_users().len(), 6);
    assert_eq!(Harness::count(&h.sync_again().await, "unchanged"), 6);
}

#[tokio::test]
async fn runs_older_than_the_retention_are_forgotten() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    let first = h.full_sync().await;
    let second = h.sync_again().await;
    // A node that keeps no history: its next full sync forgets every finished run.
    let forgetful = h.runner_with(
        "forgetful",
        runner::RunnerOptions {
            run_retention: Duration::ZERO,
            ..runner::RunnerOptions::default()
        },
    );
    forgetful.prune().await;
    h.store
        .request_full_sync(h.provider.id, Trigger::Manual)
        .await
        .expect("queue");
    let third = forgetful
        .full_sync_once(&runner::Quiet)
        .await
        .expect("sync")
        .expect("queued");
    for old in [first.id, second.id] {
        assert!(h.store.get_run(old).await.is_err(), "an old run is gone");
    }
    assert!(
        h.store.get_run(third.id).await.is_ok(),
        "the run itself stays"
    );
    // With the default retention, history stays.
    let kept = h.sync_again().await;
    assert!(h.store.get_run(third.id).await.is_ok());
    assert!(h.store.get_run(kept.id).await.is_ok());
}
