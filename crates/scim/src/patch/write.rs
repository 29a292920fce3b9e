//! Writing one value into an object the way add and replace do: the primitives every PATCH
//! target comes down to. Keys match case-insensitively and keep their spelling.

use serde_json::{Map, Value};

use super::members::append_unique;
use crate::resolve;

type Object = Map<String, Value>;

/// add of `value` to attribute `name`: appended to a multi-valued attribute, merged into a
/// complex one, set otherwise. Adding null adds nothing.
pub(super) fn add_value(object: &mut Object, name: &str, value: Value) {
    if value.is_null() {
        return;
    }
    match resolve::get_mut(object, name) {
        Some(Value::Array(items)) => append_unique(items, value),
        Some(Value::Object(existing)) if value.is_object() => {
            if let Value::Object(new) = &value {
                merge(existing, new);
            }
        }
        Some(existing) if !existing.is_null() => *existing = value,
        _ => match value {
            Value::Array(_) => {
                let mut items = Vec::new();
                append_unique(&mut items, value);
                if !items.is_empty() {
                    resolve::set(object, name, Value::Array(items));
                }
            }
            single => resolve::set(object, name, single),
        },
    }
}

/// replace by path: a complex attribute merges the given sub-attributes (RFC 7644
/// §3.5.2.3), anything else is set.
pub(super) fn replace_at(object: &mut Object, name: &str, value: Value) {
    if let (Some(Value::Object(existing)), Value::Object(new)) =
        (resolve::get_mut(object, name), &value)
    {
        merge(existing, new);
        return;
    }
    replace_value(object, name, value);
}

/// Sets attribute `name` to `value`, whole; null or [] unassigns it.
pub(super) fn replace_value(object: &mut Object, name: &str, value: Value) {
    let unassigned = match &value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    if unassigned {
        resolve::remove(object, name);
    } else {
        resolve::set(object, name, value);
    }
}

/// Sub-attributes of `new` set into `existing`; a null one unassigns. Complex attributes
/// hold only simple sub-attributes (RFC 7643 §2.3.8), so one level is all there is.
pub(super) fn merge(existing: &mut Object, new: &Object) {
    for (key, value) in new {
        if value.is_null() {
            resolve::remove(existing, key);
        } else {
            resolve::set(existing, key, value.clone());
        }
    }
}
