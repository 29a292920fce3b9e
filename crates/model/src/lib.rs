//! Domain types of the entrasync directory: users, groups, memberships and the change records
//! that every directory write leaves behind.
//!
//! This crate knows nothing of SQL, HTTP, Microsoft Graph or async runtimes. Every type that
//! carries user input validates it on construction (and on deserialisation), so a value of one of
//! these types is always valid.

/// `as_str`, `Display` and `FromStr` for a fieldless enum stored and shown as text.
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

mod attributes;
mod change;
mod email;
mod error;
mod group;
mod ids;
mod import;
mod mapping_kind;
mod names;
mod patch;
mod property_mapping;
mod provider;
mod report;
mod run;
mod user;

pub use attributes::Attributes;
pub use change::{ChangeOp, ChangeRecord, ObjectKind};
pub use email::Email;
pub use error::ValidationError;
pub use group::{Group, GroupPatch, NewGroup};
pub use ids::{GroupId, MappingId, ProviderId, RunId, UserId};
pub use import::{ImportRecord, MembershipRef};
pub use mapping_kind::MappingKind;
pub use names::{GroupName, Username, username_key};
pub use patch::double_option;
pub use property_mapping::{
    MAX_EXPRESSION_BYTES, NewPropertyMapping, PropertyMapping, PropertyMappingPatch,
    check_plain_name,
};
pub use provider::{
    Cloud, CredentialKind, DEFAULT_DELETE_THRESHOLD, DEFAULT_DELETE_WINDOW_MINUTES,
    GroupDeleteAction, GroupScope, MAX_DELETE_WINDOW_MINUTES, Provider, ProviderSettings, Schedule,
    UserDeleteAction, UserScope,
};
pub use report::{DiscoveryCounts, HeldDeletes, MemberCounts, OutcomeKind, RemoteKind, RunReport};
pub use run::{Run, RunStatus, Trigger};
pub use user::{NewUser, User, UserKind, UserPatch};

/// A membership: `user` is a direct member of `group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Membership {
    pub group_id: GroupId,
    pub user_id: UserId,
}
