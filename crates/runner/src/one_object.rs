//! On-demand sync of one user or group: reconciled now (through its work row's lease, like any
//! reconcile), with every exchange with Entra written down for the administrator.

use std::time::{Duration, Instant};

use chrono::Utc;
use engine::{Outcome, ProviderSync};
use model::{GroupId, ProviderId, UserId};
use serde::Serialize;
use store::WorkKind;

use crate::recorder::{Exchange, Recorder};
use crate::{Runner, RunnerError};

/// The directory object to sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectRef {
    User(UserId),
    Group(GroupId),
}

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

impl Runner {
    /// Reconciles one object now; a provider in dry-run mode plans it instead.
    pub async fn sync_object(
        &self,
        provider: ProviderId,
        object: ObjectRef,
    ) -> Result<ObjectSync, RunnerError> {
        self.sync_one(provider, object, false).await
    }

    /// Reconciles one object now, writing to Entra even when the provider is in dry-run mode.
    pub async fn sync_object_ignoring_dry_run(
        &self,
        provider: ProviderId,
        object: ObjectRef,
    ) -> Result<ObjectSync, RunnerError> {
        self.sync_one(provider, object, true).await
    }

    async fn sync_one(
        &self,
        provider_id: ProviderId,
        object: ObjectRef,
        ignoring_dry_run: bool,
    ) -> Result<ObjectSync, RunnerError> {
        let runtime = self.runtimes.get(provider_id).await?;
        let mut provider = runtime.provider.clone();
        if ignoring_dry_run {
            provider.settings.dry_run = false;
        }
        let (kind, id) = match object {
            ObjectRef::User(id) => (WorkKind::User, id.as_uuid()),
            ObjectRef::Group(id) => (WorkKind::Group, id.as_uuid()),
        };
        let deadline = Instant::now() + CLAIM_PATIENCE;
        let item = loop {
            if let Some(item) = self
                .store
                .claim_object(provider_id, kind, id, &self.owner, self.options.lease)
                .await?
            {
                break item;
            }
            if Instant::now() > deadline {
                return Err(RunnerError::Config(
                    "a worker has held this object for 30 s; try again later".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let hold_deletes = self
            .store
            .provider_state(provider_id)
            .await?
            .approval_run
            .is_some();
        let recorder = Recorder::new(&*runtime.target);
        let result = {
            let sync = ProviderSync {
                provider: &provider,
                mappings: &runtime.mappings,
                mapper: self.runtimes.mapper(),
                directory: &self.store,
                links: &self.store,
                target: &recorder,
                hold_deletes,
            };
            match object {
                ObjectRef::User(id) => sync.reconcile_user(id).await,
                ObjectRef::Group(id) => sync.reconcile_group(id).await,
            }
        };
        let exchanges = recorder.into_exchanges();
        match result {
            Ok(outcome) => {
                self.record(&item, &outcome).await?;
                self.store.complete_work(&item).await?;
                Ok(ObjectSync {
                    outcome: Some(outcome),
                    error: None,
                    exchanges,
                })
            }
            Err(error) => {
                let message = error.to_string();
                if error.stops_provider() {
                    self.store
                        .set_provider_health(provider_id, Some(&message))
                        .await?;
                }
                self.store
                    .retry_work(&item, Utc::now() + Duration::from_secs(5), &message)
                    .await?;
                Ok(ObjectSync {
                    outcome: None,
                    error: Some(message),
                    exchanges,
                })
            }
        }
    }
}
