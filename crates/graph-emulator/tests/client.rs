//! A real Graph client's session, end to end over loopback: token from the token endpoint,
//! create, get, list across pages, batch, membership, delta.

mod common;

use common::{directory_ref, start_default};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn graph_client_session() {
    let c = start_default().await;
    let base = c.emu.base_url().to_owned();

    // Verified domains first, as provisioners do.
    let org = c.get("/organization?$select=verifiedDomains").await;
    assert_eq!(org.status, 200);
    assert_eq!(
        org.body["value"][0]["verifiedDomains"][0]["name"],
        "contoso.onmicrosoft.com"
    );
    assert_eq!(
        org.body["value"][0]["verifiedDomains"][0]["isDefault"],
        true
    );

    // Create 240 users through $batch (12 batches of 20).
    let mut ids = Vec::new();
    for b in 0..12 {
        let requests: Vec<Value> = (0..20)
            .map(|i| {
                let n = b * 20 + i;
                json!({"id": format!("u{n}"), "method": "POST", "url": "/users",
                       "headers": {"Content-Type": "application/json"},
                       "body": {"accountEnabled": true, "displayName": format!("User {n}"),
                                "mailNickname": format!("user{n}"),
                                "userPrincipalName": format!("user{n}@contoso.onmicrosoft.com"),
                                "passwordProfile": {"password": "Rand0m-Passw0rd!", "forceChangePasswordNextSignIn": false}}})
            })
            .collect();
        let a = c.post("/$batch", json!({ "requests": requests })).await;
        for r in a.body["responses"].as_array().expect("responses") {
            assert_eq!(r["status"], 201, "{r}");
            ids.push(r["body"]["id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(ids.len(), 240);

    // Get by id and by UPN.
    let one = c
        .get(&format!(
            "/users/{}?$select=id,userPrincipalName,accountEnabled",
            ids[7]
        ))
        .await;
    assert_eq!(
        one.body["userPrincipalName"],
        "user7@contoso.onmicrosoft.com"
    );
    assert_eq!(one.body["accountEnabled"], true);
    assert_eq!(
        c.get("/users/user7@contoso.onmicrosoft.com").await.body["id"],
        ids[7].as_str()
    );

    // List all across pages of 100 following the full nextLink.
    let mut next = Some(format!("{base}/users?$select=id,displayName"));
    let (mut listed, mut pages) = (0, 0);
    while let Some(url) = next {
        let a = c.get(&url).await;
        assert_eq!(a.status, 200);
        listed += a.body["value"].as_array().expect("value").len();
        next = a.body["@odata.nextLink"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!((listed, pages), (240, 3));

    // Filter lookups, with OData quote escaping.
    c.patch(
        &format!("/users/{}", ids[0]),
        json!({"displayName": "Miles O'Brien"}),
    )
    .await;
    let f = c
        .get("/users?$filter=displayName eq 'Miles O''Brien'&$select=id")
        .await;
    assert_eq!(f.body["value"], json!([{"id": ids[0]}]));
    let ins = c
        .get(&format!(
            "/users?$filter=id in ('{}','{}')&$select=id",
            ids[1], ids[2]
        ))
        .await;
    assert_eq!(ins.body["value"].as_array().map(Vec::len), Some(2));

    // A group, 45 members added through batches of $ref, listed in pages of 20.
    let g = c.create_group("all-staff").await;
    for chunk in ids[..45].chunks(20) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|id| {
                json!({"id": id, "method": "POST", "url": format!("/groups/{g}/members/$ref"),
                             "headers": {"Content-Type": "application/json"},
                             "body": {"@odata.id": directory_ref(&base, id)}})
            })
            .collect();
        let a = c.post("/$batch", json!({ "requests": requests })).await;
        assert!(
            a.body["responses"]
                .as_array()
                .expect("responses")
                .iter()
                .all(|r| r["status"] == 204)
        );
    }
    let mut next = Some(format!("{base}/groups/{g}/members?$select=id&$top=20"));
    let mut members = Vec::new();
    while let Some(url) = next {
        let a = c.get(&url).await;
        members.extend(
            a.body["value"]
                .as_array()
                .expect("value")
                .iter()
                .map(|m| m["id"].clone()),
        );
        next = a.body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(members.len(), 45);

    // Remove one, disable one, delete one; the group delta round reports the membership change.
    let delta = c.get("/groups/delta?$select=displayName,members").await;
    let link = delta.body["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_owned();
    assert_eq!(
        c.delete(&format!("/groups/{g}/members/{}/$ref", ids[3]))
            .await
            .status,
        204
    );
    assert_eq!(
        c.patch(
            &format!("/users/{}", ids[4]),
            json!({"accountEnabled": false})
        )
        .await
        .status,
        204
    );
    assert_eq!(c.delete(&format!("/users/{}", ids[5])).await.status, 204);
    let changes = c.get(&link).await;
    let md = changes.body["value"][0]["members@delta"]
        .as_array()
        .expect("members@delta")
        .clone();
    assert_eq!(md.len(), 2, "{md:?}");
    assert!(md.iter().all(|m| m["@removed"]["reason"] == "deleted"));

    // Every request was counted under its route template.
    let counters = c.inspect(Method::GET, "/counters", None).await;
    assert_eq!(counters["byRoute"]["POST /v1.0/users"], 240);
    assert_eq!(counters["byRoute"]["POST /v1.0/$batch"], 15);
    assert_eq!(
        counters["byRoute"]["POST /v1.0/groups/{id}/members/$ref"],
        45
    );
}
