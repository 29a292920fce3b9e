use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Attributes, GroupId, GroupName};

/// A directory group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub id: GroupId,
    pub name: GroupName,
    pub attributes: Attributes,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A group to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewGroup {
    pub name: GroupName,
    #[serde(default)]
    pub attributes: Attributes,
}

impl NewGroup {
    pub fn new(name: GroupName) -> Self {
        Self {
            name,
            attributes: Attributes::new(),
        }
    }
}

/// A partial update of a group: absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<GroupName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
}

impl GroupPatch {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Applies the patch; returns whether anything changed.
    pub fn apply(self, group: &mut Group) -> bool {
        let before = group.clone();
        if let Some(name) = self.name {
            group.name = name;
        }
        if let Some(attributes) = self.attributes {
            group.attributes = attributes;
        }
        *group != before
    }
}
