//! Graph's own v1.0 schema for the directory types (`csdl/graph-v1.0-directory.json`, derived
//! from Microsoft's metadata by `cargo run -p xtask --bin csdl-fixture`): which properties a
//! `user`, a `group`, a `directoryObject` and an `organization` have and of what type. The
//! emulator declares exactly these properties, refuses a write naming any other or giving a
//! value of the wrong JSON type, as Graph does; tests check its answers against it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value};

const FIXTURE: &str = include_str!("../csdl/graph-v1.0-directory.json");

/// One entity or complex type: its base, its properties and navigation properties by name.
#[derive(Debug, Deserialize)]
pub struct TypeDef {
    pub base: Option<String>,
    pub properties: BTreeMap<String, String>,
    pub navigation: BTreeMap<String, String>,
}

/// The compact schema.
#[derive(Debug, Deserialize)]
pub struct GraphSchema {
    pub entities: BTreeMap<String, TypeDef>,
    pub complex: BTreeMap<String, TypeDef>,
    pub enums: BTreeMap<String, Vec<String>>,
}

static SCHEMA: LazyLock<GraphSchema> = LazyLock::new(|| {
    // The fixture is ours and checked by a test; an unreadable one is a build mistake.
    #[allow(clippy::expect_used)]
    serde_json::from_str(FIXTURE).expect("csdl/graph-v1.0-directory.json is a schema")
});

/// Graph v1.0's schema of the directory types.
pub fn v1() -> &'static GraphSchema {
    &SCHEMA
}

/// `graph.x` → `x`; `Collection(T)` → `(T, true)`.
fn unwrap(type_name: &str) -> (&str, bool) {
    let (inner, collection) = match type_name
        .strip_prefix("Collection(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        Some(inner) => (inner, true),
        None => (type_name, false),
    };
    (inner.strip_prefix("graph.").unwrap_or(inner), collection)
}

impl GraphSchema {
    fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.entities.get(name).or_else(|| self.complex.get(name))
    }

    /// The type of property `name` of type `owner`, looked up through its base types.
    pub fn property(&self, owner: &str, name: &str) -> Option<&str> {
        let mut current = self.type_def(owner);
        while let Some(ty) = current {
            if let Some(found) = ty.properties.get(name) {
                return Some(found);
            }
            current = ty.base.as_deref().and_then(|base| self.type_def(base));
        }
        None
    }

    /// Whether `owner` has a navigation property `name` (what `name@odata.bind` binds).
    pub fn navigation(&self, owner: &str, name: &str) -> bool {
        let mut current = self.type_def(owner);
        while let Some(ty) = current {
            if ty.navigation.contains_key(name) {
                return true;
            }
            current = ty.base.as_deref().and_then(|base| self.type_def(base));
        }
        false
    }

    /// Why `value` is not a value of the CSDL type `type_name`, if it is not (`null` is any
    /// type's value here: nullability is the resource's own rule).
    pub fn mismatch(&self, type_name: &str, value: &Value) -> Option<String> {
        if value.is_null() {
            return None;
        }
        let (inner, collection) = unwrap(type_name);
        if collection {
            let Value::Array(items) = value else {
                return Some(format!("expected a list of {inner}"));
            };
            return items.iter().find_map(|item| self.mismatch(inner, item));
        }
        let fits = match inner {
            "Edm.String" | "Edm.Guid" | "Edm.DateTimeOffset" | "Edm.Date" | "Edm.Duration"
            | "Edm.TimeOfDay" | "Edm.Binary" => value.is_string(),
            "Edm.Boolean" => value.is_boolean(),
            "Edm.Int16" | "Edm.Int32" | "Edm.Int64" | "Edm.Byte" | "Edm.SByte" | "Edm.Double"
            | "Edm.Single" | "Edm.Decimal" => value.is_number(),
            "Edm.Stream" => true,
            other => {
                if let Some(members) = self.enums.get(other) {
                    return match value.as_str() {
                        Some(member) if members.iter().any(|m| m == member) => None,
                        _ => Some(format!("expected one of the {other} values")),
                    };
                }
                if self.complex.contains_key(other) {
                    let Value::Object(fields) = value else {
                        return Some(format!("expected a {other} object"));
                    };
                    return self.object_mismatch(other, fields).map(|(_, why)| why);
                }
                // A type outside the compact schema (another namespace): not checked.
                true
            }
        };
        (!fits).then(|| format!("expected {inner}"))
    }

    /// The first property of `fields` that `owner` does not declare or whose value does not
    /// fit its type: its name and why. Annotations (`@odata.type`, `members@odata.bind`) and
    /// directory extensions (`extension_{app}_{name}`, registered per tenant) are skipped.
    pub fn object_mismatch(
        &self,
        owner: &str,
        fields: &Map<String, Value>,
    ) -> Option<(String, String)> {
        fields.iter().find_map(|(name, value)| {
            if name.contains('@') || name.starts_with("extension_") {
                return None;
            }
            match self.property(owner, name) {
                None => Some((name.clone(), format!("{owner} has no property {name}"))),
                Some(kind) => self
                    .mismatch(kind, value)
                    .map(|why| (name.clone(), format!("{owner}.{name}: {why}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_schema_has_the_directory_types_and_their_bases() {
        let schema = v1();
        for entity in ["user", "group", "directoryObject", "organization", "entity"] {
            assert!(schema.entities.contains_key(entity), "{entity}");
        }
        assert_eq!(
            schema.property("user", "accountEnabled"),
            Some("Edm.Boolean")
        );
        assert_eq!(
            schema.property("user", "id"),
            Some("Edm.String"),
            "from entity"
        );
        assert_eq!(
            schema.property("group", "groupTypes"),
            Some("Collection(Edm.String)")
        );
        assert!(schema.property("user", "favouriteColour").is_none());
        assert!(schema.navigation("group", "members"));
        assert!(schema.navigation("group", "owners"));
    }

    #[test]
    fn values_are_checked_by_their_type() {
        let schema = v1();
        let user =
            |value: Value| schema.object_mismatch("user", value.as_object().expect("an object"));
        assert_eq!(
            user(json!({"accountEnabled": true, "displayName": "Ann", "businessPhones": []})),
            None
        );
        assert!(user(json!({"accountEnabled": "yes"})).is_some());
        assert!(user(json!({"businessPhones": "555"})).is_some());
        assert!(user(json!({"passwordProfile": {"password": 7}})).is_some());
        assert_eq!(
            user(
                json!({"passwordProfile": {"password": "x", "forceChangePasswordNextSignIn": true}})
            ),
            None
        );
        assert!(user(json!({"shoeSize": 44})).is_some());
        assert_eq!(user(json!({"@odata.type": "#microsoft.graph.user"})), None);
    }
}
