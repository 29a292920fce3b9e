//! The Entra ID provider end to end: a real store, the runner, and the Graph emulator.

mod common;

use common::{Harness, Setup, member_ids};
use engine::{RemoteKind, Target};
use model::{RunStatus, UserDeleteAction, UserPatch};
use serde_json::{Value, json};

fn props(value: Value) -> engine::Properties {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

#[tokio::test]
async fn a_new_provider_creates_everything_and_a_second_sync_writes_nothing() {
    let setup = Setup::new().await;
    let ann = setup.user("ann").await;
    let bob = setup.user("bob").await;
    let mut carl = model::NewUser::new(model::Username::parse("carl").expect("the step succeeds"));
    carl.is_active = false;
    carl.email =
        Some(model::Email::parse(format!("carl@{}", setup.domain)).expect("the step succeeds"));
    let carl = setup
        .store
        .create_user(carl)
        .await
        .expect("the step succeeds");
    setup.group("Engineering", &[&ann, &bob]).await;
    setup.group("Everyone", &[&ann, &bob, &carl]).await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;

    let run = h.full_sync().await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(Harness::count(&run, "created"), 5, "{:?}", run.report);
    assert_eq!(h.remote_users().len(), 3);
    assert_eq!(
        h.remote_user("carl").expect("the step succeeds")["accountEnabled"],
        json!(false)
    );
    assert_eq!(
        h.remote_user("ann").expect("the step succeeds")["displayName"],
        json!("ann name")
    );
    let engineering = h.remote_group("Engineering").expect("the step succeeds");
    let expected = {
        let mut ids = vec![
            h.remote_user("ann").expect("the step succeeds")["id"]
                .as_str()
                .expect("the step succeeds")
                .to_owned(),
            h.remote_user("bob").expect("the step succeeds")["id"]
                .as_str()
                .expect("the step succeeds")
                .to_owned(),
        ];
        ids.sort();
        ids
    };
    assert_eq!(member_ids(&engineering), expected);
    assert_eq!(
        member_ids(&h.remote_group("Everyone").expect("the step succeeds")).len(),
        3
    );
    assert_eq!(Harness::count(&run, "members_added"), 5);

    let writes = h.writes();
    let again = h.sync_again().await;
    assert_eq!(again.status, RunStatus::Succeeded);
    assert_eq!(h.writes(), writes, "an unchanged directory costs no write");
    assert_eq!(Harness::count(&again, "unchanged"), 5, "{:?}", again.report);
}

#[tokio::test]
async fn discovery_links_users_by_email_and_groups_by_name_and_reports_ambiguity() {
    let setup = Setup::new().await;
    let domain = setup.domain.clone();
    setup
        .emulator
        .seed(json!({
            "users": [
                {"userPrincipalName": format!("ann@{domain}"), "displayName": "Old Ann"},
                // Matched by mail, regardless of case.
                {"userPrincipalName": format!("robert@{domain}"), "mail": format!("BOB@{domain}")},
            ],
            "groups": [
                {"displayName": "Engineering"},
                {"displayName": "Twice"},
                {"displayName": "twice"},
            ]
        }))
        .expect("the step succeeds");
    let seeded = setup.emulator.dump();
    let id_of = |list: &str, field: &str, value: &str| {
        seeded[list]
            .as_array()
            .expect("the step succeeds")
            .iter()
            .find(|o| o[field].as_str() == Some(value))
            .map(|o| o["id"].as_str().expect("the step succeeds").to_owned())
            .expect("the step succeeds")
    };
    let ann_remote = id_of("users", "userPrincipalName", &format!("ann@{domain}"));
    let bob_remote = id_of("users", "userPrincipalName", &format!("robert@{domain}"));
    let engineering_remote = id_of("groups", "displayName", "Engineering");
    let ann = setup.user("ann").await;
    let bob = setup.user("bob").await;
    let engineering = setup.group("Engineering", &[]).await;
    let twice = setup.group("Twice", &[]).await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;

    let run = h.full_sync().await;
    assert_eq!(
        Harness::count(&run, "adopted"),
        3,
        "two users and a group: {:?}",
        run.report
    );
    assert_eq!(Harness::count(&run, "ambiguous"), 1);
    let link = |kind, id: uuid::Uuid| {
        let store = h.store.clone();
        let provider = h.provider.id;
        async move {
            engine::LinksRead::link(&store, provider, kind, id)
                .await
                .expect("the step succeeds")
                .map(|l| l.remote_id.as_str().to_owned())
        }
    };
    assert_eq!(
        link(RemoteKind::User, ann.id.as_uuid()).await,
        Some(ann_remote)
    );
    assert_eq!(
        link(RemoteKind::User, bob.id.as_uuid()).await,
        Some(bob_remote)
    );
    assert_eq!(
        link(RemoteKind::Group, engineering.id.as_uuid()).await,
        Some(engineering_remote)
    );
    // The adopted user was brought in line: only what differed was sent.
    assert_eq!(
        h.remote_user("ann").expect("the step succeeds")["displayName"],
        json!("ann name")
    );
    assert_eq!(h.remote_users().len(), 2, "no duplicate user was created");
    assert_eq!(
        h.remote_groups().len(),
        3,
        "no third group named Twice was created"
    );
    let state = h
        .store
        .object_state(h.provider.id, RemoteKind::Group, twice.id.as_uuid())
        .await
        .expect("state")
        .expect("recorded");
    assert_eq!(state.status, store::ObjectStatus::Skipped);
    assert!(
        state
            .error_message
            .is_some_and(|message| message.contains("2 groups in Entra match")),
        "the reason names the ambiguity"
    );
}

#[tokio::test]
async fn drift_is_put_back_and_an_object_deleted_in_entra_is_created_again() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    setup.user("bob").await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.full_sync().await;
    let runtime = h
        .runner
        .runtime(h.provider.id)
        .await
        .expect("the step succeeds");
    let ann_remote = engine::RemoteId::new(
        h.remote_user("ann").expect("the step succeeds")["id"]
            .as_str()
            .expect("the step succeeds"),
    );
    let bob_remote = engine::RemoteId::new(
        h.remote_user("bob").expect("the step succeeds")["id"]
            .as_str()
            .expect("the step succeeds"),
    );
    runtime
        .target
        .update(
            RemoteKind::User,
            &ann_remote,
            &props(json!({"displayName": "Edited by hand"})),
        )
        .await
        .expect("the step succeeds");
    runtime
        .target
        .delete(RemoteKind::User, &bob_remote)
        .await
        .expect("the step succeeds");

    let before = h.emulator.counters();
    let run = h.sync_again().await;
    let after = h.emulator.counters();
    assert_eq!(Harness::count(&run, "updated"), 1, "{:?}", run.report);
    assert_eq!(Harness::count(&run, "recreated"), 1, "{:?}", run.report);
    assert_eq!(
        h.remote_user("ann").expect("the step succeeds")["displayName"],
        json!("ann name")
    );
    assert!(h.remote_user("bob").is_some());
    assert_eq!(after.writes - before.writes, 2, "one PATCH and one create");
}

#[tokio::test]
async fn direct_syncs_create_coalesce_updates_and_delete() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.full_sync().await;

    let dora = h
        .store
        .create_user({
            let mut new =
                model::NewUser::new(model::Username::parse("dora").expect("the step succeeds"));
            new.email =
                Some(model::Email::parse(format!("dora@{}", h.domain)).expect("the step succeeds"));
            new
        })
        .await
        .expect("the step succeeds");
    h.drain().await;
    assert!(h.remote_user("dora").is_some(), "created right away");

    let writes = h.writes();
    for n in 0..10 {
        let patch = UserPatch {
            name: Some(format!("Dora {n}")),
            ..UserPatch::default()
        };
        h.store
            .update_user(dora.id, patch)
            .await
            .expect("the step succeeds");
    }
    h.drain().await;
    assert_eq!(h.writes() - writes, 1, "ten quick edits, one PATCH");
    assert_eq!(
        h.remote_user("dora").expect("the step succeeds")["displayName"],
        json!("Dora 9")
    );

    h.store
        .delete_user(dora.id)
        .await
        .expect("the step succeeds");
    h.drain().await;
    assert!(h.remote_user("dora").is_none(), "deleted right away");
    let link =
        engine::LinksRead::link(&h.store, h.provider.id, RemoteKind::User, dora.id.as_uuid())
            .await
            .expect("the step succeeds");
    assert!(link.is_none(), "the link went with the remote user");
}

#[tokio::test]
async fn a_membership_change_costs_one_request() {
    let setup = Setup::new().await;
    let ann = setup.user("ann").await;
    let bob = setup.user("bob").await;
    let group = setup.group("Team", &[&ann]).await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.full_sync().await;

    let before = h.emulator.counters();
    h.store
        .add_members(group.id, &[bob.id])
        .await
        .expect("the step succeeds");
    h.drain().await;
    let after = h.emulator.counters();
    assert_eq!(
        member_ids(&h.remote_group("Team").expect("the step succeeds")).len(),
        2
    );
    assert_eq!(after.writes - before.writes, 1, "{:?}", after.by_route);
    let reads = |c: &graph_emulator::CountersSnapshot| {
        c.by_route
            .iter()
            .filter(|(route, _)| route.starts_with("GET") && route.contains("members"))
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    assert_eq!(
        reads(&after),
        reads(&before),
        "the group's members were not read"
    );

    h.store
        .remove_members(group.id, &[ann.id])
        .await
        .expect("the step succeeds");
    h.drain().await;
    let bob_remote = h.remote_user("bob").expect("the step succeeds")["id"]
        .as_str()
        .expect("the step succeeds")
        .to_owned();
    assert_eq!(
        member_ids(&h.remote_group("Team").expect("the step succeeds")),
        vec![bob_remote]
    );
}

#[tokio::test]
async fn delete_actions_suspend_or_leave_the_remote_user() {
    for (action, enabled_after) in [
        (UserDeleteAction::Suspend, Some(false)),
        (UserDeleteAction::DoNothing, Some(true)),
    ] {
        let setup = Setup::new().await;
        let ann = setup.user("ann").await;
        let mut settings = setup.settings().await;
        settings.user_delete_action = action;
        let h = setup.provider(settings).await;
        h.full_sync().await;
        h.store
            .delete_user(ann.id)
            .await
            .expect("the step succeeds");
        h.drain().await;
        let remote = h.remote_user("ann");
        assert_eq!(
            remote.map(|u| u["accountEnabled"].clone()),
            enabled_after.map(Value::Bool),
            "{action:?}"
        );
        let link =
            engine::LinksRead::link(&h.store, h.provider.id, RemoteKind::User, ann.id.as_uuid())
                .await
                .expect("the step succeeds");
        assert!(link.is_none(), "{action:?}: the link is gone");
    }
}

#[tokio::test]
async fn a_user_leaving_the_filter_group_gets_the_delete_action() {
    let setup = Setup::new().await;
    let ann = setup.user("ann").await;
    let bob = setup.user("bob").await;
    let synced = setup.group("Synced", &[&ann, &bob]).await;
    let mut settings = setup.settings().await;
    settings.user_scope.filter_group = Some(synced.id);
    setup.user("outsider").await;
    let h = setup.provider(settings).await;
    h.full_sync().await;
    assert!(h.remote_user("outsider").is_none(), "out of scope");
    assert!(h.remote_user("bob").is_some());

    h.store
        .remove_members(synced.id, &[bob.id])
        .await
        .expect("the step succeeds");
    h.drain().await;
    assert!(h.remote_user("bob").is_none(), "left scope: deleted");
    assert!(h.remote_user("ann").is_some());
}

#[tokio::test]
async fn a_mapping_error_stops_the_run_with_one_error_naming_mapping_and_object() {
    let setup = Setup::new().await;
    for name in ["ann", "bad", "carl", "dora"] {
        setup.user(name).await;
    }
    let broken = setup
        .store
        .create_mapping(model::NewPropertyMapping {
            name: "throws on bad".into(),
            kind: model::MappingKind::User,
            expression: r#"if user.username == "bad" { throw "no such thing" } #{}"#.into(),
        })
        .await
        .expect("the step succeeds");
    let mut settings = setup.settings().await;
    settings.user_mappings.push(broken.id);
    let h = setup.provider(settings).await;
    let run = h.full_sync().await;
    assert_eq!(run.status, RunStatus::Stopped, "{run:?}");
    let error = run.error.expect("the step succeeds");
    assert!(
        error.contains("throws on bad") && error.contains("bad"),
        "{error}"
    );
    let state = h
        .store
        .provider_state(h.provider.id)
        .await
        .expect("the step succeeds");
    assert!(!state.active, "the provider is stopped");
    assert_eq!(state.health_reason.as_deref(), Some(error.as_str()));
}

#[tokio::test]
async fn a_rejected_object_is_recorded_and_the_run_goes_on() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let mut stranger =
        model::NewUser::new(model::Username::parse("stranger").expect("the step succeeds"));
    stranger.email =
        Some(model::Email::parse("stranger@not-verified.example").expect("the step succeeds"));
    let stranger = setup
        .store
        .create_user(stranger)
        .await
        .expect("the step succeeds");
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    let run = h.full_sync().await;
    assert_eq!(run.status, RunStatus::Partial, "{run:?}");
    assert_eq!(Harness::count(&run, "failed"), 1, "{:?}", run.report);
    assert!(h.remote_user("ann").is_some(), "the others went on");
    let state = h
        .store
        .object_state(h.provider.id, RemoteKind::User, stranger.id.as_uuid())
        .await
        .expect("the step succeeds")
        .expect("a recorded outcome");
    assert_eq!(state.status, store::ObjectStatus::Failed);
    assert!(
        state.error_code.is_some() && state.error_message.is_some(),
        "{state:?}"
    );
}

#[tokio::test]
async fn transient_failures_are_retried_and_nothing_is_created_twice() {
    let setup = Setup::new().await;
    for n in 0..40 {
        setup.user(&format!("user{n}")).await;
    }
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.emulator.set_knobs(graph_emulator::Knobs {
        error_rate: 0.2,
        ..Default::default()
    });
    let mut run = h.full_sync().await;
    // A row that ran out of quick retries waits for its backoff: sync again until done.
    for _ in 0..5 {
        if run.status == RunStatus::Succeeded {
            break;
        }
        run = h.sync_again().await;
    }
    h.emulator.set_knobs(Default::default());
    assert_eq!(h.remote_users().len(), 40, "{:?}", run.report);
    assert!(h.emulator.counters().faults > 0, "faults were injected");
}

#[tokio::test]
async fn a_trigger_during_a_full_sync_makes_one_more_run_afterwards() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    let item = h
        .store
        .claim_full_sync("test-node", h.runner.options().lease)
        .await
        .expect("the step succeeds")
        .expect("the create trigger queued one");
    // Two saves while it runs: they coalesce into one more run.
    for _ in 0..2 {
        h.store
            .request_full_sync(h.provider.id, model::Trigger::Save)
            .await
            .expect("the step succeeds");
    }
    h.runner
        .run_full_sync(&item, &runner::Quiet)
        .await
        .expect("the step succeeds");
    let second = h.full_sync().await;
    assert_eq!(second.status, RunStatus::Succeeded);
    assert!(
        h.runner
            .full_sync_once(&runner::Quiet)
            .await
            .expect("the step succeeds")
            .is_none(),
        "exactly one more run"
    );
}
