//! Exact header and edge cases with wiremock: an HTTP-date `Retry-After`, a 429 inside a batch
//! item, a 5xx on a create (not re-sent), a 401 (one refresh, one retry), the
//! `client-request-id` header, and error ids taken from headers.

use std::time::{Duration, SystemTime};

use msgraph::{
    BatchRequest, ClientConfig, Credential, Endpoints, GraphClient, Kind, Method, PacingConfig,
    RetryPolicy,
};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

async fn setup() -> (MockServer, GraphClient) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-x/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "tok"}),
        ))
        .mount(&server)
        .await;
    let config = ClientConfig::new(
        Endpoints::custom(&server.uri(), &format!("{}/v1.0", server.uri())),
        "tenant-x",
        uuid::Uuid::new_v4().to_string(),
        Credential::secret("s3cret"),
    )
    .with_pacing(PacingConfig::unlimited())
    .with_retry(RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(3),
        max_total_delay: Duration::from_secs(10),
    });
    (server, GraphClient::new(config).expect("client"))
}

fn requests_to(reqs: &[Request], p: &str) -> Vec<Request> {
    reqs.iter().filter(|r| r.url.path() == p).cloned().collect()
}

#[tokio::test]
async fn http_date_retry_after_is_honoured_and_ids_are_kept() {
    let (server, g) = setup().await;
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", when.as_str())
                .insert_header("request-id", "rid-429")
                .set_body_json(json!({"error": {"code": "TooManyRequests", "message": "Please retry again later."}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u1"))
        .and(header_exists("client-request-id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "u1"})))
        .mount(&server)
        .await;
    let u = g.get(Kind::User, "u1", &[]).await.expect("retried");
    assert_eq!(u["id"], "u1");
    let m = g.metrics();
    assert_eq!(m.throttled, 1);
    // The date was read as a date (about 2 s away), not ignored and not taken as 0.
    assert!(m.throttle_wait >= Duration::from_millis(500), "{m:?}");
    let reqs = server.received_requests().await.expect("recorded");
    let gets = requests_to(&reqs, "/v1.0/users/u1");
    assert_eq!(gets.len(), 2);
    let ids: Vec<String> = gets
        .iter()
        .map(|r| {
            r.headers
                .get("client-request-id")
                .expect("crid")
                .to_str()
                .expect("ascii")
                .to_owned()
        })
        .collect();
    assert!(ids.iter().all(|i| uuid::Uuid::parse_str(i).is_ok()));
    assert_ne!(ids[0], ids[1], "each attempt has its own id");
}

#[tokio::test]
async fn a_429_inside_a_batch_retries_only_that_item() {
    let (server, g) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .and(body_string_contains("\"a\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "a", "status": 201, "body": {"id": "new-a"}},
            {"id": "b", "status": 429, "headers": {"Retry-After": "0.2"},
             "body": {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}},
            {"id": "c", "status": 429, "headers": {"retry-after": "0.05"},
             "body": {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}}
        ]})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"responses": [
                {"id": "c", "status": 204},
                {"id": "b", "status": 201, "body": {"id": "new-b"}}
            ]})),
        )
        .mount(&server)
        .await;
    let results = g
        .batch(vec![
            BatchRequest::new("a", Method::POST, "/users").body(json!({"n": 1})),
            BatchRequest::new("b", Method::POST, "/users").body(json!({"n": 2})),
            BatchRequest::new("c", Method::PATCH, "/users/x").body(json!({"n": 3})),
        ])
        .await
        .expect("batch");
    assert_eq!(results["a"].as_ref().expect("a").body["id"], "new-a");
    assert_eq!(results["b"].as_ref().expect("b").body["id"], "new-b");
    assert_eq!(results["c"].as_ref().expect("c").status, 204);
    let reqs = server.received_requests().await.expect("recorded");
    let batches = requests_to(&reqs, "/v1.0/$batch");
    assert_eq!(batches.len(), 2);
    let second: serde_json::Value = serde_json::from_slice(&batches[1].body).expect("json");
    let ids: Vec<&str> = second["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        vec!["b", "c"],
        "only the throttled items are sent again"
    );
    // The wait was the longest item Retry-After (0.2 s), recorded once.
    let m = g.metrics();
    assert_eq!(m.throttle_wait, Duration::from_millis(200));
}

#[tokio::test]
async fn a_5xx_on_a_create_is_not_resent_and_keeps_graph_ids() {
    let (server, g) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "1")
                .set_body_json(json!(
            {"error": {"code": "serviceNotAvailable", "message": "later",
                       "innerError": {"request-id": "rid-503", "date": "2026-11-26T14:00:00"}}})),
        )
        .mount(&server)
        .await;
    let err = g
        .create(Kind::User, &serde_json::Map::new())
        .await
        .expect_err("503");
    assert!(err.outcome_unknown());
    let api = err.api().expect("api");
    assert_eq!(
        (api.status, api.request_id.as_deref(), api.date.as_deref()),
        (503, Some("rid-503"), Some("2026-11-26T14:00:00"))
    );
    let reqs = server.received_requests().await.expect("recorded");
    assert_eq!(requests_to(&reqs, "/v1.0/users").len(), 1, "never re-sent");
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_then_gives_up() {
    let (server, g) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!(
            {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}})))
        .mount(&server)
        .await;
    let err = g.verified_domains().await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    let reqs = server.received_requests().await.expect("recorded");
    assert_eq!(
        requests_to(&reqs, "/v1.0/organization").len(),
        2,
        "one retry"
    );
    assert_eq!(
        requests_to(&reqs, "/tenant-x/oauth2/v2.0/token").len(),
        2,
        "one refresh"
    );
}

#[tokio::test]
async fn timeouts_retry_reads_but_surface_creates() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/t/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"expires_in": 3599, "access_token": "a"})),
        )
        .mount(&server)
        .await;
    let slow = ResponseTemplate::new(200)
        .set_delay(Duration::from_secs(2))
        .set_body_json(json!({"id": "late"}));
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u1"))
        .respond_with(slow.clone())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "u1"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .respond_with(slow)
        .mount(&server)
        .await;
    let g = GraphClient::new(
        ClientConfig::new(
            Endpoints::custom(&server.uri(), &format!("{}/v1.0", server.uri())),
            "t",
            uuid::Uuid::new_v4().to_string(),
            Credential::secret("s"),
        )
        .with_pacing(PacingConfig::unlimited())
        .with_timeout(Duration::from_millis(200))
        .with_retry(RetryPolicy {
            base_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        }),
    )
    .expect("client");
    assert_eq!(
        g.get(Kind::User, "u1", &[]).await.expect("retried")["id"],
        "u1"
    );
    let err = g
        .create(Kind::User, &serde_json::Map::new())
        .await
        .expect_err("timeout");
    assert!(
        matches!(
            err,
            msgraph::GraphError::Transport {
                kind: msgraph::TransportKind::Timeout,
                outcome_unknown: true,
                ..
            }
        ),
        "{err:?}"
    );
    let reqs = server.received_requests().await.expect("recorded");
    assert_eq!(requests_to(&reqs, "/v1.0/users").len(), 1, "never re-sent");
}

#[tokio::test]
async fn a_long_retry_after_on_429_is_surfaced_not_cut_short() {
    let (server, g) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "30")
                .set_body_json(json!({"error": {"code": "TooManyRequests", "message": "Please retry again later."}})),
        )
        .mount(&server)
        .await;
    let err = g.get(Kind::User, "u1", &[]).await.expect_err("429");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    let reqs = server.received_requests().await.expect("recorded");
    assert_eq!(
        requests_to(&reqs, "/v1.0/users/u1").len(),
        1,
        "no early retry"
    );
}

#[tokio::test]
async fn throttle_limit_percentage_slows_the_pacer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/t2/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"expires_in": 3599, "access_token": "a"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ms-throttle-limit-percentage", "1.4")
                .set_body_json(json!({"id": "u1"})),
        )
        .mount(&server)
        .await;
    let app = uuid::Uuid::new_v4().to_string();
    let g = GraphClient::new(ClientConfig::new(
        Endpoints::custom(&server.uri(), &format!("{}/v1.0", server.uri())),
        "t2",
        app.clone(),
        Credential::secret("s"),
    ))
    .expect("client");
    let pacer = msgraph::Pacer::shared("t2", &app, &PacingConfig::default());
    assert_eq!(pacer.slowdown(), 1.0);
    g.get(Kind::User, "u1", &[]).await.expect("get");
    assert!(
        pacer.slowdown() > 1.0,
        "the pacer of this tenant and app slowed down"
    );
}
