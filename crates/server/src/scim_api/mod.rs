//! Inbound SCIM 2.0 (RFC 7643, RFC 7644) under `/scim/v2`: `Users` (core schema and the
//! enterprise extension) and `Groups`, with discovery. The protocol itself (filters, PATCH,
//! errors) is the `scim` crate's; this module maps resources onto the directory (`user.rs`,
//! `group.rs`) and HTTP onto the store's SCIM writes, each one transaction with its change
//! records, so that every SCIM write reaches Entra through the direct sync.

mod auth;
mod bulk;
mod discovery;
mod group;
mod groups;
mod list;
mod response;
mod search;
mod user;
mod users;

use axum::{
    Extension, Router, middleware,
    routing::{get, post},
};

use crate::AppState;

pub use response::ScimFailure;

/// The media type of every answer.
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// The routes under `/scim/v2`, behind SCIM tokens. `max_body_bytes` is the server's body
/// limit, announced as the largest bulk request.
pub fn routes(state: AppState, max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/Bulk", post(bulk::bulk))
        .route("/.search", post(search::search))
        .route("/Users", get(users::list).post(users::create))
        .route("/Users/.search", post(users::search))
        .route(
            "/Users/{id}",
            get(users::read)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/.search", post(groups::search))
        .route(
            "/Groups/{id}",
            get(groups::read)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{name}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{urn}", get(discovery::schema))
        .fallback(|| async {
            ScimFailure::from(scim::ScimError::not_found("no such SCIM endpoint"))
        })
        .method_not_allowed_fallback(|| async {
            ScimFailure::from(scim::ScimError::new(
                405,
                None,
                "this SCIM endpoint does not take that method",
            ))
        })
        .layer(Extension(bulk::BulkLimits {
            max_payload: max_body_bytes,
        }))
        .layer(middleware::from_fn_with_state(
            state,
            auth::require_scim_token,
        ))
}
