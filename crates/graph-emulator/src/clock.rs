//! The emulated clock: real time multiplied by the time scale, plus manual advances.
//!
//! Token expiry, deltaLink expiry and throttle refills read this clock, so a benchmark at 60×
//! sees the real limits in a sixtieth of the time, and a test with scale 0 moves time only on
//! purpose (no sleeps, no timing flakiness).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Current UTC time as Graph prints `createdDateTime` and friends (`2021-09-21T07:09:14Z`).
pub fn utc_timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[derive(Debug)]
pub struct Clock {
    start: Instant,
    start_unix: f64,
    scale: f64,
    /// Emulated seconds added by `advance`.
    advanced: Mutex<f64>,
}

impl Clock {
    pub fn new(scale: f64) -> Self {
        let start_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        Self {
            start: Instant::now(),
            start_unix,
            scale: if scale.is_finite() && scale >= 0.0 {
                scale
            } else {
                1.0
            },
            advanced: Mutex::new(0.0),
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Emulated seconds since the emulator started.
    pub fn now(&self) -> f64 {
        let advanced = *self.advanced.lock().unwrap_or_else(|e| e.into_inner());
        self.start.elapsed().as_secs_f64() * self.scale + advanced
    }

    /// Emulated Unix time in seconds (what tokens carry in `exp`/`nbf`).
    pub fn unix_now(&self) -> f64 {
        self.start_unix + self.now()
    }

    pub fn advance(&self, by: Duration) {
        *self.advanced.lock().unwrap_or_else(|e| e.into_inner()) += by.as_secs_f64();
    }

    /// Converts an emulated wait into the real seconds a client has to wait.
    /// With a frozen clock there is no real wait that helps, so the emulated value is reported.
    pub fn to_real_secs(&self, emulated: f64) -> f64 {
        if self.scale > 0.0 {
            emulated / self.scale
        } else {
            emulated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_on_advance() {
        let clock = Clock::new(0.0);
        assert_eq!(clock.now(), 0.0);
        clock.advance(Duration::from_secs(150));
        assert_eq!(clock.now(), 150.0);
        assert_eq!(clock.to_real_secs(3.0), 3.0);
    }

    #[test]
    fn scaled_clock_converts_waits() {
        let clock = Clock::new(60.0);
        assert_eq!(clock.to_real_secs(120.0), 2.0);
    }
}
