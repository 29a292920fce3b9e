//! A full sync: discovery, then every directory object and every link through the work table
//! (so that direct syncs and other nodes never reconcile an object at the same time as it),
//! then each group's members in bulk, then the run's record.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use engine::{Directory, DiscoveryProgress, DiscoveryReport, Links, ProviderSync, RemoteKind};
use model::{GroupId, ProviderId, Run, RunStatus, Trigger};
use serde_json::{Map, Value, json};
use store::WorkItem;
use tracing::{info, warn};

use crate::{Runner, RunnerError};

/// What a full sync reports while it runs (a progress bar, a log).
pub trait Observer: Send + Sync {
    fn discovery(&self, _progress: DiscoveryProgress) {}
    /// `done` of `total` objects reconciled.
    fn objects(&self, _done: u64, _total: u64) {}
    /// `done` of the groups' members reconciled.
    fn members(&self, _done: u64) {}
}

/// An observer that reports nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// How long to wait between looks at a run's remaining rows when this node has none to do.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// Groups read per page for the membership step.
const GROUP_PAGE: u32 = 200;

/// How a full sync stopped early.
struct Stop {
    reason: String,
    /// Try the whole run again at this time (a transient failure), or not until an
    /// administrator acts.
    retry_in: Option<Duration>,
}

impl Runner {
    /// Claims one due full sync (of any provider) and runs it. `None` when none is due.
    pub async fn full_sync_once(
        &self,
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

    /// Runs the full sync that `item` asks for, and records it as a run.
    pub async fn run_full_sync(
        &self,
        item: &WorkItem,
        observer: &dyn Observer,
    ) -> Result<Run, RunnerError> {
        let provider_id = item.provider_id;
        let trigger = item.trigger.unwrap_or(Trigger::Manual);
        let provider = self.store.get_provider(provider_id).await?;
        self.prune_history().await;
        if provider.settings.dry_run {
            // A provider in dry-run mode plans instead: its full syncs are plans.
            let run = self.plan(provider_id, trigger, observer).await?;
            self.store.complete_work(item).await?;
            return Ok(run);
        }
        let run = self
            .store
            .start_run(provider_id, trigger, provider.settings.dry_run)
            .await?;
        info!(provider = %provider.name, run = %run.id, trigger = %trigger, "full sync started");
        let mut counts = Map::new();
        let result = self
            .full_sync_steps(item, run.id, &mut counts, observer)
            .await;
        let (status, error) = match result {
            Ok(()) if counts.contains_key("awaiting_approval") => {
                self.store.complete_work(item).await?;
                (RunStatus::AwaitingApproval, None)
            }
            Ok(()) => {
                let failed = counts.get("failed").and_then(Value::as_u64).unwrap_or(0)
                    + counts
                        .get("members_failed")
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                let status = if failed > 0 {
                    RunStatus::Partial
                } else {
                    RunStatus::Succeeded
                };
                self.store.complete_work(item).await?;
                (status, None)
            }
            Err(stop) => {
                warn!(provider = %provider.name, run = %run.id, error = %stop.reason,
                    "full sync stopped");
                match stop.retry_in {
                    Some(wait) => {
                        self.store
                            .retry_work(item, Utc::now() + wait, &stop.reason)
                            .await?;
                    }
                    None => {
                        self.store.complete_work(item).await?;
                    }
                }
                (RunStatus::Stopped, Some(stop.reason))
            }
        };
        let run = self
            .store
            .finish_run(run.id, status, counts, error.as_deref())
            .await?;
        info!(provider = %provider.name, run = %run.id, status = %run.status, "full sync finished");
        Ok(run)
    }

    async fn full_sync_steps(
        &self,
        item: &WorkItem,
        run: model::RunId,
        counts: &mut Map<String, Value>,
        observer: &dyn Observer,
    ) -> Result<(), Stop> {
        let provider_id = item.provider_id;
        let runtime = self.runtimes.get(provider_id).await.map_err(|error| {
            let stops = error.stops_provider();
            Stop {
                reason: error.to_string(),
                retry_in: (!stops).then_some(Duration::from_secs(60)),
            }
        })?;
        let metrics_before = runtime.target.graph().metrics();
        let sync = ProviderSync {
            provider: &runtime.provider,
            mappings: &runtime.mappings,
            mapper: self.runtimes.mapper(),
            directory: &self.store,
            links: &self.store,
            target: &*runtime.target,
            hold_deletes: false,
        };

        // 1. Discovery: the tenant listed once, existing objects linked.
        if runtime.provider.settings.discovery {
            let report = sync
                .discover(&|progress| observer.discovery(progress))
                .await;
            let report = match report {
                Ok(report) => report,
                Err(error) => return Err(self.stop_for(provider_id, error).await),
            };
            discovery_counts(&report, counts);
        }
        self.renew(item).await?;

        // 2. Accidental-delete protection: count what would be deleted or disabled first.
        let held = self
            .protect_against_mass_deletes(&runtime.provider, run, counts)
            .await
            .map_err(local_stop)?;

        // 3. Every user, group and link through the work table.
        let total = self
            .store
            .enqueue_all(provider_id, run)
            .await
            .map_err(local_stop)?;
        observer.objects(0, total);
        loop {
            let claimed = self.work_once().await.map_err(local_stop)?;
            let pending = self
                .store
                .pending_work(provider_id, run)
                .await
                .map_err(local_stop)?;
            observer.objects(total.saturating_sub(pending), total);
            if pending == 0 {
                break;
            }
            let state = self
                .store
                .provider_state(provider_id)
                .await
                .map_err(local_stop)?;
            if !state.active {
                return Err(Stop {
                    reason: state
                        .health_reason
                        .unwrap_or_else(|| "the provider was paused".to_owned()),
                    retry_in: None,
                });
            }
            self.renew(item).await?;
            if claimed == 0 {
                tokio::time::sleep(DRAIN_POLL).await;
            }
        }
        for (outcome, count) in self
            .store
            .run_outcome_counts(run)
            .await
            .map_err(local_stop)?
        {
            counts.insert(outcome, json!(count));
        }

        // 4. Members, group by group, in bulk.
        let (mut added, mut removed, mut failed, mut groups) = (0, 0, 0, 0);
        let mut after: Option<GroupId> = None;
        loop {
            let page = Directory::groups_page(&self.store, after, GROUP_PAGE)
                .await
                .map_err(local_stop)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for group in &page {
                if !engine::group_in_scope(&runtime.provider.settings, group) {
                    continue;
                }
                let Some(link) = Links::link(
                    &self.store,
                    provider_id,
                    RemoteKind::Group,
                    group.id.as_uuid(),
                )
                .await
                .map_err(local_stop)?
                else {
                    continue;
                };
                match sync.reconcile_members(group, &link).await {
                    Ok(report) => {
                        added += report.added;
                        removed += report.removed;
                        failed += report.failed;
                    }
                    Err(error) if error.stops_provider() => {
                        return Err(self.stop_for(provider_id, error).await);
                    }
                    Err(error) => {
                        warn!(provider = %provider_id, group = %group.id, %error,
                            "the group's members were not reconciled; the next full sync will");
                        failed += 1;
                    }
                }
                groups += 1;
                observer.members(groups);
            }
            self.renew(item).await?;
        }
        counts.insert("members_added".into(), json!(added));
        counts.insert("members_removed".into(), json!(removed));
        counts.insert("members_failed".into(), json!(failed));

        // 5. What it cost.
        let metrics = runtime.target.graph().metrics();
        let mut requests = BTreeMap::new();
        for (route, outcomes) in &metrics.requests {
            let now: u64 = outcomes.values().sum();
            let before: u64 = metrics_before
                .requests
                .get(route)
                .map_or(0, |outcomes| outcomes.values().sum());
            if now > before {
                requests.insert(route.clone(), now - before);
            }
        }
        counts.insert("requests".into(), json!(requests));
        if held {
            counts.insert("awaiting_approval".into(), json!(true));
        }
        counts.insert(
            "throttled_wait_ms".into(),
            json!(
                metrics
                    .throttle_wait
                    .saturating_sub(metrics_before.throttle_wait)
                    .as_millis() as u64
            ),
        );
        Ok(())
    }

    /// Forgets runs older than the retention period (a failure here only delays it).
    async fn prune_history(&self) {
        let keep =
            chrono::Duration::from_std(self.options.run_retention).unwrap_or(chrono::Duration::MAX);
        let before = Utc::now().checked_sub_signed(keep).unwrap_or(Utc::now());
        match self.store.prune_runs(before).await {
            Ok(0) => {}
            Ok(pruned) => info!(pruned, "old runs forgotten"),
            Err(error) => warn!(%error, "old runs could not be pruned"),
        }
    }

    async fn renew(&self, item: &WorkItem) -> Result<(), Stop> {
        match self
            .store
            .renew_lease(item, &self.owner, self.options.lease)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(Stop {
                reason: "another node took this full sync over".into(),
                retry_in: None,
            }),
            Err(error) => Err(local_stop(error)),
        }
    }

    /// A run-stopping engine error: a mapping or fatal error stops the provider too.
    async fn stop_for(&self, provider: ProviderId, error: engine::SyncError) -> Stop {
        let reason = error.to_string();
        if error.stops_provider() {
            if let Err(error) = self
                .store
                .set_provider_health(provider, Some(&reason))
                .await
            {
                warn!(%provider, %error, "could not mark the provider unhealthy");
            }
            Stop {
                reason,
                retry_in: None,
            }
        } else {
            Stop {
                reason,
                retry_in: Some(Duration::from_secs(60)),
            }
        }
    }
}

fn local_stop(error: impl std::fmt::Display) -> Stop {
    Stop {
        reason: format!("local storage failed: {error}"),
        retry_in: Some(Duration::from_secs(30)),
    }
}

fn discovery_counts(report: &DiscoveryReport, counts: &mut Map<String, Value>) {
    counts.insert("remote_users".into(), json!(report.remote_users));
    counts.insert("remote_groups".into(), json!(report.remote_groups));
    counts.insert("discovered_users".into(), json!(report.users_linked));
    counts.insert("discovered_groups".into(), json!(report.groups_linked));
    counts.insert("ambiguous".into(), json!(report.ambiguous));
}
