//! Values of multi-valued attributes: when two are "the same" (for de-duplicating an add and
//! for Entra's remove-by-value), appending without duplicates, and the element Entra and
//! Okta expect a filtered add to create.

use serde_json::{Map, Value};

use crate::filter::conjuncts;
use crate::resolve;
use crate::{CompareOp, Filter};

/// Two values of a multi-valued attribute are the same when equal, or when they are complex
/// and have equal "value" sub-attributes (a member given as `{"value":"id"}` is the member
/// with that id whatever else it carries), or when one is the other's "value".
pub(super) fn same_member(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (value_of(a), value_of(b)) {
        (Some(x), Some(y)) => x == y,
        (Some(x), None) => !b.is_object() && x == b,
        (None, Some(y)) => !a.is_object() && a == y,
        (None, None) => false,
    }
}

fn value_of(value: &Value) -> Option<&Value> {
    value
        .as_object()
        .and_then(|members| resolve::get(members, "value"))
}

/// Appends `new` (one value, or each value of an array) to `items`, skipping nulls and
/// values already there.
pub(super) fn append_unique(items: &mut Vec<Value>, new: Value) {
    let new = match new {
        Value::Array(values) => values,
        single => vec![single],
    };
    for value in new {
        if !value.is_null() && !items.iter().any(|item| same_member(item, &value)) {
            items.push(value);
        }
    }
}

/// Removes from `items` every element that is the same as `given` or one of its values.
pub(super) fn remove_given(items: &mut Vec<Value>, given: &Value) {
    let given: &[Value] = match given {
        Value::Array(values) => values,
        single => std::slice::from_ref(single),
    };
    items.retain(|item| !given.iter().any(|g| same_member(item, g)));
}

/// The element a value filter describes, when it is only `attr eq "text"` or `attr eq bool`
/// comparisons joined by `and` on plain attributes, with no attribute given two values:
/// `type eq "work" and primary eq true` gives `{"type":"work","primary":true}`.
pub(super) fn element_from_filter(filter: &Filter) -> Option<Map<String, Value>> {
    let mut element = Map::new();
    for conjunct in conjuncts(filter) {
        let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } = conjunct
        else {
            return None;
        };
        if path.urn.is_some() || path.sub.is_some() || !(value.is_string() || value.is_boolean()) {
            return None;
        }
        match resolve::get(&element, &path.name) {
            Some(known) if known != value => return None,
            Some(_) => {}
            None => {
                element.insert(path.name.clone(), value.clone());
            }
        }
    }
    Some(element)
}
