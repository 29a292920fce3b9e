use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

const MAX_USERNAME_CHARS: usize = 150;
const MAX_GROUP_NAME_CHARS: usize = 256;

fn check_name(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.trim() != value {
        return Err(ValidationError::new(
            field,
            format!("{field} must not start or end with white space"),
        ));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

/// A username: unique in the directory regardless of case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "alice"))]
pub struct Username(String);

impl Username {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        check_name("username", &value, MAX_USERNAME_CHARS)?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form under which uniqueness is enforced: `Alice` and `alice` are the same user.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

/// The case-folded form of a username, as stored for the uniqueness check and lookups.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// A group name: unique in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "Engineering"))]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        check_name("name", &value, MAX_GROUP_NAME_CHARS)?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_conversions!(Username);
string_conversions!(GroupName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_unique_regardless_of_case() {
        let a = Username::parse("Alice").expect("valid");
        let b = Username::parse("aLICE").expect("valid");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Alice");
    }

    #[test]
    fn bad_names_are_refused_with_the_field() {
        for bad in ["", "   ", " alice", "bob ", "a\u{0}b"] {
            let err = Username::parse(bad).expect_err(bad);
            assert_eq!(err.field, "username");
        }
        let long = "x".repeat(151);
        assert!(Username::parse(long).is_err());
        assert!(Username::parse("x".repeat(150)).is_ok());
        assert_eq!(GroupName::parse("").expect_err("empty").field, "name");
    }
}
