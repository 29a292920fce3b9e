//! The Entra ID target of the sync engine: implements [`engine::Target`] over the
//! `msgraph` client, and is the only place where Graph's errors are classified into the
//! engine's kinds (design.md §5).
//!
//! ```no_run
//! # async fn demo() -> Result<(), msgraph::GraphError> {
//! use msgraph::{ClientConfig, Cloud, Credential, Endpoints, GraphClient};
//! let graph = GraphClient::new(ClientConfig::new(
//!     Endpoints::for_cloud(Cloud::Global),
//!     "contoso.onmicrosoft.com",
//!     "00000000-0000-0000-0000-000000000000",
//!     Credential::secret("…"),
//! ))?;
//! let target = entra::EntraTarget::new(graph);
//! # Ok(()) }
//! ```
//!
//! Modules: `target` (the port), `bulk` (batched creates), `classify` (errors), `domains`
//! (verified-domain check), `anchors` (lookups and unknown-outcome resolution).

mod anchors;
mod bulk;
mod classify;
mod domains;
mod target;

pub use classify::{REQUIRED_PERMISSIONS, classify, is_already_member, is_conflict, is_not_member};
pub use target::EntraTarget;
