//! OData pieces: string literals (a `'` doubled, so `O'Brien` works), `$filter` equality
//! clauses, and the page shape of collections (`value` + `@odata.nextLink`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::error::GraphError;

/// A Graph object as JSON (`id`, `displayName`, …).
pub type Object = Map<String, Value>;

/// Most items a collection page may hold (`$top` 1–999).
pub const MAX_PAGE: u32 = 999;

/// `'value'` with embedded quotes doubled.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `property eq 'value'`.
pub fn eq(property: &str, value: &str) -> String {
    format!("{property} eq {}", quote(value))
}

/// One page of a collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Object>,
    /// The whole `@odata.nextLink`, to pass back as is. `None` on the last page.
    pub next_link: Option<String>,
}

impl Page {
    /// Parses a collection answer (also a `$batch` item's body).
    pub fn from_body(body: Value) -> Result<Self, GraphError> {
        let Value::Object(mut map) = body else {
            return Err(decode("a collection page is not an object"));
        };
        let items = match map.remove("value") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::Object(o) => Ok(o),
                    _ => Err(decode("a collection item is not an object")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(decode("a collection page has no value array")),
        };
        let next_link = match map.remove("@odata.nextLink") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        Ok(Self { items, next_link })
    }
}

/// The nextLinks one enumeration has followed. A server that links back to a page already
/// read would keep a "follow until the last page" loop going forever; the trail ends it with
/// an error instead. (Graph's own links always move on: each carries a new `$skiptoken`.)
#[derive(Debug, Default)]
pub(crate) struct Trail {
    seen: HashSet<String>,
}

impl Trail {
    /// Records `link` as the next one to follow; an error if it was followed before.
    pub(crate) fn step(&mut self, link: &str) -> Result<(), GraphError> {
        if self.seen.insert(link.to_owned()) {
            Ok(())
        } else {
            Err(decode(&format!(
                "@odata.nextLink leads back to a page already read: {link}"
            )))
        }
    }
}

pub(crate) fn decode(message: &str) -> GraphError {
    GraphError::Decode {
        message: message.to_owned(),
        request_id: None,
    }
}

/// The body as an object (created/read entities).
pub(crate) fn object(body: Value) -> Result<Object, GraphError> {
    match body {
        Value::Object(o) => Ok(o),
        _ => Err(decode("expected a JSON object")),
    }
}

/// `$select` value from property names (`id` always included, since callers key on it).
pub(crate) fn select(props: &[&str]) -> Option<String> {
    if props.is_empty() {
        return None;
    }
    let mut v: Vec<&str> = vec!["id"];
    v.extend(props.iter().copied().filter(|p| *p != "id"));
    Some(v.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(quote("O'Brien"), "'O''Brien'");
        assert_eq!(eq("mail", "a'b'c@x"), "mail eq 'a''b''c@x'");
    }

    #[test]
    fn page_parses_value_and_next_link() {
        let p = Page::from_body(json!({"value": [{"id": "1"}], "@odata.nextLink": "http://n"}))
            .expect("page");
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.next_link.as_deref(), Some("http://n"));
        assert!(Page::from_body(json!({"value": 3})).is_err());
    }

    #[test]
    fn a_trail_refuses_a_link_twice() {
        let mut t = Trail::default();
        t.step("https://g/v1.0/users?$skiptoken=1").expect("first");
        t.step("https://g/v1.0/users?$skiptoken=2").expect("second");
        assert!(matches!(
            t.step("https://g/v1.0/users?$skiptoken=1"),
            Err(GraphError::Decode { .. })
        ));
    }

    #[test]
    fn select_always_has_id() {
        assert_eq!(
            select(&["displayName", "id"]).as_deref(),
            Some("id,displayName")
        );
        assert_eq!(select(&[]), None);
    }
}
