//! The shared state every handler sees.

use std::sync::{Mutex, MutexGuard, RwLock};

use crate::auth::keys::Keys;
use crate::clock::Clock;
use crate::config::{EmulatorConfig, Knobs};
use crate::counters::Counters;
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
        *self.knobs.write().unwrap_or_else(|e| e.into_inner()) = knobs;
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
