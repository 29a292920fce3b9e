//! Table tests of evaluation: variables, merge order, skip, strict access, limits, validation and
//! error texts.

mod common;

use common::*;
use mapping::{Mapped, Mapper, MappingKind};
use serde_json::json;

#[test]
fn expressions_see_every_user_field() {
    let doc = document(map_user(
        &[user_mapping(
            "all",
            r#"#{
                displayName: user.name + "|" + user.username + "|" + user.email + "|" + user.kind
                    + "|" + user.id + "|" + user.is_active + "|" + user.attributes.department
                    + "|" + user.attributes.level + "|" + join(user.groups, ",")
                    + "|" + user.created_at + "|" + provider.name
                    + "|" + provider.verified_domains[0] + "|" + type_of(link),
            }"#,
        )],
        None,
    ));
    assert_eq!(
        doc["displayName"],
        "Ada Lovelace|ada.lovelace|ada@contoso.com|internal|0190a5f0-0000-7000-8000-000000000001\
         |true|Analytics|3|staff,analysts|2024-03-01T09:30:00+00:00|contoso|contoso.com|()"
    );
}

#[test]
fn expressions_see_the_group_and_its_member_count() {
    let doc = document(map_group(
        &[group_mapping(
            "g",
            r#"#{ displayName: group.name, description: `${group.member_count} members, id ${group.id}` }"#,
        )],
        7,
    ));
    assert_eq!(doc["displayName"], "R&D Team");
    assert_eq!(
        doc["description"],
        "7 members, id 0190a5f0-0000-7000-8000-0000000000aa"
    );
}

#[test]
fn link_is_unit_when_creating_and_the_remote_attributes_otherwise() {
    let mapping = user_mapping(
        "link",
        r#"if link == () { #{ displayName: "creating" } } else { #{ displayName: link.id } }"#,
    );
    let created = document(map_user(std::slice::from_ref(&mapping), None));
    assert_eq!(created["displayName"], "creating");
    let remote = json!({"id": "remote-1", "displayName": "Ada"});
    let updated = document(map_user(&[mapping], Some(&remote)));
    assert_eq!(updated["displayName"], "remote-1");
}

#[test]
fn merge_follows_list_order() {
    let mappings = [
        user_mapping(
            "first",
            r#"#{ displayName: "first", businessPhones: ["1"],
                 passwordProfile: #{ password: "p", forceChangePasswordNextSignIn: true } }"#,
        ),
        user_mapping("nothing", "()"),
        user_mapping(
            "second",
            r#"#{ displayName: "second", businessPhones: ["2"],
                 passwordProfile: #{ forceChangePasswordNextSignIn: false } }"#,
        ),
    ];
    let doc = document(map_user(&mappings, None));
    assert_eq!(
        doc,
        json!({
            "displayName": "second",
            "businessPhones": ["1", "2"],
            "passwordProfile": {"password": "p", "forceChangePasswordNextSignIn": false},
        })
    );
}

#[test]
fn variables_of_one_mapping_do_not_leak_into_the_next() {
    let mappings = [
        user_mapping("defines", r#"let x = "a"; #{ displayName: x }"#),
        user_mapping("redefines", r#"let x = "b"; #{ givenName: x }"#),
    ];
    let doc = document(map_user(&mappings, None));
    assert_eq!(doc, json!({"displayName": "a", "givenName": "b"}));
}

#[test]
fn an_empty_result_is_no_mappings() {
    assert_eq!(map_user(&[], None), Ok(Mapped::NoMappings));
    assert_eq!(
        map_user(&[user_mapping("a", "()"), user_mapping("b", "#{}")], None),
        Ok(Mapped::NoMappings)
    );
}

#[test]
fn skip_stops_at_the_mapping_that_skipped() {
    let cases = [
        (r#"skip("service account")"#, Some("service account")),
        ("skip()", None),
        // from inside a script function, and after other statements
        (
            r#"fn out() { skip("deep") } let a = 1; out()"#,
            Some("deep"),
        ),
    ];
    for (expression, reason) in cases {
        let mappings = [
            user_mapping("before", r#"#{ displayName: "x" }"#),
            user_mapping("skipper", expression),
            user_mapping("after", "throw \"never evaluated\""),
        ];
        assert_eq!(
            map_user(&mappings, None),
            Ok(Mapped::Skip {
                mapping: "skipper".to_owned(),
                reason: reason.map(str::to_owned),
            }),
            "{expression}"
        );
    }
}

#[test]
fn misspelt_properties_fail_instead_of_yielding_unit() {
    let err = error(map_user(
        &[user_mapping("typo", "#{ displayName: user.nmae }")],
        None,
    ));
    assert_eq!(err.mapping, "typo");
    assert!(err.message.contains("nmae"), "{err}");
    let position = err.position.expect("has a position");
    assert_eq!(position.line, 1);

    // ...but `get` reads absent keys leniently, on maps and on a `()` link
    let doc = document(map_user(
        &[user_mapping(
            "lenient",
            r#"#{ department: user.attributes.get("dept", "none"),
                 jobTitle: get(link, "jobTitle", "new"),
                 city: get(user.attributes, "department", "?"),
                 state: if "dept" in user.attributes { "yes" } else { "no" } }"#,
        )],
        None,
    ));
    assert_eq!(
        doc,
        json!({"department": "none", "jobTitle": "new", "city": "Analytics", "state": "no"})
    );
}

#[test]
fn mappings_cannot_change_what_they_see() {
    for expression in [
        r#"user.name = "x"; ()"#,
        r#"user.attributes.clear(); ()"#,
        r#"link = 1; ()"#,
    ] {
        let err = error(map_user(&[user_mapping("mutate", expression)], None));
        assert_eq!(err.mapping, "mutate", "{expression}");
    }
}

#[test]
fn sandbox_limits_stop_runaway_mappings_with_a_clear_error() {
    let cases = [
        ("endless", "loop { }", "Too many operations"),
        (
            "while",
            "let i = 0; while true { i += 1; }",
            "Too many operations",
        ),
        (
            "string bomb",
            r#"let s = "xxxxxxxx"; loop { s += s; }"#,
            "Length of string too large",
        ),
        (
            "array bomb",
            "let a = [1]; loop { a += a; }",
            "Size of array/BLOB too large",
        ),
        ("recursion", "fn f(n) { f(n + 1) } f(0)", "Stack overflow"),
        (
            "regex bomb",
            r#"let s = "x"; s.pad(60000, "x"); regex_replace(s, "", "yy")"#,
            "longer than the limit",
        ),
        (
            "join bomb",
            r#"let sep = "x"; sep.pad(60000, "x"); let a = []; for i in 0..100 { a.push("y") } join(a, sep)"#,
            "longer than the limit",
        ),
    ];
    let mapper = Mapper::new();
    for (name, expression, want) in cases {
        let started = std::time::Instant::now();
        let err = error(map_user_with(
            &mapper,
            &user(),
            &[user_mapping(name, expression)],
            None,
        ));
        assert_eq!(err.mapping, name);
        assert!(err.message.contains(want), "{name}: {err}");
        // Not a timing assertion on speed, only that a limit (not the test timeout) stopped it.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{name}"
        );
    }
}

#[test]
fn a_time_limit_stops_what_the_operation_limit_does_not_count() {
    // Each iteration is a handful of operations but a lot of work inside a helper.
    let mapper = Mapper::with_limits(mapping::Limits {
        max_operations: 0, // unlimited: only the clock can stop it
        max_duration: std::time::Duration::from_millis(50),
        ..mapping::Limits::default()
    });
    let err = error(map_user_with(
        &mapper,
        &user(),
        &[user_mapping(
            "slow",
            r#"let s = "x"; s.pad(60000, "x"); loop { regex_replace(s, "x+y", "z"); }"#,
        )],
        None,
    ));
    assert_eq!(err.mapping, "slow");
    assert!(
        err.message
            .contains("took longer than the time limit of 50 ms"),
        "{err}"
    );
    // The next evaluation on this thread starts with a fresh deadline.
    let doc = document(map_user_with(
        &mapper,
        &user(),
        &[user_mapping("quick", r#"#{ displayName: "ok" }"#)],
        None,
    ));
    assert_eq!(doc["displayName"], "ok");
}

#[test]
fn eval_and_import_are_not_available() {
    let mapper = Mapper::new();
    let eval = mapper
        .compile(&user_mapping("eval", r#"eval("1")"#))
        .expect_err("eval is disabled");
    assert_eq!(eval.mapping, "eval");
    // `import` parses, but no module may be loaded.
    let err = error(map_user(
        &[user_mapping("import", r#"import "std" as s; ()"#)],
        None,
    ));
    assert!(err.message.contains("Too many modules"), "{err}");
}

#[test]
fn output_is_validated_naming_the_mapping_and_property() {
    let cases = [
        (
            "snake",
            r#"#{ display_name: "x" }"#,
            "\"display_name\" is not a writable Graph property",
        ),
        (
            "typed",
            r#"#{ accountEnabled: "yes" }"#,
            "\"accountEnabled\" must be a boolean, not a string",
        ),
        (
            "nested",
            r#"#{ passwordProfile: #{ password: 5 } }"#,
            "\"passwordProfile.password\" must be a string, not a number",
        ),
        (
            "not a map",
            r#""displayName""#,
            "must return a map of Graph properties",
        ),
        (
            "fn ptr",
            r#"#{ displayName: Fn("x") }"#,
            "\"displayName\" is a Fn",
        ),
    ];
    for (name, expression, want) in cases {
        let mappings = [
            user_mapping("fine", r#"#{ displayName: "ok" }"#),
            user_mapping(name, expression),
        ];
        let err = error(map_user(&mappings, None));
        assert_eq!(err.mapping, name, "{err}");
        assert!(err.message.contains(want), "{name}: {err}");
    }
}

#[test]
fn compile_errors_give_line_and_column() {
    let mapper = Mapper::new();
    let err = mapper
        .compile(&user_mapping(
            "broken",
            "let a = 1;\nlet b = #{ displayName: };\nb",
        ))
        .expect_err("does not compile");
    assert_eq!(err.mapping, "broken");
    let position = err.position.expect("has a position");
    assert_eq!(position.line, 2);
    assert!(position.column > 1, "{position}");
    let text = err.to_string();
    assert!(
        text.starts_with("mapping \"broken\" does not compile: ") && text.ends_with(")"),
        "{text}"
    );
    assert!(text.contains("(at line 2, column "), "{text}");
}

#[test]
fn unknown_variables_do_not_compile() {
    let mapper = Mapper::new();
    for (kind, expression, variable) in [
        (MappingKind::User, "#{ displayName: usr.name }", "usr"),
        (MappingKind::Group, "#{ displayName: user.name }", "user"),
        (MappingKind::User, "#{ displayName: group.name }", "group"),
    ] {
        let err = mapper
            .compile(&mapping::Mapping::new("vars", kind, expression))
            .expect_err(expression);
        assert!(err.message.contains(variable), "{expression}: {err}");
        assert!(err.position.is_some(), "{expression}");
    }
}

#[test]
fn runtime_errors_name_mapping_object_and_place() {
    let err = error(map_user(
        &[user_mapping(
            "thrower",
            "let a = 1;\nif a == 1 {\n    throw \"no department\";\n}\n()",
        )],
        None,
    ));
    assert_eq!(err.mapping, "thrower");
    assert_eq!(err.object.name, "ada.lovelace");
    assert_eq!(err.object.kind, MappingKind::User);
    assert_eq!(err.position.map(|p| p.line), Some(3));
    assert_eq!(
        err.to_string(),
        "mapping \"thrower\" failed for user \"ada.lovelace\" (0190a5f0-0000-7000-8000-000000000001): \
         no department (at line 3, column 5)"
    );
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn lists_refuse_mappings_of_the_other_kind() {
    let mapper = Mapper::new();
    let err = mapper
        .compile_users(&[group_mapping("g", "()")])
        .expect_err("wrong kind");
    assert_eq!(
        err.to_string(),
        "mapping \"g\" is a group mapping, but the list is for users"
    );
}

#[test]
fn engine_and_compiled_mappings_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Mapper>();
    assert_send_sync::<mapping::UserMappings>();
    assert_send_sync::<mapping::GroupMappings>();
}
