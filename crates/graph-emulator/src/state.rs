//! The shared state every handler sees.

use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use crate::auth::keys::Keys;
use crate::clock::Clock;
use crate::config::{EmulatorConfig, Knobs};
use crate::consistency::ReadLag;
use crate::counters::Counters;
use crate::dice::Dice;
use crate::directory::Directory;
use crate::throttle::Throttle;

pub struct AppState {
    pub config: EmulatorConfig,
    /// Root URL, e.g. `http://127.0.0.1:8080` (Graph is under `/v1.0`).
    pub root: String,
    /// Graph base URL, `{root}/v1.0`, used in `@odata.context` and paging links.
    pub base: String,
    pub dir: Mutex<Directory>,
    pub knobs: RwLock<Knobs>,
    pub clock: Clock,
    pub keys: Keys,
    pub throttle: Mutex<Throttle>,
    pub counters: Counters,
    /// Where the fault layers draw their decisions (seeded by the `fault_seed` knob).
    pub dice: Dice,
}

impl AppState {
    /// Locks the directory; a poisoned lock is recovered because every mutation leaves the
    /// directory consistent before it can panic.
    pub fn dir(&self) -> MutexGuard<'_, Directory> {
        self.dir.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn knobs(&self) -> Knobs {
        self.knobs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_knobs(&self, knobs: Knobs) {
        self.dice.follow(knobs.fault_seed);
        *self.knobs.write().unwrap_or_else(|e| e.into_inner()) = knobs;
    }

    /// The lagging view this request reads through (`read_lag_ms`), taken now.
    pub fn read_lag(&self) -> ReadLag {
        ReadLag::new(Duration::from_millis(self.knobs().read_lag_ms))
    }

    /// How long after a create a membership change may not reference the new object: the
    /// replication lag Graph documents for references, and at least the read lag (an object
    /// reads cannot see yet cannot be referenced either).
    pub fn reference_lag(&self) -> Duration {
        let knobs = self.knobs();
        Duration::from_millis(knobs.replication_lag_ms.max(knobs.read_lag_ms))
    }

    pub fn throttle(&self) -> MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn default_domain(&self) -> &str {
        self.config
            .verified_domains
            .first()
            .map_or(crate::config::DEFAULT_DOMAIN, String::as_str)
    }

    pub fn is_verified_domain(&self, domain: &str) -> bool {
        self.config
            .verified_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }
}
