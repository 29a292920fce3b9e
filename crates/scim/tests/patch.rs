//! PATCH paths, request bodies and operations, with the sequences real clients send.

// In tests a panic is the failure report, and unwrap says where.
#![allow(clippy::unwrap_used)]

mod common;

use scim::{
    AttrPath, CompareOp, ENTERPRISE_USER_SCHEMA, Filter, GROUP, PatchOpKind, PatchPath,
    ResourceSchema, ScimType, USER, apply_patch, parse_patch, parse_path,
};
use serde_json::{Value, json};

/// Parses `body` as a PatchOp and applies it to `resource`.
fn patch(
    resource: &mut Value,
    body: Value,
    schema: &ResourceSchema,
) -> Result<(), scim::ScimError> {
    let ops = parse_patch(&body)?;
    apply_patch(resource, &ops, schema)
}

fn ops(operations: Value) -> Value {
    json!({"schemas": [scim::PATCH_OP_SCHEMA], "Operations": operations})
}

fn patched(mut resource: Value, operations: Value, schema: &ResourceSchema) -> Value {
    patch(&mut resource, ops(operations), schema).unwrap();
    resource
}

fn scim_type(resource: &Value, operations: Value, schema: &ResourceSchema) -> Option<ScimType> {
    let mut copy = resource.clone();
    let err = patch(&mut copy, ops(operations), schema).unwrap_err();
    assert_eq!(err.status, 400);
    assert_eq!(
        &copy, resource,
        "a failed patch leaves the resource untouched"
    );
    err.scim_type
}

const ENT: &str = ENTERPRISE_USER_SCHEMA;

// ---- paths ----

#[test]
fn paths_parse() {
    let attr = |text: &str| AttrPath::parse(text).unwrap();
    assert_eq!(
        parse_path("active").unwrap(),
        PatchPath {
            attr: attr("active"),
            filter: None,
            sub: None
        }
    );
    assert_eq!(
        parse_path("name.givenName").unwrap().attr,
        attr("name.givenName")
    );
    assert_eq!(
        parse_path(r#"emails[type eq "work"].value"#).unwrap(),
        PatchPath {
            attr: attr("emails"),
            filter: Some(Filter::Compare {
                path: attr("type"),
                op: CompareOp::Eq,
                value: json!("work"),
            }),
            sub: Some("value".into()),
        }
    );
    assert_eq!(
        parse_path(r#"members[value eq "2819c223"]"#).unwrap(),
        PatchPath {
            attr: attr("members"),
            filter: Some(Filter::Compare {
                path: attr("value"),
                op: CompareOp::Eq,
                value: json!("2819c223"),
            }),
            sub: None,
        }
    );
    let manager = parse_path(&format!("{ENT}:manager")).unwrap();
    assert_eq!(manager.attr.urn.as_deref(), Some(ENT));
    assert_eq!(manager.attr.name, "manager");
    let number = parse_path(&format!("{ENT}:employeeNumber")).unwrap();
    assert_eq!(number.attr.name, "employeeNumber");
    // Printing gives the path back.
    let text = r#"emails[type eq "work" and primary eq true].value"#;
    assert_eq!(parse_path(text).unwrap().to_string(), text);
}

#[test]
fn bad_paths_are_invalid_path_with_an_offset() {
    for (text, at) in [
        ("", "offset 0"),
        ("emails[type eq \"work\"", "offset 21"),
        ("emails[type eq \"work\"]value", "offset 22"),
        ("emails[type eq \"work\"].", "offset 23"),
        ("emails[type eq \"work\"].a.b", "offset 24"),
        ("name.givenName[type pr]", "offset 14"),
        ("emails[type eq]", "offset 14"),
        ("emails[x[y pr]]", "offset 8"),
        ("a b", "offset 2"),
        ("(a)", "offset 0"),
        ("1abc", "offset 0"),
    ] {
        let err = parse_path(text).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{text:?}");
        assert!(err.detail.contains(at), "{text:?}: {}", err.detail);
    }
}

// ---- request bodies ----

#[test]
fn request_bodies_are_read_liberally() {
    let parsed = parse_patch(&json!({
        "operations": [
            {"op": "ADD", "path": "", "value": {"title": "x"}},
            {"op": "Replace", "path": "title", "value": "y"},
            {"Op": "remove", "Path": "title"}
        ]
    }))
    .unwrap();
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed[0].op, PatchOpKind::Add);
    assert_eq!(parsed[0].path, None);
    assert_eq!(parsed[1].op, PatchOpKind::Replace);
    assert_eq!(parsed[2].op, PatchOpKind::Remove);
    assert_eq!(parsed[2].value, None);
    assert!(
        parse_patch(&json!({"schemas": [], "Operations": [{"op": "remove", "path": "x"}]})).is_ok()
    );
}

#[test]
fn request_bodies_are_strict_where_it_matters() {
    let err = |body: Value| parse_patch(&body).unwrap_err();
    let one = |op: Value| json!({"Operations": [op]});
    let cases = [
        (json!([]), ScimType::InvalidSyntax),
        (
            json!({"schemas": [scim::PATCH_OP_SCHEMA]}),
            ScimType::InvalidSyntax,
        ),
        (json!({"Operations": {}}), ScimType::InvalidSyntax),
        (json!({"Operations": []}), ScimType::InvalidSyntax),
        (
            json!({"schemas": [scim::PATCH_OP_SCHEMA, scim::USER_SCHEMA], "Operations": [{"op": "remove", "path": "x"}]}),
            ScimType::InvalidSyntax,
        ),
        (one(json!("add")), ScimType::InvalidSyntax),
        (
            one(json!({"op": "move", "path": "x"})),
            ScimType::InvalidSyntax,
        ),
        (
            one(json!({"path": "x", "value": 1})),
            ScimType::InvalidSyntax,
        ),
        (
            one(json!({"op": "add", "path": "x"})),
            ScimType::InvalidSyntax,
        ),
        (one(json!({"op": "replace"})), ScimType::InvalidSyntax),
        (one(json!({"op": "remove"})), ScimType::NoTarget),
        (one(json!({"op": "remove", "path": ""})), ScimType::NoTarget),
        (
            one(json!({"op": "remove", "path": "emails[type eq]"})),
            ScimType::InvalidPath,
        ),
        (
            one(json!({"op": "remove", "path": 3})),
            ScimType::InvalidPath,
        ),
    ];
    for (body, expected) in cases {
        let e = err(body.clone());
        assert_eq!(e.status, 400, "{body}");
        assert_eq!(e.scim_type, Some(expected), "{body}: {}", e.detail);
    }
    let many: Vec<Value> = (0..1001)
        .map(|_| json!({"op": "remove", "path": "x"}))
        .collect();
    assert_eq!(
        err(json!({"Operations": many})).scim_type,
        Some(ScimType::TooMany)
    );
    let enough: Vec<Value> = (0..1000)
        .map(|_| json!({"op": "remove", "path": "x"}))
        .collect();
    assert_eq!(
        parse_patch(&json!({"Operations": enough})).unwrap().len(),
        1000
    );
}

// ---- Microsoft Entra ----

#[test]
fn entra_replace_active_with_a_string() {
    let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]});
    let mut user = common::user();
    patch(&mut user, body, &USER).unwrap();
    // Types are the server's to check and coerce.
    assert_eq!(user["active"], json!("False"));
}

#[test]
fn entra_adds_a_work_email_to_a_user_without_emails() {
    let user = patched(
        common::bare_user(),
        json!([{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@x.example"}]),
        &USER,
    );
    assert_eq!(
        user["emails"],
        json!([{"type": "work", "value": "a@x.example"}])
    );
    // Again: the element now exists and its value is set, not duplicated.
    let user = patched(
        user,
        json!([{"op":"Add","path":"emails[type eq \"work\"].value","value":"b@x.example"}]),
        &USER,
    );
    assert_eq!(
        user["emails"],
        json!([{"type": "work", "value": "b@x.example"}])
    );
    // Replace with two conditions, no match yet: created with both.
    let user = patched(
        user,
        json!([{"op":"replace","path":"emails[type eq \"home\" and primary eq false].value","value":"h@x.example"}]),
        &USER,
    );
    assert_eq!(
        user["emails"],
        json!([
            {"type": "work", "value": "b@x.example"},
            {"type": "home", "primary": false, "value": "h@x.example"}
        ])
    );
}

#[test]
fn entra_replaces_the_manager() {
    let mut user = common::bare_user();
    let body = ops(
        json!([{"op":"Replace","path":format!("{ENT}:manager"),"value":"26118915-6090-4610-87e4-49d8ca9f808d"}]),
    );
    patch(&mut user, body, &USER).unwrap();
    assert_eq!(
        user[ENT]["manager"],
        json!("26118915-6090-4610-87e4-49d8ca9f808d")
    );
    // The extension object was created, and schemas lists it.
    assert_eq!(user["schemas"], json!([scim::USER_SCHEMA, ENT]));
    // Removing its last attribute removes the extension again.
    let user = patched(
        user,
        json!([{"op":"Remove","path":format!("{ENT}:manager")}]),
        &USER,
    );
    assert!(user.get(ENT).is_none());
    assert_eq!(user["schemas"], json!([scim::USER_SCHEMA]));
}

#[test]
fn entra_group_membership() {
    let group = patched(
        common::group(),
        json!([{"op":"Remove","path":"members","value":[{"value":"u1"}]}]),
        &GROUP,
    );
    assert_eq!(group["members"], json!([{"value": "U2"}]));
    let group = patched(
        group,
        json!([{"op":"Add","path":"members","value":[{"value":"u2"}]}]),
        &GROUP,
    );
    assert_eq!(group["members"], json!([{"value": "U2"}, {"value": "u2"}]));
    // Adding a member already there does not duplicate it.
    let group = patched(
        group,
        json!([{"op":"Add","path":"members","value":[{"value":"u2", "display":"Two"}]}]),
        &GROUP,
    );
    assert_eq!(group["members"].as_array().unwrap().len(), 2);
    // Removing the last members removes the attribute; removing absent ones is fine.
    let group = patched(
        group,
        json!([{"op":"Remove","path":"members","value":[{"value":"U2"},{"value":"u2"},{"value":"nobody"}]}]),
        &GROUP,
    );
    assert!(group.get("members").is_none());
    let group = patched(
        group,
        json!([{"op":"Remove","path":"members","value":[{"value":"u9"}]}]),
        &GROUP,
    );
    assert!(group.get("members").is_none());
    // Adding to a group without members creates the list.
    let group = patched(
        group,
        json!([{"op":"Add","path":"members","value":[{"value":"u3"}]}]),
        &GROUP,
    );
    assert_eq!(group["members"], json!([{"value": "u3"}]));
}

#[test]
fn entra_dotted_names_in_a_pathless_value() {
    let user = patched(
        common::user(),
        json!([{"op":"Replace","value":{
            "name.givenName": "Babs",
            "emails[type eq \"work\"].value": "babs@example.com",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"
        }}]),
        &USER,
    );
    assert_eq!(
        user["name"],
        json!({"givenName": "Babs", "familyName": "O'Malley"})
    );
    assert_eq!(user["emails"][0]["value"], json!("babs@example.com"));
    assert_eq!(user[ENT]["department"], json!("Sales"));
    assert_eq!(user[ENT]["employeeNumber"], json!("701984"));
}

// ---- Okta ----

#[test]
fn okta_deactivates_without_a_path() {
    let user = patched(
        common::user(),
        json!([{"op":"replace","value":{"active":false}}]),
        &USER,
    );
    assert_eq!(user["active"], json!(false));
    assert_eq!(user["userName"], json!("bjensen"));
}

#[test]
fn okta_sends_the_same_id_along() {
    let group = patched(
        common::group(),
        json!([{"op":"replace","value":{"id":"g1","displayName":"New"}}]),
        &GROUP,
    );
    assert_eq!(group["displayName"], json!("New"));
    assert_eq!(group["id"], json!("g1"));
    let group = common::group();
    assert_eq!(
        scim_type(
            &group,
            json!([{"op":"replace","value":{"id":"other","displayName":"New"}}]),
            &GROUP
        ),
        Some(ScimType::Mutability)
    );
}

// ---- authentik and the RFC ----

#[test]
fn remove_a_member_by_filter() {
    let group = patched(
        common::group(),
        json!([{"op":"remove","path":"members[value eq \"u1\"]"}]),
        &GROUP,
    );
    assert_eq!(group["members"], json!([{"value": "U2"}]));
    // members.value is case-exact for groups: "u2" is not "U2".
    let group = patched(
        group,
        json!([{"op":"remove","path":"members[value eq \"u2\"]"}]),
        &GROUP,
    );
    assert_eq!(group["members"], json!([{"value": "U2"}]));
    let group = patched(
        group,
        json!([{"op":"remove","path":"members[value eq \"U2\"]"}]),
        &GROUP,
    );
    assert!(group.get("members").is_none());
}

#[test]
fn add_members_without_a_path() {
    let group = patched(
        common::group(),
        json!([{"op":"add","value":{"members":[{"value":"u3"},{"value":"u1"}]}}]),
        &GROUP,
    );
    assert_eq!(
        group["members"],
        json!([{"value": "u1", "display": "One"}, {"value": "U2"}, {"value": "u3"}])
    );
}

#[test]
fn replace_members_wholesale() {
    let group = patched(
        common::group(),
        json!([{"op":"replace","path":"members","value":[{"value":"u9"}]}]),
        &GROUP,
    );
    assert_eq!(group["members"], json!([{"value": "u9"}]));
    let group = patched(
        group,
        json!([{"op":"replace","path":"members","value":[]}]),
        &GROUP,
    );
    assert!(group.get("members").is_none());
}

// ---- sub-attributes, extensions, complex values ----

#[test]
fn sub_attributes() {
    let user = patched(
        common::bare_user(),
        json!([{"op":"add","path":"name.givenName","value":"Al"}]),
        &USER,
    );
    assert_eq!(user["name"], json!({"givenName": "Al"}));
    let user = patched(
        user,
        json!([{"op":"replace","path":"name.familyName","value":"Ice"}]),
        &USER,
    );
    assert_eq!(
        user["name"],
        json!({"givenName": "Al", "familyName": "Ice"})
    );
    // Replacing a complex attribute by path merges (RFC 7644 §3.5.2.3).
    let user = patched(
        user,
        json!([{"op":"replace","path":"name","value":{"givenName":"Alice"}}]),
        &USER,
    );
    assert_eq!(
        user["name"],
        json!({"givenName": "Alice", "familyName": "Ice"})
    );
    // Without a path, replace sets the attribute whole.
    let user = patched(
        user,
        json!([{"op":"replace","value":{"name":{"formatted":"A I"}}}]),
        &USER,
    );
    assert_eq!(user["name"], json!({"formatted": "A I"}));
    let user = patched(
        user,
        json!([{"op":"remove","path":"name.formatted"}]),
        &USER,
    );
    assert!(user.get("name").is_none());
    // Key spelling of an existing attribute is kept; names match in any case.
    let user = patched(
        user,
        json!([{"op":"replace","path":"USERNAME","value":"al"}]),
        &USER,
    );
    assert_eq!(user["userName"], json!("al"));
    assert!(user.get("USERNAME").is_none());
    // A sub-attribute over a multi-valued attribute applies to every element.
    let user = patched(
        common::user(),
        json!([{"op":"remove","path":"emails.primary"}]),
        &USER,
    );
    assert!(
        user["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("primary").is_none())
    );
}

#[test]
fn filtered_sub_attribute_updates() {
    let user = patched(
        common::user(),
        json!([
            {"op":"replace","path":"emails[type eq \"work\"].primary","value":false},
            {"op":"add","path":"emails[value ew \".org\"].display","value":"Home"},
            {"op":"remove","path":"emails[type eq \"work\"].type"}
        ]),
        &USER,
    );
    assert_eq!(
        user["emails"],
        json!([
            {"value": "bjensen@example.com", "primary": false},
            {"value": "babs@jensen.org", "type": "home", "display": "Home"}
        ])
    );
    // Replacing a whole element.
    let user = patched(
        user,
        json!([{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"new@x.org","type":"home"}}]),
        &USER,
    );
    assert_eq!(
        user["emails"][1],
        json!({"value": "new@x.org", "type": "home"})
    );
}

#[test]
fn pathless_replace_merges_the_enterprise_object() {
    let user = patched(
        common::user(),
        json!([{"op":"replace","value":{
            ENT: {"department": "Sales", "costCenter": "4130"},
            "title": "Lead",
            "schemas": ["ignored"],
            "meta": {"version": "ignored"}
        }}]),
        &USER,
    );
    assert_eq!(
        user[ENT],
        json!({
            "employeeNumber": "701984",
            "department": "Sales",
            "costCenter": "4130",
            "manager": {"value": common::MANAGER_ID}
        })
    );
    assert_eq!(user["title"], json!("Lead"));
    assert_eq!(user["schemas"], common::user()["schemas"]);
    assert_eq!(user["meta"], common::user()["meta"]);
    // And a path-less add on a user without the extension creates it and lists it.
    let user = patched(
        common::bare_user(),
        json!([{"op":"add","value":{ENT: {"employeeNumber": "7"}}}]),
        &USER,
    );
    assert_eq!(user[ENT], json!({"employeeNumber": "7"}));
    assert_eq!(user["schemas"], json!([scim::USER_SCHEMA, ENT]));
}

#[test]
fn pathless_add_appends_and_sets() {
    let user = patched(
        common::user(),
        json!([{"op":"add","value":{
            "emails": [{"value":"bjensen@example.com","type":"work"}, {"value":"x@y.example","type":"other"}],
            "nickName": "Babs"
        }}]),
        &USER,
    );
    assert_eq!(user["emails"].as_array().unwrap().len(), 3);
    assert_eq!(user["nickName"], json!("Babs"));
    assert_eq!(
        scim_type(&common::user(), json!([{"op":"add","value":"Babs"}]), &USER),
        Some(ScimType::InvalidSyntax)
    );
}

#[test]
fn null_means_unassigned() {
    let user = patched(
        common::user(),
        json!([
            {"op":"replace","path":"title","value":null},
            {"op":"replace","value":{"userType":null}},
            {"op":"add","path":"nickName","value":null}
        ]),
        &USER,
    );
    assert!(user.get("title").is_none());
    assert!(user.get("userType").is_none());
    assert!(user.get("nickName").is_none());
}

// ---- errors and atomicity ----

#[test]
fn all_or_nothing() {
    let user = common::user();
    let kind = scim_type(
        &user,
        json!([
            {"op":"replace","path":"title","value":"Changed"},
            {"op":"add","path":"emails[type eq \"work\" or type eq \"home\"].display","value":"x"},
            {"op":"replace","path":"ims[value co \"x\"].type","value":"y"}
        ]),
        &USER,
    );
    assert_eq!(kind, Some(ScimType::NoTarget));
    let err = {
        let mut copy = user.clone();
        patch(&mut copy, ops(json!([{"op":"add","path":"title","value":"x"},{"op":"replace","path":"id","value":"x"}])), &USER).unwrap_err()
    };
    assert!(err.detail.starts_with("Operations[1]:"), "{}", err.detail);
}

#[test]
fn read_only_attributes() {
    let user = common::user();
    for op in [
        json!({"op":"replace","path":"id","value":"x"}),
        json!({"op":"add","path":"meta.version","value":"x"}),
        json!({"op":"remove","path":"meta"}),
        json!({"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:id","value":"x"}),
        json!({"op":"add","path":"groups","value":[{"value":"g"}]}),
        json!({"op":"add","value":{"meta.created":"x"}}),
    ] {
        assert_eq!(
            scim_type(&user, json!([op.clone()]), &USER),
            Some(ScimType::Mutability),
            "{op}"
        );
    }
    // Removing a read-only attribute that is not there changes nothing.
    let user = patched(user, json!([{"op":"remove","path":"groups"}]), &USER);
    assert_eq!(user, common::user());
    // Groups are writable on groups' own schema; only id/meta are read-only there.
    assert!(
        patch(
            &mut common::group(),
            ops(json!([{"op":"add","path":"groups","value":"x"}])),
            &GROUP
        )
        .is_ok()
    );
}

#[test]
fn invalid_paths_and_missing_targets() {
    let user = common::user();
    let cases = [
        (
            json!({"op":"add","path":"emails[","value":"x"}),
            ScimType::InvalidPath,
        ),
        (
            json!({"op":"add","path":"urn:example:other:2.0:User:x","value":"x"}),
            ScimType::InvalidPath,
        ),
        (
            json!({"op":"replace","value":{"bad key":"x"}}),
            ScimType::InvalidPath,
        ),
        // A filter that does not describe an element to create.
        (
            json!({"op":"replace","path":"emails[type co \"zz\"].value","value":"x"}),
            ScimType::NoTarget,
        ),
        (
            json!({"op":"add","path":"phoneNumbers[type ne \"work\"].value","value":"x"}),
            ScimType::NoTarget,
        ),
        (
            json!({"op":"replace","path":"emails[type eq \"x\"]","value":"not an object"}),
            ScimType::NoTarget,
        ),
        // Sub-attribute of a simple attribute.
        (
            json!({"op":"add","path":"userName.first","value":"x"}),
            ScimType::NoTarget,
        ),
        // Filter on a simple attribute.
        (
            json!({"op":"add","path":"userName[value eq \"x\"].y","value":"x"}),
            ScimType::NoTarget,
        ),
    ];
    for (op, expected) in cases {
        assert_eq!(
            scim_type(&user, json!([op.clone()]), &USER),
            Some(expected),
            "{op}"
        );
    }
    // Removing what is absent is not an error.
    let unchanged = patched(
        user.clone(),
        json!([
            {"op":"remove","path":"nickName"},
            {"op":"remove","path":"ims[type eq \"x\"]"},
            {"op":"remove","path":"emails[type eq \"x\"]"},
            {"op":"remove","path":"name.middleName"},
            {"op":"remove","path":format!("{ENT}:costCenter")}
        ]),
        &USER,
    );
    assert_eq!(unchanged, user);
}

#[test]
fn extension_object_by_its_urn() {
    let user = patched(
        common::user(),
        json!([{"op":"replace","path":ENT,"value":{"department":"Sales"}}]),
        &USER,
    );
    assert_eq!(user[ENT]["department"], json!("Sales"));
    assert_eq!(user[ENT]["employeeNumber"], json!("701984"));
    let user = patched(user, json!([{"op":"remove","path":ENT}]), &USER);
    assert!(user.get(ENT).is_none());
    assert_eq!(user["schemas"], json!([scim::USER_SCHEMA]));
}

#[test]
fn non_object_resources_are_refused() {
    let mut not_object = json!([1]);
    let err = apply_patch(&mut not_object, &[], &USER).unwrap_err();
    assert_eq!(err.status, 400);
}

// ---- custom ("open") extensions ----

/// Entra's updates of a custom extension's attributes: by URN-qualified path, merged into
/// the object under the URN, which keeps `schemas` in step as the enterprise one does.
#[test]
fn custom_extension_attributes_patch_like_the_enterprise_ones() {
    use common::CUSTOM;
    let worksite = format!("{CUSTOM}:worksiteId");
    let cost = format!("{CUSTOM}:costCentre");
    let user = patched(
        common::custom_user(),
        json!([
            {"op": "Replace", "path": worksite, "value": "181"},
            {"op": "Add", "path": cost, "value": "Y"},
            {"op": "replace", "path": format!("{CUSTOM}:badge.number"), "value": "43"},
            // `user` is an attribute of the extension, not the extension `…:User:user`.
            {"op": "add", "path": format!("{CUSTOM}:user"), "value": "u"},
        ]),
        &USER,
    );
    assert_eq!(
        user[CUSTOM],
        json!({"worksiteId": "181", "costCentre": "Y", "badge": {"number": "43"}, "user": "u"})
    );
    assert_eq!(
        user[ENT],
        common::user()[ENT],
        "the enterprise one is untouched"
    );
    assert_eq!(user["schemas"], common::custom_user()["schemas"]);

    // The URN and the names match regardless of case; the keys keep their spelling.
    let user = patched(
        user,
        json!([{"op": "replace", "path": format!("{}:WORKSITEID", CUSTOM.to_ascii_uppercase()), "value": "182"}]),
        &USER,
    );
    assert_eq!(user[CUSTOM]["worksiteId"], json!("182"));

    // Emptied attribute by attribute: the object goes, and so does its URN in `schemas`.
    let user = patched(
        user,
        json!([
            {"op": "remove", "path": worksite},
            {"op": "remove", "path": cost},
            {"op": "remove", "path": format!("{CUSTOM}:badge")},
            {"op": "replace", "path": format!("{CUSTOM}:user"), "value": null},
        ]),
        &USER,
    );
    assert!(user.get(CUSTOM).is_none(), "{user}");
    assert_eq!(user["schemas"], json!([scim::USER_SCHEMA, ENT]));

    // Removing from an extension the user lacks changes nothing.
    assert_eq!(
        patched(user.clone(), json!([{"op": "remove", "path": cost}]), &USER),
        user
    );

    // Created by an add: the object appears and is listed.
    let user = patched(
        common::bare_user(),
        json!([{"op": "Add", "path": cost, "value": "Z"}]),
        &USER,
    );
    assert_eq!(user[CUSTOM], json!({"costCentre": "Z"}));
    assert_eq!(user["schemas"], json!([scim::USER_SCHEMA, CUSTOM]));
}

#[test]
fn a_custom_extension_object_is_addressed_by_its_urn() {
    use common::CUSTOM;
    // A replace of the whole object merges into it (as for any complex attribute by path).
    let user = patched(
        common::custom_user(),
        json!([{"op": "replace", "path": CUSTOM, "value": {"worksiteId": "9"}}]),
        &USER,
    );
    assert_eq!(user[CUSTOM]["worksiteId"], json!("9"));
    assert_eq!(user[CUSTOM]["costCentre"], json!("X"));
    let user = patched(
        user,
        json!([{"op": "remove", "path": CUSTOM.to_ascii_lowercase()}]),
        &USER,
    );
    assert!(user.get(CUSTOM).is_none(), "{user}");
    assert_eq!(user["schemas"], common::user()["schemas"]);

    // Path-less: a member named by the URN merges, a URN-qualified name is its path.
    let user = patched(
        common::bare_user(),
        json!([{"op": "add", "value": {
            CUSTOM: {"worksiteId": "1"},
            format!("{CUSTOM}:costCentre"): "W",
        }}]),
        &USER,
    );
    assert_eq!(user[CUSTOM], json!({"worksiteId": "1", "costCentre": "W"}));
    assert_eq!(user["schemas"], json!([scim::USER_SCHEMA, CUSTOM]));
    let user = patched(
        user,
        json!([{"op": "replace", "value": {CUSTOM: null}}]),
        &USER,
    );
    assert!(user.get(CUSTOM).is_none(), "{user}");
    assert_eq!(user["schemas"], json!([scim::USER_SCHEMA]));
}

#[test]
fn only_extension_urns_of_the_resource_type_are_open() {
    use common::CUSTOM;
    let user = common::custom_user();
    for path in [
        // Not an extension URN at all.
        "urn:example:foo:bar",
        "urn:example:foo:2.0:User:bar",
        // An extension of another resource type, and one that names none.
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:Group:worksiteId",
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:worksiteId",
        "urn:ietf:params:scim:schemas:extension:User:worksiteId",
    ] {
        assert_eq!(
            scim_type(
                &user,
                json!([{"op": "add", "path": path, "value": "x"}]),
                &USER
            ),
            Some(ScimType::InvalidPath),
            "{path}"
        );
    }
    // Groups stay closed: the server would not render what a PATCH made there.
    assert_eq!(
        scim_type(
            &common::group(),
            json!([{"op": "add", "path": format!("{CUSTOM}:worksiteId"), "value": "x"}]),
            &GROUP
        ),
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        scim_type(
            &common::group(),
            json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:Custom:2.0:Group:x", "value": "x"}]),
            &GROUP
        ),
        Some(ScimType::InvalidPath)
    );
}
