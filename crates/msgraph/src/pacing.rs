//! Pacing: one limiter per (tenant, app), shared by every client of that pair, so that a long
//! sync stays under Graph's limits (about 20 writes/s per app and tenant, graph-contract.md
//! §7.2) instead of bouncing off 429s. It is a GCRA schedule (a token bucket without a
//! timer): each request reserves the next free slot. It slows down when Graph reports
//! `x-ms-throttle-limit-percentage` above 0.8 and pauses every request after a 429.
//!
//! All instant arithmetic saturates ([`crate::clock::later`]) and a pause is never longer than
//! [`MAX_RETRY_AFTER`], so neither a server's header nor an odd configuration can panic here
//! or park requests for longer than that.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::time::Instant;

use crate::clock::later;
use crate::retry::MAX_RETRY_AFTER;

/// The longest spacing between two requests: a rate below one a minute (a typo, surely) is
/// taken as one a minute.
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// Rates of one (tenant, app) pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PacingConfig {
    /// Sustained requests per second (all methods). `0` (or less) disables request pacing;
    /// below one a minute counts as one a minute.
    pub requests_per_sec: f64,
    /// Sustained writes (POST/PATCH/PUT/DELETE) per second. `0` disables write pacing.
    pub writes_per_sec: f64,
    /// How many requests may go at once before the schedule applies.
    pub burst: u32,
}

impl Default for PacingConfig {
    /// Just under Graph's app+tenant write quota (3,000 per 150 s) and a small tenant's RU
    /// quota (3,500 per 10 s, at 2 RU per list read).
    fn default() -> Self {
        Self {
            requests_per_sec: 150.0,
            writes_per_sec: 18.0,
            burst: 20,
        }
    }
}

impl PacingConfig {
    /// No pacing (429s are still honoured).
    pub fn unlimited() -> Self {
        Self {
            requests_per_sec: 0.0,
            writes_per_sec: 0.0,
            burst: 0,
        }
    }

    /// Every rate multiplied by `factor` (an emulator whose clock runs `factor` times faster).
    #[must_use]
    pub fn scaled(mut self, factor: f64) -> Self {
        self.requests_per_sec *= factor;
        self.writes_per_sec *= factor;
        self
    }
}

#[derive(Debug)]
struct Lane {
    interval: Option<Duration>,
    /// Theoretical arrival time of the next request.
    tat: Instant,
}

impl Lane {
    fn new(rate: f64, now: Instant) -> Self {
        // `rate > 0` also rules out NaN. `1/rate` can still be too large for a Duration.
        let interval = (rate > 0.0).then(|| {
            Duration::try_from_secs_f64(1.0 / rate)
                .unwrap_or(MAX_INTERVAL)
                .min(MAX_INTERVAL)
        });
        Self { interval, tat: now }
    }

    /// Reserves a slot at or after `earliest`; answers when it is.
    fn reserve(&mut self, earliest: Instant, burst: u32, slowdown: f64) -> Instant {
        let Some(interval) = self.interval else {
            return earliest;
        };
        let interval =
            Duration::try_from_secs_f64(interval.as_secs_f64() * slowdown).unwrap_or(interval);
        let tolerance = interval.saturating_mul(burst);
        let allowed = earliest.max(self.tat.checked_sub(tolerance).unwrap_or(earliest));
        self.tat = later(self.tat.max(allowed), interval);
        allowed
    }
}

#[derive(Debug)]
struct State {
    requests: Lane,
    writes: Lane,
    /// ≥ 1: how much slower than configured (raised by the throttle percentage).
    slowdown: f64,
    /// No request starts before this (set by a 429's `Retry-After`).
    paused_until: Instant,
}

/// The limiter of one (tenant, app) pair.
#[derive(Debug)]
pub struct Pacer {
    burst: u32,
    state: Mutex<State>,
}

type Registry = Mutex<HashMap<(String, String), Weak<Pacer>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

impl Pacer {
    pub fn new(config: &PacingConfig) -> Self {
        let now = Instant::now();
        Self {
            burst: config.burst,
            state: Mutex::new(State {
                requests: Lane::new(config.requests_per_sec, now),
                writes: Lane::new(config.writes_per_sec, now),
                slowdown: 1.0,
                paused_until: now,
            }),
        }
    }

    /// The pacer shared by every client of (`tenant`, `client_id`) in this process; the first
    /// caller's configuration wins while any client holds it.
    pub fn shared(tenant: &str, client_id: &str, config: &PacingConfig) -> Arc<Pacer> {
        let key = (tenant.to_ascii_lowercase(), client_id.to_ascii_lowercase());
        let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = map.get(&key).and_then(Weak::upgrade) {
            return p;
        }
        let p = Arc::new(Pacer::new(config));
        map.insert(key, Arc::downgrade(&p));
        p
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this request's slot; answers how long it waited.
    pub async fn acquire(&self, write: bool) -> Duration {
        let now = Instant::now();
        let at = {
            let mut s = self.state();
            let earliest = now.max(s.paused_until);
            let slowdown = s.slowdown;
            let at = s.requests.reserve(earliest, self.burst, slowdown);
            if write {
                s.writes.reserve(at, self.burst, slowdown)
            } else {
                at
            }
        };
        if at > now {
            tokio::time::sleep_until(at).await;
        }
        at.saturating_duration_since(now)
    }

    /// Feeds back `x-ms-throttle-limit-percentage` (absent = under 80 %): above 0.8 the pace
    /// drops in proportion, and recovers step by step once Graph stops reporting it.
    pub fn observe_limit_percentage(&self, percentage: Option<f64>) {
        let mut s = self.state();
        s.slowdown = match percentage {
            Some(p) if p > 0.8 => (s.slowdown * (1.0 + (p - 0.8))).min(8.0),
            _ => (s.slowdown * 0.98).max(1.0),
        };
    }

    /// A 429 told everyone to wait: no request of this pair starts before `retry_after` passes
    /// (at most [`MAX_RETRY_AFTER`]).
    pub fn pause(&self, retry_after: Duration) {
        let until = later(Instant::now(), retry_after.min(MAX_RETRY_AFTER));
        let mut s = self.state();
        s.paused_until = s.paused_until.max(until);
        s.slowdown = (s.slowdown * 1.25).min(8.0);
    }

    /// The current slowdown factor (1.0 = configured pace).
    pub fn slowdown(&self) -> f64 {
        self.state().slowdown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_after_the_burst() {
        let p = Pacer::new(&PacingConfig {
            requests_per_sec: 10.0,
            writes_per_sec: 0.0,
            burst: 2,
        });
        let start = Instant::now();
        for _ in 0..3 {
            p.acquire(false).await;
        }
        assert_eq!(Instant::now(), start, "the burst passes at once");
        for _ in 0..10 {
            p.acquire(false).await;
        }
        let elapsed = Instant::now() - start;
        assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn pause_and_percentage_slow_everyone_down() {
        let p = Pacer::new(&PacingConfig::unlimited());
        p.pause(Duration::from_secs(2));
        let waited = p.acquire(true).await;
        assert_eq!(waited, Duration::from_secs(2));
        let before = p.slowdown();
        p.observe_limit_percentage(Some(1.2));
        assert!(p.slowdown() > before);
        for _ in 0..500 {
            p.observe_limit_percentage(None);
        }
        assert_eq!(p.slowdown(), 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_pause_is_capped_not_a_panic() {
        let p = Pacer::new(&PacingConfig::unlimited());
        p.pause(Duration::MAX);
        p.pause(Duration::from_secs(u64::MAX));
        let waited = p.acquire(false).await;
        assert_eq!(waited, MAX_RETRY_AFTER);
    }

    #[tokio::test(start_paused = true)]
    async fn odd_rates_neither_panic_nor_park_requests() {
        let rates = [
            1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            -1.0,
            f64::NAN,
            f64::INFINITY,
        ];
        for (rate, burst) in rates.into_iter().flat_map(|r| [(r, 0), (r, u32::MAX)]) {
            let p = Pacer::new(&PacingConfig {
                requests_per_sec: rate,
                writes_per_sec: rate,
                burst,
            });
            p.observe_limit_percentage(Some(f64::INFINITY));
            for _ in 0..3 {
                let waited = p.acquire(true).await;
                assert!(waited <= MAX_INTERVAL * 8, "{rate}/{burst}: {waited:?}");
            }
        }
    }

    #[test]
    fn shared_per_tenant_and_app() {
        let c = PacingConfig::default();
        let a = Pacer::shared("T", "app", &c);
        let b = Pacer::shared("t", "APP", &c);
        let other = Pacer::shared("t", "other", &c);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
    }
}
