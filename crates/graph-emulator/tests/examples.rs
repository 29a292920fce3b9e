//! Replays ../shared/reference/graph-examples/ against the emulator over loopback HTTP:
//! same status, same JSON shape (keys), same error code and message.
//!
//! Not replayed: `bulkupload-api-driven.txt` (the synchronization/bulkUpload API is outside the
//! emulator's scope), the `/me/planner/tasks` and `getPasswordSingleSignOnCredentials` items of
//! `batch.txt` (Planner and SSO credentials are not emulated; `/me/...` is answered as Graph
//! answers app-only callers). `user-update.txt` targets `/me`, so it is replayed on
//! `/users/{id}` with the same body. Throttling examples are in `tests/throttling.rs`,
//! token examples in `tests/auth.rs`.

mod common;

use common::{assert_error_body, directory_ref, keys, start_default};
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD_PROFILE: &str =
    r#"{"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}"#;

fn password_profile() -> Value {
    serde_json::from_str(PASSWORD_PROFILE).expect("json")
}

#[tokio::test]
async fn user_create() {
    let c = start_default().await;
    let a = c
        .post(
            "/users",
            json!({
                "accountEnabled": true, "displayName": "Adele Vance", "mailNickname": "AdeleV",
                "userPrincipalName": "AdeleV@contoso.onmicrosoft.com", "passwordProfile": password_profile()
            }),
        )
        .await;
    assert_eq!(a.status, 201);
    assert_eq!(
        keys(&a.body),
        vec![
            "@odata.context",
            "businessPhones",
            "displayName",
            "givenName",
            "id",
            "jobTitle",
            "mail",
            "mobilePhone",
            "officeLocation",
            "preferredLanguage",
            "surname",
            "userPrincipalName"
        ]
    );
    assert_eq!(
        a.body["@odata.context"],
        format!("{}/$metadata#users/$entity", c.emu.base_url())
    );
    assert_eq!(
        a.body["userPrincipalName"],
        "AdeleV@contoso.onmicrosoft.com"
    );
    assert_eq!(a.body["businessPhones"], json!([]));

    // errors-directory-real.txt §1: the duplicate (case-insensitively) is a 400, not a 409.
    let dup = c
        .post(
            "/users",
            json!({
                "accountEnabled": true, "displayName": "Adele 2", "mailNickname": "AdeleV2",
                "userPrincipalName": "adelev@CONTOSO.onmicrosoft.com", "passwordProfile": password_profile()
            }),
        )
        .await;
    dup.assert_error(
        400,
        "Request_BadRequest",
        "Another object with the same value for property userPrincipalName already exists.",
    );
    assert_eq!(
        dup.body["error"]["details"],
        json!([{"target": "userPrincipalName", "code": "ObjectConflict"}])
    );

    // §6: unverified domain, weak password, missing required property.
    let bad_domain = c
        .post(
            "/users",
            json!({"accountEnabled": true, "displayName": "X", "mailNickname": "x",
                   "userPrincipalName": "x@fabrikam.com", "passwordProfile": password_profile()}),
        )
        .await;
    bad_domain.assert_error(
        400,
        "Request_BadRequest",
        "Property userPrincipalName is invalid.",
    );
    let weak = c
        .post(
            "/users",
            json!({"accountEnabled": true, "displayName": "X", "mailNickname": "x",
                   "userPrincipalName": "x@contoso.onmicrosoft.com",
                   "passwordProfile": {"password": "password"}}),
        )
        .await;
    weak.assert_error(400, "Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.");
    let missing = c
        .post(
            "/users",
            json!({"accountEnabled": true, "displayName": "X", "userPrincipalName": "x@contoso.onmicrosoft.com",
                   "passwordProfile": password_profile()}),
        )
        .await;
    missing.assert_error(
        400,
        "Request_BadRequest",
        "Invalid value specified for property 'mailNickname' of resource 'User'.",
    );
}

#[tokio::test]
async fn user_update_and_delete() {
    let c = start_default().await;
    let id = c.create_user("ada").await;
    let a = c
        .patch(&format!("/users/{id}"), json!({"accountEnabled": true, "businessPhones": ["businessPhones-value"], "city": "city-value"}))
        .await;
    assert_eq!(a.status, 204);
    assert!(a.body.is_null(), "204 has no body");
    let got = c
        .get(&format!("/users/{id}?$select=city,businessPhones"))
        .await;
    assert_eq!(got.body["city"], "city-value");
    // GET by UPN works as the key too.
    let by_upn = c.get("/users/ADA@contoso.onmicrosoft.com").await;
    assert_eq!(by_upn.body["id"], id.as_str());

    // The OData key form (needed for UPNs starting with '$') reaches the same user.
    let keyed = c
        .get("/users('ada@contoso.onmicrosoft.com')?$select=id")
        .await;
    assert_eq!(keyed.body["id"], id.as_str());
    assert_eq!(
        c.patch(
            "/users('ada@contoso.onmicrosoft.com')",
            json!({"jobTitle": "Analyst"})
        )
        .await
        .status,
        204
    );
    assert!(
        keyed.headers["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/json;odata.metadata=minimal")
    );
    assert_eq!(keyed.headers["odata-version"], "4.0");

    let d = c.delete(&format!("/users/{id}")).await;
    assert_eq!(d.status, 204);
    c.get(&format!("/users/{id}")).await.assert_error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    );
}

#[tokio::test]
async fn user_list_and_queries() {
    let c = start_default().await;
    for a in ["adams", "admin", "bob"] {
        c.create_user(a).await;
    }
    let all = c.get("/users").await;
    assert_eq!(all.status, 200);
    assert_eq!(keys(&all.body), vec!["@odata.context", "value"]);
    assert_eq!(
        all.body["@odata.context"],
        format!("{}/$metadata#users", c.emu.base_url())
    );
    let first = &all.body["value"][0];
    assert_eq!(
        keys(first),
        vec![
            "businessPhones",
            "displayName",
            "givenName",
            "id",
            "jobTitle",
            "mail",
            "mobilePhone",
            "officeLocation",
            "preferredLanguage",
            "surname",
            "userPrincipalName"
        ]
    );

    // Example 4 (without $orderby): startswith + $count + $top with ConsistencyLevel.
    let ev = [("ConsistencyLevel", "eventual")];
    let a = c
        .call(
            Method::GET,
            "/users?$filter=startswith(displayName,'a')&$count=true&$top=1",
            None,
            &ev,
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["@odata.count"], 2);
    assert_eq!(a.body["value"].as_array().map(Vec::len), Some(1));
    assert!(a.body["@odata.nextLink"].is_string());

    // Example 5: endswith needs the advanced-query header.
    let a = c
        .call(
            Method::GET,
            "/users?$filter=endswith(userPrincipalName,'contoso.onmicrosoft.com')&$count=true",
            None,
            &ev,
        )
        .await;
    assert_eq!(a.body["@odata.count"], 3);
    c.get("/users?$filter=endswith(userPrincipalName,'x')").await.assert_error(
        400,
        "Request_UnsupportedQuery",
        "Operator 'endsWith' is not supported because the 'ConsistencyLevel:eventual' header is missing. Refer to https://aka.ms/graph-docs/advanced-queries for more details",
    );

    // Example 3: count only, as text/plain.
    let n = c.call(Method::GET, "/users/$count", None, &ev).await;
    assert_eq!(n.status, 200);
    assert_eq!(n.body, json!(3));
    assert!(
        n.headers["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/plain")
    );

    // Constructed lookups: eq on UPN (case-insensitive), $select context, $top bounds.
    let a = c.get("/users?$filter=userPrincipalName eq 'BOB@contoso.onmicrosoft.com'&$select=id,userPrincipalName,mail").await;
    assert_eq!(
        a.body["@odata.context"],
        format!(
            "{}/$metadata#users(id,userPrincipalName,mail)",
            c.emu.base_url()
        )
    );
    assert_eq!(
        keys(&a.body["value"][0]),
        vec!["id", "mail", "userPrincipalName"]
    );
    c.get("/users?$top=1000").await.assert_error(
        400,
        "Request_BadRequest",
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
    );
    assert_eq!(c.get("/users?$top=999").await.status, 200);
    c.get("/users?$count=true").await.assert_error(
        400,
        "Request_BadRequest",
        "$count is not currently supported.",
    );
}

#[tokio::test]
async fn group_create_examples() {
    let c = start_default().await;
    let seeded = c.emu.seed(json!({"users": [
        {"id": "26be1845-4119-4801-a799-aea79d09f1a2", "userPrincipalName": "owner@contoso.onmicrosoft.com"},
        {"id": "ff7cb387-6688-423c-8188-3da9532a73cc", "userPrincipalName": "m1@contoso.onmicrosoft.com"},
        {"id": "69456242-0067-49d3-ba96-9de6f2728e14", "userPrincipalName": "m2@contoso.onmicrosoft.com"}
    ]}));
    assert!(seeded.is_ok());
    // Example 2: security group with owners and members bound at creation.
    let a = c
        .post(
            "/groups",
            json!({
                "description": "Group with designated owner and members", "displayName": "Operations group",
                "groupTypes": [], "mailEnabled": false, "mailNickname": "operations2019", "securityEnabled": true,
                "owners@odata.bind": ["https://graph.microsoft.com/v1.0/users/26be1845-4119-4801-a799-aea79d09f1a2"],
                "members@odata.bind": [
                    "https://graph.microsoft.com/v1.0/users/ff7cb387-6688-423c-8188-3da9532a73cc",
                    "https://graph.microsoft.com/v1.0/users/69456242-0067-49d3-ba96-9de6f2728e14"
                ]
            }),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let expected = [
        "@odata.context",
        "id",
        "deletedDateTime",
        "classification",
        "createdDateTime",
        "description",
        "displayName",
        "expirationDateTime",
        "groupTypes",
        "isAssignableToRole",
        "mail",
        "mailEnabled",
        "mailNickname",
        "membershipRule",
        "membershipRuleProcessingState",
        "onPremisesDomainName",
        "onPremisesLastSyncDateTime",
        "onPremisesNetBiosName",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesSyncEnabled",
        "preferredDataLocation",
        "preferredLanguage",
        "proxyAddresses",
        "renewedDateTime",
        "resourceBehaviorOptions",
        "resourceProvisioningOptions",
        "securityEnabled",
        "securityIdentifier",
        "theme",
        "visibility",
        "onPremisesProvisioningErrors",
    ];
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(keys(&a.body), expected);
    assert_eq!(a.body["mail"], Value::Null);
    assert_eq!(a.body["proxyAddresses"], json!([]));
    let gid = a.body["id"].as_str().expect("id");
    let m = c.get(&format!("/groups/{gid}/members?$select=id")).await;
    assert_eq!(m.body["value"].as_array().map(Vec::len), Some(2));

    // Example 1: Microsoft 365 group; the doc's (truncated) keys are all present.
    let a = c
        .post(
            "/groups",
            json!({"description": "Self help community for library", "displayName": "Library Assist",
                   "groupTypes": ["Unified"], "mailEnabled": true, "mailNickname": "library", "securityEnabled": false}),
        )
        .await;
    assert_eq!(a.status, 201);
    for k in [
        "id",
        "deletedDateTime",
        "classification",
        "createdDateTime",
        "description",
        "displayName",
        "groupTypes",
        "mail",
        "mailEnabled",
        "mailNickname",
        "onPremisesLastSyncDateTime",
        "onPremisesSecurityIdentifier",
        "onPremisesSyncEnabled",
        "preferredDataLocation",
        "proxyAddresses",
        "renewedDateTime",
        "resourceBehaviorOptions",
        "resourceProvisioningOptions",
        "securityEnabled",
        "visibility",
        "onPremisesProvisioningErrors",
    ] {
        assert!(a.body.get(k).is_some(), "missing {k}");
    }
    assert_eq!(a.body["mail"], "library@contoso.onmicrosoft.com");
    assert_eq!(a.body["visibility"], "Public");
    // M365 mailNickname must be unique; displayName need not be.
    let dup = c
        .post("/groups", json!({"displayName": "Library Assist", "groupTypes": ["Unified"], "mailEnabled": true, "mailNickname": "library", "securityEnabled": false}))
        .await;
    dup.assert_error(
        400,
        "Request_BadRequest",
        "Another object with the same value for property mailNickname already exists.",
    );
    let same_name = c
        .post("/groups", json!({"displayName": "Library Assist", "mailEnabled": false, "mailNickname": "library", "securityEnabled": true}))
        .await;
    assert_eq!(same_name.status, 201);

    // Mail-enabled security groups and distribution lists are refused.
    c.post("/groups", json!({"displayName": "MESG", "mailEnabled": true, "mailNickname": "mesg", "securityEnabled": true}))
        .await
        .assert_error(400, "Request_BadRequest", "Cannot create a mail-enabled security groups and or distribution list.");
    c.post(
        "/groups",
        json!({"displayName": "x", "mailEnabled": false, "securityEnabled": true}),
    )
    .await
    .assert_error(
        400,
        "Request_BadRequest",
        "Invalid value specified for property 'mailNickname' of resource 'Group'.",
    );
}

#[tokio::test]
async fn group_upsert_update_delete_list() {
    let c = start_default().await;
    let body = json!({"description": "Self help community for golf", "displayName": "Golf Assist",
        "groupTypes": ["Unified"], "mailEnabled": true, "mailNickname": "golfassist", "securityEnabled": false});
    let prefer = [("Prefer", "create-if-missing")];
    let a = c
        .call(
            Method::PATCH,
            "/groups(uniqueName='uniqueName')",
            Some(body.clone()),
            &prefer,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["uniqueName"], "uniqueName");
    assert_eq!(
        a.body["@odata.context"],
        format!("{}/$metadata#groups/$entity", c.emu.base_url())
    );
    let id = a.body["id"].as_str().expect("id").to_owned();
    let again = c
        .call(
            Method::PATCH,
            "/groups(uniqueName='uniqueName')",
            Some(body),
            &prefer,
        )
        .await;
    assert_eq!(again.status, 204);

    // group-update.txt
    let u = c
        .patch(
            &format!("/groups/{id}"),
            json!({"description": "Library Assist", "displayName": "Library Assist",
            "groupTypes": ["Unified"], "mailEnabled": true, "mailNickname": "library-help"}),
        )
        .await;
    assert_eq!(u.status, 204);
    let g = c
        .get(&format!("/groups/{id}?$select=displayName,mailNickname"))
        .await;
    assert_eq!(g.body["displayName"], "Library Assist");

    // group-list.txt example 2 ($count + $filter + $select with ConsistencyLevel).
    c.emu
        .seed(json!({"groups": [
            {"displayName": "Contoso Group 1", "hasMembersWithLicenseErrors": true},
            {"displayName": "Contoso Group 2", "hasMembersWithLicenseErrors": true}
        ]}))
        .expect("seed");
    let l = c
        .call(Method::GET, "/groups?$count=true&$filter=hasMembersWithLicenseErrors+eq+true&$select=id,displayName", None, &[("ConsistencyLevel", "eventual")])
        .await;
    assert_eq!(l.status, 200);
    assert_eq!(
        keys(&l.body),
        vec!["@odata.context", "@odata.count", "value"]
    );
    assert_eq!(
        l.body["@odata.context"],
        format!("{}/$metadata#groups(id,displayName)", c.emu.base_url())
    );
    assert_eq!(l.body["@odata.count"], 2);
    assert_eq!(keys(&l.body["value"][0]), vec!["displayName", "id"]);
    let all = c
        .get("/groups?$filter=groupTypes/any(c:c+eq+'Unified')")
        .await;
    assert_eq!(all.body["value"].as_array().map(Vec::len), Some(1));

    // group-delete.txt
    assert_eq!(c.delete(&format!("/groups/{id}")).await.status, 204);
    assert_eq!(c.get(&format!("/groups/{id}")).await.status, 404);
}

#[tokio::test]
async fn membership_examples() {
    let c = start_default().await;
    let g = c.create_group("eng").await;
    let users: Vec<String> =
        futures::future::join_all((0..25).map(|i| c.create_user_owned(i))).await;
    let base = c.emu.base_url().to_owned();

    // group-add-member.txt example 1, then the "already a member" 400.
    let add = json!({"@odata.id": directory_ref(&base, &users[0])});
    assert_eq!(
        c.post(&format!("/groups/{g}/members/$ref"), add.clone())
            .await
            .status,
        204
    );
    c.post(&format!("/groups/{g}/members/$ref"), add).await.assert_error(
        400,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified properties: 'members'.",
    );
    let ghost = uuid_like(7);
    c.post(&format!("/groups/{g}/members/$ref"), json!({"@odata.id": directory_ref(&base, &ghost)}))
        .await
        .assert_error(404, "Request_ResourceNotFound", &format!("Resource '{ghost}' does not exist or one of its queried reference-property objects are not present."));

    // Example 2: PATCH members@odata.bind (3 new) → 204.
    let bind = |ids: &[String]| json!({"members@odata.bind": ids.iter().map(|i| directory_ref(&base, i)).collect::<Vec<_>>()});
    assert_eq!(
        c.patch(&format!("/groups/{g}"), bind(&users[1..4]))
            .await
            .status,
        204
    );
    // One already a member → whole request fails, nothing added.
    let mixed = vec![users[4].clone(), users[1].clone()];
    c.patch(&format!("/groups/{g}"), bind(&mixed)).await.assert_error(
        400,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified properties: 'members'.",
    );
    let m = c.get(&format!("/groups/{g}/members?$select=id")).await;
    assert_eq!(
        m.body["value"].as_array().map(Vec::len),
        Some(4),
        "user 4 was not added"
    );
    // More than 20 → 400.
    assert_eq!(
        c.patch(&format!("/groups/{g}"), bind(&users[4..25]))
            .await
            .status,
        400
    );

    // group-remove-member.txt, then a non-member is a 404.
    assert_eq!(
        c.delete(&format!("/groups/{g}/members/{}/$ref", users[0]))
            .await
            .status,
        204
    );
    c.delete(&format!("/groups/{g}/members/{}/$ref", users[0])).await.assert_error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{}' does not exist or one of its queried reference-property objects are not present.", users[0]),
    );
}

fn uuid_like(n: u8) -> String {
    format!("0000000{n}-0000-4000-8000-000000000000")
}

#[tokio::test]
async fn batch_examples() {
    let c = start_default().await;
    let g = c.create_group("batch").await;
    let u = c.create_user("carl").await;
    let base = c.emu.base_url().to_owned();
    let a = c
        .post(
            "/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": "/me/memberOf"},
                {"id": "3", "method": "DELETE", "url": format!("/groups/{}", uuid_like(3))},
                {"id": "5", "url": "users?$select=id,displayName,userPrincipalName&$filter=city eq null&$count=true",
                 "method": "GET", "headers": {"ConsistencyLevel": "eventual"}},
                {"id": "m1", "method": "POST", "url": format!("/groups/{g}/members/$ref"),
                 "headers": {"Content-Type": "application/json"}, "body": {"@odata.id": directory_ref(&base, &u)}},
                {"id": "m2", "method": "POST", "url": format!("/groups/{g}/members/$ref"), "dependsOn": ["m1"],
                 "headers": {"Content-Type": "application/json"}, "body": {"@odata.id": directory_ref(&base, &u)}}
            ]}),
        )
        .await;
    assert_eq!(a.status, 200);
    let by_id = |id: &str| {
        a.body["responses"]
            .as_array()
            .expect("responses")
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .expect("item")
    };
    let r1 = by_id("1");
    assert_eq!(r1["status"], 400);
    assert_error_body(
        &r1["body"],
        "BadRequest",
        "/me request is only valid with delegated authentication flow.",
    );
    let r3 = by_id("3");
    assert_eq!(r3["status"], 404);
    let r5 = by_id("5");
    assert_eq!(r5["status"], 200);
    assert_eq!(r5["body"]["@odata.count"], 1);
    assert_eq!(
        r5["headers"]["x-ms-resource-unit"], "1",
        "GET users with $select costs 2-1"
    );
    assert!(
        r5["headers"]["Content-Type"]
            .as_str()
            .is_some_and(|s| s.starts_with("application/json"))
    );
    assert_eq!(by_id("m1")["status"], 204);
    // batch-membership-canvas-reference.txt: the second add is the "already exist" 400.
    let m2 = by_id("m2");
    assert_eq!(m2["status"], 400);
    assert!(
        m2["body"]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("One or more added object references already exist"))
    );

    // dependsOn chain: 1 fails → 2, 4, 3 get 424.
    let chain = c
        .post(
            "/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": format!("/users/{}", uuid_like(1))},
                {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/users"},
                {"id": "4", "dependsOn": ["2"], "method": "GET", "url": "/users"},
                {"id": "3", "dependsOn": ["4"], "method": "GET", "url": "/users"}
            ]}),
        )
        .await;
    let statuses: Vec<(String, u64)> = chain.body["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 4);
    for (id, s) in statuses {
        assert_eq!(s, if id == "1" { 404 } else { 424 }, "item {id}");
    }

    // Removal through a batch, then the "not present" 404.
    let rm = json!({"requests": [{"id": "r", "method": "DELETE", "url": format!("/groups/{g}/members/{u}/$ref")}]});
    assert_eq!(
        c.post("/$batch", rm.clone()).await.body["responses"][0]["status"],
        204
    );
    let again = c.post("/$batch", rm).await;
    assert_eq!(again.body["responses"][0]["status"], 404);
    assert!(
        again.body["responses"][0]["body"]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(
                "does not exist or one of its queried reference-property objects are not present"
            ))
    );

    // Envelope errors: more than 20 items, duplicate ids.
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    assert_eq!(
        c.post("/$batch", json!({"requests": many})).await.status,
        400
    );
    let dup = json!({"requests": [{"id": "a", "method": "GET", "url": "/users"}, {"id": "A", "method": "GET", "url": "/users"}]});
    let d = c.post("/$batch", dup).await;
    assert_eq!(d.status, 400);
    assert_eq!(d.body["error"]["code"], "BadRequest");
}

#[tokio::test]
async fn paging_nextlink() {
    let c = start_default().await;
    c.emu
        .seed(json!({"users": (0..12).map(|i| json!({"userPrincipalName": format!("p{i}@contoso.onmicrosoft.com")})).collect::<Vec<_>>()}))
        .expect("seed");
    let ev = [("ConsistencyLevel", "eventual")];
    let mut next = Some("/users?$top=5&$count=true".to_owned());
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        let a = c.call(Method::GET, &url, None, &ev).await;
        assert_eq!(a.status, 200);
        // @odata.count only on the first page.
        assert_eq!(a.body.get("@odata.count").is_some(), pages == 0);
        for u in a.body["value"].as_array().expect("value") {
            seen.push(u["id"].as_str().expect("id").to_owned());
        }
        next = a.body["@odata.nextLink"].as_str().map(str::to_owned);
        if let Some(n) = &next {
            assert!(
                n.starts_with(&format!("{}/users?$top=5&", c.emu.base_url())),
                "{n}"
            );
            assert!(n.contains("$skiptoken="));
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12);
}

#[tokio::test]
async fn user_delta_rounds() {
    let c = start_default().await;
    let a = c.create_user("delta1").await;
    let b = c.create_user("delta2").await;
    let first = c.get("/users/delta").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.body["@odata.context"],
        format!("{}/$metadata#users", c.emu.base_url())
    );
    assert_eq!(first.body["value"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        keys(&first.body["value"][0]).len(),
        11,
        "default properties + id"
    );
    let link = first.body["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_owned();
    assert!(link.contains("/users/delta?$deltatoken="));

    let none = c.get(&link).await;
    assert_eq!(none.body["value"], json!([]));

    c.patch(&format!("/users/{a}"), json!({"jobTitle": "Engineer"}))
        .await;
    c.delete(&format!("/users/{b}")).await;
    let changes = c.get(&link).await;
    let v = changes.body["value"].as_array().expect("value");
    assert_eq!(v.len(), 2);
    assert!(
        v.iter()
            .any(|i| i["id"] == a.as_str() && i["jobTitle"] == "Engineer")
    );
    assert!(
        v.iter()
            .any(|i| i["id"] == b.as_str() && i["@removed"] == json!({"reason": "changed"}))
    );

    // Example 3: $select; a change outside the selection does not surface the object.
    let sel = c
        .get("/users/delta?$select=displayName,jobTitle,mobilePhone")
        .await;
    let sel_link = sel.body["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_owned();
    assert_eq!(
        keys(&sel.body["value"][0]),
        vec!["displayName", "id", "jobTitle", "mobilePhone"]
    );
    c.patch(&format!("/users/{a}"), json!({"city": "Paris"}))
        .await;
    assert_eq!(c.get(&sel_link).await.body["value"], json!([]));
    // Prefer: return=minimal returns only what changed (plus the id).
    c.patch(
        &format!("/users/{a}"),
        json!({"mobilePhone": "+1 425 555 0109"}),
    )
    .await;
    let minimal = c
        .call(
            Method::GET,
            &sel_link,
            None,
            &[("Prefer", "return=minimal")],
        )
        .await;
    assert_eq!(
        minimal.body["value"],
        json!([{"id": a, "mobilePhone": "+1 425 555 0109"}])
    );

    // "Sync from now" and expiry (delta-overview-rules.txt).
    let latest = c.get("/users/delta?$deltatoken=latest").await;
    assert_eq!(latest.body["value"], json!([]));
    assert!(latest.body["@odata.deltaLink"].is_string());
    c.emu
        .advance_clock(std::time::Duration::from_secs(8 * 24 * 3600));
    // The access token expired with the clock jump too; get a fresh one.
    let c = common::Ctx {
        token: common::token_for(&c.http, &c.emu).await,
        ..c
    };
    let gone = c.get(&link).await;
    gone.assert_error(
        410,
        "syncStateNotFound",
        "The delta token has expired. The application must restart with a full synchronization.",
    );
    assert_eq!(
        gone.headers["location"],
        format!("{}/users/delta?$deltatoken=", c.emu.base_url()).as_str()
    );
}

#[tokio::test]
async fn group_delta_members() {
    let c = start_default().await;
    let u1 = c.create_user("gd1").await;
    let u2 = c.create_user("gd2").await;
    let g = c.create_group("TestGroup3").await;
    let base = c.emu.base_url().to_owned();
    c.post(
        &format!("/groups/{g}/members/$ref"),
        json!({"@odata.id": directory_ref(&base, &u1)}),
    )
    .await;
    let first = c
        .get("/groups/delta?$select=displayName,description,members")
        .await;
    let item = &first.body["value"][0];
    assert_eq!(
        item["members@delta"],
        json!([{"@odata.type": "#microsoft.graph.user", "id": u1}])
    );
    let link = first.body["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_owned();
    assert_eq!(c.get(&link).await.body["value"], json!([]), "no changes");

    c.delete(&format!("/groups/{g}/members/{u1}/$ref")).await;
    c.post(
        &format!("/groups/{g}/members/$ref"),
        json!({"@odata.id": directory_ref(&base, &u2)}),
    )
    .await;
    let changed = c.get(&link).await;
    let v = changed.body["value"].as_array().expect("value");
    assert_eq!(v.len(), 1);
    assert_eq!(
        keys(&v[0]),
        vec!["description", "displayName", "id", "members@delta"]
    );
    let md = v[0]["members@delta"].as_array().expect("members@delta");
    assert!(md.contains(&json!({"@odata.type": "#microsoft.graph.user", "id": u1, "@removed": {"reason": "deleted"}})));
    assert!(md.contains(&json!({"@odata.type": "#microsoft.graph.user", "id": u2})));
}

#[tokio::test]
async fn resource_unit_headers() {
    let c = start_default().await;
    let g = c.create_group("ru").await;
    let h = |a: &common::Answer| {
        a.headers["x-ms-resource-unit"]
            .to_str()
            .expect("ru")
            .to_owned()
    };
    assert_eq!(h(&c.get("/users").await), "2");
    assert_eq!(h(&c.get("/users?$select=id").await), "1");
    assert_eq!(h(&c.get(&format!("/groups/{g}/members")).await), "3");
    assert_eq!(
        h(&c.get(&format!("/groups/{g}/members?$select=id&$top=5"))
            .await),
        "1"
    );
    let counters = c.inspect(Method::GET, "/counters", None).await;
    assert_eq!(counters["byRoute"]["GET /v1.0/groups/{id}/members"], 2);
    assert!(counters["writes"].as_u64().is_some_and(|w| w >= 1));
}

#[tokio::test]
async fn unknown_segments_and_methods() {
    let c = start_default().await;
    c.get("/nothing").await.assert_error(
        400,
        "BadRequest",
        "Resource not found for the segment 'nothing'.",
    );
    let a = c.call(Method::PUT, "/users", None, &[]).await;
    a.assert_error(
        405,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    );
    let client_req = c
        .call(
            Method::GET,
            "/users/not-there@contoso.onmicrosoft.com",
            None,
            &[("client-request-id", "abc-123")],
        )
        .await;
    assert_eq!(client_req.status, 404);
    assert_eq!(
        client_req.body["error"]["innerError"]["client-request-id"],
        "abc-123"
    );
    assert_eq!(client_req.headers["client-request-id"], "abc-123");
}
