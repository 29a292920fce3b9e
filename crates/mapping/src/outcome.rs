//! What mapping one object gives when nothing went wrong. Skipping and "no mappings" are
//! expected outcomes, so they are values (design.md §7.4), not errors.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The merged, validated output of a provider's mappings for one object: the Graph JSON we want
/// the remote object to have, property names exactly as Graph spells them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = Object))]
pub struct Document(Map<String, Value>);

impl Document {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Self(map)
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn get(&self, property: &str) -> Option<&Value> {
        self.0.get(property)
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// The outcome of mapping one object. (For a JSON form, see [`crate::TryReport`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// Sync the object with this document.
    Document(Document),
    /// A mapping called `skip()`: leave the object out of the sync.
    Skip {
        /// The mapping that skipped.
        mapping: String,
        /// The reason it gave, if any (`skip("service account")`).
        reason: Option<String>,
    },
    /// The mappings produced nothing (or there are none): the object is not synced.
    NoMappings,
}

impl Mapped {
    /// The document, when the object is to be synced.
    pub fn document(&self) -> Option<&Document> {
        match self {
            Mapped::Document(document) => Some(document),
            _ => None,
        }
    }
}
