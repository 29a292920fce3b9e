//! [`InlineQueue`]: the engine's work queue in memory, reconciling items in this task, in the
//! order they were queued, with direct syncs first. An item that fails transiently goes to the
//! back of the queue and is tried again (up to a bound), as a work row would be.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use engine::{
    Directory, Evaluator, Item, Links, LocalError, Outcome, Protection, ProviderSync, Snapshots,
    SyncError, Tally, Target, Unfenced, WorkQueue,
};
use model::{Provider, ProviderId, RunId};

/// Attempts per item before it counts as failed.
const ATTEMPTS: u32 = 20;

#[derive(Default)]
struct State {
    direct: VecDeque<(Item, u32)>,
    runs: BTreeMap<RunId, VecDeque<(Item, u32)>>,
    tallies: BTreeMap<RunId, Tally>,
    /// Every outcome, in order, for tests to read.
    outcomes: Vec<(Item, Outcome)>,
}

/// See the module documentation.
pub struct InlineQueue<'a, S, T, E> {
    provider: &'a Provider,
    store: &'a S,
    target: &'a T,
    evaluator: &'a E,
    state: Mutex<State>,
}

impl<'a, S, T, E> InlineQueue<'a, S, T, E> {
    pub fn new(provider: &'a Provider, store: &'a S, target: &'a T, evaluator: &'a E) -> Self {
        Self {
            provider,
            store,
            target,
            evaluator,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every outcome so far, in order.
    pub fn outcomes(&self) -> Vec<(Item, Outcome)> {
        self.state().outcomes.clone()
    }
}

impl<S, T, E> InlineQueue<'_, S, T, E>
where
    S: Directory + Links + Snapshots + Protection,
    T: Target,
    E: Evaluator,
{
    /// Reconciles one item now (a direct sync), retrying transient failures at once.
    pub async fn sync_now(&self, item: Item) -> Result<Outcome, SyncError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.sync().reconcile(item).await {
                Err(SyncError::Transient { .. } | SyncError::NotReady(_)) if attempt < ATTEMPTS => {
                }
                other => return other,
            }
        }
    }

    /// Works the direct syncs queued so far (an approval's, say).
    pub async fn run_direct(&self) -> Result<(), SyncError> {
        loop {
            let next = self.state().direct.pop_front();
            let Some((item, attempts)) = next else {
                return Ok(());
            };
            match self.sync().reconcile(item).await {
                Ok(outcome) => self.state().outcomes.push((item, outcome)),
                Err(SyncError::Transient { .. } | SyncError::NotReady(_))
                    if attempts + 1 < ATTEMPTS =>
                {
                    self.state().direct.push_back((item, attempts + 1));
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn sync(&self) -> ProviderSync<'_, S, T, E, Unfenced> {
        ProviderSync {
            provider: self.provider,
            store: self.store,
            target: self.target,
            evaluator: self.evaluator,
            fence: &Unfenced,
            grace: engine::REPLICATION_GRACE,
        }
    }
}

impl<S, T, E> WorkQueue for InlineQueue<'_, S, T, E>
where
    S: Directory + Links + Snapshots + Protection,
    T: Target,
    E: Evaluator,
{
    async fn enqueue(
        &self,
        _provider: ProviderId,
        run: Option<RunId>,
        items: &[Item],
    ) -> Result<(), LocalError> {
        let mut state = self.state();
        let queue = match run {
            Some(run) => state.runs.entry(run).or_default(),
            None => &mut state.direct,
        };
        queue.extend(items.iter().map(|item| (*item, 0)));
        Ok(())
    }

    async fn drain(
        &self,
        _provider: ProviderId,
        run: RunId,
        left: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), SyncError> {
        loop {
            // Direct syncs go first, as in the work table.
            self.run_direct().await?;
            let next = {
                let mut state = self.state();
                let queue = state.runs.entry(run).or_default();
                left(queue.len() as u64);
                queue.pop_front()
            };
            let Some((item, attempts)) = next else {
                return Ok(());
            };
            let outcome = match self.sync().reconcile(item).await {
                Ok(outcome) => outcome,
                Err(SyncError::Transient { .. } | SyncError::NotReady(_))
                    if attempts + 1 < ATTEMPTS =>
                {
                    self.state()
                        .runs
                        .entry(run)
                        .or_default()
                        .push_back((item, attempts + 1));
                    continue;
                }
                Err(SyncError::Transient { failure, .. }) => Outcome::Rejected { failure },
                Err(SyncError::NotReady(reason)) => Outcome::Skipped { reason },
                Err(error) => return Err(error),
            };
            let mut state = self.state();
            state.tallies.entry(run).or_default().count(item, &outcome);
            state.outcomes.push((item, outcome));
        }
    }

    async fn tally(&self, run: RunId) -> Result<Tally, LocalError> {
        Ok(self.state().tallies.get(&run).cloned().unwrap_or_default())
    }
}
