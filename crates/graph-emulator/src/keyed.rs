//! The OData key forms on `/v1.0/{segment}`: `users('{id|upn}')` (needed for UPNs that start
//! with `$`) and `groups(uniqueName='…')` (the group upsert). Anything else is Graph's
//! "Resource not found for the segment".

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};

use crate::error::GraphError;
use crate::state::AppState;
use crate::{unique_name, users};

/// The key of a `users('…')` segment, quotes doubled as in OData.
fn user_key(segment: &str) -> Option<String> {
    let inner = segment.strip_prefix("users(")?.strip_suffix(')')?;
    let inner = inner.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// Graph's answer to a path segment it does not know.
pub fn segment_not_found(segment: &str) -> GraphError {
    GraphError::odata(format!("Resource not found for the segment '{segment}'."))
}

pub async fn keyed(
    State(state): State<Arc<AppState>>,
    method: Method,
    Path(segment): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    if let Some(key) = user_key(&segment) {
        return match method {
            Method::GET => users::get_by_key(&state, &key, q.as_deref(), &headers),
            Method::PATCH => {
                users::update_by_key(&state, &key, &body).map(IntoResponse::into_response)
            }
            Method::DELETE => users::delete_by_key(&state, &key).map(IntoResponse::into_response),
            _ => Err(segment_not_found(&segment)),
        };
    }
    if let Some(name) = unique_name::from_segment(&segment) {
        return match method {
            Method::GET => unique_name::get(&state, &name, q.as_deref(), &headers),
            Method::PATCH => unique_name::upsert(&state, &name, &headers, &body),
            _ => Err(segment_not_found(&segment)),
        };
    }
    Err(segment_not_found(&segment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_key_segment() {
        assert_eq!(
            user_key("users('$adele@contoso.com')").as_deref(),
            Some("$adele@contoso.com")
        );
        assert_eq!(
            user_key("users('o''brien@x.com')").as_deref(),
            Some("o'brien@x.com")
        );
        assert_eq!(user_key("users"), None);
    }
}
