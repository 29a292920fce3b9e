//! The group upsert by `uniqueName` against wiremock (exact request, both answers, retries)
//! and against the emulator (create, then update, then the lookup).

mod common;

use std::time::Duration;

use common::{group_body, mock_config, mock_graph, received_on};
use msgraph::{GraphClient, GraphError, GroupUpsert};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

const KEY_PATH: &str = "/v1.0/groups(uniqueName='es-p1-42')";

#[tokio::test]
async fn a_201_is_created_with_the_group_and_the_request_is_graphs_upsert() {
    let server = mock_graph("t").await;
    Mock::given(method("PATCH"))
        .and(path(KEY_PATH))
        .and(header("Prefer", "create-if-missing"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "45b7d2e7-b882-4a80-ba97-10b7a63b8fa4", "displayName": "eng",
            "uniqueName": "es-p1-42"})))
        .mount(&server)
        .await;
    let g = GraphClient::new(mock_config(&server, "t")).expect("client");
    let body = group_body("eng", "eng-42");
    match g.upsert_group("es-p1-42", &body).await.expect("upsert") {
        GroupUpsert::Created(group) => {
            assert_eq!(group["id"], "45b7d2e7-b882-4a80-ba97-10b7a63b8fa4");
        }
        other => panic!("expected created, got {other:?}"),
    }
    let sent = received_on(&server, KEY_PATH).await;
    assert_eq!(sent.len(), 1);
    let sent_body: serde_json::Value = serde_json::from_slice(&sent[0].body).expect("json");
    assert_eq!(sent_body, json!(body));
}

#[tokio::test]
async fn a_204_is_existing() {
    let server = mock_graph("t").await;
    Mock::given(method("PATCH"))
        .and(path(KEY_PATH))
        .and(header("Prefer", "create-if-missing"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let g = GraphClient::new(mock_config(&server, "t")).expect("client");
    assert_eq!(
        g.upsert_group("es-p1-42", &group_body("eng", "eng-42"))
            .await
            .expect("upsert"),
        GroupUpsert::Existing
    );
}

#[tokio::test]
async fn the_key_is_odata_quoted_and_escaped() {
    let server = mock_graph("t").await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "g"})))
        .mount(&server)
        .await;
    let g = GraphClient::new(mock_config(&server, "t")).expect("client");
    let name = "o'brien #1/a?b%";
    g.upsert_group(name, &group_body("x", "x"))
        .await
        .expect("upsert");
    g.group_by_unique_name(name, &["displayName"])
        .await
        .expect("get");
    let reqs = server.received_requests().await.expect("recorded");
    let graph: Vec<_> = reqs
        .iter()
        .filter(|r| r.url.path().starts_with("/v1.0/"))
        .collect();
    assert_eq!(graph.len(), 2);
    for r in &graph {
        assert_eq!(
            r.url.path(),
            "/v1.0/groups(uniqueName='o''brien%20%231%2Fa%3Fb%25')",
            "{}",
            r.method
        );
    }
    assert_eq!(graph[1].url.query(), Some("$select=id%2CdisplayName"));
    assert!(matches!(
        g.upsert_group("", &group_body("x", "x")).await,
        Err(GraphError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn a_503_or_a_timeout_is_retried_since_the_upsert_is_idempotent() {
    let server = mock_graph("t").await;
    Mock::given(method("PATCH"))
        .and(path(KEY_PATH))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(
                json!({"error": {"code": "serviceNotAvailable", "message": "later"}}),
            ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    // Then an answer that comes too late: the client has timed out and tries again.
    Mock::given(method("PATCH"))
        .and(path(KEY_PATH))
        .respond_with(
            ResponseTemplate::new(201)
                .set_delay(Duration::from_secs(2))
                .set_body_json(json!({"id": "late"})),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    // The group the first tries created answers 204 now.
    Mock::given(method("PATCH"))
        .and(path(KEY_PATH))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(3)
        .mount(&server)
        .await;
    let g = GraphClient::new(mock_config(&server, "t").with_timeout(Duration::from_millis(200)))
        .expect("client");
    let outcome = g
        .upsert_group("es-p1-42", &group_body("eng", "eng-42"))
        .await
        .expect("retried to an answer");
    assert_eq!(outcome, GroupUpsert::Existing);
    assert_eq!(received_on(&server, KEY_PATH).await.len(), 3);
    let m = g.metrics();
    assert_eq!(m.retries, 2, "{m:?}");
}

#[tokio::test]
async fn group_by_unique_name_reads_it_or_is_a_404() {
    let server = mock_graph("t").await;
    Mock::given(method("GET"))
        .and(path(KEY_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "g1"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups(uniqueName='missing')"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": "Request_ResourceNotFound",
            "message": "Resource 'missing' does not exist or one of its queried reference-property objects are not present."}})))
        .mount(&server)
        .await;
    let g = GraphClient::new(mock_config(&server, "t")).expect("client");
    assert_eq!(
        g.group_by_unique_name("es-p1-42", &[])
            .await
            .expect("found")["id"],
        "g1"
    );
    let err = g
        .group_by_unique_name("missing", &[])
        .await
        .expect_err("404");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.api().expect("api").code, "Request_ResourceNotFound");
    assert!(!err.outcome_unknown());
}

#[tokio::test]
async fn against_the_emulator_create_then_existing_then_lookup() {
    let (_emu, g) = common::start(common::config()).await;
    let key = "es-prov-o'neil";
    let created = match g
        .upsert_group(key, &group_body("Team O'Neil", "team-oneil"))
        .await
        .expect("create")
    {
        GroupUpsert::Created(group) => common::id(&group),
        other => panic!("expected created, got {other:?}"),
    };
    let mut change = group_body("Team O'Neil (renamed)", "team-oneil");
    change.remove("groupTypes");
    assert_eq!(
        g.upsert_group(key, &change).await.expect("update"),
        GroupUpsert::Existing
    );
    let found = g
        .group_by_unique_name(key, &["displayName"])
        .await
        .expect("lookup");
    assert_eq!(common::id(&found), created);
    assert_eq!(found["displayName"], "Team O'Neil (renamed)");
    let all = g
        .find_groups_by_display_name("Team O'Neil (renamed)", &[])
        .await
        .expect("find");
    assert_eq!(all.len(), 1, "one group, not two");
    assert_eq!(
        g.group_by_unique_name("nobody", &[])
            .await
            .expect_err("404")
            .status(),
        Some(404)
    );
}
