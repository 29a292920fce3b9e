//! JSON numbers in filters (RFC 7644 §3.4.2.2 compValue, RFC 8259 §6 grammar). Read with the
//! standard library rather than serde_json, whose default float reading can be off by one
//! unit in the last place, which would keep printed filters from reading back the same.

use serde_json::{Number, Value};

/// The number `word` spells, or None when it is not a JSON number or is out of f64's range.
pub(super) fn parse(word: &str) -> Option<Value> {
    if !is_json_number(word) {
        return None;
    }
    let integral = !word.contains(['.', 'e', 'E']);
    if integral {
        if let Ok(n) = word.parse::<u64>() {
            return Some(Value::from(n));
        }
        if let Ok(n) = word.parse::<i64>() {
            return Some(Value::from(n));
        }
    }
    let float = word.parse::<f64>().ok()?;
    Number::from_f64(float).map(Value::Number)
}

/// `-? (0 / [1-9] DIGIT*) ("." DIGIT+)? ([eE] [+-]? DIGIT+)?`
fn is_json_number(word: &str) -> bool {
    let bytes = word.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    let int_start = i;
    match digits(&mut i) {
        0 => return false,
        n if n > 1 && bytes[int_start] == b'0' => return false,
        _ => {}
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}
