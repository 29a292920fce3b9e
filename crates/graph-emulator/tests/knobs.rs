//! Realism knobs (at start and at run time) and the inspection API.

mod common;

use std::time::Duration;

use common::{directory_ref, start, start_default};
use graph_emulator::{EmulatorConfig, Knobs};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn replication_lag_answers_referenced_object_does_not_exist() {
    let c = start_default().await;
    c.inspect(
        Method::PATCH,
        "/knobs",
        Some(json!({"replicationLagMs": 600_000})),
    )
    .await;
    let u = c.create_user("fresh").await;
    let g = c.create_group("fresh").await;
    let base = c.emu.base_url().to_owned();
    let lagging = "The source resource object or one of the objects being referenced don't exist.";
    c.post(
        &format!("/groups/{g}/members/$ref"),
        json!({"@odata.id": directory_ref(&base, &u)}),
    )
    .await
    .assert_error(400, "Request_BadRequest", lagging);
    c.patch(
        &format!("/groups/{g}"),
        json!({"members@odata.bind": [directory_ref(&base, &u)]}),
    )
    .await
    .assert_error(400, "Request_BadRequest", lagging);
    // Reads of the new objects are not affected (the caller keeps the id it got back).
    assert_eq!(c.get(&format!("/users/{u}")).await.status, 200);
    // Seeded objects count as replicated long ago.
    let seeded = c
        .emu
        .seed(json!({"users": [{"userPrincipalName": "old@contoso.onmicrosoft.com"}]}))
        .expect("seed");
    let old_id = seeded["users"][0]["id"].as_str().expect("id").to_owned();
    let old_group = c
        .emu
        .seed(json!({"groups": [{"displayName": "old"}]}))
        .expect("seed")["groups"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let add_old = c
        .post(
            &format!("/groups/{old_group}/members/$ref"),
            json!({"@odata.id": directory_ref(&base, &old_id)}),
        )
        .await;
    assert_eq!(add_old.status, 204);

    c.emu.set_knobs(Knobs {
        replication_lag_ms: 0,
        ..c.emu.knobs()
    });
    let add = c
        .post(
            &format!("/groups/{g}/members/$ref"),
            json!({"@odata.id": directory_ref(&base, &u)}),
        )
        .await;
    assert_eq!(add.status, 204);
}

#[tokio::test]
async fn server_errors_from_start_config_and_at_run_time() {
    let config = EmulatorConfig {
        knobs: Knobs {
            error_rate: 1.0,
            ..Knobs::default()
        },
        ..EmulatorConfig::default()
    };
    let c = start(config).await;
    for _ in 0..5 {
        let a = c.get("/users").await;
        let s = a.status.as_u16();
        assert!([500, 503, 504].contains(&s), "{s}");
        assert!(
            a.body["error"]["code"].is_string()
                && a.body["error"]["innerError"]["request-id"].is_string()
        );
        if s == 503 {
            assert!(a.headers.get("retry-after").is_some());
        }
    }
    let counters = c.emu.counters();
    assert_eq!(counters.faults, 5);
    c.inspect(Method::PATCH, "/knobs", Some(json!({"errorRate": 0.0})))
        .await;
    assert_eq!(c.get("/users").await.status, 200);
}

#[tokio::test]
async fn connection_resets_and_hangs() {
    let c = start_default().await;
    c.inspect(Method::PATCH, "/knobs", Some(json!({"resetRate": 1.0})))
        .await;
    let url = format!("{}/users", c.emu.base_url());
    let outcome = match c.http.get(&url).bearer_auth(&c.token).send().await {
        Err(_) => Err(()),
        Ok(resp) => resp.bytes().await.map(|_| ()).map_err(|_| ()),
    };
    assert!(
        outcome.is_err(),
        "a reset connection yields no complete answer"
    );

    // A hang outlasts the client's timeout (the emulator hangs 5 s, the client waits 100 ms).
    c.inspect(
        Method::PATCH,
        "/knobs",
        Some(json!({"resetRate": 0.0, "hangRate": 1.0, "hangMs": 5000})),
    )
    .await;
    let err = c
        .http
        .get(&url)
        .bearer_auth(&c.token)
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .expect_err("must time out");
    assert!(err.is_timeout(), "{err}");

    c.inspect(
        Method::PATCH,
        "/knobs",
        Some(json!({"hangRate": 0.0, "latencyMs": 1, "jitterMs": 2})),
    )
    .await;
    assert_eq!(c.get("/users").await.status, 200);
    let knobs = c.inspect(Method::GET, "/knobs", None).await;
    assert_eq!(knobs["latencyMs"], 1);
    assert_eq!(knobs["hangMs"], 5000);
    assert!(c.emu.counters().faults >= 2);
}

#[tokio::test]
async fn inspection_api_seed_dump_counters_reset() {
    let c = start_default().await;
    let seeded = c
        .inspect(
            Method::POST,
            "/seed",
            Some(json!({
                "users": [{"userPrincipalName": "a@contoso.onmicrosoft.com"}, {"userPrincipalName": "b@contoso.onmicrosoft.com", "displayName": "Bee"}],
                "groups": [{"displayName": "team", "members": ["a@contoso.onmicrosoft.com", "b@contoso.onmicrosoft.com"]}]
            })),
        )
        .await;
    assert_eq!(seeded["users"].as_array().map(Vec::len), Some(2));
    let gid = seeded["groups"][0]["id"].as_str().expect("gid").to_owned();
    let members = c
        .get(&format!("/groups/{gid}/members?$select=id,displayName"))
        .await;
    assert_eq!(members.body["value"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        members.body["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );

    let state = c.inspect(Method::GET, "/state", None).await;
    assert_eq!(state["users"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        state["groups"][0]["members"].as_array().map(Vec::len),
        Some(2)
    );

    let counters = c.inspect(Method::GET, "/counters", None).await;
    assert_eq!(counters["byRoute"]["GET /v1.0/groups/{id}/members"], 1);
    assert_eq!(counters["tokensIssued"], 1);
    assert_eq!(counters["resourceUnits"], 2, "members with $select: 3 - 1");

    let info = c.inspect(Method::GET, "/info", None).await;
    assert_eq!(info["tenantId"], c.emu.tenant_id());
    assert_eq!(info["graphBaseUrl"], c.emu.base_url());

    c.inspect(Method::POST, "/reset", None).await;
    assert_eq!(c.get("/users").await.body["value"], json!([]));
    assert_eq!(
        c.emu.counters().requests,
        1,
        "counters were zeroed before this request"
    );

    // Bad seeds are refused without partial Graph-side effects being hidden.
    let bad = c
        .http
        .post(format!("{}/_emulator/seed", c.emu.root_url()))
        .json(&json!({"users": [{"displayName": "no upn"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
}

/// The status of `n` plain reads, sent one after another.
async fn status_pattern(c: &common::Ctx, n: usize) -> Vec<u16> {
    let mut pattern = Vec::with_capacity(n);
    for _ in 0..n {
        pattern.push(c.get("/users").await.status.as_u16());
    }
    pattern
}

#[tokio::test]
async fn a_fault_seed_replays_the_same_faults() {
    let seeded = |seed| EmulatorConfig {
        knobs: Knobs {
            error_rate: 0.5,
            fault_seed: Some(seed),
            ..Knobs::default()
        },
        ..EmulatorConfig::default()
    };
    let (a, b, other) = (
        start(seeded(42)).await,
        start(seeded(42)).await,
        start(seeded(43)).await,
    );
    let pattern = status_pattern(&a, 40).await;
    assert!(
        pattern.contains(&200) && pattern.iter().any(|s| *s >= 500),
        "{pattern:?}"
    );
    assert_eq!(pattern, status_pattern(&b, 40).await, "same seed");
    let other_pattern = status_pattern(&other, 40).await;
    assert_ne!(pattern, other_pattern, "another seed");

    // A reset starts the sequence over; changing another knob keeps its place.
    a.inspect(Method::POST, "/reset", None).await;
    assert_eq!(
        pattern,
        status_pattern(&a, 40).await,
        "replayed after reset"
    );
    a.inspect(Method::PATCH, "/knobs", Some(json!({"latencyMs": 0})))
        .await;
    assert_ne!(pattern, status_pattern(&a, 40).await, "not replayed");
    // A new seed through the knobs API starts that seed's sequence.
    let knobs = a
        .inspect(Method::PATCH, "/knobs", Some(json!({"faultSeed": 43})))
        .await;
    assert_eq!(knobs["faultSeed"], 43);
    assert_eq!(status_pattern(&a, 40).await, other_pattern);
}
