//! In-process counters: requests by route template and outcome, retries, and the time spent
//! waiting on throttling (429 waits) and on pacing. Read with [`Metrics::snapshot`].

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Default)]
pub struct Metrics {
    /// "GET /users/{id}" → outcome ("200", "429", "timeout") → count.
    requests: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    retries: AtomicU64,
    throttled: AtomicU64,
    throttle_wait_us: AtomicU64,
    pacing_wait_us: AtomicU64,
}

/// A point-in-time copy of [`Metrics`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    pub requests: BTreeMap<String, BTreeMap<String, u64>>,
    pub retries: u64,
    pub throttled: u64,
    pub throttle_wait: Duration,
    pub pacing_wait: Duration,
}

impl MetricsSnapshot {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().flat_map(|m| m.values()).sum()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Metrics {
    pub fn record(&self, route: &str, outcome: &str) {
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(route.to_owned())
            .or_default()
            .entry(outcome.to_owned())
            .or_default() += 1;
    }

    pub fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_throttle_wait(&self, d: Duration) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        self.throttle_wait_us
            .fetch_add(micros(d), Ordering::Relaxed);
    }

    pub fn record_pacing_wait(&self, d: Duration) {
        if !d.is_zero() {
            self.pacing_wait_us.fetch_add(micros(d), Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            requests: self
                .requests
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            throttle_wait: Duration::from_micros(self.throttle_wait_us.load(Ordering::Relaxed)),
            pacing_wait: Duration::from_micros(self.pacing_wait_us.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_and_outcome() {
        let m = Metrics::default();
        m.record("GET /users", "200");
        m.record("GET /users", "200");
        m.record("GET /users", "429");
        m.record_retry();
        m.record_throttle_wait(Duration::from_millis(5));
        let s = m.snapshot();
        assert_eq!(s.requests["GET /users"]["200"], 2);
        assert_eq!(s.total_requests(), 3);
        assert_eq!((s.retries, s.throttled), (1, 1));
        assert_eq!(s.throttle_wait, Duration::from_millis(5));
    }
}
