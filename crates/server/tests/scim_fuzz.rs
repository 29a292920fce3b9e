//! Whatever a SCIM client sends, the answer is a SCIM answer: never a 5xx, never a hang. The
//! inputs are token soups of SCIM's own vocabulary (so that they reach deep into the filter
//! and path parsers and the PATCH engine) and arbitrary JSON.

mod common;

use std::time::Duration;

use common::TestServer;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use store::{NewApiToken, TokenKind};

const TOKEN: &str = "es_scim_fuzz_token_0123456789abcdefghijkl";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
    user: String,
    group: String,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (server, user, group) = runtime.block_on(async {
        let server = TestServer::start().await;
        server
            .store
            .create_api_token(NewApiToken {
                name: "fuzz",
                kind: TokenKind::Scim,
                secret: TOKEN,
                expires_at: None,
            })
            .await
            .expect("token");
        let fixture = Fixture::send_on(&server, reqwest::Method::POST, "/Users", Some(json!({"userName": "fuzz@example.com", "emails": [{"value": "fuzz@example.com", "primary": true}]}))).await;
        let user = fixture.1["id"].as_str().expect("user").to_owned();
        let group = Fixture::send_on(&server, reqwest::Method::POST, "/Groups", Some(json!({"displayName": "Fuzz", "members": [{"value": user}]}))).await;
        let group = group.1["id"].as_str().expect("group").to_owned();
        (server, user, group)
    });
    Fixture {
        runtime,
        server,
        user,
        group,
    }
}

impl Fixture {
    async fn send_on(
        server: &TestServer,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = server
            .client
            .request(method, format!("{}/scim/v2{path}", server.base))
            .bearer_auth(TOKEN)
            .timeout(Duration::from_secs(10));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("an answer within 10 s");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.runtime
            .block_on(Self::send_on(&self.server, method, path, body))
    }

    fn filter(&self, filter: &str) -> u16 {
        self.runtime.block_on(async {
            self.server
                .client
                .get(format!("{}/scim/v2/Users", self.server.base))
                .query(&[("filter", filter)])
                .bearer_auth(TOKEN)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .expect("an answer within 10 s")
                .status()
                .as_u16()
        })
    }
}

/// Pieces of SCIM's vocabulary, glued into filters and paths.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_owned()),
        Just("emails".to_owned()),
        Just("members".to_owned()),
        Just("name.givenName".to_owned()),
        Just(".value".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:".to_owned()),
        Just("meta.lastModified".to_owned()),
        Just(" eq ".to_owned()),
        Just(" co ".to_owned()),
        Just(" gt ".to_owned()),
        Just(" pr".to_owned()),
        Just(" and ".to_owned()),
        Just(" or ".to_owned()),
        Just("not ".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("\"".to_owned()),
        Just("\"x\"".to_owned()),
        Just("\"\\u00e9\\\"".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("12.5e3".to_owned()),
        Just("\"2011-05-13T04:42:34Z\"".to_owned()),
        "\\PC{0,6}",
    ]
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..14).prop_map(|pieces| pieces.concat())
}

/// Arbitrary JSON, with SCIM's words among its keys.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("userName".to_owned()),
        Just("displayName".to_owned()),
        Just("active".to_owned()),
        Just("emails".to_owned()),
        Just("members".to_owned()),
        Just("value".to_owned()),
        Just("primary".to_owned()),
        Just("externalId".to_owned()),
        Just("id".to_owned()),
        Just("name".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        "\\PC{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn operation() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("move")],
        prop::option::of(soup()),
        prop::option::of(json_value()),
    )
        .prop_map(|(op, path, value)| {
            let mut operation = json!({"op": op});
            if let Some(path) = path {
                operation["path"] = json!(path);
            }
            if let Some(value) = value {
                operation["value"] = value;
            }
            operation
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn filters_never_break_the_server(filter in soup()) {
        let fixture = fixture_once();
        let status = fixture.filter(&filter);
        prop_assert!(status == 200 || status == 400, "{filter:?} → {status}");
    }

    #[test]
    fn patches_never_break_the_server(
        operations in prop::collection::vec(operation(), 1..4),
        on_group in any::<bool>(),
    ) {
        let fixture = fixture_once();
        let path = if on_group {
            format!("/Groups/{}", fixture.group)
        } else {
            format!("/Users/{}", fixture.user)
        };
        let body = json!({"Operations": operations});
        let (status, answer) = fixture.send(reqwest::Method::PATCH, &path, Some(body.clone()));
        prop_assert!(matches!(status, 200 | 204 | 400 | 409), "{body} → {status} {answer}");
    }

    #[test]
    fn any_body_is_a_user_or_a_scim_error(body in json_value()) {
        let fixture = fixture_once();
        let (status, answer) = fixture.send(reqwest::Method::POST, "/Users", Some(body.clone()));
        prop_assert!(matches!(status, 201 | 400 | 409), "{body} → {status} {answer}");
        if status != 201 {
            prop_assert_eq!(&answer["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        }
    }
}

/// One server for every case of a test binary: a server per case would spend the time on
/// start-up, not on inputs.
fn fixture_once() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(fixture)
}
