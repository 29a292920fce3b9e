//! Supervision: every loop of the runner is a task of its own, restarted when it panics or
//! ends, and ticks a liveness mark each round; [`Health`] says which loops are stalled, which
//! `/readyz` reports. A shutdown stops claiming, waits (a bounded time) for the items in
//! flight, and leaves the rest to lapse to other nodes.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use crate::Runner;

/// A loop that has not ticked for this long is stalled.
const STALLED: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy)]
struct Liveness {
    last_tick: Instant,
    restarts: u32,
}

/// The liveness of a node's loops.
#[derive(Debug, Default)]
pub struct Health {
    loops: Mutex<BTreeMap<&'static str, Liveness>>,
}

impl Health {
    pub(crate) fn tick(&self, name: &'static str) {
        let mut loops = self.lock();
        let entry = loops.entry(name).or_insert(Liveness {
            last_tick: Instant::now(),
            restarts: 0,
        });
        entry.last_tick = Instant::now();
    }

    fn restarted(&self, name: &'static str) {
        if let Some(entry) = self.lock().get_mut(name) {
            entry.restarts += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Liveness>> {
        self.loops
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What is wrong with the loops, in words (nothing: all well).
    pub fn problems(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, l)| l.last_tick.elapsed() > STALLED)
            .map(|(name, l)| {
                format!(
                    "the {name} loop has not run for {} s ({} restarts)",
                    l.last_tick.elapsed().as_secs(),
                    l.restarts
                )
            })
            .collect()
    }

    /// How often each loop was restarted after a panic or an end.
    pub fn restarts(&self) -> BTreeMap<&'static str, u32> {
        self.lock()
            .iter()
            .map(|(name, l)| (*name, l.restarts))
            .collect()
    }
}

/// Tells the loops to stop claiming: a flag they look at every round, and a wake-up for those
/// waiting.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    stopped: std::sync::atomic::AtomicBool,
    wake: tokio::sync::Notify,
}

impl Stop {
    pub(crate) fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits `pause`, or less when stopped meanwhile.
    pub(crate) async fn pause(&self, pause: Duration) {
        if self.is_stopped() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = self.wake.notified() => {}
        }
    }
}

/// Runs the loop `start` makes, again and again until `stop`: a panic or an end is logged and
/// the loop restarts after a pause that grows (up to a minute) while it keeps failing.
async fn supervise<F, Fut>(name: &'static str, health: Arc<Health>, stop: Arc<Stop>, start: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut pause = Duration::from_millis(100);
    loop {
        let started = Instant::now();
        let ended = tokio::spawn(start()).await;
        if stop.is_stopped() {
            return;
        }
        match ended {
            Ok(()) => warn!(r#loop = name, "a runner loop ended; restarting it"),
            Err(panic) if panic.is_panic() => {
                error!(r#loop = name, error = %panic, "a runner loop panicked; restarting it");
            }
            Err(_) => return,
        }
        health.restarted(name);
        if started.elapsed() > Duration::from_secs(60) {
            pause = Duration::from_millis(100);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

/// Workers and a heartbeat for one provider, while something in this process (a command-line
/// sync, a test) runs that provider's full sync without the node's own loops: they stop when
/// this is dropped.
pub struct Assist {
    stop: Arc<Stop>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Assist {
    fn drop(&mut self) {
        self.stop.stop();
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Runner {
    /// Starts workers (for `provider`'s items only) and a heartbeat in this process.
    pub fn assist(self: &Arc<Self>, provider: model::ProviderId) -> Assist {
        let stop = Arc::new(Stop::default());
        let worker = tokio::spawn(self.clone().work_loop(stop.clone(), Some(provider)));
        let heartbeat = tokio::spawn({
            let runner = self.clone();
            async move { runner.heartbeat_loop().await }
        });
        Assist {
            stop,
            tasks: vec![worker, heartbeat],
        }
    }

    /// Works `provider`'s queued items here until none is left (or `patience` runs out).
    /// Returns how many are left.
    pub async fn work_until_idle(
        self: &Arc<Self>,
        provider: model::ProviderId,
        patience: Duration,
    ) -> Result<u64, crate::RunnerError> {
        let _assist = self.assist(provider);
        let deadline = Instant::now() + patience;
        loop {
            self.store.feed_changes(2000).await?;
            let left = self.store.queued_work(provider).await?;
            if left == 0 && self.claims.rows() == 0 {
                return Ok(0);
            }
            if Instant::now() > deadline {
                return Ok(left);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Works until `shutdown` resolves: direct syncs, full syncs, schedules, the heartbeat.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send) {
        let stop = Arc::new(Stop::default());
        let health = self.health.clone();
        let loops = vec![
            tokio::spawn({
                let (runner, stopping) = (self.clone(), stop.clone());
                supervise("worker", health.clone(), stop.clone(), move || {
                    runner.clone().work_loop(stopping.clone(), None)
                })
            }),
            tokio::spawn({
                let (runner, stopping) = (self.clone(), stop.clone());
                supervise("full syncs", health.clone(), stop.clone(), move || {
                    runner.clone().full_sync_loop(stopping.clone())
                })
            }),
            tokio::spawn({
                let (runner, stopping) = (self.clone(), stop.clone());
                supervise("schedules", health.clone(), stop.clone(), move || {
                    let (runner, stopping) = (runner.clone(), stopping.clone());
                    async move { runner.maintenance_loop(&stopping).await }
                })
            }),
        ];
        // The heartbeat outlives the others: items still in flight keep their claims.
        let beat = Arc::new(Stop::default());
        let heartbeat = tokio::spawn({
            let runner = self.clone();
            supervise("heartbeat", health.clone(), beat.clone(), move || {
                let runner = runner.clone();
                async move { runner.heartbeat_loop().await }
            })
        });
        shutdown.await;
        info!("stopping: no new work is claimed");
        stop.stop();
        for task in loops {
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                warn!("a runner loop did not stop within 5 s");
            }
        }
        let deadline = Instant::now() + self.options.drain;
        while self.claims.rows() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let left = self.claims.rows();
        if left > 0 {
            warn!(
                left,
                "items still in flight at shutdown: their leases lapse to other nodes"
            );
        }
        beat.stop();
        heartbeat.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_loop_that_panics_is_restarted_and_counted() {
        let health = Arc::new(Health::default());
        let stop = Arc::new(Stop::default());
        let starts = Arc::new(AtomicU32::new(0));
        let task = tokio::spawn(supervise("flaky", health.clone(), stop.clone(), {
            let (starts, health) = (starts.clone(), health.clone());
            move || {
                let (starts, health) = (starts.clone(), health.clone());
                async move {
                    health.tick("flaky");
                    if starts.fetch_add(1, Ordering::SeqCst) == 0 {
                        panic!("a bug in one round");
                    }
                    std::future::pending::<()>().await;
                }
            }
        }));
        let deadline = Instant::now() + Duration::from_secs(5);
        while starts.load(Ordering::SeqCst) < 2 {
            assert!(Instant::now() < deadline, "the loop was not restarted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(health.restarts().get("flaky"), Some(&1));
        assert!(health.problems().is_empty());
        stop.stop();
        task.abort();
    }

    #[test]
    fn a_loop_that_stopped_ticking_is_reported() {
        let health = Health::default();
        health.tick("worker");
        assert!(health.problems().is_empty());
        if let Some(long_ago) = Instant::now().checked_sub(STALLED * 2) {
            health.lock().insert(
                "worker",
                Liveness {
                    last_tick: long_ago,
                    restarts: 3,
                },
            );
            let problems = health.problems();
            assert_eq!(problems.len(), 1);
            assert!(problems[0].contains("worker") && problems[0].contains("3 restarts"));
        }
    }
}
