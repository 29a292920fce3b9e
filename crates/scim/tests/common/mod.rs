//! Sample resources shared by the test files.
// Each test binary uses only some of these.
#![allow(dead_code)]

use scim::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{Value, json};

pub const MANAGER_ID: &str = "26118915-6090-4610-87e4-49d8ca9f808d";
pub const USER_ID: &str = "2819c223-7f76-453a-919d-413861904646";

/// Barbara Jensen, after RFC 7643 §8.2, with the enterprise extension.
pub fn user() -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "id": USER_ID,
        "externalId": "BJensen-Ext",
        "userName": "bjensen",
        "name": { "givenName": "Barbara", "familyName": "O'Malley" },
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        },
        ENTERPRISE_USER_SCHEMA: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": { "value": MANAGER_ID }
        }
    })
}

/// A user with only what Entra sends on create.
pub fn bare_user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": USER_ID,
        "userName": "alice@x.example",
        "active": true,
        "meta": { "resourceType": "User" }
    })
}

pub fn group() -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [
            { "value": "u1", "display": "One" },
            { "value": "U2" }
        ],
        "meta": { "resourceType": "Group" }
    })
}

/// A custom extension of the shape Entra's provisioning service sends (any name its
/// administrator chose), which no `ResourceSchema` lists.
pub const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// Barbara with a custom extension beside the enterprise one.
pub fn custom_user() -> Value {
    let mut user = user();
    user["schemas"] = json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM]);
    user[CUSTOM] = json!({"worksiteId": "180", "costCentre": "X", "badge": {"number": "42"}});
    user
}
