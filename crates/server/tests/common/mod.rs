//! An admin API server on a free loopback port, over a fresh SQLite store.

#![allow(dead_code)]

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use server::{AppState, app, bootstrap_admin_token, install_default_mappings};
use store::Store;

pub struct TestServer {
    pub base: String,
    pub token: String,
    pub client: Client,
    pub store: Store,
    /// The key the server seals credentials with.
    pub secret_key: store::SecretKey,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with_limit(4 * 1024 * 1024).await
    }

    pub async fn start_with_limit(max_body_bytes: usize) -> Self {
        Self::start_with(max_body_bytes, |state| state).await
    }

    /// A server whose state `configure` adjusts first (a shorter sign-in limit, say).
    pub async fn start_with(
        max_body_bytes: usize,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("api.db").display());
        let store = Store::connect(&url).await.expect("store");
        install_default_mappings(&store)
            .await
            .expect("default mappings");
        let token = bootstrap_admin_token(&store, None)
            .await
            .expect("bootstrap")
            .expect("a new database gets a token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (key, encoded) = store::SecretKey::generate().expect("secret key");
        let secret_key = store::SecretKey::from_base64(&encoded).expect("the same key");
        let router = app(configure(AppState::new(store.clone(), key)), max_body_bytes);
        // With the peer's address, as `serve` runs it: refused tokens are counted per client.
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        Self {
            base,
            token,
            client: Client::new(),
            store,
            secret_key,
            _dir: dir,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// A bodiless call with another token than the server's.
    pub async fn call_with(&self, token: &str, method: Method, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        let status = response.status();
        let value = response.json().await.unwrap_or(Value::Null);
        (status, value)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, value)
    }
}

pub fn assert_error(body: &Value, code: &str, field: Option<&str>) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["error"]["field"].as_str(), field, "{body}");
}
