//! The worker: feeds the change log into the work table, claims due rows (with a lease), and
//! reconciles each one. A row is cleared only once its outcome is recorded, and only if nothing
//! dirtied it again meanwhile; a row whose worker died is claimed again when its lease ends.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::Utc;
use engine::{Outcome, ProviderSync, RemoteKind, SyncError};
use futures::StreamExt;
use model::{GroupId, ProviderId, UserId};
use store::{ObjectState, ObjectStatus, WorkItem, WorkKind};
use tracing::{debug, warn};

use crate::{ProviderRuntime, Runner, RunnerError};

/// Change records fed into the work table per pass.
const FEED_BATCH: u32 = 2000;

/// Attempts for a membership whose group or user is not linked yet (it usually is a moment
/// later, once the object's own row is done).
const NOT_READY_ATTEMPTS: u32 = 12;

/// What the rows of one provider in a batch share.
struct Batch {
    runtime: Arc<ProviderRuntime>,
    hold_deletes: bool,
}

impl Runner {
    /// One pass: feed new changes, claim a batch of due rows, reconcile them. Returns how many
    /// rows were claimed (0: nothing to do right now).
    pub async fn work_once(&self) -> Result<usize, RunnerError> {
        self.store.feed_changes(FEED_BATCH).await?;
        let items = self
            .store
            .claim_work(&self.owner, self.options.batch, self.options.lease)
            .await?;
        let claimed = items.len();
        let mut by_provider: BTreeMap<ProviderId, Vec<WorkItem>> = BTreeMap::new();
        for item in items {
            by_provider.entry(item.provider_id).or_default().push(item);
        }
        for (provider, items) in by_provider {
            // The provider's runtime and approval state, read once per batch rather than per row.
            let Some(batch) = self.batch(provider, &items).await? else {
                continue;
            };
            let batch = &batch;
            futures::stream::iter(items)
                .for_each_concurrent(self.options.concurrency, |item| async move {
                    if let Err(error) = self.process(&item, batch).await {
                        warn!(provider = %item.provider_id, object = %item.object_id, %error,
                            "work row could not be processed; it will be retried");
                    }
                })
                .await;
        }
        Ok(claimed)
    }

    /// What every row of a provider's batch shares. `None` when the provider cannot be set up
    /// (its rows wait, and the provider shows why).
    async fn batch(
        &self,
        provider: ProviderId,
        items: &[WorkItem],
    ) -> Result<Option<Batch>, RunnerError> {
        let runtime = match self.runtimes.get(provider).await {
            Ok(runtime) => runtime,
            Err(error) if error.stops_provider() => {
                let reason = error.to_string();
                self.store
                    .set_provider_health(provider, Some(&reason))
                    .await?;
                for item in items {
                    self.store.retry_work(item, Utc::now(), &reason).await?;
                }
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let hold_deletes = self
            .store
            .provider_state(provider)
            .await?
            .approval_run
            .is_some();
        Ok(Some(Batch {
            runtime,
            hold_deletes,
        }))
    }

    async fn process(&self, item: &WorkItem, batch: &Batch) -> Result<(), RunnerError> {
        let runtime = &batch.runtime;
        let hold_deletes = batch.hold_deletes;
        let sync = ProviderSync {
            provider: &runtime.provider,
            mappings: &runtime.mappings,
            mapper: self.runtimes.mapper(),
            directory: &self.store,
            links: &self.store,
            target: &*runtime.target,
            hold_deletes,
        };
        let result = match item.kind {
            WorkKind::User => sync.reconcile_user(UserId::from_uuid(item.object_id)).await,
            WorkKind::Group => {
                sync.reconcile_group(GroupId::from_uuid(item.object_id))
                    .await
            }
            WorkKind::Member => match item.subject_id {
                Some(user) => {
                    sync.reconcile_member(
                        GroupId::from_uuid(item.object_id),
                        UserId::from_uuid(user),
                    )
                    .await
                }
                None => Ok(Outcome::Unchanged),
            },
            // Full syncs are claimed on their own; a stray one here is simply done.
            WorkKind::FullSync => Ok(Outcome::Unchanged),
        };
        match result {
            Ok(outcome) => {
                debug!(provider = %item.provider_id, object = %item.object_id,
                    outcome = outcome.name(), "reconciled");
                self.record(item, &outcome).await?;
                self.store.complete_work(item).await?;
            }
            Err(error) if error.stops_provider() => {
                let reason = error.to_string();
                warn!(provider = %item.provider_id, error = %reason,
                    "the provider is stopped until an administrator acts");
                self.store
                    .set_provider_health(item.provider_id, Some(&reason))
                    .await?;
                // Kept: it runs once the provider is fixed and saved.
                self.store.retry_work(item, Utc::now(), &reason).await?;
            }
            Err(SyncError::Transient {
                retry_after,
                failure,
            }) => {
                let message = failure.to_string();
                if item.attempts + 1 >= self.options.max_attempts {
                    warn!(provider = %item.provider_id, object = %item.object_id,
                        error = %message, "giving up after repeated transient failures");
                    let outcome = Outcome::Rejected { failure };
                    self.record(item, &outcome).await?;
                    self.store.complete_work(item).await?;
                } else {
                    let wait = retry_after.unwrap_or_else(|| backoff(item.attempts));
                    self.store
                        .retry_work(item, Utc::now() + wait, &message)
                        .await?;
                }
            }
            Err(SyncError::NotReady(reason)) => {
                if item.attempts + 1 >= NOT_READY_ATTEMPTS {
                    let outcome = Outcome::Skipped { reason };
                    self.record(item, &outcome).await?;
                    self.store.complete_work(item).await?;
                } else {
                    let wait = Duration::from_millis(250) * (item.attempts + 1);
                    self.store
                        .retry_work(item, Utc::now() + wait, &reason)
                        .await?;
                }
            }
            Err(error) => {
                let message = error.to_string();
                self.store
                    .retry_work(item, Utc::now() + backoff(item.attempts), &message)
                    .await?;
            }
        }
        Ok(())
    }

    /// Records a user's or group's outcome (memberships have no state of their own).
    pub(crate) async fn record(
        &self,
        item: &WorkItem,
        outcome: &Outcome,
    ) -> Result<(), RunnerError> {
        let kind = match item.kind {
            WorkKind::User => RemoteKind::User,
            WorkKind::Group => RemoteKind::Group,
            WorkKind::Member | WorkKind::FullSync => {
                if let Outcome::Rejected { failure } = outcome {
                    warn!(provider = %item.provider_id, group = %item.object_id,
                        error = %failure, "a membership change was refused");
                }
                return Ok(());
            }
        };
        let now = Utc::now();
        let (status, failure) = match outcome {
            Outcome::Rejected { failure } => (ObjectStatus::Failed, Some(failure)),
            Outcome::Skipped { .. }
            | Outcome::OutOfScope
            | Outcome::Planned { .. }
            | Outcome::Held { .. } => (ObjectStatus::Skipped, None),
            _ => (ObjectStatus::Synced, None),
        };
        let state = ObjectState {
            provider_id: item.provider_id,
            kind,
            object_id: item.object_id,
            status,
            outcome: outcome.name().to_owned(),
            run_id: item.run_id,
            last_attempt_at: now,
            last_synced_at: (status == ObjectStatus::Synced).then_some(now),
            error_code: failure.map(|f| f.code.clone()),
            error_message: match (failure, outcome) {
                (Some(f), _) => Some(f.message.clone()),
                (None, Outcome::Skipped { reason }) => Some(reason.clone()),
                (None, Outcome::Held { .. }) => {
                    Some("held by accidental-delete protection: awaiting approval".to_owned())
                }
                _ => None,
            },
            request_id: failure.and_then(|f| f.request_id.clone()),
        };
        self.store.record_object_state(&state).await?;
        Ok(())
    }
}

/// Exponential backoff with a cap: 2 s, 4 s, 8 s … 10 min.
fn backoff(attempts: u32) -> Duration {
    let seconds = 2_u64.saturating_pow(attempts.saturating_add(1).min(10));
    Duration::from_secs(seconds.min(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(600));
    }
}
