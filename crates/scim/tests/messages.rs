//! Error bodies, list responses and the resource schemas.

use scim::{GROUP, ScimError, ScimType, USER, list_response};
use serde_json::json;

#[test]
fn error_bodies() {
    let err = ScimError::invalid_filter("expected a value at offset 11");
    assert_eq!(
        err.to_json(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "400",
            "scimType": "invalidFilter",
            "detail": "expected a value at offset 11"
        })
    );
    assert_eq!(err.to_string(), "expected a value at offset 11");
    let missing = ScimError::not_found("no such user");
    assert_eq!(
        missing.to_json(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "404",
            "detail": "no such user"
        })
    );
    assert_eq!(ScimError::precondition_failed("etag").status, 412);
    assert_eq!(ScimError::precondition_failed("etag").scim_type, None);
    assert_eq!(ScimError::uniqueness("taken").status, 409);
    assert_eq!(ScimError::new(500, None, "x").status, 500);
    for (err, kind) in [
        (ScimError::invalid_path("x"), ScimType::InvalidPath),
        (ScimError::invalid_value("x"), ScimType::InvalidValue),
        (ScimError::invalid_syntax("x"), ScimType::InvalidSyntax),
        (ScimError::no_target("x"), ScimType::NoTarget),
        (ScimError::mutability("x"), ScimType::Mutability),
        (ScimError::too_many("x"), ScimType::TooMany),
    ] {
        assert_eq!(err.status, 400);
        assert_eq!(err.scim_type, Some(kind));
    }
}

#[test]
fn scim_type_spellings() {
    let all = [
        (ScimType::InvalidFilter, "invalidFilter"),
        (ScimType::TooMany, "tooMany"),
        (ScimType::Uniqueness, "uniqueness"),
        (ScimType::Mutability, "mutability"),
        (ScimType::InvalidSyntax, "invalidSyntax"),
        (ScimType::InvalidPath, "invalidPath"),
        (ScimType::NoTarget, "noTarget"),
        (ScimType::InvalidValue, "invalidValue"),
        (ScimType::InvalidVers, "invalidVers"),
        (ScimType::Sensitive, "sensitive"),
    ];
    for (kind, text) in all {
        assert_eq!(kind.as_str(), text);
    }
}

#[test]
fn list_responses() {
    assert_eq!(
        list_response(12, 3, vec![json!({"id": "a"}), json!({"id": "b"})]),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 12,
            "startIndex": 3,
            "itemsPerPage": 2,
            "Resources": [{"id": "a"}, {"id": "b"}]
        })
    );
    assert_eq!(list_response(0, 1, vec![])["Resources"], json!([]));
}

#[test]
fn schemas() {
    assert_eq!(USER.core, scim::USER_SCHEMA);
    assert_eq!(USER.extensions, [scim::ENTERPRISE_USER_SCHEMA]);
    assert_eq!(USER.case_exact, ["id", "externalid", "meta.version"]);
    assert_eq!(USER.read_only, ["id", "meta", "groups"]);
    assert_eq!(GROUP.core, scim::GROUP_SCHEMA);
    assert!(GROUP.extensions.is_empty());
    assert_eq!(
        GROUP.case_exact,
        ["id", "externalid", "meta.version", "members.value"]
    );
    assert_eq!(GROUP.read_only, ["id", "meta"]);
    assert_eq!(
        scim::SEARCH_REQUEST_SCHEMA,
        "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
    );
}
