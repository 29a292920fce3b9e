//! Full syncs and dry runs, each in a task of its own (one tenant's slow listing never holds
//! another's sync). A full sync holds its row's claim and its run's lease for its whole length
//! (the heartbeat renews both); when either is lost it stops writing, leaves the row to the new
//! holder, and its run is recorded as interrupted. What the sync does is the engine's.

use std::sync::Arc;
use std::time::Duration;

use engine::{Observer, SyncError};
use model::{ProviderId, Run, RunReport, RunStatus, Trigger};
use store::{Work, WorkItem};
use tracing::{info, warn};

use crate::claims::Both;
use crate::evaluate::BlockingEvaluator;
use crate::queue::StoreQueue;
use crate::worker::later;
use crate::{Runner, RunnerError};

/// How a run ended, before it is recorded.
struct Ending {
    status: RunStatus,
    error: Option<String>,
    report: RunReport,
}

impl Runner {
    /// Claims due full syncs and runs each in its own task, at most `full_syncs` at a time.
    pub(crate) async fn full_sync_loop(self: Arc<Self>, stopping: Arc<crate::supervise::Stop>) {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.options.full_syncs.max(1)));
        while !stopping.is_stopped() {
            self.health.tick("full syncs");
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            match self
                .store
                .claim_full_sync(&self.owner, self.options.lease)
                .await
            {
                Ok(Some(item)) => {
                    let runner = self.clone();
                    tokio::spawn(async move {
                        if let Err(error) = runner.full_sync_here(&item, &engine::Quiet).await {
                            warn!(provider = %item.provider_id, %error, "a full sync could not run");
                        }
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    stopping.pause(self.options.idle_poll * 5).await;
                }
                Err(error) => {
                    drop(permit);
                    warn!(%error, "full syncs could not be claimed; retrying");
                    stopping.pause(self.options.idle_poll * 10).await;
                }
            }
        }
    }

    /// Claims one due full sync (of any provider) and runs it here, with workers of its own
    /// (see [`Runner::assist`]). `None` when none is due.
    pub async fn full_sync_once(
        self: &Arc<Self>,
        observer: &dyn Observer,
    ) -> Result<Option<Run>, RunnerError> {
        let Some(item) = self
            .store
            .claim_full_sync(&self.owner, self.options.lease)
            .await?
        else {
            return Ok(None);
        };
        self.run_full_sync(&item, observer).await.map(Some)
    }

    /// Queues a full sync of the provider and runs it here, now (`None`: another node is running
    /// this provider's full sync). A manual run: it clears a stopped state first.
    pub async fn sync_now(
        self: &Arc<Self>,
        provider: ProviderId,
        observer: &dyn Observer,
    ) -> Result<Option<Run>, RunnerError> {
        // The administrator's "try again", as the API has it: a stopped state is cleared.
        self.store.request_manual_sync(provider).await?;
        self.sweep_runs().await?;
        let Some(item) = self
            .store
            .claim_full_sync_now(provider, Trigger::Manual, &self.owner, self.options.lease)
            .await?
        else {
            return Ok(None);
        };
        self.run_full_sync(&item, observer).await.map(Some)
    }

    /// Runs the full sync that `item` asks for (a plan, for a provider in dry-run mode), here,
    /// with workers and a heartbeat of its own (see [`Runner::assist`]), and records it as a
    /// run.
    pub async fn run_full_sync(
        self: &Arc<Self>,
        item: &WorkItem,
        observer: &dyn Observer,
    ) -> Result<Run, RunnerError> {
        let _assist = self.assist(item.provider_id);
        self.full_sync_here(item, observer).await
    }

    /// Runs the full sync, served by this node's own loops.
    async fn full_sync_here(
        &self,
        item: &WorkItem,
        observer: &dyn Observer,
    ) -> Result<Run, RunnerError> {
        let Work::FullSync { trigger } = item.work else {
            self.store.release_work(item).await?;
            return Err(RunnerError::Busy("not a full sync".into()));
        };
        let held = self.claims.hold_row(item, self.options.lease);
        let result = self.full_sync_under(item, trigger, &held, observer).await;
        self.claims.release_row(item);
        result
    }

    async fn full_sync_under(
        &self,
        item: &WorkItem,
        trigger: Trigger,
        held: &crate::claims::Held,
        observer: &dyn Observer,
    ) -> Result<Run, RunnerError> {
        let provider = self.store.get_provider(item.provider_id).await?;
        let dry_run = provider.settings.dry_run;
        let run = self
            .store
            .start_run(
                provider.id,
                trigger,
                dry_run,
                &self.owner,
                self.options.lease,
            )
            .await?;
        let owned = self.claims.hold_run(run.id, self.options.lease);
        info!(provider = %provider.name, run = %run.id, %trigger, dry_run, "full sync started");
        let fence = Both(held, &owned);
        let ending = self
            .steps(provider.id, run.id, dry_run, &fence, observer)
            .await;
        self.claims.release_run(run.id);
        // Finishing the row: only a live claim may (a lost one belongs to the new holder). A
        // stopped run keeps its row: it runs again once the cause is gone.
        let finished = match ending.status {
            RunStatus::Interrupted => None,
            RunStatus::Stopped => {
                let why = ending.error.as_deref().unwrap_or("stopped");
                Some(
                    self.store
                        .retry_work(item, later(Duration::from_secs(60)), why)
                        .await
                        .map(|_| ()),
                )
            }
            _ => Some(
                self.store
                    .complete_work(item, &engine::Tally::default())
                    .await
                    .map(|_| ()),
            ),
        };
        if let Some(Err(error)) = finished {
            warn!(%error, "the full sync's row could not be finished; its lease will lapse");
        }
        let run = self
            .store
            .finish_run(
                run.id,
                ending.status,
                &ending.report,
                ending.error.as_deref(),
            )
            .await?;
        crate::telemetry::run_finished(&run);
        info!(provider = %provider.name, run = %run.id, status = %run.status, "full sync finished");
        Ok(run)
    }

    /// The engine's full sync (or dry run) with this runtime, and how it ended.
    async fn steps(
        &self,
        provider: ProviderId,
        run: model::RunId,
        dry_run: bool,
        fence: &Both<'_>,
        observer: &dyn Observer,
    ) -> Ending {
        // Fresh: a full sync follows a save at once, and must see what was saved.
        let runtime = match self.runtimes.get_fresh(provider).await {
            Ok(runtime) => runtime,
            Err(error) => {
                if error.stops_provider()
                    && let Err(stored) = self
                        .store
                        .set_provider_health(provider, Some(&error.to_string()))
                        .await
                {
                    warn!(error = %stored, "could not mark the provider unhealthy");
                }
                return Ending {
                    status: RunStatus::Stopped,
                    error: Some(error.to_string()),
                    report: RunReport::default(),
                };
            }
        };
        let before = runtime.target.graph().metrics();
        let evaluator = BlockingEvaluator {
            runtime: runtime.clone(),
            mapper: self.runtimes.mapper().clone(),
            permits: self.evaluation.clone(),
        };
        let result = if dry_run {
            engine::dry_run(
                &runtime.provider,
                &self.store,
                &*runtime.target,
                &evaluator,
                &self.store,
                run,
                self.options.replication_grace,
                observer,
            )
            .await
        } else {
            let queue = StoreQueue {
                store: &self.store,
                fence,
            };
            engine::full_sync(
                &runtime.provider,
                &self.store,
                &*runtime.target,
                fence,
                &queue,
                run,
                observer,
            )
            .await
        };
        let cost = |report: &mut RunReport| {
            let metrics = runtime.target.graph().metrics();
            for (route, outcomes) in &metrics.requests {
                let now: u64 = outcomes.values().sum();
                let earlier: u64 = before
                    .requests
                    .get(route)
                    .map_or(0, |outcomes| outcomes.values().sum());
                if now > earlier {
                    report.requests.insert(route.clone(), now - earlier);
                }
            }
            report.throttle_wait_ms = u64::try_from(
                metrics
                    .throttle_wait
                    .saturating_sub(before.throttle_wait)
                    .as_millis(),
            )
            .unwrap_or(u64::MAX);
        };
        match result {
            Ok(mut report) => {
                cost(&mut report);
                Ending {
                    status: report.status(),
                    error: None,
                    report,
                }
            }
            Err(error) => {
                let mut report = RunReport::default();
                cost(&mut report);
                if error.stops_provider()
                    && let Err(stored) = self
                        .store
                        .set_provider_health(provider, Some(&error.to_string()))
                        .await
                {
                    warn!(error = %stored, "could not mark the provider unhealthy");
                }
                let status = match error {
                    SyncError::LeaseLost => RunStatus::Interrupted,
                    _ => RunStatus::Stopped,
                };
                warn!(%provider, %run, %error, "full sync stopped");
                Ending {
                    status,
                    error: Some(match status {
                        RunStatus::Interrupted => {
                            "this node lost its claim on the full sync (another node took it over)"
                                .to_owned()
                        }
                        _ => error.to_string(),
                    }),
                    report,
                }
            }
        }
    }

    /// Makes the provider's plan as a dry run, here (with a heartbeat of its own), and records
    /// it as a run (also when the
    /// provider is not in dry-run mode: nothing is written to Entra either way). Refused while
    /// another dry run of the provider is being made.
    pub async fn plan(
        self: &Arc<Self>,
        provider: ProviderId,
        trigger: Trigger,
        observer: &dyn Observer,
    ) -> Result<Run, RunnerError> {
        let run = self.start_plan(provider, trigger).await?;
        let heartbeat = tokio::spawn({
            let runner = self.clone();
            async move { runner.heartbeat_loop().await }
        });
        let planned = self.plan_run(run, observer).await;
        heartbeat.abort();
        planned
    }

    /// Records a dry run as running (what the API answers at once), unless one is being made.
    pub async fn start_plan(
        &self,
        provider: ProviderId,
        trigger: Trigger,
    ) -> Result<Run, RunnerError> {
        // A plan whose node died does not count (no `serve` may be sweeping).
        self.sweep_runs().await?;
        if let Some(running) = self.store.running_plan(provider).await? {
            return Err(RunnerError::PlanRunning(running.id));
        }
        Ok(self
            .store
            .start_run(provider, trigger, true, &self.owner, self.options.lease)
            .await?)
    }

    /// Makes the plan of a dry run already recorded as running.
    pub async fn plan_run(&self, run: Run, observer: &dyn Observer) -> Result<Run, RunnerError> {
        let owned = self.claims.hold_run(run.id, self.options.lease);
        let fence = Both(&owned, &owned);
        let ending = self
            .steps(run.provider_id, run.id, true, &fence, observer)
            .await;
        self.claims.release_run(run.id);
        let run = self
            .store
            .finish_run(
                run.id,
                ending.status,
                &ending.report,
                ending.error.as_deref(),
            )
            .await?;
        crate::telemetry::run_finished(&run);
        Ok(run)
    }
}
