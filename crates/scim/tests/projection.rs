//! The attributes / excludedAttributes parameters.

// In tests a panic is the failure report, and unwrap says where.
#![allow(clippy::unwrap_used)]

mod common;

use scim::{ENTERPRISE_USER_SCHEMA, GROUP, ScimType, USER, parse_attribute_list, project};
use serde_json::{Value, json};

const ENT: &str = ENTERPRISE_USER_SCHEMA;

fn projected(resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let schema = if resource["schemas"][0] == json!(scim::GROUP_SCHEMA) {
        &GROUP
    } else {
        &USER
    };
    let attributes = attributes.map(|text| parse_attribute_list(text).unwrap());
    let excluded = excluded.map(|text| parse_attribute_list(text).unwrap());
    let mut resource = resource;
    project(
        &mut resource,
        attributes.as_deref(),
        excluded.as_deref(),
        schema,
    );
    resource
}

#[test]
fn attribute_lists_parse() {
    let list = parse_attribute_list(" userName , name.givenName,emails.value ,").unwrap();
    let names: Vec<String> = list.iter().map(|p| p.key()).collect();
    assert_eq!(names, ["username", "name.givenname", "emails.value"]);
    assert!(parse_attribute_list("").unwrap().is_empty());
    let err = parse_attribute_list("userName, na me").unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
    assert!(parse_attribute_list(&"a,".repeat(6000)).is_err());
}

#[test]
fn excluded_members() {
    let group = projected(common::group(), None, Some("members"));
    assert_eq!(
        group,
        json!({
            "schemas": [scim::GROUP_SCHEMA],
            "id": "g1",
            "displayName": "Tour Guides",
            "meta": {"resourceType": "Group"}
        })
    );
}

#[test]
fn only_some_attributes() {
    let user = projected(common::user(), Some("userName,name.givenName"), None);
    let full = common::user();
    assert_eq!(
        user,
        json!({
            "schemas": full["schemas"],
            "id": full["id"],
            "meta": full["meta"],
            "userName": "bjensen",
            "name": {"givenName": "Barbara"}
        })
    );
    // Names in any case; sub-attributes of every element of a multi-valued attribute.
    let user = projected(common::user(), Some("EMAILS.VALUE, emails.Type"), None);
    assert_eq!(
        user["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work"},
            {"value": "babs@jensen.org", "type": "home"}
        ])
    );
    // Asking for nothing that exists leaves only the always-returned attributes.
    let user = projected(
        common::user(),
        Some("nickName,name.middleName,urn:example:x:y"),
        None,
    );
    assert_eq!(user.as_object().unwrap().len(), 3);
}

#[test]
fn urn_qualified_paths() {
    let full = common::user();
    let user = projected(
        common::user(),
        Some(&format!(
            "{ENT}:department,{ENT}:manager.value,urn:ietf:params:scim:schemas:core:2.0:User:title"
        )),
        None,
    );
    assert_eq!(
        user,
        json!({
            "schemas": full["schemas"],
            "id": full["id"],
            "meta": full["meta"],
            "title": "Tour Guide",
            ENT: {"department": "Tour Operations", "manager": {"value": common::MANAGER_ID}}
        })
    );
    let user = projected(common::user(), Some(&format!("userName,{ENT}")), None);
    assert_eq!(user[ENT], full[ENT]);
    // Excluding inside the extension, or the extension whole.
    let user = projected(
        common::user(),
        None,
        Some(&format!("{ENT}:manager,{ENT}:employeeNumber")),
    );
    assert_eq!(user[ENT], json!({"department": "Tour Operations"}));
    let user = projected(
        common::user(),
        None,
        Some(&format!(
            "{ENT}:manager,{ENT}:employeeNumber,{ENT}:department"
        )),
    );
    assert!(user.get(ENT).is_none());
    let user = projected(common::user(), None, Some(ENT));
    assert!(user.get(ENT).is_none());
    // An unqualified name does not reach into the extension.
    let user = projected(common::user(), None, Some("department"));
    assert_eq!(user[ENT], full[ENT]);
}

#[test]
fn id_schemas_and_meta_are_never_excluded() {
    let user = projected(
        common::user(),
        None,
        Some("id,schemas,meta,meta.version,name.familyName,emails.primary"),
    );
    let full = common::user();
    assert_eq!(user["id"], full["id"]);
    assert_eq!(user["schemas"], full["schemas"]);
    assert_eq!(user["meta"], full["meta"]);
    assert_eq!(user["name"], json!({"givenName": "Barbara"}));
    assert!(
        user["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("primary").is_none())
    );
    // Both parameters: attributes first, then exclusions.
    let user = projected(common::user(), Some("name"), Some("name.givenName"));
    assert_eq!(user["name"], json!({"familyName": "O'Malley"}));
    // An empty attributes list projects nothing away.
    let mut user = common::user();
    project(&mut user, Some(&[]), None, &USER);
    assert_eq!(user, common::user());
}

#[test]
fn projection_reaches_custom_extensions() {
    use common::CUSTOM;
    let full = common::custom_user();
    let user = projected(
        full.clone(),
        Some(&format!(
            "userName,{CUSTOM}:worksiteId,{CUSTOM}:badge.number"
        )),
        None,
    );
    assert_eq!(
        user[CUSTOM],
        json!({"worksiteId": "180", "badge": {"number": "42"}})
    );
    assert!(user.get(ENT).is_none(), "{user}");
    assert_eq!(user["schemas"], full["schemas"]);
    // The whole object by its URN, in any case.
    let user = projected(full.clone(), Some(&CUSTOM.to_ascii_lowercase()), None);
    assert_eq!(user[CUSTOM], full[CUSTOM]);
    assert!(user.get("userName").is_none());
    // Not asked for: left out.
    let user = projected(full.clone(), Some("userName"), None);
    assert!(user.get(CUSTOM).is_none(), "{user}");
    // Excluded attribute by attribute, then whole.
    let user = projected(
        full.clone(),
        None,
        Some(&format!("{CUSTOM}:costCentre,{CUSTOM}:badge")),
    );
    assert_eq!(user[CUSTOM], json!({"worksiteId": "180"}));
    let user = projected(
        full.clone(),
        None,
        Some(&format!(
            "{CUSTOM}:worksiteId,{CUSTOM}:costCentre,{CUSTOM}:badge"
        )),
    );
    assert!(
        user.get(CUSTOM).is_none(),
        "an emptied extension goes: {user}"
    );
    let user = projected(full.clone(), None, Some(CUSTOM));
    assert!(user.get(CUSTOM).is_none(), "{user}");
    assert_eq!(user[ENT], full[ENT]);
    // An unrelated URN selects nothing and excludes nothing.
    let user = projected(full.clone(), None, Some("urn:example:foo:bar"));
    assert_eq!(user, full);
}
