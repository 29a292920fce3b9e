//! Evaluating a filter against a resource. `and`/`or` chains are walked in loops, so only
//! parenthesised nesting (capped by the parser) costs stack.

use serde_json::Value;

use super::compare;
use super::{AttrPath, Filter};
use crate::ResourceSchema;
use crate::resolve;

/// What the paths of the filter being evaluated are relative to.
#[derive(Clone, Copy)]
enum Base<'a> {
    Resource,
    /// An element of the multi-valued attribute whose key is given, inside a valuePath.
    Element {
        outer_key: &'a str,
    },
}

pub(super) fn matches(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    eval(filter, resource, Base::Resource, schema)
}

/// Whether one element of the multi-valued attribute `outer_key` matches a value filter
/// (`members[value eq "x"]`): what PATCH needs to pick elements.
pub(crate) fn element_matches(
    filter: &Filter,
    element: &Value,
    outer_key: &str,
    schema: &ResourceSchema,
) -> bool {
    element.is_object() && eval(filter, element, Base::Element { outer_key }, schema)
}

fn eval(filter: &Filter, target: &Value, base: Base<'_>, schema: &ResourceSchema) -> bool {
    match filter {
        Filter::And(..) => chain(filter, true, target, base, schema),
        Filter::Or(..) => chain(filter, false, target, base, schema),
        Filter::Not(inner) => !eval(inner, target, base, schema),
        Filter::Present(path) => values(target, path, base, schema)
            .into_iter()
            .any(is_present),
        Filter::Compare { path, op, value } => {
            let found = values(target, path, base, schema);
            compare::compare(&found, *op, value, schema.is_case_exact(&key(path, base)))
        }
        Filter::ValuePath { path, filter } => match base {
            // The parser never nests value filters; a hand-built tree that does matches nothing.
            Base::Element { .. } => false,
            Base::Resource => {
                let outer_key = path.key();
                resolve::read(target, path, schema)
                    .into_iter()
                    .any(|element| element_matches(filter, element, &outer_key, schema))
            }
        },
    }
}

/// A left-leaning chain of `and` (`all` = true) or `or`, evaluated left to right with
/// short-circuit, without recursing down the chain.
fn chain(
    filter: &Filter,
    all: bool,
    target: &Value,
    base: Base<'_>,
    schema: &ResourceSchema,
) -> bool {
    let mut rights = Vec::new();
    let mut node = filter;
    while let (Filter::And(left, right), true) | (Filter::Or(left, right), false) = (node, all) {
        rights.push(right.as_ref());
        node = left;
    }
    let mut operands = std::iter::once(node).chain(rights.into_iter().rev());
    if all {
        operands.all(|f| eval(f, target, base, schema))
    } else {
        operands.any(|f| eval(f, target, base, schema))
    }
}

fn values<'a>(
    target: &'a Value,
    path: &AttrPath,
    base: Base<'_>,
    schema: &ResourceSchema,
) -> Vec<&'a Value> {
    match base {
        Base::Resource => resolve::read(target, path, schema),
        Base::Element { .. } => resolve::read_relative(target, path),
    }
}

/// The key `case_exact` is checked against; inside a valuePath it is the outer attribute
/// plus the inner one ("members.value").
fn key(path: &AttrPath, base: Base<'_>) -> String {
    match base {
        Base::Resource => path.key(),
        Base::Element { outer_key } => format!("{outer_key}.{}", path.key()),
    }
}

/// `pr` (RFC 7644 §3.4.2.2): has a non-empty value; RFC 7643 §2.5 makes null, "" and
/// empty arrays and objects the same as unassigned.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(members) => !members.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}
