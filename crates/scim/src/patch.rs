//! SCIM PATCH (RFC 7644 §3.5.2): reading a PatchOp body and applying its operations to a
//! JSON resource.

mod apply;
mod filtered;
mod members;
mod request;
mod write;

use serde_json::Value;

use crate::{PatchPath, ResourceSchema, ScimError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Reads a PatchOp request body: liberal in form the way real clients send it (`op` in any
/// case, `schemas` optional, `Operations` in any case, an empty path meaning none), strict
/// in substance: no Operations, an unknown op, add/replace without a value (invalidSyntax),
/// remove without a path (noTarget), more than 1000 operations (tooMany), a bad path
/// (invalidPath).
pub fn parse_patch(body: &Value) -> Result<Vec<PatchOperation>, ScimError> {
    request::parse(body)
}

/// Applies `ops` in order to `resource`, all or nothing: the work happens on a copy that
/// replaces `resource` only when every operation succeeded (RFC 7644 §3.5.2: atomic).
pub fn apply_patch(
    resource: &mut Value,
    ops: &[PatchOperation],
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let mut work = resource.clone();
    let Value::Object(root) = &mut work else {
        return Err(ScimError::invalid_syntax(
            "the resource to patch is not a JSON object",
        ));
    };
    for (index, op) in ops.iter().enumerate() {
        apply::apply(root, op, schema).map_err(|err| ScimError {
            detail: format!("Operations[{index}]: {}", err.detail),
            ..err
        })?;
    }
    *resource = work;
    Ok(())
}
