//! Property tests: no input makes the parsers panic, and the canonical form of any
//! well-formed filter parses back to the same tree.

mod common;

use proptest::prelude::*;
use scim::{
    AttrPath, CompareOp, ENTERPRISE_USER_SCHEMA, Filter, PatchOpKind, PatchOperation, USER,
    USER_SCHEMA, apply_patch, parse_attribute_list, parse_filter, parse_path, project,
};
use serde_json::{Number, Value, json};

/// Feeds `text` to every parser, and whatever parses to the functions that use it.
fn exercise(text: &str) {
    let user = common::user();
    if let Ok(filter) = parse_filter(text) {
        let _ = filter.matches(&user, &USER);
        let _ = filter.equalities();
        let printed = filter.to_string();
        assert_eq!(
            parse_filter(&printed).as_ref(),
            Ok(&filter),
            "{text:?} printed as {printed:?}"
        );
    }
    if let Ok(path) = parse_path(text) {
        for op in [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove] {
            let ops = [PatchOperation {
                op,
                path: Some(path.clone()),
                value: Some(json!([{"value": "v", "type": "work"}])),
            }];
            let mut resource = user.clone();
            let _ = apply_patch(&mut resource, &ops, &USER);
        }
    }
    if let Ok(list) = parse_attribute_list(text) {
        let mut resource = user.clone();
        project(&mut resource, Some(&list), Some(&list), &USER);
    }
    let _ = AttrPath::parse(text);
}

const PIECES: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "and",
    "or",
    "not",
    "AND",
    "Not",
    "eq",
    "ne",
    "co",
    "sw",
    "gt",
    "le",
    "pr",
    "PR",
    "\"",
    "\"x\"",
    "\"\\\"\"",
    "\"\\ud800\"",
    "\"\\u00e9\"",
    "\\",
    "userName",
    "emails",
    "type",
    "value",
    "name.givenName",
    ".value",
    ":",
    ".",
    ",",
    "$ref",
    "members.$ref",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "12",
    "-1.5e3",
    "1e999",
    "01",
    "true",
    "False",
    "null",
    "é",
    "\t",
    "\u{0}",
    "🦀",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(PIECES), prop::bool::ANY), 0..40).prop_map(
        |pieces| {
            let mut text = String::new();
            for (piece, spaced) in pieces {
                text.push_str(piece);
                if spaced {
                    text.push(' ');
                }
            }
            text
        },
    )
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,6}",
        1 => Just("$ref".to_string()),
        1 => prop::sample::select(&["not", "and", "or", "pr", "eq", "true", "null"][..]).prop_map(str::to_string),
    ]
}

fn attr_path(with_urn: bool) -> impl Strategy<Value = AttrPath> {
    let urn = if with_urn {
        prop::option::of(prop::sample::select(
            &[USER_SCHEMA, ENTERPRISE_USER_SCHEMA, "urn:example:x"][..],
        ))
        .boxed()
    } else {
        Just(None).boxed()
    };
    (urn, name(), prop::option::of(name())).prop_map(|(urn, name, sub)| AttrPath {
        urn: urn.map(str::to_string),
        name,
        sub,
    })
}

fn comp_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    use CompareOp::*;
    prop::sample::select(&[Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le][..])
}

fn attr_exp(with_urn: bool) -> BoxedStrategy<Filter> {
    prop_oneof![
        attr_path(with_urn).prop_map(Filter::Present),
        (attr_path(with_urn), compare_op(), comp_value())
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
    ]
    .boxed()
}

fn logical(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    })
    .boxed()
}

fn filter() -> BoxedStrategy<Filter> {
    let value_path =
        (attr_path(true), logical(attr_exp(false))).prop_map(|(path, inner)| Filter::ValuePath {
            path,
            filter: Box::new(inner),
        });
    logical(prop_oneof![3 => attr_exp(true), 1 => value_path].boxed())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn well_formed_filters_print_and_parse_back(filter in filter()) {
        let printed = filter.to_string();
        let parsed = parse_filter(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&filter), "printed as {}", printed);
        let _ = filter.matches(&common::user(), &USER);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn token_soup_never_panics(text in soup()) {
        exercise(&text);
    }
}
