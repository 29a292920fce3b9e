//! Dry runs: the plan lists exactly what a real run then does, and writes nothing.

mod common;

use common::{Harness, Setup};
use engine::RemoteKind;
use model::{RunStatus, Trigger};
use serde_json::json;

#[tokio::test]
async fn the_plan_lists_exactly_what_the_real_run_then_does() {
    let setup = Setup::new().await;
    let domain = setup.domain.clone();
    // Ann exists in Entra already (with another display name): adopted and updated.
    setup
        .emulator
        .seed(json!({"users": [{"userPrincipalName": format!("ann@{domain}"), "displayName": "Old"}]}))
        .expect("seed");
    let ann = setup.user("ann").await;
    let bob = setup.user("bob").await;
    let carl = setup.user("carl").await;
    setup.group("Team", &[&ann, &bob]).await;
    setup.group("Solo", &[&carl]).await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    let writes = h.writes();

    let plan = h
        .runner
        .plan(h.provider.id, Trigger::Manual, &runner::Quiet)
        .await
        .expect("plan");
    assert_eq!(plan.status, RunStatus::Succeeded, "{plan:?}");
    assert!(plan.dry_run);
    assert_eq!(h.writes(), writes, "a dry run writes nothing remotely");
    let link = engine::LinksRead::link(&h.store, h.provider.id, RemoteKind::User, ann.id.as_uuid())
        .await
        .expect("read link");
    assert!(link.is_none(), "and links nothing");
    let items = h
        .store
        .plan_items(plan.id, 0, 1000)
        .await
        .expect("plan items");
    let operations = |item: &engine::PlanItem| json!(item.operations);
    let created: Vec<String> = items
        .iter()
        .filter(|item| operations(item)[0]["operation"] == json!("create"))
        .map(|item| item.object_name.clone())
        .collect();
    assert_eq!(created, ["bob", "carl", "Team", "Solo"]);
    let ann_item = items
        .iter()
        .find(|item| item.object_name == "ann")
        .expect("ann is planned");
    let ann_ops = operations(ann_item);
    assert_eq!(ann_ops[0]["operation"], json!("adopt"));
    assert_eq!(ann_ops[1]["operation"], json!("update"));
    let changes = ann_ops[1]["changes"].as_array().expect("changes");
    assert!(
        changes
            .iter()
            .any(|c| c["property"] == json!("displayName") && c["before"] == json!("Old")),
        "{changes:?}"
    );
    assert!(
        items.iter().all(|item| !operations(item)
            .to_string()
            .contains("passwordProfile\":{\"password\":\"")
            || operations(item).to_string().contains("(random, not shown)")),
        "no password in a plan"
    );

    let real = h.full_sync().await;
    assert_eq!(real.status, RunStatus::Succeeded);
    let count = |run: &model::Run, key: &str| Harness::count(run, key);
    assert_eq!(count(&plan, "created"), count(&real, "created"));
    assert_eq!(count(&plan, "adopted"), count(&real, "adopted"));
    assert_eq!(count(&plan, "adopted"), 1);
    assert_eq!(
        count(&plan, "updated"),
        count(&real, "updated"),
        "{:?} vs {:?}",
        plan.report,
        real.report
    );
    assert_eq!(plan.report.outcomes, real.report.outcomes);
    assert_eq!(count(&plan, "members_added"), count(&real, "members_added"));
    assert_eq!(count(&plan, "members_added"), 3);

    // After the real run, a plan of an unchanged directory is empty.
    let again = h
        .runner
        .plan(h.provider.id, Trigger::Manual, &runner::Quiet)
        .await
        .expect("plan");
    assert!(
        h.store
            .plan_items(again.id, 0, 10)
            .await
            .expect("items")
            .is_empty()
    );
    assert_eq!(count(&again, "unchanged"), 5, "{:?}", again.report);
}

#[tokio::test]
async fn a_provider_in_dry_run_mode_plans_instead_of_syncing() {
    let setup = Setup::new().await;
    setup.user("ann").await;
    let mut settings = setup.settings().await;
    settings.dry_run = true;
    let h = setup.provider(settings).await;
    let run = h.full_sync().await;
    assert!(run.dry_run);
    assert_eq!(Harness::count(&run, "created"), 1);
    assert!(h.remote_users().is_empty());
    let ann = h
        .store
        .find_user_by_username("ann")
        .await
        .expect("read")
        .expect("ann");
    h.store
        .update_user(
            ann.id,
            model::UserPatch {
                name: Some("Ann Again".into()),
                ..Default::default()
            },
        )
        .await
        .expect("edit");
    let left = h
        .runner
        .work_until_idle(h.provider.id, std::time::Duration::from_millis(500))
        .await
        .expect("work");
    assert!(
        h.remote_users().is_empty(),
        "nothing is sent in dry-run mode"
    );
    assert!(
        left > 0,
        "the change waits (a plan clears nothing) until the provider leaves dry-run mode"
    );
}

#[tokio::test]
async fn one_object_on_demand_shows_what_was_sent_and_can_override_dry_run() {
    let setup = Setup::new().await;
    let ann = setup.user("ann").await;
    let mut settings = setup.settings().await;
    settings.dry_run = true;
    let h = setup.provider(settings).await;
    let object = engine::Item::User(ann.id);

    let planned = h
        .runner
        .sync_object(h.provider.id, object)
        .await
        .expect("sync");
    assert!(
        matches!(planned.outcome, Some(engine::Outcome::Planned { .. })),
        "{planned:?}"
    );
    assert!(planned.exchanges.is_empty(), "dry run: nothing sent");
    assert!(h.remote_users().is_empty());

    let done = h
        .runner
        .sync_object_ignoring_dry_run(h.provider.id, object)
        .await
        .expect("sync");
    assert!(
        matches!(done.outcome, Some(engine::Outcome::Created { .. })),
        "{done:?}"
    );
    assert_eq!(done.exchanges.len(), 1, "{:?}", done.exchanges);
    let exchange = &done.exchanges[0];
    assert!(
        exchange.request.starts_with("create user (key es-"),
        "{}",
        exchange.request
    );
    let sent = exchange.sent.as_ref().expect("the document");
    assert_eq!(sent["displayName"], json!("ann name"));
    assert_eq!(
        sent["passwordProfile"]["password"],
        json!("(random, not shown)")
    );
    assert!(exchange.answer["id"].is_string(), "{:?}", exchange.answer);
    assert!(h.remote_user("ann").is_some());
}
