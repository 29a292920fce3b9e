//! How the outputs of a provider's mappings combine into one document, as authentik's
//! `deepmerge.always_merger` does (so admins moving over get the same result): in list order, a
//! later scalar overrides an earlier one, nested maps merge key by key, lists concatenate.

use serde_json::{Map, Value};

/// Merges `later` into `earlier`. A later `null` overrides too: it is how a mapping asks Graph to
/// clear an optional property.
pub(crate) fn merge_into(earlier: &mut Map<String, Value>, later: Map<String, Value>) {
    for (key, value) in later {
        match (earlier.get_mut(&key), value) {
            (Some(Value::Object(before)), Value::Object(after)) => merge_into(before, after),
            (Some(Value::Array(before)), Value::Array(after)) => before.extend(after),
            (_, value) => {
                earlier.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn merge_table() {
        let cases = [
            // later scalar wins
            (json!({"a": 1}), json!({"a": 2}), json!({"a": 2})),
            // disjoint keys are kept
            (json!({"a": 1}), json!({"b": 2}), json!({"a": 1, "b": 2})),
            // nested maps merge
            (
                json!({"p": {"x": 1, "y": 1}}),
                json!({"p": {"y": 2, "z": 2}}),
                json!({"p": {"x": 1, "y": 2, "z": 2}}),
            ),
            // lists concatenate, earlier first
            (
                json!({"l": [1, 2]}),
                json!({"l": [3]}),
                json!({"l": [1, 2, 3]}),
            ),
            // a scalar replaces a map and a map replaces a scalar
            (json!({"p": {"x": 1}}), json!({"p": 5}), json!({"p": 5})),
            (
                json!({"p": 5}),
                json!({"p": {"x": 1}}),
                json!({"p": {"x": 1}}),
            ),
            // null clears
            (json!({"a": "x"}), json!({"a": null}), json!({"a": null})),
        ];
        for (earlier, later, want) in cases {
            let mut doc = object(earlier.clone());
            merge_into(&mut doc, object(later.clone()));
            assert_eq!(Value::Object(doc), want, "{earlier} + {later}");
        }
    }
}
