//! The bearer token goes only under the configured Graph base: a nextLink or deltaLink to
//! another origin, or out of the version root, is refused with `LinkRefused` and never
//! requested.

mod common;

use common::{mock_config, mock_graph, received_on};
use futures::StreamExt;
use msgraph::{GraphClient, GraphError, Kind, LinkRefusal};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn refusal(result: Result<impl std::fmt::Debug, GraphError>) -> LinkRefusal {
    match result {
        Err(GraphError::LinkRefused { reason, .. }) => reason,
        other => panic!("expected a refused link, got {other:?}"),
    }
}

/// The first page of `/users` on `graph` links to `next`.
async fn first_page_links_to(graph: &MockServer, next: &str) {
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$top", "999"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"id": "u1"}], "@odata.nextLink": next})),
        )
        .mount(graph)
        .await;
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused_and_never_requested() {
    let graph = mock_graph("t").await;
    let elsewhere = MockServer::start().await;
    first_page_links_to(
        &graph,
        &format!("{}/v1.0/users?$skiptoken=stolen", elsewhere.uri()),
    )
    .await;
    let g = GraphClient::new(mock_config(&graph, "t")).expect("client");

    let pages: Vec<_> = g.list_pages(Kind::User, &[]).collect().await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].as_ref().expect("first page").items.len(), 1);
    let reason = refusal(pages.into_iter().nth(1).expect("second"));
    assert!(
        matches!(&reason, LinkRefusal::ForeignOrigin { expected, found }
            if *expected == graph.uri() && *found == elsewhere.uri()),
        "{reason:?}"
    );
    assert!(
        elsewhere
            .received_requests()
            .await
            .expect("recorded")
            .is_empty(),
        "the token never left for the other host"
    );

    // The same through the other followers of nextLinks.
    let next = format!("{}/v1.0/groups/g/members?$skiptoken=x", elsewhere.uri());
    refusal(g.list_members_page("g", Some(&next)).await);
    refusal(g.delta_round(Kind::User, &[], Some(&next)).await);
    assert!(
        elsewhere
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
}

#[tokio::test]
async fn a_next_link_out_of_the_version_root_is_refused() {
    let graph = mock_graph("t").await;
    first_page_links_to(&graph, &format!("{}/beta/users?$skiptoken=x", graph.uri())).await;
    let g = GraphClient::new(mock_config(&graph, "t")).expect("client");
    let pages: Vec<_> = g.list_pages(Kind::User, &[]).collect().await;
    assert!(matches!(
        refusal(pages.into_iter().nth(1).expect("second")),
        LinkRefusal::OutsideVersionRoot { .. }
    ));
    assert!(received_on(&graph, "/beta/users").await.is_empty());
}

#[tokio::test]
async fn find_by_refuses_a_foreign_next_link() {
    let graph = mock_graph("t").await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": "u1"}],
            "@odata.nextLink": "https://attacker.example/v1.0/users?$skiptoken=x"
        })))
        .mount(&graph)
        .await;
    let g = GraphClient::new(mock_config(&graph, "t")).expect("client");
    let err = g
        .find_user_by_mail("a@b.c", &[])
        .await
        .expect_err("refused");
    assert!(!err.outcome_unknown());
    assert!(err.to_string().contains("attacker.example"), "{err}");
}

#[tokio::test]
async fn a_refused_stored_delta_link_sends_nothing_at_all() {
    let graph = mock_graph("t").await;
    let g = GraphClient::new(mock_config(&graph, "t")).expect("client");
    let reason = refusal(
        g.delta_round(
            Kind::Group,
            &[],
            Some("https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=t"),
        )
        .await,
    );
    assert!(matches!(reason, LinkRefusal::ForeignOrigin { .. }));
    // Refused before pacing and before the token: not even the login endpoint was asked.
    assert!(
        graph
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
}

/// A nextLink that leads back to a page already read would keep "follow to the last page"
/// going forever: the enumeration ends with an error instead.
#[tokio::test]
async fn a_next_link_loop_ends_the_enumeration() {
    let graph = mock_graph("t").await;
    let looping = format!("{}/v1.0/users?$skiptoken=loop", graph.uri());
    first_page_links_to(&graph, &looping).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$skiptoken", "loop"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [], "@odata.nextLink": looping})),
        )
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/delta"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [], "@odata.nextLink": looping})),
        )
        .mount(&graph)
        .await;
    let g = GraphClient::new(mock_config(&graph, "t")).expect("client");

    let pages: Vec<_> = g.list_pages(Kind::User, &[]).collect().await;
    assert_eq!(
        pages.len(),
        3,
        "first page, the looping page, then the error"
    );
    assert!(matches!(pages[2], Err(GraphError::Decode { .. })));

    let err = g
        .delta_round(Kind::User, &[], None)
        .await
        .expect_err("loop");
    assert!(matches!(err, GraphError::Decode { .. }), "{err:?}");
    let looped = received_on(&graph, "/v1.0/users")
        .await
        .into_iter()
        .filter(|r| r.url.query() == Some("$skiptoken=loop"))
        .count();
    assert_eq!(looped, 2, "each enumeration read the looping page once");
}
