//! Router assembly and the public lifecycle API: [`Emulator`] (state + router, usable
//! in-process) and [`RunningEmulator`] (bound to 127.0.0.1 and served on tokio).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::{bearer, keys::Keys, token};
use crate::clock::Clock;
use crate::config::{EmulatorConfig, Knobs};
use crate::counters::{self, Counters, CountersSnapshot};
use crate::dice::Dice;
use crate::directory::Directory;
use crate::error::{EmulatorError, GraphError, msg};
use crate::state::AppState;
use crate::throttle::{self, Throttle};
use crate::{batch, delta, faults, groups, inspect, keyed, members, tenant, users};

async fn unknown_segment(req: Request) -> Response {
    let path = req.uri().path();
    let segment = path
        .trim_start_matches("/v1.0")
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    keyed::segment_not_found(&segment).into_response()
}

/// App-only tokens have no signed-in user, so Graph refuses `/me` outright.
async fn me_not_available() -> Response {
    GraphError::odata("/me request is only valid with delegated authentication flow.")
        .into_response()
}

async fn method_not_allowed() -> Response {
    GraphError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        msg::METHOD_NOT_ALLOWED,
    )
    .into_response()
}

/// The Graph v1.0 routes with their per-request layers (request ids → counters → auth →
/// throttle → server-error faults → post-write faults, the last one around the handler
/// alone). `$batch` dispatches its items into this same router.
pub fn graph_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1.0/organization", get(tenant::organization))
        .route("/v1.0/users", get(users::list).post(users::create))
        .route("/v1.0/users/$count", get(users::count))
        .route("/v1.0/users/delta", get(delta::users))
        // The function-call form Microsoft's SDKs send.
        .route("/v1.0/users/delta()", get(delta::users))
        .route(
            "/v1.0/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/v1.0/groups", get(groups::list).post(groups::create))
        .route("/v1.0/groups/$count", get(groups::count))
        .route("/v1.0/groups/delta", get(delta::groups))
        .route("/v1.0/groups/delta()", get(delta::groups))
        .route(
            "/v1.0/groups/{id}",
            get(groups::get)
                .patch(groups::update)
                .delete(groups::delete),
        )
        .route("/v1.0/groups/{id}/members", get(members::list))
        .route("/v1.0/groups/{id}/members/$ref", post(members::add))
        .route(
            "/v1.0/groups/{id}/members/{member}/$ref",
            delete(members::remove),
        )
        .route("/v1.0/$batch", post(batch::batch))
        .route("/v1.0/me", axum::routing::any(me_not_available))
        .route("/v1.0/me/{*rest}", axum::routing::any(me_not_available))
        .route(
            "/v1.0/{segment}",
            get(keyed::keyed).patch(keyed::keyed).delete(keyed::keyed),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(from_fn_with_state(state.clone(), faults::after_write))
        .route_layer(from_fn_with_state(state.clone(), faults::server_errors))
        .route_layer(from_fn_with_state(state.clone(), throttle::throttle))
        .route_layer(from_fn_with_state(state.clone(), bearer::require_token))
        .route_layer(from_fn_with_state(state.clone(), counters::count))
        .fallback(unknown_segment)
        .layer(from_fn(counters::request_ids))
        .with_state(state)
}

/// An emulator instance: its state and router, not yet bound to a socket.
#[derive(Clone)]
pub struct Emulator {
    state: Arc<AppState>,
}

impl Emulator {
    /// Builds an emulator whose links (`@odata.nextLink`, audiences) use `root_url`
    /// (e.g. `http://127.0.0.1:8080`, no trailing slash).
    pub fn new(config: EmulatorConfig, root_url: &str) -> Result<Self, EmulatorError> {
        if config.verified_domains.is_empty() {
            return Err(EmulatorError::Config(
                "at least one verified domain is required".into(),
            ));
        }
        if !config.time_scale.is_finite() || config.time_scale < 0.0 {
            return Err(EmulatorError::Config(
                "time scale must be a finite number >= 0".into(),
            ));
        }
        if config.tenant_id.trim().is_empty() || config.client_id.trim().is_empty() {
            return Err(EmulatorError::Config(
                "tenant id and client id must not be empty".into(),
            ));
        }
        let root = root_url.trim_end_matches('/').to_owned();
        let config_seed = config.knobs.fault_seed;
        let state = AppState {
            keys: Keys::new(&config.certificates)?,
            clock: Clock::new(config.time_scale),
            knobs: RwLock::new(config.knobs.clone()),
            base: format!("{root}/v1.0"),
            root,
            config,
            dir: Mutex::new(Directory::default()),
            throttle: Mutex::new(Throttle::default()),
            counters: Counters::default(),
            dice: Dice::new(config_seed),
        };
        Ok(Self {
            state: Arc::new(state),
        })
    }

    /// The whole HTTP surface: token endpoint, Graph v1.0 (with transport faults) and
    /// `/_emulator`.
    pub fn router(&self) -> Router {
        let s = self.state.clone();
        let items = batch::ItemRouter(graph_router(s.clone()));
        let graph = graph_router(s.clone())
            .layer(axum::Extension(items))
            .layer(from_fn_with_state(s.clone(), faults::transport));
        Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token::token))
            .with_state(s.clone())
            .nest("/_emulator", inspect::router(s.clone()))
            .merge(graph)
    }

    /// Binds 127.0.0.1:`config.port` (0 = any free port) and serves in the background.
    pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
        let port = config.port;
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| EmulatorError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { port, source })?;
        let emulator = Emulator::new(config, &format!("http://{addr}"))?;
        let app = emulator.router();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "graph emulator stopped with an error");
            }
        });
        Ok(RunningEmulator {
            emulator,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Root URL (authority of the token endpoint), e.g. `http://127.0.0.1:8080`.
    pub fn root_url(&self) -> &str {
        &self.state.root
    }

    /// Graph base URL, e.g. `http://127.0.0.1:8080/v1.0`.
    pub fn base_url(&self) -> &str {
        &self.state.base
    }

    /// Same as [`Self::root_url`]: what a client uses where it would use
    /// `https://login.microsoftonline.com`.
    pub fn login_url(&self) -> &str {
        &self.state.root
    }

    /// `{root}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.state.root, self.state.config.tenant_id
        )
    }

    pub fn tenant_id(&self) -> &str {
        &self.state.config.tenant_id
    }

    pub fn client_id(&self) -> &str {
        &self.state.config.client_id
    }

    pub fn client_secret(&self) -> Option<&str> {
        self.state.config.client_secret.as_deref()
    }

    pub fn verified_domains(&self) -> &[String] {
        &self.state.config.verified_domains
    }

    pub fn counters(&self) -> CountersSnapshot {
        self.state.counters.snapshot()
    }

    pub fn knobs(&self) -> Knobs {
        self.state.knobs()
    }

    pub fn set_knobs(&self, knobs: Knobs) {
        self.state.set_knobs(knobs);
    }

    /// Moves the emulated clock forward (tokens, deltaLinks and throttle buckets see it).
    pub fn advance_clock(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// Empties the directory, zeroes counters and throttle buckets, and starts a seeded fault
    /// sequence over (knobs are kept).
    pub fn reset(&self) {
        inspect::reset(&self.state);
    }

    /// Bulk seed; see `POST /_emulator/seed`.
    pub fn seed(&self, body: Value) -> Result<Value, inspect::InspectError> {
        inspect::seed(&self.state, body)
    }

    /// The directory as JSON; see `GET /_emulator/state`.
    pub fn dump(&self) -> Value {
        inspect::dump(&self.state)
    }
}

#[cfg(test)]
impl Emulator {
    /// The shared state, for unit tests that drive handlers' parts directly.
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }
}

/// A served emulator. Dropping it stops the server too.
pub struct RunningEmulator {
    emulator: Emulator,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::ops::Deref for RunningEmulator {
    type Target = Emulator;

    fn deref(&self) -> &Emulator {
        &self.emulator
    }
}

impl RunningEmulator {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops accepting connections and waits (at most 2 s) for open requests to finish;
    /// hanging requests are then cut.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_can_move_across_tasks() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Emulator>();
        assert_send_sync::<RunningEmulator>();
    }

    #[test]
    fn bad_configs_are_refused() {
        let no_domain = EmulatorConfig {
            verified_domains: Vec::new(),
            ..EmulatorConfig::default()
        };
        assert!(matches!(
            Emulator::new(no_domain, "http://x"),
            Err(EmulatorError::Config(_))
        ));
        let bad_scale = EmulatorConfig {
            time_scale: f64::NAN,
            ..EmulatorConfig::default()
        };
        assert!(Emulator::new(bad_scale, "http://x").is_err());
        let bad_cert = EmulatorConfig::default().with_certificate_pem("not a pem");
        assert!(matches!(
            Emulator::new(bad_cert, "http://x"),
            Err(EmulatorError::Certificate(_))
        ));
        let ok = Emulator::new(EmulatorConfig::default(), "http://127.0.0.1:9/").expect("valid");
        assert_eq!(ok.base_url(), "http://127.0.0.1:9/v1.0");
        assert_eq!(
            ok.token_url(),
            format!(
                "http://127.0.0.1:9/{}/oauth2/v2.0/token",
                crate::config::DEFAULT_TENANT_ID
            )
        );
    }
}
