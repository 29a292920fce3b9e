//! SCIM errors as RFC 7644 §3.12 describes them: an HTTP status, an optional `scimType`
//! keyword and a human-readable detail.

use serde_json::{Map, Value};

use crate::ERROR_SCHEMA;

/// The `scimType` keywords of RFC 7644 §3.12, table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The keyword exactly as the RFC spells it, for the `scimType` member.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error, ready to be rendered with [`ScimError::to_json`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::new(400, Some(scim_type), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidPath, detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::NoTarget, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::Mutability, detail)
    }

    pub fn too_many(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::TooMany, detail)
    }

    /// 409: the RFC gives `uniqueness` its own status (§3.3, §3.12).
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::new(409, Some(ScimType::Uniqueness), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(404, None, detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        ScimError::new(412, None, detail)
    }

    /// The RFC 7644 §3.12 body. The status is a string there, not a number.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("schemas".into(), Value::from(vec![ERROR_SCHEMA]));
        body.insert("status".into(), Value::from(self.status.to_string()));
        if let Some(scim_type) = self.scim_type {
            body.insert("scimType".into(), Value::from(scim_type.as_str()));
        }
        body.insert("detail".into(), Value::from(self.detail.clone()));
        Value::Object(body)
    }
}
