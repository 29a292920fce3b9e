use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Attributes, Email, UserId, Username, ValidationError, double_option};

/// What sort of account a user is. Providers can leave the two service kinds out of scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UserKind {
    #[default]
    Internal,
    External,
    ServiceAccount,
    InternalServiceAccount,
}

impl UserKind {
    pub const ALL: [UserKind; 4] = [
        UserKind::Internal,
        UserKind::External,
        UserKind::ServiceAccount,
        UserKind::InternalServiceAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Internal => "internal",
            UserKind::External => "external",
            UserKind::ServiceAccount => "service_account",
            UserKind::InternalServiceAccount => "internal_service_account",
        }
    }

    /// Service accounts (of either kind) are what "exclude service accounts" leaves out.
    pub fn is_service_account(self) -> bool {
        matches!(
            self,
            UserKind::ServiceAccount | UserKind::InternalServiceAccount
        )
    }
}

impl fmt::Display for UserKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UserKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "kind",
                    format!(
                        "unknown kind {s:?}; expected one of internal, external, service_account, internal_service_account"
                    ),
                )
            })
    }
}

/// A directory user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub username: Username,
    /// The display name.
    pub name: String,
    pub email: Option<Email>,
    pub is_active: bool,
    pub kind: UserKind,
    pub attributes: Attributes,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user to create. Absent optional fields take their defaults: the display name is the
/// username, the user is active, internal, with no attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUser {
    pub username: Username,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default = "default_true")]
    pub is_active: bool,
    #[serde(default)]
    pub kind: UserKind,
    #[serde(default)]
    pub attributes: Attributes,
}

fn default_true() -> bool {
    true
}

impl NewUser {
    pub fn new(username: Username) -> Self {
        Self {
            username,
            name: None,
            email: None,
            is_active: true,
            kind: UserKind::Internal,
            attributes: Attributes::new(),
        }
    }

    /// The display name the user will have: the given one, or the username.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.username.as_str().to_owned())
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(name) = &self.name {
            check_display_name(name)?;
        }
        Ok(())
    }
}

/// A partial update of a user: absent fields stay as they are; `email: null` clears the email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Username>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = "email"))]
    pub email: Option<Option<Email>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<UserKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
}

impl UserPatch {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(name) = &self.name {
            check_display_name(name)?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Applies the patch; returns whether anything changed.
    pub fn apply(self, user: &mut User) -> bool {
        let before = user.clone();
        if let Some(username) = self.username {
            user.username = username;
        }
        if let Some(name) = self.name {
            user.name = name;
        }
        if let Some(email) = self.email {
            user.email = email;
        }
        if let Some(is_active) = self.is_active {
            user.is_active = is_active;
        }
        if let Some(kind) = self.kind {
            user.kind = kind;
        }
        if let Some(attributes) = self.attributes {
            user.attributes = attributes;
        }
        *user != before
    }
}

const MAX_DISPLAY_NAME_CHARS: usize = 256;

fn check_display_name(name: &str) -> Result<(), ValidationError> {
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(ValidationError::new(
            "name",
            format!("name must be at most {MAX_DISPLAY_NAME_CHARS} characters"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_user_defaults() {
        let user: NewUser = serde_json::from_str(r#"{"username":"alice"}"#).expect("parses");
        assert!(user.is_active);
        assert_eq!(user.kind, UserKind::Internal);
        assert_eq!(user.display_name(), "alice");
        assert!(user.email.is_none());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<NewUser>(r#"{"username":"a","nmae":"x"}"#)
            .expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `nmae`"), "{err}");
    }

    #[test]
    fn patch_distinguishes_absent_null_and_value() {
        let absent: UserPatch = serde_json::from_str("{}").expect("parses");
        assert_eq!(absent.email, None);
        let null: UserPatch = serde_json::from_str(r#"{"email":null}"#).expect("parses");
        assert_eq!(null.email, Some(None));
        let set: UserPatch = serde_json::from_str(r#"{"email":"a@b.example"}"#).expect("parses");
        assert!(matches!(set.email, Some(Some(_))));
    }

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in UserKind::ALL {
            assert_eq!(kind.as_str().parse::<UserKind>().expect("known"), kind);
        }
        assert!("admin".parse::<UserKind>().is_err());
        assert!(UserKind::ServiceAccount.is_service_account());
        assert!(!UserKind::External.is_service_account());
    }
}
