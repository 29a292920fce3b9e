//! A canonical text form of a filter that parses back to the same tree: lower-case keywords
//! and operators, JSON literals, and parentheses exactly where precedence and left
//! associativity need them.

use std::fmt;

use super::{CompareOp, Filter};

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_filter(self, f)
    }
}

/// Binding strength: `or` < `and` < everything else.
fn precedence(filter: &Filter) -> u8 {
    match filter {
        Filter::Or(..) => 1,
        Filter::And(..) => 2,
        _ => 3,
    }
}

fn write_filter(filter: &Filter, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match filter {
        Filter::And(..) | Filter::Or(..) => write_chain(filter, f),
        Filter::Not(inner) => {
            f.write_str("not (")?;
            write_filter(inner, f)?;
            f.write_str(")")
        }
        Filter::Present(path) => write!(f, "{path} pr"),
        // serde_json prints the value as the JSON literal the grammar wants.
        Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
        Filter::ValuePath { path, filter } => {
            write!(f, "{path}[")?;
            write_filter(filter, f)?;
            f.write_str("]")
        }
    }
}

/// A left-leaning chain of one operator, printed in a loop (chains can be long) as
/// `a and b and c`. A right operand of the same precedence is parenthesised, since without
/// parentheses it would parse as part of the left-associative chain.
fn write_chain(filter: &Filter, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let level = precedence(filter);
    let keyword = if level == 1 { " or " } else { " and " };
    let mut rights = Vec::new();
    let mut node = filter;
    while let (Filter::Or(left, right), 1) | (Filter::And(left, right), 2) = (node, level) {
        rights.push(right.as_ref());
        node = left;
    }
    write_operand(node, precedence(node) < level, f)?;
    for right in rights.into_iter().rev() {
        f.write_str(keyword)?;
        write_operand(right, precedence(right) <= level, f)?;
    }
    Ok(())
}

fn write_operand(filter: &Filter, parenthesise: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if parenthesise {
        f.write_str("(")?;
        write_filter(filter, f)?;
        f.write_str(")")
    } else {
        write_filter(filter, f)
    }
}
