//! Discovery (RFC 7644 §4): what this service supports, told truthfully: PATCH, bulk, filters,
//! sorting and ETags yes; password changes no. The schemas list the attributes this
//! service keeps.

use axum::{
    Extension,
    extract::Path,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use scim::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ScimError, USER_SCHEMA};
use serde_json::{Value, json};

use super::{
    bulk::{BulkLimits, MAX_OPERATIONS},
    list::MAX_RESULTS,
    response::{ScimFailure, base_url, scim_json},
};

const CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub async fn service_provider_config(
    Extension(limits): Extension<BulkLimits>,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&headers);
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [CONFIG_SCHEMA],
            "patch": {"supported": true},
            "bulk": {
                "supported": true,
                "maxOperations": MAX_OPERATIONS,
                "maxPayloadSize": limits.max_payload,
            },
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token made with `entrasync token create <client> --kind scim`, sent as `Authorization: Bearer <token>`.",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{base}/ServiceProviderConfig"),
            },
        }),
    )
}

fn resource_type_of(name: &str, base: &str) -> Option<Value> {
    let (endpoint, schema, extensions) = match name {
        "User" => (
            "/Users",
            USER_SCHEMA,
            json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false}]),
        ),
        "Group" => ("/Groups", GROUP_SCHEMA, json!([])),
        _ => return None,
    };
    Some(json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": endpoint,
        "schema": schema,
        "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")},
    }))
}

pub async fn resource_types(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let types: Vec<Value> = ["User", "Group"]
        .iter()
        .filter_map(|name| resource_type_of(name, &base))
        .collect();
    scim_json(StatusCode::OK, &scim::list_response(2, 1, types))
}

pub async fn resource_type(
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ScimFailure> {
    resource_type_of(&name, &base_url(&headers))
        .map(|found| scim_json(StatusCode::OK, &found))
        .ok_or_else(|| ScimError::not_found(format!("no resource type is named {name:?}")).into())
}

/// One attribute's definition.
struct Attr {
    name: &'static str,
    kind: &'static str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    uniqueness: &'static str,
    subs: Vec<Attr>,
}

fn attr(name: &'static str, kind: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        uniqueness: "none",
        subs: Vec::new(),
    }
}

impl Attr {
    fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    fn mutability(mut self, mutability: &'static str) -> Self {
        self.mutability = mutability;
        self
    }
    fn unique(mut self) -> Self {
        self.uniqueness = "server";
        self
    }
    fn subs(mut self, subs: Vec<Attr>) -> Self {
        self.kind = "complex";
        self.subs = subs;
        self
    }

    fn json(&self) -> Value {
        let mut value = json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi,
            "description": "",
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": "default",
            "uniqueness": self.uniqueness,
        });
        if !self.subs.is_empty() {
            value["subAttributes"] = Value::Array(self.subs.iter().map(Attr::json).collect());
        }
        if self.kind == "reference" {
            value["referenceTypes"] = json!(["User", "external"]);
        }
        value
    }
}

/// The sub-attributes of a multi-valued attribute such as `emails`.
fn typed_values() -> Vec<Attr> {
    vec![
        attr("value", "string"),
        attr("display", "string"),
        attr("type", "string"),
        attr("primary", "boolean"),
    ]
}

fn schema_of(urn: &str, base: &str) -> Option<Value> {
    let (name, attributes) = match urn {
        USER_SCHEMA => (
            "User",
            vec![
                attr("userName", "string").required().unique(),
                attr("name", "complex").subs(vec![
                    attr("formatted", "string"),
                    attr("familyName", "string"),
                    attr("givenName", "string"),
                    attr("middleName", "string"),
                    attr("honorificPrefix", "string"),
                    attr("honorificSuffix", "string"),
                ]),
                attr("displayName", "string"),
                attr("nickName", "string"),
                attr("profileUrl", "reference"),
                attr("title", "string"),
                attr("userType", "string"),
                attr("preferredLanguage", "string"),
                attr("locale", "string"),
                attr("timezone", "string"),
                attr("active", "boolean"),
                attr("emails", "complex").multi().subs(typed_values()),
                attr("phoneNumbers", "complex").multi().subs(typed_values()),
                attr("ims", "complex").multi().subs(typed_values()),
                attr("photos", "complex").multi().subs(typed_values()),
                attr("addresses", "complex").multi().subs(vec![
                    attr("formatted", "string"),
                    attr("streetAddress", "string"),
                    attr("locality", "string"),
                    attr("region", "string"),
                    attr("postalCode", "string"),
                    attr("country", "string"),
                    attr("type", "string"),
                    attr("primary", "boolean"),
                ]),
                attr("entitlements", "complex").multi().subs(typed_values()),
                attr("roles", "complex").multi().subs(typed_values()),
                attr("x509Certificates", "complex")
                    .multi()
                    .subs(typed_values()),
            ],
        ),
        ENTERPRISE_USER_SCHEMA => (
            "EnterpriseUser",
            vec![
                attr("employeeNumber", "string"),
                attr("costCenter", "string"),
                attr("organization", "string"),
                attr("division", "string"),
                attr("department", "string"),
                attr("manager", "complex").subs(vec![
                    attr("value", "string"),
                    attr("$ref", "reference"),
                    attr("displayName", "string").mutability("readOnly"),
                ]),
            ],
        ),
        GROUP_SCHEMA => (
            "Group",
            vec![
                attr("displayName", "string").required().unique(),
                attr("members", "complex").multi().subs(vec![
                    attr("value", "string").case_exact().mutability("immutable"),
                    attr("$ref", "reference").mutability("immutable"),
                    attr("type", "string").mutability("immutable"),
                ]),
            ],
        ),
        _ => return None,
    };
    Some(json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": urn,
        "name": name,
        "description": format!("{name} as this service keeps it"),
        "attributes": attributes.iter().map(Attr::json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{urn}")},
    }))
}

pub async fn schemas(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let all: Vec<Value> = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]
        .iter()
        .filter_map(|urn| schema_of(urn, &base))
        .collect();
    scim_json(StatusCode::OK, &scim::list_response(3, 1, all))
}

pub async fn schema(headers: HeaderMap, Path(urn): Path<String>) -> Result<Response, ScimFailure> {
    schema_of(&urn, &base_url(&headers))
        .map(|found| scim_json(StatusCode::OK, &found))
        .ok_or_else(|| ScimError::not_found(format!("no schema has the id {urn:?}")).into())
}
