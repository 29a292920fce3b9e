//! On-demand sync of one user or group: reconciled now, under its work row's claim like any
//! reconcile, with every exchange with Entra written down for the administrator. A provider in
//! dry-run mode plans it instead (and its row stays queued: a plan clears nothing).

use std::time::{Duration, Instant};

use engine::{Item, Outcome, ProviderSync, Recorder, SyncError};
use model::ProviderId;
use serde::Serialize;

use crate::evaluate::BlockingEvaluator;
use crate::{Exchange, Runner, RunnerError};

/// What an on-demand sync did: its outcome (or why it could not finish) and every exchange.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectSync {
    pub outcome: Option<Outcome>,
    /// Why the sync could not finish (the object stays queued and is retried).
    pub error: Option<String>,
    pub exchanges: Vec<Exchange>,
}

/// How long to wait for a worker that holds the object right now.
const CLAIM_PATIENCE: Duration = Duration::from_secs(30);

/// Plan it, or do it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    AsConfigured,
    IgnoringDryRun,
}

impl Runner {
    /// Reconciles one object now; a provider in dry-run mode plans it instead.
    pub async fn sync_object(
        &self,
        provider: ProviderId,
        item: Item,
    ) -> Result<ObjectSync, RunnerError> {
        self.sync_one(provider, item, Mode::AsConfigured).await
    }

    /// Reconciles one object now, writing to Entra even when the provider is in dry-run mode.
    pub async fn sync_object_ignoring_dry_run(
        &self,
        provider: ProviderId,
        item: Item,
    ) -> Result<ObjectSync, RunnerError> {
        self.sync_one(provider, item, Mode::IgnoringDryRun).await
    }

    async fn sync_one(
        &self,
        provider: ProviderId,
        item: Item,
        mode: Mode,
    ) -> Result<ObjectSync, RunnerError> {
        let runtime = self.runtimes.get(provider).await?;
        let deadline = Instant::now() + CLAIM_PATIENCE;
        let row = loop {
            if let Some(row) = self
                .store
                .claim_item_now(provider, item, &self.owner, self.options.lease)
                .await?
            {
                break row;
            }
            if Instant::now() > deadline {
                return Err(RunnerError::Busy(
                    "a worker has held this object for 30 s; try again later".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let held = self.claims.hold_row(&row, self.options.lease);
        let recorder = Recorder::new(&*runtime.target);
        let evaluator = BlockingEvaluator {
            runtime: runtime.clone(),
            mapper: self.runtimes.mapper().clone(),
            permits: self.evaluation.clone(),
        };
        let planning = mode == Mode::AsConfigured && runtime.provider.settings.dry_run;
        let result = {
            let sync = ProviderSync {
                provider: &runtime.provider,
                store: &self.store,
                target: &recorder,
                evaluator: &evaluator,
                fence: &*held,
                grace: self.options.replication_grace,
            };
            if planning {
                sync.plan_item(item).await
            } else {
                sync.reconcile(item).await
            }
        };
        let exchanges = recorder.into_exchanges();
        let answer = match result {
            Ok(outcome) => {
                if planning {
                    self.store.release_work(&row).await?;
                } else {
                    self.finish(&row, item, &outcome).await?;
                }
                ObjectSync {
                    outcome: Some(outcome),
                    error: None,
                    exchanges,
                }
            }
            Err(error) => {
                let message = error.to_string();
                if error.stops_provider() {
                    self.store
                        .set_provider_health(provider, Some(&message))
                        .await?;
                }
                if !matches!(error, SyncError::LeaseLost) {
                    self.store
                        .retry_work(&row, crate::worker::later(Duration::from_secs(5)), &message)
                        .await?;
                }
                ObjectSync {
                    outcome: None,
                    error: Some(message),
                    exchanges,
                }
            }
        };
        self.claims.release_row(&row);
        Ok(answer)
    }
}
