//! Property mappings over the admin API: saved only when they compile, tried against real
//! directory objects without writing anything.

mod common;

use common::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn server_with_alice() -> TestServer {
    let server = TestServer::start().await;
    let (status, _) = server
        .call(Method::POST, "/api/v1/users", Some(json!({
            "username": "alice", "name": "Alice Liddell", "email": "alice@contoso.onmicrosoft.com",
            "attributes": {"department": "R&D"}
        })))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"name": "Research & Development"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/groups/Research%20%26%20Development/members",
            Some(json!({"users": ["alice"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    server
}

#[tokio::test]
async fn the_defaults_are_installed_and_mappings_are_managed() {
    let server = TestServer::start().await;
    let (status, page) = server.call(Method::GET, "/api/v1/mappings", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&mapping::DEFAULT_USER_MAPPING_NAME));

    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/mappings",
            Some(json!({
                "name": "department", "kind": "user",
                "expression": "#{ department: get(user.attributes, \"department\", \"\") }"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/mappings",
            Some(json!({"name": "DEPARTMENT", "kind": "user", "expression": "()"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&answer, "conflict", Some("name"));

    let (status, users_only) = server
        .call(Method::GET, "/api/v1/mappings?kind=user", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users_only["items"].as_array().map(Vec::len), Some(2));

    let (status, renamed) = server
        .call(
            Method::PATCH,
            "/api/v1/mappings/department",
            Some(json!({"name": "Department (HR)"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("Department (HR)"))
    );
    let id = created["id"].as_str().expect("id");
    let (status, _) = server
        .call(Method::DELETE, &format!("/api/v1/mappings/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = server
        .call(Method::GET, &format!("/api/v1/mappings/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, "not_found", None);
}

#[tokio::test]
async fn a_mapping_that_does_not_compile_cannot_be_saved() {
    let server = TestServer::start().await;
    let broken = "let x = 1;\nlet y = ;\n#{ displayName: x }";
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/mappings",
            Some(json!({"name": "broken", "kind": "user", "expression": broken})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_error(&answer, "validation_failed", Some("expression"));
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("line 2"),
        "the error gives the line: {message}"
    );

    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/mappings",
            Some(
                json!({"name": "typo", "kind": "user", "expression": "#{ displayName: usr.name }"}),
            ),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an unknown variable is caught on save: {answer}"
    );

    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/mappings",
            Some(json!({"name": "bad kind", "kind": "device", "expression": "()"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&answer, "validation_failed", Some("kind"));

    let (status, answer) = server
        .call(
            Method::PATCH,
            &format!("/api/v1/mappings/{}", "entrasync%20default%3A%20user"),
            Some(json!({"expression": "#{"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_error(&answer, "validation_failed", Some("expression"));
    let (_, list) = server.call(Method::GET, "/api/v1/mappings", None).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(2),
        "nothing was saved"
    );
}

#[tokio::test]
async fn trying_the_defaults_on_a_user_and_a_group() {
    let server = server_with_alice().await;
    let (status, report) = server
        .call(
            Method::POST,
            "/api/v1/mapping-test",
            Some(json!({
                "mappings": [mapping::DEFAULT_USER_MAPPING_NAME], "user": "alice"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["outcome"], "document", "{report}");
    let document = &report["document"];
    assert_eq!(document["displayName"], "Alice Liddell");
    assert_eq!(
        document["userPrincipalName"],
        "alice@contoso.onmicrosoft.com"
    );
    assert_eq!(document["accountEnabled"], true);
    assert!(
        document["passwordProfile"]["password"]
            .as_str()
            .is_some_and(|p| p.len() >= 16),
        "a create gets a password"
    );

    let (_, update) = server
        .call(Method::POST, "/api/v1/mapping-test", Some(json!({
            "mappings": [mapping::DEFAULT_USER_MAPPING_NAME], "user": "alice", "link": {"id": "remote-1"}
        })))
        .await;
    assert!(
        update["document"].get("passwordProfile").is_none(),
        "an update sends no password: {update}"
    );

    let (_, group) = server
        .call(
            Method::POST,
            "/api/v1/mapping-test",
            Some(json!({
                "mappings": [mapping::DEFAULT_GROUP_MAPPING_NAME], "group": "Research & Development"
            })),
        )
        .await;
    assert_eq!(group["document"]["securityEnabled"], true, "{group}");
    assert_eq!(group["document"]["mailEnabled"], false);
}

#[tokio::test]
async fn trying_an_unsaved_expression_shows_skips_and_errors() {
    let server = server_with_alice().await;
    let try_expression = |expression: &str| json!({"expression": expression, "user": "alice", "provider": {"name": "Contoso", "tenant": "contoso"}});
    let (_, skip) = server
        .call(
            Method::POST,
            "/api/v1/mapping-test",
            Some(try_expression(
                r#"if "Research & Development" in user.groups { skip("R&D stays out") }"#,
            )),
        )
        .await;
    assert_eq!(
        (skip["outcome"].as_str(), skip["reason"].as_str()),
        (Some("skip"), Some("R&D stays out")),
        "{skip}"
    );

    let (_, provider) = server
        .call(
            Method::POST,
            "/api/v1/mapping-test",
            Some(try_expression(
                "#{ department: provider.name + \"/\" + provider.tenant }",
            )),
        )
        .await;
    assert_eq!(
        provider["document"]["department"], "Contoso/contoso",
        "{provider}"
    );

    let (_, error) = server
        .call(
            Method::POST,
            "/api/v1/mapping-test",
            Some(try_expression("#{ displayName: user.nmae }")),
        )
        .await;
    assert_eq!(
        error["outcome"], "mapping_error",
        "strict property access: {error}"
    );

    let (_, unknown) = server
        .call(
            Method::POST,
            "/api/v1/mapping-test",
            Some(try_expression("#{ displayNme: user.name }")),
        )
        .await;
    assert_eq!(unknown["outcome"], "mapping_error", "{unknown}");
    assert!(
        unknown.to_string().contains("displayNme"),
        "names the property: {unknown}"
    );

    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/mapping-test",
            Some(json!({"expression": "()", "user": "alice", "group": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&answer, "validation_failed", None);
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/mapping-test",
            Some(json!({"mappings": ["nope"], "user": "alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, "not_found", Some("mappings[0]"));
    let _: Value = answer;
}
