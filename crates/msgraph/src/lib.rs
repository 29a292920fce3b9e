//! A thin, typed Microsoft Graph v1.0 client for users, groups and membership. It knows
//! nothing of sync, links or providers: it authenticates (client secret or certificate),
//! caches tokens, paces and retries requests as Graph asks, and reports Graph's errors as
//! Graph gave them (with `request-id` and `date`). Deciding what an error *means* for a sync
//! is the `entra` crate's job.
//!
//! ```no_run
//! # async fn demo() -> Result<(), msgraph::GraphError> {
//! use msgraph::{ClientConfig, Cloud, Credential, Endpoints, GraphClient, Kind};
//! let config = ClientConfig::new(
//!     Endpoints::for_cloud(Cloud::Global),
//!     "contoso.onmicrosoft.com",
//!     "00000000-0000-0000-0000-000000000000",
//!     Credential::secret("…"),
//! );
//! let graph = GraphClient::new(config)?;
//! let page = graph.list_page(Kind::User, &["displayName"], None).await?;
//! # Ok(()) }
//! ```
//!
//! Module map: `cloud` (endpoints table), `credentials` (secret, certificate assertion),
//! `token` (cache, single-flight refresh with a deadline; `token::endpoint`, the token
//! request), `client` (request executor, timeouts), `links` (the token goes only under the
//! Graph base), `retry` (`Retry-After`, backoff), `pacing` (per tenant+app limiter), `clock`
//! (instant arithmetic that cannot panic), `metrics`, `error`, `odata` (quoting, pages),
//! `objects` (users and groups), `upsert` (groups by `uniqueName`), `members`, `batch`,
//! `delta`.

mod batch;
mod client;
mod clock;
mod cloud;
mod credentials;
mod delta;
mod error;
mod links;
mod members;
mod metrics;
mod objects;
mod odata;
mod pacing;
mod retry;
mod token;
mod upsert;

pub use batch::{BatchAnswer, BatchRequest, BatchResults, MAX_BATCH};
pub use client::{ClientConfig, GraphClient};
pub use cloud::{Cloud, Endpoints};
pub use credentials::{CertificateCredential, Credential};
pub use delta::DeltaRound;
pub use error::{ApiError, GraphError, LinkRefusal, TokenFailure, TransportKind};
pub use members::MAX_BIND;
pub use metrics::MetricsSnapshot;
pub use objects::Kind;
pub use odata::{MAX_PAGE, Object, Page, eq as odata_eq, quote as odata_quote};
pub use pacing::{Pacer, PacingConfig};
pub use reqwest::Method;
pub use retry::{MAX_RETRY_AFTER, RetryPolicy, parse_retry_after};
pub use upsert::GroupUpsert;
