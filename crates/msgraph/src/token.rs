//! The access-token cache: one token per client, reused until shortly before it expires, and
//! fetched once when many requests need a new one at the same time (the async mutex is held
//! across the fetch, so concurrent callers wait for it and then reuse its result).

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::credentials::{Credential, auth_fields};
use crate::error::{GraphError, TokenFailure};

/// Refresh this long before expiry at most (Graph tokens live 60–90 minutes).
const MAX_EARLY_REFRESH: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub(crate) struct AccessToken {
    pub(crate) value: SecretString,
    refresh_at: Instant,
    /// Which fetch produced it, so a 401 invalidates only the token that failed.
    pub(crate) generation: u64,
}

#[derive(Default)]
struct State {
    current: Option<AccessToken>,
    generation: u64,
}

pub(crate) struct TokenCache {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    scope: String,
    credential: Credential,
    state: Mutex<State>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

impl TokenCache {
    pub(crate) fn new(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        scope: String,
        credential: Credential,
    ) -> Self {
        Self {
            http,
            token_url,
            client_id,
            scope,
            credential,
            state: Mutex::new(State::default()),
        }
    }

    /// A valid token, fetching a new one if needed.
    pub(crate) async fn get(&self) -> Result<AccessToken, GraphError> {
        let mut state = self.state.lock().await;
        if let Some(t) = &state.current
            && Instant::now() < t.refresh_at
        {
            return Ok(t.clone());
        }
        let (value, lifetime) = self.fetch().await?;
        // Refresh early, but never so early that a short-lived token (a scaled emulator
        // clock) would be refreshed on every request.
        let early = MAX_EARLY_REFRESH.min(lifetime / 10);
        state.generation += 1;
        let token = AccessToken {
            value,
            refresh_at: Instant::now() + lifetime.saturating_sub(early),
            generation: state.generation,
        };
        state.current = Some(token.clone());
        Ok(token)
    }

    /// Forgets the token of `generation` (Graph answered 401 to it); a newer one is kept.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|t| t.generation == generation)
        {
            state.current = None;
        }
    }

    async fn fetch(&self) -> Result<(SecretString, Duration), GraphError> {
        let mut form = vec![
            ("client_id", self.client_id.clone()),
            ("scope", self.scope.clone()),
            ("grant_type", "client_credentials".to_owned()),
        ];
        form.extend(auth_fields(
            &self.credential,
            &self.client_id,
            &self.token_url,
        )?);
        let resp = self
            .http
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| GraphError::TokenTransport(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| GraphError::TokenTransport(e.to_string()))?;
        if status != 200 {
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let text = |k: &str| body[k].as_str().map(str::to_owned);
            let failure = TokenFailure {
                status,
                error: text("error").unwrap_or_else(|| format!("HTTP{status}")),
                description: text("error_description").unwrap_or_default(),
                aadsts: body["error_codes"][0].as_u64(),
                trace_id: text("trace_id"),
                correlation_id: text("correlation_id"),
                timestamp: text("timestamp"),
            };
            tracing::warn!(error = %failure, "token request refused");
            return Err(GraphError::Token(Box::new(failure)));
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&bytes).map_err(|e| GraphError::Decode {
                message: format!("token answer: {e}"),
                request_id: None,
            })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3599));
        Ok((SecretString::from(answer.access_token), lifetime))
    }
}

impl AccessToken {
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.value.expose_secret())
    }
}
