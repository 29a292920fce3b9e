use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{MappingId, MappingKind, ValidationError};

const MAX_MAPPING_NAME_CHARS: usize = 256;
/// Mappings are short scripts; this bounds what one may store.
pub const MAX_EXPRESSION_BYTES: usize = 64 * 1024;

/// A stored property mapping: an admin-written expression that turns a user or group into
/// Graph properties. Its expression compiled when it was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertyMapping {
    pub id: MappingId,
    /// Unique (regardless of case).
    pub name: String,
    pub kind: MappingKind,
    pub expression: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A mapping to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPropertyMapping {
    pub name: String,
    pub kind: MappingKind,
    pub expression: String,
}

/// A partial update of a mapping; its kind cannot change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertyMappingPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

impl NewPropertyMapping {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_plain_name(&self.name)?;
        check_expression(&self.expression)
    }
}

impl PropertyMappingPatch {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(name) = &self.name {
            check_plain_name(name)?;
        }
        if let Some(expression) = &self.expression {
            check_expression(expression)?;
        }
        Ok(())
    }

    /// Applies the patch; returns whether anything changed.
    pub fn apply(self, mapping: &mut PropertyMapping) -> bool {
        let before = mapping.clone();
        if let Some(name) = self.name {
            mapping.name = name;
        }
        if let Some(expression) = self.expression {
            mapping.expression = expression;
        }
        *mapping != before
    }
}

/// The rules for the name of a mapping or provider: not blank, no surrounding white space, no
/// control characters, at most 256 characters.
pub fn check_plain_name(name: &str) -> Result<(), ValidationError> {
    if name.trim().is_empty() {
        return Err(ValidationError::new("name", "name must not be empty"));
    }
    if name.trim() != name {
        return Err(ValidationError::new(
            "name",
            "name must not start or end with white space",
        ));
    }
    if name.chars().count() > MAX_MAPPING_NAME_CHARS {
        return Err(ValidationError::new(
            "name",
            format!("name must be at most {MAX_MAPPING_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "name",
            "name must not contain control characters",
        ));
    }
    Ok(())
}

fn check_expression(expression: &str) -> Result<(), ValidationError> {
    if expression.len() > MAX_EXPRESSION_BYTES {
        return Err(ValidationError::new(
            "expression",
            format!("expression must be at most {MAX_EXPRESSION_BYTES} bytes"),
        ));
    }
    if expression.contains('\0') {
        return Err(ValidationError::new(
            "expression",
            "expression must not contain NUL characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_expressions_are_checked() {
        let ok = NewPropertyMapping {
            name: "department".into(),
            kind: MappingKind::User,
            expression: "#{ department: \"x\" }".into(),
        };
        assert!(ok.validate().is_ok());
        let blank = NewPropertyMapping {
            name: " ".into(),
            ..ok.clone()
        };
        assert_eq!(blank.validate().expect_err("blank").field, "name");
        let huge = NewPropertyMapping {
            expression: "x".repeat(MAX_EXPRESSION_BYTES + 1),
            ..ok
        };
        assert_eq!(huge.validate().expect_err("huge").field, "expression");
    }
}
