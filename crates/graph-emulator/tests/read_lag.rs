//! Read-after-write lag (`readLagMs`): reads trail writes as Graph's replicas do.
//!
//! The "within the lag" checks run under a lag of ten minutes, so they cannot flake on a slow
//! machine; the lag is then lowered to a few tens of milliseconds to watch it pass. Objects
//! that must be old already are seeded (seeded objects count as replicated long ago).

mod common;

use std::time::Duration;

use common::{Ctx, directory_ref, start_default};
use graph_emulator::Knobs;
use reqwest::Method;
use serde_json::{Value, json};

const LONG_LAG_MS: u64 = 600_000;
const SHORT_LAG_MS: u64 = 30;
const NOT_FOUND: &str = "Request_ResourceNotFound";
const LAGGING: &str =
    "The source resource object or one of the objects being referenced don't exist.";

fn set_read_lag(c: &Ctx, ms: u64) {
    c.emu.set_knobs(Knobs {
        read_lag_ms: ms,
        ..c.emu.knobs()
    });
}

/// Lowers the lag to a short one and waits it out.
async fn let_the_lag_pass(c: &Ctx) {
    set_read_lag(c, SHORT_LAG_MS);
    tokio::time::sleep(Duration::from_millis(SHORT_LAG_MS * 2)).await;
}

fn seed_user(c: &Ctx, alias: &str) -> String {
    let seeded = c
        .emu
        .seed(json!({"users": [{"userPrincipalName": format!("{alias}@contoso.onmicrosoft.com")}]}))
        .expect("seed");
    seeded["users"][0]["id"].as_str().expect("id").to_owned()
}

fn seed_group(c: &Ctx, name: &str) -> String {
    let seeded = c
        .emu
        .seed(json!({"groups": [{"displayName": name}]}))
        .expect("seed");
    seeded["groups"][0]["id"].as_str().expect("id").to_owned()
}

fn ids(body: &Value) -> Vec<String> {
    body["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_fresh_user_is_missing_until_the_lag_has_passed() {
    let c = start_default().await;
    let old = seed_user(&c, "old");
    set_read_lag(&c, LONG_LAG_MS);
    let u = c.create_user("fresh").await;
    let upn = "fresh@contoso.onmicrosoft.com";

    assert_eq!(ids(&c.get("/users").await.body), vec![old.clone()]);
    let by_upn = format!("/users?$filter=userPrincipalName eq '{upn}'");
    assert_eq!(ids(&c.get(&by_upn).await.body), Vec::<String>::new());
    let by_name = "/users?$filter=displayName eq 'fresh'";
    assert_eq!(ids(&c.get(by_name).await.body), Vec::<String>::new());
    let counted = c
        .call(
            Method::GET,
            "/users/$count",
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(counted.body, json!(1));
    for key in [u.as_str(), upn] {
        let message = format!(
            "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
        );
        c.get(&format!("/users/{key}"))
            .await
            .assert_error(404, NOT_FOUND, &message);
        c.patch(&format!("/users/{key}"), json!({"jobTitle": "x"}))
            .await
            .assert_error(404, NOT_FOUND, &message);
    }
    c.delete(&format!("/users/{u}"))
        .await
        .assert_error(404, NOT_FOUND, &format!("Resource '{u}' does not exist or one of its queried reference-property objects are not present."));
    // Uniqueness is enforced where writes land: the same UPN again is a conflict at once.
    let dup = c
        .post(
            "/users",
            json!({"accountEnabled": true, "displayName": "again", "mailNickname": "again",
                   "userPrincipalName": upn,
                   "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}),
        )
        .await;
    assert_eq!(dup.status, 400, "{}", dup.body);
    assert_eq!(dup.body["error"]["details"][0]["code"], "ObjectConflict");

    let_the_lag_pass(&c).await;
    assert_eq!(ids(&c.get("/users").await.body), vec![old, u.clone()]);
    assert_eq!(ids(&c.get(&by_upn).await.body), vec![u.clone()]);
    assert_eq!(ids(&c.get(by_name).await.body), vec![u.clone()]);
    assert_eq!(c.get(&format!("/users/{u}")).await.status, 200);
    let patched = c
        .patch(&format!("/users/{u}"), json!({"jobTitle": "x"}))
        .await;
    assert_eq!(patched.status, 204);
}

#[tokio::test]
async fn paging_skips_fresh_objects() {
    let c = start_default().await;
    let old: Vec<String> = (0..3).map(|i| seed_user(&c, &format!("u{i}"))).collect();
    set_read_lag(&c, LONG_LAG_MS);
    c.create_user("fresh").await;
    c.create_user("fresher").await;
    let mut seen = Vec::new();
    let mut next = Some("/users?$top=1&$select=id".to_owned());
    while let Some(url) = next {
        let page = c.get(&url).await;
        seen.extend(ids(&page.body));
        next = page.body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, old, "neither fresh user on any page");
}

#[tokio::test]
async fn a_deleted_group_is_still_listed_within_the_lag() {
    let c = start_default().await;
    let g = seed_group(&c, "leaving");
    set_read_lag(&c, LONG_LAG_MS);
    assert_eq!(c.delete(&format!("/groups/{g}")).await.status, 204);

    let listed = c.get("/groups").await;
    assert_eq!(ids(&listed.body), vec![g.clone()]);
    assert_eq!(
        listed.body["value"][0]["deletedDateTime"],
        Value::Null,
        "listed as it was before the delete"
    );
    let by_id = format!("/groups?$filter=id eq '{g}'");
    assert_eq!(ids(&c.get(&by_id).await.body), vec![g.clone()]);
    let by_name = "/groups?$filter=displayName eq 'leaving'";
    assert_eq!(ids(&c.get(by_name).await.body), vec![g.clone()]);
    // By key it is gone at once.
    assert_eq!(c.get(&format!("/groups/{g}")).await.status, 404);
    let patched = c
        .patch(&format!("/groups/{g}"), json!({"description": "x"}))
        .await;
    assert_eq!(patched.status, 404);
    assert_eq!(c.delete(&format!("/groups/{g}")).await.status, 404);

    let_the_lag_pass(&c).await;
    assert_eq!(ids(&c.get("/groups").await.body), Vec::<String>::new());
    assert_eq!(ids(&c.get(&by_id).await.body), Vec::<String>::new());
}

#[tokio::test]
async fn membership_changes_cannot_reference_fresh_objects() {
    let c = start_default().await;
    let base = c.emu.base_url().to_owned();
    let old_user = seed_user(&c, "old");
    let old_group = seed_group(&c, "old");
    set_read_lag(&c, LONG_LAG_MS);
    let u = c.create_user("fresh").await;
    let g = c.create_group("fresh").await;

    // A fresh member, to an old group.
    c.post(
        &format!("/groups/{old_group}/members/$ref"),
        json!({"@odata.id": directory_ref(&base, &u)}),
    )
    .await
    .assert_error(400, "Request_BadRequest", LAGGING);
    // An old member, to a fresh group: by $ref and by members@odata.bind.
    c.post(
        &format!("/groups/{g}/members/$ref"),
        json!({"@odata.id": directory_ref(&base, &old_user)}),
    )
    .await
    .assert_error(400, "Request_BadRequest", LAGGING);
    c.patch(
        &format!("/groups/{g}"),
        json!({"members@odata.bind": [directory_ref(&base, &old_user)]}),
    )
    .await
    .assert_error(400, "Request_BadRequest", LAGGING);
    // A plain PATCH of the fresh group is a 404, like its GET and its members.
    let patched = c
        .patch(&format!("/groups/{g}"), json!({"description": "x"}))
        .await;
    assert_eq!(patched.status, 404);
    assert_eq!(c.get(&format!("/groups/{g}/members")).await.status, 404);
    // Binding a fresh member at creation.
    let created = c
        .post(
            "/groups",
            json!({"displayName": "x", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true,
                   "members@odata.bind": [directory_ref(&base, &u)]}),
        )
        .await;
    created.assert_error(400, "Request_BadRequest", LAGGING);

    let_the_lag_pass(&c).await;
    let added = c
        .post(
            &format!("/groups/{g}/members/$ref"),
            json!({"@odata.id": directory_ref(&base, &u)}),
        )
        .await;
    assert_eq!(added.status, 204, "{}", added.body);
}

#[tokio::test]
async fn delta_holds_back_fresh_and_just_deleted_objects() {
    let c = start_default().await;
    let old = seed_user(&c, "old");
    let leaving = seed_user(&c, "leaving");
    set_read_lag(&c, LONG_LAG_MS);
    let fresh = c.create_user("fresh").await;
    assert_eq!(c.delete(&format!("/users/{leaving}")).await.status, 204);

    let first = c.get("/users/delta?$select=displayName").await;
    assert_eq!(
        ids(&first.body),
        vec![old.clone(), leaving.clone()],
        "the deletion is not seen yet, the create neither"
    );
    let delta_link = first.body["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_owned();
    let still = c.get(&delta_link).await;
    assert_eq!(ids(&still.body), Vec::<String>::new());

    let_the_lag_pass(&c).await;
    let next = c.get(&delta_link).await;
    let value = next.body["value"].as_array().expect("value");
    let find = |id: &str| value.iter().find(|o| o["id"] == id).cloned();
    assert_eq!(
        find(&fresh).map(|o| o["displayName"].clone()),
        Some(json!("fresh")),
        "{}",
        next.body
    );
    assert_eq!(
        find(&leaving).map(|o| o["@removed"].clone()),
        Some(json!({"reason": "changed"})),
        "{}",
        next.body
    );
}

#[tokio::test]
async fn the_knob_is_in_the_knobs_api() {
    let c = start_default().await;
    let knobs = c.inspect(Method::GET, "/knobs", None).await;
    assert_eq!(knobs["readLagMs"], 0);
    let knobs = c
        .inspect(Method::PATCH, "/knobs", Some(json!({"readLagMs": 250})))
        .await;
    assert_eq!(knobs["readLagMs"], 250);
    assert_eq!(c.emu.knobs().read_lag_ms, 250);
}
