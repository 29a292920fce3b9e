use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which kind of directory object a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ObjectKind {
    User,
    Group,
    Membership,
}

/// What happened to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
    /// A member was added (object = the group, subject = the user).
    Add,
    /// A member was removed (object = the group, subject = the user).
    Remove,
}

/// One entry of the directory's change log (the outbox): written in the same transaction as the
/// change it describes, numbered by a sequence that grows in commit order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeRecord {
    pub seq: i64,
    pub kind: ObjectKind,
    pub op: ChangeOp,
    /// The user or group changed; for a membership, the group.
    pub object_id: Uuid,
    /// For a membership, the user added or removed.
    pub subject_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

text_enum!(ObjectKind { User => "user", Group => "group", Membership => "membership" });
text_enum!(ChangeOp { Create => "create", Update => "update", Delete => "delete", Add => "add", Remove => "remove" });
