//! The Entra ID provider's sync engine: what a sync does, decided and applied.
//!
//! ```text
//! item ──planner (reads only)──▶ ItemPlan { operations } ──executor──▶ Outcome
//!                                      └── a dry run keeps the plan, applies nothing
//! ```
//!
//! The [`planner`] gathers the facts about one item (directory object, scope, link, what
//! Entra was seen to hold, the mapped document) and the pure [`decide`] functions turn them
//! into typed [`Operation`]s; the [`apply`] executor performs them. A [`full_sync`] is
//! discovery, accidental-delete [`protection`], every item through the work queue, then the
//! members; its dry run plans the same items.
//!
//! It reaches everything outside it through its [`ports`], does no I/O except through them,
//! spawns nothing, and knows nothing of HTTP status codes, OData or SQL: remote failures reach
//! it already classified. Outcomes are values; [`SyncError`] is only what stops or defers work.

pub mod apply;
pub mod compare;
pub mod decide;
mod discovery;
pub mod full_sync;
mod local;
mod outcome;
pub mod plan;
pub mod planner;
pub mod ports;
pub mod protection;
mod record;
mod remote;
mod scope;
mod sync;
pub mod visit;

pub use apply::{Applied, Executor};
pub use discovery::{DiscoveryProgress, discover, match_keys};
pub use full_sync::{Observer, Quiet, dry_run, full_sync};
pub use local::{
    Item, Link, LocalError, NewLink, Reservation, Snapshot, SnapshotEntry, SnapshotId,
    SnapshotPurpose,
};
pub use outcome::{Outcome, SyncError};
pub use plan::{
    Document, FieldChange, ItemPlan, Operation, PlanItem, PlanSubject, Planned, RemoteRef, Step,
};
pub use planner::{NothingPlanned, PlannedRemotes, Planner, REPLICATION_GRACE};
pub use ports::{
    DeleteRequest, Directory, Evaluator, Fence, Links, LinksRead, Plans, Protection, Snapshots,
    Tally, Target, TargetRead, Unfenced, WorkQueue,
};
pub use protection::{ApprovalError, approve, leaving_page, protect, reject};
pub use record::{Exchange, Recorder};
pub use remote::{
    Anchor, CreateKey, MemberChange, Properties, RemoteFailure, RemoteId, RemoteKind, RemoteObject,
    RemotePage, TargetError,
};
pub use scope::{group_in_scope, user_in_scope};
pub use sync::{InlineEvaluator, ProviderMappings, ProviderSync};
