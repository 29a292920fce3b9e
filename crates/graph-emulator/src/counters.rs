//! Inspection counters, plus the middleware that counts requests by method and route template
//! and stamps `request-id` / `client-request-id` on every Graph answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::NeedsInnerIds;

/// The content type Graph answers JSON with (see the item headers in graph-examples/batch.txt).
const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
use crate::state::AppState;

#[derive(Debug, Default)]
pub struct Counters {
    /// "GET /v1.0/users/{id}" → count. A mutex is fine: it is held for one map update.
    by_route: Mutex<BTreeMap<String, u64>>,
    pub requests: AtomicU64,
    pub writes: AtomicU64,
    pub resource_units: AtomicU64,
    pub throttled: AtomicU64,
    /// Faults before the handler ran (nothing was applied).
    pub faults: AtomicU64,
    /// Writes that were applied and then answered with a failure.
    pub post_write_faults: AtomicU64,
    pub tokens_issued: AtomicU64,
}

/// A point-in-time copy of the counters (what `GET /_emulator/counters` returns).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CountersSnapshot {
    pub requests: u64,
    pub by_route: BTreeMap<String, u64>,
    pub writes: u64,
    pub resource_units: u64,
    pub throttled: u64,
    /// Injected faults before the request was handled: nothing was applied.
    pub faults: u64,
    /// Writes applied and then answered with a 5xx, a reset or a hang (`postWriteFaultRate`).
    #[serde(default)]
    pub post_write_faults: u64,
    pub tokens_issued: u64,
}

impl Counters {
    pub fn record(&self, method: &str, template: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let key = format!("{method} {template}");
        let mut map = self.by_route.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(key).or_default() += 1;
    }

    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            by_route: self
                .by_route
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            writes: self.writes.load(Ordering::Relaxed),
            resource_units: self.resource_units.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            faults: self.faults.load(Ordering::Relaxed),
            post_write_faults: self.post_write_faults.load(Ordering::Relaxed),
            tokens_issued: self.tokens_issued.load(Ordering::Relaxed),
        }
    }

    pub fn reset(&self) {
        self.by_route
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for c in [
            &self.requests,
            &self.writes,
            &self.resource_units,
            &self.throttled,
            &self.faults,
            &self.post_write_faults,
            &self.tokens_issued,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Route-layer middleware: counts the request under its route template and its 429s.
pub async fn count(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    state.counters.record(req.method().as_str(), &template);
    let resp = next.run(req).await;
    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
        state.counters.throttled.fetch_add(1, Ordering::Relaxed);
    }
    resp
}

/// Layer on every Graph request: request ids in headers and in error bodies' `innerError`.
pub async fn request_ids(req: Request, next: Next) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request_id.clone(), str::to_owned);
    let resp = next.run(req).await;
    let mut resp = if resp.extensions().get::<NeedsInnerIds>().is_some() {
        fill_inner_ids(resp, &request_id, &client_request_id).await
    } else {
        resp
    };
    let success = resp.status().is_success();
    let h = resp.headers_mut();
    // Graph's JSON answers carry the OData media type and version.
    if success && h.get(CONTENT_TYPE).is_some_and(|v| v == "application/json") {
        h.insert(CONTENT_TYPE, HeaderValue::from_static(GRAPH_JSON));
        h.insert("OData-Version", HeaderValue::from_static("4.0"));
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&client_request_id) {
        h.insert("client-request-id", v);
    }
    resp
}

/// Rewrites an error body so `innerError` carries the request ids (only error answers pay this).
async fn fill_inner_ids(resp: Response, request_id: &str, client_request_id: &str) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut json) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if let Some(inner) = json
        .get_mut("error")
        .and_then(|e| e.get_mut("innerError"))
        .and_then(Value::as_object_mut)
    {
        inner.insert("request-id".into(), Value::String(request_id.to_owned()));
        inner.insert(
            "client-request-id".into(),
            Value::String(client_request_id.to_owned()),
        );
    }
    let bytes = serde_json::to_vec(&json).unwrap_or_default();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}
