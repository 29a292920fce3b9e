use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Which kind of directory object a property mapping maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MappingKind {
    User,
    Group,
}

impl MappingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MappingKind::User => "user",
            MappingKind::Group => "group",
        }
    }
}

impl fmt::Display for MappingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MappingKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(MappingKind::User),
            "group" => Ok(MappingKind::Group),
            other => Err(ValidationError::new(
                "kind",
                format!("unknown mapping kind {other:?}; expected user or group"),
            )),
        }
    }
}
