//! Comparing a document with what the remote holds: which properties to PATCH.

use serde_json::Value;

use crate::remote::{Properties, RemoteKind};

/// Properties that are only ever sent on create: Graph never returns them, so comparing them
/// would PATCH them on every sync.
pub const CREATE_ONLY: &[&str] = &["passwordProfile"];

/// The user properties discovery reads (every list-able property a mapping is likely to set).
pub const USER_SELECT: &[&str] = &[
    "id",
    "displayName",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "accountEnabled",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "companyName",
    "employeeId",
    "employeeType",
    "officeLocation",
    "mobilePhone",
    "businessPhones",
    "faxNumber",
    "city",
    "country",
    "state",
    "streetAddress",
    "postalCode",
    "usageLocation",
    "preferredLanguage",
    "onPremisesImmutableId",
    "otherMails",
    "userType",
];

/// The group properties discovery reads.
pub const GROUP_SELECT: &[&str] = &[
    "id",
    "displayName",
    "description",
    "mailEnabled",
    "securityEnabled",
    "mailNickname",
    "groupTypes",
    "classification",
];

/// What discovery reads of this kind of object.
pub fn select(kind: RemoteKind) -> &'static [&'static str] {
    match kind {
        RemoteKind::User => USER_SELECT,
        RemoteKind::Group => GROUP_SELECT,
    }
}

/// The document without its create-only properties: what an update sends and a link remembers.
pub fn writable(document: &Properties) -> Properties {
    document
        .iter()
        .filter(|(name, _)| !CREATE_ONLY.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// What we know the remote object holds, to compare a document with.
#[derive(Debug, Clone, Copy)]
pub enum Baseline<'a> {
    /// The remote object as discovery read it, plus what we last wrote (for the properties
    /// discovery does not read).
    Read {
        remote: &'a Properties,
        written: &'a Properties,
    },
    /// Only what we last wrote (a direct sync reads nothing first).
    Written(&'a Properties),
}

impl Baseline<'_> {
    fn value(&self, kind: RemoteKind, property: &str) -> Option<&Value> {
        match self {
            Baseline::Read { remote, written } if select(kind).contains(&property) => {
                remote.get(property).or_else(|| written.get(property))
            }
            Baseline::Read { written, .. } | Baseline::Written(written) => written.get(property),
        }
    }
}

/// The document's properties whose value differs from the baseline: exactly what to PATCH.
/// A property absent from the baseline differs unless the document clears it (`null`).
pub fn differences(kind: RemoteKind, document: &Properties, baseline: Baseline<'_>) -> Properties {
    document
        .iter()
        .filter(|(name, _)| !CREATE_ONLY.contains(&name.as_str()))
        .filter(|(name, wanted)| match baseline.value(kind, name) {
            Some(current) => !same(wanted, current),
            None => !wanted.is_null(),
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Equality of a wanted and a stored value: numbers by value, everything else exactly (Graph
/// keeps the case it was given, so a change of case is a change to make).
fn same(wanted: &Value, current: &Value) -> bool {
    match (wanted, current) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, value)| b.get(key).is_some_and(|other| same(value, other)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        _ => wanted == current,
    }
}

/// `base` with `update`'s properties written over it.
pub fn merged(base: &Properties, update: &Properties) -> Properties {
    let mut out = base.clone();
    for (name, value) in update {
        out.insert(name.clone(), value.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn props(value: Value) -> Properties {
        match value {
            Value::Object(map) => map,
            _ => Properties::new(),
        }
    }

    #[test]
    fn only_differing_properties_are_sent() {
        let document = props(json!({"displayName": "Ann", "accountEnabled": true,
            "passwordProfile": {"password": "x"}}));
        let remote = props(json!({"id": "1", "displayName": "Anne", "accountEnabled": true}));
        let written = Properties::new();
        let diff = differences(
            RemoteKind::User,
            &document,
            Baseline::Read {
                remote: &remote,
                written: &written,
            },
        );
        assert_eq!(diff, props(json!({"displayName": "Ann"})));
    }

    #[test]
    fn unread_properties_compare_with_what_was_written() {
        // `aboutMe` is not listed by discovery: the link's memory decides.
        let document = props(json!({"aboutMe": "hi"}));
        let remote = Properties::new();
        let written = props(json!({"aboutMe": "hi"}));
        let baseline = Baseline::Read {
            remote: &remote,
            written: &written,
        };
        assert!(differences(RemoteKind::User, &document, baseline).is_empty());
        let changed = props(json!({"aboutMe": "hello"}));
        assert_eq!(differences(RemoteKind::User, &changed, baseline), changed);
    }

    #[test]
    fn null_matches_absent_and_numbers_compare_by_value() {
        let document = props(json!({"jobTitle": null, "n": 1}));
        let written = props(json!({"n": 1.0}));
        assert!(differences(RemoteKind::User, &document, Baseline::Written(&written)).is_empty());
    }

    #[test]
    fn writable_drops_create_only_properties() {
        let document = props(json!({"displayName": "A", "passwordProfile": {}}));
        assert_eq!(writable(&document), props(json!({"displayName": "A"})));
    }
}
