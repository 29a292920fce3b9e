//! The group alternate key `uniqueName` and the idempotent create it allows
//! (graph-examples/group-upsert-uniquename.txt), and group mailNickname rules.

mod common;

use std::time::Duration;

use common::{Answer, Ctx, start, start_default};
use graph_emulator::{EmulatorConfig, Knobs};
use reqwest::Method;
use serde_json::{Value, json};

const PREFER: (&str, &str) = ("Prefer", "create-if-missing");
const CONFLICT: &str = "Another object with the same value for property uniqueName already exists.";

fn security_group(name: &str) -> Value {
    json!({"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true})
}

async fn upsert(c: &Ctx, key: &str, body: Value) -> Answer {
    c.call(
        Method::PATCH,
        &format!("/groups(uniqueName='{key}')"),
        Some(body),
        &[PREFER],
    )
    .await
}

/// Ids of the groups `$filter=uniqueName eq` finds.
async fn groups_named(c: &Ctx, key: &str) -> Vec<String> {
    let a = c
        .get(&format!("/groups?$filter=uniqueName eq '{key}'&$select=id"))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|g| g["id"].as_str().map(str::to_owned))
        .collect()
}

fn assert_conflict(a: &Answer) {
    a.assert_error(400, "Request_BadRequest", CONFLICT);
    assert_eq!(
        a.body["error"]["details"],
        json!([{"target": "uniqueName", "code": "ObjectConflict"}])
    );
}

#[tokio::test]
async fn upsert_creates_once_then_updates() {
    let c = start_default().await;
    let created = upsert(&c, "es-1-g42", security_group("eng")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["uniqueName"], "es-1-g42");
    let id = created.body["id"].as_str().expect("id").to_owned();

    let mut body = security_group("eng");
    body["description"] = json!("renamed team");
    let again = upsert(&c, "es-1-g42", body).await;
    assert_eq!(again.status, 204, "{}", again.body);
    assert_eq!(again.body, Value::Null, "204 has no body");

    assert_eq!(groups_named(&c, "es-1-g42").await, vec![id.clone()]);
    let g = c
        .get(&format!("/groups/{id}?$select=description,uniqueName"))
        .await;
    assert_eq!(
        g.body["description"], "renamed team",
        "applied as an update"
    );
    assert_eq!(g.body["uniqueName"], "es-1-g42");
    assert_eq!(c.emu.dump()["groups"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn retrying_an_upsert_whose_answer_was_lost_makes_no_second_group() {
    let config = EmulatorConfig {
        knobs: Knobs {
            post_write_fault_rate: 1.0,
            fault_seed: Some(5),
            hang_ms: 50,
            ..Knobs::default()
        },
        ..EmulatorConfig::default()
    };
    let c = start(config).await;
    // The first try is applied, but its answer is lost (a 5xx, a reset or a hang).
    let lost = c
        .http
        .patch(c.url("/groups(uniqueName='es-1-g7')"))
        .bearer_auth(&c.token)
        .header(PREFER.0, PREFER.1)
        .json(&security_group("ops"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    // An error (reset, timeout) means no answer at all; an answer must be a server error.
    if let Ok(resp) = lost {
        assert!(resp.status().is_server_error(), "{}", resp.status());
    }
    assert_eq!(c.emu.counters().post_write_faults, 1);
    c.emu.set_knobs(Knobs {
        post_write_fault_rate: 0.0,
        ..c.emu.knobs()
    });
    let retry = upsert(&c, "es-1-g7", security_group("ops")).await;
    assert_eq!(
        retry.status, 204,
        "the retry finds the group: {}",
        retry.body
    );
    assert_eq!(groups_named(&c, "es-1-g7").await.len(), 1);
}

// Several worker threads, so the emulator's handlers really run at the same time. The race
// window is small, so this rarely interleaves; the groups module's unit test pins the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_upserts_of_one_key_make_one_group() {
    let c = start_default().await;
    let tries = (0..32).map(|_| upsert(&c, "es-1-race", security_group("race")));
    let answers = futures::future::join_all(tries).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 1, "exactly one create wins");
    for a in answers.iter().filter(|a| a.status != 201) {
        // A loser either found the winner (204) or met it in the uniqueness check.
        if a.status != 204 {
            assert_conflict(a);
        }
    }
    assert_eq!(groups_named(&c, "es-1-race").await.len(), 1);
}

#[tokio::test]
async fn without_prefer_it_is_a_plain_update() {
    let c = start_default().await;
    let none = c
        .patch("/groups(uniqueName='nobody')", security_group("x"))
        .await;
    none.assert_error(
        404,
        "Request_ResourceNotFound",
        "Resource 'nobody' does not exist or one of its queried reference-property objects are not present.",
    );
    assert_eq!(c.emu.dump()["groups"], json!([]), "nothing was created");

    upsert(&c, "k", security_group("k")).await;
    let updated = c
        .patch("/groups(uniqueName='k')", json!({"description": "d"}))
        .await;
    assert_eq!(updated.status, 204);
    let g = c.get("/groups(uniqueName='k')?$select=description").await;
    assert_eq!(g.body["description"], "d");
}

#[tokio::test]
async fn get_by_unique_name_with_odata_quoting() {
    let c = start_default().await;
    let created = upsert(&c, "o''brien", security_group("obrien")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["uniqueName"], "o'brien");
    let g = c.get("/groups(uniqueName='o''brien')").await;
    assert_eq!(g.status, 200, "{}", g.body);
    assert_eq!(g.body["id"], created.body["id"]);
    assert_eq!(g.body["uniqueName"], "o'brien");
    assert_eq!(
        g.body["@odata.context"],
        format!("{}/$metadata#groups/$entity", c.emu.base_url())
    );
    // Directory keys compare case-insensitively.
    let upper = c.get("/groups(uniqueName='O''BRIEN')").await;
    assert_eq!(upper.body["id"], created.body["id"]);
    let by_filter = groups_named(&c, "o''brien").await;
    assert_eq!(by_filter.len(), 1);
    assert_eq!(c.get("/groups(uniqueName='other')").await.status, 404);
}

#[tokio::test]
async fn unique_name_on_create_select_and_filter() {
    let c = start_default().await;
    let mut body = security_group("eng");
    body["uniqueName"] = json!("es-1-g1");
    let a = c.post("/groups", body.clone()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["uniqueName"], "es-1-g1");
    let id = a.body["id"].as_str().expect("id").to_owned();
    let selected = c.get(&format!("/groups/{id}?$select=id,uniqueName")).await;
    assert_eq!(selected.body["uniqueName"], "es-1-g1");
    assert_eq!(groups_named(&c, "es-1-g1").await, vec![id.clone()]);
    let scanned = c
        .get("/groups?$filter=uniqueName eq 'es-1-g1' and securityEnabled eq true&$select=id")
        .await;
    assert_eq!(scanned.body["value"][0]["id"], id.as_str());

    // Unique among groups, whichever way the second one is made.
    let mut other = security_group("other");
    other["uniqueName"] = json!("ES-1-G1");
    assert_conflict(&c.post("/groups", other).await);
    let plain = c.post("/groups", security_group("plain")).await;
    let plain = plain.body["id"].as_str().expect("id").to_owned();
    assert_conflict(
        &c.patch(
            &format!("/groups/{plain}"),
            json!({"uniqueName": "es-1-g1"}),
        )
        .await,
    );
    c.post(
        "/groups",
        json!({"displayName": "x", "mailEnabled": false, "mailNickname": "x",
                             "securityEnabled": true, "uniqueName": 7}),
    )
    .await
    .assert_error(
        400,
        "Request_BadRequest",
        "Invalid value specified for property 'uniqueName' of resource 'Group'.",
    );
    assert_eq!(c.emu.dump()["groups"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn unique_name_is_immutable_once_set() {
    let c = start_default().await;
    let a = upsert(&c, "fixed", security_group("fixed")).await;
    let id = a.body["id"].as_str().expect("id").to_owned();
    let immutable = "Property 'uniqueName' cannot be changed once it has been set.";
    for change in [json!("moved"), Value::Null] {
        c.patch(&format!("/groups/{id}"), json!({ "uniqueName": change }))
            .await
            .assert_error(400, "Request_BadRequest", immutable);
    }
    // Through the upsert too: the body may repeat the key, not change it.
    let mut moved = security_group("fixed");
    moved["uniqueName"] = json!("moved");
    upsert(&c, "fixed", moved)
        .await
        .assert_error(400, "Request_BadRequest", immutable);
    let same = c
        .patch(&format!("/groups/{id}"), json!({"uniqueName": "FIXED"}))
        .await;
    assert_eq!(same.status, 204, "the same value is accepted");
    let g = c.get(&format!("/groups/{id}?$select=uniqueName")).await;
    assert_eq!(g.body["uniqueName"], "fixed", "and changes nothing");

    // A group without one can be given one, once.
    let plain = c.post("/groups", security_group("plain")).await;
    let plain = plain.body["id"].as_str().expect("id").to_owned();
    let set = c
        .patch(&format!("/groups/{plain}"), json!({"uniqueName": "late"}))
        .await;
    assert_eq!(set.status, 204);
    assert_eq!(
        c.get("/groups(uniqueName='late')").await.body["id"],
        plain.as_str()
    );
    c.patch(&format!("/groups/{plain}"), json!({"uniqueName": "later"}))
        .await
        .assert_error(400, "Request_BadRequest", immutable);
}

#[tokio::test]
async fn upsert_inside_batch() {
    let c = start_default().await;
    let item = |id: &str| {
        json!({"id": id, "method": "PATCH", "url": "/groups(uniqueName='es-1-b''1')",
               "headers": {"Content-Type": "application/json", "Prefer": "create-if-missing"},
               "body": security_group("batched")})
    };
    let first = c.post("/$batch", json!({"requests": [item("1")]})).await;
    assert_eq!(first.status, 200);
    let resp = &first.body["responses"][0];
    assert_eq!(resp["status"], 201, "{}", first.body);
    assert_eq!(resp["body"]["uniqueName"], "es-1-b'1");
    let second = c
        .post(
            "/$batch",
            json!({"requests": [item("2"), {"id": "3", "method": "GET", "url": "/groups(uniqueName='es-1-b''1')?$select=id", "dependsOn": ["2"]}]}),
        )
        .await;
    let status = |id: &str| {
        second.body["responses"]
            .as_array()
            .and_then(|r| r.iter().find(|i| i["id"] == id))
            .map(|i| i["status"].clone())
    };
    assert_eq!(status("2"), Some(json!(204)), "{}", second.body);
    assert_eq!(status("3"), Some(json!(200)), "{}", second.body);
    assert_eq!(groups_named(&c, "es-1-b''1").await.len(), 1);
}

#[tokio::test]
async fn upsert_under_read_lag_never_makes_a_second_group() {
    let c = start_default().await;
    c.emu.set_knobs(Knobs {
        read_lag_ms: 600_000,
        ..Knobs::default()
    });
    let first = upsert(&c, "es-1-lag", security_group("lag")).await;
    assert_eq!(first.status, 201);
    // The fresh group is not visible by key yet...
    assert_eq!(c.get("/groups(uniqueName='es-1-lag')").await.status, 404);
    let plain = c
        .patch(
            "/groups(uniqueName='es-1-lag')",
            json!({"description": "d"}),
        )
        .await;
    assert_eq!(plain.status, 404);
    // ...so a retry goes on to create it, and meets the uniqueness check.
    assert_conflict(&upsert(&c, "es-1-lag", security_group("lag")).await);

    c.emu.set_knobs(Knobs {
        read_lag_ms: 20,
        ..Knobs::default()
    });
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(
        upsert(&c, "es-1-lag", security_group("lag")).await.status,
        204
    );
    assert_eq!(groups_named(&c, "es-1-lag").await.len(), 1);
}

#[tokio::test]
async fn security_groups_may_share_a_mail_nickname() {
    let c = start_default().await;
    // Graph keeps mailNickname unique among Microsoft 365 groups only.
    let first = c.post("/groups", security_group("shared")).await;
    let second = c.post("/groups", security_group("shared")).await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 201));
    assert_ne!(first.body["id"], second.body["id"]);
    let found = c.get("/groups?$filter=mailNickname eq 'shared'").await;
    assert_eq!(found.body["value"].as_array().map(Vec::len), Some(2));
    // Renaming one onto the other's nickname is fine too.
    let third = c.post("/groups", security_group("third")).await;
    let third = third.body["id"].as_str().expect("id").to_owned();
    let renamed = c
        .patch(
            &format!("/groups/{third}"),
            json!({"mailNickname": "shared"}),
        )
        .await;
    assert_eq!(renamed.status, 204);

    let unified = json!({"displayName": "m365", "groupTypes": ["Unified"], "mailEnabled": true,
                         "mailNickname": "m365", "securityEnabled": false});
    assert_eq!(c.post("/groups", unified.clone()).await.status, 201);
    c.post("/groups", unified).await.assert_error(
        400,
        "Request_BadRequest",
        "Another object with the same value for property mailNickname already exists.",
    );
}
