//! Providers over the admin API: defaults, validation naming the field, write-only credentials
//! sealed at rest, and protection of the mappings and groups they use.

mod common;

use common::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use store::ProviderCredential;

const SECRET: &str = "never-shown~0123456789";

fn contoso() -> Value {
    json!({
        "name": "Contoso",
        "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
        "client_secret": SECRET,
    })
}

#[tokio::test]
async fn a_provider_gets_the_defaults_and_never_shows_its_secret() {
    let server = TestServer::start().await;
    let response = server
        .request(Method::POST, "/api/v1/providers")
        .json(&contoso())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.expect("body");
    assert!(!text.contains(SECRET), "the secret is write-only: {text}");
    let provider: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(provider["credential"], "client_secret");
    assert_eq!(provider["cloud"], "global");
    assert_eq!(
        (
            provider["dry_run"].clone(),
            provider["discovery"].clone(),
            provider["enabled"].clone()
        ),
        (json!(false), json!(true), json!(true))
    );
    assert_eq!(provider["user_delete_action"], "delete");
    assert_eq!(provider["group_scope"], json!({"mode": "all"}));
    assert!(
        provider["schedule"]["cron"]
            .as_str()
            .is_some_and(|c| c.ends_with(" */4 * * *")),
        "{provider}"
    );
    let (_, default_user) = server
        .call(
            Method::GET,
            &format!("/api/v1/mappings/{}", "entrasync%20default%3A%20user"),
            None,
        )
        .await;
    assert_eq!(provider["user_mappings"], json!([default_user["id"]]));
    assert_eq!(provider["group_mappings"].as_array().map(Vec::len), Some(1));

    let (status, by_name) = server
        .call(Method::GET, "/api/v1/providers/contoso", None)
        .await;
    assert_eq!((status, &by_name), (StatusCode::OK, &provider));
    let (_, list) = server.call(Method::GET, "/api/v1/providers", None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    let id = provider["id"]
        .as_str()
        .expect("id")
        .parse::<uuid::Uuid>()
        .expect("uuid");
    match server
        .store
        .provider_credential(id.into(), &server.secret_key)
        .await
        .expect("open")
    {
        ProviderCredential::ClientSecret(secret) => assert_eq!(secret.expose_secret(), SECRET),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_settings_are_refused_naming_the_field() {
    let server = TestServer::start().await;
    server
        .call(
            Method::POST,
            "/api/v1/mappings",
            Some(json!({"name": "groups only", "kind": "group", "expression": "()"})),
        )
        .await;
    let with = |patch: Value| {
        let mut body = contoso();
        for (key, value) in patch.as_object().cloned().unwrap_or_default() {
            if value.is_null() {
                body.as_object_mut().map(|b| b.remove(&key));
            } else {
                body[key] = value;
            }
        }
        body
    };
    let cases = [
        (
            with(json!({"client_id": null})),
            StatusCode::BAD_REQUEST,
            "client_id",
        ),
        (
            with(json!({"client_id": "my app"})),
            StatusCode::BAD_REQUEST,
            "client_id",
        ),
        (
            with(json!({"tenant_id": "not a tenant"})),
            StatusCode::BAD_REQUEST,
            "tenant_id",
        ),
        (
            with(json!({"client_secret": null})),
            StatusCode::BAD_REQUEST,
            "client_secret",
        ),
        (
            with(json!({"certificate": {"certificate_pem": "x", "private_key_pem": "y"}})),
            StatusCode::BAD_REQUEST,
            "certificate",
        ),
        (
            with(json!({"schedule": {"cron": "every day"}})),
            StatusCode::BAD_REQUEST,
            "schedule.cron",
        ),
        (
            with(json!({"user_mappings": ["nope"]})),
            StatusCode::NOT_FOUND,
            "user_mappings[0]",
        ),
        (
            with(json!({"user_mappings": ["groups only"]})),
            StatusCode::BAD_REQUEST,
            "user_mappings[0]",
        ),
        (
            with(json!({"user_scope": {"filter_group": "Nobody"}})),
            StatusCode::NOT_FOUND,
            "user_scope.filter_group",
        ),
        (
            with(json!({"group_scope": {"mode": "selected", "groups": ["Nobody"]}})),
            StatusCode::NOT_FOUND,
            "group_scope.groups[0]",
        ),
        (
            with(json!({"user_delete_action": "shred"})),
            StatusCode::BAD_REQUEST,
            "user_delete_action",
        ),
        (
            with(json!({"tenent_id": "typo"})),
            StatusCode::BAD_REQUEST,
            "tenent_id",
        ),
    ];
    for (body, status, field) in cases {
        let (got, answer) = server
            .call(Method::POST, "/api/v1/providers", Some(body.clone()))
            .await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert_eq!(answer["error"]["field"], field, "{body} -> {answer}");
    }
    let (_, list) = server.call(Method::GET, "/api/v1/providers", None).await;
    assert_eq!(list["items"], json!([]), "nothing was stored");
    let (status, _) = server
        .call(Method::POST, "/api/v1/providers", Some(contoso()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/providers",
            Some(with(json!({"name": "CONTOSO"}))),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&answer, "conflict", Some("name"));
}

#[tokio::test]
async fn updates_change_scope_and_rotate_the_credential() {
    let server = TestServer::start().await;
    for name in ["Staff", "Sales"] {
        server
            .call(Method::POST, "/api/v1/groups", Some(json!({"name": name})))
            .await;
    }
    let (_, provider) = server
        .call(Method::POST, "/api/v1/providers", Some(contoso()))
        .await;
    let (status, updated) = server
        .call(Method::PATCH, "/api/v1/providers/Contoso", Some(json!({
            "user_scope": {"filter_group": "Staff", "exclude_service_accounts": true},
            "group_scope": {"mode": "selected", "groups": ["Sales"]},
            "dry_run": true,
            "schedule": {"paused": true},
            "certificate": {"certificate_pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "private_key_pem": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"},
        })))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["credential"], "certificate");
    assert_eq!(updated["dry_run"], true);
    assert_eq!(updated["schedule"]["paused"], true);
    assert_eq!(
        updated["schedule"]["cron"], provider["schedule"]["cron"],
        "the cron stays"
    );
    assert_eq!(updated["user_scope"]["exclude_service_accounts"], true);
    assert!(!updated.to_string().contains("PRIVATE KEY"));

    // Objects a provider depends on cannot be deleted from under it.
    let (status, answer) = server
        .call(Method::DELETE, "/api/v1/groups/Staff", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Contoso")
    );
    let (status, _) = server
        .call(Method::DELETE, "/api/v1/groups/Sales", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/mappings/{}", "entrasync%20default%3A%20user"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, _) = server
        .call(Method::DELETE, "/api/v1/providers/contoso", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .call(Method::DELETE, "/api/v1/groups/Staff", None)
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "free once the provider is gone"
    );
}
