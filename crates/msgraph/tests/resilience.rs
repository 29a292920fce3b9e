//! Faults against the emulator: batches with mixed item results, throttling with Retry-After,
//! injected 5xx and connection resets, token expiry mid-run, single-flight token refresh, and
//! a certificate credential.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{client_config, config, id, start, user_body};
use graph_emulator::{Emulator, EmulatorConfig, Knobs, TenantSize};
use msgraph::{BatchRequest, Credential, GraphClient, Kind, Method};
use serde_json::json;

#[tokio::test]
async fn batch_with_mixed_item_results_and_depends_on() {
    let (_emu, g) = start(config()).await;
    let existing = id(&g
        .create(Kind::User, &user_body("taken"))
        .await
        .expect("user"));
    let results = g
        .batch(vec![
            BatchRequest::new("new", Method::POST, "/users").body(json!(user_body("fresh"))),
            BatchRequest::new("dup", Method::POST, "/users").body(json!(user_body("taken"))),
            BatchRequest::new(
                "missing",
                Method::GET,
                "/users/00000000-0000-0000-0000-000000000001",
            ),
            BatchRequest::new("read", Method::GET, format!("/users/{existing}"))
                .depends_on("missing"),
        ])
        .await
        .expect("batch");
    let new = results["new"].as_ref().expect("created");
    assert_eq!(new.status, 201);
    let dup = results["dup"].as_ref().expect_err("duplicate");
    assert!(
        dup.api()
            .expect("api")
            .detail_codes
            .iter()
            .any(|c| c == "ObjectConflict")
    );
    assert!(!dup.outcome_unknown());
    assert_eq!(
        results["missing"].as_ref().expect_err("404").status(),
        Some(404)
    );
    assert_eq!(
        results["read"].as_ref().expect_err("424").status(),
        Some(424)
    );

    // A batched lookup with a quote in the value.
    g.create(Kind::User, &user_body("o'neil"))
        .await
        .expect("o'neil");
    let found = g
        .batch(vec![BatchRequest::find(
            "f",
            Kind::User,
            "userPrincipalName",
            "O'Neil@contoso.onmicrosoft.com",
            &["displayName"],
        )])
        .await
        .expect("find batch");
    let page =
        msgraph::Page::from_body(found["f"].as_ref().expect("found").body.clone()).expect("page");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0]["displayName"], "o'neil");

    let too_big = (0..21)
        .map(|i| BatchRequest::new(i.to_string(), Method::GET, "/users"))
        .collect();
    assert!(g.batch(too_big).await.is_err());
    let dup_ids = vec![
        BatchRequest::new("A", Method::GET, "/users"),
        BatchRequest::new("a", Method::GET, "/users"),
    ];
    assert!(g.batch(dup_ids).await.is_err(), "ids are case-insensitive");
}

#[tokio::test]
async fn throttled_requests_wait_retry_after_then_succeed() {
    // A frozen clock: the quota refills only when the test moves the clock.
    let emu = Emulator::start(EmulatorConfig {
        time_scale: 0.0,
        knobs: Knobs {
            throttle: true,
            tenant_size: TenantSize::S,
            ..Knobs::default()
        },
        ..config()
    })
    .await
    .expect("emulator");
    let g = common::client(&emu);
    let uid = id(&g.create(Kind::User, &user_body("w")).await.expect("user"));
    let quick = GraphClient::new(
        client_config(&emu, Credential::secret(emu.client_secret().expect("s")))
            .with_retry(msgraph::RetryPolicy::none()),
    )
    .expect("client");
    // Spend the 3,000-write quota (the create was one) with batches of PATCHes.
    for round in 0..150 {
        let items = (0..20)
            .map(|i| {
                BatchRequest::new(
                    format!("{round}-{i}"),
                    Method::PATCH,
                    format!("/users/{uid}"),
                )
                .body(json!({"jobTitle": format!("t{round}")}))
            })
            .collect();
        quick.batch(items).await.expect("batch");
    }
    assert!(emu.counters().throttled >= 1, "the quota is spent");

    // Move the clock once the client has been refused, as time passing would.
    let throttled_before = emu.counters().throttled;
    let mover = {
        let emu_clock = emu.emulator().clone();
        tokio::spawn(async move {
            for _ in 0..500 {
                if emu_clock.counters().throttled > throttled_before {
                    emu_clock.advance_clock(Duration::from_secs(1));
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            false
        })
    };
    let mut change = serde_json::Map::new();
    change.insert("jobTitle".into(), json!("after"));
    g.update(Kind::User, &uid, &change)
        .await
        .expect("succeeds after Retry-After");
    assert!(mover.await.expect("mover"));
    let m = g.metrics();
    assert!(m.throttled >= 1, "{m:?}");
    // The emulator reports 0.050 s (one write's refill) in frozen-clock mode.
    assert!(m.throttle_wait >= Duration::from_millis(50), "{m:?}");
    assert!(m.requests["PATCH /users/{id}"]["429"] >= 1);
}

#[tokio::test]
async fn injected_5xx_and_resets_are_retried_and_creates_are_never_blindly_resent() {
    let (emu, g) = start(config()).await;
    let uid = id(&g.create(Kind::User, &user_body("r")).await.expect("user"));
    emu.set_knobs(Knobs {
        error_rate: 0.2,
        reset_rate: 0.1,
        ..Knobs::default()
    });
    for i in 0..40 {
        g.get(Kind::User, &uid, &["displayName"])
            .await
            .expect("read retried");
        let mut change = serde_json::Map::new();
        change.insert("jobTitle".into(), json!(format!("j{i}")));
        g.update(Kind::User, &uid, &change)
            .await
            .expect("patch retried");
    }
    let mut ambiguous = 0;
    for i in 0..30 {
        match g.create(Kind::User, &user_body(&format!("c{i}"))).await {
            Ok(_) => {}
            Err(e) => {
                assert!(e.outcome_unknown(), "only ambiguous failures surface: {e}");
                ambiguous += 1;
            }
        }
    }
    let m = g.metrics();
    assert!(m.retries > 0, "{m:?}");
    assert!(ambiguous > 0, "with 30 % faults some creates are ambiguous");
    // No create was sent twice: exactly one POST per call (some were cut before the
    // emulator's counters saw them).
    let sent: u64 = m.requests["POST /users"].values().sum();
    assert_eq!(sent, 31, "{m:?}");
    assert!(
        emu.counters()
            .by_route
            .get("POST /v1.0/users")
            .copied()
            .unwrap_or(0)
            <= 31
    );
}

#[tokio::test]
async fn token_expiry_mid_run_refreshes_once() {
    let (emu, g) = start(config()).await;
    g.verified_domains().await.expect("first");
    assert_eq!(emu.counters().tokens_issued, 1);
    // The emulator's token expires while the client still holds it: a 401, a refresh, a retry.
    emu.advance_clock(Duration::from_secs(4000));
    g.verified_domains().await.expect("after expiry");
    assert_eq!(emu.counters().tokens_issued, 2);
    assert_eq!(g.metrics().requests["GET /organization"]["401"], 1);
}

#[tokio::test]
async fn concurrent_requests_fetch_one_token() {
    let (emu, g) = start(config()).await;
    let calls = (0..16).map(|_| g.verified_domains());
    for r in futures::future::join_all(calls).await {
        r.expect("domains");
    }
    assert_eq!(emu.counters().tokens_issued, 1);
}

#[tokio::test]
async fn certificate_credential() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa key");
    let cert = rcgen::CertificateParams::new(vec!["entrasync-test".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("self-signed");
    let emu = Emulator::start(
        EmulatorConfig {
            client_secret: None,
            ..config()
        }
        .with_certificate_pem(cert.pem()),
    )
    .await
    .expect("emulator");
    let credential =
        Credential::certificate(&key.serialize_pem(), &cert.pem()).expect("credential");
    if let Credential::Certificate(c) = &credential {
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(<sha2::Sha256 as sha2::Digest>::digest(cert.der()));
        assert_eq!(c.thumbprint(), expected);
    }
    let g = GraphClient::new(client_config(&emu, credential)).expect("client");
    assert_eq!(g.verified_domains().await.expect("domains").len(), 1);

    // A certificate the app does not know: the token endpoint's refusal, not retried.
    let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa key");
    let other_cert = rcgen::CertificateParams::new(vec!["x".to_owned()])
        .expect("params")
        .self_signed(&other)
        .expect("self-signed");
    let stranger = GraphClient::new(client_config(
        &emu,
        Credential::certificate(&other.serialize_pem(), &other_cert.pem()).expect("credential"),
    ))
    .expect("client");
    match stranger.verified_domains().await {
        Err(msgraph::GraphError::Token(f)) => assert_eq!(f.aadsts, Some(700027)),
        other => panic!("expected a token refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn paced_writes_stay_under_the_write_quota() {
    // 40× clock: 3,000 writes per 150 s emulated = 800 per real second; the pacer's default
    // 18 writes/s scaled by 40 = 720 per second stays under it. What can fail here: batch
    // items must take pacing slots one by one (pacing_wait > 0) and never draw a 429.
    let emu = Emulator::start(EmulatorConfig {
        time_scale: 40.0,
        knobs: Knobs {
            throttle: true,
            tenant_size: TenantSize::S,
            ..Knobs::default()
        },
        ..config()
    })
    .await
    .expect("emulator");
    let g = GraphClient::new(
        client_config(&emu, Credential::secret(emu.client_secret().expect("s")))
            .with_pacing(msgraph::PacingConfig::default().scaled(40.0)),
    )
    .expect("client");
    let uid = id(&g
        .create(Kind::User, &user_body("paced"))
        .await
        .expect("user"));
    for round in 0..180 {
        let items = (0..20)
            .map(|i| {
                BatchRequest::new(i.to_string(), Method::PATCH, format!("/users/{uid}"))
                    .body(json!({"jobTitle": format!("t{round}")}))
            })
            .collect();
        let results = g.batch(items).await.expect("batch");
        assert!(results.values().all(Result::is_ok));
    }
    assert_eq!(
        emu.counters().throttled,
        0,
        "3,601 writes, paced, never throttled"
    );
    assert!(g.metrics().pacing_wait > Duration::ZERO);
}
