//! `POST /$batch`: up to 20 requests, `dependsOn`, 424 for failed dependencies. Each item is
//! dispatched through the Graph router itself (`ServiceExt::oneshot`), so it meets the same
//! handlers, auth, throttling and counters as a single request.

use std::collections::{HashMap, HashSet};

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use crate::error::{GraphError, graph_date};
use crate::faults::BatchItem;

pub const MAX_ITEMS: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: Option<String>,
    method: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: HashMap<String, String>,
    body: Option<Value>,
    #[serde(default)]
    depends_on: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    requests: Vec<Item>,
}

fn malformed(message: &str) -> GraphError {
    GraphError::odata(message)
}

/// Validates the envelope: item count, ids (unique, case-insensitively), methods, urls, deps.
fn parse(body: &[u8]) -> Result<Vec<Item>, GraphError> {
    let env: Envelope =
        serde_json::from_slice(body).map_err(|_| malformed("Invalid batch payload format."))?;
    if env.requests.len() > MAX_ITEMS {
        return Err(malformed(&format!(
            "The number of batch requests in the payload exceeds the limit of {MAX_ITEMS}."
        )));
    }
    let mut ids = HashSet::new();
    for it in &env.requests {
        let id = it.id.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
            malformed("Batch request item is missing the required 'id' property.")
        })?;
        if it.method.is_none() || it.url.is_none() {
            return Err(malformed(
                "Batch request items must have a 'method' and a 'url'.",
            ));
        }
        // Graph takes item URLs relative to the version root only: an absolute one makes the
        // whole batch malformed.
        let url = it.url.as_deref().unwrap_or_default().to_ascii_lowercase();
        if url.starts_with("http://") || url.starts_with("https://") {
            return Err(malformed("Invalid batch payload format."));
        }
        if !ids.insert(id.to_lowercase()) {
            return Err(malformed(&format!(
                "Batch request contains duplicate request id '{id}'."
            )));
        }
    }
    for it in &env.requests {
        if let Some(d) = it
            .depends_on
            .iter()
            .find(|d| !ids.contains(&d.to_lowercase()))
        {
            return Err(malformed(&format!(
                "Batch request item depends on an unknown id '{d}'."
            )));
        }
    }
    Ok(env.requests)
}

fn error_body(code: &str, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message,
        "innerError": { "date": graph_date() } } })
}

/// Runs one item through the router and shapes its answer.
async fn run_item(router: axum::Router, item: &Item, auth: Option<HeaderValue>) -> (u16, Value) {
    let id = item.id.clone().unwrap_or_default();
    let url = item.url.as_deref().unwrap_or_default();
    let path = url.trim_start_matches('/');
    // A version in an item's URL is read as a segment of the version root, as Graph does.
    if path == "v1.0" || path.starts_with("v1.0/") || path.starts_with("v1.0?") {
        let body = error_body("BadRequest", "Resource not found for the segment 'v1.0'.");
        return (400, json!({ "id": id, "status": 400, "body": body }));
    }
    if path.starts_with("$batch") {
        let body = error_body("BadRequest", "Nested batch requests are not supported.");
        return (400, json!({ "id": id, "status": 400, "body": body }));
    }
    let method = Method::from_bytes(
        item.method
            .as_deref()
            .unwrap_or("GET")
            .to_ascii_uppercase()
            .as_bytes(),
    )
    .unwrap_or(Method::GET);
    let body = match &item.body {
        Some(v) => Body::from(serde_json::to_vec(v).unwrap_or_default()),
        None => Body::empty(),
    };
    let mut req = Request::new(body);
    *req.method_mut() = method;
    let uri = format!("/v1.0/{}", escape_url(path));
    match uri.parse() {
        Ok(u) => *req.uri_mut() = u,
        Err(_) => {
            let body = error_body("BadRequest", "Invalid request URL.");
            return (400, json!({ "id": id, "status": 400, "body": body }));
        }
    }
    let headers = req.headers_mut();
    for (k, v) in &item.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(k, v);
        }
    }
    if let Some(a) = auth {
        headers.insert(axum::http::header::AUTHORIZATION, a);
    }
    req.extensions_mut().insert(BatchItem);
    let resp = match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    let mut out_headers = Map::new();
    for (k, v) in &parts.headers {
        if k == axum::http::header::CONTENT_LENGTH {
            continue;
        }
        if let Ok(v) = v.to_str() {
            out_headers.insert(header_case(k.as_str()), json!(v));
        }
    }
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let mut out = json!({ "id": id, "status": status, "headers": out_headers });
    if !bytes.is_empty() {
        out["body"] = serde_json::from_slice::<Value>(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    }
    (status, out)
}

/// Batch item URLs are written by hand (`$filter=city eq null`): percent-encode what a URI
/// may not contain so they parse like the same request sent on its own.
fn escape_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^'
            )
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `content-type` → `Content-Type`, as Graph prints item headers; Graph's own `x-ms-*` and
/// request-id headers stay lower-case, as in its examples.
fn header_case(name: &str) -> String {
    if name.starts_with("x-ms-") || name.ends_with("request-id") {
        return name.to_owned();
    }
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The router batch items are dispatched into, built once per emulator and handed to the
/// `$batch` handler as a request extension (so the state does not own its own router).
#[derive(Clone)]
pub struct ItemRouter(pub axum::Router);

pub async fn batch(
    Extension(ItemRouter(router)): Extension<ItemRouter>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let items = parse(&body)?;
    let auth = headers.get(axum::http::header::AUTHORIZATION).cloned();
    let mut status: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::with_capacity(items.len());
    let mut pending: Vec<&Item> = items.iter().collect();
    // Waves: every item whose dependencies are settled runs; items in one wave run concurrently.
    while !pending.is_empty() {
        let (ready, rest): (Vec<&Item>, Vec<&Item>) = pending.into_iter().partition(|it| {
            it.depends_on
                .iter()
                .all(|d| status.contains_key(&d.to_lowercase()))
        });
        if ready.is_empty() {
            return Err(malformed("Batch request contains a circular dependency."));
        }
        let mut runs = Vec::new();
        for it in &ready {
            let key = it.id.clone().unwrap_or_default();
            let failed_dep = it.depends_on.iter().any(|d| {
                status
                    .get(&d.to_lowercase())
                    .is_some_and(|s| !(200..300).contains(s))
            });
            if failed_dep {
                status.insert(key.to_lowercase(), 424);
                responses.push(json!({ "id": key, "status": 424,
                    "body": error_body("FailedDependency", "Failed Dependency") }));
            } else {
                runs.push(run_item(router.clone(), it, auth.clone()));
            }
        }
        for (s, resp) in futures::future::join_all(runs).await {
            let key = resp["id"].as_str().unwrap_or_default().to_lowercase();
            status.insert(key, s);
            responses.push(resp);
        }
        pending = rest;
    }
    Ok((
        StatusCode::OK,
        axum::Json(json!({ "responses": responses })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_rules() {
        let item = |id: &str| json!({"id": id, "method": "GET", "url": "/users"});
        let many: Vec<Value> = (0..21).map(|i| item(&i.to_string())).collect();
        assert!(parse(json!({"requests": many}).to_string().as_bytes()).is_err());
        let dup = json!({"requests": [item("a"), item("A")]});
        assert!(parse(dup.to_string().as_bytes()).is_err());
        let ok = json!({"requests": [item("1"), {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]}]});
        assert_eq!(parse(ok.to_string().as_bytes()).expect("valid").len(), 2);
        let unknown =
            json!({"requests": [{"id": "2", "method": "GET", "url": "/x", "dependsOn": ["9"]}]});
        assert!(parse(unknown.to_string().as_bytes()).is_err());
    }

    #[test]
    fn item_urls_are_escaped() {
        assert_eq!(
            escape_url("users?$filter=city eq null"),
            "users?$filter=city%20eq%20null"
        );
        assert_eq!(
            escape_url("users?$filter=displayName eq 'é'"),
            "users?$filter=displayName%20eq%20'%C3%A9'"
        );
    }

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(header_case("content-type"), "Content-Type");
        assert_eq!(header_case("retry-after"), "Retry-After");
        assert_eq!(header_case("x-ms-resource-unit"), "x-ms-resource-unit");
    }
}
