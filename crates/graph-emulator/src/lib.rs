//! A local, in-memory, single-tenant Microsoft Graph v1.0 and token endpoint, faithful enough
//! that a real Graph client cannot tell it apart for users, groups and membership: same status
//! codes, error codes and messages, paging, delta, `$batch`, throttling (429 + `Retry-After`)
//! and transient failures.
//!
//! ```no_run
//! # async fn demo() -> Result<(), graph_emulator::EmulatorError> {
//! let emu = graph_emulator::Emulator::start(graph_emulator::EmulatorConfig::default()).await?;
//! println!("Graph {} token {}", emu.base_url(), emu.token_url());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Defaults ([`EmulatorConfig::default`])
//! - listen: `127.0.0.1`, port `0` (any free port; the CLI picks its own default)
//! - tenant id: `8f3b2a5e-6c1d-4e7f-9a0b-1c2d3e4f5a6b` ([`config::DEFAULT_TENANT_ID`])
//! - client id: `0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e` ([`config::DEFAULT_CLIENT_ID`])
//! - client secret: `emulator-secret~0123456789abcdefABCDEF` ([`config::DEFAULT_CLIENT_SECRET`])
//! - verified domain: `contoso.onmicrosoft.com` ([`config::DEFAULT_DOMAIN`])
//! - time scale 1.0, token lifetime 3,599 s, deltaLink lifetime 7 days (emulated time)
//! - throttling off (tenant size derived from the user count when on), no latency, no faults
//!   (before or after writes), no 429 storm, no replication lag, no read lag, unseeded fault
//!   decisions
//!
//! # HTTP surface
//! - `POST /{tenant}/oauth2/v2.0/token` (client credentials: secret or certificate assertion)
//! - `/v1.0/...` Graph: organization, users, groups, members, delta, `$batch`
//! - `/_emulator/...` inspection: `GET info`, `POST reset`, `POST seed`, `GET state`,
//!   `GET counters`, `GET|PATCH knobs`, `POST clock/advance`
//!
//! Inspection bodies: `seed` takes `{"users": [{"userPrincipalName", ...}], "groups":
//! [{"displayName", ..., "members": ["<id or UPN>"]}]}` (no Graph validation, no replication or read
//! lag) and answers the new ids; `knobs` takes a partial [`Knobs`] document in camelCase
//! (`{"errorRate": 0.1, "replicationLagMs": 2000}`); `clock/advance` takes `{"seconds": 1.5}`.
//!
//! # Not emulated (on purpose or not yet)
//! `$search`, `$expand`, `$filter`/`$count` on `/groups/{id}/members`, owners (bound owners are checked,
//! not stored), `deletedItems` (restore/purge), `/me` (answered as Graph answers app-only
//! callers), application-wide and tenant-wide throttling quotas (with one app the
//! app+tenant quota is always the one that binds), permissions (every token has admin consent).
//!
//! # Module map
//! - [`config`]: start configuration and run-time knobs
//! - `server`: router assembly, [`Emulator`], [`RunningEmulator`]
//! - `auth`: token endpoint (`token`), client assertions (`assertion`), bearer checks
//!   (`bearer`), key material (`keys`)
//! - `users`, `groups`, `members`, `delta`, `batch`, `tenant`, `keyed` (`users('…')`,
//!   `groups(uniqueName='…')`), `unique_name` (the group alternate key and its upsert): the
//!   Graph handlers
//! - `listing`: collection reads; `odata`: query options, `$filter`, paging tokens
//! - `directory`: the in-memory objects and change log; `state`: shared state;
//!   `consistency`: what a lagging replica lets reads see (`read_lag_ms`)
//! - `throttle`: identity-limit token buckets and 429 storms; `faults`: latency, resets, hangs, 5xx before
//!   the handler, and post-write faults after it; `dice`: the (optionally seeded) random
//!   decisions behind the faults
//! - `counters`: inspection counters and request ids; `inspect`: `/_emulator`
//! - `clock`: the scaled emulated clock; `error`: Graph error shapes and crate errors

mod auth;
mod batch;
mod clock;
pub mod config;
mod consistency;
mod counters;
mod delta;
mod dice;
mod directory;
mod error;
mod faults;
mod groups;
mod inspect;
mod keyed;
mod listing;
mod members;
mod odata;
pub mod schema;
mod server;
mod state;
mod tenant;
mod throttle;
mod unique_name;
mod users;

pub use config::{CertificateCredential, EmulatorConfig, Knobs, TenantSize, UnknownTenantSize};
pub use counters::CountersSnapshot;
pub use error::EmulatorError;
pub use inspect::InspectError;
pub use server::{Emulator, RunningEmulator};
