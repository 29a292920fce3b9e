//! Filter parsing and evaluation (RFC 7644 §3.4.2.2).

// In tests a panic is the failure report, and unwrap says where.
#![allow(clippy::unwrap_used)]

mod common;

use scim::{AttrPath, CompareOp, Filter, GROUP, ScimType, USER, parse_filter};
use serde_json::{Value, json};

fn path(text: &str) -> AttrPath {
    AttrPath::parse(text).unwrap()
}

fn cmp(attr: &str, op: CompareOp, value: Value) -> Filter {
    Filter::Compare {
        path: path(attr),
        op,
        value,
    }
}

fn pr(attr: &str) -> Filter {
    Filter::Present(path(attr))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

fn value_path(attr: &str, inner: Filter) -> Filter {
    Filter::ValuePath {
        path: path(attr),
        filter: Box::new(inner),
    }
}

fn user_matches(text: &str) -> bool {
    parse_filter(text).unwrap().matches(&common::user(), &USER)
}

use CompareOp::{Co, Eq, Ge, Gt, Le, Lt, Ne, Sw};

/// Every example of RFC 7644 §3.4.2.2, its tree, and whether Barbara matches it.
#[test]
fn rfc_examples_parse_and_evaluate() {
    let lm = "2011-05-13T04:42:34Z";
    let examples: Vec<(&str, Filter, bool)> = vec![
        (
            r#"userName eq "bjensen""#,
            cmp("userName", Eq, json!("bjensen")),
            true,
        ),
        (
            r#"name.familyName co "O'Malley""#,
            cmp("name.familyName", Co, json!("O'Malley")),
            true,
        ),
        (r#"userName sw "J""#, cmp("userName", Sw, json!("J")), false),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            cmp(
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                Sw,
                json!("J"),
            ),
            false,
        ),
        ("title pr", pr("title"), true),
        (
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            cmp("meta.lastModified", Gt, json!(lm)),
            false,
        ),
        (
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            cmp("meta.lastModified", Ge, json!(lm)),
            true,
        ),
        (
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            cmp("meta.lastModified", Lt, json!(lm)),
            false,
        ),
        (
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            cmp("meta.lastModified", Le, json!(lm)),
            true,
        ),
        (
            r#"title pr and userType eq "Employee""#,
            and(pr("title"), cmp("userType", Eq, json!("Employee"))),
            true,
        ),
        (
            r#"title pr or userType eq "Intern""#,
            or(pr("title"), cmp("userType", Eq, json!("Intern"))),
            true,
        ),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            cmp(
                "schemas",
                Eq,
                json!("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ),
            true,
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            and(
                cmp("userType", Eq, json!("Employee")),
                or(
                    cmp("emails", Co, json!("example.com")),
                    cmp("emails.value", Co, json!("example.org")),
                ),
            ),
            true,
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            and(
                cmp("userType", Ne, json!("Employee")),
                not(or(
                    cmp("emails", Co, json!("example.com")),
                    cmp("emails.value", Co, json!("example.org")),
                )),
            ),
            false,
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            and(
                cmp("userType", Eq, json!("Employee")),
                cmp("emails.type", Eq, json!("work")),
            ),
            true,
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            and(
                cmp("userType", Eq, json!("Employee")),
                value_path(
                    "emails",
                    and(
                        cmp("type", Eq, json!("work")),
                        cmp("value", Co, json!("@example.com")),
                    ),
                ),
            ),
            true,
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            or(
                value_path(
                    "emails",
                    and(
                        cmp("type", Eq, json!("work")),
                        cmp("value", Co, json!("@example.com")),
                    ),
                ),
                value_path(
                    "ims",
                    and(
                        cmp("type", Eq, json!("xmpp")),
                        cmp("value", Co, json!("@foo.com")),
                    ),
                ),
            ),
            true,
        ),
    ];
    let user = common::user();
    for (text, tree, expected) in examples {
        let parsed = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, tree, "{text}");
        assert_eq!(parsed.matches(&user, &USER), expected, "{text}");
        // The canonical form reads back as the same tree.
        assert_eq!(parse_filter(&parsed.to_string()).unwrap(), tree, "{text}");
    }
}

#[test]
fn attr_path_parts() {
    assert_eq!(
        path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
        AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            name: "manager".into(),
            sub: Some("value".into()),
        }
    );
    assert_eq!(path("name.givenName").key(), "name.givenname");
    assert_eq!(path("members.$ref").sub.as_deref(), Some("$ref"));
    for bad in ["", "1abc", "name.", "a.b.c", "na me", ":x", "emails[", "é"] {
        let err = AttrPath::parse(bad).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{bad:?}");
        assert!(err.detail.contains("offset"), "{bad:?}: {}", err.detail);
    }
}

#[test]
fn and_binds_tighter_than_or() {
    assert_eq!(
        parse_filter("a pr or b pr and c pr").unwrap(),
        or(pr("a"), and(pr("b"), pr("c")))
    );
    assert_eq!(
        parse_filter("a pr and b pr or c pr").unwrap(),
        or(and(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse_filter("not (a pr) and b pr").unwrap(),
        and(not(pr("a")), pr("b"))
    );
    assert_eq!(
        parse_filter("(a pr or b pr) and c pr").unwrap(),
        and(or(pr("a"), pr("b")), pr("c"))
    );
    // Left-associative.
    assert_eq!(
        parse_filter("a pr and b pr and c pr").unwrap(),
        and(and(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse_filter("a pr or b pr or c pr").unwrap(),
        or(or(pr("a"), pr("b")), pr("c"))
    );
    // Evaluated with the same precedence: true or (false and false).
    assert!(user_matches(
        r#"title pr or userName eq "x" and title eq "y""#
    ));
    assert!(!user_matches(
        r#"(title pr or userName eq "x") and title eq "y""#
    ));
}

#[test]
fn keywords_operators_and_names_ignore_case() {
    assert_eq!(
        parse_filter(r#"USERNAME EQ "BJENSEN" And Title PR"#).unwrap(),
        and(cmp("USERNAME", Eq, json!("BJENSEN")), pr("Title"))
    );
    assert!(user_matches(r#"USERNAME EQ "BJENSEN" And Title PR"#));
    assert!(user_matches(r#"NOT (userName Eq "x") OR title pr"#));
    assert!(user_matches("active eq TRUE"));
    assert!(user_matches("nickName Eq Null"));
    assert!(user_matches(r#"NAME.GIVENNAME sw "bar""#));
    assert!(user_matches(
        r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EmployeeNumber eq "701984""#
    ));
    // Tabs and extra spaces between tokens.
    assert!(user_matches("  userName\teq   \"bjensen\"  "));
}

#[test]
fn case_exact_attributes_compare_exactly() {
    assert!(user_matches(r#"externalId eq "BJensen-Ext""#));
    assert!(!user_matches(r#"externalId eq "bjensen-ext""#));
    assert!(user_matches(
        r#"id eq "2819c223-7f76-453a-919d-413861904646""#
    ));
    assert!(!user_matches(
        r#"id eq "2819C223-7F76-453A-919D-413861904646""#
    ));
    assert!(!user_matches(r#"meta.version eq "w/\"3694E05E9DFF591\"""#));
    assert!(user_matches(r#"meta.version eq "W/\"3694e05e9dff591\"""#));
    // Not case-exact: folded.
    assert!(user_matches(r#"userName eq "BJensen""#));
    assert!(user_matches(r#"title ew "GUIDE""#));
    // Inside a valuePath the key is outer + inner: members.value is case-exact for groups.
    let group = common::group();
    let f = |text: &str| parse_filter(text).unwrap().matches(&group, &GROUP);
    assert!(f(r#"members[value eq "U2"]"#));
    assert!(!f(r#"members[value eq "u2"]"#));
    assert!(!f(r#"members.value eq "u2""#));
    assert!(f(r#"members[display eq "ONE"]"#));
    // The same filter on a user, where emails.value is not case-exact.
    assert!(user_matches(r#"emails[value eq "BJENSEN@example.com"]"#));
}

#[test]
fn date_times_compare_as_instants() {
    assert!(user_matches(
        r#"meta.lastModified gt "2011-05-13T04:42:33Z""#
    ));
    assert!(user_matches(
        r#"meta.lastModified lt "2011-05-13T04:42:35Z""#
    ));
    // Same instant in another zone and with fractions: equal, not greater.
    assert!(user_matches(
        r#"meta.lastModified eq "2011-05-13T06:42:34.000+02:00""#
    ));
    assert!(!user_matches(
        r#"meta.lastModified gt "2011-05-13T06:42:34+02:00""#
    ));
    // 03:00Z is later than 04:42 in a zone 2 hours ahead (02:42Z), though it sorts lower as text.
    assert!(user_matches(
        r#"meta.created lt "2010-01-23T05:00:00-01:00""#
    ));
    assert!(user_matches(
        r#"meta.lastModified gt "2011-05-13T05:00:00+02:00""#
    ));
}

#[test]
fn strings_against_booleans_and_other_types() {
    assert!(user_matches(r#"active eq "true""#));
    assert!(user_matches(r#"active eq "True""#));
    assert!(!user_matches(r#"active eq "False""#));
    assert!(user_matches(r#"active ne "false""#));
    assert!(user_matches("active eq true"));
    assert!(!user_matches("active eq false"));
    assert!(!user_matches(r#"active eq "yes""#));
    // Ordering and substring operators do not apply to booleans or null.
    assert!(!user_matches("active gt false"));
    assert!(!user_matches(r#"active co "t""#));
    assert!(!user_matches("title gt null"));
    // Numbers.
    let resource = json!({"n": 5, "f": 2.5, "big": 18446744073709551615u64});
    let f = |text: &str| parse_filter(text).unwrap().matches(&resource, &USER);
    assert!(f("n eq 5"));
    assert!(f("n eq 5.0"));
    assert!(f("n gt 4.5"));
    assert!(f("n le 5"));
    assert!(!f("n lt -1"));
    assert!(f("f ge 2.5e0"));
    assert!(f("big gt 18446744073709551614"));
    assert!(!f(r#"n eq "5""#));
    assert!(!f(r#"n co "5""#));
}

#[test]
fn null_and_presence() {
    let resource = json!({
        "empty": "", "none": null, "list": [], "obj": {}, "zero": 0, "no": false,
        "emails": [{"type": "work"}], "name": {"givenName": ""}
    });
    let f = |text: &str| parse_filter(text).unwrap().matches(&resource, &USER);
    for absent in [
        "empty",
        "none",
        "list",
        "obj",
        "missing",
        "name.givenName",
        "emails.value",
    ] {
        assert!(!f(&format!("{absent} pr")), "{absent} pr");
    }
    assert!(f("zero pr"));
    assert!(f("no pr"));
    assert!(f("emails pr"));
    assert!(f("emails.type pr"));
    assert!(f("none eq null"));
    assert!(f("missing eq null"));
    assert!(!f("zero eq null"));
    assert!(f("zero ne null"));
    assert!(!f("missing ne null"));
    assert!(f(r#"missing ne "x""#));
    assert!(!f(r#"missing eq "x""#));
}

#[test]
fn value_paths() {
    assert!(user_matches(
        r#"emails[type eq "work" and primary eq true]"#
    ));
    assert!(!user_matches(
        r#"emails[type eq "home" and primary eq true]"#
    ));
    assert!(user_matches(r#"emails[type eq "home" or primary eq true]"#));
    assert!(user_matches(r#"emails[not (type eq "work")]"#));
    assert!(user_matches(
        r#"emails[(type eq "home") and value ew ".org"]"#
    ));
    assert!(!user_matches(r#"name[givenName eq "x"]"#));
    assert!(user_matches(r#"name[givenName eq "barbara"]"#));
    assert!(!user_matches(r#"ims[type pr]"#));
    // Multi-valued sub-attribute paths: true when any element satisfies.
    assert!(user_matches(r#"emails.type eq "home""#));
    assert!(user_matches(r#"emails.value ew "jensen.org""#));
    // A complex attribute without sub-attribute compares its "value".
    assert!(user_matches(r#"emails eq "babs@jensen.org""#));
    assert!(user_matches(&format!(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "{}""#,
        common::MANAGER_ID
    )));
    assert!(user_matches(&format!(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "{}""#,
        common::MANAGER_ID
    )));
    // An extension's attribute is not reachable without its URN, and an unknown URN matches nothing.
    assert!(!user_matches(r#"department eq "Tour Operations""#));
    assert!(!user_matches(r#"urn:example:other:userName eq "bjensen""#));
    assert!(user_matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr"#
    ));
}

#[test]
fn literals_and_escapes() {
    assert_eq!(
        parse_filter(r#"displayName eq "Caf\u00e9 \"Noir\"""#).unwrap(),
        cmp("displayName", Eq, json!("Café \"Noir\""))
    );
    assert_eq!(
        parse_filter("x eq -12.5e2").unwrap(),
        cmp("x", Eq, json!(-1250.0))
    );
    assert_eq!(parse_filter("x eq 7").unwrap(), cmp("x", Eq, json!(7)));
    assert_eq!(
        parse_filter("x ne NULL").unwrap(),
        cmp("x", Ne, Value::Null)
    );
    assert_eq!(
        parse_filter("x eq False").unwrap(),
        cmp("x", Eq, json!(false))
    );
    assert_eq!(
        parse_filter(r#"members.$ref eq "https://x/Users/1""#).unwrap(),
        cmp("members.$ref", Eq, json!("https://x/Users/1"))
    );
    // Floats read back exactly as printed (serde_json's default reader can be 1 ulp off).
    let float = parse_filter("x eq -1.9965593470181415e+167").unwrap();
    assert_eq!(float, cmp("x", Eq, json!(-1.9965593470181415e167)));
    assert_eq!(parse_filter(&float.to_string()).unwrap(), float);
    assert!(parse_filter("x eq 1e999").is_err());
    assert_eq!(
        parse_filter("x eq 18446744073709551615").unwrap(),
        cmp("x", Eq, json!(u64::MAX))
    );
    assert_eq!(
        parse_filter("x eq -9223372036854775808").unwrap(),
        cmp("x", Eq, json!(i64::MIN))
    );
    // An attribute that happens to be called "not".
    assert_eq!(parse_filter("not pr").unwrap(), pr("not"));
    assert_eq!(
        parse_filter("and eq 1 and or pr").unwrap(),
        and(cmp("and", Eq, json!(1)), pr("or"))
    );
}

fn error_of(text: &str) -> String {
    let err = parse_filter(text).unwrap_err();
    assert_eq!(err.status, 400, "{text}");
    assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{text}");
    err.detail
}

#[test]
fn malformed_filters_say_what_and_where() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"(userName eq "x""#,
            "expected 'and', 'or' or ')'",
            "offset 16 (end of input)",
        ),
        (
            r#"((userName eq "x") or title pr"#,
            "')'",
            "offset 30 (end of input)",
        ),
        (r#"userName eq "x")"#, "end of the filter", "offset 15"),
        (
            "userName eq",
            "expected a value",
            "offset 11 (end of input)",
        ),
        ("userName eq and title pr", "expected a value", "offset 12"),
        (r#"userName xx "a""#, "expected an operator", "offset 9"),
        (r#"userName == "a""#, "unexpected character '='", "offset 9"),
        (
            r#"not userName eq "x""#,
            "expected '(' after 'not'",
            "offset 4",
        ),
        (
            r#"not"#,
            "expected '(' after 'not'",
            "offset 3 (end of input)",
        ),
        (
            r#"userName eq "x" garbage"#,
            "expected 'and', 'or' or the end",
            "offset 16",
        ),
        (r#"userName eq "abc"#, "closing '\"'", "offset 12"),
        (r#"userName eq "\ud800""#, "lone surrogate", "offset 12"),
        (r#"userName eq "\q""#, "bad escape", "offset 12"),
        ("", "expected an attribute path", "offset 0 (end of input)"),
        (
            "title pr and",
            "expected an attribute path",
            "offset 12 (end of input)",
        ),
        ("emails[type pr", "']'", "offset 14 (end of input)"),
        ("emails[type pr]]", "end of the filter", "offset 15"),
        ("emails[type[value pr]]", "do not nest", "offset 11"),
        ("x eq 01", "JSON number", "offset 5"),
        ("x eq yes", "expected a value", "offset 5"),
        ("1x pr", "starting with a letter", "offset 0"),
        ("a.b.c pr", "at most one sub-attribute", "offset 3"),
        ("emails[urn:x:type pr]", "no schema URN", "offset 7"),
        // Offsets count characters, not bytes.
        (r#"userName eq "é" xx"#, "end of the filter", "offset 16"),
    ];
    for (text, what, at) in cases {
        let detail = error_of(text);
        assert!(detail.contains(what), "{text}: {detail}");
        assert!(detail.contains(at), "{text}: {detail}");
    }
}

#[test]
fn nesting_and_length_are_bounded() {
    let nested = |depth: usize| format!("{}a pr{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(parse_filter(&nested(32)).unwrap(), pr("a"));
    assert!(error_of(&nested(33)).contains("32 levels"));
    let nots = |depth: usize| format!("{}a pr{}", "not (".repeat(depth), ")".repeat(depth));
    assert!(parse_filter(&nots(32)).is_ok());
    assert!(error_of(&nots(33)).contains("32 levels"));
    assert!(error_of(&format!("{}a pr", "(".repeat(5000))).contains("32 levels"));

    let long = format!("userName eq \"{}\"", "x".repeat(10_000));
    assert!(error_of(&long).contains("at most 10000 bytes"));
    let exactly = format!("userName eq \"{}\"", "x".repeat(10_000 - 14));
    assert_eq!(exactly.len(), 10_000);
    assert!(parse_filter(&exactly).is_ok());
}

/// The longest chains the length limit allows are parsed, evaluated, printed, compared,
/// cloned and dropped without exhausting a test thread's stack.
#[test]
fn long_chains_stay_off_the_stack() {
    for joiner in [" and ", " or "] {
        let mut text = String::from("a pr");
        while text.len() + joiner.len() + 4 <= 10_000 {
            text.push_str(joiner);
            text.push_str("a pr");
        }
        let filter = parse_filter(&text).unwrap();
        let resource = json!({"a": "x"});
        assert!(filter.matches(&resource, &USER));
        assert!(!filter.matches(&json!({}), &USER));
        let printed = filter.to_string();
        assert_eq!(printed, text);
        let copy = filter.clone();
        assert_eq!(copy, filter);
        assert!(!format!("{filter:?}").is_empty());
        if joiner == " and " {
            assert_eq!(filter.equalities().len(), 0);
        }
    }
}

#[test]
fn equalities_for_index_lookups() {
    let f = |text: &str| parse_filter(text).unwrap().equalities();
    assert_eq!(
        f(r#"userName eq "bjensen""#),
        vec![("username".into(), "bjensen".into())]
    );
    assert_eq!(
        f(r#"externalId eq "E1" and displayName eq "Ops" and active eq true"#),
        vec![
            ("externalid".to_string(), "E1".to_string()),
            ("displayname".to_string(), "Ops".to_string())
        ]
    );
    assert_eq!(
        f(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#),
        vec![("username".into(), "x".into())]
    );
    assert!(f(r#"userName eq "a" or userName eq "b""#).is_empty());
    assert!(f(r#"not (userName eq "a")"#).is_empty());
    assert!(f(r#"userName ne "a""#).is_empty());
    assert!(f(r#"emails[value eq "a"]"#).is_empty());
    assert!(
        f(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#)
            .is_empty()
    );
    assert_eq!(
        f(r#"(id eq "1" and userName eq "u") and title pr"#),
        vec![
            ("id".to_string(), "1".to_string()),
            ("username".to_string(), "u".to_string())
        ]
    );
}

#[test]
fn canonical_form() {
    let f = |text: &str| parse_filter(text).unwrap().to_string();
    assert_eq!(f(r#"UserName EQ "a""#), r#"UserName eq "a""#);
    assert_eq!(f("a pr and (b pr and c pr)"), "a pr and (b pr and c pr)");
    assert_eq!(f("(a pr and b pr) and c pr"), "a pr and b pr and c pr");
    assert_eq!(f("a pr or (b pr and c pr)"), "a pr or b pr and c pr");
    assert_eq!(f("(a pr or b pr) and c pr"), "(a pr or b pr) and c pr");
    assert_eq!(f("NOT(a pr)"), "not (a pr)");
    assert_eq!(f(r#"emails[type eq "w\u0041"]"#), r#"emails[type eq "wA"]"#);
}

#[test]
fn filters_reach_custom_extensions() {
    use common::CUSTOM;
    let matches = |text: &str| {
        parse_filter(text)
            .expect("a filter")
            .matches(&common::custom_user(), &USER)
    };
    assert!(matches(&format!(r#"{CUSTOM}:worksiteId eq "180""#)));
    assert!(!matches(&format!(r#"{CUSTOM}:worksiteId eq "181""#)));
    assert!(matches(&format!(
        r#"{}:WorksiteID eq "180""#,
        CUSTOM.to_ascii_lowercase()
    )));
    assert!(matches(&format!(r#"{CUSTOM}:badge.number eq "42""#)));
    assert!(matches(&format!(
        r#"{CUSTOM}:costCentre sw "X" and userName eq "bjensen""#
    )));
    assert!(matches(&format!("{CUSTOM} pr")));
    // Without the URN the attribute is not reachable; an unrelated URN matches nothing.
    assert!(!matches(r#"worksiteId eq "180""#));
    assert!(!matches(r#"urn:example:foo:bar eq "180""#));
    // A user without the extension.
    let bare = |text: &str| {
        parse_filter(text)
            .expect("a filter")
            .matches(&common::user(), &USER)
    };
    assert!(!bare(&format!(r#"{CUSTOM}:worksiteId eq "180""#)));
    assert!(!bare(&format!("{CUSTOM} pr")));
    assert!(bare(&format!(r#"not ({CUSTOM}:worksiteId eq "180")"#)));
}
