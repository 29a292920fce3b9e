//! A small client for the admin API: JSON in, JSON out, the API's error shape turned into a
//! readable message.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

pub struct ApiClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        url::Url::parse(&base).with_context(|| format!("invalid server URL {base:?}"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            base,
            token: token.to_owned(),
            http,
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send::<(), T>(Method::GET, path, None).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send::<(), Value>(Method::DELETE, path, None)
            .await
            .map(drop)
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|err| {
            if err.is_connect() {
                anyhow!(
                    "cannot reach the entrasync server at {}: is `entrasync serve` running? ({err})",
                    self.base
                )
            } else {
                anyhow!("{method} {url} failed: {err}")
            }
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("reading the answer to {method} {url}"))?;
        if !status.is_success() {
            bail!("{}", describe_error(status, &text));
        }
        let text = if text.is_empty() { "null" } else { &text };
        serde_json::from_str(text)
            .with_context(|| format!("unexpected answer to {method} {url}: {text}"))
    }
}

/// The API's `{"error": {code, message, field}}` as one line.
fn describe_error(status: StatusCode, body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().map(|value| &value["error"]);
    match error.and_then(|e| e["message"].as_str()) {
        Some(message) => {
            let code = error.and_then(|e| e["code"].as_str()).unwrap_or("error");
            match error.and_then(|e| e["field"].as_str()) {
                Some(field) => format!("{code} ({field}): {message}"),
                None => format!("{code}: {message}"),
            }
        }
        None => format!("the server answered {status}: {body}"),
    }
}

/// Percent-encodes one path segment (a username or group name may hold `/`, `&`, spaces…).
pub fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("R&D / Ops"), "R%26D%20%2F%20Ops");
        assert_eq!(segment("alice.b-c_d~"), "alice.b-c_d~");
    }

    #[test]
    fn api_errors_read_as_one_line() {
        let body = r#"{"error":{"code":"conflict","message":"a user named \"a\" already exists","field":"username"}}"#;
        assert_eq!(
            describe_error(StatusCode::CONFLICT, body),
            "conflict (username): a user named \"a\" already exists"
        );
        assert_eq!(
            describe_error(StatusCode::BAD_GATEWAY, "oops"),
            "the server answered 502 Bad Gateway: oops"
        );
    }
}
