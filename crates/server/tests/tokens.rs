//! API tokens over real HTTP on loopback: made, listed without their secret, revoked, expired,
//! the configured one rotated; and refused sign-ins held back per client address.

mod common;

use std::{
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use common::{TestServer, assert_error};
use reqwest::{Client, Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use server::{auth::SignInLimiter, bootstrap_admin_token};
use store::{NewApiToken, TokenKind};

/// The status of `GET /api/v1/users` with `token`.
async fn status_with(server: &TestServer, client: &Client, token: &str) -> StatusCode {
    client
        .get(format!("{}/api/v1/users", server.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("send")
        .status()
}

/// The fields a token listing may hold: never the token or its hash.
const TOKEN_FIELDS: [&str; 8] = [
    "configured",
    "created_at",
    "expired",
    "expires_at",
    "id",
    "kind",
    "last_used_at",
    "name",
];

#[tokio::test]
async fn tokens_are_made_listed_and_revoked() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "ci", "expires_in_days": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"]
        .as_str()
        .expect("the token, once")
        .to_owned();
    assert!(token.starts_with("es_") && token.len() >= 32, "{token}");
    assert_eq!(
        (&created["name"], &created["kind"], &created["expired"]),
        (&json!("ci"), &json!("admin"), &json!(false))
    );
    let expires_at: chrono::DateTime<chrono::Utc> = created["expires_at"]
        .as_str()
        .expect("an expiry")
        .parse()
        .expect("a time");
    let days = (expires_at - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "{days}");
    assert_eq!(
        status_with(&server, &server.client, &token).await,
        StatusCode::OK
    );

    let (status, page) = server.call(Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().expect("items");
    let mut names: Vec<&str> = items.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["admin (generated)", "ci"]);
    for item in items {
        let mut fields: Vec<&str> = item
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, TOKEN_FIELDS, "{item}");
    }
    let text = page.to_string();
    assert!(!text.contains(&token) && !text.contains(&server.token));
    assert!(!text.contains(&store::token_hash(&token)));
    let ci = items.iter().find(|t| t["name"] == "ci").expect("ci");
    assert!(ci["last_used_at"].is_string(), "its use shows: {ci}");

    let (status, _) = server.call(Method::DELETE, "/api/v1/tokens/CI", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "revoked by name");
    assert_eq!(
        status_with(&server, &server.client, &token).await,
        StatusCode::UNAUTHORIZED,
        "a revoked token is refused at once"
    );
    let (status, answer) = server.call(Method::DELETE, "/api/v1/tokens/ci", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, "not_found", None);

    // By id, and the answer to a token pasted in place of a name does not repeat it.
    let (_, other) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "other"})),
        )
        .await;
    assert_eq!(
        other["expires_at"],
        Value::Null,
        "no expiry asked, none set"
    );
    let other_token = other["token"].as_str().expect("token").to_owned();
    let (status, answer) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{other_token}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!answer.to_string().contains(&other_token), "{answer}");
    let id = other["id"].as_str().expect("id");
    let (status, _) = server
        .call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "revoked by id");
}

#[tokio::test]
async fn bad_token_requests_get_a_4xx_naming_the_field() {
    let server = TestServer::start().await;
    for (body, status, field) in [
        (json!({}), StatusCode::BAD_REQUEST, "name"),
        (json!({"name": ""}), StatusCode::BAD_REQUEST, "name"),
        (json!({"name": 7}), StatusCode::BAD_REQUEST, "name"),
        (
            json!({"name": "ci", "expires_in_days": 0}),
            StatusCode::BAD_REQUEST,
            "expires_in_days",
        ),
        (
            json!({"name": "ci", "expires_in_days": 3651}),
            StatusCode::BAD_REQUEST,
            "expires_in_days",
        ),
        (
            json!({"name": "ci", "expires_in_days": -1}),
            StatusCode::BAD_REQUEST,
            "expires_in_days",
        ),
        (
            json!({"name": "ci", "expires_in_days": 1e30}),
            StatusCode::BAD_REQUEST,
            "expires_in_days",
        ),
        (
            json!({"name": "ci", "kind": "root"}),
            StatusCode::BAD_REQUEST,
            "kind",
        ),
        (
            json!({"name": "admin (generated)"}),
            StatusCode::CONFLICT,
            "name",
        ),
        (
            json!({"name": "ADMIN (configured)"}),
            StatusCode::CONFLICT,
            "name",
        ),
    ] {
        let (got, answer) = server
            .call(Method::POST, "/api/v1/tokens", Some(body.clone()))
            .await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (status, answer) = server
        .call(Method::GET, "/api/v1/tokens?limit=0", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&answer, "validation_failed", Some("limit"));
    let (_, page) = server.call(Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "nothing made"
    );
}

#[tokio::test]
async fn an_expired_token_gets_401() {
    let server = TestServer::start().await;
    let secret = "es_expired_token_0123456789abcdefghijklmnop";
    server
        .store
        .create_api_token(NewApiToken {
            name: "last year",
            kind: TokenKind::Admin,
            secret,
            expires_at: Some(chrono::Utc::now() - chrono::Duration::days(1)),
        })
        .await
        .expect("create");
    let response = server
        .client
        .get(format!("{}/api/v1/users", server.base))
        .bearer_auth(secret)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let answer: Value = response.json().await.expect("JSON");
    assert_error(&answer, "unauthorized", None);
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired")),
        "{answer}"
    );
    let (_, page) = server.call(Method::GET, "/api/v1/tokens", None).await;
    let listed = page["items"]
        .as_array()
        .and_then(|items| items.iter().find(|t| t["name"] == "last year"))
        .cloned()
        .expect("listed");
    assert_eq!(listed["expired"], true, "{listed}");
}

#[tokio::test]
async fn rotating_the_configured_token_revokes_the_old_one() {
    let server = TestServer::start().await;
    let old = "old-configured-token-0123456789abcdef";
    let new = "new-configured-token-0123456789abcdef";
    for configured in [old, new] {
        // What each start does with the configured value.
        let token = bootstrap_admin_token(&server.store, Some(&SecretString::from(configured)))
            .await
            .expect("bootstrap");
        assert_eq!(token, None, "nothing is generated when one is configured");
    }
    assert_eq!(
        status_with(&server, &server.client, old).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_with(&server, &server.client, new).await,
        StatusCode::OK
    );
    let (_, page) = server.call(Method::GET, "/api/v1/tokens", None).await;
    let configured: Vec<&Value> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|t| t["configured"] == true)
        .collect();
    assert_eq!(configured.len(), 1, "{page}");
    assert_eq!(configured[0]["name"], "admin (configured)");

    // Unconfigured: the value stops working; the generated token still does.
    bootstrap_admin_token(&server.store, None)
        .await
        .expect("bootstrap");
    assert_eq!(
        status_with(&server, &server.client, new).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_with(&server, &server.client, &server.token).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_start_with_no_usable_admin_token_makes_one() {
    let server = TestServer::start().await;
    let (_, page) = server.call(Method::GET, "/api/v1/tokens", None).await;
    let generated = page["items"][0]["id"].as_str().expect("id").to_owned();
    let (status, _) = server
        .call(Method::DELETE, &format!("/api/v1/tokens/{generated}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // An expired token holds the name the generated one would take.
    server
        .store
        .create_api_token(NewApiToken {
            name: "admin (generated)",
            kind: TokenKind::Admin,
            secret: "es_expired_token_0123456789abcdefghijklmnop",
            expires_at: Some(chrono::Utc::now() - chrono::Duration::days(1)),
        })
        .await
        .expect("create");
    let token = bootstrap_admin_token(&server.store, None)
        .await
        .expect("bootstrap")
        .expect("every admin token is gone or expired: a new one");
    assert_eq!(
        status_with(&server, &server.client, &token).await,
        StatusCode::OK
    );
    let (_, page) = server
        .call_with(&token, Method::GET, "/api/v1/tokens")
        .await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("admin (generated) 20")),
        "the new one is dated: {names:?}"
    );
}

#[tokio::test]
async fn refused_tokens_are_held_back_per_address_and_valid_ones_never() {
    let window = Duration::from_secs(2);
    let server = TestServer::start_with(4 * 1024 * 1024, |state| {
        state.with_sign_in_limiter(SignInLimiter::new(3, window))
    })
    .await;
    let guesser = &server.client;
    for attempt in 0..3 {
        assert_eq!(
            status_with(&server, guesser, &format!("es_guess_{attempt}")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let response = guesser
        .get(format!("{}/api/v1/users", server.base))
        .bearer_auth("es_guess_3")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_error(
        &response.json().await.expect("JSON"),
        "too_many_requests",
        None,
    );
    let no_token = guesser
        .get(format!("{}/api/v1/users", server.base))
        .send()
        .await
        .expect("send");
    assert_eq!(no_token.status(), StatusCode::TOO_MANY_REQUESTS);

    // The same address with a valid token: not held back.
    assert_eq!(
        status_with(&server, guesser, &server.token).await,
        StatusCode::OK
    );
    // Another address (loopback is a whole /8 on Linux): not held back either.
    let neighbour = Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .expect("client");
    assert_eq!(
        status_with(&server, &neighbour, "es_guess_4").await,
        StatusCode::UNAUTHORIZED
    );

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(
        status_with(&server, guesser, "es_guess_5").await,
        StatusCode::UNAUTHORIZED,
        "the window has passed"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_tokens() {
    let server = TestServer::start().await;
    let doc: Value = server
        .client
        .get(format!("{}/api/v1/openapi.json", server.base))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("JSON");
    let create = &doc["paths"]["/api/v1/tokens"]["post"];
    assert_eq!(create["tags"], json!(["tokens"]));
    for status in ["201", "400", "401", "409", "429"] {
        assert!(
            create["responses"][status].is_object(),
            "POST /tokens documents {status}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["CreatedToken"].to_string().contains("\"token\""));
    assert!(!schemas["TokenInfo"]["properties"]["token"].is_object());
    assert!(doc["paths"]["/api/v1/tokens/{token}"]["delete"].is_object());
    let secret = &schemas["ProviderInput"]["properties"]["client_secret"];
    assert_eq!(secret["writeOnly"], true, "{secret}");
}
