use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ValidationError;

/// Free-form attributes of a user or group: always a JSON object (never an array or a scalar),
/// so that mappings can read `user.attributes.department` without guessing its shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = Object))]
pub struct Attributes(Map<String, Value>);

impl Attributes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts any JSON value that is an object.
    pub fn from_value(value: Value) -> Result<Self, ValidationError> {
        match value {
            Value::Object(map) => Ok(Self(map)),
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

impl From<Map<String, Value>> for Attributes {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
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
