//! `GET /organization`: the tenant with its verified domains (provisioners read these to check
//! UPN domains before creating users).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::GraphError;
use crate::odata::Query;
use crate::state::AppState;

fn organization_object(state: &AppState) -> Value {
    let domains: Vec<Value> = state
        .config
        .verified_domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": i == 0,
                "isInitial": d.to_ascii_lowercase().ends_with(".onmicrosoft.com"),
                "name": d,
                "type": "Managed",
            })
        })
        .collect();
    json!({
        "id": state.config.tenant_id,
        "deletedDateTime": null,
        "displayName": "Contoso (emulated)",
        "tenantType": "AAD",
        "countryLetterCode": "US",
        "preferredLanguage": "en",
        "onPremisesSyncEnabled": null,
        "verifiedDomains": domains,
    })
}

pub async fn organization(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = Query::parse(raw.as_deref())?;
    let org = organization_object(&state);
    let (item, ctx) = match &q.select {
        Some(sel) => {
            let mut m = serde_json::Map::new();
            for p in sel {
                m.insert(p.clone(), org.get(p).cloned().unwrap_or(Value::Null));
            }
            (
                Value::Object(m),
                format!("{}/$metadata#organization({})", state.base, sel.join(",")),
            )
        }
        None => (org, format!("{}/$metadata#organization", state.base)),
    };
    Ok(axum::Json(json!({ "@odata.context": ctx, "value": [item] })).into_response())
}
