//! The comparison operators of RFC 7644 §3.4.2.2 applied to the values an attribute path
//! found in a resource.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::{Number, Value};

use super::CompareOp;
use crate::resolve;

/// Whether the attribute values `found` satisfy `op expected`: any one of them for the
/// positive operators, none of them being equal for `ne` (the negation of `eq`).
pub(super) fn compare(found: &[&Value], op: CompareOp, expected: &Value, case_exact: bool) -> bool {
    let candidates = candidates(found);
    match op {
        CompareOp::Eq => any_equal(&candidates, expected, case_exact),
        CompareOp::Ne => !any_equal(&candidates, expected, case_exact),
        _ => candidates
            .iter()
            .any(|value| compare_one(value, op, expected, case_exact)),
    }
}

/// The values compared: a complex value compared without a sub-attribute (`emails co "x"`,
/// `manager eq "id"`) stands for its "value" sub-attribute (RFC 7644 §3.4.2.2).
fn candidates<'a>(found: &[&'a Value]) -> Vec<&'a Value> {
    found
        .iter()
        .filter_map(|value| match value {
            Value::Object(members) => resolve::get(members, "value"),
            other => Some(*other),
        })
        .collect()
}

fn any_equal(candidates: &[&Value], expected: &Value, case_exact: bool) -> bool {
    if expected.is_null() {
        // `x eq null`: unassigned and null are the same state (RFC 7643 §2.5).
        return candidates.is_empty() || candidates.iter().any(|value| value.is_null());
    }
    candidates
        .iter()
        .any(|value| equal(value, expected, case_exact))
}

fn equal(value: &Value, expected: &Value, case_exact: bool) -> bool {
    match (value, expected) {
        (Value::String(a), Value::String(b)) => match (date_time(a), date_time(b)) {
            (Some(a), Some(b)) => a == b,
            _ => fold(a, case_exact) == fold(b, case_exact),
        },
        (Value::Bool(a), Value::Bool(b)) => a == b,
        // Clients send `active eq "true"`, and some servers store "True" as text.
        (Value::Bool(a), Value::String(b)) | (Value::String(b), Value::Bool(a)) => {
            bool_text(b) == Some(*a)
        }
        (Value::Number(a), Value::Number(b)) => number_order(a, b) == Some(Ordering::Equal),
        _ => false,
    }
}

fn compare_one(value: &Value, op: CompareOp, expected: &Value, case_exact: bool) -> bool {
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let (Value::String(a), Value::String(b)) = (value, expected) else {
                return false;
            };
            let (a, b) = (fold(a, case_exact), fold(b, case_exact));
            match op {
                CompareOp::Co => a.contains(b.as_str()),
                CompareOp::Sw => a.starts_with(b.as_str()),
                _ => a.ends_with(b.as_str()),
            }
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            let Some(order) = order(value, expected, case_exact) else {
                return false;
            };
            match op {
                CompareOp::Gt => order == Ordering::Greater,
                CompareOp::Ge => order != Ordering::Less,
                CompareOp::Lt => order == Ordering::Less,
                _ => order != Ordering::Greater,
            }
        }
        CompareOp::Eq => equal(value, expected, case_exact),
        CompareOp::Ne => !equal(value, expected, case_exact),
    }
}

/// The order of `value` relative to `expected`, for the types that have one: date-times as
/// instants, other strings lexicographically, numbers numerically. Booleans and null none.
fn order(value: &Value, expected: &Value, case_exact: bool) -> Option<Ordering> {
    match (value, expected) {
        (Value::String(a), Value::String(b)) => match (date_time(a), date_time(b)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => Some(fold(a, case_exact).cmp(&fold(b, case_exact))),
        },
        (Value::Number(a), Value::Number(b)) => number_order(a, b),
        _ => None,
    }
}

fn fold(text: &str, case_exact: bool) -> String {
    if case_exact {
        text.to_owned()
    } else {
        text.to_lowercase()
    }
}

fn bool_text(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// SCIM dateTimes are xsd:dateTime with a zone (RFC 7643 §2.3.5), which RFC 3339 covers.
/// Only strings shaped like a date are tried, so ordinary names cost no parse attempt.
fn date_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let bytes = text.as_bytes();
    let looks_like_date =
        bytes.len() >= 10 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-';
    if !looks_like_date {
        return None;
    }
    DateTime::parse_from_rfc3339(text).ok()
}

/// Integers compare exactly (also beyond f64's precision); anything else as f64.
fn number_order(a: &Number, b: &Number) -> Option<Ordering> {
    fn integer(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}
