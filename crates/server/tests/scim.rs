//! Inbound SCIM over a real listener, with requests shaped the way real clients send them
//! (Microsoft Entra's provisioning service, Okta, authentik), ending with what the directory
//! holds.

mod common;

use common::TestServer;
use model::{ChangeOp, ObjectKind, UserId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::{NewApiToken, TokenKind};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Scim {
    server: TestServer,
    token: String,
}

impl Scim {
    async fn start() -> Self {
        let server = TestServer::start().await;
        let token = scim_token(&server, "okta").await;
        Self { server, token }
    }

    /// A call as the SCIM client, with the media type SCIM clients send.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_with(&self.token, method, path, body, &[]).await
    }

    async fn call_with(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self
            .server
            .client
            .request(method, format!("{}/scim/v2{path}", self.server.base))
            .bearer_auth(token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        if status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED {
            assert_eq!(
                response
                    .headers()
                    .get("content-type")
                    .and_then(|value| value.to_str().ok()),
                Some("application/scim+json"),
                "{status}"
            );
        }
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, value)
    }
}

async fn scim_token(server: &TestServer, name: &str) -> String {
    let token = format!("es_scim_test_token_for_{name}_0123456789abcdef");
    server
        .store
        .create_api_token(NewApiToken {
            name,
            kind: TokenKind::Scim,
            secret: &token,
            expires_at: None,
        })
        .await
        .expect("SCIM token");
    token
}

fn assert_scim_error(body: &Value, status: u16, scim_type: Option<&str>) {
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{body}"
    );
    assert_eq!(body["status"], json!(status.to_string()), "{body}");
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("an id").to_owned()
}

async fn directory_user(server: &TestServer, id: &str) -> model::User {
    server
        .store
        .get_user(UserId::from_uuid(id.parse().expect("uuid")))
        .await
        .expect("the user")
}

#[tokio::test]
async fn only_scim_tokens_open_scim_and_they_open_nothing_else() {
    let scim = Scim::start().await;
    let admin = scim.server.token.clone();
    let (status, body) = scim
        .call_with(&admin, Method::GET, "/Users", None, &[])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_scim_error(&body, 401, None);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("--kind scim")),
        "{body}"
    );
    let (status, _) = scim
        .call_with("not-a-token", Method::GET, "/Users", None, &[])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scim.call(Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = scim
        .server
        .call_with(&scim.token, Method::GET, "/api/v1/users")
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a SCIM token opens no admin API"
    );
}

#[tokio::test]
async fn scim_tokens_are_made_with_the_admin_api() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "entra provisioning", "kind": "scim"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["kind"], "scim");
    let token = created["token"].as_str().expect("token");
    let response = server
        .client
        .get(format!("{}/scim/v2/Users", server.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "kind": "root"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// The sequence Microsoft Entra's provisioning service sends for one user: look it up by
/// userName, create it with the enterprise extension, update it by PATCH (`Replace` with
/// booleans as text, `Add` to a filtered email), set a manager, disable it, delete it.
#[tokio::test]
async fn entra_provisioning_a_user() {
    let scim = Scim::start().await;
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.example";
    let filter = format!("/Users?filter=userName+eq+%22{user_name}%22");
    let (status, empty) = scim.call(Method::GET, &filter, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["totalResults"], 0, "{empty}");
    assert_eq!(
        empty["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );

    let (status, created) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": user_name,
                "active": true,
                "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.example"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
                "roles": [],
                ENTERPRISE: {"employeeNumber": "E-1001", "department": "Finance"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id_of(&created);
    assert_eq!(created["userName"], user_name);
    assert_eq!(
        created["externalId"],
        "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    );
    assert_eq!(created[ENTERPRISE]["department"], "Finance");
    assert!(
        created["meta"]["location"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!("/scim/v2/Users/{id}")))
    );
    let user = directory_user(&scim.server, &id).await;
    assert_eq!(user.name, "givenName familyName");
    assert_eq!(
        user.email.as_ref().map(|e| e.as_str()),
        Some("Test_User_fd0ea19b@contoso.example")
    );
    assert_eq!(user.attributes.as_map()["department"], "Finance");
    assert_eq!(user.attributes.as_map()["name"]["givenName"], "givenName");
    let record = scim
        .server
        .store
        .scim_user(user.id)
        .await
        .expect("record")
        .record;
    assert_eq!(record.client.as_deref(), Some("okta"));

    let (status, found) = scim.call(Method::GET, &filter, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id.as_str());

    let (status, patched) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": [PATCH],
                "Operations": [
                    {"op": "Replace", "path": "displayName", "value": "Grace Hopper"},
                    {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "grace@contoso.example"},
                    {"op": "Replace", "path": "name.familyName", "value": "Hopper"},
                    {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "26118915-6090-4610-87e4-49d8ca9f808d"},
                    {"op": "Add", "path": "title", "value": "Rear Admiral"},
                ],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let user = directory_user(&scim.server, &id).await;
    assert_eq!(user.name, "Grace Hopper");
    assert_eq!(
        user.email.as_ref().map(|e| e.as_str()),
        Some("grace@contoso.example")
    );
    assert_eq!(user.attributes.as_map()["name"]["familyName"], "Hopper");
    assert_eq!(user.attributes.as_map()["title"], "Rear Admiral");
    assert!(
        user.attributes.as_map().contains_key("manager"),
        "{:?}",
        user.attributes
    );
    assert!(user.is_active);

    let (status, _) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !directory_user(&scim.server, &id).await.is_active,
        "disabled"
    );

    let (status, _) = scim
        .call(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = scim.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_scim_error(&gone, 404, None);

    // Every write was a directory write with its change record: create, 2 updates, delete.
    let changes = scim
        .server
        .store
        .changes_after(0, 100)
        .await
        .expect("changes");
    let ops: Vec<ChangeOp> = changes
        .iter()
        .filter(|change| change.kind == ObjectKind::User && change.object_id == user.id.as_uuid())
        .map(|change| change.op)
        .collect();
    assert_eq!(
        ops,
        [
            ChangeOp::Create,
            ChangeOp::Update,
            ChangeOp::Update,
            ChangeOp::Delete
        ]
    );
}

/// Entra's group sequence: look up by displayName without members, create, add members,
/// remove members by value, rename.
#[tokio::test]
async fn entra_provisioning_a_group() {
    let scim = Scim::start().await;
    let mut users = Vec::new();
    for name in ["ada", "alan", "edsger"] {
        let (status, created) = scim
            .call(
                Method::POST,
                "/Users",
                Some(json!({"schemas": [USER], "userName": format!("{name}@contoso.example"), "active": true})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        users.push(id_of(&created));
    }
    let (status, none) = scim
        .call(
            Method::GET,
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22Engineering%22",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none["totalResults"], 0);
    let (status, group) = scim
        .call(
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Engineering",
                "meta": {"resourceType": "Group"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = id_of(&group);
    let (_, shown) = scim
        .server
        .call(Method::GET, &format!("/api/v1/groups/{group_id}"), None)
        .await;
    assert_eq!(shown["scim"]["client"], "okta", "{shown}");
    assert_eq!(shown["name"], "Engineering");
    let (status, _) = scim
        .call(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}, {"value": users[2]}]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = scim
        .call(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": users[1]}]},
                {"op": "Replace", "path": "displayName", "value": "Engineering (all)"},
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, read) = scim
        .call(Method::GET, &format!("/Groups/{group_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["displayName"], "Engineering (all)");
    let mut members: Vec<&str> = read["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    members.sort_unstable();
    let mut expected = vec![users[0].as_str(), users[2].as_str()];
    expected.sort_unstable();
    assert_eq!(members, expected);
    let (status, listed) = scim
        .call(
            Method::GET,
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22engineering+(all)%22",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed["totalResults"], 1,
        "displayName is compared regardless of case"
    );
    assert!(listed["Resources"][0].get("members").is_none(), "{listed}");
    let changes = scim
        .server
        .store
        .changes_after(0, 100)
        .await
        .expect("changes");
    let memberships = changes
        .iter()
        .filter(|change| change.kind == ObjectKind::Membership)
        .count();
    assert_eq!(memberships, 4, "three adds and one removal, each recorded");
}

/// Okta: look up with paging parameters, create, replace with PUT, deactivate with a
/// path-less PATCH; push a group and change its members by value-path filters.
#[tokio::test]
async fn okta_provisioning() {
    let scim = Scim::start().await;
    let (status, none) = scim
        .call(
            Method::GET,
            "/Users?filter=userName%20eq%20%22dade.murphy%40example.com%22&startIndex=1&count=100",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none["totalResults"], 0);
    let (status, created) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [USER],
                "userName": "dade.murphy@example.com",
                "name": {"givenName": "Dade", "familyName": "Murphy"},
                "emails": [{"primary": true, "value": "dade.murphy@example.com", "type": "work"}],
                "displayName": "Dade Murphy",
                "locale": "en-US",
                "externalId": "00u1esetiaJ4H4Bv10h8",
                "groups": [],
                "password": "1mz050nq",
                "active": true,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id_of(&created);
    assert!(
        created.get("password").is_none(),
        "a password is never kept or shown"
    );
    let user = directory_user(&scim.server, &id).await;
    assert!(!user.attributes.as_map().contains_key("password"));
    let mut replaced = created.clone();
    replaced["name"]["familyName"] = json!("Murphy-Burns");
    replaced["displayName"] = json!("Dade Murphy-Burns");
    let (status, put) = scim
        .call(Method::PUT, &format!("/Users/{id}"), Some(replaced))
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["displayName"], "Dade Murphy-Burns");
    let (status, patched) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["active"], false);
    assert!(!directory_user(&scim.server, &id).await.is_active);

    let (status, other) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "kate.libby@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let other = id_of(&other);
    let (status, group) = scim
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Hackers", "members": [{"value": id, "display": "dade.murphy@example.com"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = id_of(&group);
    let (status, _) = scim
        .call(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "replace", "value": {"id": group_id, "displayName": "Hackers (1995)"}},
                {"op": "add", "path": "members", "value": [{"value": other, "display": "kate.libby@example.com"}]},
                {"op": "remove", "path": format!("members[value eq \"{id}\"]")},
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let stored = scim
        .server
        .store
        .scim_group(model::GroupId::from_uuid(group_id.parse().expect("uuid")))
        .await
        .expect("group");
    assert_eq!(stored.group.name.as_str(), "Hackers (1995)");
    assert_eq!(
        stored.members,
        vec![UserId::from_uuid(other.parse().expect("uuid"))]
    );
}

/// authentik's SCIM provider: PUT for updates, group membership by PATCH with a path-less add
/// and a filtered remove.
#[tokio::test]
async fn authentik_provisioning() {
    let scim = Scim::start().await;
    let (_, first) = scim
        .call(Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "akadmin", "name": {"formatted": "authentik Default Admin", "givenName": "authentik", "familyName": "Default Admin"}, "displayName": "authentik Default Admin", "active": true, "emails": [{"value": "root@localhost.example", "type": "other", "primary": true}]})))
        .await;
    let first = id_of(&first);
    let (_, second) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "jdoe", "active": true})),
        )
        .await;
    let second = id_of(&second);
    let (status, group) = scim
        .call(Method::POST, "/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "authentik Admins", "members": []})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = id_of(&group);
    let (status, _) = scim
        .call(Method::PATCH, &format!("/Groups/{group_id}"), Some(json!({"schemas": [PATCH], "Operations": [{"op": "add", "value": {"members": [{"value": first}, {"value": second}]}}]})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = scim
        .call(Method::PATCH, &format!("/Groups/{group_id}"), Some(json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": format!("members[value eq \"{first}\"]")}]})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let stored = scim
        .server
        .store
        .scim_group(model::GroupId::from_uuid(group_id.parse().expect("uuid")))
        .await
        .expect("group");
    assert_eq!(
        stored.members,
        vec![UserId::from_uuid(second.parse().expect("uuid"))],
        "a filtered removal removes"
    );
    let (status, put) = scim
        .call(Method::PUT, &format!("/Users/{first}"), Some(json!({"schemas": [USER], "userName": "akadmin", "displayName": "Admin", "active": true})))
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    let user = directory_user(&scim.server, &first).await;
    assert_eq!(user.name, "Admin");
    assert_eq!(
        user.email, None,
        "a replace without emails clears the email"
    );
    assert!(
        !user.attributes.as_map().contains_key("name"),
        "nor does it keep the old name"
    );
}

#[tokio::test]
async fn errors_are_scim_errors_with_their_type() {
    let scim = Scim::start().await;
    let body = json!({"schemas": [USER], "userName": "taken@example.com"});
    let (status, _) = scim.call(Method::POST, "/Users", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, duplicate) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "TAKEN@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_scim_error(&duplicate, 409, Some("uniqueness"));

    let (status, filter) = scim
        .call(Method::GET, "/Users?filter=userName+eq", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_scim_error(&filter, 400, Some("invalidFilter"));

    let (status, missing) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"displayName": "no name"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_scim_error(&missing, 400, Some("invalidValue"));

    let response = scim
        .server
        .client
        .post(format!("{}/scim/v2/Users", scim.server.base))
        .bearer_auth(&scim.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let syntax: Value = response.json().await.expect("json");
    assert_scim_error(&syntax, 400, Some("invalidSyntax"));

    let (status, unknown) = scim.call(Method::GET, "/Users/not-an-id", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_scim_error(&unknown, 404, None);
    let (status, _) = scim
        .call(
            Method::GET,
            &format!("/Users/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, stranger) = scim
        .call(Method::POST, "/Groups", Some(json!({"displayName": "G", "members": [{"value": uuid::Uuid::new_v4().to_string()}]})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_scim_error(&stranger, 400, Some("invalidValue"));

    let (_, created) = scim
        .call(
            Method::GET,
            "/Users?filter=userName+eq+%22taken@example.com%22",
            None,
        )
        .await;
    let id = created["Resources"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, bad_op) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "move", "path": "title"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_scim_error(&bad_op, 400, Some("invalidSyntax"));
    let (status, read_only) = scim
        .call(Method::PATCH, &format!("/Users/{id}"), Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "id", "value": "x"}]})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_scim_error(&read_only, 400, Some("mutability"));
    let (status, bad_active) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"Operations": [{"op": "replace", "path": "active", "value": "maybe"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_scim_error(&bad_active, 400, Some("invalidValue"));
}

#[tokio::test]
async fn versions_guard_writes() {
    let scim = Scim::start().await;
    let (_, created) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "v@example.com"})),
        )
        .await;
    let id = id_of(&created);
    let version = created["meta"]["version"]
        .as_str()
        .expect("version")
        .to_owned();
    let (status, _) = scim
        .call_with(
            &scim.token,
            Method::GET,
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", &version)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let patch = json!({"Operations": [{"op": "replace", "path": "displayName", "value": "V"}]});
    let (status, patched) = scim
        .call_with(
            &scim.token,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch.clone()),
            &[("if-match", &version)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_ne!(
        patched["meta"]["version"],
        version.as_str(),
        "the version moved"
    );
    let (status, stale) = scim
        .call_with(
            &scim.token,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch),
            &[("if-match", &version)],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_scim_error(&stale, 412, None);
    let (status, _) = scim
        .call_with(
            &scim.token,
            Method::DELETE,
            &format!("/Users/{id}"),
            None,
            &[("if-match", &version)],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::PRECONDITION_FAILED,
        "a stale delete is refused too"
    );
}

#[tokio::test]
async fn lists_page_filter_and_project() {
    let scim = Scim::start().await;
    for n in 0..7 {
        let (status, _) = scim
            .call(
                Method::POST,
                "/Users",
                Some(json!({
                    "userName": format!("user{n}@example.com"),
                    "title": if n % 2 == 0 { "Engineer" } else { "Manager" },
                    "active": n != 3,
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, page) = scim
        .call(Method::GET, "/Users?startIndex=3&count=2", None)
        .await;
    assert_eq!(page["totalResults"], 7);
    assert_eq!(page["startIndex"], 3);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(page["Resources"].as_array().map(Vec::len), Some(2));
    let (_, engineers) = scim
        .call(
            Method::GET,
            "/Users?filter=title+eq+%22engineer%22+and+active+eq+true&attributes=userName",
            None,
        )
        .await;
    assert_eq!(engineers["totalResults"], 4, "{engineers}");
    let first = &engineers["Resources"][0];
    assert!(first.get("userName").is_some() && first.get("id").is_some());
    assert!(
        first.get("title").is_none() && first.get("active").is_none(),
        "{first}"
    );
    let (status, searched) = scim
        .call(
            Method::POST,
            "/Users/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"user1\" or not (active eq true)", "count": 10})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(searched["totalResults"], 2, "{searched}");
    let (_, zero) = scim.call(Method::GET, "/Users?count=0", None).await;
    assert_eq!(zero["totalResults"], 7);
    assert_eq!(zero["Resources"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn discovery_tells_what_is_supported() {
    let scim = Scim::start().await;
    let (status, config) = scim.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(config["etag"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], true);
    assert_eq!(config["sort"]["supported"], true);
    let (_, types) = scim.call(Method::GET, "/ResourceTypes", None).await;
    assert_eq!(types["totalResults"], 2);
    let (status, user_type) = scim.call(Method::GET, "/ResourceTypes/User", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user_type["schemaExtensions"][0]["schema"], ENTERPRISE);
    let (_, schemas) = scim.call(Method::GET, "/Schemas", None).await;
    assert_eq!(schemas["totalResults"], 3);
    let (status, user_schema) = scim
        .call(Method::GET, &format!("/Schemas/{USER}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let attributes: Vec<&str> = user_schema["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(attributes.contains(&"userName") && attributes.contains(&"emails"));
    assert!(
        !attributes.contains(&"password"),
        "what is not kept is not announced"
    );
    let (status, _) = scim.call(Method::GET, "/Bulk", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn bulk_resolves_references_in_any_order_and_stops_on_errors() {
    let scim = Scim::start().await;
    let (status, answer) = scim
        .call(
            Method::POST,
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    // Named before the users it lists: it waits for them.
                    {"method": "POST", "path": "/Groups", "bulkId": "staff",
                     "data": {"displayName": "Staff", "members": [{"type": "User", "value": "bulkId:ada"}, {"type": "User", "value": "bulkId:alan"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "ada", "data": {"schemas": [USER], "userName": "ada@example.com"}},
                    {"method": "POST", "path": "/Users", "bulkId": "alan", "data": {"schemas": [USER], "userName": "alan@example.com"}},
                    {"method": "PATCH", "path": "/Users/bulkId:ada", "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Ada Lovelace"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "again", "data": {"userName": "ADA@example.com"}},
                    {"method": "DELETE", "path": "/Users/bulkId:nobody"},
                ],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let results = answer["Operations"].as_array().expect("operations");
    let statuses: Vec<&str> = results
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["201", "201", "201", "200", "409", "400"],
        "{answer}"
    );
    assert_eq!(results[4]["response"]["scimType"], "uniqueness");
    assert!(
        results[1]["location"]
            .as_str()
            .is_some_and(|l| l.contains("/scim/v2/Users/"))
    );
    let group_location = results[0]["location"].as_str().expect("location");
    let group_id = group_location.rsplit('/').next().expect("id");
    let stored = scim
        .server
        .store
        .scim_group(model::GroupId::from_uuid(group_id.parse().expect("uuid")))
        .await
        .expect("group");
    assert_eq!(
        stored.members.len(),
        2,
        "the references became the users' ids"
    );
    let (_, ada) = scim
        .call(
            Method::GET,
            "/Users?filter=userName+eq+%22ada@example.com%22",
            None,
        )
        .await;
    assert_eq!(ada["Resources"][0]["displayName"], "Ada Lovelace");

    // failOnErrors: processing stops after that many errors.
    let (status, stopped) = scim
        .call(
            Method::POST,
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "ada@example.com"}},
                    {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"userName": "never@example.com"}},
                ],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stopped["Operations"].as_array().map(Vec::len),
        Some(1),
        "{stopped}"
    );
    let (_, never) = scim
        .call(
            Method::GET,
            "/Users?filter=userName+eq+%22never@example.com%22",
            None,
        )
        .await;
    assert_eq!(never["totalResults"], 0);

    // References in a circle cannot be resolved.
    let (_, circle) = scim
        .call(
            Method::POST,
            "/Bulk",
            Some(json!({"Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a@example.com", "title": "bulkId:b"}},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "b@example.com", "title": "bulkId:a"}},
            ]})),
        )
        .await;
    let statuses: Vec<&str> = circle["Operations"]
        .as_array()
        .expect("ops")
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses, ["409", "409"], "{circle}");

    let too_many: Vec<Value> = (0..1001)
        .map(|n| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{n}"), "data": {"userName": format!("u{n}")}}))
        .collect();
    let (status, refused) = scim
        .call(Method::POST, "/Bulk", Some(json!({"Operations": too_many})))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_scim_error(&refused, 413, Some("tooMany"));
    let (_, config) = scim.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(config["bulk"]["maxOperations"], 1000);
    assert_eq!(config["bulk"]["maxPayloadSize"], 4 * 1024 * 1024);
}

#[tokio::test]
async fn lists_sort_by_any_attribute() {
    let scim = Scim::start().await;
    for (name, title) in [("carol", "b"), ("alice", "c"), ("Bob", "a"), ("dave", "")] {
        let mut body = json!({"userName": name});
        if !title.is_empty() {
            body["title"] = json!(title);
        }
        scim.call(Method::POST, "/Users", Some(body)).await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["Resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|r| r["userName"].as_str().map(str::to_owned))
            .collect()
    };
    let (_, ascending) = scim.call(Method::GET, "/Users?sortBy=userName", None).await;
    assert_eq!(
        names(&ascending),
        ["alice", "Bob", "carol", "dave"],
        "case-insensitive"
    );
    let (_, descending) = scim
        .call(
            Method::GET,
            "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2",
            None,
        )
        .await;
    assert_eq!(names(&descending), ["carol", "Bob"]);
    assert_eq!(descending["totalResults"], 4);
    let (_, by_title) = scim
        .call(
            Method::GET,
            "/Users?sortBy=title&sortOrder=descending",
            None,
        )
        .await;
    assert_eq!(
        names(&by_title),
        ["alice", "carol", "Bob", "dave"],
        "without a title: last"
    );
    let (status, bad) = scim
        .call(
            Method::GET,
            "/Users?sortBy=userName&sortOrder=sideways",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_scim_error(&bad, 400, Some("invalidValue"));
}

#[tokio::test]
async fn the_root_search_spans_users_and_groups() {
    let scim = Scim::start().await;
    for name in ["ann", "ben"] {
        scim.call(
            Method::POST,
            "/Users",
            Some(json!({"userName": name, "externalId": "x"})),
        )
        .await;
    }
    for name in ["Admins", "Staff"] {
        scim.call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": name, "externalId": "x"})),
        )
        .await;
    }
    let search = |start: u64, count: u64| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
               "filter": "externalId eq \"x\"", "startIndex": start, "count": count,
               "excludedAttributes": ["members"]})
    };
    let (status, all) = scim
        .call(Method::POST, "/.search", Some(search(1, 10)))
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["totalResults"], 4);
    let kinds: Vec<&str> = all["Resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["meta"]["resourceType"].as_str())
        .collect();
    assert_eq!(kinds, ["User", "User", "Group", "Group"]);
    let (_, middle) = scim
        .call(Method::POST, "/.search", Some(search(2, 2)))
        .await;
    let kinds: Vec<&str> = middle["Resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["meta"]["resourceType"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["User", "Group"],
        "the page runs on from users into groups"
    );
    let (_, last) = scim
        .call(Method::POST, "/.search", Some(search(4, 5)))
        .await;
    assert_eq!(last["Resources"].as_array().map(Vec::len), Some(1));
    assert_eq!(last["totalResults"], 4);
}

#[tokio::test]
async fn an_indexed_lookup_sorts_too() {
    let scim = Scim::start().await;
    scim.call(Method::POST, "/Users", Some(json!({"userName": "solo"})))
        .await;
    let (_, found) = scim
        .call(
            Method::GET,
            "/Users?filter=userName+eq+%22solo%22&sortBy=userName",
            None,
        )
        .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(
        found["Resources"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );
}

/// Entra's provisioning of a user with a custom extension schema: created with it, updated by
/// `Replace` and `Add` on its attributes, found by a filter on one; the directory keeps the
/// object under its URN (where mappings read it) and SCIM renders it back.
#[tokio::test]
async fn entra_custom_extension_attributes() {
    const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    let scim = Scim::start().await;
    let (status, created) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [USER, CUSTOM],
                "userName": "worksite@contoso.example",
                "active": true,
                CUSTOM: {"worksiteId": "180", "costCentre": "X"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id_of(&created);
    assert_eq!(
        created[CUSTOM],
        json!({"worksiteId": "180", "costCentre": "X"})
    );
    assert_eq!(created["schemas"], json!([USER, CUSTOM]));

    let (status, patched) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": [PATCH],
                "Operations": [
                    {"op": "Replace", "path": format!("{CUSTOM}:worksiteId"), "value": "181"},
                    {"op": "Add", "path": format!("{CUSTOM}:costCentre"), "value": "Y"},
                ],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched[CUSTOM],
        json!({"worksiteId": "181", "costCentre": "Y"})
    );

    let filter = |value: &str| format!("/Users?filter={CUSTOM}:worksiteId+eq+%22{value}%22");
    let (status, found) = scim.call(Method::GET, &filter("181"), None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    let (_, stale) = scim.call(Method::GET, &filter("180"), None).await;
    assert_eq!(stale["totalResults"], 0, "{stale}");

    let user = directory_user(&scim.server, &id).await;
    assert_eq!(
        user.attributes.as_map()[CUSTOM],
        json!({"worksiteId": "181", "costCentre": "Y"})
    );
    // What docs/scim.md tells mappings to write: the URN as an index, or `get` when a user
    // may lack the extension.
    let mapper = mapping::Mapper::new();
    let provider = mapping::ProviderContext::new("entra", &Value::Null);
    let mapped = mapper
        .try_mapping(
            &mapping::Mapping::new(
                "custom",
                mapping::MappingKind::User,
                format!(
                    r#"#{{
                        department: user.attributes["{CUSTOM}"].worksiteId,
                        jobTitle: get(get(user.attributes, "{CUSTOM}", #{{}}), "costCentre", ()),
                    }}"#
                ),
            ),
            &mapping::Subject::User(mapping::UserInput {
                user: &user,
                group_names: &[],
            }),
            &mapping::Context {
                provider: &provider,
                link: None,
            },
        )
        .expect("the mapping runs");
    let document = mapped.document().expect("a document");
    assert_eq!(document.get("department"), Some(&json!("181")));
    assert_eq!(document.get("jobTitle"), Some(&json!("Y")));

    let (status, read) = scim.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(
        read[CUSTOM],
        json!({"worksiteId": "181", "costCentre": "Y"})
    );
    assert_eq!(read["schemas"], json!([USER, CUSTOM]));

    // A URN that is no extension of users stays an invalid path.
    let (status, error) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": [PATCH],
                "Operations": [{"op": "Add", "path": "urn:example:foo:bar", "value": "x"}],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_scim_error(&error, 400, Some("invalidPath"));

    // Emptied by PATCH: the key goes from the attributes, the URN from `schemas`.
    let (status, emptied) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": [PATCH],
                "Operations": [
                    {"op": "Remove", "path": format!("{CUSTOM}:worksiteId")},
                    {"op": "Remove", "path": format!("{CUSTOM}:costCentre")},
                ],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{emptied}");
    assert_eq!(emptied["schemas"], json!([USER]));
    assert!(emptied.get(CUSTOM).is_none(), "{emptied}");
    let user = directory_user(&scim.server, &id).await;
    assert!(
        !user.attributes.as_map().contains_key(CUSTOM),
        "{:?}",
        user.attributes
    );

    // An extension must be an object of attributes.
    let (status, error) = scim
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({"userName": "worksite@contoso.example", CUSTOM: "181"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_scim_error(&error, 400, Some("invalidValue"));
}
