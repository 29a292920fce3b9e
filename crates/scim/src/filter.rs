//! SCIM filters (RFC 7644 §3.4.2.2): the tree, its parser, its evaluation against a JSON
//! resource and its canonical printing.

mod attr_path;
mod compare;
mod display;
mod eval;
mod lexer;
mod number;
pub(crate) mod parser;
pub(crate) mod syntax_error;

use serde_json::Value;

pub use attr_path::AttrPath;

use crate::{GROUP_SCHEMA, ResourceSchema, ScimError, USER_SCHEMA};

pub(crate) use eval::element_matches;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// Operators are case-insensitive (RFC 7644 §3.4.2.2).
    pub(crate) fn parse(word: &str) -> Option<CompareOp> {
        let op = match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        };
        Some(op)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        /// A string, number, bool or null.
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: true when some element of the multi-valued attribute matches
    /// the inner filter, whose paths are relative to the element.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// Parses a filter; any malformed input is `invalidFilter`, saying what was expected where.
pub fn parse_filter(text: &str) -> Result<Filter, ScimError> {
    parser::Parser::new(text)
        .and_then(parser::Parser::filter)
        .map_err(|err| err.into_filter_error(text))
}

impl Filter {
    /// Whether `resource` (a JSON object as the server renders it) matches the filter.
    pub fn matches(&self, resource: &Value, schema: &ResourceSchema) -> bool {
        eval::matches(self, resource, schema)
    }

    /// The top-level `attr eq "string"` conjuncts, as (AttrPath::key, string), so the server
    /// can answer `userName eq "x"` from an index before (or instead of) a full scan.
    ///
    /// Paths qualified with an extension URN are left out: their key drops the URN and would
    /// be mistaken for a core attribute. The string is returned as written; whether the index
    /// must fold case is the server's decision (see `ResourceSchema::case_exact`).
    pub fn equalities(&self) -> Vec<(String, String)> {
        conjuncts(self)
            .into_iter()
            .filter_map(|conjunct| match conjunct {
                Filter::Compare {
                    path,
                    op: CompareOp::Eq,
                    value: Value::String(text),
                } if is_core_path(path) => Some((path.key(), text.clone())),
                _ => None,
            })
            .collect()
    }
}

fn is_core_path(path: &AttrPath) -> bool {
    path.urn.as_deref().is_none_or(|urn| {
        urn.eq_ignore_ascii_case(USER_SCHEMA) || urn.eq_ignore_ascii_case(GROUP_SCHEMA)
    })
}

/// The operands of the top-level `and`s, left to right. Walked with an explicit stack:
/// a 10,000-byte filter can hold a chain of a thousand `and`s.
pub(crate) fn conjuncts(filter: &Filter) -> Vec<&Filter> {
    let mut out = Vec::new();
    let mut stack = vec![filter];
    while let Some(node) = stack.pop() {
        match node {
            Filter::And(left, right) => {
                stack.push(right);
                stack.push(left);
            }
            other => out.push(other),
        }
    }
    out
}
