//! What a mapping sees: the directory object (`user` or `group`), the `provider`, and the `link`.
//! This module turns our model types into the rhai values an expression reads.

use std::fmt;

use rhai::{Dynamic, Map};
use serde::{Deserialize, Serialize};

use crate::convert::{object_to_map, to_dynamic};

pub use model::MappingKind;

/// A user to map, with what the mapping may read beyond the `User` row itself.
#[derive(Debug, Clone, Copy)]
pub struct UserInput<'a> {
    pub user: &'a model::User,
    /// Names of the groups the user is a direct member of (`user.groups`).
    pub group_names: &'a [String],
}

/// A group to map (`group.member_count` is its number of direct members).
#[derive(Debug, Clone, Copy)]
pub struct GroupInput<'a> {
    pub group: &'a model::Group,
    pub member_count: u64,
}

/// Either kind of object, for the "try it" functions that take whichever the admin picked.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    User(UserInput<'a>),
    Group(GroupInput<'a>),
}

/// The `provider` an expression sees: its name plus its settings, converted to a rhai value once
/// per sync rather than once per object.
///
/// The settings' top-level keys become `provider.<key>` (as authentik's `provider.<field>`), and
/// `provider.name` is always the name. Never pass credentials: an expression can read every key.
#[derive(Debug, Clone)]
pub struct ProviderContext {
    value: Dynamic,
}

impl ProviderContext {
    pub fn new(name: &str, settings: &serde_json::Value) -> Self {
        let mut map = match settings {
            serde_json::Value::Object(settings) => object_to_map(settings),
            serde_json::Value::Null => Map::new(),
            other => {
                let mut map = Map::new();
                map.insert("settings".into(), to_dynamic(other));
                map
            }
        };
        map.insert("name".into(), name.into());
        Self {
            value: Dynamic::from_map(map),
        }
    }

    pub(crate) fn value(&self) -> &Dynamic {
        &self.value
    }
}

/// Everything besides the object: the provider, and the remote object's last known attributes
/// (`None` when the object is being created, which the expression sees as `link == ()`).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub provider: &'a ProviderContext,
    pub link: Option<&'a serde_json::Value>,
}

/// Names a directory object in errors and logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectLabel {
    pub kind: MappingKind,
    pub id: String,
    /// The username or group name.
    pub name: String,
}

impl fmt::Display for ObjectLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} ({})", self.kind, self.name, self.id)
    }
}

impl UserInput<'_> {
    pub fn label(&self) -> ObjectLabel {
        ObjectLabel {
            kind: MappingKind::User,
            id: self.user.id.to_string(),
            name: self.user.username.as_str().to_owned(),
        }
    }

    /// `user` as a rhai map. Built by hand: it is on the hot path of every evaluation, and every
    /// field is spelt as in our API so admins see the same names everywhere.
    pub(crate) fn to_dynamic(self) -> Dynamic {
        let user = self.user;
        let email = user
            .email
            .as_ref()
            .map_or(Dynamic::UNIT, |email| email.as_str().into());
        let groups = self
            .group_names
            .iter()
            .map(|name| name.as_str().into())
            .collect();
        // Built from an array: one sort and a bulk build instead of ten searching inserts.
        let map = Map::from([
            ("id".into(), user.id.to_string().into()),
            ("username".into(), user.username.as_str().into()),
            ("name".into(), user.name.as_str().into()),
            ("email".into(), email),
            ("is_active".into(), user.is_active.into()),
            ("kind".into(), user.kind.as_str().into()),
            ("attributes".into(), attributes(&user.attributes)),
            ("groups".into(), Dynamic::from_array(groups)),
            ("created_at".into(), timestamp(user.created_at)),
            ("updated_at".into(), timestamp(user.updated_at)),
        ]);
        Dynamic::from_map(map)
    }
}

impl GroupInput<'_> {
    pub fn label(&self) -> ObjectLabel {
        ObjectLabel {
            kind: MappingKind::Group,
            id: self.group.id.to_string(),
            name: self.group.name.as_str().to_owned(),
        }
    }

    pub(crate) fn to_dynamic(self) -> Dynamic {
        let group = self.group;
        // Saturates rather than wraps: no directory has 2^63 members, but input must not panic.
        let count = i64::try_from(self.member_count).unwrap_or(i64::MAX);
        let map = Map::from([
            ("id".into(), group.id.to_string().into()),
            ("name".into(), group.name.as_str().into()),
            ("attributes".into(), attributes(&group.attributes)),
            ("member_count".into(), Dynamic::from_int(count)),
            ("created_at".into(), timestamp(group.created_at)),
            ("updated_at".into(), timestamp(group.updated_at)),
        ]);
        Dynamic::from_map(map)
    }
}

fn attributes(attributes: &model::Attributes) -> Dynamic {
    Dynamic::from_map(object_to_map(attributes.as_map()))
}

/// RFC 3339 with the `+00:00` offset, as our API prints timestamps; `format_date` reads it.
fn timestamp(at: chrono::DateTime<chrono::Utc>) -> Dynamic {
    at.to_rfc3339().into()
}

impl Subject<'_> {
    pub fn kind(&self) -> MappingKind {
        match self {
            Subject::User(_) => MappingKind::User,
            Subject::Group(_) => MappingKind::Group,
        }
    }

    pub fn label(&self) -> ObjectLabel {
        match self {
            Subject::User(user) => user.label(),
            Subject::Group(group) => group.label(),
        }
    }
}
