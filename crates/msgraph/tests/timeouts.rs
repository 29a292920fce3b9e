//! Every outbound call is bounded. A login endpoint that accepts connections and never
//! answers fails the token request at the token timeout, for the caller that started it and
//! for every caller that joined it; a Graph endpoint that never answers fails requests,
//! `$batch` envelopes and pages at the request timeout. Timeouts are short here, so each test
//! takes well under two seconds.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{mock_config, mock_graph, received_on};
use msgraph::{
    BatchRequest, ClientConfig, Credential, Endpoints, GraphClient, GraphError, Kind, Method,
    PacingConfig, RetryPolicy, TransportKind,
};
use serde_json::json;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// A server that accepts every connection, reads nothing, answers nothing and keeps the
/// socket open: the hung endpoint of the review's repro. Answers its URL and a count of the
/// connections it accepted.
async fn black_hole() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

const TOKEN_TIMEOUT: Duration = Duration::from_millis(600);

fn hung_login_client(login: &str, graph: &str) -> GraphClient {
    GraphClient::new(
        ClientConfig::new(
            Endpoints::custom(login, &format!("{graph}/v1.0")),
            "hung-tenant",
            uuid::Uuid::new_v4().to_string(),
            Credential::secret("s"),
        )
        .with_pacing(PacingConfig::unlimited())
        // The default policy: a token timeout must not be retried inside the request.
        .with_retry(RetryPolicy::default())
        .with_token_timeout(TOKEN_TIMEOUT),
    )
    .expect("client")
}

fn assert_token_timeout(result: Result<Vec<String>, GraphError>) {
    match result {
        Err(GraphError::TokenTimeout { after, url }) => {
            assert_eq!(after, TOKEN_TIMEOUT);
            assert!(url.ends_with("/hung-tenant/oauth2/v2.0/token"), "{url}");
        }
        other => panic!("expected a token timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hung_login_endpoint_fails_every_waiting_caller_at_the_one_deadline() {
    let (login, accepted) = black_hole().await;
    let g = hung_login_client(&login, &login);
    let t0 = Instant::now();
    let first = tokio::spawn({
        let g = g.clone();
        async move { (g.verified_domains().await, t0.elapsed()) }
    });
    // The second caller comes halfway through the first one's token request.
    tokio::time::sleep(TOKEN_TIMEOUT / 2).await;
    let joined_at = t0.elapsed();
    let second = tokio::spawn({
        let g = g.clone();
        async move { (g.verified_domains().await, t0.elapsed()) }
    });
    let (r1, done1) = first.await.expect("first");
    let (r2, done2) = second.await.expect("second");
    assert_token_timeout(r1);
    assert_token_timeout(r2);
    let slack = Duration::from_millis(400);
    assert!(
        done1 >= TOKEN_TIMEOUT && done1 < TOKEN_TIMEOUT + slack,
        "{done1:?}"
    );
    // The second caller gave up with the flight it joined, not a whole timeout later.
    assert!(done2 < TOKEN_TIMEOUT + slack, "{done2:?}");
    assert!(
        done2 - joined_at < TOKEN_TIMEOUT,
        "{done2:?} - {joined_at:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one token request");

    // The failed flight is not cached: the next caller asks again (and is bounded again).
    let t1 = Instant::now();
    assert_token_timeout(g.verified_domains().await);
    assert!(t1.elapsed() < TOKEN_TIMEOUT + slack);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_cancelled_caller_does_not_stall_the_token_request_others_wait_for() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/t/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(300))
                .set_body_json(json!({"expires_in": 3599, "access_token": "tok"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let g = GraphClient::new(mock_config(&server, "t").with_token_timeout(Duration::from_secs(2)))
        .expect("client");
    // The first caller starts the token request and gives up on it early.
    let cancelled = tokio::time::timeout(Duration::from_millis(50), g.verified_domains()).await;
    assert!(cancelled.is_err(), "gave up");
    let t0 = Instant::now();
    g.verified_domains()
        .await
        .expect("the same token request answered");
    assert!(t0.elapsed() < Duration::from_millis(1000));
    assert_eq!(
        received_on(&server, "/t/oauth2/v2.0/token").await.len(),
        1,
        "the second caller joined the first one's request"
    );
}

fn hung_graph_client(server: &wiremock::MockServer, graph: &str) -> GraphClient {
    GraphClient::new(
        ClientConfig::new(
            Endpoints::custom(&server.uri(), &format!("{graph}/v1.0")),
            "t",
            uuid::Uuid::new_v4().to_string(),
            Credential::secret("s"),
        )
        .with_pacing(PacingConfig::unlimited())
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .with_timeout(Duration::from_millis(200)),
    )
    .expect("client")
}

fn assert_timeout(err: &GraphError, outcome_unknown: bool) {
    assert!(
        matches!(
            err,
            GraphError::Transport { kind: TransportKind::Timeout, outcome_unknown: u, .. }
                if *u == outcome_unknown
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn requests_batches_and_pages_to_a_hung_graph_time_out() {
    let server = mock_graph("t").await;
    let (graph, accepted) = black_hole().await;
    let g = hung_graph_client(&server, &graph);
    let t0 = Instant::now();

    // A read: tried twice (it is idempotent), each bounded.
    let err = g.get(Kind::User, "u1", &[]).await.expect_err("hung");
    assert_timeout(&err, false);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    // A $batch with a create: sent once, its outcome unknown.
    let err = g
        .batch(vec![
            BatchRequest::new("1", Method::POST, "/users").body(json!({"displayName": "x"})),
        ])
        .await
        .expect_err("hung batch");
    assert_timeout(&err, true);

    // A page named by a nextLink.
    let next = format!("{graph}/v1.0/users?$skiptoken=abc");
    let err = g
        .list_page(Kind::User, &[], Some(&next))
        .await
        .expect_err("hung page");
    assert_timeout(&err, false);

    // 2 + 1 + 2 tries of 200 ms, plus short backoffs.
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

/// A listener whose accept queue is full and never drained: on Linux a further connect gets
/// no answer at all, as with a dropped SYN. `None` where the platform refuses instead.
async fn unanswered_connects() -> Option<(String, TcpListener, TcpStream)> {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    let listener = socket.listen(0).expect("listen");
    let filler = TcpStream::connect(addr).await.expect("fills the queue");
    let probe = tokio::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await;
    probe
        .is_err()
        .then(|| (format!("http://{addr}"), listener, filler))
}

#[tokio::test]
async fn connects_that_get_no_answer_time_out_at_the_connect_timeout() {
    let Some((silent, _listener, _filler)) = unanswered_connects().await else {
        eprintln!("this platform refuses connections to a full queue; nothing to test");
        return;
    };
    let connect_timeout = Duration::from_millis(200);

    // The login endpoint: a token timeout naming the connect timeout.
    let g = GraphClient::new(
        ClientConfig::new(
            Endpoints::custom(&silent, &format!("{silent}/v1.0")),
            "hung-tenant",
            uuid::Uuid::new_v4().to_string(),
            Credential::secret("s"),
        )
        .with_pacing(PacingConfig::unlimited())
        .with_connect_timeout(connect_timeout)
        .with_token_timeout(Duration::from_secs(5)),
    )
    .expect("client");
    let t0 = Instant::now();
    match g.verified_domains().await {
        Err(GraphError::TokenTimeout { after, .. }) => assert_eq!(after, connect_timeout),
        other => panic!("expected a token timeout, got {other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());

    // Graph: a create that never connected was never sent, so it is retried and its outcome
    // is known (nothing happened).
    let server = mock_graph("t").await;
    let g = GraphClient::new(
        ClientConfig::new(
            Endpoints::custom(&server.uri(), &format!("{silent}/v1.0")),
            "t",
            uuid::Uuid::new_v4().to_string(),
            Credential::secret("s"),
        )
        .with_pacing(PacingConfig::unlimited())
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .with_connect_timeout(connect_timeout),
    )
    .expect("client");
    let t0 = Instant::now();
    let err = g
        .create(Kind::Group, &serde_json::Map::new())
        .await
        .expect_err("no connection");
    assert_timeout(&err, false);
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}
