//! Applying one PATCH operation to a resource object (RFC 7644 §3.5.2.1–3).
//!
//! The RFC's rules, and where this follows clients rather than the letter:
//! - add appends to multi-valued attributes (without duplicates), merges into complex ones
//!   and sets anything else; replace sets, except that replacing a complex attribute by path
//!   merges its sub-attributes (§3.5.2.3: "sub-attributes that are not specified … are left
//!   unchanged"); remove removes.
//! - null and [] are the same as unassigned (RFC 7643 §2.5): setting them removes.
//! - a filtered add or replace that matches nothing creates the element when the filter
//!   describes it (`emails[type eq "work"].value`), as Entra and Okta expect.
//! - a path-less value may hold dotted or URN-qualified names (`"name.givenName"`), which
//!   Entra sends; they are applied as the paths they spell.

use serde_json::{Map, Value};

use super::filtered::filtered;
use super::members::remove_given;
use super::write::{add_value, replace_at, replace_value};
use super::{PatchOpKind, PatchOperation};
use crate::resolve::{self, Scope};
use crate::{PatchPath, ResourceSchema, ScimError, parse_path};

type Object = Map<String, Value>;

/// What an operation does at its target, with its value.
pub(super) enum Action<'a> {
    Add(&'a Value),
    Replace(&'a Value),
    /// Entra sends the members to remove as a value of a remove on `members`.
    Remove(Option<&'a Value>),
}

pub(super) fn apply(
    root: &mut Object,
    op: &PatchOperation,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let action = match (op.op, &op.value) {
        (PatchOpKind::Add, Some(value)) => Action::Add(value),
        (PatchOpKind::Replace, Some(value)) => Action::Replace(value),
        (PatchOpKind::Remove, value) => Action::Remove(value.as_ref().filter(|v| !v.is_null())),
        (_, None) => {
            return Err(ScimError::invalid_syntax(
                "expected a value for add or replace",
            ));
        }
    };
    match (&op.path, action) {
        (Some(path), action) => at_path(root, path, action, schema),
        (None, Action::Remove(_)) => Err(ScimError::no_target(
            "expected a path: remove needs to know what to remove",
        )),
        (None, action) => on_resource(root, action, schema),
    }
}

/// add or replace without a path: the value holds attributes of the resource.
fn on_resource(
    root: &mut Object,
    action: Action<'_>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let (Action::Add(value) | Action::Replace(value)) = action else {
        return Err(ScimError::no_target("expected a path for remove"));
    };
    let adding = matches!(action, Action::Add(_));
    let Value::Object(members) = value else {
        return Err(ScimError::invalid_syntax(
            "expected the value of an add or replace without a path to be an object of attributes",
        ));
    };
    for (key, member) in members {
        // Server-maintained; clients echo them back from a GET.
        if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            extension_member(root, &ext, member, adding)?;
            tidy_extension(root, &ext);
            continue;
        }
        let path = parse_path(key).map_err(|err| {
            ScimError::invalid_path(format!(
                "expected value member {key:?} to be an attribute name: {}",
                err.detail
            ))
        })?;
        if !is_plain(&path) {
            let action = if adding {
                Action::Add(member)
            } else {
                Action::Replace(member)
            };
            at_path(root, &path, action, schema)?;
            continue;
        }
        let name = path.attr.name.as_str();
        if schema.is_read_only(&path.attr.key()) {
            // Okta sends the resource's own id along; only a change is an error.
            if resolve::get(root, name) == Some(member) {
                continue;
            }
            return Err(ScimError::mutability(format!("{name} is read-only")));
        }
        if adding {
            add_value(root, name, member.clone());
        } else {
            replace_value(root, name, member.clone());
        }
    }
    Ok(())
}

fn is_plain(path: &PatchPath) -> bool {
    path.attr.urn.is_none()
        && path.attr.sub.is_none()
        && path.filter.is_none()
        && path.sub.is_none()
}

/// A path-less value's member named by an extension URN: its attributes merge one by one
/// into the extension object, added or replaced like top-level ones.
fn extension_member(
    root: &mut Object,
    ext: &str,
    member: &Value,
    adding: bool,
) -> Result<(), ScimError> {
    match member {
        Value::Object(attributes) => {
            let inner = extension_object(root, ext)?;
            for (name, value) in attributes {
                if adding {
                    add_value(inner, name, value.clone());
                } else {
                    replace_value(inner, name, value.clone());
                }
            }
        }
        Value::Null if !adding => {
            resolve::remove(root, ext);
        }
        Value::Null => {}
        // Not an object: set as given, for the server's validation to judge.
        other => resolve::set(root, ext, other.clone()),
    }
    Ok(())
}

fn at_path(
    root: &mut Object,
    path: &PatchPath,
    action: Action<'_>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let attr = &path.attr;
    let scope = resolve::scope_of(attr, schema);
    let read_only = scope == Scope::Core
        && (schema.is_read_only(&attr.name.to_ascii_lowercase())
            || schema.is_read_only(&attr.key()));
    if read_only {
        // Removing what is not there changes nothing, so it cannot break read-only-ness.
        if matches!(action, Action::Remove(_)) && resolve::get(root, &attr.name).is_none() {
            return Ok(());
        }
        return Err(ScimError::mutability(format!("{path} is read-only")));
    }
    match scope {
        Scope::Core => on_attribute(root, &attr.name, path, action, schema),
        Scope::ExtensionObject(ext) => {
            on_attribute(root, &ext, path, action, schema)?;
            tidy_extension(root, &ext);
            Ok(())
        }
        Scope::Extension(ext) => {
            let inner = if matches!(action, Action::Remove(_)) {
                match resolve::get_mut(root, &ext) {
                    Some(Value::Object(inner)) => inner,
                    _ => return Ok(()),
                }
            } else {
                extension_object(root, &ext)?
            };
            on_attribute(inner, &attr.name, path, action, schema)?;
            tidy_extension(root, &ext);
            Ok(())
        }
        Scope::Unknown => Err(ScimError::invalid_path(format!(
            "{path}: {} is not a schema of this resource",
            attr.urn.as_deref().unwrap_or_default()
        ))),
    }
}

/// The operation on attribute `name` of `object` (the resource, or an extension object).
fn on_attribute(
    object: &mut Object,
    name: &str,
    path: &PatchPath,
    action: Action<'_>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    match (&path.attr.sub, &path.filter, &path.sub) {
        (None, None, None) => {
            whole(object, name, action);
            Ok(())
        }
        (Some(sub), None, None) => sub_attribute(object, name, sub, action),
        (None, Some(filter), sub) => {
            let outer_key = path.attr.key();
            filtered(
                object,
                name,
                &outer_key,
                filter,
                sub.as_deref(),
                action,
                schema,
            )
        }
        _ => Err(ScimError::invalid_path(format!(
            "{path}: expected attr, attr.sub, attr[filter] or attr[filter].sub"
        ))),
    }
}

fn whole(object: &mut Object, name: &str, action: Action<'_>) {
    match action {
        Action::Add(value) => add_value(object, name, value.clone()),
        Action::Replace(value) => replace_at(object, name, value.clone()),
        Action::Remove(None) => {
            resolve::remove(object, name);
        }
        Action::Remove(Some(given)) => {
            let now_empty = match resolve::get_mut(object, name) {
                Some(Value::Array(items)) => {
                    remove_given(items, given);
                    items.is_empty()
                }
                // A value given for a single-valued attribute says no more than the path.
                _ => true,
            };
            if now_empty {
                resolve::remove(object, name);
            }
        }
    }
}

fn sub_attribute(
    object: &mut Object,
    name: &str,
    sub: &str,
    action: Action<'_>,
) -> Result<(), ScimError> {
    let write = |target: &mut Object| match action {
        Action::Add(value) => add_value(target, sub, value.clone()),
        Action::Replace(value) => replace_at(target, sub, value.clone()),
        Action::Remove(_) => {
            resolve::remove(target, sub);
        }
    };
    let removing = matches!(action, Action::Remove(_));
    let now_empty = match resolve::get_mut(object, name) {
        Some(Value::Object(inner)) => {
            write(inner);
            inner.is_empty()
        }
        // `emails.type`: the sub-attribute of every element.
        Some(Value::Array(items)) => {
            let mut any = false;
            for item in items.iter_mut() {
                if let Value::Object(inner) = item {
                    write(inner);
                    any = true;
                }
            }
            if !any && !removing {
                return Err(ScimError::no_target(format!(
                    "{name} has no complex value to set {sub} on"
                )));
            }
            false
        }
        None | Some(Value::Null) => {
            if !removing {
                let mut inner = Map::new();
                write(&mut inner);
                if !inner.is_empty() {
                    resolve::set(object, name, Value::Object(inner));
                }
            }
            false
        }
        Some(_) if removing => false,
        Some(_) => {
            return Err(ScimError::no_target(format!(
                "{name} is not a complex attribute, so it has no {sub}"
            )));
        }
    };
    if now_empty {
        resolve::remove(object, name);
    }
    Ok(())
}

/// The extension object under `ext`, created when missing.
fn extension_object<'a>(root: &'a mut Object, ext: &str) -> Result<&'a mut Object, ScimError> {
    if resolve::get(root, ext).is_none_or(Value::is_null) {
        resolve::set(root, ext, Value::Object(Map::new()));
    }
    match resolve::get_mut(root, ext) {
        Some(Value::Object(inner)) => Ok(inner),
        _ => Err(ScimError::no_target(format!(
            "{ext} is not an object of extension attributes"
        ))),
    }
}

/// Keeps `schemas` telling the truth about an extension the operation touched (RFC 7643 §3):
/// listed while its object has attributes, dropped (with the object) once it has none.
fn tidy_extension(root: &mut Object, ext: &str) {
    let in_use = match resolve::get(root, ext) {
        None => false,
        Some(Value::Object(inner)) if inner.is_empty() => {
            resolve::remove(root, ext);
            false
        }
        Some(Value::Null) => {
            resolve::remove(root, ext);
            false
        }
        Some(_) => true,
    };
    if let Some(Value::Array(schemas)) = resolve::get_mut(root, "schemas") {
        let is_ext = |schema: &Value| schema.as_str().is_some_and(|s| s.eq_ignore_ascii_case(ext));
        let listed = schemas.iter().any(is_ext);
        if in_use && !listed {
            schemas.push(Value::from(ext));
        } else if !in_use && listed {
            schemas.retain(|schema| !is_ext(schema));
        }
    }
}
