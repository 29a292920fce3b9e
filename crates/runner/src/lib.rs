//! Runs the Entra ID provider on one node: the worker pool over the durable work table (direct
//! syncs, and a full sync's items), full syncs and dry runs (each its own task), schedules and
//! the sweeping of dead runs, and the heartbeat that renews every claim this node holds. What a
//! sync decides is the engine's; this crate drives it.
//!
//! Any number of nodes may run on one PostgreSQL: every claim is fenced (a holder whose lease
//! ran out can no longer touch the row), leases are renewed while the work runs, schedules fire
//! by compare-and-swap, and each loop is a supervised task that restarts after a panic and
//! reports its liveness (see [`Health`]).

mod approval;
mod claims;
mod evaluate;
mod full_sync;
mod links;
mod maintenance;
mod one_object;
mod queue;
mod runtime;
mod supervise;
mod telemetry;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use mapping::{ListError, Mapper};
use store::{SecretKey, Store, StoreError};

pub use engine::{Exchange, Observer, Quiet};
pub use links::LinkError;
pub use one_object::ObjectSync;
pub use runtime::{GraphOverride, ProviderRuntime, Runtimes};
pub use supervise::{Assist, Health};
pub use telemetry::GraphUsage;

/// How hard the runner works.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Items reconciled at once (each waits on Graph most of the time).
    pub concurrency: usize,
    /// The most items of one provider reconciled at once: a provider whose tenant hangs never
    /// takes every slot.
    pub per_provider: usize,
    /// Full syncs and dry runs run at once on this node.
    pub full_syncs: usize,
    /// How long a claim holds unless renewed; the heartbeat renews every third of it.
    pub lease: Duration,
    /// Transient failures before an item is given up as failed.
    pub max_attempts: u32,
    /// How long an idle worker waits before it looks for work again.
    pub idle_poll: Duration,
    /// How often schedules are checked and dead runs swept.
    pub schedule_poll: Duration,
    /// How long runs (and their plans) are kept.
    pub run_retention: Duration,
    /// How long a shutdown waits for the items in flight.
    pub drain: Duration,
    /// How long after our last write a 404 from Entra is taken for replication lag, not for a
    /// deletion (nothing is created again within it).
    pub replication_grace: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            // Four slots stay for the other providers while one tenant hangs.
            per_provider: 12,
            full_syncs: 4,
            lease: Duration::from_secs(60),
            max_attempts: 8,
            idle_poll: Duration::from_millis(100),
            schedule_poll: Duration::from_secs(5),
            run_retention: Duration::from_secs(90 * 24 * 3600),
            drain: Duration::from_secs(30),
            replication_grace: engine::REPLICATION_GRACE,
        }
    }
}

/// Why the runner could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// Our own storage failed; try again later.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Our own storage failed, as the engine saw it; try again later.
    #[error("local storage failed: {0}")]
    Local(#[from] engine::LocalError),
    /// A provider's mappings do not compile (they did when saved: a mapping edited since?).
    #[error("the provider's mappings: {0}")]
    Mappings(#[from] ListError),
    /// The provider cannot be set up (its certificate, its settings): an administrator acts.
    #[error("{0}")]
    Provider(String),
    /// This node cannot open the provider's credential (its secret key differs from the one
    /// that sealed it): a fault of this node, not of the provider.
    #[error(
        "this node cannot open the provider's credential: {0} (give every node the same secret key)"
    )]
    NodeKey(String),
    /// Another worker holds the object right now.
    #[error("{0}")]
    Busy(String),
    /// An approval or rejection, but no deletes are held.
    #[error("no deletes await approval for this provider")]
    NothingAwaitsApproval,
    /// A dry run of the provider is being made already.
    #[error("a dry run of this provider is being made already (run {0})")]
    PlanRunning(model::RunId),
}

impl RunnerError {
    /// Whether this stops the provider until an administrator acts (cluster-wide).
    pub fn stops_provider(&self) -> bool {
        matches!(self, RunnerError::Mappings(_) | RunnerError::Provider(_))
    }
}

/// One node's runner.
pub struct Runner {
    store: Store,
    runtimes: Runtimes,
    owner: String,
    options: RunnerOptions,
    claims: claims::Claims,
    health: Arc<Health>,
    evaluation: Arc<tokio::sync::Semaphore>,
    breaker: worker::Breaker,
}

impl Runner {
    /// `owner` names this node in leases (a host name and process id is a good one).
    pub fn new(
        store: Store,
        secret_key: Arc<SecretKey>,
        graph: Option<GraphOverride>,
        options: RunnerOptions,
        owner: impl Into<String>,
    ) -> Self {
        // Mapping evaluation is CPU work: at most one per core at a time, off the async workers.
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            runtimes: Runtimes::new(store.clone(), secret_key, graph, Arc::new(Mapper::new())),
            store,
            owner: owner.into(),
            claims: claims::Claims::default(),
            health: Arc::new(Health::default()),
            evaluation: Arc::new(tokio::sync::Semaphore::new(cores)),
            breaker: worker::Breaker::default(),
            options,
        }
    }

    /// The name this runner's leases carry.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn options(&self) -> &RunnerOptions {
        &self.options
    }

    /// The liveness of this node's loops, for `/readyz`.
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// The provider's runtime (its Graph client carries the request counters).
    pub async fn runtime(
        &self,
        provider: model::ProviderId,
    ) -> Result<Arc<ProviderRuntime>, RunnerError> {
        self.runtimes.get(provider).await
    }

    /// What each provider's Graph client has sent since it was built (a provider saved with
    /// new settings gets a new client: its counts start again, as a counter reset).
    pub fn graph_usage(&self) -> Vec<GraphUsage> {
        self.runtimes.graph_usage()
    }

    /// Checks that this node's secret key opens every stored credential: a node that cannot
    /// must not take work (it would only fail it).
    pub async fn verify_secret_key(&self) -> Result<(), RunnerError> {
        self.runtimes.verify_credentials().await
    }
}
