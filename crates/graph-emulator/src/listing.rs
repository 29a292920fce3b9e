//! Collection reads shared by users and groups: `$filter`, `$select`, `$top`, `$count`
//! (with `ConsistencyLevel: eventual`) and `@odata.nextLink` paging with an opaque `$skiptoken`.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::consistency::{self, ReadLag};
use crate::directory::{DirObject, Directory, Kind};
use crate::error::GraphError;
use crate::odata::{self, Query, paging};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize)]
struct ListCursor {
    /// List position (sequence number) of the last object on the previous page.
    after: u64,
    /// With `$orderby`: how many sorted objects earlier pages held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offset: Option<usize>,
}

fn sort_key(o: &DirObject, prop: &str) -> String {
    o.props
        .get(prop)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase()
}

fn visible(q: &Query, lag: &ReadLag, o: &DirObject) -> bool {
    lag.lists(o) && q.filter.as_ref().is_none_or(|f| f.matches(&o.props))
}

/// An object as a collection read shows it.
fn shown(kind: Kind, o: &DirObject, select: Option<&[String]>) -> Value {
    let mut props = odata::project(kind, &o.props, select);
    consistency::as_before_deletion(o, &mut props);
    Value::Object(props)
}

/// The key indexes hold live objects only. While the read lag still shows deleted objects of
/// this kind, a keyed `$filter` must scan instead, or it would miss them.
fn may_use_key_index(dir: &Directory, kind: Kind, lag: &ReadLag) -> bool {
    dir.last_deleted_at(kind).is_none_or(|at| !lag.hides(at))
}

/// `GET /users` and `GET /groups`.
pub fn list(
    state: &AppState,
    kind: Kind,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, GraphError> {
    let q = Query::parse(raw_query)?;
    odata::validate(&q, kind, headers)?;
    let cursor = match &q.skiptoken {
        Some(t) => paging::decode::<ListCursor>(t)?,
        None => ListCursor {
            after: 0,
            offset: None,
        },
    };
    let size = q.page_size();
    let lag = state.read_lag();
    let dir = state.dir();
    let mut value = Vec::with_capacity(size.min(64));
    let mut next: Option<ListCursor> = None;
    let project = |o: &DirObject| shown(kind, o, q.select.as_deref());
    if let Some((prop, desc)) = &q.orderby {
        // Sorted lists page by offset into the sorted result (re-sorted on every page).
        let mut all: Vec<&DirObject> = dir
            .iter_after(kind, 0)
            .filter(|o| visible(&q, &lag, o))
            .collect();
        all.sort_by_cached_key(|o| sort_key(o, prop));
        if *desc {
            all.reverse();
        }
        let offset = cursor.offset.unwrap_or(0);
        value.extend(all.iter().skip(offset).take(size).map(|o| project(o)));
        if all.len() > offset + size {
            next = Some(ListCursor {
                after: 0,
                offset: Some(offset + size),
            });
        }
    } else {
        let mut last = None;
        // Key lookups (`id eq`, `userPrincipalName eq`, `id in`) skip the scan.
        let keyed = q
            .filter
            .as_ref()
            .filter(|_| may_use_key_index(&dir, kind, &lag))
            .and_then(|f| dir.keyed_candidates(kind, f));
        let candidates: Box<dyn Iterator<Item = &DirObject>> = match keyed {
            Some(found) => Box::new(found.into_iter().filter(move |o| o.seq > cursor.after)),
            None => Box::new(dir.iter_after(kind, cursor.after)),
        };
        for o in candidates.filter(|o| visible(&q, &lag, o)) {
            if value.len() == size {
                next = last.map(|after| ListCursor {
                    after,
                    offset: None,
                });
                break;
            }
            value.push(project(o));
            last = Some(o.seq);
        }
    }
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(odata::collection_context(
            &state.base,
            kind.segment(),
            q.select.as_deref()
        )),
    );
    // Graph puts @odata.count on the first page only.
    if q.count && q.skiptoken.is_none() {
        let n = dir
            .iter_after(kind, 0)
            .filter(|o| visible(&q, &lag, o))
            .count();
        body.insert("@odata.count".into(), json!(n));
    }
    if let Some(cursor) = next {
        let token = paging::encode(&cursor);
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}/{}?{}",
                state.base,
                kind.segment(),
                q.link_query("$skiptoken", &token)
            )),
        );
    }
    body.insert("value".into(), Value::Array(value));
    Ok(axum::Json(Value::Object(body)).into_response())
}

/// `GET /users/$count` and `GET /groups/$count`: a plain-text number, advanced query only.
pub fn count(
    state: &AppState,
    kind: Kind,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, GraphError> {
    let q = Query::parse(raw_query)?;
    if !odata::eventual(headers) {
        return Err(GraphError::bad_request(
            crate::error::msg::COUNT_UNSUPPORTED,
        ));
    }
    odata::validate(&q, kind, headers)?;
    let lag = state.read_lag();
    let n = state
        .dir()
        .iter_after(kind, 0)
        .filter(|o| visible(&q, &lag, o))
        .count();
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/plain")],
        n.to_string(),
    )
        .into_response())
}

/// One object with `$select` applied and `@odata.context` of an entity.
pub fn entity(state: &AppState, o: &DirObject, select: Option<&[String]>) -> Value {
    let mut out = odata::project(o.kind, &o.props, select);
    let ctx = match select {
        Some(sel) => format!(
            "{}/$metadata#{}({})/$entity",
            state.base,
            o.kind.segment(),
            sel.join(",")
        ),
        None => format!("{}/$metadata#{}/$entity", state.base, o.kind.segment()),
    };
    out.insert("@odata.context".into(), json!(ctx));
    Value::Object(out)
}

/// `GET /users/{id}` / `GET /groups/{id}`.
pub fn get_one(
    state: &AppState,
    o: &DirObject,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, GraphError> {
    let q = Query::parse(raw_query)?;
    odata::validate(&q, o.kind, headers)?;
    Ok(axum::Json(entity(state, o, q.select.as_deref())).into_response())
}
