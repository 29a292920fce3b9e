//! The claims this node holds, and the heartbeat that renews them. Each claim is a [`Held`]
//! fence: it holds while the store keeps renewing it and its lease has not run out by this
//! node's own watch; the moment either fails, every write under it stops (the engine checks
//! the fence before each one). Runs this node owns are renewed the same way.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::Fence;
use model::RunId;
use store::{ClaimToken, WorkItem};
use tracing::warn;

use crate::Runner;

/// One claim (or one run) this node holds.
#[derive(Debug)]
pub(crate) struct Held {
    /// Past this instant the lease may have run out: stop, whatever the store says.
    valid_until: Mutex<Instant>,
    lost: AtomicBool,
}

impl Held {
    fn new(valid_for: Duration) -> Self {
        Self {
            valid_until: Mutex::new(Instant::now() + valid_for),
            lost: AtomicBool::new(false),
        }
    }

    fn extend_from(&self, from: Instant, valid_for: Duration) {
        *self
            .valid_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = from + valid_for;
    }
}

impl Fence for Held {
    fn holds(&self) -> bool {
        !self.lost.load(Ordering::Relaxed)
            && Instant::now()
                < *self
                    .valid_until
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A fence over two holds: a full sync's claim on its row and its run's lease.
pub(crate) struct Both<'a>(pub &'a Held, pub &'a Held);

impl Fence for Both<'_> {
    fn holds(&self) -> bool {
        self.0.holds() && self.1.holds()
    }
}

#[derive(Default)]
pub(crate) struct Claims {
    rows: Mutex<HashMap<ClaimToken, Arc<Held>>>,
    runs: Mutex<HashMap<RunId, Arc<Held>>>,
}

/// How much of a lease this node trusts: a renewal that answers late must not let it write
/// after another node may have taken over.
fn trusted(lease: Duration) -> Duration {
    lease.mul_f64(0.8)
}

impl Claims {
    pub(crate) fn hold_row(&self, item: &WorkItem, lease: Duration) -> Arc<Held> {
        let held = Arc::new(Held::new(trusted(lease)));
        lock(&self.rows).insert(item.claim, held.clone());
        held
    }

    pub(crate) fn release_row(&self, item: &WorkItem) {
        lock(&self.rows).remove(&item.claim);
    }

    pub(crate) fn hold_run(&self, run: RunId, lease: Duration) -> Arc<Held> {
        let held = Arc::new(Held::new(trusted(lease)));
        lock(&self.runs).insert(run, held.clone());
        held
    }

    pub(crate) fn release_run(&self, run: RunId) {
        lock(&self.runs).remove(&run);
    }

    /// How many rows this node holds.
    pub(crate) fn rows(&self) -> usize {
        lock(&self.rows).len()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Runner {
    /// Renews every claim and run this node holds, every third of a lease.
    pub(crate) async fn heartbeat_loop(&self) {
        let every = (self.options.lease / 3).max(Duration::from_millis(50));
        loop {
            self.health.tick("heartbeat");
            if let Err(error) = self.renew_all().await {
                warn!(%error, "claims could not be renewed; they lapse unless the next beat works");
            }
            tokio::time::sleep(every).await;
        }
    }

    async fn renew_all(&self) -> Result<(), store::StoreError> {
        let lease = self.options.lease;
        let rows: Vec<(ClaimToken, Arc<Held>)> = lock(&self.claims.rows)
            .iter()
            .map(|(token, held)| (*token, held.clone()))
            .collect();
        // Trusted from when the renewal was asked for: the store stamps the lease then.
        let sent = Instant::now();
        if !rows.is_empty() {
            let tokens: Vec<ClaimToken> = rows.iter().map(|(token, _)| *token).collect();
            let (renewed, _) = self.store.renew_claims(&tokens, lease).await?;
            let renewed: std::collections::HashSet<ClaimToken> = renewed.into_iter().collect();
            for (token, held) in rows {
                if renewed.contains(&token) {
                    held.extend_from(sent, trusted(lease));
                } else if !lock(&self.claims.rows).contains_key(&token) {
                    // Finished while the renewal was on its way: its row is gone, not lost.
                } else if !held.lost.swap(true, Ordering::Relaxed) {
                    warn!(claim = %token, "a claim was lost: its work stops here");
                }
            }
        }
        let runs: Vec<(RunId, Arc<Held>)> = lock(&self.claims.runs)
            .iter()
            .map(|(run, held)| (*run, held.clone()))
            .collect();
        if !runs.is_empty() {
            let ids: Vec<RunId> = runs.iter().map(|(run, _)| *run).collect();
            let renewed = self.store.renew_runs(&ids, lease).await?;
            for (run, held) in runs {
                if renewed.contains(&run) {
                    held.extend_from(sent, trusted(lease));
                } else if !held.lost.swap(true, Ordering::Relaxed) {
                    warn!(%run, "a run's lease was lost: it stops here");
                }
            }
        }
        Ok(())
    }
}
