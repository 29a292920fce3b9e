use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ValidationError;

/// Free-form attributes of a user or group: always a JSON object (never an array or a scalar),
/// so that mappings can read `user.attributes.department` without guessing its shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = Object))]
pub struct Attributes(Map<String, Value>);

impl Attributes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts any JSON value that is an object without NUL characters (which databases
    /// cannot store in text).
    pub fn from_value(value: Value) -> Result<Self, ValidationError> {
        match value {
            Value::Object(map) => Self::try_from(map),
            other => Err(ValidationError::new(
                "attributes",
                format!(
                    "attributes must be a JSON object, not {}",
                    json_kind(&other)
                ),
            )),
        }
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

impl TryFrom<Map<String, Value>> for Attributes {
    type Error = ValidationError;
    fn try_from(map: Map<String, Value>) -> Result<Self, Self::Error> {
        if map
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value))
        {
            return Err(ValidationError::new(
                "attributes",
                "attributes must not contain NUL characters",
            ));
        }
        Ok(Self(map))
    }
}

impl From<Attributes> for Map<String, Value> {
    fn from(attributes: Attributes) -> Self {
        attributes.0
    }
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_objects_without_nul_are_attributes() {
        assert!(Attributes::from_value(serde_json::json!({"a": {"b": [1, "x"]}})).is_ok());
        assert!(Attributes::from_value(serde_json::json!([1])).is_err());
        assert!(Attributes::from_value(serde_json::json!({"a": ["x\u{0}"]})).is_err());
        let err = serde_json::from_str::<Attributes>(r#"{"k\u0000": 1}"#).expect_err("NUL key");
        assert!(err.to_string().contains("NUL"), "{err}");
    }
}
