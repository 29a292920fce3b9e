//! The admin API over real HTTP on loopback, against a real SQLite store.

mod common;

use common::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::bootstrap_admin_token;

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let server = TestServer::start().await;
    let url = format!("{}/api/v1/users", server.base);
    let response = server.client.get(&url).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_error(&response.json().await.expect("json"), "unauthorized", None);

    let response = server
        .client
        .get(&url)
        .bearer_auth("es_wrong")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = server
        .client
        .get(&url)
        .header("authorization", "Basic abc")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (status, _) = server.call(Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, StatusCode::OK);
    // A second bootstrap makes no new token: the first one was shown once.
    assert_eq!(
        bootstrap_admin_token(&server.store, None)
            .await
            .expect("bootstrap"),
        None
    );
}

#[tokio::test]
async fn users_are_created_read_updated_and_deleted() {
    let server = TestServer::start().await;
    let (status, alice) = server
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({
                "username": "alice", "name": "Alice Liddell", "email": "alice@example.com",
                "attributes": {"department": "R&D"}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{alice}");
    assert_eq!(alice["is_active"], true);
    assert_eq!(alice["kind"], "internal");
    let id = alice["id"].as_str().expect("id").to_owned();

    let (status, by_id) = server
        .call(Method::GET, &format!("/api/v1/users/{id}"), None)
        .await;
    assert_eq!((status, &by_id), (StatusCode::OK, &alice));
    let (status, by_name) = server.call(Method::GET, "/api/v1/users/ALICE", None).await;
    assert_eq!(
        (status, by_name["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );

    let (status, updated) = server
        .call(
            Method::PATCH,
            "/api/v1/users/alice",
            Some(json!({"is_active": false, "email": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (updated["is_active"].clone(), updated["email"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(updated["name"], "Alice Liddell");

    let (status, body) = server
        .call(Method::DELETE, &format!("/api/v1/users/{id}"), None)
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = server
        .call(Method::GET, &format!("/api/v1/users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found", None);
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_field_and_writes_nothing() {
    let server = TestServer::start().await;
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "bob"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = server.store.last_change_seq().await.expect("seq");

    let cases = [
        (
            json!({"username": "BOB"}),
            StatusCode::CONFLICT,
            "conflict",
            Some("username"),
        ),
        (
            json!({"username": "carol", "nmae": "x"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("nmae"),
        ),
        (
            json!({"username": "carol", "email": "not-an-email"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("email"),
        ),
        (
            json!({"username": ""}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("username"),
        ),
        (
            json!({"name": "no username"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("username"),
        ),
        (
            json!({"username": "carol", "kind": "robot"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("kind"),
        ),
        (
            json!({"username": "carol", "attributes": [1, 2]}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("attributes"),
        ),
        (
            json!({"username": "carol", "is_active": "yes"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("is_active"),
        ),
        (
            json!({"username": "carol", "attributes": {"a": "nul\u{0}"}}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("attributes"),
        ),
        (
            json!({"username": "carol", "name": "tab\there"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("name"),
        ),
    ];
    for (body, status, code, field) in cases {
        let (got, answer) = server
            .call(Method::POST, "/api/v1/users", Some(body.clone()))
            .await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert_error(&answer, code, field);
    }
    let (status, answer) = server
        .call(
            Method::PATCH,
            "/api/v1/users/bob",
            Some(json!({"emial": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&answer, "validation_failed", Some("emial"));

    let response = server
        .request(Method::POST, "/api/v1/users")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_error(
        &response.json().await.expect("json"),
        "validation_failed",
        None,
    );

    for not_an_object in ["[\"bob\", null]", "null", "\"bob\""] {
        let response = server
            .request(Method::PATCH, "/api/v1/users/bob")
            .header("content-type", "application/json")
            .body(not_an_object)
            .send()
            .await
            .expect("send");
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{not_an_object}"
        );
    }

    let response = server
        .request(Method::POST, "/api/v1/users")
        .header("content-type", "text/plain")
        .body(r#"{"username":"carol"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(
        &response.json().await.expect("json"),
        "unsupported_media_type",
        None,
    );

    let (status, answer) = server
        .call(Method::GET, "/api/v1/users/not-a-user", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, "not_found", None);
    let (status, answer) = server
        .call(Method::GET, "/api/v1/users?limit=0", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&answer, "validation_failed", Some("limit"));
    let (status, answer) = server
        .call(Method::GET, "/api/v1/users?after=nope", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&answer, "validation_failed", None);

    assert_eq!(
        server.store.last_change_seq().await.expect("seq"),
        before,
        "no failed request wrote anything"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let server = TestServer::start_with_limit(1024).await;
    let big = json!({"username": "dave", "attributes": {"blob": "x".repeat(4096)}});
    let (status, answer) = server.call(Method::POST, "/api/v1/users", Some(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&answer, "payload_too_large", None);
    assert_eq!(server.store.last_change_seq().await.expect("seq"), 0);
}

#[tokio::test]
async fn listings_page_by_key_and_filter() {
    let server = TestServer::start().await;
    for i in 0..7 {
        let kind = if i % 3 == 0 {
            "service_account"
        } else {
            "internal"
        };
        let body = json!({"username": format!("user{i}"), "email": format!("user{i}@example.com"), "kind": kind, "is_active": i != 1});
        let (status, _) = server.call(Method::POST, "/api/v1/users", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=3".to_owned();
    loop {
        let (status, page) = server.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|u| u["username"].as_str().unwrap_or_default().to_owned()),
        );
        match page["next_after"].as_str() {
            Some(after) => path = format!("/api/v1/users?limit=3&after={after}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, (0..7).map(|i| format!("user{i}")).collect::<Vec<_>>());

    let count = |page: &Value| page["items"].as_array().map_or(0, Vec::len);
    let (_, page) = server
        .call(Method::GET, "/api/v1/users?kind=service_account", None)
        .await;
    assert_eq!(count(&page), 3);
    let (_, page) = server
        .call(Method::GET, "/api/v1/users?active=false", None)
        .await;
    assert_eq!(count(&page), 1);
    let (_, page) = server
        .call(Method::GET, "/api/v1/users?email=USER4@", None)
        .await;
    assert_eq!(count(&page), 1);
    let (_, page) = server
        .call(Method::GET, "/api/v1/users?username=user", None)
        .await;
    assert_eq!(count(&page), 7);
}

#[tokio::test]
async fn groups_and_memberships() {
    let server = TestServer::start().await;
    for name in ["erin", "frank"] {
        server
            .call(
                Method::POST,
                "/api/v1/users",
                Some(json!({"username": name})),
            )
            .await;
    }
    let (status, group) = server
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"name": "Engineering"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"name": "engineering"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&answer, "conflict", Some("name"));

    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/groups/Engineering/members",
            Some(json!({"users": ["erin", "ghost"]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, "not_found", Some("users[1]"));

    let (status, added) = server
        .call(
            Method::POST,
            "/api/v1/groups/Engineering/members",
            Some(json!({"users": ["erin", "FRANK"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["added"].as_array().map(Vec::len), Some(2));
    let (_, again) = server
        .call(
            Method::POST,
            "/api/v1/groups/engineering/members",
            Some(json!({"users": ["erin"]})),
        )
        .await;
    assert_eq!(again["already_members"].as_array().map(Vec::len), Some(1));

    let (_, members) = server
        .call(Method::GET, "/api/v1/groups/Engineering/members", None)
        .await;
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2));
    let (_, groups) = server
        .call(Method::GET, "/api/v1/users/erin/groups", None)
        .await;
    assert_eq!(groups["items"][0]["name"], "Engineering");

    let (status, removed) = server
        .call(
            Method::POST,
            "/api/v1/groups/Engineering/members/remove",
            Some(json!({"users": ["erin"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(removed["removed"].as_array().map(Vec::len), Some(1));

    let (status, renamed) = server
        .call(
            Method::PATCH,
            "/api/v1/groups/Engineering",
            Some(json!({"name": "R&D"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("R&D"))
    );
    let (status, _) = server
        .call(Method::DELETE, "/api/v1/groups/R%26D", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, groups) = server.call(Method::GET, "/api/v1/groups", None).await;
    assert_eq!(groups["items"], json!([]));
}

#[tokio::test]
async fn import_reports_each_record() {
    let server = TestServer::start().await;
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/import",
            Some(json!({"records": [
                {"type": "user", "username": "gina", "email": "gina@example.com"},
                {"type": "group", "name": "Sales"},
                {"type": "membership", "group": "Sales", "user": "gina"},
                {"type": "user", "username": "hal", "email": "nope"},
                {"type": "membership", "group": "Sales", "user": "nobody"},
                {"type": "robot"}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let outcomes: Vec<&str> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        outcomes,
        [
            "created", "created", "created", "failed", "failed", "failed"
        ]
    );
    assert_eq!(answer["results"][3]["field"], "email");
    assert_eq!(
        (answer["created"].clone(), answer["failed"].clone()),
        (json!(3), json!(3))
    );
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let response = server
            .client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let (status, answer) = server.call(Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, "not_found", None);
    let (status, answer) = server
        .call(Method::PUT, "/api/v1/users", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&answer, "method_not_allowed", None);

    server.store.close().await;
    let response = server
        .client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Every operation the OpenAPI document lists is served (no "no such route", no 405), and
/// every route the API serves is in the document.
#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let server = TestServer::start().await;
    let doc: Value = server
        .client
        .get(format!("{}/api/v1/openapi.json", server.base))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            operations.push(format!("{} {path}", method.to_uppercase()));
            let concrete = path
                .replace("{user}", "nobody")
                .replace("{group}", "nogroup");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let (status, answer) = server
                .call(method.clone(), &concrete, Some(json!({})))
                .await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(
                answer["error"]["message"], "no such route",
                "{method} {path}"
            );
        }
    }
    operations.sort();
    assert_eq!(
        operations,
        [
            "DELETE /api/v1/groups/{group}",
            "DELETE /api/v1/mappings/{mapping}",
            "DELETE /api/v1/providers/{provider}",
            "DELETE /api/v1/providers/{provider}/links/{kind}/{object}",
            "DELETE /api/v1/tokens/{token}",
            "DELETE /api/v1/users/{user}",
            "GET /api/v1/groups",
            "GET /api/v1/groups/{group}",
            "GET /api/v1/groups/{group}/members",
            "GET /api/v1/mappings",
            "GET /api/v1/mappings/{mapping}",
            "GET /api/v1/providers",
            "GET /api/v1/providers/{provider}",
            "GET /api/v1/providers/{provider}/links/{kind}",
            "GET /api/v1/providers/{provider}/links/{kind}/{object}",
            "GET /api/v1/providers/{provider}/objects/{kind}/{object}",
            "GET /api/v1/providers/{provider}/runs",
            "GET /api/v1/providers/{provider}/status",
            "GET /api/v1/runs/{run}",
            "GET /api/v1/runs/{run}/plan",
            "GET /api/v1/tokens",
            "GET /api/v1/users",
            "GET /api/v1/users/{user}",
            "GET /api/v1/users/{user}/groups",
            "PATCH /api/v1/groups/{group}",
            "PATCH /api/v1/mappings/{mapping}",
            "PATCH /api/v1/providers/{provider}",
            "PATCH /api/v1/users/{user}",
            "POST /api/v1/groups",
            "POST /api/v1/groups/{group}/members",
            "POST /api/v1/groups/{group}/members/remove",
            "POST /api/v1/import",
            "POST /api/v1/mapping-test",
            "POST /api/v1/mappings",
            "POST /api/v1/providers",
            "POST /api/v1/providers/{provider}/approve",
            "POST /api/v1/providers/{provider}/plan",
            "POST /api/v1/providers/{provider}/reject",
            "POST /api/v1/providers/{provider}/sync",
            "POST /api/v1/providers/{provider}/sync-object",
            "POST /api/v1/providers/{provider}/sync-object-ignoring-dry-run",
            "POST /api/v1/tokens",
            "POST /api/v1/users",
            "PUT /api/v1/providers/{provider}/links/{kind}/{object}",
        ]
    );
    assert!(doc["components"]["schemas"]["User"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let create = &doc["paths"]["/api/v1/users"]["post"]["responses"];
    for status in ["201", "400", "401", "409", "413", "415"] {
        assert!(create[status].is_object(), "POST /users documents {status}");
    }
    let limit = doc["paths"]["/api/v1/users"]["get"]["parameters"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["name"] == "limit"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(limit["schema"]["maximum"], 1000, "{limit}");
}
