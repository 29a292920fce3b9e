//! The Entra ID provider's sync engine: discovery, reconciling users and groups (create, adopt,
//! PATCH only what differs, delete actions), and membership (one change, or a whole group in
//! bulk).
//!
//! It reaches everything outside it through its [`ports`]: the [`Directory`] it reads, the
//! [`Links`] (and discovery's snapshot) it keeps, and the [`Target`] it writes. It does no I/O
//! except through them, spawns nothing, and knows nothing of HTTP status codes, OData or SQL:
//! remote failures reach it already classified. Outcomes (created, unchanged, skipped, rejected,
//! planned…) are values; [`SyncError`] is only what stops or defers the work.

pub mod compare;
mod discovery;
mod members;
mod objects;
mod outcome;
pub mod ports;
mod scope;
mod sync;

pub use discovery::{Ambiguity, DiscoveryProgress, DiscoveryReport, match_keys};
pub use members::MembersReport;
pub use objects::redacted;
pub use outcome::{FieldChange, Operation, Outcome, SyncError};
pub use ports::{
    Anchor, Directory, Link, Links, LocalError, MemberChange, Properties, RemoteFailure, RemoteId,
    RemoteKind, RemoteObject, RemotePage, SnapshotEntry, Target, TargetError,
};
pub use scope::{group_in_scope, user_in_scope};
pub use sync::{ProviderMappings, ProviderSync};
