//! `/metrics`: an admin token opens it, nothing else does; its text passes `promtool check
//! metrics`; the HTTP counters move by what was asked, labelled by route template (never an id).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn scrape(server: &TestServer) -> String {
    let response = server
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/plain")),
        "Prometheus's text format"
    );
    response.text().await.expect("body")
}

/// The value of the sample whose line starts with `series` (name and labels, as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// `promtool check metrics` on the text (scripts/test installs promtool).
pub fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (install it with scripts/ensure-promtool)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("promtool ran");
    assert!(
        output.status.success(),
        "promtool refused the metrics:\n{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn metrics_need_an_admin_token_and_pass_promtool() {
    let server = TestServer::start().await;
    let anonymous = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    for n in 0..3 {
        let (status, _) = server
            .call(
                Method::POST,
                "/api/v1/users",
                Some(json!({"username": format!("u{n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _) = server.call(Method::GET, "/api/v1/users/nobody", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let text = scrape(&server).await;
    assert_eq!(
        sample(
            &text,
            r#"entrasync_http_requests_total{api="admin",route="/api/v1/users",method="POST",status="201"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"entrasync_http_requests_total{api="admin",route="/api/v1/users/{user}",method="GET",status="404"}"#
        ),
        Some(1.0),
        "the route template, not the path: {text}"
    );
    assert!(!text.contains("nobody"), "no name reaches a label");
    assert!(text.contains("# HELP entrasync_http_requests_total"));
    promtool_accepts(&text);
}

#[tokio::test]
async fn providers_show_their_queue_and_health() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/providers",
            Some(json!({
                "name": "Contoso",
                "tenant_id": "8f3b2a5e-6c1d-4e7f-9a0b-1c2d3e4f5a6b",
                "client_id": "11111111-2222-3333-4444-555555555555",
                "client_secret": "not used: this server runs no workers",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    server
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "queued"})),
        )
        .await;
    // The change reaches the work table when it is fed; no worker runs here to take it.
    server.store.feed_changes(100).await.expect("feed");
    let text = scrape(&server).await;
    assert_eq!(
        sample(
            &text,
            &format!(r#"entrasync_provider_info{{provider="{id}",name="Contoso"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"entrasync_provider_health{{provider="{id}",state="healthy"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"entrasync_queue_depth{{provider="{id}",lane="direct"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    promtool_accepts(&text);
}
