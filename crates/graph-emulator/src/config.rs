//! Start-time configuration and the realism knobs that can also change at run time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default tenant id (a fixed GUID so that scripts and docs can rely on it).
pub const DEFAULT_TENANT_ID: &str = "8f3b2a5e-6c1d-4e7f-9a0b-1c2d3e4f5a6b";
/// Default application (client) id.
pub const DEFAULT_CLIENT_ID: &str = "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e";
/// Default client secret (the secret *value*, as Entra shows it once).
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret~0123456789abcdefABCDEF";
/// Default verified domain (the tenant's initial `*.onmicrosoft.com` domain).
pub const DEFAULT_DOMAIN: &str = "contoso.onmicrosoft.com";

/// Tenant size class of Graph's identity throttling (graph-contract.md §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TenantSize {
    /// Derived from the current number of users: S < 50, M 50–500, L > 500.
    #[default]
    Auto,
    /// 3,500 resource units per 10 s.
    S,
    /// 5,000 resource units per 10 s.
    M,
    /// 8,000 resource units per 10 s.
    L,
}

/// A tenant size that is not `auto`, `s`, `m` or `l`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tenant size '{0}' (expected auto, S, M or L)")]
pub struct UnknownTenantSize(pub String);

impl std::str::FromStr for TenantSize {
    type Err = UnknownTenantSize;

    /// Case-insensitive `auto`, `s`, `m`, `l` (for command-line flags).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(TenantSize::Auto),
            "s" | "small" => Ok(TenantSize::S),
            "m" | "medium" => Ok(TenantSize::M),
            "l" | "large" => Ok(TenantSize::L),
            _ => Err(UnknownTenantSize(s.to_owned())),
        }
    }
}

/// Realism knobs: all of them can be set at start and changed at run time through
/// `PATCH /_emulator/knobs` or [`crate::RunningEmulator::set_knobs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Knobs {
    /// Graph identity throttling on or off (off by default so tests are not slowed down).
    pub throttle: bool,
    /// Tenant size class used by the throttle.
    pub tenant_size: TenantSize,
    /// Fixed latency added to every Graph request, in milliseconds (real time).
    pub latency_ms: u64,
    /// Uniform random jitter added on top of `latency_ms`, in milliseconds.
    pub jitter_ms: u64,
    /// Fraction (0..=1) of Graph requests answered with a 500, 503 or 504 (picked uniformly).
    pub error_rate: f64,
    /// Fraction (0..=1) of Graph requests whose connection is cut before a full response.
    pub reset_rate: f64,
    /// Fraction (0..=1) of Graph requests that hang for `hang_ms` before the connection is cut.
    pub hang_rate: f64,
    /// How long a hanging request hangs, in milliseconds (pick it above the client timeout).
    pub hang_ms: u64,
    /// Fraction (0..=1) of successful writes (POST, PATCH, PUT, DELETE, `$batch` items
    /// included) that are applied and then answered with a 500, 503 or 504, or, outside
    /// `$batch`, a connection reset or a hang of `hang_ms` then a reset.
    pub post_write_fault_rate: f64,
    /// For this many milliseconds after an object is created, referencing it in a membership
    /// change answers Graph's "referenced object does not exist" 400 (replication lag).
    pub replication_lag_ms: u64,
    /// Eventual consistency of reads, in milliseconds: an object created less than this long
    /// ago is missing from lists, `$filter`, `$count` and delta, answers 404 to GET, PATCH and
    /// DELETE by key, and cannot be referenced in membership changes (the replication-lag
    /// 400); a deleted object stays in lists and `$filter` results for as long.
    pub read_lag_ms: u64,
    /// A 429 storm: the fraction (0..=1) of Graph requests (`$batch` items included) refused
    /// with 429 whatever the app's quota holds, as Graph does when the tenant or the service
    /// is overloaded by others. Its `Retry-After` is `storm_retry_after_ms`. A harness turns
    /// it on and off to make storms of a chosen length.
    pub storm_rate: f64,
    /// The `Retry-After` a storm's 429s carry, in real milliseconds: seconds, as Graph's are
    /// (the quota's own 429s ask for the exact, usually tiny, refill time).
    pub storm_retry_after_ms: u64,
    /// Seed of the fault decisions (jitter, hangs, resets, server errors, storms): the same seed and
    /// the same requests, sent one after another, give the same faults. `None` draws from the
    /// thread's generator. A new seed starts its sequence over; so does a reset.
    pub fault_seed: Option<u64>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            throttle: false,
            tenant_size: TenantSize::Auto,
            latency_ms: 0,
            jitter_ms: 0,
            error_rate: 0.0,
            reset_rate: 0.0,
            hang_rate: 0.0,
            hang_ms: 120_000,
            post_write_fault_rate: 0.0,
            replication_lag_ms: 0,
            read_lag_ms: 0,
            storm_rate: 0.0,
            storm_retry_after_ms: 2000,
            fault_seed: None,
        }
    }
}

/// A certificate registered for the app: client assertions whose `x5t#S256` header matches
/// its thumbprint are verified with its public key.
#[derive(Debug, Clone)]
pub struct CertificateCredential {
    /// The certificate as PEM (`-----BEGIN CERTIFICATE-----`), RSA key.
    pub pem: String,
}

/// Everything the emulator needs at start. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; 0 picks any free port. Default 0.
    pub port: u16,
    /// Tenant id (GUID). Default [`DEFAULT_TENANT_ID`].
    pub tenant_id: String,
    /// The one registered app's client id. Default [`DEFAULT_CLIENT_ID`].
    pub client_id: String,
    /// The app's client secret; `None` means secret authentication is refused.
    /// Default `Some(DEFAULT_CLIENT_SECRET)`.
    pub client_secret: Option<String>,
    /// Certificates whose keys may sign client assertions. Default none.
    pub certificates: Vec<CertificateCredential>,
    /// Verified domains; the first is the default domain. Default `[DEFAULT_DOMAIN]`.
    pub verified_domains: Vec<String>,
    /// Emulated seconds per real second (e.g. 60.0 replays 150 s of throttling quota in 2.5 s).
    /// `0.0` freezes the clock: it then only moves through `POST /_emulator/clock/advance`.
    /// Default 1.0.
    pub time_scale: f64,
    /// Access-token lifetime in emulated time. Default 3,599 s (Graph's usual `expires_in`).
    pub token_lifetime: Duration,
    /// deltaLink lifetime in emulated time. Default 7 days (Graph's limit for directory objects).
    pub delta_link_lifetime: Duration,
    /// Start values of the realism knobs.
    pub knobs: Knobs,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            port: 0,
            tenant_id: DEFAULT_TENANT_ID.to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: Some(DEFAULT_CLIENT_SECRET.to_owned()),
            certificates: Vec::new(),
            verified_domains: vec![DEFAULT_DOMAIN.to_owned()],
            time_scale: 1.0,
            token_lifetime: Duration::from_secs(3599),
            delta_link_lifetime: Duration::from_secs(7 * 24 * 3600),
            knobs: Knobs::default(),
        }
    }
}

impl EmulatorConfig {
    /// Registers a certificate (PEM) for client-assertion authentication.
    #[must_use]
    pub fn with_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.certificates
            .push(CertificateCredential { pem: pem.into() });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_size_parses_case_insensitively() {
        assert_eq!("m".parse::<TenantSize>(), Ok(TenantSize::M));
        assert_eq!("Auto".parse::<TenantSize>(), Ok(TenantSize::Auto));
        assert!("xl".parse::<TenantSize>().is_err());
    }

    #[test]
    fn knobs_deserialize_partially_with_defaults() {
        let k: Knobs =
            serde_json::from_str(r#"{"throttle": true, "tenantSize": "L"}"#).expect("knobs");
        assert!(k.throttle);
        assert_eq!(k.tenant_size, TenantSize::L);
        assert_eq!(k.hang_ms, Knobs::default().hang_ms);
    }
}
