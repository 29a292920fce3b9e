//! Runs the Entra ID provider: the worker pool over the durable work table (direct syncs), full
//! syncs (one per provider at a time, claimed like any row), and the schedules. Any number of
//! nodes may run it on one PostgreSQL: rows are claimed with leases, schedules fire by
//! compare-and-swap, and a dead node's rows are taken over when their lease ends.

mod approval;
mod full_sync;
mod links;
mod one_object;
mod plan;
mod recorder;
mod runtime;
mod schedule;
mod work;

use std::sync::Arc;
use std::time::Duration;

use mapping::{ListError, Mapper};
use store::{SecretKey, Store, StoreError};

pub use full_sync::{Observer, Quiet};
pub use links::LinkError;
pub use one_object::{ObjectRef, ObjectSync};
pub use recorder::Exchange;
pub use runtime::{GraphOverride, ProviderRuntime, Runtimes};

/// How hard the runner works.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Rows claimed per pass.
    pub batch: u32,
    /// Rows reconciled at once (each waits on Graph most of the time).
    pub concurrency: usize,
    /// How long a claim holds before another node may take the row over.
    pub lease: Duration,
    /// Transient failures before an object is marked failed.
    pub max_attempts: u32,
    /// How long an idle worker waits before it looks for work again.
    pub idle_poll: Duration,
    /// How often schedules are checked.
    pub schedule_poll: Duration,
    /// How long runs (and their plans) are kept.
    pub run_retention: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            batch: 64,
            concurrency: 16,
            lease: Duration::from_secs(60),
            max_attempts: 8,
            idle_poll: Duration::from_millis(100),
            schedule_poll: Duration::from_secs(5),
            run_retention: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A provider's mappings do not compile (they did when saved: a mapping edited since?).
    #[error("the provider's mappings: {0}")]
    Mappings(#[from] ListError),
    /// The provider cannot be set up (its credential, its certificate).
    #[error("{0}")]
    Config(String),
    /// An approval or rejection, but no deletes are held.
    #[error("no deletes await approval for this provider")]
    NothingAwaitsApproval,
}

impl RunnerError {
    /// Whether this stops the provider until an administrator acts.
    pub fn stops_provider(&self) -> bool {
        match self {
            RunnerError::Mappings(_) | RunnerError::Config(_) => true,
            RunnerError::Store(error) => matches!(error, StoreError::Config(_)),
            RunnerError::NothingAwaitsApproval => false,
        }
    }
}

/// One node's runner.
pub struct Runner {
    store: Store,
    runtimes: Runtimes,
    owner: String,
    options: RunnerOptions,
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
        Self {
            runtimes: Runtimes::new(store.clone(), secret_key, graph, Arc::new(Mapper::new())),
            store,
            owner: owner.into(),
            options,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The name this runner's leases carry.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn options(&self) -> &RunnerOptions {
        &self.options
    }

    /// The provider's runtime (its Graph client carries the request counters).
    pub async fn runtime(
        &self,
        provider: model::ProviderId,
    ) -> Result<Arc<ProviderRuntime>, RunnerError> {
        self.runtimes.get(provider).await
    }

    /// Works until `shutdown` resolves: direct syncs, full syncs, schedules.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()> + Send) {
        let workers = {
            let runner = self.clone();
            async move { runner.work_loop().await }
        };
        let full_syncs = {
            let runner = self.clone();
            async move { runner.full_sync_loop().await }
        };
        let schedules = {
            let runner = self.clone();
            async move { runner.schedule_loop().await }
        };
        tokio::select! {
            () = shutdown => {}
            () = workers => {}
            () = full_syncs => {}
            () = schedules => {}
        }
    }

    async fn work_loop(&self) {
        loop {
            match self.work_once().await {
                Ok(0) => tokio::time::sleep(self.options.idle_poll).await,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "the worker could not claim work; retrying");
                    tokio::time::sleep(self.options.idle_poll * 10).await;
                }
            }
        }
    }

    async fn full_sync_loop(&self) {
        loop {
            match self.full_sync_once(&Quiet).await {
                Ok(Some(_)) => {}
                Ok(None) => tokio::time::sleep(self.options.idle_poll * 5).await,
                Err(error) => {
                    tracing::warn!(%error, "a full sync could not run; retrying");
                    tokio::time::sleep(self.options.idle_poll * 10).await;
                }
            }
        }
    }
}
