//! JSON batching (`POST /$batch`, graph-contract.md §4): up to 20 requests per round trip,
//! `dependsOn`, answers correlated by id. Items are throttled one by one, so only the failed
//! items are sent again, after the longest item `Retry-After`. An item that is not idempotent
//! is never re-sent after a 5xx (its outcome is unknown); only after a 429, which Graph
//! answers before doing anything.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::{Call, GraphClient, encode_query};
use crate::error::{ApiError, GraphError};
use crate::objects::Kind;
use crate::odata;
use crate::retry::{parse_retry_after, retryable_status};

/// Most requests in one batch.
pub const MAX_BATCH: usize = 20;

/// One request inside a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRequest {
    /// Unique (case-insensitively) within the batch.
    pub id: String,
    pub method: Method,
    /// Relative to the Graph version root, e.g. `/users`.
    pub url: String,
    pub body: Option<Value>,
    pub depends_on: Vec<String>,
    /// Safe to re-send after a 5xx.
    pub idempotent: bool,
}

impl BatchRequest {
    pub fn new(id: impl Into<String>, method: Method, url: impl Into<String>) -> Self {
        let idempotent = method != Method::POST;
        Self {
            id: id.into(),
            method,
            url: url.into(),
            body: None,
            depends_on: Vec::new(),
            idempotent,
        }
    }

    /// A lookup by `property eq 'value'` (quotes escaped, URL encoded), as in
    /// [`GraphClient::find_by`]; parse the answer with [`crate::Page::from_body`].
    pub fn find(
        id: impl Into<String>,
        kind: Kind,
        property: &str,
        value: &str,
        select: &[&str],
    ) -> Self {
        let mut query = vec![("$filter", odata::eq(property, value))];
        if let Some(s) = odata::select(select) {
            query.push(("$select", s));
        }
        Self::new(
            id,
            Method::GET,
            format!("/{}?{}", kind.segment(), encode_query(&query)),
        )
    }

    #[must_use]
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    #[must_use]
    pub fn depends_on(mut self, id: impl Into<String>) -> Self {
        self.depends_on.push(id.into());
        self
    }

    #[must_use]
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    fn to_json(&self, live: &HashSet<String>) -> Value {
        let mut item = Map::new();
        item.insert("id".into(), json!(self.id));
        item.insert("method".into(), json!(self.method.as_str()));
        item.insert("url".into(), json!(self.url));
        if let Some(body) = &self.body {
            item.insert("body".into(), body.clone());
            item.insert(
                "headers".into(),
                json!({"Content-Type": "application/json"}),
            );
        }
        // A dependency that already succeeded in an earlier round is not in this batch.
        let deps: Vec<&String> = self
            .depends_on
            .iter()
            .filter(|d| live.contains(&d.to_lowercase()))
            .collect();
        if !deps.is_empty() {
            item.insert("dependsOn".into(), json!(deps));
        }
        Value::Object(item)
    }
}

/// A successful item answer.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchAnswer {
    pub status: u16,
    pub body: Value,
}

/// Per-item outcomes, keyed by item id as given.
pub type BatchResults = BTreeMap<String, Result<BatchAnswer, GraphError>>;

fn item_header(headers: &Value, name: &str) -> Option<String> {
    headers.as_object().and_then(|h| {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str().map(str::to_owned))
    })
}

impl GraphClient {
    /// Runs up to [`MAX_BATCH`] requests; retries failed items within the retry policy.
    /// `Err` only when the batch as a whole failed (then `outcome_unknown` tells whether any
    /// non-idempotent item may have been applied).
    pub async fn batch(&self, requests: Vec<BatchRequest>) -> Result<BatchResults, GraphError> {
        if requests.len() > MAX_BATCH {
            return Err(GraphError::InvalidRequest(format!(
                "{} requests in one batch (at most {MAX_BATCH})",
                requests.len()
            )));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = requests.iter().find(|r| !seen.insert(r.id.to_lowercase())) {
            return Err(GraphError::InvalidRequest(format!(
                "duplicate batch id '{}'",
                dup.id
            )));
        }
        let mut results = BatchResults::new();
        let mut pending = requests;
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        while !pending.is_empty() {
            attempt = attempt.saturating_add(1);
            let answers = self.send_batch(&pending).await?;
            let mut retry = Vec::new();
            let mut longest: Option<Duration> = None;
            let mut throttled = false;
            // Items sent again whatever their dependencies did: throttled ones (never
            // processed) and idempotent ones that hit a transient fault.
            let again_ids: HashSet<String> = pending
                .iter()
                .filter(|r| {
                    answers
                        .get(&r.id.to_lowercase())
                        .is_some_and(|(status, _, _)| {
                            *status == 429 || (retryable_status(*status) && r.idempotent)
                        })
                })
                .map(|r| r.id.to_lowercase())
                .collect();
            for req in std::mem::take(&mut pending) {
                let key = req.id.to_lowercase();
                let Some((status, headers, body)) = answers.get(&key).cloned() else {
                    results.insert(
                        req.id.clone(),
                        Err(GraphError::Decode {
                            message: format!("no answer for batch item '{}'", req.id),
                            request_id: None,
                        }),
                    );
                    continue;
                };
                // Items count like requests of their own (each is throttled on its own).
                self.raw_metrics()
                    .record(&format!("{} $batch item", req.method), &status.to_string());
                if (200..300).contains(&status) {
                    results.insert(req.id.clone(), Ok(BatchAnswer { status, body }));
                    continue;
                }
                let mut api = ApiError::from_parts(
                    status,
                    &body,
                    item_header(&headers, "request-id"),
                    item_header(&headers, "date"),
                    item_header(&headers, "retry-after").and_then(|v| parse_retry_after(&v)),
                );
                // 424: a dependency failed; it runs again if that dependency does.
                let dep_retried = status == 424
                    && req
                        .depends_on
                        .iter()
                        .any(|d| again_ids.contains(&d.to_lowercase()));
                let again =
                    status == 429 || dep_retried || (retryable_status(status) && req.idempotent);
                if again {
                    throttled |= status == 429;
                    if let Some(ra) = api.retry_after {
                        longest = Some(longest.map_or(ra, |l| l.max(ra)));
                    }
                    retry.push(req);
                } else {
                    api.outcome_unknown = retryable_status(status) && !req.idempotent;
                    results.insert(req.id.clone(), Err(GraphError::Api(Box::new(api))));
                }
            }
            if retry.is_empty() {
                break;
            }
            let delay = self.retry_policy().delay(attempt, longest);
            if !self.retry_policy().allows(attempt, waited, delay)
                || (throttled && !self.retry_policy().can_wait(longest))
            {
                // Out of patience: report each item's last answer.
                let last = self.send_batch_errors(&retry, &answers);
                results.extend(last);
                break;
            }
            if throttled {
                self.pacer().pause(delay);
                self.raw_metrics().record_throttle_wait(delay);
            }
            self.raw_metrics().record_retry();
            tracing::debug!(
                items = retry.len(),
                delay_ms = delay.as_millis() as u64,
                "retrying batch items"
            );
            tokio::time::sleep(delay).await;
            waited = waited.saturating_add(delay);
            pending = retry;
        }
        Ok(results)
    }

    /// The last answers of items that will not be retried any more.
    fn send_batch_errors(
        &self,
        items: &[BatchRequest],
        answers: &HashMap<String, (u16, Value, Value)>,
    ) -> BatchResults {
        items
            .iter()
            .map(|req| {
                let (status, headers, body) = answers
                    .get(&req.id.to_lowercase())
                    .cloned()
                    .unwrap_or((0, Value::Null, Value::Null));
                let mut api = ApiError::from_parts(
                    status,
                    &body,
                    item_header(&headers, "request-id"),
                    item_header(&headers, "date"),
                    item_header(&headers, "retry-after").and_then(|v| parse_retry_after(&v)),
                );
                api.outcome_unknown = status != 429 && !req.idempotent;
                (req.id.clone(), Err(GraphError::Api(Box::new(api))))
            })
            .collect()
    }

    /// One envelope: item id (lower-cased) → (status, headers, body).
    async fn send_batch(
        &self,
        items: &[BatchRequest],
    ) -> Result<HashMap<String, (u16, Value, Value)>, GraphError> {
        // Items count against the limits one by one: pace each, not the envelope.
        for item in items {
            let waited = self.pacer().acquire(item.method != Method::GET).await;
            self.raw_metrics().record_pacing_wait(waited);
        }
        let live: HashSet<String> = items.iter().map(|r| r.id.to_lowercase()).collect();
        let body = json!({"requests": items.iter().map(|r| r.to_json(&live)).collect::<Vec<_>>()});
        let call = Call::new(Method::POST, "/$batch", "/$batch")
            .body(body)
            .idempotent(items.iter().all(|r| r.idempotent))
            .unpaced();
        let answer = self.execute(&call).await?;
        let responses = answer.body["responses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(responses
            .into_iter()
            .filter_map(|r| {
                let id = r["id"].as_str()?.to_lowercase();
                let status = u16::try_from(r["status"].as_u64()?).ok()?;
                Some((id, (status, r["headers"].clone(), r["body"].clone())))
            })
            .collect())
    }
}
