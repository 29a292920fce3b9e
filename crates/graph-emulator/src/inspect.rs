//! The inspection API under `/_emulator` (no auth: it is the test harness's door, not Graph's):
//! reset, bulk seed, state dump, counters, knobs, clock.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::config::Knobs;
use crate::directory::{Directory, Kind};
use crate::state::AppState;

/// Errors of the inspection API, answered as `{"error": "..."}` with 400.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("invalid seed: {0}")]
    Seed(String),
    #[error("invalid knobs: {0}")]
    Knobs(String),
}

impl IntoResponse for InspectError {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

pub fn reset(state: &AppState) {
    *state.dir() = Directory::default();
    state.counters.reset();
    state.throttle().reset();
    state.dice.restart();
}

fn seed_id(props: &mut Map<String, Value>) -> Result<Uuid, InspectError> {
    match props.remove("id") {
        Some(Value::String(s)) => {
            Uuid::parse_str(&s).map_err(|_| InspectError::Seed(format!("bad id '{s}'")))
        }
        _ => Ok(Uuid::new_v4()),
    }
}

/// Bulk seed: `{"users": [{...}], "groups": [{..., "members": ["<id or UPN>"]}]}`.
/// Seeded objects skip Graph's create validation (fast fixtures) and the replication lag.
pub fn seed(state: &AppState, body: Value) -> Result<Value, InspectError> {
    let obj = |v: &Value| {
        v.as_object()
            .cloned()
            .ok_or_else(|| InspectError::Seed("items must be objects".into()))
    };
    let mut dir = state.dir();
    let mut users = Vec::new();
    for u in body
        .get("users")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut p = obj(u)?;
        let id = seed_id(&mut p)?;
        let upn = p
            .get("userPrincipalName")
            .and_then(Value::as_str)
            .ok_or_else(|| InspectError::Seed("user without userPrincipalName".into()))?
            .to_owned();
        if dir.upn_taken(&upn, None) {
            return Err(InspectError::Seed(format!(
                "duplicate userPrincipalName '{upn}'"
            )));
        }
        let local = upn.split('@').next().unwrap_or_default().to_owned();
        p.remove("passwordProfile");
        p.entry("displayName").or_insert(json!(local));
        p.entry("mailNickname").or_insert(json!(local));
        p.entry("accountEnabled").or_insert(json!(true));
        p.entry("businessPhones").or_insert(json!([]));
        for d in crate::odata::USER_DEFAULT {
            p.entry(*d).or_insert(Value::Null);
        }
        dir.insert(Kind::User, id, p);
        dir.mark_replicated(id);
        users.push(json!({ "id": id, "userPrincipalName": upn }));
    }
    let mut groups = Vec::new();
    for g in body
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut p = obj(g)?;
        let id = seed_id(&mut p)?;
        let members = p.remove("members").unwrap_or(json!([]));
        let name = p
            .get("displayName")
            .and_then(Value::as_str)
            .ok_or_else(|| InspectError::Seed("group without displayName".into()))?
            .to_owned();
        p.entry("mailEnabled").or_insert(json!(false));
        p.entry("securityEnabled").or_insert(json!(true));
        p.entry("groupTypes").or_insert(json!([]));
        p.entry("mailNickname")
            .or_insert(json!(name.replace(' ', "-")));
        dir.insert(Kind::Group, id, p);
        dir.mark_replicated(id);
        for m in members
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let mid = dir
                .find_user(m)
                .map(|o| o.id)
                .or_else(|| Uuid::parse_str(m).ok().filter(|u| dir.get(u).is_some()))
                .ok_or_else(|| InspectError::Seed(format!("unknown member '{m}'")))?;
            dir.add_member(id, mid);
        }
        groups.push(json!({ "id": id, "displayName": name }));
    }
    Ok(json!({ "users": users, "groups": groups }))
}

/// Everything in the directory: live users and groups (with member ids) and deleted ids.
pub fn dump(state: &AppState) -> Value {
    let dir = state.dir();
    let (mut users, mut groups, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    for o in dir.all() {
        if o.deleted {
            deleted.push(json!({ "id": o.id, "kind": o.kind.resource() }));
            continue;
        }
        let mut p = o.props.clone();
        match o.kind {
            Kind::User => users.push(Value::Object(p)),
            Kind::Group => {
                p.insert(
                    "members".into(),
                    json!(o.members.iter().map(Uuid::to_string).collect::<Vec<_>>()),
                );
                groups.push(Value::Object(p));
            }
        }
    }
    json!({ "tenantId": state.config.tenant_id, "users": users, "groups": groups, "deleted": deleted })
}

/// Merges a partial knob document into the current knobs.
pub fn patch_knobs(state: &AppState, patch: Value) -> Result<Knobs, InspectError> {
    let mut current =
        serde_json::to_value(state.knobs()).map_err(|e| InspectError::Knobs(e.to_string()))?;
    let (Some(cur), Value::Object(p)) = (current.as_object_mut(), patch) else {
        return Err(InspectError::Knobs("expected a JSON object".into()));
    };
    cur.extend(p);
    let knobs: Knobs =
        serde_json::from_value(current).map_err(|e| InspectError::Knobs(e.to_string()))?;
    state.set_knobs(knobs.clone());
    Ok(knobs)
}

fn info(state: &AppState) -> Value {
    json!({
        "tenantId": state.config.tenant_id,
        "clientId": state.config.client_id,
        "clientSecret": state.config.client_secret,
        "verifiedDomains": state.config.verified_domains,
        "graphBaseUrl": state.base,
        "tokenUrl": format!("{}/{}/oauth2/v2.0/token", state.root, state.config.tenant_id),
        "timeScale": state.clock.scale(),
        "emulatedSeconds": state.clock.now(),
    })
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/",
            get(|State(s): State<Arc<AppState>>| async move { axum::Json(info(&s)) }),
        )
        .route(
            "/info",
            get(|State(s): State<Arc<AppState>>| async move { axum::Json(info(&s)) }),
        )
        .route(
            "/reset",
            post(|State(s): State<Arc<AppState>>| async move {
                reset(&s);
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/seed",
            post(
                |State(s): State<Arc<AppState>>, axum::Json(v): axum::Json<Value>| async move {
                    seed(&s, v).map(axum::Json)
                },
            ),
        )
        .route(
            "/state",
            get(|State(s): State<Arc<AppState>>| async move { axum::Json(dump(&s)) }),
        )
        .route(
            "/counters",
            get(|State(s): State<Arc<AppState>>| async move { axum::Json(s.counters.snapshot()) }),
        )
        .route(
            "/knobs",
            get(|State(s): State<Arc<AppState>>| async move { axum::Json(s.knobs()) }).patch(
                |State(s): State<Arc<AppState>>, axum::Json(v): axum::Json<Value>| async move {
                    patch_knobs(&s, v).map(axum::Json)
                },
            ),
        )
        .route(
            "/clock/advance",
            post(
                |State(s): State<Arc<AppState>>, axum::Json(v): axum::Json<Value>| async move {
                    let secs = v
                        .get("seconds")
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0)
                        .max(0.0);
                    s.clock.advance(Duration::from_secs_f64(secs));
                    axum::Json(json!({ "emulatedSeconds": s.clock.now() }))
                },
            ),
        )
        .with_state(state)
}
