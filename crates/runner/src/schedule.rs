//! Schedules: every node looks for due schedules; the store fires each due one exactly once
//! (compare-and-swap on its next run time), by queueing a full sync.

use chrono::Utc;
use tracing::{info, warn};

use crate::Runner;

impl Runner {
    /// Fires the due schedules; returns how many fired here.
    pub async fn fire_schedules(&self) -> Result<usize, crate::RunnerError> {
        let fired = self.store.fire_due_schedules(Utc::now()).await?;
        for provider in &fired {
            info!(%provider, "schedule fired: full sync queued");
        }
        Ok(fired.len())
    }

    pub(crate) async fn schedule_loop(&self) {
        loop {
            if let Err(error) = self.fire_schedules().await {
                warn!(%error, "schedules could not be checked; retrying");
            }
            tokio::time::sleep(self.options.schedule_poll).await;
        }
    }
}
