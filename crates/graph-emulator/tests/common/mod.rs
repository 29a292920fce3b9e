//! Shared helpers for the integration tests: start an emulator, get a token, call Graph.
#![allow(dead_code)]

use graph_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

pub struct Ctx {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
    pub token: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Asserts a Graph error with this status, code and message, and the innerError shape.
    pub fn assert_error(&self, status: u16, code: &str, message: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_error_body(&self.body, code, message);
    }
}

pub fn assert_error_body(body: &Value, code: &str, message: &str) {
    let e = &body["error"];
    assert_eq!(e["code"], code, "body: {body}");
    assert_eq!(e["message"], message, "body: {body}");
    let inner = e["innerError"].as_object().expect("innerError");
    for k in ["date", "request-id", "client-request-id"] {
        assert!(
            inner.get(k).is_some_and(Value::is_string),
            "innerError.{k} in {body}"
        );
    }
}

/// Sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

pub async fn token_for(http: &reqwest::Client, emu: &RunningEmulator) -> String {
    let resp = http
        .post(emu.token_url())
        .form(&[
            ("client_id", emu.client_id()),
            ("client_secret", emu.client_secret().expect("secret")),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("token json");
    v["access_token"].as_str().expect("access_token").to_owned()
}

pub async fn start(config: EmulatorConfig) -> Ctx {
    let emu = Emulator::start(config).await.expect("start emulator");
    let http = reqwest::Client::new();
    let token = token_for(&http, &emu).await;
    Ctx { emu, http, token }
}

pub async fn start_default() -> Ctx {
    start(EmulatorConfig::default()).await
}

impl Ctx {
    /// A Graph URL: relative paths are put under the base URL; absolute ones (nextLinks) kept.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.emu.base_url())
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None, &[]).await
    }

    /// Creates a user with a valid body and returns its id.
    pub async fn create_user(&self, alias: &str) -> String {
        let upn = format!("{alias}@contoso.onmicrosoft.com");
        let a = self
            .post(
                "/users",
                serde_json::json!({
                    "accountEnabled": true, "displayName": alias, "mailNickname": alias,
                    "userPrincipalName": upn,
                    "passwordProfile": {"forceChangePasswordNextSignIn": false, "password": "xWwvJ]6NMw+bWH-d"}
                }),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates user `u{i}` and returns its id.
    pub async fn create_user_owned(&self, i: usize) -> String {
        self.create_user(&format!("u{i}")).await
    }

    /// Creates a security group and returns its id.
    pub async fn create_group(&self, name: &str) -> String {
        let a = self
            .post(
                "/groups",
                serde_json::json!({"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().expect("id").to_owned()
    }

    pub async fn inspect(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/_emulator{path}", self.emu.root_url()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("inspect");
        assert!(
            resp.status().is_success(),
            "inspect {path}: {}",
            resp.status()
        );
        let bytes = resp.bytes().await.expect("bytes");
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

pub fn directory_ref(base: &str, id: &str) -> String {
    // Clients send Graph's public URL in references; the emulator accepts it as is.
    let _ = base;
    format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")
}
