//! Batched creates: up to 20 creates per `$batch` round trip. An item whose outcome is unknown
//! (a 5xx, or the whole envelope lost) is looked up by its anchor before it is sent again, so
//! a flaky network never makes a second object.

use std::collections::HashSet;

use engine::{Properties, RemoteFailure, RemoteKind, RemoteObject, TargetError};
use msgraph::{BatchRequest, GraphError, MAX_BATCH, Method, Page};
use serde_json::Value;

use crate::anchors;
use crate::classify::{classify, is_conflict};
use crate::target::{EntraTarget, to_remote};

/// Rounds per chunk while some outcomes stay unknown.
const ROUNDS: u32 = 8;

type Outcome = Option<Result<RemoteObject, TargetError>>;

impl EntraTarget {
    /// Creates many objects of one kind, 20 per `$batch`; one result per input, in order.
    pub async fn create_many(
        &self,
        kind: RemoteKind,
        objects: &[Properties],
    ) -> Vec<Result<RemoteObject, TargetError>> {
        let mut out = Vec::with_capacity(objects.len());
        for chunk in objects.chunks(MAX_BATCH) {
            out.extend(self.create_chunk(kind, chunk).await);
        }
        out
    }

    async fn create_chunk(
        &self,
        kind: RemoteKind,
        objects: &[Properties],
    ) -> Vec<Result<RemoteObject, TargetError>> {
        let mut results: Vec<Outcome> = vec![None; objects.len()];
        let mut pending = Vec::new();
        for (i, props) in objects.iter().enumerate() {
            match self.check_new(kind, props).await {
                Ok(()) => pending.push(i),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let segment = format!("/{}", anchors::kind(kind).segment());
        // Items whose earlier attempt may have been applied.
        let mut uncertain: HashSet<usize> = HashSet::new();
        for _ in 0..ROUNDS {
            if pending.is_empty() {
                break;
            }
            let requests = pending
                .iter()
                .map(|&i| {
                    BatchRequest::new(i.to_string(), Method::POST, segment.clone())
                        .body(Value::Object(objects[i].clone()))
                })
                .collect();
            let mut unknown = Vec::new();
            match self.graph().batch(requests).await {
                Err(e) if e.outcome_unknown() => unknown = std::mem::take(&mut pending),
                Err(e) => {
                    let err = classify(&e);
                    for i in pending.drain(..) {
                        results[i] = Some(Err(err.clone()));
                    }
                }
                Ok(answers) => {
                    for i in std::mem::take(&mut pending) {
                        match answers.get(&i.to_string()) {
                            Some(Ok(a)) => results[i] = Some(object_of(a.body.clone())),
                            Some(Err(e)) if e.outcome_unknown() => unknown.push(i),
                            Some(Err(GraphError::Api(api)))
                                if uncertain.contains(&i) && is_conflict(api) =>
                            {
                                unknown.push(i);
                            }
                            Some(Err(e)) => results[i] = Some(Err(classify(e))),
                            None => unknown.push(i),
                        }
                    }
                }
            }
            if unknown.is_empty() {
                continue;
            }
            for &i in &unknown {
                uncertain.insert(i);
            }
            // Did Graph make them after all? One batched lookup answers for up to 20.
            match self.resolve_many(kind, objects, &unknown).await {
                Ok(found) => {
                    for (i, hit) in unknown.into_iter().zip(found) {
                        match hit {
                            Some(o) => results[i] = Some(Ok(o)),
                            None => pending.push(i),
                        }
                    }
                }
                Err(e) => {
                    for i in unknown {
                        results[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(TargetError::Transient {
                        retry_after: None,
                        failure: RemoteFailure {
                            code: "outcomeUnknown".into(),
                            message: format!("create outcome still unknown after {ROUNDS} rounds"),
                            request_id: None,
                            date: None,
                        },
                    })
                })
            })
            .collect()
    }
}

impl EntraTarget {
    /// Looks the anchors of `indices` up in one `$batch`: for each, the one object that answers
    /// (none when zero or several answer, or the object has no anchor).
    async fn resolve_many(
        &self,
        kind: RemoteKind,
        objects: &[Properties],
        indices: &[usize],
    ) -> Result<Vec<Option<RemoteObject>>, TargetError> {
        let requests: Vec<BatchRequest> = indices
            .iter()
            .filter_map(|&i| {
                let anchor = anchors::of_new(kind, &objects[i])?;
                let (property, value) = anchors::filter(&anchor);
                Some(BatchRequest::find(
                    i.to_string(),
                    anchors::kind(kind),
                    property,
                    value,
                    &[],
                ))
            })
            .collect();
        let answers = self
            .graph()
            .batch(requests)
            .await
            .map_err(|e| classify(&e))?;
        indices
            .iter()
            .map(|i| match answers.get(&i.to_string()) {
                None => Ok(None),
                Some(Err(e)) => Err(classify(e)),
                Some(Ok(a)) => {
                    let page = Page::from_body(a.body.clone()).map_err(|e| classify(&e))?;
                    let mut items = page.items;
                    if items.len() == 1 {
                        to_remote(items.remove(0)).map(Some)
                    } else {
                        Ok(None)
                    }
                }
            })
            .collect()
    }
}

fn object_of(body: Value) -> Result<RemoteObject, TargetError> {
    match body {
        Value::Object(o) => to_remote(o),
        _ => to_remote(serde_json::Map::new()),
    }
}
