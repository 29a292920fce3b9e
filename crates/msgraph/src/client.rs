//! The request executor: builds the client from its configuration, then runs every Graph call
//! through one loop — pace, token, send with a `client-request-id`, and decide: done, retry
//! after `Retry-After`/backoff, refresh the token once after a 401, or give up. A request that
//! is not idempotent is never re-sent after an ambiguous failure (timeout, cut connection, 5xx):
//! the error says `outcome_unknown` and the caller looks the object up first.
//!
//! Nothing here waits unboundedly: connecting, each Graph request (a `$batch` envelope and
//! every page included) and each token request have their own timeout, and the waits between
//! tries are capped by the retry policy.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use crate::cloud::Endpoints;
use crate::credentials::Credential;
use crate::error::{ApiError, GraphError, TransportKind};
use crate::links::GraphBase;
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::pacing::{Pacer, PacingConfig};
use crate::retry::{RetryPolicy, parse_retry_after, retryable_status};
use crate::token::{TokenCache, TokenEndpoint};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything a [`GraphClient`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoints: Endpoints,
    /// Tenant id (GUID) or a verified domain.
    pub tenant: String,
    pub client_id: String,
    pub credential: Credential,
    pub retry: RetryPolicy,
    pub pacing: PacingConfig,
    /// Each Graph request (one try; a `$batch` envelope and each page count as one), from
    /// connecting to the end of the body. Default 60 s.
    pub timeout: Duration,
    /// Establishing a connection (TCP and TLS), to Graph or to the login endpoint. Default
    /// 10 s.
    pub connect_timeout: Duration,
    /// Each token request, from connecting to the end of the body; callers waiting for the
    /// same token give up with it. Default 30 s.
    pub token_timeout: Duration,
}

impl ClientConfig {
    pub fn new(
        endpoints: Endpoints,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        credential: Credential,
    ) -> Self {
        Self {
            endpoints,
            tenant: tenant.into(),
            client_id: client_id.into(),
            credential,
            retry: RetryPolicy::default(),
            pacing: PacingConfig::default(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            token_timeout: DEFAULT_TOKEN_TIMEOUT,
        }
    }

    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    #[must_use]
    pub fn with_pacing(mut self, pacing: PacingConfig) -> Self {
        self.pacing = pacing;
        self
    }

    /// The Graph request timeout ([`Self::timeout`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    #[must_use]
    pub fn with_token_timeout(mut self, timeout: Duration) -> Self {
        self.token_timeout = timeout;
        self
    }
}

/// A Graph v1.0 client. Cheap to clone; clones share the token, pacer and metrics.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoints: Endpoints,
    /// The only place the token is sent to.
    base: GraphBase,
    tokens: TokenCache,
    retry: RetryPolicy,
    pacer: Arc<Pacer>,
    metrics: Metrics,
    timeout: Duration,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("graph", &self.inner.endpoints.graph_base_url)
            .finish_non_exhaustive()
    }
}

/// One Graph call as the operation modules describe it.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    /// A path under the Graph base (`/users`) or an absolute link Graph gave (`nextLink`).
    pub url: String,
    /// Route template for metrics, e.g. `/users/{id}`.
    pub route: &'static str,
    pub query: Vec<(&'static str, String)>,
    /// Request headers beyond the ones every call sends (`Prefer`, …).
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// Safe to send twice (reads, PATCH, DELETE, `$ref` adds whose repeat Graph reports as
    /// "already exist"). Creates are not.
    pub idempotent: bool,
    /// Take a pacing slot (false when the caller paces the parts itself, as `$batch` does).
    pub pace: bool,
}

impl Call {
    pub fn new(method: Method, url: impl Into<String>, route: &'static str) -> Self {
        let idempotent = method != Method::POST;
        Self {
            method,
            url: url.into(),
            route,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            idempotent,
            pace: true,
        }
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    pub fn unpaced(mut self) -> Self {
        self.pace = false;
        self
    }

    fn is_write(&self) -> bool {
        self.method != Method::GET
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

/// Percent-encodes a query value; spaces as `%20`, which every OData parser reads as a space.
pub(crate) fn encode_query(pairs: &[(&'static str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            format!("{k}={}", v.replace('+', "%20"))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

enum Outcome {
    Done(Answer),
    Api(Box<ApiError>),
    /// The kind, the message, and whether the request surely never reached Graph.
    Transport(TransportKind, String, bool),
}

impl GraphClient {
    pub fn new(config: ClientConfig) -> Result<Self, GraphError> {
        let base = GraphBase::parse(&config.endpoints.graph_base_url)?;
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(30))
            .connect_timeout(config.connect_timeout)
            // Every request sets its own; this bounds any that would not.
            .timeout(config.timeout)
            .build()
            .map_err(|e| GraphError::InvalidRequest(format!("HTTP client: {e}")))?;
        let tokens = TokenCache::new(TokenEndpoint {
            http: http.clone(),
            url: config.endpoints.token_url(&config.tenant),
            client_id: config.client_id.clone(),
            scope: config.endpoints.scope.clone(),
            credential: config.credential,
            timeout: config.token_timeout,
            connect_timeout: config.connect_timeout,
        });
        let pacer = Pacer::shared(&config.tenant, &config.client_id, &config.pacing);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                endpoints: config.endpoints,
                tokens,
                retry: config.retry,
                pacer,
                metrics: Metrics::default(),
                timeout: config.timeout,
            }),
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    pub(crate) fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    pub(crate) fn raw_metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// `https://graph.microsoft.com/v1.0/directoryObjects/{id}`, the reference form that
    /// `$ref` and `@odata.bind` take.
    pub fn directory_object_ref(&self, id: &str) -> String {
        format!(
            "{}/directoryObjects/{id}",
            self.inner.endpoints.reference_root
        )
    }

    /// Runs `call` with pacing, retries and one token refresh after a 401. A URL that does
    /// not lead under the Graph base is refused before anything is sent.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Answer, GraphError> {
        let inner = &*self.inner;
        let route = format!("{} {}", call.method, call.route);
        let url = inner.base.resolve(&call.url, &encode_query(&call.query))?;
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        let mut refreshed = false;
        loop {
            attempt = attempt.saturating_add(1);
            if call.pace {
                inner
                    .metrics
                    .record_pacing_wait(inner.pacer.acquire(call.is_write()).await);
            }
            let token = match inner.tokens.get().await {
                Ok(t) => t,
                Err(e) => {
                    // A refusal worth retrying, or a connection that failed fast. Not a
                    // timeout (`TokenTimeout`): another try would hold this request, and
                    // everyone waiting for the same token, for the whole timeout again.
                    let retry_here = match &e {
                        GraphError::Token(f) => f.is_transient(),
                        GraphError::TokenTransport(_) => true,
                        _ => false,
                    };
                    let delay = inner.retry.delay(attempt, None);
                    if retry_here && inner.retry.allows(attempt, waited, delay) {
                        tokio::time::sleep(delay).await;
                        waited = waited.saturating_add(delay);
                        continue;
                    }
                    return Err(e);
                }
            };
            let client_request_id = Uuid::new_v4().to_string();
            let outcome = self
                .send_once(call, &url, &token.bearer(), &client_request_id)
                .await;
            let (err, retry_after) = match outcome {
                Outcome::Done(answer) => {
                    inner.metrics.record(&route, &answer.status.to_string());
                    return Ok(answer);
                }
                Outcome::Transport(kind, message, unsent) => {
                    inner.metrics.record(&route, &kind.to_string());
                    let err = GraphError::Transport {
                        kind,
                        message,
                        client_request_id: client_request_id.clone(),
                        outcome_unknown: !call.idempotent && !unsent,
                    };
                    if err.outcome_unknown() {
                        tracing::warn!(error = %err, "ambiguous failure of a non-idempotent request");
                        return Err(err);
                    }
                    (err, None)
                }
                Outcome::Api(mut api) => {
                    inner.metrics.record(&route, &api.status.to_string());
                    if api.status == 401 && !refreshed {
                        // A token revoked or expired early: fetch a fresh one, once.
                        refreshed = true;
                        inner.tokens.invalidate(token.generation);
                        continue;
                    }
                    if !retryable_status(api.status) {
                        return Err(GraphError::Api(api));
                    }
                    if api.status != 429 && !call.idempotent {
                        api.outcome_unknown = true;
                        tracing::warn!(request_id = api.request_id.as_deref().unwrap_or(""), error = %api,
                            "ambiguous 5xx on a non-idempotent request");
                        return Err(GraphError::Api(api));
                    }
                    let ra = api.retry_after;
                    (GraphError::Api(api), ra)
                }
            };
            let delay = inner.retry.delay(attempt, retry_after);
            let throttled = err.status() == Some(429);
            if !inner.retry.allows(attempt, waited, delay)
                || (throttled && !inner.retry.can_wait(retry_after))
            {
                if throttled {
                    inner.pacer.pause(retry_after.unwrap_or(delay));
                }
                return Err(err);
            }
            if throttled {
                inner.pacer.pause(delay);
                inner.metrics.record_throttle_wait(delay);
            }
            tracing::debug!(error = %err, attempt, delay_ms = delay.as_millis() as u64, "retrying");
            inner.metrics.record_retry();
            tokio::time::sleep(delay).await;
            waited = waited.saturating_add(delay);
        }
    }

    async fn send_once(&self, call: &Call, url: &Url, bearer: &str, crid: &str) -> Outcome {
        let inner = &*self.inner;
        let mut req = inner
            .http
            .request(call.method.clone(), url.clone())
            .header("Authorization", bearer)
            .header("client-request-id", crid)
            .header("Accept", "application/json")
            .timeout(inner.timeout);
        for (name, value) in &call.headers {
            req = req.header(*name, value);
        }
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            // A refused connection never reached Graph; anything later might have.
            Err(e) => {
                return Outcome::Transport(transport_kind(&e), error_chain(&e), e.is_connect());
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let kind = if e.is_timeout() {
                    TransportKind::Timeout
                } else {
                    TransportKind::Body
                };
                return Outcome::Transport(kind, error_chain(&e), false);
            }
        };
        inner.pacer.observe_limit_percentage(
            header(&headers, "x-ms-throttle-limit-percentage").and_then(|v| v.parse().ok()),
        );
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(_) if !status.is_success() => Value::Null,
                Err(e) => {
                    return Outcome::Api(Box::new(ApiError {
                        status: status.as_u16(),
                        code: "InvalidJson".into(),
                        message: format!("unreadable answer body: {e}"),
                        request_id: header(&headers, "request-id"),
                        ..ApiError::default()
                    }));
                }
            }
        };
        if status.is_success() {
            return Outcome::Done(Answer {
                status: status.as_u16(),
                body,
            });
        }
        let mut api = ApiError::from_parts(
            status.as_u16(),
            &body,
            header(&headers, "request-id"),
            header(&headers, "date"),
            header(&headers, "retry-after").and_then(|v| parse_retry_after(&v)),
        );
        api.client_request_id.get_or_insert_with(|| crid.to_owned());
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            tracing::warn!(request_id = api.request_id.as_deref().unwrap_or(""), error = %api, "Graph refused the app");
        }
        Outcome::Api(Box::new(api))
    }
}

fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_body() || e.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Connection
    }
}

/// The error with its sources (reqwest's own message says little: "error sending request").
fn error_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_keeps_odata_readable() {
        let q = encode_query(&[
            (
                "$filter",
                "userPrincipalName eq 'o''brien@x.com'".to_owned(),
            ),
            ("$top", "999".to_owned()),
        ]);
        assert_eq!(
            q,
            "$filter=userPrincipalName%20eq%20%27o%27%27brien%40x.com%27&$top=999"
        );
    }
}
