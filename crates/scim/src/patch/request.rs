//! Reading a PatchOp request body into operations.

use serde_json::{Map, Value};

use super::{PatchOpKind, PatchOperation};
use crate::resolve;
use crate::{PATCH_OP_SCHEMA, ScimError, parse_path};

/// Most operations accepted in one request; a bound on the work one request can cause.
pub(crate) const MAX_OPERATIONS: usize = 1000;

pub(super) fn parse(body: &Value) -> Result<Vec<PatchOperation>, ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "expected a PatchOp request: a JSON object",
        ));
    };
    check_schemas(body)?;
    // RFC 7644 spells it "Operations"; clients also send "operations".
    let operations = match resolve::get(body, "Operations") {
        None | Some(Value::Null) => {
            return Err(ScimError::invalid_syntax(
                "expected an Operations array in the PatchOp request",
            ));
        }
        Some(Value::Array(operations)) => operations,
        Some(_) => {
            return Err(ScimError::invalid_syntax(
                "expected Operations to be an array",
            ));
        }
    };
    if operations.is_empty() {
        return Err(ScimError::invalid_syntax(
            "expected at least one operation in Operations",
        ));
    }
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "expected at most {MAX_OPERATIONS} operations, got {}",
            operations.len()
        )));
    }
    operations
        .iter()
        .enumerate()
        .map(|(index, op)| {
            operation(op).map_err(|err| ScimError {
                detail: format!("Operations[{index}]: {}", err.detail),
                ..err
            })
        })
        .collect()
}

/// `schemas` may be left out (several clients do), but if present it names only PatchOp.
fn check_schemas(body: &Map<String, Value>) -> Result<(), ScimError> {
    let is_patch_op = |value: &Value| {
        value
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
    };
    let fine = match resolve::get(body, "schemas") {
        None | Some(Value::Null) => true,
        Some(Value::Array(schemas)) => schemas.iter().all(is_patch_op),
        Some(single) => is_patch_op(single),
    };
    if fine {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "expected schemas to list only {PATCH_OP_SCHEMA}"
        )))
    }
}

fn operation(op: &Value) -> Result<PatchOperation, ScimError> {
    let Value::Object(op) = op else {
        return Err(ScimError::invalid_syntax("expected an operation object"));
    };
    let kind = match resolve::get(op, "op").and_then(Value::as_str) {
        Some(text) if text.eq_ignore_ascii_case("add") => PatchOpKind::Add,
        Some(text) if text.eq_ignore_ascii_case("replace") => PatchOpKind::Replace,
        Some(text) if text.eq_ignore_ascii_case("remove") => PatchOpKind::Remove,
        Some(text) => {
            return Err(ScimError::invalid_syntax(format!(
                "expected op to be add, replace or remove, got {text:?}"
            )));
        }
        None => {
            return Err(ScimError::invalid_syntax(
                "expected an op (add, replace or remove)",
            ));
        }
    };
    let path = match resolve::get(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(parse_path(text)?),
        Some(_) => return Err(ScimError::invalid_path("expected path to be a string")),
    };
    let value = resolve::get(op, "value").cloned();
    match kind {
        PatchOpKind::Remove if path.is_none() => Err(ScimError::no_target(
            "expected a path: remove needs to know what to remove",
        )),
        PatchOpKind::Add | PatchOpKind::Replace if value.is_none() => Err(
            ScimError::invalid_syntax("expected a value for add or replace"),
        ),
        _ => Ok(PatchOperation {
            op: kind,
            path,
            value,
        }),
    }
}
