//! The admin REST API under `/api/v1`: one module per resource. Routes and their OpenAPI
//! description are registered together (utoipa-axum), so the document cannot drift from them.

mod groups;
pub(crate) mod import;
pub(crate) mod keys;
mod links;
pub(crate) mod mappings;
mod members;
pub(crate) mod providers;
pub mod runs;
pub(crate) mod sync;
mod tokens;
mod users;

use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, Ref, ResponseBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub use keys::ListQuery;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "entrasync admin API",
        description = "The directory (users, groups, memberships) that entrasync keeps Entra ID in step with."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "users", description = "Directory users"),
        (name = "groups", description = "Directory groups and their members"),
        (name = "import", description = "Bulk import"),
        (name = "sync", description = "Full syncs, dry runs, runs and their plans"),
        (name = "links", description = "Links between directory objects and Entra objects"),
        (name = "providers", description = "Entra ID providers (credentials are write-only)"),
        (name = "mappings", description = "Property mappings: expressions from directory objects to Graph properties"),
        (name = "tokens", description = "API tokens: list, create, revoke (a token is shown only when made)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Completes the document once the routes have added their paths.
pub fn finish(openapi: &mut utoipa::openapi::OpenApi) {
    CommonResponses.modify(openapi);
}

/// Answers every operation can give whatever the handler does: 401 (no or a bad token), 429
/// (too many bad tokens from the client's address lately), 400 (a malformed query or path),
/// and for operations with a body 413 and 415. Declared once here rather than on every handler.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let has_body = operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                add("400", "The request is malformed or invalid");
                add("401", "No API token, or one that is not valid");
                add(
                    "429",
                    "Too many refused API tokens from this address lately; retry after \
                     `Retry-After` seconds",
                );
                if has_body {
                    add("413", "The body is larger than the server accepts");
                    add("415", "The body is not JSON");
                }
            }
        }
    }
}

/// Every `/api/v1` route that needs a token, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(
            users::get_user,
            users::update_user,
            users::delete_user
        ))
        .routes(routes!(users::list_user_groups))
        .routes(routes!(groups::list_groups, groups::create_group))
        .routes(routes!(
            groups::get_group,
            groups::update_group,
            groups::delete_group
        ))
        .routes(routes!(members::list_members, members::add_members))
        .routes(routes!(members::remove_members))
        .routes(routes!(import::import))
        .routes(routes!(mappings::list_mappings, mappings::create_mapping))
        .routes(routes!(mappings::test_mappings))
        .routes(routes!(
            providers::list_providers,
            providers::create_provider
        ))
        .routes(routes!(
            providers::get_provider,
            providers::update_provider,
            providers::delete_provider
        ))
        .routes(routes!(sync::request_sync))
        .routes(routes!(sync::request_plan))
        .routes(routes!(sync::provider_status))
        .routes(routes!(runs::list_runs))
        .routes(routes!(runs::get_run))
        .routes(routes!(runs::get_plan))
        .routes(routes!(sync::object_state))
        .routes(routes!(sync::approve_deletes))
        .routes(routes!(sync::reject_deletes))
        .routes(routes!(sync::sync_object))
        .routes(routes!(sync::sync_object_ignoring_dry_run))
        .routes(routes!(links::list_links))
        .routes(routes!(
            links::get_link,
            links::create_link,
            links::delete_link
        ))
        .routes(routes!(
            mappings::get_mapping,
            mappings::update_mapping,
            mappings::delete_mapping
        ))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
}
