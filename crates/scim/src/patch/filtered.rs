//! PATCH targets with a value filter: `attr[filter]` and `attr[filter].sub` (RFC 7644
//! §3.5.2), including the element a filtered add or replace creates when none matches.

use serde_json::{Map, Value};

use super::apply::Action;
use super::members::element_from_filter;
use super::write::{add_value, merge, replace_at};
use crate::filter::element_matches;
use crate::resolve;
use crate::{Filter, ResourceSchema, ScimError};

type Object = Map<String, Value>;

/// `attr[filter]` and `attr[filter].sub`.
pub(super) fn filtered(
    object: &mut Object,
    name: &str,
    outer_key: &str,
    filter: &Filter,
    sub: Option<&str>,
    action: Action<'_>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let selected = |value: &Value| element_matches(filter, value, outer_key, schema);
    let new_value = match action {
        Action::Add(value) | Action::Replace(value) => value,
        Action::Remove(_) => {
            remove_selected(object, name, sub, &selected);
            return Ok(());
        }
    };
    let adding = matches!(action, Action::Add(_));
    let mut matched = false;
    let now_empty = match resolve::get_mut(object, name) {
        Some(Value::Array(items)) => {
            for item in items.iter_mut().filter(|item| selected(item)) {
                matched = true;
                write_element(item, sub, new_value, adding);
            }
            items.retain(|item| !item.is_null());
            items.is_empty()
        }
        // A singular complex attribute filtered like a one-element list.
        Some(single) if selected(single) => {
            matched = true;
            write_element(single, sub, new_value, adding);
            single.is_null()
        }
        _ => false,
    };
    if now_empty {
        resolve::remove(object, name);
    }
    if matched {
        return Ok(());
    }
    create_element(object, name, filter, sub, new_value)
}

fn remove_selected(
    object: &mut Object,
    name: &str,
    sub: Option<&str>,
    selected: &dyn Fn(&Value) -> bool,
) {
    let now_empty = match resolve::get_mut(object, name) {
        Some(Value::Array(items)) => {
            match sub {
                None => items.retain(|item| !selected(item)),
                Some(sub) => {
                    for item in items.iter_mut().filter(|item| selected(item)) {
                        if let Value::Object(inner) = item {
                            resolve::remove(inner, sub);
                        }
                    }
                }
            }
            items.is_empty()
        }
        Some(single) if selected(single) => match (sub, single) {
            (Some(sub), Value::Object(inner)) => {
                resolve::remove(inner, sub);
                inner.is_empty()
            }
            _ => true,
        },
        _ => false,
    };
    if now_empty {
        resolve::remove(object, name);
    }
}

/// Writes to one selected element: its sub-attribute, or the element itself (an add merges
/// an object into it, a replace replaces it).
fn write_element(element: &mut Value, sub: Option<&str>, value: &Value, adding: bool) {
    match (sub, element) {
        (Some(sub), Value::Object(inner)) => {
            if adding {
                add_value(inner, sub, value.clone());
            } else {
                replace_at(inner, sub, value.clone());
            }
        }
        (Some(_), _) => {}
        (None, Value::Object(inner)) if adding && value.is_object() => {
            if let Value::Object(new) = value {
                merge(inner, new);
            }
        }
        (None, element) => {
            if !(adding && value.is_null()) {
                *element = value.clone();
            }
        }
    }
}

/// No element matched a filtered add or replace: add the element the filter describes.
fn create_element(
    object: &mut Object,
    name: &str,
    filter: &Filter,
    sub: Option<&str>,
    value: &Value,
) -> Result<(), ScimError> {
    let Some(mut element) = element_from_filter(filter) else {
        return Err(ScimError::no_target(format!(
            "no value of {name} matches [{filter}], and the filter does not describe one to add \
             (only eq comparisons with strings or booleans, joined by and, do)"
        )));
    };
    match (sub, value) {
        (_, Value::Null) => return Ok(()),
        (Some(sub), value) => {
            element.insert(sub.to_owned(), value.clone());
        }
        (None, Value::Object(new)) => merge(&mut element, new),
        (None, _) => {
            return Err(ScimError::no_target(format!(
                "no value of {name} matches [{filter}]; expected an object of sub-attributes to add one"
            )));
        }
    }
    match resolve::get_mut(object, name) {
        Some(Value::Array(items)) => items.push(Value::Object(element)),
        None | Some(Value::Null) => {
            resolve::set(object, name, Value::Array(vec![Value::Object(element)]));
        }
        Some(_) => {
            return Err(ScimError::no_target(format!(
                "{name} is not multi-valued, and its value does not match [{filter}]"
            )));
        }
    }
    Ok(())
}
