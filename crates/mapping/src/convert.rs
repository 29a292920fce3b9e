//! Conversion between JSON and rhai values, written by hand rather than through `rhai::serde`:
//! the output side must say *which* property holds a value Graph cannot take, and the input side
//! must never fail (a number too large for rhai's integer becomes a float, as JSON readers do).

use rhai::{Dynamic, Map};
use serde_json::Value;

/// Converts JSON to a rhai value; `null` becomes `()`.
pub(crate) fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            // u64 above i64::MAX, or a fraction: rhai's float is the closest it has.
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Object(map) => Dynamic::from_map(object_to_map(map)),
    }
}

/// Converts a JSON object to a rhai map.
pub(crate) fn object_to_map(map: &serde_json::Map<String, Value>) -> Map {
    map.iter()
        .map(|(key, value)| (key.as_str().into(), to_dynamic(value)))
        .collect()
}

/// Where a value sits in a mapping's output, e.g. `passwordProfile.password` or
/// `identities[0]`. Kept as borrowed links and only rendered for an error message, because
/// converting a document must not allocate a path string per property.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Converts a mapping's output back to JSON. The error text names the property and is meant for
/// the administrator.
pub(crate) fn to_json(value: &Dynamic, path: Path<'_>) -> Result<Value, String> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(s) = value.as_immutable_string_ref() {
        return Ok(Value::String(s.as_str().to_owned()));
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(map) = value.as_map_ref() {
        return map_to_json(&map, path).map(Value::Object);
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("property \"{path}\" is {f}, which JSON cannot carry"));
    }
    if let Ok(items) = value.as_array_ref() {
        return items
            .iter()
            .enumerate()
            .map(|(index, item)| to_json(item, Path::Index(&path, index)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    Err(format!(
        "property \"{path}\" is a {}, which cannot be sent to Graph",
        value.type_name()
    ))
}

/// Converts a rhai map to a JSON object.
pub(crate) fn map_to_json(
    map: &Map,
    path: Path<'_>,
) -> Result<serde_json::Map<String, Value>, String> {
    map.iter()
        .map(|(key, value)| {
            to_json(value, Path::Key(&path, key.as_str())).map(|json| (key.to_string(), json))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_round_trips_through_rhai() {
        let value = json!({
            "s": "x", "b": true, "i": -3, "f": 1.5, "n": null,
            "list": [1, "two", {"three": 3}], "nested": {"deep": {"er": []}}
        });
        let back = to_json(&to_dynamic(&value), Path::Root).expect("converts back");
        assert_eq!(back, value);
    }

    #[test]
    fn huge_unsigned_numbers_become_floats_instead_of_failing() {
        let value = json!(u64::MAX);
        assert!(to_dynamic(&value).is_float());
    }

    #[test]
    fn values_graph_cannot_take_name_their_property() {
        let mut map = Map::new();
        map.insert("bad".into(), Dynamic::from_float(f64::NAN));
        let mut outer = Map::new();
        outer.insert("passwordProfile".into(), Dynamic::from_map(map));

        let err = map_to_json(&outer, Path::Root).expect_err("NaN is not JSON");
        assert!(err.contains("\"passwordProfile.bad\""), "{err}");

        let mut outer = Map::new();
        let items = vec![
            Dynamic::from_map(Map::new()),
            Dynamic::from(std::time::Instant::now()),
        ];
        outer.insert("identities".into(), Dynamic::from_array(items));
        let err = map_to_json(&outer, Path::Root).expect_err("a timestamp is not JSON");
        assert!(err.contains("\"identities[1]\" is a timestamp"), "{err}");
    }
}
