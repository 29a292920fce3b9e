//! The Graph v1.0 user and group properties a mapping may set, with their JSON types, and the
//! check of a document against them. authentik only found out at `MSUser(**dict)` time, with a
//! Python `TypeError`; we name the mapping and the property before any request is made.
//!
//! The table lists the properties Graph lets an application write on create or update; read-only
//! ones (`id`, `proxyAddresses`, `createdDateTime`, …) are unknown on purpose, since sending them
//! fails. Membership (`members@odata.bind`) is the engine's business, not a mapping's.

use std::fmt;

use serde_json::{Map, Value};

use crate::MappingKind;

/// The JSON shape Graph expects for a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Boolean,
    StringList,
    Object(&'static [Property]),
    ObjectList(&'static [Property]),
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonType::String => "a string",
            JsonType::Boolean => "a boolean",
            JsonType::StringList => "a list of strings",
            JsonType::Object(_) => "an object",
            JsonType::ObjectList(_) => "a list of objects",
        })
    }
}

/// One Graph property: its name as Graph's JSON spells it, its type, and whether `null` (clear
/// it) is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    pub name: &'static str,
    pub json_type: JsonType,
    pub nullable: bool,
}

const fn required(name: &'static str, json_type: JsonType) -> Property {
    Property {
        name,
        json_type,
        nullable: false,
    }
}

const fn optional(name: &'static str, json_type: JsonType) -> Property {
    Property {
        name,
        json_type,
        nullable: true,
    }
}

use JsonType::{Boolean, Object, ObjectList, String as Text, StringList};

// Every table is sorted by name, for binary search; a test checks it.

const PASSWORD_PROFILE: &[Property] = &[
    optional("forceChangePasswordNextSignIn", Boolean),
    optional("forceChangePasswordNextSignInWithMfa", Boolean),
    required("password", Text),
];

const OBJECT_IDENTITY: &[Property] = &[
    required("issuer", Text),
    required("issuerAssignedId", Text),
    required("signInType", Text),
];

const EMPLOYEE_ORG_DATA: &[Property] = &[optional("costCenter", Text), optional("division", Text)];

const ON_PREMISES_EXTENSION_ATTRIBUTES: &[Property] = &[
    optional("extensionAttribute1", Text),
    optional("extensionAttribute10", Text),
    optional("extensionAttribute11", Text),
    optional("extensionAttribute12", Text),
    optional("extensionAttribute13", Text),
    optional("extensionAttribute14", Text),
    optional("extensionAttribute15", Text),
    optional("extensionAttribute2", Text),
    optional("extensionAttribute3", Text),
    optional("extensionAttribute4", Text),
    optional("extensionAttribute5", Text),
    optional("extensionAttribute6", Text),
    optional("extensionAttribute7", Text),
    optional("extensionAttribute8", Text),
    optional("extensionAttribute9", Text),
];

/// Writable properties of a Graph `user`, sorted by name (looked up by binary search).
pub const USER_PROPERTIES: &[Property] = &[
    optional("aboutMe", Text),
    required("accountEnabled", Boolean),
    optional("ageGroup", Text),
    optional("birthday", Text),
    optional("businessPhones", StringList),
    optional("city", Text),
    optional("companyName", Text),
    optional("consentProvidedForMinor", Text),
    optional("country", Text),
    optional("department", Text),
    required("displayName", Text),
    optional("employeeHireDate", Text),
    optional("employeeId", Text),
    optional("employeeLeaveDateTime", Text),
    optional("employeeOrgData", Object(EMPLOYEE_ORG_DATA)),
    optional("employeeType", Text),
    optional("faxNumber", Text),
    optional("givenName", Text),
    optional("hireDate", Text),
    optional("identities", ObjectList(OBJECT_IDENTITY)),
    optional("interests", StringList),
    optional("jobTitle", Text),
    optional("mail", Text),
    required("mailNickname", Text),
    optional("mobilePhone", Text),
    optional("mySite", Text),
    optional("officeLocation", Text),
    optional(
        "onPremisesExtensionAttributes",
        Object(ON_PREMISES_EXTENSION_ATTRIBUTES),
    ),
    optional("onPremisesImmutableId", Text),
    optional("otherMails", StringList),
    optional("passwordPolicies", Text),
    required("passwordProfile", Object(PASSWORD_PROFILE)),
    optional("pastProjects", StringList),
    optional("postalCode", Text),
    optional("preferredDataLocation", Text),
    optional("preferredLanguage", Text),
    optional("preferredName", Text),
    optional("responsibilities", StringList),
    optional("schools", StringList),
    optional("skills", StringList),
    optional("state", Text),
    optional("streetAddress", Text),
    optional("surname", Text),
    optional("usageLocation", Text),
    required("userPrincipalName", Text),
    optional("userType", Text),
];

/// Writable properties of a Graph `group`, sorted by name (looked up by binary search).
pub const GROUP_PROPERTIES: &[Property] = &[
    optional("classification", Text),
    optional("description", Text),
    required("displayName", Text),
    optional("groupTypes", StringList),
    optional("isAssignableToRole", Boolean),
    required("mailEnabled", Boolean),
    required("mailNickname", Text),
    optional("membershipRule", Text),
    optional("membershipRuleProcessingState", Text),
    optional("preferredDataLocation", Text),
    optional("preferredLanguage", Text),
    optional("resourceBehaviorOptions", StringList),
    optional("resourceProvisioningOptions", StringList),
    required("securityEnabled", Boolean),
    optional("theme", Text),
    optional("uniqueName", Text),
    optional("visibility", Text),
];

/// The properties of one kind of object.
pub fn properties(kind: MappingKind) -> &'static [Property] {
    match kind {
        MappingKind::User => USER_PROPERTIES,
        MappingKind::Group => GROUP_PROPERTIES,
    }
}

/// A property Graph does not have, or a value of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property {property:?} {problem}")]
pub struct PropertyError {
    /// Dotted path, e.g. `passwordProfile.password` or `identities[0].issuer`.
    pub property: String,
    pub problem: String,
}

/// Checks a document (or one mapping's share of it) against the table for `kind`.
pub fn validate(kind: MappingKind, document: &Map<String, Value>) -> Result<(), PropertyError> {
    validate_object(properties(kind), document, "", kind == MappingKind::User)
}

fn validate_object(
    table: &[Property],
    object: &Map<String, Value>,
    prefix: &str,
    allow_extensions: bool,
) -> Result<(), PropertyError> {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match find(table, key) {
            Some(property) => validate_value(property, value, &path)?,
            None if allow_extensions && is_directory_extension(key) => {
                validate_extension(value, &path)?;
            }
            None => {
                return Err(PropertyError {
                    property: path,
                    problem: "is not a writable Graph property (names are case-sensitive, as \
                              Graph's JSON spells them, e.g. displayName)"
                        .to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn find<'t>(table: &'t [Property], name: &str) -> Option<&'t Property> {
    table
        .binary_search_by(|p| p.name.cmp(name))
        .ok()
        .map(|i| &table[i])
}

fn validate_value(property: &Property, value: &Value, path: &str) -> Result<(), PropertyError> {
    let mistyped = || PropertyError {
        property: path.to_owned(),
        problem: format!("must be {}, not {}", property.json_type, describe(value)),
    };
    match (property.json_type, value) {
        (_, Value::Null) if property.nullable => Ok(()),
        (JsonType::String, Value::String(_)) | (JsonType::Boolean, Value::Bool(_)) => Ok(()),
        (JsonType::StringList, Value::Array(items)) => {
            match items.iter().position(|item| !item.is_string()) {
                None => Ok(()),
                Some(index) => Err(PropertyError {
                    property: format!("{path}[{index}]"),
                    problem: format!("must be a string, not {}", describe(&items[index])),
                }),
            }
        }
        (JsonType::Object(table), Value::Object(object)) => {
            validate_object(table, object, path, false)
        }
        (JsonType::ObjectList(table), Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{index}]");
                match item {
                    Value::Object(object) => validate_object(table, object, &item_path, false)?,
                    other => {
                        return Err(PropertyError {
                            property: item_path,
                            problem: format!("must be an object, not {}", describe(other)),
                        });
                    }
                }
            }
            Ok(())
        }
        _ => Err(mistyped()),
    }
}

/// Directory schema extensions registered by an application: `extension_<app id without
/// hyphens>_<name>`. Their types are the tenant's business; any JSON scalar or list of strings.
fn is_directory_extension(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("extension_") else {
        return false;
    };
    let Some((app, name)) = rest.split_once('_') else {
        return false;
    };
    app.len() == 32 && app.chars().all(|c| c.is_ascii_hexdigit()) && !name.is_empty()
}

fn validate_extension(value: &Value, path: &str) -> Result<(), PropertyError> {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => Ok(()),
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
        other => Err(PropertyError {
            property: path.to_owned(),
            problem: format!(
                "is a directory extension and must be a scalar or a list of strings, not {}",
                describe(other)
            ),
        }),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Graph's own v1.0 schema of the directory types, as the emulator holds it (derived from
    /// Microsoft's metadata by `cargo run -p xtask --bin csdl-fixture`).
    const GRAPH_SCHEMA: &str = include_str!("../../graph-emulator/csdl/graph-v1.0-directory.json");

    /// The CSDL type of `owner.name`, through base types; `owner` an entity or complex type.
    fn graph_type(schema: &Value, owner: &str, name: &str) -> Option<String> {
        let mut current = Some(owner.to_owned());
        while let Some(owner) = current {
            let ty = schema["entities"]
                .get(&owner)
                .or_else(|| schema["complex"].get(&owner))?;
            if let Some(found) = ty["properties"][name].as_str() {
                return Some(found.to_owned());
            }
            current = ty["base"].as_str().map(str::to_owned);
        }
        None
    }

    fn assert_table_is_graphs(schema: &Value, owner: &str, table: &[Property]) {
        for property in table {
            let found = graph_type(schema, owner, property.name)
                .unwrap_or_else(|| panic!("Graph's {owner} has no property {}", property.name));
            let (inner, collection) = match found
                .strip_prefix("Collection(")
                .and_then(|rest| rest.strip_suffix(')'))
            {
                Some(inner) => (inner.trim_start_matches("graph."), true),
                None => (found.trim_start_matches("graph."), false),
            };
            let fits = match property.json_type {
                JsonType::Boolean => inner == "Edm.Boolean" && !collection,
                // Dates and enums travel as strings too.
                JsonType::String => !collection && !inner.starts_with("Edm.Boolean"),
                JsonType::StringList => collection && inner.starts_with("Edm."),
                JsonType::Object(fields) => {
                    !collection && {
                        assert_table_is_graphs(schema, inner, fields);
                        true
                    }
                }
                JsonType::ObjectList(fields) => {
                    collection && {
                        assert_table_is_graphs(schema, inner, fields);
                        true
                    }
                }
            };
            assert!(
                fits,
                "{owner}.{}: we say {}, Graph says {found}",
                property.name, property.json_type
            );
        }
    }

    #[test]
    fn every_writable_property_is_graphs_with_graphs_type() {
        let schema: Value = serde_json::from_str(GRAPH_SCHEMA).expect("the schema is JSON");
        assert_table_is_graphs(&schema, "user", USER_PROPERTIES);
        assert_table_is_graphs(&schema, "group", GROUP_PROPERTIES);
    }

    fn check(kind: MappingKind, doc: Value) -> Result<(), PropertyError> {
        match doc {
            Value::Object(map) => validate(kind, &map),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn valid_documents_pass() {
        let user = json!({
            "displayName": "Ada", "accountEnabled": true, "mailNickname": "ada",
            "userPrincipalName": "ada@contoso.com", "mail": null, "businessPhones": ["+1"],
            "passwordProfile": {"password": "x", "forceChangePasswordNextSignIn": false},
            "identities": [{"signInType": "federated", "issuer": "mail", "issuerAssignedId": "a@b.c"}],
            "extension_0123456789abcdef0123456789abcdef_costCentre": 42,
        });
        assert_eq!(check(MappingKind::User, user), Ok(()));
        let group = json!({"displayName": "G", "mailEnabled": false, "securityEnabled": true,
                           "mailNickname": "g", "groupTypes": []});
        assert_eq!(check(MappingKind::Group, group), Ok(()));
    }

    #[test]
    fn invalid_documents_name_the_property() {
        let cases = [
            (
                MappingKind::User,
                json!({"display_name": "x"}),
                "display_name",
                "not a writable",
            ),
            (
                MappingKind::User,
                json!({"accountEnabled": "yes"}),
                "accountEnabled",
                "must be a boolean, not a string",
            ),
            (
                MappingKind::User,
                json!({"displayName": null}),
                "displayName",
                "not null",
            ),
            (
                MappingKind::User,
                json!({"passwordProfile": {"pwd": "x"}}),
                "passwordProfile.pwd",
                "not a writable",
            ),
            (
                MappingKind::User,
                json!({"businessPhones": ["1", 2]}),
                "businessPhones[1]",
                "must be a string",
            ),
            (
                MappingKind::User,
                json!({"identities": [{"issuer": 1}]}),
                "identities[0].issuer",
                "must be a string",
            ),
            (
                MappingKind::User,
                json!({"identities": ["x"]}),
                "identities[0]",
                "must be an object",
            ),
            (
                MappingKind::User,
                json!({"id": "x"}),
                "id",
                "not a writable",
            ),
            (
                MappingKind::Group,
                json!({"accountEnabled": true}),
                "accountEnabled",
                "not a writable",
            ),
            (
                MappingKind::Group,
                json!({"mailEnabled": 0}),
                "mailEnabled",
                "must be a boolean, not a number",
            ),
            (
                MappingKind::Group,
                json!({"extension_0123456789abcdef0123456789abcdef_x": 1}),
                "extension_0123456789abcdef0123456789abcdef_x",
                "not a writable",
            ),
            (
                MappingKind::User,
                json!({"extension_0123456789abcdef0123456789abcdef_x": {}}),
                "extension_0123456789abcdef0123456789abcdef_x",
                "directory extension",
            ),
        ];
        for (kind, doc, property, problem) in cases {
            let err = check(kind, doc.clone()).expect_err(&doc.to_string());
            assert_eq!(err.property, property, "{doc}");
            assert!(err.to_string().contains(problem), "{doc}: {err}");
        }
    }

    #[test]
    fn tables_are_sorted_without_duplicates() {
        for table in [
            USER_PROPERTIES,
            GROUP_PROPERTIES,
            PASSWORD_PROFILE,
            OBJECT_IDENTITY,
            EMPLOYEE_ORG_DATA,
            ON_PREMISES_EXTENSION_ATTRIBUTES,
        ] {
            for pair in table.windows(2) {
                assert!(
                    pair[0].name < pair[1].name,
                    "{} / {}",
                    pair[0].name,
                    pair[1].name
                );
            }
        }
    }
}
