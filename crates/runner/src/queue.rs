//! The engine's work queue over the store's work table: a full sync's items are queued in its
//! lane and reconciled by the worker pools of every node, like direct syncs; the full sync
//! waits for them while its claim holds.

use std::time::Duration;

use engine::{Fence, Item, LocalError, SyncError, Tally, WorkQueue};
use model::{ProviderId, RunId};
use store::Store;

/// How often a waiting full sync looks at what is left.
const POLL: Duration = Duration::from_millis(100);

pub(crate) struct StoreQueue<'a, F> {
    pub store: &'a Store,
    /// The claim of whoever waits (a full sync's); a lost one ends the wait.
    pub fence: &'a F,
}

impl<F: Fence> WorkQueue for StoreQueue<'_, F> {
    async fn enqueue(
        &self,
        provider: ProviderId,
        run: Option<RunId>,
        items: &[Item],
    ) -> Result<(), LocalError> {
        self.store.enqueue_items(provider, run, items).await?;
        Ok(())
    }

    async fn drain(
        &self,
        provider: ProviderId,
        run: RunId,
        left: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), SyncError> {
        loop {
            if !self.fence.holds() {
                return Err(SyncError::LeaseLost);
            }
            let pending = self
                .store
                .pending_work(provider, run)
                .await
                .map_err(LocalError::new)?;
            left(pending);
            if pending == 0 {
                return Ok(());
            }
            let state = self
                .store
                .provider_state(provider)
                .await
                .map_err(LocalError::new)?;
            if !state.active {
                return Err(SyncError::Stopped(
                    state
                        .health_reason
                        .unwrap_or_else(|| "the provider was paused".to_owned()),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn tally(&self, run: RunId) -> Result<Tally, LocalError> {
        Ok(self.store.run_tally(run).await?)
    }
}
