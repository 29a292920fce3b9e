//! The `attributes` and `excludedAttributes` query parameters (RFC 7644 §3.4.2.5, §3.9).

use serde_json::{Map, Value};

use crate::filter::parser::MAX_LEN;
use crate::resolve::{self, Scope};
use crate::{AttrPath, ResourceSchema, ScimError};

/// Attributes returned whatever the client asks: `id` is "returned always" (RFC 7643 §3.1),
/// and `schemas`/`meta` are what makes the rest of the resource readable.
const ALWAYS: [&str; 3] = ["id", "schemas", "meta"];

/// Parses a comma-separated list of attribute paths; spaces around commas and empty items
/// (a trailing comma) are tolerated.
pub fn parse_attribute_list(text: &str) -> Result<Vec<AttrPath>, ScimError> {
    if text.len() > MAX_LEN {
        return Err(ScimError::invalid_path(format!(
            "expected at most {MAX_LEN} bytes of attribute names, got {}",
            text.len()
        )));
    }
    text.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(AttrPath::parse)
        .collect()
}

/// Keeps only `attributes` (when given and not empty) and then drops `excluded`; `id`,
/// `schemas` and `meta` always stay. A sub-attribute path keeps or drops just that
/// sub-attribute (in every element of a multi-valued attribute); a path with an extension
/// URN reaches into the extension object; a URN this resource type lacks selects nothing.
pub fn project(
    resource: &mut Value,
    attributes: Option<&[AttrPath]>,
    excluded: Option<&[AttrPath]>,
    schema: &ResourceSchema,
) {
    let Value::Object(root) = resource else {
        return;
    };
    if let Some(attributes) = attributes.filter(|list| !list.is_empty()) {
        keep_only(root, &Selection::of(attributes, schema), schema);
    }
    for path in excluded.unwrap_or_default() {
        exclude(root, path, schema);
    }
}

/// What to keep of one attribute: all of it, or some of its sub-attributes (lower-case).
#[derive(Default)]
struct Wanted {
    whole: bool,
    subs: Vec<String>,
}

impl Wanted {
    fn add(&mut self, sub: Option<&str>) {
        match sub {
            None => self.whole = true,
            Some(sub) => self.subs.push(sub.to_ascii_lowercase()),
        }
    }

    fn wants_sub(&self, key: &str) -> bool {
        self.subs.iter().any(|sub| sub.eq_ignore_ascii_case(key))
    }
}

/// Wanted attributes by lower-case name.
#[derive(Default)]
struct Attributes(Vec<(String, Wanted)>);

impl Attributes {
    fn add(&mut self, path: &AttrPath) {
        let name = path.name.to_ascii_lowercase();
        let index = match self.0.iter().position(|(known, _)| *known == name) {
            Some(index) => index,
            None => {
                self.0.push((name, Wanted::default()));
                self.0.len() - 1
            }
        };
        self.0[index].1.add(path.sub.as_deref());
    }

    fn get(&self, key: &str) -> Option<&Wanted> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, wanted)| wanted)
    }
}

/// The `attributes` list sorted by where each path points.
#[derive(Default)]
struct Selection {
    core: Attributes,
    /// Per extension: None for the whole extension object, else the attributes inside it.
    /// URNs compare regardless of case: an open extension is spelled as the path gives it.
    extensions: Vec<(String, Option<Attributes>)>,
}

impl Selection {
    fn of(paths: &[AttrPath], schema: &ResourceSchema) -> Selection {
        let mut selection = Selection::default();
        for path in paths {
            match resolve::scope_of(path, schema) {
                Scope::Core => selection.core.add(path),
                Scope::Extension(ext) => {
                    if let Some(attributes) = selection.extension_entry(&ext) {
                        attributes.add(path);
                    }
                }
                Scope::ExtensionObject(ext) => {
                    selection.extension_slot(&ext).1 = None;
                }
                Scope::Unknown => {}
            }
        }
        selection
    }

    fn extension_slot(&mut self, ext: &str) -> &mut (String, Option<Attributes>) {
        let index = match self.position(ext) {
            Some(index) => index,
            None => {
                self.extensions
                    .push((ext.to_owned(), Some(Attributes::default())));
                self.extensions.len() - 1
            }
        };
        &mut self.extensions[index]
    }

    /// The attribute list of an extension, or None when the whole extension is wanted.
    fn extension_entry(&mut self, ext: &str) -> Option<&mut Attributes> {
        self.extension_slot(ext).1.as_mut()
    }

    fn position(&self, ext: &str) -> Option<usize> {
        self.extensions
            .iter()
            .position(|(known, _)| known.eq_ignore_ascii_case(ext))
    }

    fn extension(&self, ext: &str) -> Option<&Option<Attributes>> {
        self.position(ext).map(|index| &self.extensions[index].1)
    }
}

fn keep_only(root: &mut Map<String, Value>, selection: &Selection, schema: &ResourceSchema) {
    root.retain(|key, value| {
        if ALWAYS.iter().any(|always| always.eq_ignore_ascii_case(key)) {
            return true;
        }
        if let Some(ext) = schema.extension(key) {
            return match selection.extension(&ext) {
                None => false,
                Some(None) => true,
                Some(Some(attributes)) => match value {
                    Value::Object(inner) => {
                        inner.retain(|key, value| keep(value, attributes.get(key)));
                        !inner.is_empty()
                    }
                    _ => false,
                },
            };
        }
        keep(value, selection.core.get(key))
    });
}

/// Trims `value` to what is wanted of it; false when nothing of it is left.
fn keep(value: &mut Value, wanted: Option<&Wanted>) -> bool {
    let Some(wanted) = wanted else {
        return false;
    };
    if wanted.whole {
        return true;
    }
    match value {
        Value::Object(members) => {
            members.retain(|key, _| wanted.wants_sub(key));
            !members.is_empty()
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(members) = item {
                    members.retain(|key, _| wanted.wants_sub(key));
                }
            }
            items.retain(|item| item.as_object().is_none_or(|members| !members.is_empty()));
            !items.is_empty()
        }
        // A sub-attribute of a simple value does not exist.
        _ => false,
    }
}

fn exclude(root: &mut Map<String, Value>, path: &AttrPath, schema: &ResourceSchema) {
    match resolve::scope_of(path, schema) {
        Scope::Core => {
            if ALWAYS
                .iter()
                .any(|always| always.eq_ignore_ascii_case(&path.name))
            {
                return;
            }
            drop_attribute(root, path);
        }
        Scope::Extension(ext) => {
            if let Some(Value::Object(inner)) = resolve::get_mut(root, &ext) {
                drop_attribute(inner, path);
                if inner.is_empty() {
                    resolve::remove(root, &ext);
                }
            }
        }
        Scope::ExtensionObject(ext) => {
            resolve::remove(root, &ext);
        }
        Scope::Unknown => {}
    }
}

/// Drops `path.name`, or only its sub-attribute, from `object`; a complex value left with
/// nothing in it goes too.
fn drop_attribute(object: &mut Map<String, Value>, path: &AttrPath) {
    let Some(sub) = &path.sub else {
        resolve::remove(object, &path.name);
        return;
    };
    let now_empty = match resolve::get_mut(object, &path.name) {
        Some(Value::Object(members)) => {
            resolve::remove(members, sub);
            members.is_empty()
        }
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                if let Value::Object(members) = item {
                    resolve::remove(members, sub);
                }
            }
            items.retain(|item| item.as_object().is_none_or(|members| !members.is_empty()));
            items.is_empty()
        }
        _ => false,
    };
    if now_empty {
        resolve::remove(object, &path.name);
    }
}
