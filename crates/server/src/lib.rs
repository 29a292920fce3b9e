//! The entrasync admin REST API: the directory over JSON under `/api/v1`, its OpenAPI document
//! at `/api/v1/openapi.json`, inbound SCIM 2.0 under `/scim/v2`, and `/healthz` and `/readyz`. Business rules live in `store`,
//! `runner` and `engine`; this crate maps HTTP onto them.

pub mod api;
pub mod auth;
pub mod config;
pub mod console;
pub mod error;
pub mod extract;
mod health;
pub mod metrics;
pub mod scim_api;
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
use store::{NewApiToken, Store, StoreError, TokenKind};
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
    /// Counts refused API tokens per client address and holds back the ones that keep failing.
    pub sign_in_limiter: Arc<auth::SignInLimiter>,
}

impl AppState {
    pub fn new(store: Store, secret_key: store::SecretKey) -> Self {
        Self {
            store,
            mapper: Arc::new(mapping::Mapper::new()),
            secret_key: Arc::new(secret_key),
            runner: None,
            sign_in_limiter: Arc::new(auth::SignInLimiter::default()),
        }
    }

    /// Holds back clients after other limits than the default 10 refused tokens a minute.
    #[must_use]
    pub fn with_sign_in_limiter(mut self, limiter: auth::SignInLimiter) -> Self {
        self.sign_in_limiter = Arc::new(limiter);
        self
    }

    /// This node also runs a sync runner.
    #[must_use]
    pub fn with_runner(mut self, runner: Arc<runner::Runner>) -> Self {
        self.runner = Some(runner);
        self
    }
}

/// The whole HTTP application. Serve it with the peer's address
/// (`into_make_service_with_connect_info::<SocketAddr>()`), so that refused tokens are counted
/// per client; without it every client shares one count.
pub fn app(state: AppState, max_body_bytes: usize) -> Router {
    // Installed before the first request is counted.
    metrics::handle();
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
        .nest("/scim/v2", scim_api::routes(state.clone(), max_body_bytes))
        .merge(console::routes(state.clone()))
        .route(
            "/metrics",
            get(metrics::render).layer(middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            )),
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
        .layer(middleware::from_fn(metrics::track))
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

/// The name of the token the first start makes.
const GENERATED_ADMIN_TOKEN_NAME: &str = "admin (generated)";

/// Makes sure the API can be used. The configured admin token is stored under its fixed
/// identity, replacing the one configured before; with none configured, that identity is
/// removed. When no admin token can be used then (a first start, or every one revoked or
/// expired), a new one is made and returned, to be shown once.
pub async fn bootstrap_admin_token(
    store: &Store,
    configured: Option<&SecretString>,
) -> Result<Option<String>, StoreError> {
    store
        .set_configured_admin_token(configured.map(|token| token.expose_secret()))
        .await?;
    if configured.is_some() || store.count_usable_api_tokens(TokenKind::Admin).await? > 0 {
        return Ok(None);
    }
    let token = auth::generate_token();
    let new = |name| NewApiToken {
        name,
        kind: TokenKind::Admin,
        secret: &token,
        expires_at: None,
    };
    match store
        .create_api_token(new(GENERATED_ADMIN_TOKEN_NAME))
        .await
    {
        Ok(_) => {}
        // An expired token holds the name: the new one is told apart by when it was made.
        Err(StoreError::Conflict { .. }) => {
            let dated = format!(
                "{GENERATED_ADMIN_TOKEN_NAME} {}",
                chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
            );
            store.create_api_token(new(&dated)).await?;
        }
        Err(err) => return Err(err),
    }
    Ok(Some(token))
}

/// `/metrics` alone, without a token, for a listener of its own (`metrics_listen`): a
/// Prometheus that scrapes a private address needs no admin token.
pub fn metrics_app(state: AppState) -> Router {
    metrics::handle();
    Router::new()
        .route("/metrics", get(metrics::render))
        .with_state(state)
}
