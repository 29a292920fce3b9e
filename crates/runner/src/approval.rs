//! Decisions on held deletes, taken here so that approved ones are queued on the work table.

use engine::{ApprovalError, Unfenced};
use model::ProviderId;

use crate::queue::StoreQueue;
use crate::{Runner, RunnerError};

impl Runner {
    /// Approves the held deletes: they proceed now. Returns how many objects are queued.
    pub async fn approve_deletes(&self, provider: ProviderId) -> Result<u64, RunnerError> {
        let provider = self.store.get_provider(provider).await?;
        let queue = StoreQueue {
            store: &self.store,
            fence: &Unfenced,
        };
        engine::approve(&provider, &self.store, &queue)
            .await
            .map_err(decision_error)
    }

    /// Rejects the held deletes: the links go (nothing is done remotely) and the provider
    /// resumes. Returns how many links were dropped.
    pub async fn reject_deletes(&self, provider: ProviderId) -> Result<u64, RunnerError> {
        let provider = self.store.get_provider(provider).await?;
        engine::reject(&provider, &self.store)
            .await
            .map_err(decision_error)
    }
}

fn decision_error(error: ApprovalError) -> RunnerError {
    match error {
        ApprovalError::NothingAwaits => RunnerError::NothingAwaitsApproval,
        ApprovalError::Local(error) => RunnerError::Local(error),
    }
}
