//! `Retry-After` is input: huge, negative, not-a-number and garbage values reach the client
//! through a 429 or a 5xx, on a request and inside a `$batch`. None may panic; a wait is never
//! longer than `MAX_RETRY_AFTER` and the retry policy decides whether to wait it out.

mod common;

use std::time::{Duration, Instant};

use common::{mock_config, mock_graph, received_on};
use msgraph::{BatchRequest, GraphClient, Kind, MAX_RETRY_AFTER, Method};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const HOSTILE: [&str; 9] = [
    "1e20",
    "1e13",
    "-5",
    "NaN",
    "inf",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "soon-ish",
    "18446744073709551616",
    "",
];

fn failing(status: u16, retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("Retry-After", retry_after)
        .set_body_json(
            json!({"error": {"code": "TooManyRequests", "message": "Please retry again later."}}),
        )
}

/// A huge `Retry-After` on a 429 is capped, longer than the policy waits, so the error comes
/// back at once with the capped value; a value that is no wait falls back to backoff, and the
/// retry succeeds. Every value gets its own client: a 429 pauses the client's pacer.
#[tokio::test]
async fn hostile_retry_after_on_a_429_never_panics() {
    for (i, value) in HOSTILE.iter().enumerate() {
        let server = mock_graph("t").await;
        let p = format!("/v1.0/users/u{i}");
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .respond_with(failing(429, value))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "u"})))
            .mount(&server)
            .await;
        let g = GraphClient::new(mock_config(&server, "t")).expect("client");
        let started = Instant::now();
        let answer = g.get(Kind::User, &format!("u{i}"), &[]).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{value:?}");
        let sent = received_on(&server, &p).await.len();
        match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n > 1e6 => {
                let err = answer.expect_err(value);
                assert_eq!(err.retry_after(), Some(MAX_RETRY_AFTER), "{value:?}");
                assert_eq!(sent, 1, "{value:?}: no early retry");
            }
            _ if value.starts_with("Fri") => {
                let err = answer.expect_err(value);
                assert_eq!(err.retry_after(), Some(MAX_RETRY_AFTER), "{value:?}");
            }
            _ => {
                answer.expect(value);
                assert_eq!(sent, 2, "{value:?}: retried after a backoff");
            }
        }
    }
}

/// On a 5xx a long `Retry-After` is a hint: clipped to the policy's `max_delay` and retried.
#[tokio::test]
async fn hostile_retry_after_on_a_503_retries_within_the_cap() {
    let server = mock_graph("t").await;
    let g = GraphClient::new(mock_config(&server, "t")).expect("client");
    for (i, value) in HOSTILE.iter().enumerate() {
        let p = format!("/v1.0/users/u{i}");
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .respond_with(failing(503, value))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "u"})))
            .mount(&server)
            .await;
        let started = Instant::now();
        let u = g.get(Kind::User, &format!("u{i}"), &[]).await.expect(value);
        assert_eq!(u["id"], "u");
        // The policy's max_delay is 50 ms.
        assert!(started.elapsed() < Duration::from_secs(1), "{value:?}");
        assert_eq!(received_on(&server, &p).await.len(), 2, "{value:?}");
    }
}

#[tokio::test]
async fn hostile_retry_after_inside_a_batch_never_panics() {
    let server = mock_graph("t").await;
    let items: Vec<_> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({"id": i.to_string(), "status": 429, "headers": {"Retry-After": v},
                   "body": {"error": {"code": "TooManyRequests", "message": "later"}}})
        })
        .collect();
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "responses": items })))
        .mount(&server)
        .await;
    let g = GraphClient::new(mock_config(&server, "t")).expect("client");
    let requests = (0..HOSTILE.len())
        .map(|i| BatchRequest::new(i.to_string(), Method::GET, "/users"))
        .collect();
    let started = Instant::now();
    let results = g.batch(requests).await.expect("batch");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The longest item wait (capped) is longer than the policy allows: the items come back
    // as they were answered, once.
    assert_eq!(received_on(&server, "/v1.0/$batch").await.len(), 1);
    assert_eq!(
        results["0"].as_ref().expect_err("429").retry_after(),
        Some(MAX_RETRY_AFTER)
    );
    assert_eq!(results["2"].as_ref().expect_err("429").retry_after(), None);
}
