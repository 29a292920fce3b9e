//! The client-credentials exchange with the token endpoint (graph-contract.md §0.1): one POST,
//! bounded by its own timeout, answered with a token and its lifetime or a failure that says
//! what the endpoint said (AADSTS code, trace id) or that it did not answer in time.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::credentials::{Credential, auth_fields};
use crate::error::{GraphError, TokenFailure};

/// Longest lifetime believed from `expires_in` (Entra's are 60–90 minutes; token lifetime
/// policies allow up to a day). Also keeps `now + lifetime` far from overflowing.
const MAX_LIFETIME: Duration = Duration::from_secs(86_400);

/// Where and how to ask for a token.
pub(crate) struct TokenEndpoint {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) credential: Credential,
    /// The whole exchange, connection and body included.
    pub(crate) timeout: Duration,
    /// The connect phase (the HTTP client's own limit), to name it in a timeout error.
    pub(crate) connect_timeout: Duration,
}

/// A token as the endpoint issued it.
pub(crate) struct Issued {
    pub(crate) value: SecretString,
    pub(crate) lifetime: Duration,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

impl TokenEndpoint {
    /// One token request; never takes longer than `timeout`.
    pub(crate) async fn request(&self) -> Result<Issued, GraphError> {
        tokio::time::timeout(self.timeout, self.exchange())
            .await
            .unwrap_or_else(|_| Err(self.timed_out(self.timeout)))
    }

    pub(crate) fn timed_out(&self, after: Duration) -> GraphError {
        tracing::warn!(url = %self.url, ?after, "token endpoint did not answer in time");
        GraphError::TokenTimeout {
            url: self.url.clone(),
            after,
        }
    }

    fn transport(&self, e: &reqwest::Error) -> GraphError {
        if e.is_timeout() {
            let after = if e.is_connect() {
                self.connect_timeout
            } else {
                self.timeout
            };
            self.timed_out(after)
        } else {
            GraphError::TokenTransport(e.to_string())
        }
    }

    async fn exchange(&self) -> Result<Issued, GraphError> {
        let mut form = vec![
            ("client_id", self.client_id.clone()),
            ("scope", self.scope.clone()),
            ("grant_type", "client_credentials".to_owned()),
        ];
        form.extend(auth_fields(&self.credential, &self.client_id, &self.url)?);
        let resp = self
            .http
            .post(&self.url)
            .form(&form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| self.transport(&e))?;
        if status != 200 {
            return Err(refusal(status, &bytes));
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&bytes).map_err(|e| GraphError::Decode {
                message: format!("token answer: {e}"),
                request_id: None,
            })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3599)).min(MAX_LIFETIME);
        Ok(Issued {
            value: SecretString::from(answer.access_token),
            lifetime,
        })
    }
}

/// The endpoint's error answer (`error`, `error_description`, `error_codes`, …).
fn refusal(status: u16, bytes: &[u8]) -> GraphError {
    let body: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
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
    GraphError::Token(Box::new(failure))
}
