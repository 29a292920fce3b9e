//! `/Bulk` (RFC 7644 §3.7): many writes in one request, so that an HR load of thousands of
//! people is a few requests. Each operation is the write its method and path name, done as
//! the endpoint itself does it (one directory transaction each). An operation may name a
//! resource another one creates (`bulkId:…` in its path or data); it runs once that one has,
//! whatever their order, and references that go round in a circle are refused. Processing
//! stops after `failOnErrors` errors; the answer lists every operation processed, in the
//! order sent.

use std::collections::{HashMap, HashSet};

use axum::{
    Extension,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use scim::ScimError;
use serde_json::{Map, Value, json};

use super::{
    auth::ScimClient,
    groups,
    response::{ScimBody, ScimFailure, base_url, scim_json},
    users,
};
use crate::AppState;

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The most operations one request may hold (announced as `maxOperations`).
pub const MAX_OPERATIONS: usize = 1000;

/// How large a request may be (announced as `maxPayloadSize`): the server's body limit.
#[derive(Debug, Clone, Copy)]
pub struct BulkLimits {
    pub max_payload: usize,
}

const REFERENCE: &str = "bulkId:";

/// One operation as sent.
struct Operation {
    method: String,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Option<Value>,
}

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn operation(index: usize, value: &Value) -> Result<Operation, ScimError> {
    let at = |detail: &str| ScimError::invalid_syntax(format!("Operations[{index}]: {detail}"));
    let object = value.as_object().ok_or_else(|| at("must be an object"))?;
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        match field(object, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(at(&format!("{name} must be a string"))),
        }
    };
    let method = text("method")?
        .ok_or_else(|| at("method is required"))?
        .to_ascii_uppercase();
    let path = text("path")?.ok_or_else(|| at("path is required"))?;
    let bulk_id = text("bulkId")?;
    if method == "POST" && bulk_id.is_none() {
        return Err(at("a POST needs a bulkId"));
    }
    Ok(Operation {
        method,
        path,
        bulk_id,
        version: text("version")?,
        data: field(object, "data").cloned(),
    })
}

/// The `bulkId`s an operation names.
fn references(operation: &Operation) -> HashSet<String> {
    fn walk(value: &Value, found: &mut HashSet<String>) {
        match value {
            Value::String(text) => {
                if let Some(id) = text.strip_prefix(REFERENCE) {
                    found.insert(id.to_owned());
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
            Value::Object(map) => map.values().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let mut found = HashSet::new();
    for segment in operation.path.split('/') {
        if let Some(id) = segment.strip_prefix(REFERENCE) {
            found.insert(id.to_owned());
        }
    }
    if let Some(data) = &operation.data {
        walk(data, &mut found);
    }
    found
}

/// `value` with every `bulkId:…` replaced by the id its operation created.
fn resolved(value: &Value, created: &HashMap<String, String>) -> Value {
    match value {
        Value::String(text) => match text.strip_prefix(REFERENCE).and_then(|id| created.get(id)) {
            Some(id) => Value::String(id.clone()),
            None => value.clone(),
        },
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| resolved(item, created)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), resolved(item, created)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What one operation came to, as the answer lists it.
struct Done {
    status: u16,
    location: Option<String>,
    version: Option<String>,
    created_id: Option<String>,
}

fn written(status: u16, resource: &Value) -> Done {
    Done {
        status,
        location: resource["meta"]["location"].as_str().map(str::to_owned),
        version: resource["meta"]["version"].as_str().map(str::to_owned),
        created_id: (status == 201)
            .then(|| resource["id"].as_str().map(str::to_owned))
            .flatten(),
    }
}

async fn run(
    state: &AppState,
    client: &ScimClient,
    base: &str,
    operation: &Operation,
    created: &HashMap<String, String>,
) -> Result<Done, ScimFailure> {
    let path: String = operation
        .path
        .split('/')
        .map(|segment| {
            match segment
                .strip_prefix(REFERENCE)
                .and_then(|id| created.get(id))
            {
                Some(id) => id.clone(),
                None => segment.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let data = operation.data.as_ref().map(|data| resolved(data, created));
    let body = || {
        data.as_ref()
            .filter(|data| data.is_object())
            .ok_or_else(|| ScimFailure(ScimError::invalid_syntax("data must be an object")))
    };
    let version = operation.version.as_deref();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (operation.method.as_str(), segments.as_slice()) {
        ("POST", ["Users"]) => Ok(written(
            201,
            &users::create_one(state, client, base, body()?).await?,
        )),
        ("POST", ["Groups"]) => Ok(written(
            201,
            &groups::create_one(state, client, base, body()?).await?,
        )),
        ("PUT", ["Users", id]) => Ok(written(
            200,
            &users::replace_one(state, base, id, version, body()?).await?,
        )),
        ("PUT", ["Groups", id]) => Ok(written(
            200,
            &groups::replace_one(state, base, id, version, body()?).await?,
        )),
        ("PATCH", ["Users", id]) => Ok(written(
            200,
            &users::patch_one(state, base, id, version, body()?).await?,
        )),
        ("PATCH", ["Groups", id]) => {
            let new_version = groups::patch_one(state, base, id, version, body()?).await?;
            Ok(Done {
                status: 200,
                location: Some(format!("{base}/Groups/{id}")),
                version: Some(new_version),
                created_id: None,
            })
        }
        ("DELETE", ["Users", id]) => {
            users::delete_one(state, id, version).await?;
            Ok(Done {
                status: 204,
                location: Some(format!("{base}/Users/{id}")),
                version: None,
                created_id: None,
            })
        }
        ("DELETE", ["Groups", id]) => {
            groups::delete_one(state, id, version).await?;
            Ok(Done {
                status: 204,
                location: Some(format!("{base}/Groups/{id}")),
                version: None,
                created_id: None,
            })
        }
        (method, _) => Err(ScimFailure(ScimError::invalid_syntax(format!(
            "{method} {} is not an operation bulk can do (POST, PUT, PATCH or DELETE on /Users or /Groups)",
            operation.path
        )))),
    }
}

fn answer(operation: &Operation, outcome: &Result<Done, ScimFailure>) -> Value {
    let mut entry = Map::new();
    entry.insert("method".into(), json!(operation.method));
    if let Some(bulk_id) = &operation.bulk_id {
        entry.insert("bulkId".into(), json!(bulk_id));
    }
    match outcome {
        Ok(done) => {
            if let Some(location) = &done.location {
                entry.insert("location".into(), json!(location));
            }
            if let Some(version) = &done.version {
                entry.insert("version".into(), json!(version));
            }
            entry.insert("status".into(), json!(done.status.to_string()));
        }
        Err(ScimFailure(error)) => {
            entry.insert("status".into(), json!(error.status.to_string()));
            entry.insert("response".into(), error.to_json());
        }
    }
    Value::Object(entry)
}

pub async fn bulk(
    State(state): State<AppState>,
    Extension(client): Extension<ScimClient>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFailure> {
    let object = body.as_object().cloned().unwrap_or_default();
    if let Some(schemas) = field(&object, "schemas")
        && !schemas
            .as_array()
            .is_some_and(|list| list.iter().any(|s| s == BULK_REQUEST_SCHEMA))
    {
        return Err(
            ScimError::invalid_syntax(format!("schemas must list {BULK_REQUEST_SCHEMA}")).into(),
        );
    }
    let fail_on_errors = match field(&object, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_u64() {
            Some(count) if count >= 1 => Some(count),
            _ => {
                return Err(
                    ScimError::invalid_value("failOnErrors must be a positive integer").into(),
                );
            }
        },
    };
    let listed = field(&object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be a list"))?;
    if listed.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            413,
            Some(scim::ScimType::TooMany),
            format!(
                "at most {MAX_OPERATIONS} operations per request, not {}",
                listed.len()
            ),
        )
        .into());
    }
    let operations = listed
        .iter()
        .enumerate()
        .map(|(index, value)| operation(index, value))
        .collect::<Result<Vec<_>, _>>()?;
    let mut defined = HashSet::new();
    for operation in &operations {
        if let Some(bulk_id) = &operation.bulk_id
            && !defined.insert(bulk_id.clone())
        {
            return Err(
                ScimError::invalid_value(format!("bulkId {bulk_id:?} is used twice")).into(),
            );
        }
    }

    let base = base_url(&headers);
    let mut outcomes: Vec<Option<Result<Done, ScimFailure>>> =
        operations.iter().map(|_| None).collect();
    let mut created: HashMap<String, String> = HashMap::new();
    let mut failed_ids: HashSet<String> = HashSet::new();
    let mut errors = 0_u64;
    let mut left: Vec<usize> = (0..operations.len()).collect();
    'passes: while !left.is_empty() {
        let mut deferred = Vec::new();
        let mut progressed = false;
        for index in left {
            let operation = &operations[index];
            let wanted = references(operation);
            let outcome = if let Some(missing) = wanted.iter().find(|id| !defined.contains(*id)) {
                Some(Err(ScimFailure(ScimError::invalid_value(format!(
                    "bulkId {missing:?} names no operation of this request"
                )))))
            } else if let Some(failed) = wanted.iter().find(|id| failed_ids.contains(*id)) {
                Some(Err(ScimFailure(ScimError::new(
                    409,
                    Some(scim::ScimType::InvalidValue),
                    format!("the operation with bulkId {failed:?} failed"),
                ))))
            } else if wanted.iter().all(|id| created.contains_key(id)) {
                Some(run(&state, &client, &base, operation, &created).await)
            } else {
                None
            };
            let Some(outcome) = outcome else {
                deferred.push(index);
                continue;
            };
            progressed = true;
            match &outcome {
                Ok(done) => {
                    if let (Some(bulk_id), Some(id)) = (&operation.bulk_id, &done.created_id) {
                        created.insert(bulk_id.clone(), id.clone());
                    }
                }
                Err(_) => {
                    errors += 1;
                    if let Some(bulk_id) = &operation.bulk_id {
                        failed_ids.insert(bulk_id.clone());
                    }
                }
            }
            outcomes[index] = Some(outcome);
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                break 'passes;
            }
        }
        if !progressed {
            // What is left waits on itself: circular references.
            for index in deferred {
                outcomes[index] = Some(Err(ScimFailure(ScimError::new(
                    409,
                    Some(scim::ScimType::InvalidValue),
                    "this operation's bulkId references go round in a circle",
                ))));
            }
            break;
        }
        left = deferred;
    }
    let answers: Vec<Value> = operations
        .iter()
        .zip(&outcomes)
        .filter_map(|(operation, outcome)| {
            outcome.as_ref().map(|outcome| answer(operation, outcome))
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": answers}),
    ))
}
