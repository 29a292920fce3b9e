//! The worker pool: feeds the change log into the work table, claims due rows (no more than it
//! has free slots, no provider more than its share), and reconciles each one in a task of its
//! own, under its claim. A row is cleared only once its outcome is recorded, and only if
//! nothing dirtied it again meanwhile; a panic ends only its own row (retried later).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use engine::{Item, Outcome, ProviderSync, SyncError, Tally};
use model::ProviderId;
use store::{ObjectState, ObjectStatus, Work, WorkItem};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::claims::Held;
use crate::evaluate::BlockingEvaluator;
use crate::{Runner, RunnerError};

/// Change records fed into the work table per pass.
const FEED_BATCH: u32 = 2000;

/// How often a busy worker feeds the change log into the work table (an idle one does before
/// every look for work).
const FEED_EVERY: Duration = Duration::from_millis(25);

/// Attempts for a membership whose group or user is not linked yet (it usually is a moment
/// later, once the object's own row is done).
const NOT_READY_ATTEMPTS: u32 = 12;

/// The longest one item may take, whatever its calls do: past it, it is tried again later.
const ITEM_BUDGET: Duration = Duration::from_secs(10 * 60);

/// The longest wait an answer may ask for before an item is tried again (a `Retry-After` is
/// input: clamped).
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Consecutive timeouts and unreachable endpoints after which a provider is set aside.
const TRIP_AFTER: u32 = 5;

/// How long a provider is set aside when it trips, and how long this node skips a provider
/// whose credential it cannot open.
const COOL_DOWN: Duration = Duration::from_secs(60);

/// What the worker knows of providers beyond the work table: per provider, consecutive
/// failures that say its tenant cannot be reached (the circuit breaker), the providers this node
/// must skip (it cannot open their credential), and whether there are several at all.
#[derive(Default)]
pub(crate) struct Breaker {
    failures: Mutex<HashMap<ProviderId, u32>>,
    skipped: Mutex<HashMap<ProviderId, Instant>>,
    /// Whether several providers are configured, and when that was last asked.
    providers: Mutex<Option<(bool, Instant)>>,
}

impl Breaker {
    /// Counts one outcome; true when the provider just tripped.
    fn record(&self, provider: ProviderId, unreachable: bool) -> bool {
        let mut failures = lock(&self.failures);
        if unreachable {
            let count = failures.entry(provider).or_insert(0);
            *count += 1;
            *count == TRIP_AFTER
        } else {
            failures.remove(&provider);
            false
        }
    }

    fn skip(&self, provider: ProviderId) {
        lock(&self.skipped).insert(provider, Instant::now() + COOL_DOWN);
    }

    fn skipped(&self) -> Vec<ProviderId> {
        let mut skipped = lock(&self.skipped);
        skipped.retain(|_, until| *until > Instant::now());
        skipped.keys().copied().collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a failure says the tenant (or its login) cannot be reached at all.
fn unreachable(error: &SyncError) -> bool {
    matches!(error, SyncError::Transient { failure, .. } if matches!(failure.code.as_str(),
        "timeout" | "connection error" | "tokenEndpointTimeout" | "tokenEndpointUnreachable"))
}

/// Exponential backoff with a cap: 2 s, 4 s, 8 s … 10 min.
pub(crate) fn backoff(attempts: u32) -> Duration {
    let seconds = 2_u64.saturating_pow(attempts.saturating_add(1).min(10));
    Duration::from_secs(seconds.min(600))
}

/// `now + wait`, with the wait clamped: never an overflow, never absurdly far.
pub(crate) fn later(wait: Duration) -> chrono::DateTime<Utc> {
    let wait = chrono::Duration::from_std(wait.min(MAX_WAIT)).unwrap_or(chrono::Duration::zero());
    let now = Utc::now();
    now.checked_add_signed(wait).unwrap_or(now)
}

impl Runner {
    /// Claims and reconciles items (only `only`'s, when given) until `stopping` is set.
    pub(crate) async fn work_loop(
        self: Arc<Self>,
        stopping: Arc<crate::supervise::Stop>,
        only: Option<ProviderId>,
    ) {
        let slots = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        let busy: Arc<Mutex<HashMap<ProviderId, usize>>> = Arc::default();
        // Rung when an item finishes: a provider at its share has room again.
        let finished = Arc::new(tokio::sync::Notify::new());
        let concurrency = self.options.concurrency.max(1);
        let mut fed: Option<Instant> = None;
        while !stopping.is_stopped() {
            self.health.tick("worker");
            if fed.is_none_or(|at| at.elapsed() >= FEED_EVERY) {
                if let Err(error) = self.store.feed_changes(FEED_BATCH).await {
                    warn!(%error, "changes could not be fed into the work table; retrying");
                }
                fed = Some(Instant::now());
            }
            let free = slots.available_permits();
            if free == 0 {
                // Every slot busy: wait for one.
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    () = stopping.pause(Duration::from_secs(3600)) => {}
                }
                continue;
            }

            // A provider's share matters only when another may need the rest.
            let cap = if self.several_providers().await {
                self.options.per_provider.max(1)
            } else {
                concurrency
            };
            let mut except = self.breaker.skipped();
            // Never more rows than the busiest provider still has room for: rows claimed past a
            // provider's share would only be given back (a commit each, for nothing).
            let room = {
                let busy = lock(&busy);
                except.extend(
                    busy.iter()
                        .filter(|(_, n)| **n >= cap)
                        .map(|(provider, _)| *provider),
                );
                busy.values()
                    .filter(|n| **n > 0 && **n < cap)
                    .map(|n| cap - n)
                    .min()
                    .unwrap_or(cap)
            };
            let limit = free.min(room).max(1) as u32;
            let claimed = self
                .store
                .claim_work(&self.owner, limit, self.options.lease, &except, only)
                .await;
            let items = match claimed {
                Ok(items) => items,
                Err(error) => {
                    warn!(%error, "the worker could not claim work; retrying");
                    Vec::new()
                }
            };
            if items.is_empty() {
                // Nothing claimable: a write of this process wakes it at once, and so does an
                // item finishing (its provider may have had its share of slots); other nodes'
                // writes are polled for.
                tokio::select! {
                    () = stopping.pause(self.options.idle_poll) => {}
                    () = self.store.directory_changed() => {}
                    () = finished.notified() => {}
                }
                fed = None;
                continue;
            }
            // (A claim never holds a group's bulk members step and one of its memberships
            // together: the store orders the two, see `claim`.)
            for item in items {
                let over = {
                    let mut busy = lock(&busy);
                    let count = busy.entry(item.provider_id).or_insert(0);
                    *count += 1;
                    *count > self.options.per_provider
                };
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let runner = self.clone();
                let (busy, finished) = (busy.clone(), finished.clone());
                tokio::spawn(async move {
                    if over {
                        // Its provider has its share of slots already: give it back.
                        if let Err(error) = runner.store.release_work(&item).await {
                            warn!(%error, "a row could not be given back; its lease will lapse");
                        }
                    } else {
                        runner.run_item(item.clone()).await;
                    }
                    if let Some(count) = lock(&busy).get_mut(&item.provider_id) {
                        *count = count.saturating_sub(1);
                    }
                    drop(permit);
                    finished.notify_one();
                });
            }
        }
    }

    /// Whether more than one provider is configured (asked of the store at most every 30 s).
    async fn several_providers(&self) -> bool {
        let known = *lock(&self.breaker.providers);
        if let Some((several, at)) = known
            && at.elapsed() < Duration::from_secs(30)
        {
            return several;
        }
        let several = match self.store.list_providers(store::Page::first(2)).await {
            Ok(providers) => providers.len() > 1,
            Err(_) => true,
        };
        *lock(&self.breaker.providers) = Some((several, Instant::now()));
        several
    }

    /// One row, in a task of its own so that a panic ends only this row.
    async fn run_item(self: Arc<Self>, item: WorkItem) {
        let held = self.claims.hold_row(&item, self.options.lease);
        let task = {
            let (runner, item, held) = (self.clone(), item.clone(), held.clone());
            tokio::spawn(async move { runner.process(&item, &held).await })
        };
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                warn!(provider = %item.provider_id, work = ?item.work, %error,
                    "work row could not be processed; it will be retried");
            }
            Err(panic) => {
                let message = format!("the sync of this item panicked: {panic}");
                tracing::error!(provider = %item.provider_id, work = ?item.work, error = %message,
                    "a panic ended one item; it will be retried");
                if let Err(error) = self
                    .store
                    .retry_work(&item, later(backoff(item.attempts)), &message)
                    .await
                {
                    warn!(%error, "the panicked row could not be deferred; its lease will lapse");
                }
            }
        }
        self.claims.release_row(&item);
    }

    async fn process(&self, item: &WorkItem, held: &Held) -> Result<(), RunnerError> {
        let Work::Item(what) = item.work else {
            // Full syncs are claimed on their own; a stray one is given back.
            self.store.release_work(item).await?;
            return Ok(());
        };
        let provider = item.provider_id;
        let runtime = match self.runtimes.get(provider).await {
            Ok(runtime) => runtime,
            Err(RunnerError::NodeKey(reason)) => {
                // This node's fault, not the provider's: leave it to nodes that can.
                tracing::error!(%provider, error = %reason, "this node cannot open the provider's credential");
                self.breaker.skip(provider);
                self.store.release_work(item).await?;
                return Ok(());
            }
            Err(error) if error.stops_provider() => {
                let reason = error.to_string();
                self.store
                    .set_provider_health(provider, Some(&reason))
                    .await?;
                self.store.retry_work(item, Utc::now(), &reason).await?;
                return Ok(());
            }
            Err(error) => {
                self.store
                    .retry_work(item, later(backoff(item.attempts)), &error.to_string())
                    .await?;
                return Ok(());
            }
        };
        let evaluator = BlockingEvaluator {
            runtime: runtime.clone(),
            mapper: self.runtimes.mapper().clone(),
            permits: self.evaluation.clone(),
        };
        let sync = ProviderSync {
            provider: &runtime.provider,
            store: &self.store,
            target: &*runtime.target,
            evaluator: &evaluator,
            fence: held,
            grace: self.options.replication_grace,
        };
        let result = match tokio::time::timeout(ITEM_BUDGET, sync.reconcile(what)).await {
            Ok(result) => result,
            Err(_) => Err(SyncError::Transient {
                retry_after: None,
                failure: engine::RemoteFailure::local(
                    "timeout",
                    format!("{what} took longer than {} s", ITEM_BUDGET.as_secs()),
                ),
            }),
        };
        if let Err(error) = &result
            && self.breaker.record(provider, unreachable(error))
        {
            let reason = format!("{TRIP_AFTER} items in a row could not reach Entra: {error}");
            warn!(%provider, %reason, "the provider is set aside for a while");
            self.store
                .degrade_provider(provider, later(COOL_DOWN), &reason)
                .await?;
        } else if result.is_ok() {
            self.breaker.record(provider, false);
        }
        self.settle(item, what, result).await
    }

    /// Records what reconciling came to and finishes the row accordingly.
    async fn settle(
        &self,
        item: &WorkItem,
        what: Item,
        result: Result<Outcome, SyncError>,
    ) -> Result<(), RunnerError> {
        let provider = item.provider_id;
        match result {
            Ok(outcome) => {
                debug!(%provider, %what, outcome = %outcome.kind(), "reconciled");
                self.finish(item, what, &outcome).await?;
            }
            // Another claim holds the row now: it is theirs.
            Err(SyncError::LeaseLost) => {}
            Err(error) if error.stops_provider() => {
                let reason = error.to_string();
                warn!(%provider, error = %reason, "the provider is stopped until an administrator acts");
                self.store
                    .set_provider_health(provider, Some(&reason))
                    .await?;
                // Kept: it runs once the provider is fixed and saved.
                self.store.retry_work(item, Utc::now(), &reason).await?;
            }
            Err(SyncError::Transient {
                retry_after,
                failure,
            }) => {
                if item.attempts + 1 >= self.options.max_attempts {
                    warn!(%provider, %what, error = %failure, "giving up after repeated transient failures");
                    self.finish(item, what, &Outcome::Rejected { failure })
                        .await?;
                } else {
                    let wait = retry_after.unwrap_or_else(|| backoff(item.attempts));
                    self.store
                        .retry_work(item, later(wait), &failure.to_string())
                        .await?;
                }
            }
            Err(SyncError::NotReady(reason)) => {
                if item.attempts + 1 >= NOT_READY_ATTEMPTS {
                    self.finish(item, what, &Outcome::Skipped { reason })
                        .await?;
                } else {
                    let wait = Duration::from_millis(250) * (item.attempts + 1);
                    self.store.retry_work(item, later(wait), &reason).await?;
                }
            }
            Err(error) => {
                self.store
                    .retry_work(item, later(backoff(item.attempts)), &error.to_string())
                    .await?;
            }
        }
        Ok(())
    }

    /// Records the item's outcome (users and groups have a state of their own) and completes
    /// its row, counting the outcome in its run.
    pub(crate) async fn finish(
        &self,
        item: &WorkItem,
        what: Item,
        outcome: &Outcome,
    ) -> Result<(), RunnerError> {
        let state = if let Some((kind, object)) = what.object() {
            let now = Utc::now();
            let (status, failure) = match outcome {
                Outcome::Rejected { failure } => (ObjectStatus::Failed, Some(failure)),
                Outcome::Skipped { .. }
                | Outcome::Ambiguous { .. }
                | Outcome::OutOfScope
                | Outcome::Planned { .. }
                | Outcome::Held { .. } => (ObjectStatus::Skipped, None),
                _ => (ObjectStatus::Synced, None),
            };
            let state = ObjectState {
                provider_id: item.provider_id,
                kind,
                object_id: object,
                status,
                outcome: outcome.kind().as_str().to_owned(),
                run_id: item.run_id,
                last_attempt_at: now,
                last_synced_at: (status == ObjectStatus::Synced).then_some(now),
                error_code: failure.map(|f| f.code.clone()),
                error_message: failure
                    .map(|f| f.message.clone())
                    .or_else(|| outcome.explanation()),
                request_id: failure.and_then(|f| f.request_id.clone()),
            };
            Some(state)
        } else {
            if let Outcome::Rejected { failure } = outcome {
                warn!(provider = %item.provider_id, %what, error = %failure, "a membership change was refused");
            }
            None
        };
        let mut tally = Tally::default();
        tally.count(what, outcome);
        // One commit: the outcome, its run's tally and the row's completion together.
        self.store.finish_work(item, &tally, state.as_ref()).await?;
        crate::telemetry::object_finished(&self.store, item, what, outcome).await;
        Ok(())
    }
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

    #[test]
    fn waits_from_answers_are_clamped() {
        let far = later(Duration::from_secs(u64::MAX));
        assert!(far <= Utc::now() + chrono::Duration::hours(2));
    }

    #[test]
    fn a_provider_trips_after_consecutive_unreachable_answers() {
        let breaker = Breaker::default();
        let provider = ProviderId::new();
        for _ in 1..TRIP_AFTER {
            assert!(!breaker.record(provider, true));
        }
        assert!(breaker.record(provider, true), "trips on the last");
        assert!(!breaker.record(provider, false));
        assert!(!breaker.record(provider, true), "a success starts over");
    }
}
