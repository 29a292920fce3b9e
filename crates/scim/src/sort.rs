//! Sorting (RFC 7644 §3.4.2.3): the key a resource sorts by for `sortBy`. A multi-valued
//! attribute sorts by its primary value (else its first); strings compare by the attribute's
//! case rule; resources without the attribute sort last, whichever the order.

use std::cmp::Ordering;

use serde_json::Value;

use crate::{AttrPath, ResourceSchema, resolve};

/// What a resource sorts by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Number(f64),
    Boolean(bool),
    Text(String),
    Missing,
}

impl SortKey {
    /// The order of two keys for `sortOrder` (`descending` or not); `Missing` last either way.
    pub fn compare(&self, other: &Self, descending: bool) -> Ordering {
        let rank = |key: &SortKey| match key {
            SortKey::Number(_) => 0,
            SortKey::Boolean(_) => 1,
            SortKey::Text(_) => 2,
            SortKey::Missing => 3,
        };
        let ordered = match (self, other) {
            (SortKey::Missing, SortKey::Missing) => return Ordering::Equal,
            (SortKey::Missing, _) => return Ordering::Greater,
            (_, SortKey::Missing) => return Ordering::Less,
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Boolean(a), SortKey::Boolean(b)) => a.cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        };
        if descending {
            ordered.reverse()
        } else {
            ordered
        }
    }
}

/// The key `resource` sorts by for `path`.
pub fn sort_key(resource: &Value, path: &AttrPath, schema: &ResourceSchema) -> SortKey {
    // A multi-valued complex attribute named without a sub-attribute sorts by its primary
    // element's `value` (RFC 7644 §3.4.2.3).
    let mut candidates = resolve::read(resource, path, schema);
    if path.sub.is_none() && candidates.iter().any(|value| value.is_object()) {
        let primary = candidates.iter().find(|value| {
            value.as_object().is_some_and(|object| {
                resolve::get(object, "primary").is_some_and(|flag| flag == &Value::Bool(true))
            })
        });
        let chosen = primary.or(candidates.first()).copied();
        candidates = chosen
            .and_then(Value::as_object)
            .and_then(|object| resolve::get(object, "value"))
            .into_iter()
            .collect();
    }
    let case_exact = schema.is_case_exact(&path.key());
    match candidates.first() {
        Some(Value::Number(number)) => number.as_f64().map_or(SortKey::Missing, SortKey::Number),
        Some(Value::Bool(flag)) => SortKey::Boolean(*flag),
        Some(Value::String(text)) if case_exact => SortKey::Text(text.clone()),
        Some(Value::String(text)) => SortKey::Text(text.to_lowercase()),
        _ => SortKey::Missing,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::USER;

    fn key(resource: Value, path: &str) -> SortKey {
        sort_key(&resource, &AttrPath::parse(path).expect("path"), &USER)
    }

    #[test]
    fn keys_follow_the_case_rule_and_the_primary_value() {
        assert_eq!(
            key(json!({"userName": "Bob"}), "userName"),
            SortKey::Text("bob".into())
        );
        assert_eq!(key(json!({"id": "Bob"}), "id"), SortKey::Text("Bob".into()));
        let emails = json!({"emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]});
        assert_eq!(key(emails, "emails"), SortKey::Text("a@x".into()));
        assert_eq!(key(json!({}), "title"), SortKey::Missing);
        assert_eq!(
            key(json!({"name": {"familyName": "Hopper"}}), "name.familyName"),
            SortKey::Text("hopper".into())
        );
    }

    #[test]
    fn missing_sorts_last_in_both_orders() {
        let a = SortKey::Text("a".into());
        let b = SortKey::Text("b".into());
        assert_eq!(a.compare(&b, false), Ordering::Less);
        assert_eq!(a.compare(&b, true), Ordering::Greater);
        assert_eq!(SortKey::Missing.compare(&a, false), Ordering::Greater);
        assert_eq!(SortKey::Missing.compare(&a, true), Ordering::Greater);
    }
}
