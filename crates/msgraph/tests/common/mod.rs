//! Shared test setup: an emulator with its own tenant id (so each test has its own pacer) and
//! a client with short retry delays.
#![allow(dead_code)]

use std::time::Duration;

use graph_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use msgraph::{ClientConfig, Credential, Endpoints, GraphClient, PacingConfig, RetryPolicy};
use serde_json::{Value, json};

pub fn config() -> EmulatorConfig {
    EmulatorConfig {
        tenant_id: uuid::Uuid::new_v4().to_string(),
        ..EmulatorConfig::default()
    }
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(500),
        max_total_delay: Duration::from_secs(20),
    }
}

pub fn client_config(emu: &RunningEmulator, credential: Credential) -> ClientConfig {
    ClientConfig::new(
        Endpoints::custom(emu.login_url(), emu.base_url()),
        emu.tenant_id(),
        emu.client_id(),
        credential,
    )
    .with_retry(fast_retry())
    .with_pacing(PacingConfig::unlimited())
    .with_timeout(Duration::from_secs(10))
}

pub fn client(emu: &RunningEmulator) -> GraphClient {
    let secret = emu.client_secret().expect("secret").to_owned();
    GraphClient::new(client_config(emu, Credential::secret(secret))).expect("client")
}

pub async fn start(config: EmulatorConfig) -> (RunningEmulator, GraphClient) {
    let emu = Emulator::start(config).await.expect("emulator");
    let c = client(&emu);
    (emu, c)
}

pub fn user_body(alias: &str) -> serde_json::Map<String, Value> {
    let v = json!({
        "accountEnabled": true,
        "displayName": alias,
        "mailNickname": alias.replace('\'', ""),
        "userPrincipalName": format!("{alias}@contoso.onmicrosoft.com"),
        "mail": format!("{alias}@contoso.onmicrosoft.com"),
        "passwordProfile": {"password": "Xy7!long-random-Passw0rd-123", "forceChangePasswordNextSignIn": false}
    });
    v.as_object().expect("object").clone()
}

pub fn group_body(name: &str, nick: &str) -> serde_json::Map<String, Value> {
    json!({"displayName": name, "mailEnabled": false, "mailNickname": nick,
           "securityEnabled": true, "groupTypes": []})
    .as_object()
    .expect("object")
    .clone()
}

pub fn id(o: &serde_json::Map<String, Value>) -> String {
    o["id"].as_str().expect("id").to_owned()
}

/// A wiremock server whose token endpoint for `tenant` issues tokens.
pub async fn mock_graph(tenant: &str) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path(format!("/{tenant}/oauth2/v2.0/token")))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "tok"}),
        ))
        .mount(&server)
        .await;
    server
}

/// A client of `server` (login and Graph both there) with its own pacer (a fresh app id),
/// no pacing and quick retries.
pub fn mock_config(server: &wiremock::MockServer, tenant: &str) -> ClientConfig {
    ClientConfig::new(
        Endpoints::custom(&server.uri(), &format!("{}/v1.0", server.uri())),
        tenant,
        uuid::Uuid::new_v4().to_string(),
        Credential::secret("s3cret"),
    )
    .with_pacing(PacingConfig::unlimited())
    .with_retry(RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total_delay: Duration::from_secs(2),
    })
}

/// Requests `server` received on `path`.
pub async fn received_on(server: &wiremock::MockServer, path: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .expect("recording is on")
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}
