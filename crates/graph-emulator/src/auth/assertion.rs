//! Client-assertion (certificate credential) verification: RS256/PS256 JWT with `x5t#S256`,
//! audience = the token endpoint, `iss` = `sub` = client id, `nbf`/`exp` checked.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::token::AadError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    aud: Option<String>,
    iss: Option<String>,
    sub: Option<String>,
    nbf: Option<i64>,
    exp: Option<i64>,
}

/// Entra tolerates some clock skew on assertions; five minutes as in common validators.
const SKEW_SECS: i64 = 300;

fn malformed(reason: &str) -> AadError {
    AadError::invalid_client(
        50027,
        format!("JWT token is invalid or malformed. [Reason - {reason}]"),
    )
}

/// Token endpoint URLs the assertion audience may name: the emulator's own and the real
/// Entra one (so a client configured for Entra works unchanged), by tenant id or domain.
fn accepted_audiences(state: &AppState) -> Vec<String> {
    let mut tenants = vec![state.config.tenant_id.clone()];
    tenants.extend(state.config.verified_domains.iter().cloned());
    let mut out = Vec::new();
    for t in tenants {
        out.push(format!("{}/{t}/oauth2/v2.0/token", state.root));
        out.push(format!(
            "https://login.microsoftonline.com/{t}/oauth2/v2.0/token"
        ));
    }
    out
}

pub fn verify(state: &AppState, client_id: &str, assertion: &str) -> Result<(), AadError> {
    let header =
        jsonwebtoken::decode_header(assertion).map_err(|_| malformed("The token is not a JWT."))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
        return Err(malformed("Only RS256 and PS256 signatures are supported."));
    }
    let thumbprint = header
        .x5t_s256
        .ok_or_else(|| malformed("The x5t#S256 header is missing."))?;
    let cert = state.keys.cert(&thumbprint).ok_or_else(|| {
        AadError::invalid_client(
            700027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
            ),
        )
    })?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &cert.key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => AadError::invalid_client(
                700027,
                "Client assertion contains an invalid signature. [Reason - The signature does not verify against the registered key.]".to_owned(),
            ),
            _ => malformed("The token could not be decoded."),
        })?
        .claims;
    let aud = claims.aud.unwrap_or_default();
    if !accepted_audiences(state).contains(&aud) {
        return Err(malformed(&format!(
            "The audience claim '{aud}' is invalid."
        )));
    }
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return Err(AadError::invalid_client(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter."
                .to_owned(),
        ));
    }
    // Assertions carry the client's wall-clock time, so they are checked against the real
    // clock, not the (possibly scaled) emulated one.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let (nbf, exp) = (claims.nbf.unwrap_or(now), claims.exp.unwrap_or(0));
    if now + SKEW_SECS < nbf || now - SKEW_SECS >= exp {
        return Err(AadError::invalid_client(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                fmt_unix(now),
                fmt_unix(nbf),
                fmt_unix(exp)
            ),
        ));
    }
    Ok(())
}

fn fmt_unix(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
