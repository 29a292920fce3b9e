//! A directory group as a SCIM `Group` resource, and back.
//!
//! | SCIM | directory |
//! |---|---|
//! | `id` | the group's id |
//! | `displayName` | name |
//! | `members[].value` | the memberships (users only: groups are not nested) |
//! | `externalId` | kept beside the group, as sent |
//! | any other attribute a client sends | attributes, as sent |

use model::{Attributes, GroupName, UserId};
use scim::{GROUP_SCHEMA, ScimError};
use serde_json::{Map, Value, json};
use store::{ScimGroup, ScimRecord};

use super::response::version;

const OWN: &[&str] = &[
    "schemas",
    "id",
    "meta",
    "externalId",
    "displayName",
    "members",
];

fn find<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// The group as SCIM renders it; `with_members: false` leaves `members` out (it is asked
/// for with `excludedAttributes=members`, and can be long).
pub fn render(scim: &ScimGroup, base: &str, with_members: bool) -> Value {
    let group = &scim.group;
    let mut resource = Map::new();
    resource.insert("schemas".into(), json!([GROUP_SCHEMA]));
    resource.insert("id".into(), json!(group.id.to_string()));
    if let Some(external_id) = &scim.record.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("displayName".into(), json!(group.name.as_str()));
    if with_members {
        let members: Vec<Value> = scim
            .members
            .iter()
            .map(|member| {
                json!({
                    "value": member.to_string(),
                    "$ref": format!("{base}/Users/{member}"),
                    "type": "User",
                })
            })
            .collect();
        resource.insert("members".into(), Value::Array(members));
    }
    for (key, value) in group.attributes.as_map() {
        if !OWN.iter().any(|own| own.eq_ignore_ascii_case(key)) {
            resource.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": group.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": group.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}/Groups/{}", group.id),
            "version": version(group.updated_at),
        }),
    );
    Value::Object(resource)
}

/// What a resource makes of a group: its name, attributes, record and members.
pub struct PartialGroup {
    pub name: GroupName,
    pub attributes: Attributes,
    pub record: ScimRecord,
    pub members: Vec<UserId>,
}

/// The members a resource lists; a member that is not a user of this directory is refused.
fn members(value: Option<&Value>) -> Result<Vec<UserId>, ScimError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ScimError::invalid_value("members must be a list")),
    };
    list.iter()
        .map(|member| {
            let object = member.as_object();
            if let Some(kind) = object
                .and_then(|object| find(object, "type"))
                .and_then(Value::as_str)
                && kind.eq_ignore_ascii_case("group")
            {
                return Err(ScimError::invalid_value(
                    "groups cannot be members of groups here: list the users",
                ));
            }
            let value = object
                .and_then(|object| find(object, "value"))
                .and_then(Value::as_str)
                .ok_or_else(|| ScimError::invalid_value("each member needs a value (a User id)"))?;
            value
                .trim()
                .parse::<uuid::Uuid>()
                .map(UserId::from_uuid)
                .map_err(|_| {
                    ScimError::invalid_value(format!(
                        "member {value:?} is not a User of this service"
                    ))
                })
        })
        .collect()
}

/// `keep` holds the current attributes: a resource sets the ones it names.
pub fn from_resource(
    resource: &Value,
    keep: Option<&Attributes>,
) -> Result<PartialGroup, ScimError> {
    let Some(object) = resource.as_object() else {
        return Err(ScimError::invalid_syntax("a Group must be a JSON object"));
    };
    let name = match find(object, "displayName").and_then(Value::as_str) {
        Some(name) => GroupName::parse(name.trim())
            .map_err(|error| ScimError::invalid_value(format!("displayName: {error}")))?,
        None => {
            return Err(ScimError::invalid_value(
                "displayName is required (a string)",
            ));
        }
    };
    let external_id = match find(object, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(ScimError::invalid_value("externalId must be a string")),
    };
    let mut attributes: Map<String, Value> = keep
        .map(|attributes| attributes.as_map().clone())
        .unwrap_or_default();
    for (key, value) in object {
        if OWN.iter().any(|own| own.eq_ignore_ascii_case(key)) {
            continue;
        }
        if value.is_null() {
            attributes.remove(key);
        } else {
            attributes.insert(key.clone(), value.clone());
        }
    }
    let attributes = Attributes::try_from(attributes)
        .map_err(|error| ScimError::invalid_value(error.to_string()))?;
    Ok(PartialGroup {
        name,
        attributes,
        record: ScimRecord {
            external_id,
            client: None,
        },
        members: members(find(object, "members"))?,
    })
}

/// A store error on a group write, as SCIM says it: a member that is no user is the client's
/// mistake (400), not a missing group.
pub fn write_error(error: store::StoreError) -> super::ScimFailure {
    match error {
        store::StoreError::NotFound { kind: "user", key } => super::ScimFailure(
            ScimError::invalid_value(format!("member {key} is not a User of this service")),
        ),
        other => other.into(),
    }
}
