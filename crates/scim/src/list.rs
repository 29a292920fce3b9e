//! The ListResponse envelope of RFC 7644 §3.4.2.

use serde_json::{Value, json};

use crate::LIST_RESPONSE_SCHEMA;

/// `{"schemas":[LIST_RESPONSE_SCHEMA],"totalResults":…,"startIndex":…,"itemsPerPage":…,"Resources":[…]}`;
/// `itemsPerPage` is the number of resources on this page, as RFC 7644 §3.4.2 defines it.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
