//! The entrasync admin REST API: the directory over JSON under `/api/v1`, its OpenAPI document
//! at `/api/v1/openapi.json`, and `/healthz` and `/readyz`. Business rules live in `store` and
//! (later) `engine`; this crate maps HTTP onto them.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
mod health;
pub mod secret_key;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use secrecy::{ExposeSecret, SecretString};
use store::{Store, StoreError};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use config::{Config, ConfigError, LogFormat};
pub use error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The sandboxed expression engine, built once (about a millisecond) and shared.
    pub mapper: Arc<mapping::Mapper>,
    /// Seals and opens provider credentials.
    pub secret_key: Arc<store::SecretKey>,
    /// This node's sync runner (none on an API-only node): dry runs are made with it.
    pub runner: Option<Arc<runner::Runner>>,
}

impl AppState {
    pub fn new(store: Store, secret_key: store::SecretKey) -> Self {
        Self {
            store,
            mapper: Arc::new(mapping::Mapper::new()),
            secret_key: Arc::new(secret_key),
            runner: None,
        }
    }

    /// This node also runs a sync runner.
    #[must_use]
    pub fn with_runner(mut self, runner: Arc<runner::Runner>) -> Self {
        self.runner = Some(runner);
        self
    }
}

/// The whole HTTP application.
pub fn app(state: AppState, max_body_bytes: usize) -> Router {
    let (api, mut openapi) = OpenApiRouter::with_openapi(api::ApiDoc::openapi())
        .nest(
            "/api/v1",
            api::routes().layer(middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            )),
        )
        .split_for_parts();
    api::finish(&mut openapi);
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let openapi = Arc::clone(&openapi);
                async move { Json(openapi.as_ref().clone()) }
            }),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_panic| -> Response {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }))
        .with_state(state)
}

/// Stores the default property mappings under their names, unless mappings with those names
/// exist already (an administrator's edits are kept).
pub async fn install_default_mappings(store: &Store) -> Result<(), StoreError> {
    let defaults: Vec<model::NewPropertyMapping> = mapping::default_mappings()
        .into_iter()
        .map(|mapping| model::NewPropertyMapping {
            name: mapping.name,
            kind: mapping.kind,
            expression: mapping.expression,
        })
        .collect();
    store.ensure_mappings(&defaults).await
}

/// Makes sure the API can be used: a configured admin token is recorded (by hash); with none
/// configured and none in the database, a new one is made and returned, to be shown once.
pub async fn bootstrap_admin_token(
    store: &Store,
    configured: Option<&SecretString>,
) -> Result<Option<String>, StoreError> {
    if let Some(token) = configured {
        store
            .add_api_token("admin (configured)", token.expose_secret())
            .await?;
        return Ok(None);
    }
    if store.count_api_tokens().await? > 0 {
        return Ok(None);
    }
    let token = auth::generate_token();
    store.add_api_token("admin (generated)", &token).await?;
    Ok(Some(token))
}
