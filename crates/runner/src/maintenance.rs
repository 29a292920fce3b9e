//! Housekeeping every node does on its schedule tick: fire due schedules (each exactly once,
//! by compare-and-swap on its next run time, by the database's clock), mark interrupted the
//! runs whose lease ran out, and forget old runs, snapshots left half-written, deletes that no
//! window counts any more, change records every provider has read, and the states of objects
//! gone from the directory.

use std::time::Duration;

use tracing::{info, warn};

use crate::Runner;

/// A snapshot left unfinished this long ago had a discovery that died.
const ABANDONED: Duration = Duration::from_secs(24 * 3600);

/// How often old records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Deletes older than the longest window count in none.
const DELETES_KEPT: Duration = Duration::from_secs(8 * 24 * 3600);

impl Runner {
    /// Fires the due schedules; returns how many fired here.
    pub async fn fire_schedules(&self) -> Result<usize, crate::RunnerError> {
        let now = self.store.now().await?;
        let fired = self.store.fire_due_schedules(now).await?;
        for provider in &fired {
            info!(%provider, "schedule fired: full sync queued");
        }
        Ok(fired.len())
    }

    /// Marks interrupted the runs whose node stopped renewing them; returns how many.
    pub async fn sweep_runs(&self) -> Result<u64, crate::RunnerError> {
        let swept = self.store.sweep_runs().await?;
        if swept > 0 {
            warn!(
                swept,
                "runs whose node stopped renewing them are marked interrupted"
            );
        }
        Ok(swept)
    }

    pub(crate) async fn maintenance_loop(&self, stopping: &crate::supervise::Stop) {
        let mut pruned: Option<std::time::Instant> = None;
        while !stopping.is_stopped() {
            self.health.tick("schedules");
            if let Err(error) = self.fire_schedules().await {
                warn!(%error, "schedules could not be checked; retrying");
            }
            if let Err(error) = self.sweep_runs().await {
                warn!(%error, "runs could not be swept; retrying");
            }
            if pruned.is_none_or(|at| at.elapsed() > PRUNE_EVERY) {
                self.prune().await;
                pruned = Some(std::time::Instant::now());
            }
            stopping.pause(self.options.schedule_poll).await;
        }
    }

    /// Forgets what is kept no longer: finished runs past the retention, snapshots a dead
    /// discovery left half-written, deletes no window counts (a failure here only delays it).
    pub async fn prune(&self) {
        let Ok(now) = self.store.now().await else {
            return;
        };
        let ago = |kept: Duration| {
            chrono::Duration::from_std(kept)
                .ok()
                .and_then(|kept| now.checked_sub_signed(kept))
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        };
        match self.store.prune_runs(ago(self.options.run_retention)).await {
            Ok(0) => {}
            Ok(pruned) => info!(pruned, "old runs forgotten"),
            Err(error) => warn!(%error, "old runs could not be pruned"),
        }
        if let Err(error) = self.store.prune_snapshots(ago(ABANDONED)).await {
            warn!(%error, "abandoned snapshots could not be pruned");
        }
        if let Err(error) = self.store.prune_delete_events(ago(DELETES_KEPT)).await {
            warn!(%error, "old deletes could not be pruned");
        }
        // The change log is kept as long as runs are (and never before every provider read it).
        if let Err(error) = self
            .store
            .prune_changes(ago(self.options.run_retention))
            .await
        {
            warn!(%error, "old change records could not be pruned");
        }
        if let Err(error) = self
            .store
            .prune_object_states(ago(self.options.run_retention))
            .await
        {
            warn!(%error, "states of deleted objects could not be pruned");
        }
    }
}
