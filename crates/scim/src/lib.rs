//! SCIM 2.0 protocol pieces (RFC 7643, RFC 7644): filters, PATCH paths and operations,
//! attribute projection, errors and list responses.
//!
//! Everything here works on `serde_json::Value` resources as the server renders them, so the
//! crate knows nothing of HTTP, storage or our directory model: the server parses a request
//! with these functions, runs it against JSON, and validates the result itself.

mod error;
mod filter;
mod list;
mod patch;
mod path;
mod projection;
mod resolve;
mod schema;
mod sort;

pub use error::{ScimError, ScimType};
pub use filter::{AttrPath, CompareOp, Filter, parse_filter};
pub use list::list_response;
pub use patch::{PatchOpKind, PatchOperation, apply_patch, parse_patch};
pub use path::{PatchPath, parse_path};
pub use projection::{parse_attribute_list, project};
pub use schema::{GROUP, ResourceSchema, USER};
pub use sort::{SortKey, sort_key};

/// The core User schema (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The body of a PATCH request (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The body of a query answer (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The body of an error answer (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The body of a POST `/.search` request (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
