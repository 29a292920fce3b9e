//! Finding attributes in a JSON resource the way SCIM addresses them: names match keys
//! case-insensitively (RFC 7643 §2.1), a core-URN prefix means the top level, an extension
//! URN means the object under that URN's key, and sub-attributes read into complex values,
//! over every element of a multi-valued one.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::{AttrPath, ResourceSchema};

/// The key of `map` that `name` addresses: the exact spelling if present, else any spelling
/// that differs only in case (attribute names and URNs are ASCII).
pub(crate) fn find_key<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    match map.get_key_value(name) {
        Some((key, _)) => Some(key),
        None => map.keys().find(|key| key.eq_ignore_ascii_case(name)),
    }
}

pub(crate) fn get<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    find_key(map, name).and_then(|key| map.get(key))
}

pub(crate) fn get_mut<'a>(map: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = find_key(map, name)?.clone();
    map.get_mut(&key)
}

/// Sets `name`, keeping the spelling of a key that is already there.
pub(crate) fn set(map: &mut Map<String, Value>, name: &str, value: Value) {
    let key = find_key(map, name).map_or_else(|| name.to_owned(), String::clone);
    map.insert(key, value);
}

pub(crate) fn remove(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = find_key(map, name)?.clone();
    map.remove(&key)
}

/// Which object of the resource holds the attribute a path names. An extension's URN is
/// spelled as the schema lists it, or, for an open one, as the path gives it (its key in the
/// resource is matched regardless of case either way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The top level: no URN, or the core schema's URN.
    Core,
    /// Inside the extension object under this URN.
    Extension(Cow<'static, str>),
    /// The path is the extension URN itself (it parses as URN "…:2.0" and name "User"): the
    /// attribute is the whole extension object.
    ExtensionObject(Cow<'static, str>),
    /// A URN this resource type does not have.
    Unknown,
}

pub(crate) fn scope_of(path: &AttrPath, schema: &ResourceSchema) -> Scope {
    let Some(urn) = &path.urn else {
        return Scope::Core;
    };
    let whole = path.sub.is_none().then(|| format!("{urn}:{}", path.name));
    if let Some(ext) = whole.as_deref().and_then(|w| schema.listed_extension(w)) {
        return Scope::ExtensionObject(Cow::Borrowed(ext));
    }
    if schema.is_core(urn) {
        Scope::Core
    } else if let Some(ext) = schema.extension(urn) {
        // Before the whole-object reading of an open extension: `…:2.0:User:user` is the
        // attribute `user` of the extension `…:2.0:User`, though both spell one.
        Scope::Extension(ext)
    } else if let Some(whole) = whole.filter(|w| schema.is_open_extension(w)) {
        Scope::ExtensionObject(Cow::Owned(whole))
    } else {
        Scope::Unknown
    }
}

/// The values a path reads from a resource, multi-valued attributes flattened into their
/// elements (a filter on them is true when any value satisfies it).
pub(crate) fn read<'a>(
    resource: &'a Value,
    path: &AttrPath,
    schema: &ResourceSchema,
) -> Vec<&'a Value> {
    let Some(root) = resource.as_object() else {
        return Vec::new();
    };
    match scope_of(path, schema) {
        Scope::Core => read_in(root, &path.name, path.sub.as_deref()),
        Scope::Extension(ext) => get(root, &ext)
            .and_then(Value::as_object)
            .map_or_else(Vec::new, |object| {
                read_in(object, &path.name, path.sub.as_deref())
            }),
        Scope::ExtensionObject(ext) => get(root, &ext).into_iter().collect(),
        Scope::Unknown => Vec::new(),
    }
}

/// The values a path relative to an element of a multi-valued attribute reads from it.
pub(crate) fn read_relative<'a>(element: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    element.as_object().map_or_else(Vec::new, |object| {
        read_in(object, &path.name, path.sub.as_deref())
    })
}

fn read_in<'a>(object: &'a Map<String, Value>, name: &str, sub: Option<&str>) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let Some(value) = get(object, name) else {
        return out;
    };
    match sub {
        None => push_flat(&mut out, value),
        Some(sub) => match value {
            Value::Array(items) => {
                for item in items {
                    if let Some(found) = item.as_object().and_then(|o| get(o, sub)) {
                        push_flat(&mut out, found);
                    }
                }
            }
            Value::Object(inner) => {
                if let Some(found) = get(inner, sub) {
                    push_flat(&mut out, found);
                }
            }
            _ => {}
        },
    }
    out
}

fn push_flat<'a>(out: &mut Vec<&'a Value>, value: &'a Value) {
    match value {
        Value::Array(items) => out.extend(items),
        other => out.push(other),
    }
}
