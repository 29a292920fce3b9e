//! The sync under the conditions production brings, each the reproduction of a finding of the
//! reliability review (`reviews/2026-12-reliability.md`): a dry run during a full sync, leases
//! shorter than Graph's answers, two nodes, a node that dies, writes whose answers are lost,
//! reads that lag behind writes, a hung login endpoint, a node without the shared key, and a
//! direct change during a long full sync. Real SQLite, the real emulator over loopback.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Harness, Setup};
use graph_emulator::Knobs;
use model::{ProviderId, RunStatus, Trigger};
use runner::{GraphOverride, Quiet, Runner, RunnerOptions};
use serde_json::json;
use store::{ProviderCredential, SecretKey};

fn options(lease: Duration) -> RunnerOptions {
    RunnerOptions {
        idle_poll: Duration::from_millis(10),
        schedule_poll: Duration::from_millis(50),
        lease,
        replication_grace: Duration::ZERO,
        drain: Duration::from_millis(200),
        ..RunnerOptions::default()
    }
}

/// Waits (up to `patience`) for the provider's latest run to end, and returns it.
async fn finished_run(h: &Harness, provider: ProviderId, patience: Duration) -> model::Run {
    let deadline = Instant::now() + patience;
    loop {
        let runs = h
            .store
            .list_runs(provider, store::Page::first(10))
            .await
            .expect("runs");
        if let Some(run) = runs.first().filter(|run| run.status != RunStatus::Running) {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "no run ended: {runs:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_dry_run_during_a_full_sync_never_makes_a_linked_group_look_gone() {
    // C1: a plan's discovery used to wipe the one shared snapshot while the real run read it;
    // linked groups then looked deleted in Entra and were created again.
    let setup = Setup::new().await;
    for n in 0..30 {
        setup.group(&format!("Team {n:02}"), &[]).await;
    }
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    assert_eq!(h.full_sync().await.status, RunStatus::Succeeded);
    assert_eq!(h.remote_groups().len(), 30);
    h.emulator.set_knobs(Knobs {
        latency_ms: 15,
        ..Knobs::default()
    });
    let plans = async {
        let mut plans = Vec::new();
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            if let Ok(plan) = h.runner.plan(h.provider.id, Trigger::Manual, &Quiet).await {
                plans.push(plan);
            }
        }
        plans
    };
    let (real, plans) = tokio::join!(h.sync_again(), plans);
    assert_eq!(real.status, RunStatus::Succeeded, "{real:?}");
    assert!(!plans.is_empty(), "a plan was made meanwhile");
    assert_eq!(h.remote_groups().len(), 30, "no group was made again");
    assert_eq!(Harness::count(&real, "recreated"), 0, "{:?}", real.report);
    assert_eq!(Harness::count(&real, "unchanged"), 30, "{:?}", real.report);
}

#[tokio::test]
async fn claims_held_longer_than_their_lease_are_renewed_and_nothing_is_done_twice() {
    // H1: every Graph answer takes longer than a lease. Rows used to be claimed again while
    // worked on, and security groups (whose nicknames may repeat) were made twice.
    let setup = Setup::new().await;
    for n in 0..24 {
        setup.group(&format!("Slow {n:02}"), &[]).await;
    }
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    // The review's ratio: answers take 1.5 s, a lease lasts 1 s.
    h.emulator.set_knobs(Knobs {
        latency_ms: 1500,
        ..Knobs::default()
    });
    let node = h.runner_with("slow-node", options(Duration::from_secs(1)));
    let run = node
        .full_sync_once(&Quiet)
        .await
        .expect("sync")
        .expect("queued");
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(h.remote_groups().len(), 24, "each group made once");
    assert_eq!(
        run.report.outcomes,
        [(model::OutcomeKind::Created, 24)].into_iter().collect(),
        "each group reconciled once"
    );
}

#[tokio::test]
async fn two_nodes_share_a_full_sync_whose_discovery_outlasts_the_lease() {
    // H2: the full sync's lease was not renewed during discovery; the second node took it over
    // and both runs stopped, with nothing synced.
    let setup = Setup::new().await;
    let domain = setup.domain.clone();
    let users: Vec<serde_json::Value> = (0..2200)
        .map(|n| json!({"userPrincipalName": format!("seeded{n}@{domain}"), "displayName": format!("Seeded {n}")}))
        .collect();
    setup
        .emulator
        .seed(json!({ "users": users }))
        .expect("seed");
    for n in 0..5 {
        setup.user(&format!("local{n}")).await;
    }
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.emulator.set_knobs(Knobs {
        latency_ms: 400,
        ..Knobs::default()
    });
    // Four pages of discovery at 400 ms each: longer than the lease.
    let lease = Duration::from_secs(1);
    let (a, b) = (
        h.runner_with("node-a", options(lease)),
        h.runner_with("node-b", options(lease)),
    );
    let (stop_a, stopped_a) = tokio::sync::oneshot::channel::<()>();
    let (stop_b, stopped_b) = tokio::sync::oneshot::channel::<()>();
    let node_a = tokio::spawn(a.clone().run(async {
        let _ = stopped_a.await;
    }));
    let node_b = tokio::spawn(b.clone().run(async {
        let _ = stopped_b.await;
    }));
    let run = finished_run(&h, h.provider.id, Duration::from_secs(60)).await;
    let _ = (stop_a.send(()), stop_b.send(()));
    let _ = tokio::join!(node_a, node_b);
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let runs = h
        .store
        .list_runs(h.provider.id, store::Page::first(10))
        .await
        .expect("runs");
    assert_eq!(runs.len(), 1, "one run, not one per node: {runs:?}");
    assert_eq!(Harness::count(&run, "created"), 5);
    assert_eq!(h.remote_users().len(), 2205);
}

#[tokio::test]
async fn a_run_whose_node_died_is_interrupted_and_another_node_finishes_the_sync() {
    // M1 and H2: a dead node's run stayed `running` forever.
    let setup = Setup::new().await;
    for n in 0..20 {
        setup.group(&format!("Team {n:02}"), &[]).await;
    }
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.emulator.set_knobs(Knobs {
        latency_ms: 200,
        ..Knobs::default()
    });
    let lease = Duration::from_millis(400);
    // The first node lives in a runtime of its own, shut down mid-run: its tasks all die.
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let a = h.runner_with("doomed", options(lease));
    doomed.spawn(a.run(std::future::pending()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let runs = h
            .store
            .list_runs(h.provider.id, store::Page::first(1))
            .await
            .expect("runs");
        if let Some(run) = runs.into_iter().next() {
            break run;
        }
        assert!(Instant::now() < deadline, "the first node never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    doomed.shutdown_background();

    let b = h.runner_with("survivor", options(lease));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node_b = tokio::spawn(b.clone().run(async {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(60);
    let (old, new) = loop {
        let runs = h
            .store
            .list_runs(h.provider.id, store::Page::first(10))
            .await
            .expect("runs");
        let old = runs.iter().find(|r| r.id == first.id).cloned();
        // With a lease this short, a starved machine may cost the survivor a try too: the
        // full sync is taken up again until one run of it succeeds.
        let new = runs
            .iter()
            .find(|r| r.id != first.id && r.status == RunStatus::Succeeded)
            .cloned();
        if let (Some(old), Some(new)) = (old, new)
            && old.status != RunStatus::Running
        {
            break (old, new);
        }
        assert!(Instant::now() < deadline, "no takeover: {runs:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(());
    let _ = node_b.await;
    assert_eq!(old.status, RunStatus::Interrupted, "{old:?}");
    assert!(old.error.is_some_and(|e| e.contains("stopped renewing")));
    assert_eq!(new.status, RunStatus::Succeeded, "{new:?}");
    assert_eq!(h.remote_groups().len(), 20, "no group twice");
}

#[tokio::test]
async fn writes_applied_then_answered_with_a_fault_never_make_a_second_object() {
    // H4: a group created, then its answer lost (a 5xx, a reset, a crash before the link was
    // written): the retry used to make another group with the same nickname.
    let setup = Setup::new().await;
    let mut members = Vec::new();
    for n in 0..10 {
        members.push(setup.user(&format!("m{n}")).await);
    }
    let refs: Vec<&model::User> = members.iter().collect();
    for n in 0..15 {
        setup
            .group(&format!("Lossy {n:02}"), &refs[..(n % 4)])
            .await;
    }
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.emulator.set_knobs(Knobs {
        post_write_fault_rate: 0.3,
        hang_ms: 30,
        fault_seed: Some(11),
        ..Knobs::default()
    });
    let run = h.full_sync().await;
    h.emulator.set_knobs(Knobs::default());
    assert_ne!(run.status, RunStatus::Stopped, "{run:?}");
    h.drain().await;
    assert!(
        h.emulator.counters().post_write_faults > 0,
        "answers were lost"
    );
    assert_eq!(h.remote_groups().len(), 15, "each group once");
    assert_eq!(h.remote_users().len(), 10, "each user once");
    let again = h.sync_again().await;
    assert_eq!(again.status, RunStatus::Succeeded, "{again:?}");
    assert_eq!(h.remote_groups().len(), 15);
    for group in h.remote_groups() {
        let name = group["displayName"].as_str().unwrap_or_default().to_owned();
        let expected = name
            .trim_start_matches("Lossy ")
            .parse::<usize>()
            .map_or(0, |n| n % 4);
        assert_eq!(common::member_ids(&group).len(), expected, "{name}");
    }
}

#[tokio::test]
async fn members_of_groups_made_a_moment_ago_land_once_graph_replicates() {
    // #5: right after a group is made, member adds answer "referenced object does not exist";
    // the whole member step used to fail and wait four hours for the next full sync.
    let setup = Setup::new().await;
    let mut members = Vec::new();
    for n in 0..6 {
        members.push(setup.user(&format!("r{n}")).await);
    }
    let refs: Vec<&model::User> = members.iter().collect();
    for n in 0..5 {
        setup.group(&format!("Fresh {n}"), &refs).await;
    }
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.emulator.set_knobs(Knobs {
        replication_lag_ms: 400,
        ..Knobs::default()
    });
    let run = h.full_sync().await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.report.members.added, 30, "{:?}", run.report);
    for group in h.remote_groups() {
        assert_eq!(common::member_ids(&group).len(), 6, "{group}");
    }
}

#[tokio::test]
async fn a_404_right_after_a_create_waits_for_replication_instead_of_creating_again() {
    // M5: a group renamed right after it was made: the PATCH answered 404 (replication) and the
    // group was created again.
    let setup = Setup::new().await;
    let group = setup.group("Renamed soon", &[]).await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.emulator.set_knobs(Knobs {
        read_lag_ms: 600,
        ..Knobs::default()
    });
    let node = h.runner_with(
        "lag-aware",
        RunnerOptions {
            replication_grace: Duration::from_secs(60),
            ..options(Duration::from_secs(60))
        },
    );
    let _node = node.assist(h.provider.id);
    node.sync_object(h.provider.id, engine::Item::Group(group.id))
        .await
        .expect("create");
    h.store
        .update_group(
            group.id,
            model::GroupPatch {
                name: Some(model::GroupName::parse("Renamed at once").expect("name")),
                ..Default::default()
            },
        )
        .await
        .expect("rename");
    let left = node
        .work_until_idle(h.provider.id, Duration::from_secs(60))
        .await
        .expect("work");
    assert_eq!(left, 0);
    let groups = h.remote_groups();
    assert_eq!(groups.len(), 1, "never made twice: {groups:?}");
    assert_eq!(groups[0]["displayName"], json!("Renamed at once"));
}

/// A login endpoint that never answers for one tenant and forwards the rest to `upstream`.
async fn hanging_login(upstream: String, hung_tenant: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let (upstream, hung) = (upstream.clone(), hung_tenant.clone());
            tokio::spawn(async move {
                let mut head = vec![0_u8; 4096];
                let Ok(read) = client.read(&mut head).await else {
                    return;
                };
                head.truncate(read);
                if String::from_utf8_lossy(&head).contains(&hung) {
                    // Accepted, never answered.
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                if server.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_tenant_whose_login_hangs_never_holds_up_another_provider() {
    // H6: one tenant's hung login endpoint stalled every provider on the node for minutes.
    let setup = Setup::new().await;
    setup.user("ann").await;
    let healthy_settings = setup.settings().await;
    let h = setup.provider(healthy_settings.clone()).await;
    let hung_tenant = uuid::Uuid::new_v4().to_string();
    let mut hung_settings = healthy_settings;
    hung_settings.tenant_id = hung_tenant.clone();
    let secret = ProviderCredential::ClientSecret(
        h.emulator
            .client_secret()
            .expect("secret")
            .to_owned()
            .into(),
    );
    let hung = h
        .store
        .create_provider("hung", hung_settings, &secret, &h.key, ProviderId::new())
        .await
        .expect("second provider");
    let login = hanging_login(h.emulator.login_url().to_owned(), hung_tenant).await;
    let node = Arc::new(Runner::new(
        h.store.clone(),
        h.key.clone(),
        Some(GraphOverride {
            login_url: login,
            graph_url: h.emulator.base_url().to_owned(),
            time_scale: 1000.0,
        }),
        options(Duration::from_secs(60)),
        "node",
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(node.clone().run(async {
        let _ = stopped.await;
    }));
    let run = finished_run(&h, h.provider.id, Duration::from_secs(20)).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert!(
        h.remote_user("ann").is_some(),
        "the healthy tenant was synced"
    );
    // Its direct syncs go on too, while the hung tenant's full sync still waits.
    h.user_in_directory("bea").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.remote_user("bea").is_none() {
        assert!(
            Instant::now() < deadline,
            "a direct sync of the healthy tenant stalled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hung_runs = h
        .store
        .list_runs(hung.id, store::Page::first(1))
        .await
        .expect("runs");
    assert!(
        hung_runs
            .first()
            .is_some_and(|r| r.status == RunStatus::Running),
        "the hung tenant's run is still waiting: {hung_runs:?}"
    );
    let _ = stop.send(());
    let _ = running.await;
}

#[tokio::test]
async fn a_node_without_the_shared_key_leaves_the_work_to_nodes_that_have_it() {
    // #16: one node started without the shared secret key disabled the provider for all.
    let setup = Setup::new().await;
    setup.user("ann").await;
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    assert_eq!(h.full_sync().await.status, RunStatus::Succeeded);
    let (other_key, _) = SecretKey::generate().expect("key");
    let stranger = Arc::new(Runner::new(
        h.store.clone(),
        Arc::new(other_key),
        Some(GraphOverride {
            login_url: h.emulator.login_url().to_owned(),
            graph_url: h.emulator.base_url().to_owned(),
            time_scale: 1000.0,
        }),
        options(Duration::from_secs(60)),
        "stranger",
    ));
    assert!(matches!(
        stranger.verify_secret_key().await,
        Err(runner::RunnerError::NodeKey(_))
    ));
    h.user_in_directory("bea").await;
    let left = stranger
        .work_until_idle(h.provider.id, Duration::from_millis(500))
        .await
        .expect("work");
    assert!(left > 0, "the stranger did not do it");
    let state = h.store.provider_state(h.provider.id).await.expect("state");
    assert!(state.active, "the provider is not stopped for everyone");
    assert_eq!(state.health_reason, None);
    h.drain().await;
    assert!(h.remote_user("bea").is_some(), "a node with the key did it");
}

#[tokio::test]
async fn a_direct_change_during_a_long_full_sync_reaches_entra_before_it_ends() {
    // #11: direct syncs waited behind a full sync's whole backlog.
    let setup = Setup::new().await;
    let mut import = Vec::new();
    for n in 0..1500 {
        let mut user =
            model::NewUser::new(model::Username::parse(format!("bulk{n:04}")).expect("username"));
        user.email =
            Some(model::Email::parse(format!("bulk{n:04}@{}", setup.domain)).expect("email"));
        import.push(model::ImportRecord::User(user));
    }
    setup.store.import(import).await.expect("import");
    // A new provider over a full directory: its first full sync has 1,500 creates in its lane.
    let settings = setup.settings().await;
    let h = setup.provider(settings).await;
    h.emulator.set_knobs(Knobs {
        latency_ms: 25,
        ..Knobs::default()
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = h.runner_with("node", options(Duration::from_secs(60)));
    let running = tokio::spawn(node.clone().run(async {
        let _ = stopped.await;
    }));
    // Once the full sync is busy creating, a newcomer arrives.
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.remote_users().len() < 100 {
        assert!(Instant::now() < deadline, "the full sync did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.user_in_directory("urgent").await;
    while h.remote_user("urgent").is_none() {
        assert!(Instant::now() < deadline, "the direct change never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let remote_then = h.remote_users().len();
    let runs = h
        .store
        .list_runs(h.provider.id, store::Page::first(1))
        .await
        .expect("runs");
    let _ = stop.send(());
    let _ = running.await;
    assert!(
        remote_then < 1400,
        "it arrived after all but {} of the full sync's 1,500",
        1501_usize.saturating_sub(remote_then)
    );
    assert_eq!(
        runs[0].status,
        RunStatus::Running,
        "the full sync was still running"
    );
}
