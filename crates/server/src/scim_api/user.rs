//! A directory user as a SCIM `User` resource, and back.
//!
//! | SCIM | directory |
//! |---|---|
//! | `id` | the user's id |
//! | `userName` | username |
//! | `displayName` (else `name.formatted`, else given and family name, else `userName`) | name |
//! | the primary email (else the `work` one, else the first) | email |
//! | `active` (also `"True"`/`"false"` as text) | is_active |
//! | `externalId` | kept beside the user, as sent |
//! | `name`, `title`, `phoneNumbers`, `addresses`, … (the core schema's other attributes) | attributes, under their SCIM names |
//! | the enterprise extension's `employeeNumber`, `department`, `manager`, … | attributes, under their SCIM names (`user.attributes.department`) |
//! | a custom extension (`urn:ietf:params:scim:schemas:extension:…:User`, an object) | attributes, the object under its URN as sent (`user.attributes["urn:…"].worksiteId`) |
//! | any other attribute a client sends | attributes, as sent |
//! | `password` | never kept |

use model::{Attributes, Email, User, UserKind, Username};
use scim::{ENTERPRISE_USER_SCHEMA, ScimError, USER_SCHEMA};
use serde_json::{Map, Value, json};
use store::{ScimRecord, ScimUser};

use super::response::version;

/// The core schema's attributes kept in the user's attributes.
const CORE_KEPT: &[&str] = &[
    "name",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// The enterprise extension's attributes, kept in the user's attributes.
const ENTERPRISE_KEPT: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];

/// Attributes of a resource that map onto the user itself (or are never kept).
const OWN: &[&str] = &[
    "schemas",
    "id",
    "meta",
    "externalId",
    "userName",
    "displayName",
    "active",
    "emails",
    "password",
    "groups",
];

fn find<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn is_among(list: &[&str], key: &str) -> bool {
    list.iter().any(|known| known.eq_ignore_ascii_case(key))
}

/// A custom extension's URN (one the protocol layer accepts for users besides the
/// enterprise one, which is flattened instead): its object is kept whole under that key.
fn is_custom_extension(key: &str) -> bool {
    scim::USER.is_extension(key) && !key.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA)
}

/// A custom extension kept in the attributes, which SCIM shows and so owns: an object with
/// something in it. Anything else under such a key (an administrator's) is not shown.
fn is_shown_extension(key: &str, value: &Value) -> bool {
    is_custom_extension(key) && value.as_object().is_some_and(|inner| !inner.is_empty())
}

/// An attribute's name as the schema spells it (clients differ in case), so that mappings
/// read `user.attributes.title` whatever the client sent.
fn canonical(key: &str) -> String {
    CORE_KEPT
        .iter()
        .chain(ENTERPRISE_KEPT)
        .find(|known| known.eq_ignore_ascii_case(key))
        .map_or_else(|| key.to_owned(), |known| (*known).to_owned())
}

/// A value kept as the schema shapes it: Entra sends the manager as a bare id, the schema
/// has it as `{"value": id}`.
fn shaped(key: &str, value: &Value) -> Value {
    match value {
        Value::String(id) if key.eq_ignore_ascii_case("manager") => json!({"value": id}),
        other => other.clone(),
    }
}

/// The user as SCIM renders it.
pub fn render(scim: &ScimUser, base: &str) -> Value {
    let user = &scim.user;
    let mut resource = Map::new();
    let mut enterprise = Map::new();
    for (key, value) in user.attributes.as_map() {
        if is_among(CORE_KEPT, key) {
            resource.insert(key.clone(), value.clone());
        } else if is_among(ENTERPRISE_KEPT, key) {
            enterprise.insert(key.clone(), value.clone());
        }
    }
    let mut schemas = vec![json!(USER_SCHEMA)];
    if !enterprise.is_empty() {
        schemas.push(json!(ENTERPRISE_USER_SCHEMA));
        resource.insert(ENTERPRISE_USER_SCHEMA.into(), Value::Object(enterprise));
    }
    // Shown so that a client's PATCH of them starts from what is kept, and its filters see them.
    for (key, value) in user.attributes.as_map() {
        if is_shown_extension(key, value) {
            schemas.push(json!(key));
            resource.insert(key.clone(), value.clone());
        }
    }
    resource.insert("schemas".into(), Value::Array(schemas));
    resource.insert("id".into(), json!(user.id.to_string()));
    if let Some(external_id) = &scim.record.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("userName".into(), json!(user.username.as_str()));
    resource.insert("displayName".into(), json!(user.name));
    resource.insert("active".into(), json!(user.is_active));
    if let Some(email) = &user.email {
        resource.insert(
            "emails".into(),
            json!([{"value": email.as_str(), "type": "work", "primary": true}]),
        );
    }
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}/Users/{}", user.id),
            "version": version(user.updated_at),
        }),
    );
    Value::Object(resource)
}

/// A boolean as clients send it: `true`, or `"True"` as text.
pub fn boolean(value: &Value, attribute: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!(
            "{attribute} must be true or false, not {other}"
        ))),
    }
}

fn text<'a>(value: &'a Value, attribute: &str) -> Result<&'a str, ScimError> {
    value
        .as_str()
        .ok_or_else(|| ScimError::invalid_value(format!("{attribute} must be a string")))
}

/// The email the directory keeps: the primary one, else the `work` one, else the first.
fn chosen_email(emails: &Value) -> Result<Option<Email>, ScimError> {
    let list = match emails {
        Value::Null => return Ok(None),
        Value::Array(list) => list,
        _ => return Err(ScimError::invalid_value("emails must be a list")),
    };
    let object = |entry: &Value| entry.as_object().cloned().unwrap_or_default();
    let primary = list.iter().find(|entry| {
        find(&object(entry), "primary").is_some_and(|flag| boolean(flag, "primary") == Ok(true))
    });
    let work = list.iter().find(|entry| {
        find(&object(entry), "type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("work"))
    });
    let Some(entry) = primary.or(work).or(list.first()) else {
        return Ok(None);
    };
    let entry = object(entry);
    let Some(value) = find(&entry, "value") else {
        return Ok(None);
    };
    let address = text(value, "emails.value")?;
    Email::parse(address)
        .map(Some)
        .map_err(|error| ScimError::invalid_value(format!("emails.value: {error}")))
}

/// The display name a resource gives: `displayName`, else `name.formatted`, else the given
/// and family names, else the username.
fn display_name(resource: &Map<String, Value>, username: &str) -> Result<String, ScimError> {
    if let Some(name) = find(resource, "displayName").filter(|value| !value.is_null()) {
        let name = text(name, "displayName")?.trim();
        if !name.is_empty() {
            return Ok(name.to_owned());
        }
    }
    if let Some(Value::Object(name)) = find(resource, "name") {
        if let Some(formatted) = find(name, "formatted").and_then(Value::as_str)
            && !formatted.trim().is_empty()
        {
            return Ok(formatted.trim().to_owned());
        }
        let parts: Vec<&str> = ["givenName", "familyName"]
            .iter()
            .filter_map(|part| find(name, part).and_then(Value::as_str))
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect();
        if !parts.is_empty() {
            return Ok(parts.join(" "));
        }
    }
    Ok(username.to_owned())
}

/// What a resource makes of a user: the whole of it (a create, a replace, a patched
/// rendering). `keep` holds the current attributes: those SCIM cannot show (an
/// administrator's own) survive; the ones SCIM shows take the resource's values or go.
pub fn from_resource(
    resource: &Value,
    keep: Option<&Attributes>,
) -> Result<(PartialUser, ScimRecord), ScimError> {
    let Some(object) = resource.as_object() else {
        return Err(ScimError::invalid_syntax("a User must be a JSON object"));
    };
    let username = match find(object, "userName") {
        Some(value) => text(value, "userName")?,
        None => return Err(ScimError::invalid_value("userName is required")),
    };
    let username = Username::parse(username.trim())
        .map_err(|error| ScimError::invalid_value(format!("userName: {error}")))?;
    let name = display_name(object, username.as_str())?;
    let email = match find(object, "emails") {
        Some(emails) => chosen_email(emails)?,
        None => None,
    };
    let is_active = match find(object, "active") {
        None | Some(Value::Null) => true,
        Some(value) => boolean(value, "active")?,
    };
    let external_id = match find(object, "externalId") {
        None | Some(Value::Null) => None,
        Some(value) => Some(text(value, "externalId")?.to_owned()),
    };
    let mut attributes: Map<String, Value> = keep
        .map(|attributes| attributes.as_map().clone())
        .unwrap_or_default();
    attributes.retain(|key, value| {
        !is_among(CORE_KEPT, key)
            && !is_among(ENTERPRISE_KEPT, key)
            && !is_shown_extension(key, value)
    });
    for (key, value) in object {
        if is_among(OWN, key) || value.is_null() {
            continue;
        }
        if key.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
            let Value::Object(extension) = value else {
                return Err(ScimError::invalid_value(format!(
                    "{ENTERPRISE_USER_SCHEMA} must be an object"
                )));
            };
            for (inner, inner_value) in extension {
                if !inner_value.is_null() {
                    attributes.insert(canonical(inner), shaped(inner, inner_value));
                }
            }
            continue;
        }
        if is_custom_extension(key) {
            let Value::Object(extension) = value else {
                return Err(ScimError::invalid_value(format!("{key} must be an object")));
            };
            // Null is unassigned (RFC 7643 §2.5); an object left empty is no extension at all.
            let extension: Map<String, Value> = extension
                .iter()
                .filter(|(_, inner)| !inner.is_null())
                .map(|(inner, inner_value)| (inner.clone(), inner_value.clone()))
                .collect();
            if !extension.is_empty() {
                attributes.insert(key.clone(), Value::Object(extension));
            }
            continue;
        }
        attributes.insert(canonical(key), shaped(key, value));
    }
    let attributes = Attributes::try_from(attributes)
        .map_err(|error| ScimError::invalid_value(error.to_string()))?;
    Ok((
        PartialUser {
            username,
            name,
            email,
            is_active,
            attributes,
        },
        ScimRecord {
            external_id,
            client: None,
        },
    ))
}

/// The parts of a user a SCIM resource sets.
pub struct PartialUser {
    pub username: Username,
    pub name: String,
    pub email: Option<Email>,
    pub is_active: bool,
    pub attributes: Attributes,
}

impl PartialUser {
    /// These parts over `user` (its id, kind and times stay).
    pub fn over(self, user: &User) -> User {
        User {
            username: self.username,
            name: self.name,
            email: self.email,
            is_active: self.is_active,
            attributes: self.attributes,
            ..user.clone()
        }
    }

    pub fn into_new(self) -> model::NewUser {
        model::NewUser {
            username: self.username,
            name: Some(self.name),
            email: self.email,
            is_active: self.is_active,
            kind: UserKind::Internal,
            attributes: self.attributes,
        }
    }
}
