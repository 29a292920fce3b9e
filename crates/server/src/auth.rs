//! Bearer-token authentication for the admin API. Tokens are checked against the hashes the
//! store keeps; the token itself is never logged.

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::Response,
};
use rand::RngCore;

use crate::{AppState, error::ApiError};

/// Prefix of the tokens entrasync makes, so that a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "es_";

/// A new random API token: 256 bits, URL-safe.
pub fn generate_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Refuses a request without a known `Authorization: Bearer` token (401).
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty());
    let Some(token) = token else {
        return Err(ApiError::unauthorized(
            "an API token is required: send `Authorization: Bearer <token>`",
        ));
    };
    if !state.store.api_token_is_valid(token).await? {
        return Err(ApiError::unauthorized("the API token is not valid"));
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
    }
}
