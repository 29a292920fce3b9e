//! Access tokens: issuing them and checking `Authorization: Bearer` on every Graph request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{GraphError, msg};
use crate::state::AppState;

/// The resource Graph tokens are issued for.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub appid: String,
    pub idtyp: String,
    pub roles: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// The calling application, put in request extensions once the token checks out.
#[derive(Debug, Clone)]
pub struct Caller {
    pub app_id: String,
}

/// App roles the emulated admin consent grants (what a provisioner needs).
const ROLES: &[&str] = &[
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
];

/// Issues an access token valid for the configured lifetime of emulated time.
pub fn issue(state: &AppState, app_id: &str) -> (String, u64) {
    let now = state.clock.unix_now() as i64;
    let lifetime = state.config.token_lifetime.as_secs();
    let claims = Claims {
        aud: GRAPH_AUDIENCE.to_owned(),
        iss: format!("https://sts.windows.net/{}/", state.config.tenant_id),
        tid: state.config.tenant_id.clone(),
        appid: app_id.to_owned(),
        idtyp: "app".to_owned(),
        roles: ROLES.iter().map(|r| (*r).to_owned()).collect(),
        iat: now,
        nbf: now,
        exp: now + lifetime as i64,
    };
    // HS256 signing of a small struct with a valid key does not fail.
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &state.keys.encoding,
    )
    .unwrap_or_default();
    (token, lifetime)
}

/// Checks a bearer token; the error is Graph's 401 for that case.
pub fn verify(state: &AppState, authorization: Option<&str>) -> Result<Caller, GraphError> {
    let token = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| GraphError::unauthorized(msg::TOKEN_EMPTY))?;
    let mut validation = Validation::new(Algorithm::HS256);
    // Expiry is checked against the emulated clock below, not the wall clock.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Claims>(token, &state.keys.decoding, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    GraphError::unauthorized(msg::TOKEN_BAD_SIGNATURE)
                }
                _ => GraphError::unauthorized(msg::TOKEN_UNPARSABLE),
            }
        })?;
    let claims = data.claims;
    if claims.aud != GRAPH_AUDIENCE || claims.tid != state.config.tenant_id {
        return Err(GraphError::unauthorized(msg::TOKEN_BAD_AUDIENCE));
    }
    let now = state.clock.unix_now();
    if now >= claims.exp as f64 || now < claims.nbf as f64 {
        return Err(GraphError::unauthorized(msg::TOKEN_EXPIRED));
    }
    Ok(Caller {
        app_id: claims.appid,
    })
}

/// Middleware: 401 `InvalidAuthenticationToken` unless the bearer token is ours and current.
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match verify(&state, header) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e
            .with_header(
                "WWW-Authenticate",
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            )
            .into_response(),
    }
}
