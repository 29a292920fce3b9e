//! Post-write faults: the write is applied, then its answer is lost (a 5xx, a reset or a hang).

mod common;

use std::time::Duration;

use common::{Ctx, directory_ref, start};
use graph_emulator::{EmulatorConfig, Knobs};
use reqwest::Method;
use serde_json::{Value, json};

/// Every write's answer is lost; hangs are short so the tests stay fast.
fn lossy() -> EmulatorConfig {
    EmulatorConfig {
        knobs: Knobs {
            post_write_fault_rate: 1.0,
            hang_ms: 50,
            fault_seed: Some(11),
            ..Knobs::default()
        },
        ..EmulatorConfig::default()
    }
}

/// What a client saw of one request.
#[derive(Debug, PartialEq)]
enum Seen {
    Status(u16),
    /// No complete answer: the connection was reset or the request timed out.
    NoAnswer,
}

async fn send(c: &Ctx, method: Method, path: &str, body: Option<Value>) -> Seen {
    let mut req = c
        .http
        .request(method, c.url(path))
        .bearer_auth(&c.token)
        .timeout(Duration::from_secs(5));
    if let Some(b) = body {
        req = req.json(&b);
    }
    match req.send().await {
        Err(_) => Seen::NoAnswer,
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(_) => Seen::Status(status),
                Err(_) => Seen::NoAnswer,
            }
        }
    }
}

fn assert_lost(seen: &Seen) {
    match seen {
        Seen::NoAnswer => {}
        Seen::Status(s) => assert!([500, 503, 504].contains(s), "answer {s} was not lost"),
    }
}

fn user_body(alias: &str) -> Value {
    json!({
        "accountEnabled": true, "displayName": alias, "mailNickname": alias,
        "userPrincipalName": format!("{alias}@contoso.onmicrosoft.com"),
        "passwordProfile": {"forceChangePasswordNextSignIn": false, "password": "xWwvJ]6NMw+bWH-d"}
    })
}

fn set_rate(c: &Ctx, rate: f64) {
    c.emu.set_knobs(Knobs {
        post_write_fault_rate: rate,
        ..c.emu.knobs()
    });
}

#[tokio::test]
async fn a_failed_create_still_created_the_object() {
    let c = start(lossy()).await;
    let mut seen = Vec::new();
    for i in 0..20 {
        let s = send(
            &c,
            Method::POST,
            "/users",
            Some(user_body(&format!("u{i}"))),
        )
        .await;
        assert_lost(&s);
        seen.push(s);
    }
    assert!(
        seen.contains(&Seen::NoAnswer) && seen.iter().any(|s| matches!(s, Seen::Status(_))),
        "both lost answers and server errors: {seen:?}"
    );
    let state = c.emu.dump();
    assert_eq!(state["users"].as_array().map(Vec::len), Some(20));
    let counters = c.emu.counters();
    assert_eq!(counters.post_write_faults, 20);
    assert_eq!(counters.faults, 0, "no fault happened before a write");
    assert_eq!(c.get("/users").await.status, 200, "reads are not affected");
}

#[tokio::test]
async fn every_kind_of_write_is_applied_though_its_answer_is_lost() {
    let c = start(EmulatorConfig::default()).await;
    let base = c.emu.base_url().to_owned();
    let (a, b) = (c.create_user("a").await, c.create_user("b").await);
    let g = c.create_group("team").await;
    set_rate(&c, 1.0);
    c.emu.set_knobs(Knobs {
        hang_ms: 50,
        ..c.emu.knobs()
    });

    let bind = json!({"members@odata.bind": [directory_ref(&base, &a)]});
    assert_lost(&send(&c, Method::PATCH, &format!("/groups/{g}"), Some(bind)).await);
    let add = json!({"@odata.id": directory_ref(&base, &b)});
    let add_path = format!("/groups/{g}/members/$ref");
    assert_lost(&send(&c, Method::POST, &add_path, Some(add)).await);
    let patch = json!({"jobTitle": "Engineer"});
    assert_lost(&send(&c, Method::PATCH, &format!("/users/{a}"), Some(patch)).await);
    let new_group = json!({"displayName": "ops", "mailEnabled": false, "mailNickname": "ops",
        "securityEnabled": true, "members@odata.bind": [directory_ref(&base, &b)]});
    assert_lost(&send(&c, Method::POST, "/groups", Some(new_group)).await);

    set_rate(&c, 0.0);
    let members = c.get(&format!("/groups/{g}/members?$select=id")).await;
    assert_eq!(members.body["value"].as_array().map(Vec::len), Some(2));
    let user = c.get(&format!("/users/{a}?$select=jobTitle")).await;
    assert_eq!(user.body["jobTitle"], "Engineer");
    let ops = c.get("/groups?$filter=displayName eq 'ops'").await;
    assert_eq!(ops.body["value"].as_array().map(Vec::len), Some(1));

    set_rate(&c, 1.0);
    let remove = format!("/groups/{g}/members/{b}/$ref");
    assert_lost(&send(&c, Method::DELETE, &remove, None).await);
    assert_lost(&send(&c, Method::DELETE, &format!("/users/{a}"), None).await);
    set_rate(&c, 0.0);
    assert_eq!(c.get(&format!("/users/{a}")).await.status, 404);
    let members = c.get(&format!("/groups/{g}/members?$select=id")).await;
    assert_eq!(members.body["value"], json!([]), "both members are gone");
    assert_eq!(c.emu.counters().post_write_faults, 6);
}

#[tokio::test]
async fn failed_writes_are_not_picked() {
    let c = start(lossy()).await;
    let dup = user_body("twice");
    assert_lost(&send(&c, Method::POST, "/users", Some(dup.clone())).await);
    // The second create is refused as Graph refuses it; that answer is not replaced.
    assert_eq!(
        send(&c, Method::POST, "/users", Some(dup)).await,
        Seen::Status(400)
    );
    assert_eq!(c.emu.counters().post_write_faults, 1);
}

#[tokio::test]
async fn a_batch_item_fails_while_its_write_stays_applied() {
    let c = start(lossy()).await;
    set_rate(&c, 0.0);
    let u = c.create_user("ada").await;
    set_rate(&c, 1.0);
    let batch = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/groups", "headers": {"Content-Type": "application/json"},
         "body": {"displayName": "eng", "mailEnabled": false, "mailNickname": "eng", "securityEnabled": true}},
        {"id": "2", "method": "PATCH", "url": format!("/users/{u}"), "headers": {"Content-Type": "application/json"},
         "body": {"department": "R&D"}},
        {"id": "3", "method": "GET", "url": format!("/users/{u}?$select=id")}
    ]});
    let a = c.post("/$batch", batch).await;
    assert_eq!(a.status, 200, "the envelope arrives: {}", a.body);
    let status = |id: &str| {
        a.body["responses"]
            .as_array()
            .and_then(|r| r.iter().find(|i| i["id"] == id))
            .and_then(|i| i["status"].as_u64())
            .expect("item status")
    };
    for id in ["1", "2"] {
        assert!([500, 503, 504].contains(&status(id)), "{}", a.body);
    }
    assert_eq!(status("3"), 200, "reads are not affected");
    set_rate(&c, 0.0);
    let eng = c.get("/groups?$filter=displayName eq 'eng'").await;
    assert_eq!(eng.body["value"].as_array().map(Vec::len), Some(1));
    let user = c.get(&format!("/users/{u}?$select=department")).await;
    assert_eq!(user.body["department"], "R&D");
    assert_eq!(c.emu.counters().post_write_faults, 2);
}

#[tokio::test]
async fn the_knob_is_in_the_knobs_api() {
    let c = start(EmulatorConfig::default()).await;
    let knobs = c.inspect(Method::GET, "/knobs", None).await;
    assert_eq!(knobs["postWriteFaultRate"], 0.0);
    let knobs = c
        .inspect(
            Method::PATCH,
            "/knobs",
            Some(json!({"postWriteFaultRate": 0.25})),
        )
        .await;
    assert_eq!(knobs["postWriteFaultRate"], 0.25);
    assert_eq!(c.emu.knobs().post_write_fault_rate, 0.25);
    let counters = c.inspect(Method::GET, "/counters", None).await;
    assert_eq!(counters["postWriteFaults"], 0);
}
