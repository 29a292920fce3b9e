//! Permission and credential failures are Fatal (wiremock: the emulator grants everything).

use engine::{RemoteId, RemoteKind, Target, TargetError, TargetRead};
use entra::EntraTarget;
use msgraph::{ClientConfig, Credential, Endpoints, GraphClient, PacingConfig};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn target(server: &MockServer) -> EntraTarget {
    Mock::given(method("POST"))
        .and(path("/t/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"expires_in": 3599, "access_token": "a"})),
        )
        .mount(server)
        .await;
    let graph = GraphClient::new(
        ClientConfig::new(
            Endpoints::custom(&server.uri(), &format!("{}/v1.0", server.uri())),
            "t",
            uuid::Uuid::new_v4().to_string(),
            Credential::secret("s"),
        )
        .with_pacing(PacingConfig::unlimited()),
    )
    .expect("client");
    EntraTarget::new(graph)
}

#[tokio::test]
async fn forbidden_names_the_permissions_and_401_is_fatal() {
    let server = MockServer::start().await;
    let t = target(&server).await;
    Mock::given(method("DELETE"))
        .and(path("/v1.0/users/u1"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.",
            "innerError": {"request-id": "r403", "date": "2026-11-26T14:00:00"}}})))
        .mount(&server)
        .await;
    match t.delete(RemoteKind::User, &RemoteId::new("u1")).await {
        Err(TargetError::Fatal { failure }) => {
            assert_eq!(failure.code, "Authorization_RequestDenied");
            assert_eq!(failure.request_id.as_deref(), Some("r403"));
            for p in [
                "User.ReadWrite.All",
                "Group.ReadWrite.All",
                "GroupMember.ReadWrite.All",
            ] {
                assert!(failure.message.contains(p));
            }
        }
        other => panic!("expected Fatal, got {other:?}"),
    }
    Mock::given(method("GET"))
        .and(path("/v1.0/users/u2"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "code": "InvalidAuthenticationToken", "message": "Access token validation failure."}})))
        .mount(&server)
        .await;
    assert!(matches!(
        t.get(RemoteKind::User, &RemoteId::new("u2"), &[]).await,
        Err(TargetError::Fatal { .. })
    ));
}
