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

macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(concat!("unknown ", stringify!($name), " {:?}"), other)),
                }
            }
        }
    };
}

text_enum!(ObjectKind { User => "user", Group => "group", Membership => "membership" });
text_enum!(ChangeOp { Create => "create", Update => "update", Delete => "delete", Add => "add", Remove => "remove" });
