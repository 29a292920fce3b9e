//! The Entra ID provider's sync engine. For now, its ports: the small traits through which it
//! reaches everything outside it ([`ports`]). The engine does no I/O except through them, and
//! knows nothing of HTTP status codes, OData, SQL or task spawning.

pub mod ports;

pub use ports::{
    Anchor, Directory, Link, Links, LocalError, MemberChange, Properties, RemoteFailure, RemoteId,
    RemoteKind, RemoteObject, RemotePage, SnapshotEntry, Target, TargetError,
};
