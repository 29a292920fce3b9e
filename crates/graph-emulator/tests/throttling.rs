//! Throttling (throttling-429.txt, throttling-identity-limits.txt) without real waiting: a
//! frozen clock (time scale 0) that only moves through `/_emulator/clock/advance`, and a slow
//! clock to show that `Retry-After` is converted to real seconds by the time scale.

mod common;

use common::{Ctx, start};
use graph_emulator::{EmulatorConfig, Knobs, TenantSize};
use reqwest::Method;
use serde_json::{Value, json};

fn config(time_scale: f64) -> EmulatorConfig {
    EmulatorConfig {
        time_scale,
        knobs: Knobs {
            throttle: true,
            tenant_size: TenantSize::S,
            ..Knobs::default()
        },
        ..EmulatorConfig::default()
    }
}

/// Sends batches of 20 identical items until one is throttled; returns (items sent, 429 item).
async fn exhaust(c: &Ctx, method: &str, url: &str, body: Option<Value>) -> (usize, Value) {
    let mut sent = 0;
    for _ in 0..300 {
        let requests: Vec<Value> = (0..20)
            .map(|i| {
                let mut item = json!({"id": i.to_string(), "method": method, "url": url});
                if let Some(b) = &body {
                    item["body"] = b.clone();
                    item["headers"] = json!({"Content-Type": "application/json"});
                }
                item
            })
            .collect();
        let a = c.post("/$batch", json!({ "requests": requests })).await;
        assert_eq!(a.status, 200);
        let responses = a.body["responses"].as_array().expect("responses").clone();
        let ok = responses.iter().filter(|r| r["status"] != 429).count();
        sent += ok;
        if let Some(throttled) = responses.into_iter().find(|r| r["status"] == 429) {
            return (sent, throttled);
        }
    }
    panic!("never throttled after {sent} requests");
}

#[tokio::test]
async fn write_quota_is_3000_per_150_seconds() {
    let c = start(config(0.0)).await;
    let uid = c.create_user("writer").await;
    let (sent, item) = exhaust(
        &c,
        "PATCH",
        &format!("/users/{uid}"),
        Some(json!({"jobTitle": "x"})),
    )
    .await;
    assert_eq!(
        sent + 1,
        3000,
        "the create plus 2,999 PATCHes fit, the 3,001st write does not"
    );

    // The 429 sample of throttling.md, inside a batch item, with its headers.
    assert_eq!(item["body"]["error"]["code"], "TooManyRequests");
    assert_eq!(
        item["body"]["error"]["message"],
        "Please retry again later."
    );
    let inner = &item["body"]["error"]["innerError"];
    assert_eq!(
        (inner["code"].clone(), inner["status"].clone()),
        (json!("429"), json!("429"))
    );
    assert_eq!(inner["message"], "Please retry after");
    assert!(inner["request-id"].is_string() && inner["date"].is_string());
    // One write refills in 150/3000 = 0.05 s (frozen clock: emulated seconds are reported).
    assert_eq!(item["headers"]["Retry-After"], "0.050");
    assert_eq!(
        item["headers"]["x-ms-throttle-information"],
        "WriteLimitExceeded"
    );
    let scope = item["headers"]["x-ms-throttle-scope"]
        .as_str()
        .expect("scope");
    assert_eq!(
        scope,
        format!(
            "Tenant_Application/Write/{}/{}",
            c.emu.client_id(),
            c.emu.tenant_id()
        )
    );

    // A single request is refused the same way, with the same headers on the HTTP answer.
    let single = c
        .patch(&format!("/users/{uid}"), json!({"jobTitle": "y"}))
        .await;
    single.assert_error(429, "TooManyRequests", "Please retry again later.");
    assert_eq!(single.headers["retry-after"], "0.050");
    // Reads are not writes: still admitted.
    assert_eq!(c.get(&format!("/users/{uid}")).await.status, 200);

    // Waiting Retry-After (in emulated time) lets exactly the next write through.
    c.inspect(
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 0.05})),
    )
    .await;
    assert_eq!(
        c.patch(&format!("/users/{uid}"), json!({"jobTitle": "z"}))
            .await
            .status,
        204
    );
    assert_eq!(
        c.patch(&format!("/users/{uid}"), json!({"jobTitle": "w"}))
            .await
            .status,
        429
    );

    let counters = c.inspect(Method::GET, "/counters", None).await;
    assert_eq!(
        counters["throttled"], 3,
        "one batch item and two single requests"
    );
}

#[tokio::test]
async fn resource_units_per_10_seconds_by_tenant_size() {
    let c = start(config(0.0)).await;
    // GET /users costs 2 RU: an S tenant (3,500 RU / 10 s) admits 1,750 of them.
    let (sent, item) = exhaust(&c, "GET", "/users", None).await;
    assert_eq!(
        sent, 1750,
        "3,500 RU / 2 RU; the token request is not a Graph request"
    );
    assert_eq!(
        item["headers"]["x-ms-throttle-information"],
        "ResourceUnitLimitExceeded"
    );
    let retry: f64 = item["headers"]["Retry-After"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("retry");
    assert!(
        (retry - 2.0 / 350.0).abs() < 0.002,
        "2 RU refill at 350 RU/s: {retry}"
    );

    // One emulated second refills 350 RU: admitted, and past 80 % of the quota Graph says so.
    c.inspect(
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 1.0})),
    )
    .await;
    let a = c.get("/users").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["x-ms-throttle-limit-percentage"], "0.90");

    // Switching the tenant size at run time raises the quota (M: 5,000 RU, +1,500 now).
    c.inspect(Method::PATCH, "/knobs", Some(json!({"tenantSize": "M"})))
        .await;
    let (sent_m, _) = exhaust(&c, "GET", "/users", None).await;
    assert_eq!(sent_m, (348 + 1500) / 2);
    // Turning throttling off at run time admits everything again.
    c.inspect(Method::PATCH, "/knobs", Some(json!({"throttle": false})))
        .await;
    for _ in 0..3 {
        assert_eq!(c.get("/users").await.status, 200);
    }
}

#[tokio::test]
async fn retry_after_is_scaled_to_real_seconds() {
    // 1 real second = 0.001 emulated seconds: Retry-After reports the real wait.
    let c = start(config(0.001)).await;
    let uid = c.create_user("scaled").await;
    let (_, item) = exhaust(
        &c,
        "PATCH",
        &format!("/users/{uid}"),
        Some(json!({"jobTitle": "x"})),
    )
    .await;
    let retry: f64 = item["headers"]["Retry-After"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("retry");
    // 0.05 emulated seconds / 0.001 = 50 real seconds, less what refilled while the test ran
    // (one real second refills a fiftieth of a write, so even a slow run stays far above 25).
    assert!(retry > 25.0 && retry <= 50.0, "{retry}");
}

#[tokio::test]
async fn a_storm_refuses_requests_whatever_the_quota_with_seconds_of_retry_after() {
    // Throttling is off: nothing but the storm refuses anything.
    let c = start(EmulatorConfig::default()).await;
    let uid = c.create_user("stormy").await;
    let user = format!("/users/{uid}");
    c.emu.set_knobs(Knobs {
        storm_rate: 1.0,
        storm_retry_after_ms: 2500,
        ..Knobs::default()
    });
    let refused = c.get(&user).await;
    refused.assert_error(429, "TooManyRequests", "Please retry again later.");
    assert_eq!(refused.headers["Retry-After"], "2.500");
    // Batch items are refused one by one; the envelope is answered.
    let batch = c
        .post(
            "/$batch",
            json!({"requests": [{"id": "1", "method": "GET", "url": user.clone()}]}),
        )
        .await;
    assert_eq!(batch.status, 200);
    assert_eq!(batch.body["responses"][0]["status"], 429);
    assert_eq!(
        batch.body["responses"][0]["headers"]["Retry-After"],
        "2.500"
    );
    assert_eq!(c.emu.counters().throttled, 2);
    // Tokens are still issued: the storm is Graph's, not the login endpoint's.
    common::token_for(&c.http, &c.emu).await;

    // A share of the requests, replayed by the seed.
    c.emu.set_knobs(Knobs {
        storm_rate: 0.5,
        fault_seed: Some(11),
        ..Knobs::default()
    });
    let mut refusals = 0;
    for _ in 0..200 {
        if c.get(&user).await.status == 429 {
            refusals += 1;
        }
    }
    assert!((60..=140).contains(&refusals), "{refusals} of 200");

    c.emu.set_knobs(Knobs::default());
    assert_eq!(c.get(&user).await.status, 200, "over when the knob is off");
}
