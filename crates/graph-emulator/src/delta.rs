//! `GET /users/delta` and `GET /groups/delta`: rounds of pages linked by `@odata.nextLink`,
//! ending in an `@odata.deltaLink`; `@removed` for deleted objects; `members@delta` when
//! `$select` names `members`; `$deltatoken=latest`; deltaLinks that expire.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::consistency::{self, ReadLag};
use crate::directory::{DirObject, Directory, Kind};
use crate::error::GraphError;
use crate::odata::{self, Query, filter::Filter, paging};
use crate::state::AppState;

/// Objects per delta page.
const DELTA_PAGE: usize = 100;

/// Everything a delta round needs, carried in the opaque tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeltaState {
    /// Changes with a version above this are reported (0 = initial full round).
    since: u64,
    /// Directory version when the round started (lowered below changes the read lag still
    /// hides); the next round starts from it.
    round: u64,
    /// List cursor inside the round.
    after: u64,
    select: Option<Vec<String>>,
    filter: Option<String>,
    /// Emulated time the deltaLink was issued (for expiry).
    issued: f64,
}

fn expired(state: &AppState, kind: Kind) -> GraphError {
    GraphError::new(
        StatusCode::GONE,
        "syncStateNotFound",
        "The delta token has expired. The application must restart with a full synchronization.",
    )
    .with_header(
        "Location",
        &format!("{}/{}/delta?$deltatoken=", state.base, kind.segment()),
    )
}

fn link(state: &AppState, kind: Kind, name: &str, st: &DeltaState) -> String {
    format!(
        "{}/{}/delta?{name}={}",
        state.base,
        kind.segment(),
        paging::encode(st)
    )
}

fn selects_members(st: &DeltaState) -> bool {
    st.select
        .as_ref()
        .is_some_and(|s| s.iter().any(|p| p == "members"))
}

/// Is a live object part of this round (created, or a selected property/membership changed)?
fn relevant(o: &DirObject, st: &DeltaState) -> bool {
    if st.since == 0 || o.created_version > st.since {
        return true;
    }
    if o.changed_version <= st.since {
        return false;
    }
    match &st.select {
        None => true,
        Some(sel) => {
            sel.iter()
                .any(|p| o.prop_versions.get(p).is_some_and(|v| *v > st.since))
                || (selects_members(st) && o.members_version > st.since)
        }
    }
}

fn member_ref(dir: &Directory, id: uuid::Uuid, removed: bool) -> Value {
    let kind = dir.get_any(&id).map_or(Kind::User, |o| o.kind);
    let mut v = json!({ "@odata.type": kind.odata_type(), "id": id.to_string() });
    if removed {
        v["@removed"] = json!({ "reason": "deleted" });
    }
    v
}

/// `members@delta` of a group for this round: all members initially, net changes afterwards.
fn members_delta(dir: &Directory, o: &DirObject, since: u64) -> Vec<Value> {
    if since == 0 {
        return o
            .members
            .iter()
            .map(|m| member_ref(dir, *m, false))
            .collect();
    }
    let start = dir.member_log.partition_point(|c| c.version <= since);
    let mut net: Vec<(uuid::Uuid, bool)> = Vec::new();
    for c in dir.member_log[start..].iter().filter(|c| c.group == o.id) {
        net.retain(|(m, _)| *m != c.member);
        net.push((c.member, c.added));
    }
    net.into_iter()
        .map(|(m, added)| member_ref(dir, m, !added))
        .collect()
}

fn item(dir: &Directory, o: &DirObject, st: &DeltaState, minimal: bool) -> Value {
    let mut out = Map::new();
    let mut props = odata::project(o.kind, &o.props, st.select.as_deref());
    consistency::as_before_deletion(o, &mut props);
    // `Prefer: return=minimal`: on later rounds only the properties that changed come back.
    if minimal && st.since > 0 && o.created_version <= st.since {
        props.retain(|k, _| o.prop_versions.get(k).is_some_and(|v| *v > st.since));
    }
    out.extend(props);
    out.insert("id".into(), json!(o.id.to_string()));
    if o.kind == Kind::Group && selects_members(st) {
        let md = members_delta(dir, o, st.since);
        if !md.is_empty() || st.since == 0 {
            out.insert("members@delta".into(), Value::Array(md));
        }
    }
    Value::Object(out)
}

/// The version of the change the read lag still hides in this object, if any: its creation
/// while it is fresh, its deletion while that is recent.
fn hidden_change(o: &DirObject, lag: &ReadLag) -> Option<u64> {
    if lag.is_fresh(o) {
        Some(o.created_version)
    } else if lag.is_recently_deleted(o) {
        // Nothing changes a deleted object, so its last change is the deletion.
        Some(o.changed_version)
    } else {
        None
    }
}

/// The directory version a new round may call seen. With a read lag, delta holds back the
/// creations and deletions the lag hides (Graph's delta documents processing delays), so the
/// round must end below the oldest of them, or the next round would skip them for good. The
/// next round then replays the changes after that point, which Graph's delta may do too.
fn round_horizon(dir: &Directory, kind: Kind, lag: &ReadLag) -> u64 {
    let version = dir.version();
    if !lag.is_active() {
        return version;
    }
    dir.iter_after(kind, 0)
        .filter_map(|o| hidden_change(o, lag))
        .map(|v| v.saturating_sub(1))
        .fold(version, u64::min)
}

fn page(
    state: &AppState,
    kind: Kind,
    mut st: DeltaState,
    minimal: bool,
) -> Result<Response, GraphError> {
    let filter: Option<Filter> = st
        .filter
        .as_deref()
        .map(odata::filter::parse)
        .transpose()
        .map_err(|e| GraphError::odata(e.0))?;
    let lag = state.read_lag();
    let dir = state.dir();
    let mut value = Vec::new();
    let mut more = false;
    for o in dir.iter_after(kind, st.after) {
        if filter.as_ref().is_some_and(|f| !f.matches(&o.props)) {
            continue;
        }
        let entry = if lag.is_fresh(o) {
            // Its creation has not reached the replica delta reads; a later round reports it.
            None
        } else if lag.is_recently_deleted(o) {
            // The replica still has it as it was: a round that reports it as new still does,
            // and its removal comes in a later round.
            (st.since == 0 || o.created_version > st.since).then(|| item(&dir, o, &st, minimal))
        } else if o.deleted {
            // Soft-deleted objects are restorable: Graph reports reason "changed".
            (st.since > 0 && o.created_version <= st.since && o.changed_version > st.since)
                .then(|| json!({ "id": o.id.to_string(), "@removed": { "reason": "changed" } }))
        } else {
            relevant(o, &st).then(|| item(&dir, o, &st, minimal))
        };
        let Some(entry) = entry else { continue };
        if value.len() == DELTA_PAGE {
            more = true;
            break;
        }
        value.push(entry);
        st.after = o.seq;
    }
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{}/$metadata#{}", state.base, kind.segment())),
    );
    if more {
        body.insert(
            "@odata.nextLink".into(),
            json!(link(state, kind, "$skiptoken", &st)),
        );
    } else {
        let next = DeltaState {
            since: st.round,
            round: st.round,
            after: 0,
            issued: state.clock.now(),
            ..st
        };
        body.insert(
            "@odata.deltaLink".into(),
            json!(link(state, kind, "$deltatoken", &next)),
        );
    }
    body.insert("value".into(), Value::Array(value));
    Ok(axum::Json(Value::Object(body)).into_response())
}

fn delta(
    state: &AppState,
    kind: Kind,
    raw: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, GraphError> {
    let q = Query::parse(raw)?;
    let minimal = odata::prefers(headers, "return=minimal");
    // Where a round starting now ends: the current version, or less under a read lag. Only
    // requests that start a round need it (a page of a round carries its own).
    let horizon = || round_horizon(&state.dir(), kind, &state.read_lag());
    if let Some(t) = &q.skiptoken {
        let st: DeltaState = paging::decode(t)?;
        return page(state, kind, st, minimal);
    }
    if let Some(t) = &q.deltatoken {
        if t == "latest" {
            let now = horizon();
            let st = DeltaState {
                since: now,
                round: now,
                after: 0,
                select: q.select.clone(),
                filter: q.filter_raw.clone(),
                issued: state.clock.now(),
            };
            let mut body = Map::new();
            body.insert(
                "@odata.context".into(),
                json!(format!("{}/$metadata#{}", state.base, kind.segment())),
            );
            body.insert(
                "@odata.deltaLink".into(),
                json!(link(state, kind, "$deltatoken", &st)),
            );
            body.insert("value".into(), json!([]));
            return Ok(axum::Json(Value::Object(body)).into_response());
        }
        if t.is_empty() {
            return delta(state, kind, None, headers);
        }
        let st: DeltaState = paging::decode(t)?;
        if state.clock.now() - st.issued > state.config.delta_link_lifetime.as_secs_f64() {
            return Err(expired(state, kind));
        }
        return page(
            state,
            kind,
            DeltaState {
                round: horizon(),
                after: 0,
                ..st
            },
            minimal,
        );
    }
    if q.expand {
        return Err(GraphError::odata(
            "$expand is not supported on delta queries; use $select=members.",
        ));
    }
    odata::validate_select(&q, kind)?;
    if let Some(f) = &q.filter
        && f.properties().iter().any(|p| *p != "id")
    {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Unsupported query. Only 'id eq' filters are supported on delta queries.",
        ));
    }
    page(
        state,
        kind,
        DeltaState {
            since: 0,
            round: horizon(),
            after: 0,
            select: q.select.clone(),
            filter: q.filter_raw.clone(),
            issued: state.clock.now(),
        },
        minimal,
    )
}

pub async fn users(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    delta(&state, Kind::User, q.as_deref(), &headers)
}

pub async fn groups(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    delta(&state, Kind::Group, q.as_deref(), &headers)
}
