//! SCIM clients authenticate with bearer tokens of their own kind: a SCIM token opens
//! `/scim/v2` and nothing else, an admin token does not open it. The token's name is the
//! client's, recorded on what it creates. Refusals are counted with the admin API's, per
//! client address, and answered as SCIM errors.

use std::time::Instant;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use scim::ScimError;
use store::{Authentication, TokenKind};

use super::response::ScimFailure;
use crate::{
    AppState,
    auth::{bearer_token, client_address},
};

/// The SCIM client a request comes from: its token's name.
#[derive(Debug, Clone)]
pub struct ScimClient(pub String);

pub async fn require_scim_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let refusal = match bearer_token(request.headers()) {
        None => "a SCIM token is required: send `Authorization: Bearer <token>`",
        Some(token) => match state.store.authenticate(token, TokenKind::Scim).await {
            Ok(Authentication::Accepted(token)) => {
                request.extensions_mut().insert(ScimClient(token.name));
                return next.run(request).await;
            }
            Ok(Authentication::Expired(_)) => "the SCIM token has expired",
            Ok(Authentication::OtherKind { .. }) => {
                "this token does not open /scim/v2: make a SCIM token (`entrasync token create \
                 <client> --kind scim`)"
            }
            Ok(Authentication::Unknown) => "the SCIM token is not valid",
            Err(error) => return ScimFailure::from(error).into_response(),
        },
    };
    match state
        .sign_in_limiter
        .refuse(client_address(&request), Instant::now())
    {
        Some(retry_after) => {
            let seconds = retry_after.as_secs();
            let mut response = ScimFailure(ScimError::new(
                429,
                None,
                format!("too many refused tokens from this address; try again in {seconds} s"),
            ))
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        None => {
            let mut response = ScimFailure(ScimError::new(401, None, refusal)).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
            response
        }
    }
}
